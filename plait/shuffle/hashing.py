"""A hash of keys that every process agrees on, for sending equal keys to one partition.

Python's ``hash()`` of ``str`` and ``bytes`` is salted per process (``PYTHONHASHSEED``),
so a partition function built on it sends the same key to different partitions in
different worker processes. :func:`stable_hash` is deterministic everywhere and agrees
with ``==`` for the keys people group by: numbers (``1 == 1.0 == True`` hash alike, by
Python's own numeric hash, which is never salted), strings, bytes, ``None``, and tuples
and frozensets of those. Other keys are hashed through their
:func:`plait.tokenize.tokenize` token, which is deterministic but follows content, not
``__eq__``.
"""

from __future__ import annotations

import numbers
import zlib
from decimal import Decimal
from fractions import Fraction
from typing import Any, Hashable

__all__ = ["stable_hash", "partition_of"]

_MASK = (1 << 64) - 1
_NONE_HASH = 0x6E6F6E65


def stable_hash(key: Hashable) -> int:
    """A non-negative hash of ``key`` that is the same in every process.

    Keys that are equal as numbers hash alike, as ``==`` wants; strings are hashed
    from their UTF-8 bytes, so no per-process salt enters.

    Examples
    --------
    >>> stable_hash(1) == stable_hash(1.0) == stable_hash(True)
    True
    >>> stable_hash("apple") == stable_hash("apple"), stable_hash(("a", 2)) >= 0
    (True, True)

    Raises
    ------
    plait.tokenize.TokenizationError
        For a key of another type whose content cannot be hashed deterministically.
    """
    t = type(key)
    if t is int or t is bool:
        return hash(key) & _MASK
    if t is str:
        return zlib.crc32(key.encode("utf-8", "surrogatepass"))
    if t is tuple:
        return _combine(key)
    if t is float:
        return hash(key) & _MASK if key == key else 0  # every NaN goes to one place
    if key is None:
        return _NONE_HASH
    if t is bytes:
        return zlib.crc32(key)
    return _slow_hash(key)


def _combine(items: tuple) -> int:
    h = 0x345678
    for item in items:
        h = ((h ^ stable_hash(item)) * 1000003) & _MASK
    return h ^ len(items)


def _slow_hash(key: Any) -> int:
    """Subclasses and the less common types; the order matters for equal values."""
    if isinstance(key, str):  # StrEnum and other str subclasses equal their text
        return zlib.crc32(str.encode(key, "utf-8", "surrogatepass"))
    if isinstance(key, bytes):
        return zlib.crc32(key)
    if isinstance(key, tuple):  # namedtuples equal plain tuples
        return _combine(key)
    if isinstance(key, frozenset):
        total = 0
        for item in key:
            total = (total + stable_hash(item)) & _MASK
        return total ^ len(key)
    if isinstance(key, (Fraction, Decimal, complex)):
        # Numeric hashes are computed from the value, never salted.
        return hash(key) & _MASK if key == key else 0
    if isinstance(key, numbers.Integral):  # IntEnum, NumPy integers
        return hash(int(key)) & _MASK
    if type(key).__module__ == "numpy" and type(key).__name__ in ("bool_", "bool"):
        return hash(bool(key)) & _MASK  # NumPy's bool equals Python's
    if isinstance(key, numbers.Real):  # NumPy floats
        value = float(key)
        return hash(value) & _MASK if value == value else 0
    from ..tokenize import TokenizationError, tokenize

    try:
        token = tokenize(key, ensure_deterministic=True)
    except TokenizationError as exc:
        raise TokenizationError(
            f"the key {key!r} ({type(key).__name__}) has no deterministic hash, so it "
            "cannot be sent to the same partition in every process; group by a plain "
            "value instead (a str, a number, or a tuple of them)"
        ) from exc
    return int(token[:16], 16)


def partition_of(key: Hashable, npartitions: int) -> int:
    """The partition, out of ``npartitions``, that ``key`` belongs to.

    >>> partition_of(7, 4), partition_of(7.0, 4)
    (3, 3)
    >>> partition_of("x", 4) == partition_of("x", 4)
    True
    """
    return stable_hash(key) % npartitions

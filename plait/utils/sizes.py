"""Byte sizes written the way people write them: ``"64MiB"``, ``"1.5 GB"``, ``1000``."""

from __future__ import annotations

from typing import Any

__all__ = ["parse_bytes", "format_bytes"]

_UNITS = {
    "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "pb": 10**15,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50,
    "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
}


def parse_bytes(value: Any) -> int:
    """A byte count from an int or a string with a unit.

    >>> parse_bytes("64MiB"), parse_bytes("1.5 kB"), parse_bytes(10), parse_bytes("5")
    (67108864, 1500, 10, 5)
    """
    if isinstance(value, bool):
        raise TypeError(f"a size must be a number of bytes or a string like '64MiB', got {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip().lower().replace(" ", "")
    num = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(num):] or "b"
    if unit not in _UNITS or not num:
        raise ValueError(f"cannot read {value!r} as a size; write e.g. '64MiB' or 1000000")
    return int(float(num) * _UNITS[unit])


def format_bytes(n: int) -> str:
    """A short human-readable size.

    >>> format_bytes(0), format_bytes(1536), format_bytes(3 * 2**30)
    ('0 B', '1.50 kiB', '3.00 GiB')
    """
    for unit, size in (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("kiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"

"""Changing how a bag's items are split into partitions, keeping their order."""

from __future__ import annotations

import math
from typing import Any

from ..graph import Ref, Task
from ..utils.sizes import parse_bytes
from .core import Bag, new_name

__all__ = ["repartition"]


def _concat_parts(*parts: Any) -> list:
    out: list = []
    for p in parts:
        out.extend(p)
    return out


def _slice_part(part: Any, i: int, n: int) -> list:
    """The i-th of n nearly equal consecutive pieces of ``part``."""
    items = part if isinstance(part, list) else list(part)
    size = len(items)
    start = size * i // n
    stop = size * (i + 1) // n
    return items[start:stop]


def _sizes(b: Bag) -> list:
    return b.map_partitions(_partition_bytes, token="partition-bytes").compute()


def _partition_bytes(part: Any) -> list:
    from ..sizeof import sizeof

    return [sizeof(part if isinstance(part, list) else list(part))]


def repartition(b: Bag, npartitions: int | None = None, partition_size: Any = None) -> Bag:
    """``b`` with ``npartitions`` partitions, or with partitions of at most about
    ``partition_size`` bytes (an int or a string like ``"64MiB"``; this computes the
    bag once to measure it).

    >>> import plait.bag as db
    >>> b = db.from_sequence(range(10), npartitions=5)
    >>> r = b.repartition(2)
    >>> r.npartitions, r.compute()
    (2, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> b.repartition(7).npartitions
    7
    """
    if (npartitions is None) == (partition_size is None):
        raise ValueError("give exactly one of npartitions= and partition_size=")
    if partition_size is not None:
        limit = parse_bytes(partition_size)
        total = sum(_sizes(b))
        npartitions = max(1, math.ceil(total / limit))
    if not isinstance(npartitions, int) or npartitions < 1:
        raise ValueError(f"npartitions must be a positive int, got {npartitions!r}")
    old = b.npartitions
    name = new_name("repartition")
    layer: dict = {}
    if npartitions <= old:
        # Consecutive groups of old partitions, as even as possible.
        for j in range(npartitions):
            lo, hi = old * j // npartitions, old * (j + 1) // npartitions
            layer[(name, j)] = Task((name, j), _concat_parts,
                                    *[Ref((b.name, i)) for i in range(lo, hi)])
    else:
        # Split each old partition into pieces; the counts add up to npartitions.
        j = 0
        for i in range(old):
            pieces = npartitions * (i + 1) // old - npartitions * i // old
            for p in range(pieces):
                layer[(name, j)] = Task((name, j), _slice_part, Ref((b.name, i)), p, pieces)
                j += 1
    return Bag(layer, name, npartitions, (b,))

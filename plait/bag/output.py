"""Getting items out of a bag: the first few (``take``)."""

from __future__ import annotations

import warnings
from typing import Any

from ..graph import Ref, Task
from .core import Bag, new_name

__all__ = ["take"]


def _take_from(k: int, *parts: Any) -> list:
    out: list = []
    if k <= 0:
        return out
    for p in parts:
        for x in p:
            out.append(x)
            if len(out) >= k:
                return out
    return out


def take(b: Bag, k: int, npartitions: int = 1, compute: bool = True, warn: bool = True) -> Any:
    """The first ``k`` items as a tuple, computing only the first ``npartitions``
    partitions (``-1``: all of them); with ``compute=False`` a Bag of them."""
    if npartitions == -1:
        npartitions = b.npartitions
    if not isinstance(npartitions, int) or not 1 <= npartitions <= b.npartitions:
        raise ValueError(
            f"npartitions must be between 1 and {b.npartitions} (or -1 for all), "
            f"got {npartitions!r}"
        )
    name = new_name("take")
    task = Task((name, 0), _take_from, k, *[Ref((b.name, i)) for i in range(npartitions)])
    head = Bag({(name, 0): task}, name, 1, (b,))
    if not compute:
        return head
    items = head.compute()
    if warn and len(items) < k:
        warnings.warn(
            f"only {len(items)} items found in the first {npartitions} partition(s), "
            f"{k} asked for; pass npartitions=-1 to search all partitions",
            UserWarning,
            stacklevel=3,
        )
    return tuple(items[:k])


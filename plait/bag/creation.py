"""Making bags: from Python sequences, Delayed values, ranges; zipping and concatenating."""

from __future__ import annotations

import math
from typing import Any, Iterable

from ..delayed import Delayed
from ..graph import Alias, Data, Ref, Task
from .core import Bag, new_name
from .optimize import Lazy

__all__ = ["from_sequence", "from_delayed", "range", "zip", "concat"]

_range = range
_zip = zip


def from_sequence(seq: Iterable, partition_size: int | None = None,
                  npartitions: int | None = None) -> Bag:
    """A bag of the items of ``seq``, split into ``npartitions`` partitions (default
    about 100) or partitions of ``partition_size`` items.

    >>> from_sequence([1, 2, 3, 4, 5], npartitions=2).map(lambda x: x * 10).compute()
    [10, 20, 30, 40, 50]
    """
    if partition_size is not None and npartitions is not None:
        raise ValueError("give partition_size= or npartitions=, not both")
    items = list(seq)
    n = len(items)
    if npartitions is not None:
        if not isinstance(npartitions, int) or npartitions < 1:
            raise ValueError(f"npartitions must be a positive int, got {npartitions!r}")
        partition_size = max(1, math.ceil(n / npartitions))
    elif partition_size is None:
        partition_size = max(1, math.ceil(n / 100))
    elif not isinstance(partition_size, int) or partition_size < 1:
        raise ValueError(f"partition_size must be a positive int, got {partition_size!r}")
    parts = [items[i:i + partition_size] for i in _range(0, n, partition_size)] or [[]]
    name = new_name("from-sequence")
    layer = {(name, i): Data((name, i), p) for i, p in enumerate(parts)}
    return Bag(layer, name, len(parts))


def from_delayed(values: Any) -> Bag:
    """A bag with one partition per Delayed value (each computing to a sequence).

    >>> from plait import delayed
    >>> from_delayed([delayed(list)("ab"), delayed(list)("c")]).compute()
    ['a', 'b', 'c']
    """
    if isinstance(values, Delayed):
        values = [values]
    values = list(values)
    for v in values:
        if not isinstance(v, Delayed):
            raise TypeError(
                f"from_delayed expects Delayed values, got {type(v).__name__}; wrap "
                "plain data with from_sequence"
            )
    name = new_name("from-delayed")
    layer = {(name, i): Task((name, i), Lazy(_as_list), Ref(v.key)) for i, v in enumerate(values)}
    return Bag(layer, name, len(values), tuple(values))


def _as_list(x: Any) -> Any:
    return x if isinstance(x, list) else list(x)


def range(n: int, npartitions: int) -> Bag:
    """``0, 1, ..., n - 1`` in ``npartitions`` partitions, made inside the tasks.

    >>> range(5, npartitions=2).compute()
    [0, 1, 2, 3, 4]
    """
    size = max(1, math.ceil(n / npartitions))
    name = new_name("range")
    starts = list(_range(0, n, size)) or [0]
    layer = {
        (name, i): Task((name, i), Lazy(_range), s, min(s + size, n))
        for i, s in enumerate(starts)
    }
    return Bag(layer, name, len(starts))


def zip(*bags: Bag) -> Bag:
    """Tuples of the items of several equally partitioned bags.

    >>> a = from_sequence([1, 2, 3], npartitions=2)
    >>> zip(a, a.map(str)).compute()
    [(1, '1'), (2, '2'), (3, '3')]
    """
    n = bags[0].npartitions
    for b in bags:
        if b.npartitions != n:
            raise ValueError(
                f"zip needs bags with the same partitioning; got npartitions "
                f"{[b.npartitions for b in bags]}"
            )
    name = new_name("zip")
    layer = {
        (name, i): Task((name, i), Lazy(_zip), *[Ref((b.name, i)) for b in bags])
        for i in _range(n)
    }
    return Bag(layer, name, n, tuple(bags))


def concat(bags: list) -> Bag:
    """One bag with the partitions of all ``bags``, in order.

    >>> concat([from_sequence([1, 2]), from_sequence([3])]).compute()
    [1, 2, 3]
    """
    name = new_name("concat")
    layer = {}
    i = 0
    for b in bags:
        for j in _range(b.npartitions):
            layer[(name, i)] = Alias((name, i), (b.name, j))
            i += 1
    return Bag(layer, name, i, tuple(bags))

"""Bag aggregations as tree reductions: one task per partition, then ``split_every``
partial results combined per step until one is left.

Each aggregation is a pair of functions: ``perpartition(items)`` (which consumes a
streamed partition) and ``aggregate(list_of_partials)``. Empty partitions give a
marker that aggregates skip, so ``fold`` and friends work on bags with empty
partitions without an ``initial``.
"""

from __future__ import annotations

import heapq
import operator
from collections import Counter
from functools import partial
from typing import Any, Callable, Iterable

from ..graph import Ref, Task
from .core import Bag, Item, _EMPTY, new_name, no_default
from .optimize import Lazy

__all__ = ["reduction", "fold", "foldby", "frequencies", "topk", "distinct", "mean", "var"]

DEFAULT_SPLIT_EVERY = 8


def reduction(bag: Bag, perpartition: Callable, aggregate: Callable,
              split_every: int | None = None, out_type: type | None = None,
              name: str | None = None) -> Item | Bag:
    """Tree reduction of ``bag``; an Item, or a one-partition Bag if ``out_type=Bag``."""
    split_every = split_every or DEFAULT_SPLIT_EVERY
    if not isinstance(split_every, int) or split_every < 2:
        raise ValueError(f"split_every must be an int of at least 2, got {split_every!r}")
    prefix = name or getattr(perpartition, "__name__", "reduction")
    a = new_name(f"{prefix}-part")
    layer: dict = {
        (a, i): Task((a, i), Lazy(perpartition), Ref((bag.name, i)))
        for i in range(bag.npartitions)
    }
    level = [(a, i) for i in range(bag.npartitions)]
    agg = new_name(f"{prefix}-aggregate")
    depth = 0
    while len(level) > split_every:
        nxt = []
        for j in range(0, len(level), split_every):
            k = (agg, depth, j // split_every)
            layer[k] = Task(k, aggregate, [Ref(x) for x in level[j:j + split_every]])
            nxt.append(k)
        level = nxt
        depth += 1
    if out_type is Bag:
        out = new_name(prefix)
        layer[(out, 0)] = Task((out, 0), Lazy(_as_partition), aggregate, [Ref(x) for x in level])
        return Bag(layer, out, 1, (bag,))
    out = new_name(prefix)
    layer[out] = Task(out, aggregate, [Ref(x) for x in level])
    return Item(layer, out, (bag,))


def _as_partition(aggregate: Callable, parts: list) -> list:
    result = aggregate(parts)
    return result if isinstance(result, list) else list(result)


# -- fold --------------------------------------------------------------------------------

def _fold_partition(binop: Callable, initial: Any, items: Iterable) -> Any:
    it = iter(items)
    if initial is no_default:
        acc = next(it, _EMPTY)
        if acc is _EMPTY:
            return _EMPTY
    else:
        acc = initial
    for x in it:
        acc = binop(acc, x)
    return acc


def _fold_aggregate(combine: Callable, initial: Any, partials: list) -> Any:
    values = [p for p in partials if p is not _EMPTY]
    if not values:
        if initial is not no_default:
            return initial
        return _EMPTY
    acc = values[0]
    for v in values[1:]:
        acc = combine(acc, v)
    return acc


def _check_not_empty(value: Any) -> Any:
    if value is _EMPTY:
        raise ValueError("fold of an empty bag with no initial value; pass initial=")
    return value


def fold(bag: Bag, binop: Callable, combine: Callable | None = None,
         initial: Any = no_default, split_every: int | None = None,
         out_type: type | None = None) -> Item | Bag:
    combine = binop if combine is None else combine
    per = partial(_fold_partition, binop, initial)
    agg = partial(_fold_aggregate, combine, no_default)
    result = reduction(bag, per, agg, split_every=split_every, out_type=out_type,
                       name=getattr(binop, "__name__", "fold"))
    if isinstance(result, Item):
        return result.apply(_check_not_empty)
    return result


# -- foldby ------------------------------------------------------------------------------

def _key_function(key: Any) -> Callable:
    return key if callable(key) else operator.itemgetter(key)


def _foldby_partition(key: Callable, binop: Callable, initial: Any, items: Iterable) -> dict:
    out: dict = {}
    if initial is no_default:
        for x in items:
            k = key(x)
            out[k] = binop(out[k], x) if k in out else x
    elif callable(initial):
        for x in items:
            k = key(x)
            out[k] = binop(out[k] if k in out else initial(), x)
    else:
        for x in items:
            k = key(x)
            out[k] = binop(out.get(k, initial), x)
    return out


def _foldby_combine(combine: Callable, initial: Any, partials: list) -> dict:
    out: dict = {}
    for d in partials:
        for k, v in d.items():
            if k in out:
                out[k] = combine(out[k], v)
            elif initial is no_default:
                out[k] = v
            else:
                out[k] = combine(initial() if callable(initial) else initial, v)
    return out


def _merge_dicts(combine: Callable, partials: list) -> dict:
    return _foldby_combine(combine, no_default, partials)


def _dict_items(d: dict) -> list:
    return list(d.items())


def foldby(bag: Bag, key: Any, binop: Callable, initial: Any = no_default,
           combine: Callable | None = None, combine_initial: Any = no_default,
           split_every: int | None = None) -> Bag:
    """Group by ``key`` and fold each group with ``binop`` (from ``initial``), then
    merge the groups of all partitions with ``combine`` (from ``combine_initial``)."""
    combine = binop if combine is None else combine
    per = partial(_foldby_partition, _key_function(key), binop, initial)
    first = partial(_foldby_combine, combine, combine_initial)
    merged = reduction(bag, per, _TwoStage(first, partial(_merge_dicts, combine)),
                       split_every=split_every, name="foldby")
    name = new_name("foldby")
    return Bag({(name, 0): Task((name, 0), _dict_items, Ref(merged.key))}, name, 1, (merged,))


class _TwoStage:
    """Aggregate whose first step over partition results differs from later steps:
    ``combine_initial`` applies once per group when partition results first meet."""

    __slots__ = ("first", "later")

    def __init__(self, first: Callable, later: Callable):
        self.first = first
        self.later = later

    def __call__(self, partials: list) -> Any:
        if partials and isinstance(partials[0], _Merged):
            return _Merged(self.later([p.value for p in partials]))
        return _Merged(self.first(partials))

    def __reduce__(self):
        return (_TwoStage, (self.first, self.later))


class _Merged:
    """A dict already combined once (so combine_initial is not applied again)."""

    __slots__ = ("value",)

    def __init__(self, value: dict):
        self.value = value

    def __reduce__(self):
        return (_Merged, (self.value,))

    def items(self):
        return self.value.items()


# -- frequencies, topk, distinct -----------------------------------------------------

def _count_items(items: Iterable) -> Counter:
    return Counter(items)


def _sum_counters(partials: list) -> Counter:
    total: Counter = Counter()
    for c in partials:
        total.update(c)
    return total


def _frequency_list(sort: bool, counts: Counter) -> list:
    return counts.most_common() if sort else list(counts.items())


def frequencies(bag: Bag, split_every: int | None = None, sort: bool = False) -> Bag:
    """``(item, count)`` pairs.

    >>> import plait.bag as db
    >>> db.from_sequence("abracadabra", npartitions=3).frequencies(sort=True).compute()[:2]
    [('a', 5), ('b', 2)]
    """
    counts = reduction(bag, _count_items, _sum_counters, split_every=split_every,
                       name="frequencies")
    name = new_name("frequencies")
    layer = {(name, 0): Task((name, 0), _frequency_list, sort, Ref(counts.key))}
    return Bag(layer, name, 1, (counts,))


def _topk(k: int, key: Callable | None, items: Iterable) -> list:
    return heapq.nlargest(k, items, key=key)


def _topk_aggregate(k: int, key: Callable | None, partials: list) -> list:
    return heapq.nlargest(k, (x for p in partials for x in p), key=key)


def topk(bag: Bag, k: int, key: Any = None, split_every: int | None = None) -> Bag:
    if key is not None and not callable(key):
        key = operator.itemgetter(key)
    return reduction(bag, partial(_topk, k, key), partial(_topk_aggregate, k, key),
                     split_every=split_every, out_type=Bag, name="topk")


def _distinct_partition(key: Callable | None, items: Iterable) -> dict:
    out: dict = {}
    for x in items:
        out.setdefault(x if key is None else key(x), x)
    return out


def _distinct_merge(partials: list) -> dict:
    out: dict = {}
    for d in partials:
        for k, v in d.items():
            out.setdefault(k, v)
    return out


def _dict_values(d: dict) -> list:
    return list(d.values())


def distinct(bag: Bag, key: Callable | None = None) -> Bag:
    """Items without duplicates (by ``key``), in order of first appearance.

    >>> import plait.bag as db
    >>> db.from_sequence([3, 1, 3, 2, 1], npartitions=2).distinct().compute()
    [3, 1, 2]
    """
    if key is not None and not callable(key):
        key = operator.itemgetter(key)
    merged = reduction(bag, partial(_distinct_partition, key), _distinct_merge, name="distinct")
    name = new_name("distinct")
    return Bag({(name, 0): Task((name, 0), _dict_values, Ref(merged.key))}, name, 1, (merged,))


# -- statistics ----------------------------------------------------------------------

def _moments(items: Iterable) -> tuple:
    """(count, mean, sum of squared deviations) in one pass (Welford)."""
    n = 0
    mean = 0.0
    m2 = 0.0
    for x in items:
        n += 1
        d = x - mean
        mean += d / n
        m2 += d * (x - mean)
    return n, mean, m2


def _combine_moments(partials: list) -> tuple:
    """Chan et al.'s pairwise combination: stable however the items were split."""
    n, mean, m2 = 0, 0.0, 0.0
    for nb, mb, m2b in partials:
        if nb == 0:
            continue
        total = n + nb
        d = mb - mean
        mean += d * nb / total
        m2 += m2b + d * d * n * nb / total
        n = total
    return n, mean, m2


def _mean_of(moments: tuple) -> float:
    n, mean, _ = moments
    if n == 0:
        raise ZeroDivisionError("mean of an empty bag")
    return mean


def _var_of(ddof: int, moments: tuple) -> float:
    n, _, m2 = moments
    if n - ddof <= 0:
        raise ZeroDivisionError(f"variance of {n} items with ddof={ddof}")
    return m2 / (n - ddof)


def mean(bag: Bag) -> Item:
    return reduction(bag, _moments, _combine_moments, name="mean").apply(_mean_of)


def var(bag: Bag, ddof: int = 0) -> Item:
    """Variance, combined with a numerically stable parallel formula.

    >>> import plait.bag as db
    >>> round(db.from_sequence([1, 2, 3, 4], npartitions=3).var().compute(), 6)
    1.25
    """
    return reduction(bag, _moments, _combine_moments, name="var").apply(partial(_var_of, ddof))


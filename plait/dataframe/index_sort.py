"""Sorting a frame's rows across its partitions by the index, keeping the partition count.

Used where a result is already split over ``n`` partitions and must come out in
pandas' sorted order (``groupby(..., sort=True, split_out=n)``). Nothing is computed
while the graph is built; inside it:

1. every partition sends a small weighted sample of its index (as it is cheap to take
   from anywhere in the partition) to one task, which picks ``n - 1`` boundaries at
   the sample's weighted quantiles (missing values left out: they sort last);
2. every row gets the number of boundaries strictly below its index value, and a
   shuffle (:class:`~plait.dataframe.shuffle.Shuffle`, so the "tasks" and "disk"
   methods both apply) moves it to that partition;
3. each output partition is sorted by its index (missing values last).

Index values that cannot be ordered (an object index mixing strings and numbers) have
no sorted order in pandas either: their rows stay hash-partitioned, unsorted.
Divisions are unknown afterwards: the boundaries exist only inside the graph.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

__all__ = ["sort_by_index"]

_DEST = "__plait_dest"
_VALUE = "__plait_value"
_SAMPLES = 64  # per partition: boundaries need a few per output partition


def _dest_column(frame: pd.DataFrame) -> Any:
    """The destination column's name: a tuple padded with "" under MultiIndex columns."""
    levels = frame.columns.nlevels
    return _DEST if levels == 1 else (_DEST,) + ("",) * (levels - 1)


def _key(part: Any, by: list | None) -> Any:
    """The values to sort by: the index, or columns ``by`` as an index."""
    if by is None:
        return part.index
    if len(by) == 1:
        return pd.Index(part[by[0]])
    return pd.MultiIndex.from_frame(part[by])


def _index_sample(part: Any, k: int, by: list | None = None) -> tuple:
    """Up to ``k`` evenly spaced key values (missing ones left out), each weighing
    for the rows around it."""
    idx = _key(part, by)
    idx = idx[~np.asarray(pd.isna(idx.to_frame(index=False)).any(axis=1))] \
        if len(idx) else idx
    if len(idx) == 0:
        return idx, np.zeros(0)
    take = np.unique(np.linspace(0, len(idx) - 1, min(k, len(idx))).round().astype(int))
    return idx[take], np.full(len(take), len(idx) / len(take))


def _join_samples(samples: list) -> tuple:
    idx = samples[0][0].append([s[0] for s in samples[1:]]) if len(samples) > 1 \
        else samples[0][0]
    return idx, np.concatenate([s[1] for s in samples])


def _boundaries(samples: list, n: int) -> tuple:
    """``(bounds,)``: ``n - 1`` index values cutting the weighted sample into ``n``
    parts of equal weight; ``(None,)`` when the values cannot be ordered."""
    idx, weights = _join_samples(samples)
    if len(idx) == 0:
        return (idx[:0],)
    try:
        order = np.asarray(idx.argsort(kind="stable"))
    except TypeError:
        return (None,)
    cum = np.cumsum(weights[order])
    cuts = np.searchsorted(cum, cum[-1] * np.arange(1, n) / n, side="left")
    return (idx[order[np.minimum(cuts, len(order) - 1)]],)


def _destinations(idx: Any, bounds: Any, n: int) -> np.ndarray:
    """The output partition of each index value: how many boundaries lie strictly
    below it (values equal to a boundary go to that boundary's partition)."""
    m = len(idx)
    if m == 0:
        return np.zeros(0, dtype="int64")
    both = idx.append(bounds)  # keys before the boundaries, so ties count as "not below"
    multi = isinstance(both, pd.MultiIndex)
    order = np.asarray(both.argsort(kind="stable", na_position="last") if multi
                       else both.argsort(kind="stable"))
    is_bound = order >= m
    below = np.cumsum(is_bound)
    dest = np.empty(m, dtype="int64")
    dest[order[~is_bound]] = below[~is_bound]
    if not multi:
        # a missing value sorts first or last depending on the dtype: pandas puts it
        # last (in a MultiIndex, argsort already puts each level's missing last)
        dest[np.asarray(pd.isna(idx))] = n - 1
    return dest


def _with_dest(part: Any, bounds: tuple, n: int, by: list | None = None) -> pd.DataFrame:
    from .shuffle import hash_codes

    frame = part.to_frame(_VALUE) if isinstance(part, pd.Series) else part
    (b,) = bounds
    try:
        dest = hash_codes(frame, by, n) if b is None else _destinations(_key(frame, by), b, n)
    except TypeError:  # this partition's values do not order against the boundaries
        dest = hash_codes(frame, by, n)
    frame = frame.copy(deep=False)
    frame[_dest_column(frame)] = dest
    return frame


def _sorted(part: pd.DataFrame, series_name: Any, is_series: bool,
            by: list | None = None) -> Any:
    out = part.drop(columns=[_dest_column(part)])
    try:
        if by is None:
            out = out.sort_index(kind="stable", na_position="last")
        else:
            out = out.sort_values(by, kind="stable", na_position="last", ignore_index=True)
    except TypeError:
        pass  # values with no order (see the module docstring)
    if is_series:
        out = out[_VALUE].rename(series_name)
    return out


class DestPartitioner:
    """Codes read from a column the rows already carry (``__plait_dest``)."""

    __slots__ = ()
    on: ClassVar[list] = [_DEST]  # what Shuffle keeps when it narrows the columns

    def codes(self, part: Any, m: int) -> np.ndarray:
        return part[_dest_column(part)].to_numpy(dtype="int64")

    def __reduce__(self):
        return (DestPartitioner, ())

    def __plait_tokenize__(self) -> Any:
        return ("dest-column",)

    def __repr__(self) -> str:
        return "by-boundaries"


def sort_by_index(expr: Any, shuffle_method: Any = None, by: list | None = None) -> Any:
    """``expr`` (an expression) with its rows sorted by index (or by columns ``by``,
    each partition then numbered from 0) across its partitions, as many partitions as
    before (see the module docstring).

    >>> import plait.dataframe as dd
    >>> s = dd.from_pandas(pd.Series([1, 2, 3, 4], index=[3, 0, 2, 1]), npartitions=2,
    ...                    sort=False)
    >>> out = dd.new_collection(sort_by_index(s.expr))
    >>> out.npartitions, out.compute().index.tolist()
    (2, [0, 1, 2, 3])
    """
    from .expr import MapPartitions, TreeReduce
    from .shuffle import Shuffle

    n = expr.npartitions
    meta = expr._meta
    is_series = isinstance(meta, pd.Series)
    bounds = TreeReduce([expr], _index_sample, _join_samples, _boundaries, meta=(),
                        chunk_kwargs={"k": _SAMPLES, "by": by}, aggregate_kwargs={"n": n},
                        label="sort-boundaries")
    coded_meta = _with_dest(meta, (_key(meta, by)[:0],), n, by)
    coded = MapPartitions(_with_dest, expr, bounds, meta=coded_meta, kwargs={"n": n, "by": by},
                          clear_divisions=True, label="sort-destinations")
    moved = Shuffle(coded, DestPartitioner(), n, shuffle_method)
    return MapPartitions(_sorted, moved, meta=meta, clear_divisions=True,
                         kwargs={"series_name": meta.name if is_series else None,
                                 "is_series": is_series, "by": by}, label="sort-index")


"""Reductions of whole collections: sum, mean, var, count, ... as tree reductions.

Each reduction is one :class:`~plait.dataframe.expr.TreeReduce`: a chunk step per
partition (fused with the partition's other work), combine steps over groups of partial
results, an aggregate step. Means keep (sum, count); variances keep (count, mean, sum of
squared deviations) and merge them exactly (Chan et al.), so results match pandas up to
rounding. ``axis=1`` reductions work row by row, partition by partition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .core import new_collection
from .expr import PartitionMethod, TreeReduce, no_default
from .meta import is_pandas, make_meta, meta_nonempty

__all__ = ["custom_reduction", "length", "memory_usage", "reduce", "size"]

_SIMPLE = {"sum": "sum", "prod": "prod", "min": "min", "max": "max", "any": "any",
           "all": "all", "count": "sum"}


def _stack(values: list) -> Any:
    """Partial results into one object: scalars to a Series, Series to the rows of a
    DataFrame."""
    if values and isinstance(values[0], pd.Series):
        return pd.DataFrame([v.values for v in values], columns=values[0].index)
    if values and isinstance(values[0], pd.DataFrame):
        return pd.concat(values)
    return pd.Series(values, dtype=object if any(isinstance(v, str) for v in values) else None)


def _cast_like(result: Any, meta: Any) -> Any:
    if isinstance(result, pd.Series) and isinstance(meta, pd.Series):
        if result.dtype != meta.dtype and not result.isna().any():
            try:
                return result.astype(meta.dtype)
            except (TypeError, ValueError):
                return result
    return result


def _chunk(part: Any, method: str, kwargs: dict) -> Any:
    return getattr(part, method)(**kwargs)


def _combine(values: list, method: str, kwargs: dict) -> Any:
    return getattr(_stack(values), method)(**kwargs)


def _aggregate(values: list, method: str, kwargs: dict, meta: Any) -> Any:
    return _cast_like(_combine(values, method, kwargs), meta)


def _numeric(frame: Any) -> Any:
    return frame.select_dtypes(include=["number", "bool"]) if isinstance(frame, pd.DataFrame) else frame


# -- mean, var, std, sem -------------------------------------------------------------------

def _moments_chunk(part: Any, numeric_only: bool) -> tuple:
    x = _numeric(part) if numeric_only else part
    if isinstance(x, pd.DataFrame):
        x = x.astype(float) if len(x.columns) else x
    else:
        x = x.astype(float)
    n = x.count()
    mean = x.mean()
    m2 = ((x - mean) ** 2).sum()
    return n, mean, m2, x.isna().sum()


def _moments_merge(values: list) -> tuple:
    n, mean, m2 = _moments_merge3([v[:3] for v in values])
    nulls = sum(np.asarray(v[3], dtype=float) for v in values)
    return n, mean, m2, nulls


def _moments_combine(values: list) -> tuple:
    return _moments_merge(values)


def _moments_merge3(values: list) -> tuple:
    n = mean = m2 = None
    for nb, mb, m2b in values:
        nb = np.asarray(nb, dtype=float)
        mb = np.where(nb > 0, np.asarray(mb, dtype=float), 0.0)
        m2b = np.where(nb > 0, np.asarray(m2b, dtype=float), 0.0)
        if n is None:
            n, mean, m2 = nb, mb, m2b
            continue
        total = n + nb
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = mb - mean
            frac = np.where(total > 0, nb / np.where(total > 0, total, 1), 0.0)
            mean = mean + delta * frac
            m2 = m2 + m2b + delta ** 2 * n * frac
        n = total
    return n, mean, m2


def _moments_aggregate(values: list, stat: str, ddof: int, meta: Any, skipna: bool = True) -> Any:
    n, mean, m2, nulls = _moments_merge(values)
    if not skipna:
        n = np.where(nulls > 0, 0.0, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        if stat == "mean":
            out = np.where(n > 0, mean, np.nan)
        else:
            var = np.where(n - ddof > 0, m2 / np.where(n - ddof > 0, n - ddof, 1), np.nan)
            if stat == "var":
                out = var
            elif stat == "std":
                out = np.sqrt(var)
            else:
                out = np.sqrt(var / np.where(n > 0, n, 1))
    if isinstance(meta, pd.Series):
        return pd.Series(out, index=meta.index if len(meta.index) else None,
                         dtype=meta.dtype, name=meta.name)
    return np.float64(out)


def _moments_aggregate_frame(values: list, stat: str, ddof: int, index: list,
                             skipna: bool = True) -> Any:
    n, mean, m2, nulls = _moments_merge(values)
    if not skipna:
        n = np.where(nulls > 0, 0.0, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        if stat == "mean":
            out = np.where(n > 0, mean, np.nan)
        else:
            var = np.where(n - ddof > 0, m2 / np.where(n - ddof > 0, n - ddof, 1), np.nan)
            out = {"var": var, "std": np.sqrt(var),
                   "sem": np.sqrt(var / np.where(n > 0, n, 1))}[stat]
    return pd.Series(out, index=index, dtype=float)


# -- the entry point -------------------------------------------------------------------------

def reduce(frame: Any, name: str, axis: Any = None, split_every: Any = None,
           **kwargs: Any) -> Any:
    """``frame.<name>(**kwargs)`` over all partitions (or row by row with ``axis=1``)."""
    meta0 = frame._meta
    if axis in (1, "columns"):
        if not isinstance(meta0, pd.DataFrame):
            raise ValueError(f"{name}: axis=1 needs a DataFrame")
        return new_collection(PartitionMethod(frame.expr, name, (), {"axis": 1, **kwargs}))
    if axis not in (None, 0, "index"):
        raise ValueError(f"{name}: axis must be 0, 1, 'index' or 'columns', got {axis!r}")
    pandas_kwargs = {k: v for k, v in kwargs.items() if not (k == "numeric_only" and isinstance(meta0, (pd.Series, pd.Index)))}
    if isinstance(meta0, pd.Index):
        pandas_kwargs.pop("min_count", None)
    # meta: pandas' own answer on a sample (raises the same errors pandas would)
    sample = getattr(meta_nonempty(meta0), name)(**pandas_kwargs)
    meta = make_meta(sample) if is_pandas(sample) else sample
    if name in _SIMPLE:
        chunk_kwargs = dict(pandas_kwargs)
        agg_kwargs = {k: v for k, v in pandas_kwargs.items() if k in ("skipna", "numeric_only")}
        if name == "count":
            agg_kwargs = {}
        if name in ("sum", "prod") and pandas_kwargs.get("min_count"):
            # min_count needs the count of valid values as well: do it in pandas terms
            return _min_count_reduction(frame, name, pandas_kwargs, meta, split_every)
        chunk_kwargs.pop("min_count", None)
        agg_kwargs.pop("numeric_only", None)
        return new_collection(TreeReduce(
            [frame.expr], _chunk, _combine, _aggregate, meta, split_every,
            chunk_kwargs={"method": name, "kwargs": chunk_kwargs},
            combine_kwargs={"method": _SIMPLE[name], "kwargs": agg_kwargs},
            aggregate_kwargs={"method": _SIMPLE[name], "kwargs": agg_kwargs, "meta": meta},
            label=name))
    if name in ("mean", "var", "std", "sem"):
        numeric_only = kwargs.get("numeric_only", False)
        ddof = kwargs.get("ddof", 1)
        if isinstance(meta0, pd.DataFrame):
            index = list(sample.index) if isinstance(sample, pd.Series) else []
            return new_collection(TreeReduce(
                [frame.expr], _moments_chunk, _moments_combine, _moments_aggregate_frame,
                meta, split_every, chunk_kwargs={"numeric_only": numeric_only},
                aggregate_kwargs={"stat": name, "ddof": ddof, "index": index,
                                  "skipna": kwargs.get("skipna", True)}, label=name))
        if meta0.dtype.kind in "Mm" and name == "mean":
            return _datetime_mean(frame, meta, split_every)
        return new_collection(TreeReduce(
            [frame.expr], _moments_chunk, _moments_combine, _moments_aggregate, meta,
            split_every, chunk_kwargs={"numeric_only": False},
            aggregate_kwargs={"stat": name, "ddof": ddof, "meta": meta,
                              "skipna": kwargs.get("skipna", True)}, label=name))
    raise ValueError(f"unknown reduction {name!r}")


def _sum_count_chunk(part: Any, method: str, kwargs: dict) -> tuple:
    kw = {k: v for k, v in kwargs.items() if k != "min_count"}
    return getattr(part, method)(**kw), part.count()


def _sum_count_combine(values: list, method: str) -> tuple:
    return (_combine([v[0] for v in values], method, {}),
            _combine([v[1] for v in values], "sum", {}))


def _sum_count_aggregate(values: list, method: str, min_count: int, meta: Any) -> Any:
    total, count = _sum_count_combine(values, method)
    if isinstance(total, pd.Series):
        return _cast_like(total.where(count >= min_count), meta)
    return total if count >= min_count else np.nan


def _min_count_reduction(frame: Any, name: str, kwargs: dict, meta: Any, split_every: Any) -> Any:
    return new_collection(TreeReduce(
        [frame.expr], _sum_count_chunk, _sum_count_combine, _sum_count_aggregate, meta,
        split_every, chunk_kwargs={"method": name, "kwargs": kwargs},
        combine_kwargs={"method": name},
        aggregate_kwargs={"method": name, "min_count": kwargs["min_count"], "meta": meta},
        label=name))


def _dt_mean_chunk(part: Any) -> tuple:
    valid = part.dropna()
    return valid.astype("int64").sum() if len(valid) else 0, len(valid)


def _dt_mean_aggregate(values: list, meta: Any) -> Any:
    total = sum(int(v[0]) for v in values)
    n = sum(v[1] for v in values)
    if n == 0:
        return pd.NaT
    unit = np.datetime_data(np.dtype(getattr(meta, "dtype", "M8[ns]")))[0] if hasattr(meta, "dtype") else "ns"
    return pd.Timestamp(total // n, unit=unit)


def _datetime_mean(frame: Any, meta: Any, split_every: Any) -> Any:
    dtype = frame._meta.dtype
    unit = np.datetime_data(dtype.base if hasattr(dtype, "base") else dtype)[0]
    fake = np.array([0], dtype=f"M8[{unit}]")
    return new_collection(TreeReduce(
        [frame.expr], _dt_mean_chunk, None, _dt_mean_aggregate, meta, split_every,
        aggregate_kwargs={"meta": fake}, label="mean"))


# -- lengths ---------------------------------------------------------------------------------

def _len(part: Any) -> int:
    return len(part)


def _sum(values: list) -> int:
    return sum(values)


class _Len:
    """Marker for the projection pushdown: a row count needs no particular column."""


def length(frame: Any) -> Any:
    """The number of rows, as a lazy Scalar."""
    return new_collection(_LenReduce([frame.expr], _len, _sum, _sum, 0, label="len"))


class _LenReduce(TreeReduce):
    """A row count: its input's columns do not matter, so it asks for none (the
    reader keeps one so rows still exist)."""

    def _child_needs(self, needed: Any) -> dict:
        return {d._name: [] for d in self.dependencies()}

    def _simplify(self) -> Any:
        """Over an in-memory frame, through steps that keep every row, the count is
        known from the partition boundaries: no task needs to run."""
        from .expr import Assign, Astype, Elemwise, FromPandas, Projection, Rename

        e = self.frames[0]
        while isinstance(e, (Projection, Assign, Astype, Rename, Elemwise)):
            if isinstance(e, Elemwise):
                inputs = [a for a in e.args if hasattr(a, "_meta") and is_pandas(a._meta)]
                if len(inputs) != 1:
                    return None
                e = inputs[0]
            else:
                e = e.frame
        if not isinstance(e, FromPandas):
            return None
        from .expr.io import Literal

        locs = e.locations
        return Literal(int(sum(locs[j + 1] - locs[j] for j in e._indices())))


def _size(part: Any) -> int:
    return part.size


def size(frame: Any) -> Any:
    return new_collection(TreeReduce([frame.expr], _size, _sum, _sum, 0, label="size"))


def _mem_chunk(part: Any, index: bool, deep: bool) -> Any:
    if isinstance(part, pd.DataFrame):
        return part.memory_usage(index=index, deep=deep)
    return part.memory_usage(index=index, deep=deep)


def _mem_combine(values: list) -> Any:
    if isinstance(values[0], pd.Series):
        out = values[0]
        for v in values[1:]:
            out = out.add(v, fill_value=0)
        return out.astype("int64")
    return sum(values)


def memory_usage(frame: Any, index: bool = True, deep: bool = False) -> Any:
    """Bytes used by each column (DataFrame) or in total (Series), summed over
    partitions (the index of every partition is counted)."""
    meta = frame._meta
    if isinstance(meta, pd.DataFrame):
        out_meta = meta.memory_usage(index=index, deep=deep).iloc[:0]
    else:
        out_meta = 0
    return new_collection(TreeReduce([frame.expr], _mem_chunk, _mem_combine, _mem_combine,
                                     out_meta, chunk_kwargs={"index": index, "deep": deep},
                                     label="memory-usage"))


# -- custom reductions -----------------------------------------------------------------------

def _custom_chunk(part: Any, chunk: Callable, kwargs: dict) -> Any:
    return chunk(part, **kwargs)


def _custom_combine(values: list, func: Callable, kwargs: dict) -> Any:
    return func(_stack(values), **kwargs)


def custom_reduction(frame: Any, chunk: Callable, aggregate: Callable | None,
                     combine: Callable | None, meta: Any, token: str | None,
                     split_every: Any, chunk_kwargs: dict | None,
                     aggregate_kwargs: dict | None, combine_kwargs: dict | None) -> Any:
    """See :meth:`FrameBase.reduction`."""
    aggregate = aggregate or chunk
    combine = combine or aggregate
    if meta is no_default or meta is None:
        sample = meta_nonempty(frame._meta)
        first = chunk(sample, **(chunk_kwargs or {}))
        meta = aggregate(_stack([first, first]), **(aggregate_kwargs or {}))
        meta = make_meta(meta) if is_pandas(meta) else meta
    else:
        meta = make_meta(meta)
    return new_collection(TreeReduce(
        [frame.expr], _custom_chunk, _custom_combine, _custom_combine, meta, split_every,
        chunk_kwargs={"chunk": chunk, "kwargs": dict(chunk_kwargs or {})},
        combine_kwargs={"func": combine, "kwargs": dict(combine_kwargs or {})},
        aggregate_kwargs={"func": aggregate, "kwargs": dict(aggregate_kwargs or {})},
        label=token or getattr(chunk, "__name__", "reduction").strip("<>")))

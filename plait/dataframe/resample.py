"""``resample``: time-bin aggregations on a datetime index with known divisions.

Each partition is resampled on its own into partial results per bin (sums, counts,
minima, maxima, first and last values; sums of squares for ``var``/``std``). A bin
that starts in one partition may end in the next ones, so output partition i takes the
bins whose labels fall between the labels of ``divisions[i]`` and ``divisions[i + 1]``
and combines the partials of partition i with those of the earlier partitions that
reach into its first bin (found from the divisions when the plan is built). Empty bins
between rows are filled as pandas fills them (0 for sums and counts, NaN otherwise),
and bins outside the data's first and last row are dropped (a tiny task finds them
from the partials, so loose divisions after a filter still give pandas' bins).

The bins are pandas' own: every partition is resampled with the same ``origin`` (the
first division's midnight for ``origin="start_day"``), so bins agree across
partitions. The aggregations are those that combine exactly from partials: ``sum``,
``count``, ``size``, ``min``, ``max``, ``first``, ``last``, ``mean``, ``var``, ``std``,
``ohlc`` and ``agg`` over them.

``median``, ``nunique`` and ``quantile`` need every row of a bin at once: output
partition i resamples the rows of partition i together with those of the earlier
partitions that reach into its first bin (the same partitions as above; only their
rows in those bins are used), so no partials and no shuffle.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from ..graph import Ref, Task
from .core import new_collection
from .expr.base import Expr

__all__ = ["Resampler"]

_PARTIALS = {"sum": ("sum",), "count": ("count",), "size": ("size",), "min": ("min",),
             "max": ("max",), "first": ("first",), "last": ("last",),
             "mean": ("sum", "count"), "var": ("sum", "sumsq", "count"),
             "std": ("sum", "sumsq", "count"), "ohlc": ("first", "max", "min", "last")}
_HOLISTIC = ("median", "nunique", "quantile")
_COMBINE = {"sum": "sum", "count": "sum", "size": "sum", "min": "min", "max": "max",
            "first": "first", "last": "last", "sumsq": "sum"}


def _as_frame(part: Any) -> pd.DataFrame:
    return part.to_frame(name="__series") if isinstance(part, pd.Series) else part


def _partials(part: Any, kw: dict, names: tuple) -> dict:
    frame = _as_frame(part)
    r = frame.resample(**kw)
    out = {}
    for name in names:
        if name == "size":
            out[name] = r.size().to_frame("__size")
        elif name == "sumsq":
            out[name] = (frame.astype("float64") ** 2).resample(**kw).sum()
        else:
            out[name] = getattr(r, name)()
    return out


def _extent(*partials: dict) -> tuple:
    """First and last bin label holding rows, over all partitions."""
    firsts, lasts = [], []
    for p in partials:
        counts = p["__rows"]
        has = counts.index[counts.to_numpy() > 0]
        if len(has):
            firsts.append(has[0])
            lasts.append(has[-1])
    return (min(firsts), max(lasts)) if firsts else (None, None)


def _finish(how: str, parts: dict, ddof: int = 1) -> Any:
    if how in ("sum", "count", "size"):
        return parts[how].fillna(0)
    if how in ("min", "max", "first", "last"):
        return parts[how]
    s, c = parts["sum"], parts["count"].fillna(0)
    if how == "mean":
        return s / c.where(c > 0)
    var = (parts["sumsq"] - s * s / c.where(c > 0)) / (c - ddof).where(c > ddof)
    var = var.clip(lower=0)
    return var if how == "var" else np.sqrt(var)


def _combine(labels: pd.DatetimeIndex, extent: tuple, how: str, meta: Any, series: bool,
             ddof: int, *partials: dict) -> Any:
    lo, hi = extent
    if lo is None:
        return meta
    labels = labels[(labels >= lo) & (labels <= hi)]
    parts = {}
    for name in partials[0]:
        if name == "__rows":
            continue
        frames = [p[name] for p in partials if len(p[name])]
        if not frames:
            parts[name] = partials[0][name].reindex(labels)
            continue
        both = pd.concat(frames) if len(frames) > 1 else frames[0]
        parts[name] = both.groupby(level=0, sort=True).agg(_COMBINE[name]).reindex(labels)
    if how == "ohlc":
        pieces = {k: parts[p] for k, p in zip(("open", "high", "low", "close"),
                                               ("first", "max", "min", "last"))}
        out = pd.concat(pieces, axis=1).swaplevel(axis=1)
        out = out[meta.columns] if not series else out.droplevel(0, axis=1)
    elif how == "size":
        out = _finish(how, parts)["__size"]
    else:
        out = _finish(how, parts, ddof)
        if series:
            out = out["__series"]
    out.index.name = meta.index.name
    if isinstance(out, pd.Series):
        out.name = meta.name
    return _cast_like(out, meta)


def _cast_like(out: Any, meta: Any) -> Any:
    """``out`` with ``meta``'s dtypes, column by column where the values allow (an int
    column with empty bins stays float, as in pandas)."""
    if isinstance(out, pd.Series):
        try:
            return out.astype(meta.dtype)
        except (TypeError, ValueError):
            return out
    cols = {}
    for k, dtype in meta.dtypes.items():
        try:
            cols[k] = out[k].astype(dtype)
        except (TypeError, ValueError):
            cols[k] = out[k]
    return pd.DataFrame(cols, index=out.index, columns=out.columns)


class ResampleAgg(Expr):
    """One resample aggregation ``how`` of ``frame`` (see the module docstring)."""

    _parameters = ("frame", "kw", "how", "ddof", "meta", "opts")
    _defaults = {"opts": None}

    @property
    def label(self) -> str:
        return f"resample-{self.how}"

    def _compute_meta(self) -> Any:
        return self.meta

    def _labels(self) -> list:
        """The bin label of each division."""
        d = pd.DatetimeIndex(list(self.frame.divisions))
        pos = pd.Series(np.arange(len(d)), index=d).resample(**self.kw).agg(list)
        out: list = [None] * len(d)
        for label, members in pos.items():
            for m in members:
                out[m] = label
        return out

    def _compute_divisions(self) -> tuple:
        labels = self._labels()
        if all(a < b for a, b in itertools.pairwise(labels)):
            return tuple(labels)
        return (None,) * len(labels)

    def _child_needs(self, needed: Any) -> dict:
        from .expr.blockwise import ALL

        return {self.frame._name: ALL}

    def _layer(self) -> dict:
        name, src = self._name, self.frame._name
        n = self.frame.npartitions
        d = list(self.frame.divisions)
        labels = self._labels()
        holistic = self.how in _HOLISTIC
        names = () if holistic else tuple(dict.fromkeys(_PARTIALS[self.how] + ("count",)))
        series = isinstance(self.frame._meta, pd.Series)
        layer: dict = {}
        for j in range(n):
            layer[("partial-" + name, j)] = Task(("partial-" + name, j), _with_rows,
                                                Ref((src, j)), self.kw, names)
        refs = [Ref(("partial-" + name, j)) for j in range(n)]
        layer[("extent-" + name, 0)] = Task(("extent-" + name, 0), _extent, *refs)
        # every bin label from the first division to the last, in one pandas call
        full = pd.Series([0, 0], index=pd.DatetimeIndex([d[0], d[-1]])) \
            .resample(**self.kw).count().index
        for i in range(n):
            span = full[full >= labels[i]]
            span = span[span < labels[i + 1]] if i < n - 1 else span
            deps = [j for j in range(i) if labels[j + 1] >= labels[i]] + [i]
            if holistic:
                layer[(name, i)] = Task((name, i), _whole_bins, span,
                                        Ref(("extent-" + name, 0)), self.how,
                                        dict(self.opts or {}), self.kw, self.meta, series,
                                        *[Ref((src, j)) for j in deps])
                continue
            layer[(name, i)] = Task((name, i), _combine, span,
                                    Ref(("extent-" + name, 0)), self.how, self.meta,
                                    series, self.ddof,
                                    *[Ref(("partial-" + name, j)) for j in deps])
        return layer


def _whole_bins(labels: pd.DatetimeIndex, extent: tuple, how: str, opts: dict, kw: dict,
                meta: Any, series: bool, *parts: Any) -> Any:
    """``how`` over every row of the bins ``labels``, from the partitions holding them."""
    lo, hi = extent
    if lo is None:
        return meta
    labels = labels[(labels >= lo) & (labels <= hi)]
    frames = [_as_frame(p) for p in parts if len(p)]
    if not frames:
        frames = [_as_frame(meta)]
    both = pd.concat(frames) if len(frames) > 1 else frames[0]
    out = getattr(both.resample(**kw), how)(**opts).reindex(labels)
    if how == "nunique":
        out = out.fillna(0)  # pandas counts no distinct values in an empty bin
    if series:
        out = out["__series"]
        out.name = meta.name
    out.index.name = meta.index.name
    return _cast_like(out, meta)


def _with_rows(part: Any, kw: dict, names: tuple) -> dict:
    out = _partials(part, kw, names)
    out["__rows"] = _as_frame(part).resample(**kw).size()
    return out


class Resampler:
    """``frame.resample(rule, closed=None, label=None, origin="start_day", offset=None)``."""

    def __init__(self, frame: Any, rule: Any, closed: str | None = None,
                 label: str | None = None, origin: Any = "start_day", offset: Any = None,
                 **kwargs: Any):
        if kwargs:
            raise TypeError(f"resample got unsupported keywords {sorted(kwargs)}")
        if not isinstance(frame._meta.index, pd.DatetimeIndex):
            raise TypeError(f"resample needs a datetime index; this frame's index is "
                            f"{frame._meta.index.dtype}. Use set_index on a datetime column")
        if not frame.known_divisions:
            raise ValueError("resample needs known divisions to place bins in partitions; "
                             "build the frame sorted (from_pandas(..., sort=True), "
                             "set_index, or read_parquet(calculate_divisions=True))")
        first = pd.Timestamp(frame.divisions[0])
        tick = isinstance(pd.tseries.frequencies.to_offset(rule), pd.offsets.Tick)
        if isinstance(origin, pd.Timestamp) or not tick:
            pass  # pandas ignores origin for calendar rules (week, month, ...)
        elif origin == "start_day":
            origin = first.normalize()
        elif origin == "start":
            origin = first
        elif origin in ("end", "end_day"):
            raise NotImplementedError("resample(origin='end'/'end_day') is not supported")
        self.frame = frame
        self.kw = {"rule": rule, "closed": closed, "label": label, "origin": origin,
                   "offset": offset}
        frame._meta.resample(**self.kw)  # let pandas check the arguments

    def _agg(self, how: str, ddof: int = 1, opts: dict | None = None) -> Any:
        meta = getattr(self.frame._meta.resample(**self.kw), how)(
            **({"ddof": ddof} if how in ("var", "std") else (opts or {})))
        if how == "nunique":
            meta = meta.astype("int64")
        elif how == "quantile" and (opts or {}).get("interpolation") in ("lower", "higher",
                                                                          "nearest"):
            meta = meta.astype(self.frame._meta.dtypes if isinstance(meta, pd.DataFrame)
                               else self.frame._meta.dtype)  # values picked, not mixed
        elif how in ("mean", "var", "std", "median", "quantile"):
            meta = meta.astype("float64")  # an empty frame's mean of ints stays int
        elif how == "ohlc":  # and its ohlc is float: keep the column's dtype
            src = self.frame._meta
            meta = meta.astype({k: (src.dtype if isinstance(src, pd.Series) else
                                    src.dtypes[k[0]]) for k in meta.columns})
        return new_collection(ResampleAgg(self.frame.expr, self.kw, how, ddof, meta, opts))

    def sum(self) -> Any:
        return self._agg("sum")

    def count(self) -> Any:
        return self._agg("count")

    def size(self) -> Any:
        return self._agg("size")

    def min(self) -> Any:
        return self._agg("min")

    def max(self) -> Any:
        return self._agg("max")

    def first(self) -> Any:
        return self._agg("first")

    def last(self) -> Any:
        return self._agg("last")

    def mean(self) -> Any:
        return self._agg("mean")

    def var(self, ddof: int = 1) -> Any:
        return self._agg("var", ddof)

    def std(self, ddof: int = 1) -> Any:
        return self._agg("std", ddof)

    def ohlc(self) -> Any:
        return self._agg("ohlc")

    def median(self) -> Any:
        return self._agg("median")

    def nunique(self, dropna: bool = True) -> Any:
        if not dropna:
            raise NotImplementedError("resample(...).nunique(dropna=False) is not supported")
        return self._agg("nunique")

    def quantile(self, q: float = 0.5, **kwargs: Any) -> Any:
        """pandas' ``quantile`` per bin, for one ``q`` (``interpolation=`` as pandas)."""
        if not np.isscalar(q):
            raise NotImplementedError("resample(...).quantile takes one q; call it once "
                                      "per q and concat the results")
        return self._agg("quantile", opts={"q": q, **kwargs})

    def agg(self, func: Any) -> Any:
        """``"mean"``, a list of names (columns ``(column, name)`` like pandas, or the
        names for a Series), or a dict ``{column: name or list}``."""
        from .core import map_partitions

        if isinstance(func, str):
            return self._method(func)
        frame = self.frame
        series = isinstance(frame._meta, pd.Series)
        if isinstance(func, dict):
            if series:
                raise TypeError("resample(...).agg(dict) needs a DataFrame")
            items = [(c, h) for c, hs in func.items()
                     for h in ([hs] if isinstance(hs, str) else hs)]
            nested = any(not isinstance(h, str) for h in func.values())
        elif isinstance(func, (list, tuple)):
            cols = [None] if series else list(frame._meta.columns)
            items = [(c, h) for c in cols for h in func]
            nested = True
        else:
            raise TypeError(f"resample(...).agg takes a name, a list or a dict of names, "
                            f"got {func!r}")
        pieces, keys = [], []
        for col, how in items:
            src = frame if col is None else frame[col]
            pieces.append(Resampler(src, **self.kw)._method(how))
            keys.append(how if col is None else ((col, how) if nested else col))
        meta = _join_columns(keys, *[p._meta for p in pieces])
        return map_partitions(_join_columns, keys, *pieces, meta=meta)

    aggregate = agg

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_") and hasattr(pd.core.resample.Resampler, name):
            raise NotImplementedError(
                f"resample(...).{name} is not supported (it does not combine from per-"
                f"partition partials); supported: {', '.join(list(_PARTIALS) + list(_HOLISTIC))}, "
                f"agg")
        raise AttributeError(name)

    def _method(self, how: str) -> Any:
        if how not in _PARTIALS and how not in _HOLISTIC:
            raise NotImplementedError(
                f"resample(...).{how} is not supported; supported: "
                f"{', '.join(list(_PARTIALS) + list(_HOLISTIC))}")
        return getattr(self, how)()


def _join_columns(keys: list, *pieces: Any) -> pd.DataFrame:
    out = pd.concat(list(pieces), axis=1)
    out.columns = pd.MultiIndex.from_tuples(keys) if isinstance(keys[0], tuple) else keys
    return out

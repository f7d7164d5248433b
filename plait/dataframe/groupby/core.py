"""``DataFrameGroupBy`` and ``SeriesGroupBy``: lazy group-by reductions.

Every reduction is one tree reduction (:class:`~plait.dataframe.expr.TreeReduce`):
partitions are grouped and reduced to partials, partials are merged ``split_every`` at a
time, and the last merge finishes the outputs (see :mod:`.kernels`). The result has one
partition. Its ``_meta`` is pandas' own answer on the empty metas, so names, index and
dtypes are known without computing.

``split_out=n`` > 1 (on ``groupby()`` or on the method), ``median``, callables in
``agg``, ``apply``, ``transform``, ``shift``, the cumulative methods and ``rolling`` go
through :mod:`.shuffled` instead: rows are hash-shuffled by the keys into ``n``
partitions and pandas runs per partition (see :mod:`.per_group`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from .kernels import GroupKeys, aggregate, chunk, combine
from .keys import resolve_keys
from .per_group import PerGroupMethods
from .reductions import ReductionMethods
from .spec import SERIES_COLUMN, Output, Plan, make_plan, parse_agg
from .shuffled import MethodCall, shuffled_groupby
from .value_counts import vc_chunk, vc_combine_list, vc_finish

__all__ = ["DataFrameGroupBy", "SeriesGroupBy", "groupby"]

_NUMERIC_KINDS = "biufc"


def groupby(frame: Any, by: Any = None, level: Any = None, *, as_index: bool = True,
            sort: bool | None = None, group_keys: bool = True, observed: bool | None = None,
            dropna: bool | None = None, split_out: int | None = None,
            split_every: int | None = None, shuffle_method: Any = None,
            **kwargs: Any) -> DataFrameGroupBy | SeriesGroupBy:
    """Group ``frame`` (a plait DataFrame or Series) like pandas' ``groupby``.

    ``by`` is a column label, a list of labels, a plait Series partitioned like
    ``frame`` (``df.groupby(df.Date.dt.dayofweek)``) or a list mixing them; ``level``
    groups by index levels instead. ``sort``, ``dropna`` and ``observed`` mean what they
    mean in pandas (defaults True, True, True). ``split_every`` bounds how many partials
    each merge step takes.
    """
    if kwargs:
        raise TypeError(f"groupby() got unexpected keyword arguments {sorted(kwargs)}")
    split_out = _check_split_out(split_out)
    cls = SeriesGroupBy if isinstance(frame._meta, pd.Series) else DataFrameGroupBy
    return cls(frame, by=by, level=level, as_index=as_index,
               sort=True if sort is None else bool(sort), group_keys=group_keys,
               observed=True if observed is None else bool(observed),
               dropna=True if dropna is None else bool(dropna), split_every=split_every,
               split_out=split_out, shuffle_method=shuffle_method)


def _check_split_out(split_out: Any) -> int | None:
    """``split_out`` as a number of output partitions (None: the tree reduction)."""
    if split_out is None or split_out is False or (
            not isinstance(split_out, bool) and split_out == 1):
        return None
    if split_out is True:
        raise NotImplementedError("split_out=True (a partition count chosen from the data) "
                                  "is not supported; pass a number of partitions")
    if isinstance(split_out, bool) or not isinstance(split_out, (int, np.integer)) \
            or split_out < 1:
        raise ValueError(f"split_out={split_out!r}: pass a positive number of output "
                         f"partitions")
    return int(split_out)


class _GroupBy(ReductionMethods, PerGroupMethods):
    """State shared by both group-by kinds; ``selection`` is the chosen column(s)."""

    def __init__(self, obj: Any, by: Any = None, level: Any = None, *,
                 as_index: bool = True, sort: bool = True, group_keys: bool = True,
                 observed: bool = True, dropna: bool = True,
                 split_every: int | None = None, selection: Any = None,
                 _resolved: Any = None, split_out: int | None = None,
                 shuffle_method: Any = None):
        self.obj = obj
        self.by = by
        self.level = level
        self.as_index = as_index
        self.sort = sort
        self.group_keys = group_keys
        self.observed = observed
        self.dropna = dropna
        self.split_every = split_every
        self.split_out = split_out
        self.shuffle_method = shuffle_method
        self._selection = selection
        self._keys = _resolved or resolve_keys(obj, by, level)
        self._is_series_obj = isinstance(obj._meta, pd.Series)
        self._meta_groupby()  # fail now, not at compute time, on a bad key

    # -- pandas on the metas -------------------------------------------------------------

    def _meta_groupby(self) -> Any:
        meta = self.obj._meta
        opts = {"sort": self.sort, "observed": self.observed, "dropna": self.dropna,
                    "as_index": self.as_index} if not self._is_series_obj else \
            {"sort": self.sort, "observed": self.observed, "dropna": self.dropna}
        if self.level is not None:
            g = meta.groupby(level=self.level, **opts)
        else:
            metas = self._keys.metas
            g = meta.groupby(metas if isinstance(self.by, list) else metas[0], **opts)
        if self._selection is not None:
            g = g[self._selection]
        return g

    def _meta_of(self, call: Any) -> Any:
        try:
            out = call(self._meta_groupby())
        except Exception as exc:
            raise _annotated(exc, "raised by pandas on the empty meta of this group-by; "
                                  "the same call would fail on the data") from exc
        return out.iloc[:0] if isinstance(out, (pd.DataFrame, pd.Series)) else out

    # -- columns -------------------------------------------------------------------------

    def _value_columns(self) -> list[Any]:
        """The columns an aggregation without selection applies to (pandas' rule)."""
        if self._is_series_obj:
            return [SERIES_COLUMN]
        sel = self._selection
        if sel is not None:
            return list(sel) if isinstance(sel, list) else [sel]
        excluded = {i[1] for i in self._keys.items if i[0] == "col"}
        return [c for c in self.obj._meta.columns if c not in excluded]

    def _numeric(self, columns: list[Any]) -> list[Any]:
        if self._is_series_obj:
            return columns
        dtypes = self.obj._meta.dtypes
        return [c for c in columns
                if getattr(dtypes[c], "kind", "O") in _NUMERIC_KINDS
                or pd.api.types.is_bool_dtype(dtypes[c])]

    def _group_keys(self) -> GroupKeys:
        return GroupKeys(self._keys.items, dropna=self.dropna, sort=self.sort,
                         observed=self.observed, names=self._keys.names,
                         series=self._is_series_obj)

    def _input(self, columns: list[Any]) -> Any:
        """The frame narrowed to what the kernels read, so readers load only that."""
        obj = self.obj
        if self._is_series_obj:
            return obj
        needed = list(dict.fromkeys(list(self._keys.columns) +
                                    [c for c in columns if c != SERIES_COLUMN]))
        if needed and len(needed) < len(obj._meta.columns):
            obj = obj[needed]
        return obj

    # -- the one reduction entry point ---------------------------------------------------

    def _reduce(self, plan: Plan, meta: Any, label: str,
                split_every: int | None = None) -> Any:
        from ..core import new_collection
        from ..expr import TreeReduce

        plan = self._mark_datetimes(plan)
        columns = [o.column for o in plan.outputs if o.column is not None]
        keys = self._group_keys()
        frames = [self._input(columns).expr, *self._keys.extra]
        meta = _widen_sums(meta, plan)
        expr = TreeReduce(
            frames, chunk, combine, _finish, meta,
            split_every=split_every or self.split_every,
            chunk_kwargs={"keys": keys, "plan": plan},
            combine_kwargs={"plan": plan},
            aggregate_kwargs={"keys": keys, "plan": plan, "meta": meta,
                              "as_index": self.as_index},
            label=f"groupby-{label}")
        return new_collection(expr)

    def _mark_datetimes(self, plan: Plan) -> Plan:
        """Tell mean/var/std/sem outputs of datetime/timedelta columns their dtype:
        they are merged as float nanoseconds and converted back at the end."""
        meta = self.obj._meta
        outs, changed = [], False
        for o in plan.outputs:
            if o.how in ("mean", "var", "std", "sem") and o.column is not None:
                dtype = meta.dtype if self._is_series_obj else meta.dtypes[o.column]
                if getattr(dtype, "kind", "O") in "mM":
                    o, changed = replace(o, dt=str(dtype)), True
            outs.append(o)
        return make_plan(outs, plan.layout, plan.name) if changed else plan

    def _simple(self, how: str, call: Any, numeric_only: bool = False,
                split_every: int | None = None, split_out: int | None = None,
                shuffle_method: Any = None, **opts: Any) -> Any:
        meta = self._meta_of(call)  # pandas' own refusals (TypeError) come first
        n = _check_split_out(split_out) or self.split_out
        if n:
            if how not in ("count", "size", "nunique"):
                opts = {"numeric_only": numeric_only, **opts}
            return self._shuffled(MethodCall(how, **opts), _widen_all(meta) if how in ("sum", "prod") else meta,
                                  n, shuffle_method, how)
        columns = self._value_columns()
        if numeric_only:
            columns = self._numeric(columns)
        if how == "size":
            plan = make_plan([Output(self._series_name(), None, "size")], "size",
                             self._series_name())
        elif self._series_layout():
            plan = make_plan([Output(self._series_name(), columns[0], how, **opts)],
                             "series", self._series_name())
        else:
            plan = make_plan([Output(c, c, how, **opts) for c in columns], "frame")
        return self._reduce(plan, meta, how, split_every)

    def _series_layout(self) -> bool:
        return self._is_series_obj or (self._selection is not None
                                       and not isinstance(self._selection, list))

    def _series_name(self) -> Any:
        if self._is_series_obj:
            return self.obj._meta.name
        if self._selection is not None and not isinstance(self._selection, list):
            return self._selection
        return None

    def agg(self, func: Any = None, *args: Any, split_every: int | None = None,
            split_out: int | None = None, shuffle_method: Any = None,
            **kwargs: Any) -> Any:
        """``agg`` with a name, a list of names, a dict ``{column: name(s)}`` or named
        aggregation (``agg(total=("x", "sum"))``); the layout is pandas'."""
        if args:
            raise TypeError("group-by agg() takes no extra positional arguments")
        n = _check_split_out(split_out) or self.split_out
        series = self._series_layout()
        columns = None if series else self._value_columns()
        if n and not _has_custom(func, kwargs):
            # pandas per partition after the shuffle: callables and median work too
            meta = self._meta_of(lambda g: g.agg(func, **kwargs))
            return self._shuffled(MethodCall("agg", func, **kwargs), meta, n,
                                  shuffle_method, "agg")
        try:
            plan = parse_agg(func, kwargs, columns, series_name=self._series_name())
        except (NotImplementedError, TypeError):
            if _has_custom(func, kwargs):
                raise
            # median or a callable: every row of a group must meet, so shuffle (into
            # one partition unless split_out says more)
            meta = self._meta_of(lambda g: g.agg(func, **kwargs))
            return self._shuffled(MethodCall("agg", func, **kwargs), meta, 1,
                                  shuffle_method, "agg")
        if series:
            plan = _series_plan(plan, self._value_columns()[0])
        if plan.custom:
            meta = self._pipeline_meta(plan)  # pandas knows nothing of Aggregation
        else:
            meta = self._meta_of(lambda g: g.agg(func, **kwargs))
        if n:
            # a custom Aggregation: the tree kernels, once per shuffled partition
            call = _KernelCall(replace(self._group_keys(), by=()), self._mark_datetimes(plan),
                               _widen_sums(meta, plan), self.as_index)
            return self._shuffled(call, call.meta, n, shuffle_method, "agg")
        return self._reduce(plan, meta, "agg", split_every)

    def _shuffled(self, call: Any, meta: Any, n: int | None, shuffle_method: Any,
                  label: str, aligned: bool = False, reduction: bool = True) -> Any:
        method = shuffle_method or self.shuffle_method
        out = shuffled_groupby(self, call, meta, n, method, label=f"groupby-{label}",
                               aligned=aligned)
        if reduction and not aligned and self.sort and out.npartitions > 1:
            # one row per group over several partitions: pandas sorts the groups, so
            # sort across partitions too (each is sorted by pandas already)
            by = None
            if not self.as_index:
                by = list(self._keys.names)
                if not isinstance(meta, pd.DataFrame) or not set(by) <= set(meta.columns):
                    return out
            from ..core import new_collection
            from ..index_sort import sort_by_index

            out = new_collection(sort_by_index(out.expr, method, by))
        return out

    def _pipeline_meta(self, plan: Plan) -> Any:
        """The meta from running the kernels themselves on the empty metas."""
        plan = self._mark_datetimes(plan)
        columns = [o.column for o in plan.outputs if o.column is not None]
        keys = self._group_keys()
        frame = self._input(columns)._meta
        extra = [e._meta for e in self._keys.extra]
        try:
            out = aggregate([chunk(frame, *extra, keys=keys, plan=plan)], keys=keys,
                            plan=plan)
        except Exception as exc:
            raise _annotated(exc, "raised by the custom aggregation on the empty meta "
                                  "of this group-by") from exc
        if not self.as_index:
            out = out.reset_index()
        return out.iloc[:0]

    aggregate = agg

    def get_group(self, key: Any) -> Any:
        """The rows of one group (lazy: a filter on the keys, computed with the rest).

        Unlike pandas, a key with no rows gives an empty result instead of KeyError,
        since the groups are not known before computing.
        """
        from ..core import new_collection

        items = self._keys.items
        values = key if len(items) > 1 else (key,)
        if not isinstance(values, tuple) or len(values) != len(items):
            raise KeyError(f"get_group({key!r}): this group-by has {len(items)} key(s); "
                           f"pass {'a tuple of ' + str(len(items)) + ' values' if len(items) > 1 else 'one value'}")
        mask = None
        for (kind, ref), value in zip(items, values):
            if kind == "col":
                column = self.obj[ref] if not self._is_series_obj else None
            elif kind == "arg":
                column = new_collection(self._keys.extra[ref])
            else:
                column = None
            if column is None:
                raise NotImplementedError("get_group with index-level keys is not "
                                          "supported; filter with loc instead")
            match = column.isna() if _is_missing(value) else column == value
            mask = match if mask is None else mask & match
        rows = self.obj[mask]
        return rows[self._selection] if self._selection is not None else rows

    def __repr__(self) -> str:
        return (f"<plait {type(self).__name__}: by={self._keys.names!r}, "
                f"npartitions={self.obj.npartitions}>")


def _series_plan(plan: Plan, column: Any) -> Plan:
    """Point a SeriesGroupBy plan's outputs at the grouped column."""
    outs = [replace(o, column=o.column if o.how == "size" else column)
            for o in plan.outputs]
    return make_plan(outs, plan.layout, plan.name)


def _annotated(exc: Exception, note: str) -> Exception:
    """The same kind of exception with ``note`` appended (the original when its type
    cannot be built from a message)."""
    try:
        return type(exc)(f"{exc} ({note})")
    except Exception:  # noqa: BLE001 - any constructor failure keeps the original
        return exc


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _wide_int(dtype: Any) -> Any:
    kind = getattr(dtype, "kind", "O")
    if kind == "b":
        return np.dtype("int64")
    if kind in "iu" and isinstance(dtype, np.dtype) and dtype.itemsize < 8:
        return np.dtype("uint64" if kind == "u" else "int64")
    return dtype


class _KernelCall:
    """chunk + finish of a plan on one shuffled partition (every row of its groups is
    there), for aggregations pandas does not know (custom ``Aggregation``)."""

    takes_frame = True

    def __init__(self, keys: GroupKeys, plan: Plan, meta: Any, as_index: bool):
        self.keys = keys
        self.plan = plan
        self.meta = meta
        self.as_index = as_index

    def __call__(self, frame: Any, key_series: list) -> Any:
        keys = replace(self.keys, by=tuple(("arg", i) for i in range(len(key_series))))
        partial = chunk(frame, *key_series, keys=keys, plan=self.plan)
        return _finish([partial], keys=keys, plan=self.plan, meta=self.meta,
                       as_index=self.as_index)

    def __reduce__(self):
        return (_KernelCall, (self.keys, self.plan, self.meta, self.as_index))

    def __plait_tokenize__(self) -> Any:
        from ...tokenize import tokenize

        return ("groupby-kernel", tokenize(self.keys), tokenize(self.plan),
                tokenize(self.meta), self.as_index)


def _has_custom(func: Any, kwargs: dict) -> bool:
    """Whether an agg spec names a plait :class:`~.custom.Aggregation` anywhere."""
    from .custom import Aggregation

    def walk(x: Any) -> bool:
        if isinstance(x, Aggregation):
            return True
        if isinstance(x, dict):
            return any(walk(v) for v in x.values())
        if isinstance(x, (list, tuple)):
            return any(walk(v) for v in x)
        return False
    return walk(func) or walk(kwargs)


def _widen_all(meta: Any) -> Any:
    """Small ints and bools widened to 64-bit, as pandas' sum/prod give on data."""
    if isinstance(meta, pd.Series):
        return meta.astype(_wide_int(meta.dtype))
    if isinstance(meta, pd.DataFrame):
        meta = meta.copy()
        for i in range(meta.shape[1]):
            meta.isetitem(i, meta.iloc[:, i].astype(_wide_int(meta.dtypes.iloc[i])))
    return meta


def _widen_sums(meta: Any, plan: Plan) -> Any:
    """pandas sums small ints as 64-bit, but on an empty meta it keeps the small dtype:
    fix the meta of sum/prod outputs so it says what the data will give."""
    sums = [o for o in plan.outputs if o.how in ("sum", "prod")]
    if not sums:
        return meta
    if isinstance(meta, pd.Series):
        return meta.astype(_wide_int(meta.dtype))
    if isinstance(meta, pd.DataFrame) and len(meta.columns) == len(plan.outputs):
        meta = meta.copy()
        for i, o in enumerate(plan.outputs):
            if o.how in ("sum", "prod"):
                meta.isetitem(i, meta.iloc[:, i].astype(_wide_int(meta.dtypes.iloc[i])))
    return meta


def _finish(partials: list, keys: GroupKeys, plan: Plan, meta: Any,
            as_index: bool = True) -> Any:
    result = aggregate(partials, keys=keys, plan=plan, meta=None if not as_index else meta)
    if not as_index:
        if isinstance(result, pd.Series):
            result = result.reset_index(name="size" if plan.layout == "size" else
                                        result.name)
        else:
            result = result.reset_index()
        if len(result.columns) == len(meta.columns):
            result.columns = meta.columns
            result = result.astype(meta.dtypes.to_dict(), errors="ignore")
    return result


class DataFrameGroupBy(_GroupBy):
    """A plait DataFrame grouped by keys (see :func:`groupby`)."""

    def __getitem__(self, key: Any) -> DataFrameGroupBy | SeriesGroupBy:
        if self._is_series_obj:
            raise KeyError("a grouped Series has no columns to select")
        cols = list(key) if isinstance(key, (list, tuple)) else [key]
        missing = [c for c in cols if c not in self.obj._meta.columns]
        if missing:
            raise KeyError(f"columns {missing} not found; the columns are "
                           f"{list(self.obj._meta.columns)}")
        cls = DataFrameGroupBy if isinstance(key, (list, tuple)) else SeriesGroupBy
        return cls(self.obj, by=self.by, level=self.level, as_index=self.as_index,
                   sort=self.sort, group_keys=self.group_keys, observed=self.observed,
                   dropna=self.dropna, split_every=self.split_every,
                   selection=list(key) if isinstance(key, (list, tuple)) else key,
                   _resolved=self._keys, split_out=self.split_out,
                   shuffle_method=self.shuffle_method)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            columns = self.obj._meta.columns
            if name in columns:
                return self[name]
        except (AttributeError, TypeError):
            pass
        raise AttributeError(f"{type(self).__name__} has no attribute or column {name!r}")

    def __dir__(self) -> list[str]:
        cols = [c for c in self.obj._meta.columns if isinstance(c, str) and c.isidentifier()]
        return sorted(set(super().__dir__()) | set(cols))


class SeriesGroupBy(_GroupBy):
    """One column (or a Series) grouped by keys (see :func:`groupby`)."""

    def value_counts(self, normalize: bool = False, sort: bool = True,
                     ascending: bool = False, bins: Any = None, dropna: bool = True,
                     split_every: int | None = None) -> Any:
        """Counts of each value per group, ordered like pandas.

        With ``sort=False`` the rows inside a group follow the values' first appearance
        (pandas leaves that order to its internals).
        """
        if bins is not None:
            raise NotImplementedError("group-by value_counts(bins=...) is not supported; "
                                      "cut the values into bins first (e.g. with "
                                      "map_partitions(pd.cut, ...))")
        from ..core import new_collection
        from ..expr import TreeReduce

        meta = self._meta_of(lambda g: g.value_counts(normalize=normalize, sort=sort,
                                                      ascending=ascending, dropna=dropna))
        column = self._value_columns()[0]
        keys = self._group_keys()
        frames = [self._input([column]).expr, *self._keys.extra]
        expr = TreeReduce(
            frames, vc_chunk, vc_combine_list, vc_finish, meta,
            split_every=split_every or self.split_every,
            chunk_kwargs={"keys": keys, "column": column, "dropna": dropna},
            aggregate_kwargs={"keys": keys, "normalize": normalize, "sort": sort,
                              "ascending": ascending, "name": self._series_name(),
                              "meta": meta, "as_index": self.as_index},
            label="groupby-value-counts")
        return new_collection(expr)

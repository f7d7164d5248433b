"""What DataFrame, Series and Index share: operators, partition access, element-wise
methods, reductions, conversion and display.

Each method validates its arguments, builds one expression node and wraps it with
:func:`~plait.dataframe.core.new_collection`; the pandas work happens partition by
partition when the result is computed.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from numbers import Number
from typing import Any

import numpy as np
import pandas as pd

from .core import Scalar, _Base, elemwise, map_partitions, new_collection, to_expr
from .expr import Head, MapPartitions, PartitionMethod, Partitions, Tail, no_default

__all__ = ["FrameBase"]

#: ``isin`` lists longer than this become one shared graph node (below, each task
#: carries its own copy, and simple filters can still reach a Parquet reader)
_SHARED_ISIN = 1000


def _get_index(part: Any) -> Any:
    return part.index


class _PartitionsAccessor:
    """``df.partitions[i]``, ``df.partitions[1:3]``, ``df.partitions[[0, 2]]``."""

    def __init__(self, frame: FrameBase):
        self._frame = frame

    def __getitem__(self, key: Any) -> Any:
        n = self._frame.npartitions
        indices = list(range(n))[key] if isinstance(key, slice) else None
        if indices is None:
            keys = key if isinstance(key, (list, tuple, np.ndarray)) else [key]
            indices = []
            for k in keys:
                k = operator.index(k)
                if not -n <= k < n:
                    raise IndexError(f"partition {k} is out of range: this collection has "
                                     f"{n} partitions")
                indices.append(k % n)
        if not indices:
            raise IndexError(f"partitions[{key!r}] selects no partition")
        return new_collection(Partitions(self._frame.expr, indices))

    def __len__(self) -> int:
        return self._frame.npartitions


class FrameBase(_Base):
    """Methods shared by DataFrame, Series and Index."""

    __slots__ = ()

    # -- structure ---------------------------------------------------------------------
    @property
    def index(self) -> Any:
        """The index, as a lazy Index collection."""
        return new_collection(MapPartitions(_get_index, self.expr, meta=self._meta.index,
                                            label="index"))

    @property
    def partitions(self) -> _PartitionsAccessor:
        return _PartitionsAccessor(self)

    def get_partition(self, n: int) -> Any:
        """Partition ``n`` as a one-partition collection."""
        return self.partitions[n]

    def __len__(self) -> int:
        from .reductions import length

        return int(length(self).compute())

    @property
    def size(self) -> Scalar:
        from .reductions import size

        return size(self)

    def __iter__(self):
        raise TypeError(f"a plait {type(self).__name__} is not iterable without computing; "
                        "use .compute() first, or iterate over .partitions")

    # -- display -------------------------------------------------------------------------
    def __repr__(self) -> str:
        from .display import frame_repr

        return frame_repr(self)

    def _repr_html_(self) -> str:
        from .display import frame_html

        return frame_html(self)

    # -- partition-wise ------------------------------------------------------------------
    def map_partitions(self, func: Callable, *args: Any, meta: Any = no_default,
                       **kwargs: Any) -> Any:
        """Apply ``func(partition, *args, **kwargs)`` to each partition.

        ``meta`` describes the output (an empty pandas object, a dict of dtypes, a
        ``(name, dtype)`` pair); without it plait runs ``func`` on a small sample.
        """
        return map_partitions(func, self, *args, meta=meta, **kwargs)

    def _method(self, method: str, *args: Any, column_local: bool = False,
                row_local: bool = True, **kwargs: Any) -> Any:
        args = tuple(to_expr(a) for a in args)
        kwargs = {k: to_expr(v) for k, v in kwargs.items()}
        exprs = [a for a in (*args, *kwargs.values()) if hasattr(a, "_meta")]
        if exprs:
            from .core import check_aligned

            check_aligned([self.expr, *exprs], method)
        return new_collection(PartitionMethod(self.expr, method, args, kwargs,
                                              column_local, row_local))

    def head(self, n: int = 5, npartitions: int = 1, compute: bool = True) -> Any:
        """The first ``n`` rows, from the first ``npartitions`` partitions (-1: all);
        only those partitions are read."""
        if npartitions != -1 and not 1 <= npartitions <= self.npartitions:
            raise ValueError(f"head: npartitions must be -1 or between 1 and "
                             f"{self.npartitions}, got {npartitions}")
        result = new_collection(Head(self.expr, n, npartitions))
        if not compute:
            return result
        out = result.compute()
        if len(out) < n and npartitions != -1 and npartitions < self.npartitions:
            from .expr.reductions import warn_short_head

            warn_short_head(n, len(out), npartitions)
        return out

    def tail(self, n: int = 5, compute: bool = True) -> Any:
        """The last ``n`` rows of the last partition."""
        result = new_collection(Tail(self.expr, n))
        return result.compute() if compute else result

    def copy(self, deep: bool = False) -> Any:
        return new_collection(self.expr)

    # -- element-wise ----------------------------------------------------------------------
    def isna(self) -> Any:
        return self._method("isna", column_local=True)

    isnull = isna

    def notna(self) -> Any:
        return self._method("notna", column_local=True)

    notnull = notna

    def abs(self) -> Any:
        return self._method("abs", column_local=True)

    def round(self, decimals: int = 0) -> Any:
        return self._method("round", decimals, column_local=not isinstance(decimals, dict))

    def fillna(self, value: Any = None, axis: Any = None, limit: Any = None) -> Any:
        if value is None:
            raise ValueError("fillna needs a value; to fill forward or backward use "
                             "ffill() or bfill()")
        if isinstance(value, pd.Series) and isinstance(self._meta, pd.DataFrame):
            value = value.to_dict()
        kwargs = {"value": value}
        if axis is not None:
            kwargs["axis"] = axis
        local = not isinstance(value, (FrameBase, Scalar))
        return self._method("fillna", column_local=local, **kwargs)

    def replace(self, to_replace: Any = None, value: Any = no_default, regex: bool = False) -> Any:
        kwargs: dict = {"to_replace": to_replace, "regex": regex}
        if value is not no_default:
            kwargs["value"] = value
        return self._method("replace", column_local=not isinstance(to_replace, dict), **kwargs)

    def clip(self, lower: Any = None, upper: Any = None, axis: Any = None) -> Any:
        kwargs = {"lower": lower, "upper": upper}
        if axis is not None:
            kwargs["axis"] = axis
        return self._method("clip", column_local=not isinstance(lower, (FrameBase, list)),
                            **kwargs)

    def where(self, cond: Any, other: Any = np.nan) -> Any:
        if callable(cond) and not isinstance(cond, FrameBase):
            cond = cond(self)
        return self._method("where", cond, other)

    def mask(self, cond: Any, other: Any = np.nan) -> Any:
        if callable(cond) and not isinstance(cond, FrameBase):
            cond = cond(self)
        return self._method("mask", cond, other)

    def isin(self, values: Any) -> Any:
        if isinstance(values, (FrameBase, Scalar)):
            raise NotImplementedError(
                "isin with a lazy collection of values is not supported; pass a list, "
                "set, array or pandas object (compute the values first)")
        if isinstance(values, (set, frozenset, range)):
            values = list(values)
        if isinstance(values, np.ndarray):
            values = values.tolist()
        if isinstance(values, (pd.Series, pd.Index)) and len(values) > _SHARED_ISIN:
            values = values.tolist()
        column_local = not isinstance(values, dict)
        if isinstance(values, list) and len(values) > _SHARED_ISIN:
            from .expr.io import Literal

            # one graph node that every task reads, not a copy of the list in each
            values = Literal(values)
        return self._method("isin", values, column_local=column_local)

    def astype(self, dtype: Any) -> Any:
        from .expr import Astype

        if isinstance(dtype, dict) and isinstance(self._meta, pd.DataFrame):
            missing = [k for k in dtype if k not in self._meta.columns]
            if missing:
                raise KeyError(f"astype: columns {missing} are not in the frame; its "
                               f"columns are {list(self._meta.columns)}")
        return new_collection(Astype(self.expr, dtype))

    # -- operators -----------------------------------------------------------------------
    def _binop(self, op: Callable, other: Any, reflected: bool = False) -> Any:
        if isinstance(other, (list, tuple)) and not isinstance(other, FrameBase):
            other = np.asarray(other)
        return elemwise(op, other, self) if reflected else elemwise(op, self, other)

    def _unary(self, op: Callable) -> Any:
        return elemwise(op, self)

    # -- reductions -----------------------------------------------------------------------
    def reduction(self, chunk: Callable, aggregate: Callable | None = None,
                  combine: Callable | None = None, meta: Any = no_default,
                  token: str | None = None, split_every: int | None = None,
                  chunk_kwargs: dict | None = None, aggregate_kwargs: dict | None = None,
                  combine_kwargs: dict | None = None) -> Any:
        """A custom tree reduction: ``chunk`` on each partition; the chunk results,
        concatenated (scalars into a Series, Series as the rows of a DataFrame), go
        to ``combine`` (in groups of ``split_every``) and finally ``aggregate``."""
        from .reductions import custom_reduction

        return custom_reduction(self, chunk, aggregate, combine, meta, token, split_every,
                                chunk_kwargs, aggregate_kwargs, combine_kwargs)

    def _reduce(self, name: str, **kwargs: Any) -> Any:
        from . import reductions

        return reductions.reduce(self, name, **kwargs)

    def sum(self, axis: Any = None, skipna: bool = True, numeric_only: bool = False,
            min_count: int = 0, split_every: Any = None) -> Any:
        return self._reduce("sum", axis=axis, skipna=skipna, numeric_only=numeric_only,
                            min_count=min_count, split_every=split_every)

    def prod(self, axis: Any = None, skipna: bool = True, numeric_only: bool = False,
             min_count: int = 0, split_every: Any = None) -> Any:
        return self._reduce("prod", axis=axis, skipna=skipna, numeric_only=numeric_only,
                            min_count=min_count, split_every=split_every)

    product = prod

    def min(self, axis: Any = None, skipna: bool = True, numeric_only: bool = False,
            split_every: Any = None) -> Any:
        return self._reduce("min", axis=axis, skipna=skipna, numeric_only=numeric_only,
                            split_every=split_every)

    def max(self, axis: Any = None, skipna: bool = True, numeric_only: bool = False,
            split_every: Any = None) -> Any:
        return self._reduce("max", axis=axis, skipna=skipna, numeric_only=numeric_only,
                            split_every=split_every)

    def any(self, axis: Any = None, skipna: bool = True, split_every: Any = None) -> Any:
        return self._reduce("any", axis=axis, skipna=skipna, split_every=split_every)

    def all(self, axis: Any = None, skipna: bool = True, split_every: Any = None) -> Any:
        return self._reduce("all", axis=axis, skipna=skipna, split_every=split_every)

    def count(self, axis: Any = None, numeric_only: bool = False, split_every: Any = None) -> Any:
        return self._reduce("count", axis=axis, numeric_only=numeric_only,
                            split_every=split_every)

    def mean(self, axis: Any = None, skipna: bool = True, numeric_only: bool = False,
             split_every: Any = None) -> Any:
        return self._reduce("mean", axis=axis, skipna=skipna, numeric_only=numeric_only,
                            split_every=split_every)

    def var(self, axis: Any = None, skipna: bool = True, ddof: int = 1,
            numeric_only: bool = False, split_every: Any = None) -> Any:
        return self._reduce("var", axis=axis, skipna=skipna, ddof=ddof,
                            numeric_only=numeric_only, split_every=split_every)

    def std(self, axis: Any = None, skipna: bool = True, ddof: int = 1,
            numeric_only: bool = False, split_every: Any = None) -> Any:
        return self._reduce("std", axis=axis, skipna=skipna, ddof=ddof,
                            numeric_only=numeric_only, split_every=split_every)

    def sem(self, axis: Any = None, skipna: bool = True, ddof: int = 1,
            numeric_only: bool = False, split_every: Any = None) -> Any:
        return self._reduce("sem", axis=axis, skipna=skipna, ddof=ddof,
                            numeric_only=numeric_only, split_every=split_every)

    def memory_usage(self, index: bool = True, deep: bool = False) -> Any:
        from .reductions import memory_usage

        return memory_usage(self, index=index, deep=deep)

    # -- statistics (plait.dataframe.stats) ----------------------------------------------
    def quantile(self, q: Any = 0.5, **kwargs: Any) -> Any:
        from . import stats

        return stats.quantile(self, q, **kwargs)

    def describe(self, **kwargs: Any) -> Any:
        from . import stats

        return stats.describe(self, **kwargs)

    def nunique(self, **kwargs: Any) -> Any:
        from . import stats

        return stats.nunique(self, **kwargs)

    def idxmin(self, **kwargs: Any) -> Any:
        from . import stats

        return stats.idxmin(self, **kwargs)

    def idxmax(self, **kwargs: Any) -> Any:
        from . import stats

        return stats.idxmax(self, **kwargs)

    def cumsum(self, axis: Any = None, skipna: bool = True) -> Any:
        from . import stats

        return stats.cumulative(self, "cumsum", axis, skipna)

    def cumprod(self, axis: Any = None, skipna: bool = True) -> Any:
        from . import stats

        return stats.cumulative(self, "cumprod", axis, skipna)

    def cummin(self, axis: Any = None, skipna: bool = True) -> Any:
        from . import stats

        return stats.cumulative(self, "cummin", axis, skipna)

    def cummax(self, axis: Any = None, skipna: bool = True) -> Any:
        from . import stats

        return stats.cumulative(self, "cummax", axis, skipna)

    def nlargest(self, n: int = 5, *args: Any, **kwargs: Any) -> Any:
        from . import stats

        return stats.nlargest(self, n, *args, **kwargs)

    def nsmallest(self, n: int = 5, *args: Any, **kwargs: Any) -> Any:
        from . import stats

        return stats.nsmallest(self, n, *args, **kwargs)

    def mode(self, **kwargs: Any) -> Any:
        from . import stats

        return stats.mode(self, **kwargs)

    def groupby(self, by: Any = None, **kwargs: Any) -> Any:
        """Group rows by columns, a Series or an expression (see plait.dataframe.groupby)."""
        from .groupby import groupby

        return groupby(self, by, **kwargs)

    # -- conversion ---------------------------------------------------------------------
    def to_delayed(self, optimize_graph: bool = True) -> list:
        """One Delayed value per partition."""
        from ..delayed import Delayed
        from .core import _cull

        graph = self.__plait_graph__()
        keys = self.__plait_keys__()
        if optimize_graph:
            graph = _cull(graph, keys)
        return [Delayed(k, graph) for k in keys]

    def to_dask_array(self, lengths: Any = None, meta: Any = None) -> Any:
        """The values as a plait array, one block per partition; ``lengths=True``
        computes the partition lengths so the array's chunks are known."""
        from .convert import to_array

        return to_array(self, lengths=lengths)

    to_plait_array = to_dask_array

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy ufuncs (``np.log(df.x)``) stay lazy: applied partition by partition."""
        if method != "__call__" or kwargs.get("out") is not None:
            return NotImplemented
        for x in inputs:
            if not (isinstance(x, (FrameBase, Scalar, Number, np.generic)) or
                    (isinstance(x, np.ndarray) and x.ndim == 0)):
                return NotImplemented
        if kwargs:
            return elemwise(_UfuncWithKwargs(ufunc, kwargs), *inputs)
        return elemwise(ufunc, *inputs)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.asarray(self.compute())
        return out.astype(dtype) if dtype is not None else out

    @property
    def values(self) -> Any:
        """The values as a plait array with unknown chunk lengths."""
        from .convert import to_array

        return to_array(self, lengths=None)

    def to_csv(self, filename: Any, **kwargs: Any) -> Any:
        """Write CSV files, one per partition or ``single_file=True`` (see
        :func:`plait.dataframe.to_csv`)."""
        from .io import to_csv

        return to_csv(self, filename, **kwargs)

    def to_json(self, url_path: Any, **kwargs: Any) -> Any:
        """Write JSON files, one per partition (see :func:`plait.dataframe.to_json`)."""
        from .io import to_json

        return to_json(self, url_path, **kwargs)

    def to_parquet(self, path: Any, **kwargs: Any) -> Any:
        """Write Parquet files, one per partition (see :func:`plait.dataframe.to_parquet`)."""
        from .io.parquet import to_parquet

        return to_parquet(self, path, **kwargs)

    # -- time series (plait/dataframe/timeseries.py, rolling.py, resample.py) -----------
    def shift(self, periods: int = 1, freq: Any = None, axis: Any = 0) -> Any:
        """Values ``periods`` rows later, across partitions (``freq``: move the index)."""
        from .timeseries import shift

        return shift(self, periods, freq=freq, axis=axis)

    def diff(self, periods: int = 1, axis: Any = 0) -> Any:
        """Difference with the row ``periods`` earlier, across partitions."""
        from .timeseries import diff

        return diff(self, periods, axis=axis)

    def rolling(self, window: Any, min_periods: Any = None, center: bool = False,
                win_type: Any = None, axis: Any = 0, closed: Any = None) -> Any:
        """Moving windows of a row count or a time span ("2h") (see ``rolling.py``)."""
        from .rolling import Rolling

        return Rolling(self, window, min_periods=min_periods, center=center,
                       win_type=win_type, axis=axis, closed=closed)

    def resample(self, rule: Any, closed: Any = None, label: Any = None,
                 origin: Any = "start_day", offset: Any = None, **kwargs: Any) -> Any:
        """Time-bin aggregations on a datetime index with known divisions."""
        from .resample import Resampler

        return Resampler(self, rule, closed=closed, label=label, origin=origin,
                         offset=offset, **kwargs)

    def sample(self, frac: float | None = None, replace: bool = False,
               random_state: Any = None, n: Any = None) -> Any:
        """A random fraction ``frac`` of the rows of every partition."""
        from .convert import sample

        return sample(self, frac=frac, replace=replace, random_state=random_state, n=n)

    # -- moving rows between partitions (shuffle.py, sorting.py, repartition.py) ---------
    def shuffle(self, on: Any = None, npartitions: int | None = None,
                shuffle_method: str | None = None, **kwargs: Any) -> Any:
        """Rows with equal ``on`` values gathered in one partition (hash shuffle)."""
        from .shuffle import shuffle

        return shuffle(self, on, npartitions=npartitions, shuffle_method=shuffle_method,
                       **kwargs)

    def sort_values(self, by: Any = None, ascending: Any = True, na_position: str = "last",
                    npartitions: int | None = None, shuffle_method: str | None = None,
                    **kwargs: Any) -> Any:
        """Sorted by ``by`` (see :mod:`plait.dataframe.sorting`)."""
        from .sorting import sort_values

        return sort_values(self, by, ascending=ascending, na_position=na_position,
                           npartitions=npartitions, shuffle_method=shuffle_method, **kwargs)

    def repartition(self, divisions: Any = None, npartitions: int | None = None,
                    partition_size: Any = None, freq: Any = None, force: bool = False) -> Any:
        """New partitions (see :mod:`plait.dataframe.repartition`)."""
        from .repartition import repartition

        return repartition(self, divisions=divisions, npartitions=npartitions,
                           partition_size=partition_size, freq=freq, force=force)

    def reset_index(self, drop: bool = False) -> Any:
        """The index as a column (each partition's new index counts from 0)."""
        from .repartition import reset_index

        return reset_index(self, drop=drop)

    def drop_duplicates(self, subset: Any = None, keep: Any = "first", split_out: Any = True,
                        shuffle_method: str | None = None, ignore_index: bool = False,
                        **kwargs: Any) -> Any:
        """Distinct rows (see :mod:`plait.dataframe.reshape`)."""
        from .reshape import drop_duplicates

        return drop_duplicates(self, subset=subset, keep=keep, split_out=split_out,
                               shuffle_method=shuffle_method, ignore_index=ignore_index,
                               **kwargs)


class _UfuncWithKwargs:
    __slots__ = ("kwargs", "ufunc")

    def __init__(self, ufunc: np.ufunc, kwargs: dict):
        self.ufunc = ufunc
        self.kwargs = kwargs

    def __call__(self, *args: Any) -> Any:
        return self.ufunc(*args, **self.kwargs)

    @property
    def __name__(self) -> str:
        return self.ufunc.__name__

    def __reduce__(self):
        return (_UfuncWithKwargs, (self.ufunc, self.kwargs))


class _Flex:
    """``a.<name>(b, **kwargs)``: pandas' named operators (``add(other,
    fill_value=0)``), applied partition by partition."""

    __slots__ = ("kwargs", "name")

    def __init__(self, name: str, kwargs: dict):
        self.name = name
        self.kwargs = kwargs

    def __call__(self, a: Any, b: Any) -> Any:
        return getattr(a, self.name)(b, **self.kwargs)

    @property
    def __name__(self) -> str:
        return self.name

    def __reduce__(self):
        return (_Flex, (self.name, self.kwargs))

    def __plait_tokenize__(self) -> Any:
        from ..tokenize import tokenize

        return ("flex", self.name, tokenize(self.kwargs))


_FLEX = ["add", "sub", "mul", "div", "truediv", "floordiv", "mod", "pow", "radd", "rsub",
         "rmul", "rdiv", "rtruediv", "rfloordiv", "rmod", "rpow", "lt", "gt", "le", "ge",
         "eq", "ne"]


def _make_flex(name: str) -> Callable:
    def method(self: Any, other: Any, axis: Any = "columns", level: Any = None,
               fill_value: Any = None) -> Any:
        if level is not None:
            raise NotImplementedError(f"{name}(level=...) is not supported")
        kwargs: dict = {}
        if fill_value is not None:
            kwargs["fill_value"] = fill_value
        if isinstance(self._meta, pd.DataFrame):
            if axis in (0, "index"):
                raise NotImplementedError(
                    f"{name}(axis='index') would align a Series with the rows of every "
                    "partition; write it with map_partitions, or use axis='columns'")
            kwargs["axis"] = "columns"
        if isinstance(other, (list, tuple)):
            other = np.asarray(other)
        return elemwise(_Flex(name, kwargs), self, other)

    method.__name__ = name
    method.__doc__ = f"``{name}`` as in pandas (element-wise, aligned on the index)."
    return method


def _bind_operators(cls: type) -> None:
    binary = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
              "truediv": operator.truediv, "floordiv": operator.floordiv,
              "mod": operator.mod, "pow": operator.pow, "and": operator.and_,
              "or": operator.or_, "xor": operator.xor}
    for name, op in binary.items():
        setattr(cls, f"__{name}__", _make_binop(op, False))
        setattr(cls, f"__r{name}__", _make_binop(op, True))
    for name, op in {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt,
                     "le": operator.le, "gt": operator.gt, "ge": operator.ge}.items():
        setattr(cls, f"__{name}__", _make_binop(op, False))
    for name, op in {"neg": operator.neg, "pos": operator.pos, "invert": operator.invert,
                     "abs": operator.abs}.items():
        setattr(cls, f"__{name}__", _make_unary(op))


def _make_binop(op: Callable, reflected: bool) -> Callable:
    def method(self: Any, other: Any) -> Any:
        return self._binop(op, other, reflected)

    method.__name__ = f"__{'r' if reflected else ''}{op.__name__.strip('_')}__"
    return method


def _make_unary(op: Callable) -> Callable:
    def method(self: Any) -> Any:
        return self._unary(op)

    method.__name__ = f"__{op.__name__.strip('_')}__"
    return method


_bind_operators(FrameBase)
_bind_operators(Scalar)
for _name in _FLEX:
    setattr(FrameBase, _name, _make_flex(_name))
FrameBase.__hash__ = _Base.__hash__  # type: ignore[method-assign]
Scalar.__hash__ = _Base.__hash__  # type: ignore[method-assign]


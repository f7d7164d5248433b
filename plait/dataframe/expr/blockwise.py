"""Partition-wise expressions: output partition i comes from partition i of the inputs.

These are the steps the lowering fuses: a chain (or small DAG) of them becomes one task
per partition. Arguments that are expressions with one partition, or scalars (a
reduction's result), are broadcast to every partition; other expression arguments are
aligned partition by partition.

Each node also says which of its input's columns it needs for the columns asked of it
(``_child_needs``), which is all the projection pushdown needs to know about it.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import pandas as pd

from ...graph import Ref, Task
from ..meta import emulate, is_pandas, make_meta
from .base import Expr, _exprs_in

__all__ = ["Blockwise", "MapPartitions", "Projection", "Filter", "Assign", "Elemwise",
           "PartitionMethod", "Astype", "Rename", "ALL", "no_default"]


class _All:
    """The projection pushdown's marker for "every column"."""

    def __repr__(self) -> str:
        return "ALL"


ALL: Any = _All()


class _NoDefault:
    def __repr__(self) -> str:
        return "no_default"

    def __reduce__(self):
        return "no_default"


no_default: Any = _NoDefault()


def _is_broadcast(dep: Expr, npartitions: int) -> bool:
    """Scalars, and one-partition results of reductions (unknown divisions), go to
    every partition whole."""
    if not is_pandas(dep._meta):
        return True
    return dep.npartitions == 1 and npartitions != 1 and not dep.known_divisions


def _to_task_arg(obj: Any, i: int, npartitions: int) -> Any:
    if isinstance(obj, Expr):
        return Ref((obj._name, 0 if _is_broadcast(obj, npartitions) else i))
    if type(obj) in (list, tuple):
        return type(obj)(_to_task_arg(o, i, npartitions) for o in obj)
    if type(obj) is dict:
        return {k: _to_task_arg(v, i, npartitions) for k, v in obj.items()}
    return obj


class In:
    """In a task template: the partition of expression ``name`` (partition 0 when
    ``broadcast``)."""

    __slots__ = ("name", "broadcast")

    def __init__(self, name: str, broadcast: bool):
        self.name = name
        self.broadcast = broadcast


class _PartValue:
    """In a task template: the node's own per-partition value (``_partition_value``)."""

    __slots__ = ()


PART: Any = _PartValue()


def _template_arg(obj: Any, npartitions: int) -> Any:
    if isinstance(obj, Expr):
        return In(obj._name, _is_broadcast(obj, npartitions))
    if type(obj) in (list, tuple):
        return type(obj)(_template_arg(o, npartitions) for o in obj)
    if type(obj) is dict:
        return {k: _template_arg(v, npartitions) for k, v in obj.items()}
    return obj


def _fill(obj: Any, i: int, node: "Blockwise") -> Any:
    t = type(obj)
    if t is In:
        return Ref((obj.name, 0 if obj.broadcast else i))
    if obj is PART:
        return node._partition_value(i)
    if t is list or t is tuple:
        return t(_fill(o, i, node) for o in obj)
    if t is dict:
        return {k: _fill(v, i, node) for k, v in obj.items()}
    return obj


def _metas(obj: Any) -> Any:
    if isinstance(obj, Expr):
        return obj._meta
    if type(obj) in (list, tuple):
        return type(obj)(_metas(o) for o in obj)
    if type(obj) is dict:
        return {k: _metas(v) for k, v in obj.items()}
    return obj


class Blockwise(Expr):
    """An expression computed partition by partition (see the module docstring)."""

    #: whether a row of the output depends only on the same row of the inputs
    #: (what predicate pushdown may move a filter through)
    _row_local = False

    def _operation(self) -> Callable:
        raise NotImplementedError

    def _call_args(self) -> tuple[list, dict]:
        """Positional and keyword arguments of the operation; expressions stand for
        their partitions."""
        raise NotImplementedError

    def _compute_meta(self) -> Any:
        args, kwargs = self._call_args()
        return emulate(self._operation(), *_metas(args), **_metas(kwargs))

    def _aligned(self) -> list:
        """The dependencies read partition by partition (not broadcast)."""
        deps = [d for d in self.dependencies() if d._meta is None or is_pandas(d._meta)]
        n = max((d.npartitions for d in deps), default=1)
        return [d for d in deps if d._meta is None or not _is_broadcast(d, n)]

    def _compute_divisions(self) -> tuple:
        aligned = self._aligned()
        if aligned:
            return aligned[0].divisions
        deps = [d for d in self.dependencies() if is_pandas(d._meta)]
        return deps[0].divisions if deps else (None, None)

    def _template(self) -> tuple:
        """``(operation, args, kwargs)`` with inputs as :class:`In` markers and the
        per-partition value as ``PART``; built once, filled in per partition."""
        t = self._cache.get("template")
        if t is None:
            args, kwargs = self._call_args()
            n = self.npartitions
            t = (self._operation(), _template_arg(list(args), n), _template_arg(dict(kwargs), n))
            self._cache["template"] = t
        return t

    def _partition_value(self, i: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no per-partition value")

    def _task(self, key: Any, i: int) -> Task:
        op, args, kwargs = self._template()
        return Task(key, op, *_fill(args, i, self), **_fill(kwargs, i, self))

    def _layer(self) -> dict:
        return {(self._name, i): self._task((self._name, i), i) for i in range(self.npartitions)}

    def _child_needs(self, needed: Any) -> dict:
        return {d._name: ALL for d in self.dependencies()}


# -- user functions ---------------------------------------------------------------------

def _apply_with_kwargs(func: Callable, kwargs: dict, *args: Any) -> Any:
    return func(*args, **kwargs)


class _CallWithKwargs:
    """``func(*args, **kwargs)`` with fixed kwargs (whose values may hold partitions)."""

    __slots__ = ("func",)

    def __init__(self, func: Callable):
        self.func = func

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    @property
    def __name__(self) -> str:
        return getattr(self.func, "__name__", type(self.func).__name__)

    def __reduce__(self):
        return (_CallWithKwargs, (self.func,))


class _EnforceNames(_CallWithKwargs):
    """Call ``func``, then give the result the column names (or Series name) that the
    user's ``meta=`` promised, as Dask does."""

    __slots__ = ("names",)

    def __init__(self, func: Callable, names: Any):
        self.func = func
        self.names = names

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        out = self.func(*args, **kwargs)
        if isinstance(out, pd.Series) and not isinstance(self.names, list):
            if out.name != self.names:
                out = out.rename(self.names)
        elif isinstance(out, pd.DataFrame) and isinstance(self.names, list):
            if list(out.columns) != self.names and len(out.columns) == len(self.names):
                out = out.set_axis(self.names, axis=1)
        return out

    def __reduce__(self):
        return (_EnforceNames, (self.func, self.names))


class MapPartitions(Blockwise):
    """``func(*args, **kwargs)`` on each partition; expression arguments are aligned
    partition by partition (one-partition ones and scalars are broadcast), other
    arguments are passed as they are.

    ``meta`` describes the output (inferred by running ``func`` on a sample when
    not given). ``divisions`` replaces the input's divisions (pass
    ``clear_divisions=True`` when ``func`` changes the index).
    """

    _parameters = ("func", "meta", "kwargs", "given_divisions", "clear_divisions",
                   "label_", "row_local")

    def __init__(self, func: Callable, *args: Any, meta: Any = no_default,
                 kwargs: dict | None = None, divisions: tuple | None = None,
                 clear_divisions: bool = False, label: str | None = None,
                 row_local: bool = False):
        if meta is not no_default and meta is not None:
            meta = make_meta(meta)
        self.operands = [func, meta, dict(kwargs or {}), divisions, clear_divisions,
                         label, row_local, *args]
        self._cache = {}

    @property
    def args(self) -> list:
        return self.operands[len(self._parameters):]

    @property
    def label(self) -> str:
        return self.operand("label_") or getattr(self.func, "__name__", "map-partitions").strip("_<>").replace("_", "-")

    @property
    def _row_local(self) -> bool:  # type: ignore[override]
        return self.row_local

    def _operation(self) -> Callable:
        meta = self.operand("meta")
        if meta is not no_default and meta is not None and is_pandas(meta):
            names = list(meta.columns) if isinstance(meta, pd.DataFrame) else meta.name
            return _EnforceNames(self.func, names)
        return _CallWithKwargs(self.func)

    def _call_args(self) -> tuple[list, dict]:
        return list(self.args), dict(self.kwargs)

    def _compute_meta(self) -> Any:
        meta = self.operand("meta")
        if meta is not no_default and meta is not None:
            return meta
        args, kwargs = self._call_args()
        return emulate(self.func, *_metas(args), udf=True, **_metas(kwargs))

    def _compute_divisions(self) -> tuple:
        given = self.given_divisions
        if given is not None:
            return tuple(given)
        divisions = super()._compute_divisions()
        if self.clear_divisions:
            return (None,) * len(divisions)
        return divisions

    def _tree_repr_args(self) -> list:
        return [f"func={getattr(self.func, '__name__', repr(self.func))}"]


# -- column selection, filters, assignment ------------------------------------------------

def _project(part: Any, columns: Any) -> Any:
    return part[columns]


class Projection(Blockwise):
    """``frame[columns]``: one column (a Series) or a list of them (a DataFrame)."""

    _parameters = ("frame", "columns_")
    _row_local = True

    def _operation(self) -> Callable:
        return _project

    def _call_args(self) -> tuple[list, dict]:
        cols = self.columns_
        return [self.frame, list(cols) if isinstance(cols, (list, tuple)) else cols], {}

    def _compute_meta(self) -> Any:
        cols = self.columns_
        return self.frame._meta[list(cols) if isinstance(cols, (list, tuple)) else cols]

    def _compute_divisions(self) -> tuple:
        return self.frame.divisions

    def _child_needs(self, needed: Any) -> dict:
        cols = self.columns_
        want = list(cols) if isinstance(cols, (list, tuple)) else [cols]
        if needed is not ALL and isinstance(cols, (list, tuple)):
            # (a row count needs no column: keep the first, as _narrow does)
            want = [c for c in want if c in needed] or want[:1]
        return {self.frame._name: want}

    def _narrow(self, needed: Any) -> Expr:
        """Keep only the needed columns of a list selection (its input was narrowed
        to them)."""
        cols = self.columns_
        if needed is ALL or not isinstance(cols, (list, tuple)):
            return self
        keep = [c for c in cols if c in needed] or list(cols)[:1]
        return self if keep == list(cols) else Projection(self.frame, keep)

    def _simplify(self) -> Expr | None:
        cols = self.columns_
        meta = self.frame._meta
        if isinstance(cols, (list, tuple)) and isinstance(meta, pd.DataFrame):
            if list(cols) == list(meta.columns) and meta.columns.is_unique:
                return self.frame
        if isinstance(self.frame, Projection) and isinstance(self.frame.columns_, (list, tuple)):
            # x[[a, b]][a] -> x[a]
            return Projection(self.frame.frame, cols)
        return None

    @property
    def label(self) -> str:
        return "getitem"


def _filter(part: Any, mask: Any) -> Any:
    return part[mask]


class Filter(Blockwise):
    """``frame[mask]`` with a boolean Series partitioned like ``frame``."""

    _parameters = ("frame", "predicate")
    _row_local = True

    def _operation(self) -> Callable:
        return _filter

    def _call_args(self) -> tuple[list, dict]:
        return [self.frame, self.predicate], {}

    def _compute_meta(self) -> Any:
        return self.frame._meta

    def _compute_divisions(self) -> tuple:
        return self.frame.divisions

    def _child_needs(self, needed: Any) -> dict:
        out = {d._name: ALL for d in self.dependencies()}
        out[self.frame._name] = needed
        if isinstance(self.predicate, Expr) and self.predicate._name == self.frame._name:
            out[self.frame._name] = ALL
        return out


def _assign(part: Any, *pairs: Any) -> Any:
    out = part.copy(deep=False)
    for k, v in zip(pairs[::2], pairs[1::2]):
        if isinstance(v, pd.Series) and isinstance(out, pd.DataFrame) and len(v) != len(out) and not out.index.equals(v.index):
            v = v.reindex(out.index)
        out[k] = v
    return out


class Assign(Blockwise):
    """``frame.assign(k1=v1, ...)``: values are expressions, scalars or arrays.

    Operands: the frame, then column names and values alternately.
    """

    _parameters = ("frame",)
    _row_local = True

    def __init__(self, frame: Expr, *pairs: Any):
        self.operands = [frame, *pairs]
        self._cache = {}

    @property
    def pairs(self) -> list:
        return list(zip(self.operands[1::2], self.operands[2::2]))

    def _operation(self) -> Callable:
        return _assign

    def _call_args(self) -> tuple[list, dict]:
        return list(self.operands), {}

    def _compute_meta(self) -> Any:
        args = [meta_of_value(a) for a in self.operands]
        return emulate(_assign, *args)

    def _compute_divisions(self) -> tuple:
        return self.frame.divisions

    def _child_needs(self, needed: Any) -> dict:
        out: dict = {}
        for k, v in self.pairs:
            if isinstance(v, Expr) and (needed is ALL or k in needed):
                out[v._name] = ALL
        names = [k for k, _ in self.pairs]
        if needed is ALL:
            out[self.frame._name] = ALL
        else:
            out[self.frame._name] = [c for c in needed if c not in names]
        return out

    def _narrow(self, needed: Any) -> Expr:
        if needed is ALL:
            return self
        kept = [(k, v) for k, v in self.pairs if k in needed]
        if len(kept) == len(self.pairs):
            return self
        if not kept:
            return self.frame
        return Assign(self.frame, *[x for kv in kept for x in kv])

    def _tree_repr_args(self) -> list:
        return ["columns=" + repr([k for k, _ in self.pairs])]


def meta_of_value(v: Any) -> Any:
    return v._meta if isinstance(v, Expr) else v


# -- element-wise operations ---------------------------------------------------------------

class Elemwise(Blockwise):
    """``op(*args)`` on aligned partitions: arithmetic, comparisons, logical ops, and
    other functions applied value by value (``operator.add``, ``operator.invert``...).
    """

    _parameters = ("op",)
    _row_local = True

    def __init__(self, op: Callable, *args: Any):
        self.operands = [op, *args]
        self._cache = {}

    @property
    def args(self) -> list:
        return self.operands[1:]

    @property
    def label(self) -> str:
        return getattr(self.op, "__name__", "elemwise").strip("_").replace("_", "-")

    def _operation(self) -> Callable:
        return self.op

    def _call_args(self) -> tuple[list, dict]:
        return list(self.args), {}

    def _compute_meta(self) -> Any:
        args = list(self.args)
        frames = [a for a in args if isinstance(a, Expr) and isinstance(a._meta, pd.DataFrame)]
        metas = [_metas(a) for a in args]
        if frames:
            # A Series broadcast against a DataFrame (``df - df.mean()``) is indexed by
            # column names: give its sample those labels so pandas aligns it the same way.
            # (pandas aligns a Series with a DataFrame's columns in any case.)
            cols = frames[0]._meta.columns
            for i, a in enumerate(args):
                if isinstance(a, Expr) and isinstance(a._meta, pd.Series) and len(cols):
                    from ..meta import _sample_values

                    metas[i] = pd.Series(_sample_values(a._meta.dtype, len(cols)), index=cols,
                                         name=a._meta.name)
        return emulate(self.op, *metas)

    def _child_needs(self, needed: Any) -> dict:
        out: dict = {}
        for d in self.dependencies():
            if isinstance(d._meta, pd.DataFrame) and isinstance(self._meta, pd.DataFrame):
                out[d._name] = needed if needed is ALL else [c for c in needed if c in d.columns]
            else:
                out[d._name] = ALL
        return out

    def _tree_repr_args(self) -> list:
        lits = [repr(a) for a in self.args if not isinstance(a, Expr)]
        return [f"op={self.label}"] + ([f"other={', '.join(lits)[:40]}"] if lits else [])


def _call_method(part: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    return getattr(part, method)(*args, **kwargs)


class PartitionMethod(Blockwise):
    """``getattr(frame, method)(*args, **kwargs)`` on every partition.

    ``column_local=True`` says each output column depends only on the same input
    column, so the projection pushdown may move column selections through it.
    """

    _parameters = ("frame", "method", "args", "kwargs", "column_local", "row_local_")
    _defaults = {"args": (), "kwargs": None, "column_local": False, "row_local_": True}

    @property
    def _row_local(self) -> bool:  # type: ignore[override]
        return self.row_local_

    @property
    def label(self) -> str:
        return self.method.replace("_", "-")

    def _operation(self) -> Callable:
        return _call_method

    def _call_args(self) -> tuple[list, dict]:
        return [self.frame, self.method, *self.args], dict(self.kwargs or {})

    def _compute_divisions(self) -> tuple:
        return self.frame.divisions

    def _child_needs(self, needed: Any) -> dict:
        out = {d._name: ALL for d in self.dependencies()}
        if self.column_local and isinstance(self.frame._meta, pd.DataFrame):
            out[self.frame._name] = needed
        return out

    def _tree_repr_args(self) -> list:
        out = [f"method={self.method}"]
        if self.args:
            out.append(f"args={self.args!r}"[:60])
        if self.kwargs:
            out.append(f"kwargs={self.kwargs!r}"[:60])
        return out


def _astype(part: Any, dtype: Any) -> Any:
    if isinstance(dtype, dict):
        dtype = {k: v for k, v in dtype.items() if k in part.columns}
    return part.astype(dtype)


class Astype(Blockwise):
    """``frame.astype(dtype)``; a dict of dtypes applies to the columns present."""

    _parameters = ("frame", "dtype")
    _row_local = True

    def _operation(self) -> Callable:
        return _astype

    def _call_args(self) -> tuple[list, dict]:
        return [self.frame, self.dtype], {}

    def _compute_divisions(self) -> tuple:
        return self.frame.divisions

    def _child_needs(self, needed: Any) -> dict:
        return {self.frame._name: needed if isinstance(self.frame._meta, pd.DataFrame) else ALL}

    def _simplify(self) -> Expr | None:
        before = self.frame._meta
        after = self._meta
        if isinstance(before, pd.DataFrame):
            same = before.dtypes.equals(after.dtypes) and list(before.columns) == list(after.columns)
        else:
            same = before.dtype == after.dtype
        return self.frame if same else None


def _rename_columns(part: Any, mapping: dict) -> Any:
    return part.rename(columns=mapping)


class Rename(Blockwise):
    """``frame.rename(columns=mapping)`` (a dict)."""

    _parameters = ("frame", "mapping")
    _row_local = True

    def _operation(self) -> Callable:
        return _rename_columns

    def _call_args(self) -> tuple[list, dict]:
        return [self.frame, self.mapping], {}

    def _compute_divisions(self) -> tuple:
        return self.frame.divisions

    def _child_needs(self, needed: Any) -> dict:
        if needed is ALL:
            return {self.frame._name: ALL}
        inverse = {v: k for k, v in self.mapping.items()}
        return {self.frame._name: [inverse.get(c, c) for c in needed]}

    def _simplify(self) -> Expr | None:
        if all(k == v for k, v in self.mapping.items()):
            return self.frame
        return None


def rowwise_ops() -> tuple:
    return (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge)


def exprs_in(obj: Any) -> list:
    out: list = []
    _exprs_in(obj, out)
    return out

"""Partition-wise expressions: output partition i comes from partition i of the inputs.

These are the steps the lowering fuses: a chain (or small DAG) of them becomes one task
per partition. Arguments that are expressions with one partition, or scalars (a
reduction's result), are broadcast to every partition; other expression arguments are
aligned partition by partition. Each node describes its work once, as a template
(``_template``) that the lowering fills in per partition.

The column-aware steps (selection, filters, assignment, element-wise operations) are in
``columns.py``; user functions (:class:`MapPartitions`) are here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from ...graph import Ref, Task
from ..meta import emulate, is_pandas, make_meta
from .base import Expr

__all__ = ["ALL", "PART", "Blockwise", "In", "MapPartitions", "no_default"]


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

    __slots__ = ("broadcast", "name")

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


def _fill(obj: Any, i: int, node: Blockwise) -> Any:
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

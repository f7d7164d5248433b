"""Partition-wise steps that the optimizer understands column by column: selection,
filters, assignment, element-wise operations, pandas methods, astype and rename.

Each says which of its input's columns it needs for the columns asked of it
(``_child_needs``) and, where it names columns, how to narrow itself (``_narrow``);
the projection pushdown needs nothing else.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import pandas as pd

from ..meta import emulate
from .base import Expr, _exprs_in
from .blockwise import ALL, Blockwise, _metas

__all__ = [
    "Assign",
    "Astype",
    "Elemwise",
    "Filter",
    "PartitionMethod",
    "Projection",
    "Rename",
    "exprs_in",
    "meta_of_value",
]


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

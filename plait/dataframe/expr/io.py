"""Leaf expressions: where partitions come from.

:class:`FromParts` is the one reader node every input source builds on (CSV, JSON,
``from_map``, datasets): ``reader(part, columns=..., filters=...)`` makes partition i from
``parts[i]``, so the optimizer can narrow ``columns`` (projection pushdown) and fill
``filters`` (predicate pushdown) for every reader at once. :class:`FromPandas` slices an
in-memory pandas object; :class:`FromGraph` wraps tasks that already exist (persisted
results, delayed values).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from ...graph import Alias
from ...tokenize import tokenize
from .base import Expr
from .blockwise import ALL, PART, Blockwise

__all__ = ["FILTER_OPS", "FromGraph", "FromPandas", "FromParts", "apply_filters"]

FILTER_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")


def apply_filters(frame: pd.DataFrame, filters: list | None) -> pd.DataFrame:
    """Rows of ``frame`` satisfying every ``(column, op, value)`` triple.

    A reader that cannot use filters itself may call this on what it read.

    >>> df = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    >>> apply_filters(df, [("x", ">", 1), ("y", "in", ["b"])])
       x  y
    1  2  b
    """
    if not filters:
        return frame
    mask = None
    for col, op, value in filters:
        s = frame[col]
        if op == "==":
            m = s == value
        elif op == "!=":
            m = s != value
        elif op == "<":
            m = s < value
        elif op == "<=":
            m = s <= value
        elif op == ">":
            m = s > value
        elif op == ">=":
            m = s >= value
        elif op == "in":
            m = s.isin(list(value))
        elif op == "not in":
            m = ~s.isin(list(value))
        else:
            raise ValueError(f"unknown filter operator {op!r} in {(col, op, value)!r}; "
                             f"use one of {', '.join(FILTER_OPS)}")
        mask = m if mask is None else mask & m
    return frame[mask.fillna(False).astype(bool)]


class _ReadPart:
    """Calls ``reader(part, columns=..., filters=...)`` and checks what came back."""

    __slots__ = ("columns", "filters", "reader")

    def __init__(self, reader: Callable, columns: list | None, filters: list | None):
        self.reader = reader
        self.columns = columns
        self.filters = filters

    def __call__(self, part: Any) -> Any:
        kwargs: dict = {"columns": self.columns}
        if self.filters:
            kwargs["filters"] = self.filters
        else:
            kwargs["filters"] = None
        return self.reader(part, **kwargs)

    @property
    def __name__(self) -> str:
        return getattr(self.reader, "__name__", "read")

    def __reduce__(self):
        return (_ReadPart, (self.reader, self.columns, self.filters))


class FromParts(Blockwise):
    """One partition per item of ``parts``: ``reader(parts[i], columns=columns,
    filters=filters)``.

    ``meta`` describes a partition with all columns; ``columns`` (None: all) is what
    the reader must return, ``filters`` a list of ``(column, op, value)`` triples the
    reader may apply. The optimizer fills ``filters`` only when
    ``reader.supports_filters`` is true, and keeps the filter step above unless
    ``reader.filters_exact`` is also true.
    """

    _parameters = ("reader", "parts", "meta", "divisions_", "columns_", "filters", "label_")
    _defaults = {"divisions_": None, "columns_": None, "filters": None, "label_": None}
    _row_local = True

    def __init__(self, reader: Callable, parts: Any, meta: Any, divisions: tuple | None = None,
                 columns: list | None = None, filters: list | None = None,
                 label: str | None = None):
        parts = list(parts)
        if divisions is not None and len(divisions) != len(parts) + 1:
            raise ValueError(f"FromParts: {len(parts)} parts need {len(parts) + 1} "
                             f"divisions, got {len(divisions)}")
        if columns is not None and not isinstance(columns, list):
            columns = list(columns)
        self.operands = [reader, parts, meta, None if divisions is None else tuple(divisions),
                         columns, None if not filters else list(filters), label]
        self._cache = {}

    @property
    def label(self) -> str:
        return self.label_ or getattr(self.reader, "__name__", "from-parts").replace("_", "-")

    @property
    def supports_filters(self) -> bool:
        return bool(getattr(self.reader, "supports_filters", False))

    def dependencies(self) -> list:
        return []  # a source: its (long) lists of parts are not searched for inputs

    def replace_dependencies(self, mapping: dict) -> Expr:
        return self

    def _compute_meta(self) -> Any:
        meta = self.meta
        if self.columns_ is not None and isinstance(meta, pd.DataFrame):
            return meta[self.columns_]
        return meta

    def _compute_divisions(self) -> tuple:
        if self.divisions_ is not None:
            return self.divisions_
        return (None,) * (len(self.parts) + 1)

    def _operation(self) -> Callable:
        return _ReadPart(self.reader, self.columns_, self.filters)

    def _call_args(self) -> tuple[list, dict]:
        return [PART], {}

    def _partition_value(self, i: int) -> Any:
        return self.parts[i]

    def _child_needs(self, needed: Any) -> dict:
        return {}

    def _narrow(self, needed: Any) -> Expr:
        if needed is ALL or not isinstance(self.meta, pd.DataFrame):
            return self
        current = self.columns_ if self.columns_ is not None else list(self.meta.columns)
        keep = [c for c in current if c in set(needed)]
        if not keep and current:
            keep = current[:1]  # a row count still needs rows: read the first column
        if keep == current:
            return self
        return self.with_columns(keep)

    def with_columns(self, columns: list | None) -> FromParts:
        ops = list(self.operands)
        ops[4] = columns
        return self.substitute_operands(ops)

    def with_filters(self, filters: list | None) -> FromParts:
        ops = list(self.operands)
        ops[5] = list(filters) if filters else None
        return self.substitute_operands(ops)

    def with_parts(self, indices: list) -> FromParts:
        ops = list(self.operands)
        ops[1] = [self.parts[i] for i in indices]
        if self.divisions_ is not None:
            ops[3] = _sub_divisions(self.divisions_, indices)
        return self.substitute_operands(ops)

    def _tree_repr_args(self) -> list:
        out = [f"reader={self.label}", f"npartitions={len(self.parts)}"]
        if self.columns_ is not None:
            out.append(f"columns={self.columns_!r}")
        if self.filters:
            out.append(f"filters={self.filters!r}")
        return out


def _sub_divisions(divisions: tuple, indices: list) -> tuple:
    """Divisions of the partitions ``indices`` (consecutive or not) of ``divisions``."""
    if not indices:
        return (None, None)
    if divisions[0] is None:
        return (None,) * (len(indices) + 1)
    if list(indices) == list(range(indices[0], indices[-1] + 1)):
        return tuple(divisions[indices[0]:indices[-1] + 2])
    return (None,) * (len(indices) + 1)


def _piece(frame: Any, columns: Any) -> Any:
    return frame if columns is None else frame[columns]


class FromPandas(Blockwise):
    """Partitions sliced from an in-memory pandas object at row ``locations``."""

    _parameters = ("frame", "locations", "divisions_", "columns_", "selected", "frame_token")
    _defaults = {"columns_": None, "selected": None, "frame_token": None}
    _row_local = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.operands[5] is None:
            # hash the data once; rewrites of this node reuse the token
            self.operands[5] = tokenize(self.operands[0])

    @property
    def label(self) -> str:
        return "from-pandas"

    @property
    def _name(self) -> str:
        name = self._cache.get("name")
        if name is None:
            name = f"from-pandas-{tokenize(*self.operands[1:])}"
            self._cache["name"] = name
        return name

    def dependencies(self) -> list:
        return []  # a source: its (long) lists of parts are not searched for inputs

    def replace_dependencies(self, mapping: dict) -> Expr:
        return self

    def _compute_meta(self) -> Any:
        meta = self.frame.iloc[:0]
        if self.columns_ is not None:
            meta = meta[self.columns_]
        return meta

    def _indices(self) -> list:
        out = self._cache.get("indices")
        if out is None:
            out = list(self.selected) if self.selected is not None else \
                list(range(len(self.locations) - 1))
            self._cache["indices"] = out
        return out

    def _compute_divisions(self) -> tuple:
        if self.selected is None:
            return self.divisions_
        return _sub_divisions(self.divisions_, list(self.selected))

    def _operation(self) -> Callable:
        return _piece

    def _call_args(self) -> tuple[list, dict]:
        return [PART, None], {}

    def _partition_value(self, i: int) -> Any:
        # each task holds only its own rows and columns (what a process pool ships)
        frame = self._cache.get("selected_frame")
        if frame is None:
            frame = self.frame if self.columns_ is None else self.frame[self.columns_]
            self._cache["selected_frame"] = frame
        j = self._indices()[i]
        return frame.iloc[self.locations[j]:self.locations[j + 1]]

    def _child_needs(self, needed: Any) -> dict:
        return {}

    def _narrow(self, needed: Any) -> Expr:
        if needed is ALL or not isinstance(self.frame, pd.DataFrame):
            return self
        current = self.columns_ if self.columns_ is not None else list(self.frame.columns)
        keep = [c for c in current if c in set(needed)] or current[:1]
        if keep == current:
            return self
        ops = list(self.operands)
        ops[3] = keep
        return self.substitute_operands(ops)

    def with_parts(self, indices: list) -> FromPandas:
        ops = list(self.operands)
        ops[4] = [self._indices()[i] for i in indices]
        return self.substitute_operands(ops)

    def _tree_repr_args(self) -> list:
        out = [f"npartitions={self.npartitions}"]
        if self.columns_ is not None:
            out.append(f"columns={self.columns_!r}")
        return out


class FromGraph(Expr):
    """Partitions that are keys of an existing graph (persisted or delayed values).

    ``keys[i]`` is the key holding partition i; the layer aliases them to this
    expression's own keys unless they already are.
    """

    _parameters = ("graph", "keys", "meta", "divisions_", "name_")

    def dependencies(self) -> list:
        return []  # a source: its (long) lists of parts are not searched for inputs

    def replace_dependencies(self, mapping: dict) -> Expr:
        return self

    def _compute_meta(self) -> Any:
        return self.meta

    def _compute_divisions(self) -> tuple:
        return self.divisions_

    @property
    def _name(self) -> str:
        return self.name_

    def _layer(self) -> dict:
        layer = dict(self.graph)
        for i, k in enumerate(self.keys):
            if k != (self._name, i):
                layer[(self._name, i)] = Alias((self._name, i), k)
        return layer

    def _child_needs(self, needed: Any) -> dict:
        return {}

    def _tree_repr_args(self) -> list:
        return [f"npartitions={len(self.keys)}"]


class Literal(Expr):
    """A value known when the plan is built (a row count read off the partition
    boundaries of an in-memory frame)."""

    _parameters = ("value",)

    def dependencies(self) -> list:
        return []  # a value, however long, holds no expressions: never searched

    def replace_dependencies(self, mapping: dict) -> Expr:
        return self

    def _compute_meta(self) -> Any:
        return self.value

    def _tree_repr_args(self) -> list:
        return [f"{type(self.value).__name__}"
                + (f" of {len(self.value)}" if hasattr(self.value, "__len__") else "")]

    def _compute_divisions(self) -> tuple:
        return (None, None)

    def _layer(self) -> dict:
        from ...graph import Data

        return {(self._name, 0): Data((self._name, 0), self.value)}

    def _child_needs(self, needed: Any) -> dict:
        return {}

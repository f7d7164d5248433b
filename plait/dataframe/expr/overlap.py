"""Partition-wise steps that need rows from neighbouring partitions.

:class:`MapOverlap` runs ``func`` on partition i with rows of the partitions before
(and after) it prepended (appended), then keeps only the rows that came from
partition i. How many rows are borrowed is ``before`` / ``after``: a row count, or a
time span (a ``Timedelta``) on a sorted datetime index.

A window may reach back over several partitions (small or empty ones), so borrowed
rows are carried along a chain: ``edge(j)`` is the last ``before`` rows (or span) of
partition j, and ``carry(i) = trim(carry(i - 1) + edge(i - 1))``; the chain holds only
these small edges, never whole partitions. Rows after a partition are carried the
same way from the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from ...graph import Ref, Task
from .base import Expr

__all__ = ["MapOverlap"]


def _tail(part: Any, before: Any) -> Any:
    if isinstance(before, int):
        return part.iloc[len(part) - before:] if before < len(part) else part
    if not len(part):
        return part
    return part[part.index > part.index[-1] - before]


def _head(part: Any, after: Any) -> Any:
    if isinstance(after, int):
        return part.iloc[:after]
    if not len(part):
        return part
    return part[part.index < part.index[0] + after]


def _carry_back(prev: Any, edge: Any, before: Any) -> Any:
    """The rows before the next partition that a window there may reach."""
    if prev is None or not len(prev):
        return edge
    if not len(edge):
        return prev
    return _tail(pd.concat([prev, edge]), before)


def _carry_forward(nxt: Any, edge: Any, after: Any) -> Any:
    if nxt is None or not len(nxt):
        return edge
    if not len(edge):
        return nxt
    return _head(pd.concat([edge, nxt]), after)


def _run(func: Callable, args: tuple, kwargs: dict, part: Any, prev: Any, nxt: Any) -> Any:
    pieces = [p for p in (prev, part, nxt) if p is not None and len(p)]
    start = 0 if prev is None else len(prev)
    whole = pd.concat(pieces) if len(pieces) > 1 else (pieces[0] if pieces else part)
    out = func(whole, *args, **kwargs)
    if whole is part:
        return out
    return out.iloc[start:start + len(part)]


class MapOverlap(Expr):
    """``func(partition with neighbours' rows, *args, **kwargs)`` trimmed back to the
    partition's own rows; ``func`` must return one row per input row, in order."""

    _parameters = ("frame", "func", "before", "after", "args", "kwargs", "meta", "label_",
                   "divisions_", "column_wise")
    _defaults = {"args": (), "kwargs": None, "label_": None,  # noqa: RUF012
                 "divisions_": None, "column_wise": False}

    @property
    def label(self) -> str:
        return self.label_ or "map-overlap"

    def _compute_meta(self) -> Any:
        return self.meta

    def _compute_divisions(self) -> tuple:
        return self.divisions_ if self.divisions_ is not None else self.frame.divisions

    def _keep(self, needed: Any) -> list | None:
        """Input columns to keep when only ``needed`` output columns are used (each
        output column comes from the same input column), or None."""
        from .blockwise import ALL

        meta, src = self.meta, self.frame._meta
        if needed is ALL or not self.column_wise or not isinstance(meta, pd.DataFrame) \
                or not isinstance(src, pd.DataFrame) \
                or list(meta.columns) != list(src.columns):
            return None
        return [c for c in src.columns if c in set(needed)] or list(src.columns[:1])

    def _child_needs(self, needed: Any) -> dict:
        from .blockwise import ALL

        keep = self._keep(needed)
        return {self.frame._name: ALL if keep is None else keep}

    def _narrow(self, needed: Any) -> Expr:
        from .columns import Projection

        keep = self._keep(needed)
        if keep is None or keep == list(self.meta.columns):
            return self
        ops = list(self.operands)
        ops[0] = Projection(self.frame, keep)
        ops[6] = self.meta[keep]
        return self.substitute_operands(ops)

    def _layer(self) -> dict:
        name, src, n = self._name, self.frame._name, self.frame.npartitions
        before, after = self.before, self.after
        kwargs = self.kwargs or {}
        layer: dict = {}
        if before:
            for j in range(n - 1):
                layer[("edge-back-" + name, j)] = Task(("edge-back-" + name, j), _tail,
                                                      Ref((src, j)), before)
                prev = Ref(("carry-back-" + name, j - 1)) if j else None
                layer[("carry-back-" + name, j)] = Task(
                    ("carry-back-" + name, j), _carry_back, prev,
                    Ref(("edge-back-" + name, j)), before)
        if after:
            for j in range(1, n):
                layer[("edge-fwd-" + name, j)] = Task(("edge-fwd-" + name, j), _head,
                                                     Ref((src, j)), after)
            for j in range(n - 1, 0, -1):
                nxt = Ref(("carry-fwd-" + name, j + 1)) if j < n - 1 else None
                layer[("carry-fwd-" + name, j)] = Task(
                    ("carry-fwd-" + name, j), _carry_forward, nxt,
                    Ref(("edge-fwd-" + name, j)), after)
        for i in range(n):
            prev = Ref(("carry-back-" + name, i - 1)) if before and i else None
            nxt = Ref(("carry-fwd-" + name, i + 1)) if after and i < n - 1 else None
            layer[(name, i)] = Task((name, i), _run, self.func, tuple(self.args), kwargs,
                                    Ref((src, i)), prev, nxt)
        return layer

    def _tree_repr_args(self) -> list:
        return [f"func={getattr(self.func, '__name__', repr(self.func))}",
                f"before={self.before!r}", f"after={self.after!r}"]

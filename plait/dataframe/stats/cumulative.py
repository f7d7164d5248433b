"""Running totals: ``cumsum``, ``cumprod``, ``cummin``, ``cummax``.

Partition i computes its own running op; a chain of small tasks carries the total of
partitions ``0..i-1`` (each partition's last running value folded into the carry), and
partition i's output is its running values folded with that carry. NaN stays NaN where
pandas keeps it (``skipna=True``), and a NaN carry poisons what follows with
``skipna=False``, as in pandas. ``axis=1`` runs across columns inside each partition.

>>> import pandas as pd
>>> parts = [pd.Series([1, 2]), pd.Series([3, 4])]
>>> runs = [p.cumsum() for p in parts]
>>> carry = _fold(None, _last(runs[0], "cumsum", True), "cumsum", True)
>>> _apply_carry(runs[1], carry, "cumsum", True).tolist()
[6, 10]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ...graph import Ref, Task
from ..expr import Expr
from ..expr.blockwise import ALL

__all__ = ["Cumulative", "cumulative"]

_OPS = ("cumsum", "cumprod", "cummin", "cummax")


def _run(part: Any, op: str, skipna: bool) -> Any:
    return getattr(part, op)(skipna=skipna)


def _last(run: Any, op: str, skipna: bool) -> Any:
    """The value a partition hands on: its last running value (per column, as a dict,
    so each column keeps its dtype). With skipna=True a trailing NaN is not the
    running value: take the last non-NaN one."""
    if len(run) == 0:
        return None
    if isinstance(run, pd.DataFrame):
        return {c: _last(run[c], op, skipna) for c in run.columns}
    if skipna:
        valid = run.dropna()
        return valid.iloc[-1] if len(valid) else np.nan
    return run.iloc[-1]


def _combine2(a: Any, b: Any, op: str, skipna: bool) -> Any:
    if op == "cumsum":
        return a + b
    if op == "cumprod":
        return a * b
    with np.errstate(invalid="ignore"):
        if isinstance(a, pd.Series):
            # pandas' own comparisons keep datetimes and extension dtypes intact
            pick = a.le(b) if op == "cummin" else a.ge(b)
            return a.where(pick | a.isna(), b)  # NaN rows stay NaN
        return min(a, b) if op == "cummin" else max(a, b)


def _fold(carry: Any, last: Any, op: str, skipna: bool) -> Any:
    """Carry after one more partition (None means nothing seen yet)."""
    if last is None:
        return carry
    if carry is None:
        return last
    if isinstance(last, dict):
        return {c: _fold(carry[c], last[c], op, skipna) for c in last}
    if pd.isna(carry) or pd.isna(last):
        if skipna:  # NaN here means "no value yet": keep the other
            return last if pd.isna(carry) else carry
        return carry if pd.isna(carry) else last  # NaN poisons what follows
    return _combine2(carry, last, op, skipna)


def _apply_carry(run: Any, carry: Any, op: str, skipna: bool) -> Any:
    if carry is None or len(run) == 0:
        return run
    if isinstance(run, pd.DataFrame):
        out = run.copy()
        for i, c in enumerate(run.columns):
            out.isetitem(i, _apply_carry(run[c], carry[c], op, skipna))
        return out
    if pd.isna(carry):
        # skipna: nothing seen yet; otherwise a NaN earlier poisons every later row
        return run if skipna else run.where(pd.Series(False, index=run.index))
    out = _combine2(run, carry, op, skipna)
    if skipna:
        out = out.mask(run.isna())  # rows that are NaN stay NaN
    return out


class Cumulative(Expr):
    """A running ``op`` down the rows of ``frame`` (see the module docstring)."""

    _parameters = ("frame", "op", "skipna")
    _label = "cumulative"

    @property
    def label(self) -> str:
        return self.op

    def _compute_meta(self) -> Any:
        return _run(self.frame._meta, self.op, self.skipna)

    def _compute_divisions(self) -> tuple:
        return self.frame.divisions

    def _child_needs(self, needed: Any) -> dict:
        return {self.frame._name: ALL}

    def _layer(self) -> dict:
        name, src = self._name, self.frame._name
        op, skipna = self.op, self.skipna
        layer: dict = {}
        carry_key = None
        for i in range(self.frame.npartitions):
            run_key = (f"{name}-run", i)
            layer[run_key] = Task(run_key, _run, Ref((src, i)), op, skipna)
            out = (name, i)
            layer[out] = Task(out, _apply_carry, Ref(run_key),
                              Ref(carry_key) if carry_key else None, op, skipna)
            last_key = (f"{name}-last", i)
            layer[last_key] = Task(last_key, _last, Ref(run_key), op, skipna)
            new_carry = (f"{name}-carry", i)
            layer[new_carry] = Task(new_carry, _fold,
                                    Ref(carry_key) if carry_key else None,
                                    Ref(last_key), op, skipna)
            carry_key = new_carry
        return layer


def _row_run(part: Any, op: str, skipna: bool) -> Any:
    return getattr(part, op)(axis=1, skipna=skipna)


def cumulative(obj: Any, op: str, axis: Any = None, skipna: bool = True) -> Any:
    """``obj.<op>()`` for op in cumsum/cumprod/cummin/cummax, down the rows (axis 0) or
    across the columns (axis 1, partition-wise)."""
    from ..core import new_collection
    from ..expr import MapPartitions

    if op not in _OPS:
        raise ValueError(f"unknown cumulative op {op!r}; expected one of {_OPS}")
    if axis in (1, "columns"):
        meta = getattr(obj._meta, op)(axis=1, skipna=skipna)
        return new_collection(MapPartitions(_row_run, obj.expr, op, skipna, meta=meta,
                                            label=op))
    if axis not in (None, 0, "index"):
        raise ValueError(f"axis must be 0 or 1, got {axis!r}")
    meta = obj._meta
    if isinstance(meta, pd.DataFrame):
        bad = [c for c, d in meta.dtypes.items() if getattr(d, "kind", "O") not in "biufcmM"]
        if bad and op in ("cumsum", "cumprod"):
            raise TypeError(f"{op} of the non-numeric columns {bad}; select numeric "
                            f"columns first")
    return new_collection(Cumulative(obj.expr, op, skipna))

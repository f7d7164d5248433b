"""Aligning collections with known but different divisions: both are cut at the union
of their division boundaries, so partition i of each covers the same index range and
element-wise work can proceed partition by partition."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..graph import Ref, Task
from .expr.base import Expr
from .meta import is_pandas

__all__ = ["RepartitionDivisions", "align_partitions"]


def _cut(parts: list, bounds: list, lo: Any, hi: Any, last: bool) -> Any:
    pieces = []
    for part, (plo, phi) in zip(parts, bounds):
        idx = part.index
        mask = (idx >= lo) & ((idx <= hi) if last else (idx < hi))
        pieces.append(part[mask])
    if len(pieces) == 1:
        return pieces[0]
    return pd.concat(pieces)


class RepartitionDivisions(Expr):
    """``frame`` cut at new division boundaries (a refinement of, or the same range
    as, the old ones)."""

    _parameters = ("frame", "new_divisions")

    @property
    def label(self) -> str:
        return "repartition"

    def _compute_meta(self) -> Any:
        return self.frame._meta

    def _compute_divisions(self) -> tuple:
        return tuple(self.new_divisions)

    def _child_needs(self, needed: Any) -> dict:
        return {self.frame._name: needed}

    def _layer(self) -> dict:
        old = self.frame.divisions
        new = self.new_divisions
        n_old = len(old) - 1
        layer = {}
        for j in range(len(new) - 1):
            lo, hi = new[j], new[j + 1]
            last = j == len(new) - 2
            sources = []
            for i in range(n_old):
                a, b = old[i], old[i + 1]
                old_last = i == n_old - 1
                # partition i holds [a, b) (the last one [a, b]); the target is [lo, hi)
                if a > hi or (a == hi and not last):
                    continue
                if b < lo or (b == lo and not old_last):
                    continue
                sources.append(i)
            key = (self._name, j)
            refs = [Ref((self.frame._name, i)) for i in sources]
            bounds = [(old[i], old[i + 1]) for i in sources]
            if not refs:
                layer[key] = Task(key, _empty_like, self.frame._meta)
            else:
                layer[key] = Task(key, _cut, refs, bounds, lo, hi, last)
        return layer


def _empty_like(meta: Any) -> Any:
    return meta


def align_partitions(exprs: list) -> list:
    """``exprs`` with every multi-partition pandas operand cut at the union of all
    their divisions."""
    frames = [e for e in exprs if isinstance(e, Expr) and is_pandas(e._meta)
              and (e.npartitions > 1 or e.known_divisions)]
    bounds = sorted({d for e in frames for d in e.divisions})
    out = []
    for e in exprs:
        if any(e is f for f in frames) and tuple(e.divisions) != tuple(bounds):
            e = RepartitionDivisions(e, tuple(bounds))
        out.append(e)
    return out

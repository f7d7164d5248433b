"""``merge_asof``: every left row takes the nearest right row by key, across partitions.

Both sides must be sorted by their keys (a column, or the index). The key range of
each partition is read first (from the divisions when joining on indexes with known
divisions); then each left partition is matched against the right partitions that
overlap its range, plus the boundary rows (last or first per ``by`` group) of the
right partitions before or after it, so no row moves between partitions.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..graph import Ref, Task
from .expr.base import Expr
from .expr.blockwise import ALL
from .merge import _as_frame
from .meta import make_meta

__all__ = ["MergeAsof", "merge_asof"]


def _asof_key(part: Any, on: Any) -> pd.Series:
    return part.index.to_series() if on is None else part[on]


def _edge_rows(part: Any, on: Any, by: Any, last: bool) -> Any:
    """The last (or first) row of ``part`` per ``by`` group (or overall)."""
    if len(part) == 0:
        return part
    if by is None:
        return part.iloc[-1:] if last else part.iloc[:1]
    return part[~part.duplicated(subset=by, keep="last" if last else "first")]


def _range(part: Any, on: Any) -> pd.DataFrame:
    k = _asof_key(part, on).dropna()
    if len(k) == 0:
        return pd.DataFrame({"lo": k.iloc[:0], "hi": k.iloc[:0], "n": pd.Series([], dtype="int64")})
    return pd.DataFrame({"lo": [k.iloc[0]], "hi": [k.iloc[-1]], "n": [len(k)]})


def _asof_parts(kwargs: dict, on: Any, left: Any, *rights: Any) -> Any:
    from .core import _concat

    kwargs = dict(kwargs)  # shared by the tasks of every partition
    right_meta = kwargs.pop("__right_meta")
    rights = [r for r in rights if len(r)]
    right = _concat(rights) if rights else None
    if right is None:
        right = right_meta
    else:
        # candidates come from several partitions: restore global key order
        right = right.sort_index(kind="stable") if on is None else \
            right.sort_values(on, kind="stable")
    return pd.merge_asof(left, right, **kwargs)


class MergeAsof(Expr):
    """Left partition i ``merge_asof``-ed with the right rows it can match: the right
    partitions overlapping its key range, plus the edge rows (last or first per group)
    of the right partitions before or after it."""

    _parameters = ("left", "right", "plan", "kwargs", "left_key", "right_key", "by")

    @property
    def label(self) -> str:
        return "merge-asof"

    def _compute_meta(self) -> Any:
        kw = dict(self.kwargs)
        return make_meta(pd.merge_asof(self.left._meta, self.right._meta, **kw))

    def _compute_divisions(self) -> tuple:
        return self.left.divisions if self.kwargs.get("left_index") else \
            (None,) * (self.left.npartitions + 1)

    def _child_needs(self, needed: Any) -> dict:
        return {self.left._name: ALL, self.right._name: ALL}

    def _layer(self) -> dict:
        rname = self.right._name
        tail, head = f"asof-tail-{self._name}", f"asof-head-{self._name}"
        layer: dict = {}
        rby = self.by[1] if self.by else None
        for j in range(self.right.npartitions):
            layer[(tail, j)] = Task((tail, j), _edge_rows, Ref((rname, j)), self.right_key, rby, True)
            layer[(head, j)] = Task((head, j), _edge_rows, Ref((rname, j)), self.right_key, rby, False)
        kw = dict(self.kwargs)
        kw["__right_meta"] = self.right._meta
        for i, (before, overlap, after) in enumerate(self.plan):
            refs = [Ref((tail, j)) for j in before] + [Ref((rname, j)) for j in overlap] + \
                [Ref((head, j)) for j in after]
            layer[(self._name, i)] = Task((self._name, i), _asof_parts, kw, self.right_key,
                                          Ref((self.left._name, i)), *refs)
        return layer


def _ranges(expr: Any, on: Any) -> list:
    """``(lo, hi)`` of each partition's keys (None for an empty one)."""
    from .core import new_collection
    from .expr.blockwise import MapPartitions

    if on is None and expr.known_divisions:
        d = expr.divisions
        return [(d[i], d[i + 1]) for i in range(expr.npartitions)]
    meta = _range(expr._meta, on)
    parts = new_collection(MapPartitions(_range, expr, meta=meta, clear_divisions=True,
                                         kwargs={"on": on}, label="key-range"))
    values = [p for p in parts.to_delayed()]
    from ..collection import compute

    out = compute(*values)
    return [(p.lo.iloc[0], p.hi.iloc[0]) if len(p) else None for p in out]


def merge_asof(left: Any, right: Any, on: Any = None, left_on: Any = None,
               right_on: Any = None, left_index: bool = False, right_index: bool = False,
               by: Any = None, left_by: Any = None, right_by: Any = None,
               suffixes: tuple = ("_x", "_y"), tolerance: Any = None,
               allow_exact_matches: bool = True, direction: str = "backward") -> Any:
    """:func:`pandas.merge_asof` on two frames each sorted by its key (a column, or
    the index): every left row takes the nearest right row by key (per ``by`` group).

    The key ranges of the partitions are read first (from the divisions when joining
    on indexes with known divisions); then each left partition is matched against the
    right partitions that overlap it plus the boundary rows of the others.

    Examples
    --------
    >>> import plait.dataframe as dd
    >>> a = dd.from_pandas(pd.DataFrame({"t": [1, 5, 10]}), npartitions=2)
    >>> b = dd.from_pandas(pd.DataFrame({"t": [2, 3, 7], "v": [20, 30, 70]}), npartitions=2)
    >>> merge_asof(a, b, on="t").compute().v.tolist()
    [nan, 30.0, 70.0]
    """
    from .core import new_collection, to_expr

    if direction not in ("backward", "forward", "nearest"):
        raise ValueError(f"direction must be 'backward', 'forward' or 'nearest', got {direction!r}")
    left, right = _as_frame(left), _as_frame(right)
    le, re_ = to_expr(left), to_expr(right)
    if on is not None:
        left_on = right_on = on
    if by is not None:
        left_by = right_by = by
    lkey = None if left_index else left_on
    rkey = None if right_index else right_on
    if lkey is None and not left_index or rkey is None and not right_index:
        raise ValueError("merge_asof needs a key on each side: on=, left_on=/right_on= "
                         "or left_index=/right_index=")
    kwargs = dict(left_on=left_on if not left_index else None,
                  right_on=right_on if not right_index else None,
                  left_index=left_index, right_index=right_index, left_by=left_by,
                  right_by=right_by, suffixes=tuple(suffixes), tolerance=tolerance,
                  allow_exact_matches=allow_exact_matches, direction=direction)
    pd.merge_asof(le._meta, re_._meta, **kwargs)  # pandas' errors at build time
    lranges, rranges = _ranges(le, lkey), _ranges(re_, rkey)
    plan = []
    for lr in lranges:
        if lr is None:
            plan.append(((), (), ()))
            continue
        lo, hi = lr
        before, overlap, after = [], [], []
        for j, rr in enumerate(rranges):
            if rr is None:
                continue
            if rr[1] < lo:
                before.append(j)
            elif rr[0] > hi:
                after.append(j)
            else:
                overlap.append(j)
        if direction == "backward":
            after = []
        elif direction == "forward":
            before = []
        plan.append((tuple(before), tuple(overlap), tuple(after)))
    rby = None if right_by is None else (right_by if isinstance(right_by, list) else [right_by])
    return new_collection(MergeAsof(le, re_, plan, kwargs, lkey, rkey,
                                    (left_by, rby) if rby else None))

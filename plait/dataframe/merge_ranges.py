"""Joins without a shuffle when the key's range in each partition is known.

Parquet footers record each column's minimum, maximum and null count per row group,
so a frame read from files written in key order (TPC-H's ``orders`` and ``lineitem``
by order key, logs by time, ...) knows where every key value can be before anything
is read. :func:`key_ranges` follows a frame down to its reader through steps that keep
rows and the key column as they are (filters, column selections, assignments to other
columns, broadcast joins) and returns each partition's ``(min, max)`` of the key.

When both sides of a join on one column have ranges, each partition of the driving
side needs only the partitions of the other side whose ranges overlap its own
(:func:`overlap_plan`): :class:`RangeMerge` joins partition i with those, and no row
moves. The driving side is the left for ``left`` and ``leftsemi`` joins, the right for
``right`` joins, and the side with more partitions for ``inner`` joins; every output
row comes from exactly one task (the one holding its driving row), so rows of the
other side may be read by several tasks without being repeated. ``outer`` joins are
not planned this way (an unmatched row of the other side has no single owner).

Only numeric and datetime keys with no missing values (a null count of 0 in the
footers) qualify: statistics of strings may be truncated, and pandas matches missing
keys with each other, which ranges cannot place. The plan is used when the overlaps
are few (on average at most ``MAX_OVERLAP`` partitions of the other side for each
driving partition); otherwise the hash join stays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..graph import Ref, Task
from .expr.base import Expr
from .expr.blockwise import ALL

__all__ = ["RangeMerge", "key_ranges", "overlap_plan"]

#: the most partitions of the other side each driving partition may meet, on average
MAX_OVERLAP = 2.5


def _plain_key_dtype(dtype: Any) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind in "iufM"


def key_ranges(expr: Any, column: Any) -> list | None:
    """``[(lo, hi), ...]`` of ``column`` per partition of ``expr``, from Parquet
    statistics, or None where they are not known (see the module docstring)."""
    from .expr.columns import Assign, Filter, Projection
    from .expr.io import FromParts
    from .io.parquet.read import ParquetReader
    from .merge import Merge

    meta = expr._meta
    if not isinstance(meta, pd.DataFrame) or column not in meta.columns \
            or not _plain_key_dtype(meta[column].dtype):
        return None
    e = expr
    for _ in range(100):
        if isinstance(e, FromParts):
            return _reader_ranges(e, column) if isinstance(e.reader, ParquetReader) else None
        if isinstance(e, (Filter, Projection)):
            e = e.frame
        elif isinstance(e, Assign):
            if column in [k for k, _ in e.pairs]:
                return None
            e = e.frame
        elif isinstance(e, (Merge, RangeMerge)):
            e = _partitioned_side(e, column)
            if e is None:
                return None
        else:
            return None
        if not isinstance(e._meta, pd.DataFrame) or column not in e._meta.columns:
            return None
    return None


def _partitioned_side(m: Any, column: Any) -> Any:
    """The side of a broadcast join whose partitions are the join's, when ``column``
    comes from it unchanged; else None."""
    left, right = m.left, m.right
    n = m.npartitions
    if isinstance(m, RangeMerge):  # output partition i is driving partition i
        side, other = (left, right) if m.drive_left else (right, left)
    elif left.npartitions == n and right.npartitions == 1 and n > 1:
        side, other = left, right
    elif right.npartitions == n and left.npartitions == 1 and n > 1:
        side, other = right, left
    else:
        return None
    if m.how not in ("inner", "left", "right", "leftsemi") or m.left_index or m.right_index:
        return None
    shared = column in getattr(other._meta, "columns", ())
    keys_same = m.left_on is not None and column in m.left_on and column in (m.right_on or ())
    if shared and not keys_same:
        return None  # it comes out suffixed, or from both sides
    return side


def _reader_ranges(e: Any, column: Any) -> list | None:
    reader = e.reader
    if column in reader.index_names:
        return None
    field = {v: k for k, v in reader.renames.items()}.get(column, column)
    out = []
    for piece in e.parts:
        st = (getattr(piece, "stats", None) or {}).get(field)
        if not st or st[0] is None or st[1] is None or st[2] != 0:
            return None
        out.append((st[0], st[1]))
    return out


def overlap_plan(drive: list, other: list) -> list | None:
    """For each driving range, the indexes of the other ranges that overlap it; None
    when there are too many overlaps for the plan to beat a hash join.

    >>> overlap_plan([(1, 10), (11, 20)], [(1, 5), (6, 12), (13, 20)])
    [(0, 1), (1, 2)]
    """
    if not drive:
        return None
    try:
        plan = [tuple(j for j, (a, b) in enumerate(other) if a <= hi and lo <= b)
                for lo, hi in drive]
    except TypeError:  # ranges of types that do not compare
        return None
    if sum(len(p) for p in plan) > MAX_OVERLAP * len(drive):
        return None
    return plan


def _range_merge(drive_left: bool, meta_other: Any, args: tuple, drive: Any,
                 *others: Any) -> Any:
    from .core import _concat
    from .merge import merge_parts

    pieces = [o for o in others if len(o)]
    other = _concat(pieces) if len(pieces) > 1 else (pieces[0] if pieces else meta_other)
    return merge_parts(drive, other, *args) if drive_left else merge_parts(other, drive, *args)


class RangeMerge(Expr):
    """Partition i of the driving side joined with the partitions of the other side
    whose key ranges overlap it (``plan[i]``)."""

    _parameters = ("left", "right", "how", "left_on", "right_on", "left_index",
                   "right_index", "suffixes", "indicator", "drive_left", "plan")

    @property
    def label(self) -> str:
        return "merge-ranges"

    def _args(self) -> tuple:
        return (self.how, self.left_on, self.right_on, self.left_index, self.right_index,
                self.suffixes, self.indicator)

    def _compute_meta(self) -> Any:
        from .merge import merge_parts
        from .meta import make_meta

        return make_meta(merge_parts(self.left._meta, self.right._meta, *self._args()))

    def _compute_divisions(self) -> tuple:
        return (None,) * (len(self.plan) + 1)

    def _child_needs(self, needed: Any) -> dict:
        from .merge import merge_needs

        if needed is ALL or self.left._name == self.right._name:
            return {d._name: ALL for d in self.dependencies()}
        return merge_needs(list(self.left._meta.columns), list(self.right._meta.columns),
                           set(needed), self.how, self.left_on, self.right_on,
                           self.suffixes, self.left._name, self.right._name)

    def _layer(self) -> dict:
        drive, other = (self.left, self.right) if self.drive_left else (self.right, self.left)
        layer = {}
        for i, js in enumerate(self.plan):
            key = (self._name, i)
            layer[key] = Task(key, _range_merge, self.drive_left, other._meta, self._args(),
                              Ref((drive._name, i)), *[Ref((other._name, j)) for j in js])
        return layer

    def _tree_repr_args(self) -> list:
        return [f"how={self.how}", f"on={self.left_on}",
                f"drive={'left' if self.drive_left else 'right'}"]


def range_merge(le: Any, re_: Any, args: dict) -> Any | None:
    """A :class:`RangeMerge` of ``le`` and ``re_`` (expressions) for merge's
    ``args``, or None when the key ranges do not allow one."""
    how, lon, ron = args["how"], args["left_on"], args["right_on"]
    if how == "outer" or args["left_index"] or args["right_index"] or args["indicator"]:
        return None
    if not lon or not ron or len(lon) != 1 or len(ron) != 1:
        return None
    lr, rr = key_ranges(le, lon[0]), key_ranges(re_, ron[0])
    if lr is None or rr is None:
        return None
    drive_left = how in ("left", "leftsemi") or (how == "inner" and len(lr) >= len(rr))
    plan = overlap_plan(lr, rr) if drive_left else overlap_plan(rr, lr)
    if plan is None:
        return None
    return RangeMerge(le, re_, how, lon, ron, False, False, args["suffixes"], False,
                      drive_left, plan)

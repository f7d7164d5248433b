"""``loc`` and ``iloc``: rows by index label (using the divisions to pick the
partitions that can hold them) and columns by position."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .core import new_collection
from .expr import Blockwise, Partitions

__all__ = ["ILocIndexer", "LocIndexer"]


def _loc(part: Any, rows: Any, cols: Any) -> Any:
    if isinstance(rows, _PresentLabels):
        rows = [r for r in rows if r in part.index]
    if cols is None:
        return part.loc[rows]
    return part.loc[rows, cols]


class Loc(Blockwise):
    """``frame.loc[rows, cols]`` on each partition (after partition pruning)."""

    _parameters = ("frame", "rows", "cols")
    _row_local = False

    def _operation(self) -> Any:
        return _loc

    def _call_args(self) -> tuple[list, dict]:
        return [self.frame, self.rows, self.cols], {}

    def _compute_meta(self) -> Any:
        meta = self.frame._meta
        cols = self.cols
        if cols is None:
            return meta
        return meta.loc[:, cols]

    def _compute_divisions(self) -> tuple:
        d = self.frame.divisions
        rows = self.rows
        if isinstance(rows, slice) and self.frame.known_divisions:
            start, stop = rows.start, rows.stop
            if isinstance(self.frame._meta.index, pd.DatetimeIndex):
                tz = self.frame._meta.index.tz
                start, stop = _date_bound(start, tz, "start"), _date_bound(stop, tz, "end")
            lo = d[0] if start is None else max(d[0], start)
            hi = d[-1] if stop is None else min(d[-1], stop)
            if len(d) == 2 and hi < lo:  # nothing selected: keep the bounds ordered
                hi = lo
            return (lo,) + tuple(d[1:-1]) + (hi,)
        return d

    def _narrow(self, needed: Any) -> Any:
        from .expr import ALL

        if needed is ALL or not isinstance(self.cols, list):
            return self
        keep = [c for c in self.cols if c in needed] or self.cols[:1]
        return self if keep == self.cols else Loc(self.frame, self.rows, keep)

    def _child_needs(self, needed: Any) -> dict:
        from .expr import ALL

        if self.cols is None:
            return {self.frame._name: needed}
        cols = self.cols if isinstance(self.cols, list) else [self.cols]
        if needed is ALL or not isinstance(self.cols, list):
            return {self.frame._name: cols}
        return {self.frame._name: [c for c in cols if c in needed] or cols[:1]}


def _partitions_for(divisions: tuple, lo: Any, hi: Any) -> list:
    """Indices of partitions that can hold labels in [lo, hi] (None: unbounded).

    Partition i holds labels in [divisions[i], divisions[i + 1]), the last one
    also its upper bound.

    >>> _partitions_for((0, 10, 20, 30), 10, 10), _partitions_for((0, 10, 20, 30), 5, 30)
    ([1], [0, 1, 2])
    """
    n = len(divisions) - 1
    out = []
    for i in range(n):
        start, stop = divisions[i], divisions[i + 1]
        if hi is not None and start > hi:
            continue
        if lo is not None and not (lo < stop or (i == n - 1 and lo <= stop)):
            continue
        out.append(i)
    return out


class LocIndexer:
    """``df.loc[...]``: by label, list of labels, slice or boolean Series."""

    def __init__(self, frame: Any):
        self.frame = frame

    def __getitem__(self, key: Any) -> Any:
        from .frame_base import FrameBase

        frame = self.frame
        cols = None
        if isinstance(key, tuple) and isinstance(frame._meta, pd.DataFrame):
            if len(key) != 2:
                raise IndexError(f"loc takes [rows] or [rows, columns], got {len(key)} items")
            key, cols = key
            if isinstance(cols, slice) and cols == slice(None):
                cols = None
            elif isinstance(cols, (pd.Index, np.ndarray, tuple)):
                cols = list(cols)
        if isinstance(key, FrameBase):
            out = frame[key]
            return out if cols is None else out[cols]
        if isinstance(key, slice) and key == slice(None):
            return frame if cols is None else frame[cols]
        if not frame.known_divisions:
            raise KeyError(
                "loc by label needs known divisions, and this collection's are unknown. "
                "Use a collection with a sorted index (from_pandas(..., sort=True), or "
                "set_index), or filter with a mask: df[df.index == label]")
        d = frame.divisions
        if isinstance(frame._meta.index, pd.DatetimeIndex) and (
                isinstance(key, str) or isinstance(key, slice) and (
                    isinstance(key.start, str) or isinstance(key.stop, str))):
            # partial date strings ("2000-01") mean whole periods, as in pandas
            tz = frame._meta.index.tz
            if isinstance(key, str):
                key = slice(key, key)
            if key.step not in (None, 1):
                raise KeyError("loc slices with a step are not supported")
            lo = _date_bound(key.start, tz, "start")
            hi = _date_bound(key.stop, tz, "end")
            idx = _partitions_for(d, lo, hi) or [0]
            return new_collection(Loc(Partitions(frame.expr, idx), key, cols))
        if isinstance(key, slice):
            if key.step not in (None, 1):
                raise KeyError("loc slices with a step are not supported")
            idx = _partitions_for(d, key.start, key.stop)
            rows: Any = slice(key.start, key.stop)
        elif isinstance(key, (list, np.ndarray, pd.Index)):
            labels = list(key)
            idx = sorted({i for lab in labels for i in _partitions_for(d, lab, lab)})
            rows = labels
            if not idx:
                raise KeyError(f"none of {labels[:5]} are in the index range "
                               f"[{d[0]}, {d[-1]}]")
            part = Partitions(frame.expr, idx)
            return new_collection(Loc(part, _PresentLabels(labels), cols))
        else:
            idx = _partitions_for(d, key, key)
            rows = [key]
            if not idx:
                idx = [0]
        part = Partitions(frame.expr, idx) if idx else Partitions(frame.expr, [0])
        if not idx:
            rows = slice(1, 0) if isinstance(rows, slice) else rows
        return new_collection(Loc(part, rows, cols))


def _date_bound(label: Any, tz: Any, side: str) -> Any:
    """The first or last instant a (partial) date string can mean."""
    if label is None:
        return None
    if isinstance(label, str):
        try:
            period = pd.Period(label)
            out = period.start_time if side == "start" else period.end_time
        except ValueError:
            out = pd.Timestamp(label)
    else:
        out = pd.Timestamp(label)
    if tz is not None and out.tzinfo is None:
        out = out.tz_localize(tz)
    return out


class _PresentLabels(list):
    """Labels to select where present (a partition holds only some of them)."""

    def __reduce__(self):
        return (_PresentLabels, (list(self),))


def _iloc_cols(part: Any, cols: list) -> Any:
    return part.iloc[:, cols]


class ILocIndexer:
    """``df.iloc[:, columns]``: columns by position (rows by position are not
    supported: partition lengths are unknown)."""

    def __init__(self, frame: Any):
        self.frame = frame

    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, tuple) or len(key) != 2 or key[0] != slice(None):
            raise NotImplementedError(
                "iloc selects columns only: write df.iloc[:, cols]. Row positions are "
                "not known without computing partition lengths; use head(), "
                "partitions[...] or loc with labels")
        cols = key[1]
        names = self.frame._meta.columns[cols]
        if isinstance(names, pd.Index):
            return self.frame[list(names)]
        return self.frame[names]

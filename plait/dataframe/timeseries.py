"""``shift`` and ``diff`` across partition boundaries, and the helpers the time-series
methods share (checking a window, building an overlapping step).

Without ``freq``, ``shift(periods)`` moves values ``periods`` rows down: the first rows
of a partition take values from the partitions before it (through
:class:`~plait.dataframe.expr.overlap.MapOverlap`, which may reach back over several
small or empty partitions). With ``freq`` the index moves instead, partition by
partition, and so do the divisions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from .core import new_collection
from .expr.overlap import MapOverlap
from .meta import emulate

__all__ = ["diff", "map_overlap", "shift"]


def map_overlap(frame: Any, func: Callable, before: Any, after: Any, *args: Any,
                meta: Any = None, label: str | None = None, column_wise: bool = False,
                **kwargs: Any) -> Any:
    """``func`` on each partition with ``before``/``after`` rows (int) or span
    (Timedelta) of its neighbours; ``func`` returns one row per input row.
    ``column_wise``: each output column depends only on the same input column (so a
    later column selection narrows the input too)."""
    if meta is None:
        meta = emulate(func, frame._meta, *args, **kwargs)
    return new_collection(MapOverlap(frame.expr, func, before, after, tuple(args),
                                     kwargs or None, meta, label, None, column_wise))


def _shift(part: Any, periods: int, axis: Any = 0) -> Any:
    return part.shift(periods)


def _shift_freq(part: Any, periods: int, freq: Any) -> Any:
    return part.shift(periods, freq=freq)


def _diff(part: Any, periods: int) -> Any:
    return part.diff(periods)


def _check_periods(periods: Any, what: str) -> int:
    if isinstance(periods, bool) or not isinstance(periods, int):
        raise TypeError(f"{what}: periods must be an int, got {periods!r}")
    return periods


def shift(frame: Any, periods: int = 1, freq: Any = None, axis: Any = 0) -> Any:
    """Values ``periods`` rows later (``freq``: the index moved by ``periods * freq``).

    >>> import pandas as pd, plait.dataframe as dd
    >>> s = dd.from_pandas(pd.Series(range(6)), npartitions=3)
    >>> shift(s, 2).compute().tolist()
    [nan, nan, 0.0, 1.0, 2.0, 3.0]
    """
    periods = _check_periods(periods, "shift")
    if axis not in (0, "index"):
        raise NotImplementedError("shift works along the index (axis=0) only")
    if freq is not None:
        # the index moves, the values stay: partition-wise, and the divisions move too
        divisions = None
        if frame.known_divisions:
            try:
                divisions = tuple(pd.Index(list(frame.divisions)).shift(periods, freq=freq))
            except (TypeError, ValueError, NotImplementedError):
                divisions = None
        if divisions is None:
            divisions = (None,) * (frame.npartitions + 1)
        return new_collection(MapOverlap(frame.expr, _shift_freq, 0, 0, (periods, freq),
                                         None, emulate(_shift_freq, frame._meta, periods,
                                                       freq), "shift", divisions, True))
    if periods == 0:
        return frame
    before, after = (periods, 0) if periods > 0 else (0, -periods)
    return new_collection(MapOverlap(frame.expr, _shift, before, after, (periods,), None,
                                     emulate(_shift, frame._meta, periods), "shift", None,
                                     True))


def diff(frame: Any, periods: int = 1, axis: Any = 0) -> Any:
    """Difference with the value ``periods`` rows earlier (across partitions).

    >>> import pandas as pd, plait.dataframe as dd
    >>> s = dd.from_pandas(pd.Series([1, 4, 9, 16]), npartitions=2)
    >>> diff(s).compute().tolist()
    [nan, 3.0, 5.0, 7.0]
    """
    periods = _check_periods(periods, "diff")
    if axis not in (0, "index"):
        raise NotImplementedError("diff works along the index (axis=0) only")
    before, after = (periods, 0) if periods > 0 else (0, -periods)
    return new_collection(MapOverlap(frame.expr, _diff, before, after, (periods,), None,
                                     emulate(_diff, frame._meta, periods), "diff", None,
                                     True))

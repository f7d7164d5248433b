"""``rolling``: moving-window aggregations over a sorted index.

A window is a row count (``rolling(3)``) or, on a datetime index, a time span
(``rolling("2h")``). Each partition is computed by pandas on its own rows with the
rows a window there can reach borrowed from the partitions before it (``window - 1``
rows, or the span), and after it for centred count windows; the borrowed rows are
then dropped again (see ``expr/overlap.py``). Results equal pandas' on the whole
series as long as the partitions are in index order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from .timeseries import map_overlap

__all__ = ["Rolling"]


def _rolling_call(part: Any, rolling_kwargs: dict, method: str, args: tuple,
                  kwargs: dict) -> Any:
    return getattr(part.rolling(**rolling_kwargs), method)(*args, **kwargs)


class Rolling:
    """``frame.rolling(window, min_periods=None, center=False, win_type=None)``."""

    def __init__(self, frame: Any, window: Any, min_periods: int | None = None,
                 center: bool = False, win_type: str | None = None, axis: Any = 0,
                 closed: str | None = None):
        if axis not in (0, "index"):
            raise NotImplementedError("rolling works along the index (axis=0) only")
        self.frame = frame
        self.kwargs = {"window": window, "min_periods": min_periods, "center": center,
                       "win_type": win_type, "closed": closed}
        if isinstance(window, bool) or not isinstance(window, (int, str, pd.Timedelta)) \
                and not hasattr(window, "nanos"):
            raise ValueError(f"rolling: window must be a row count or a time span such as "
                             f"'2h', got {window!r}")
        if isinstance(window, int):
            if window < 0:
                raise ValueError(f"rolling: window must be >= 0, got {window}")
            # a window ends at its row and holds ``window`` rows (one more with
            # closed="both"): borrowing ``window`` rows covers every case
            self.before = window
            self.after = window if center else 0
        else:
            if not isinstance(frame._meta.index, pd.DatetimeIndex):
                raise ValueError(  # noqa: TRY004 (pandas raises ValueError too)
                    f"rolling({window!r}): a time window needs a datetime index; this "
                    f"frame's index is {frame._meta.index.dtype}. Use set_index on a "
                    "datetime column, or a row count")
            if win_type is not None:
                raise NotImplementedError("win_type works with row-count windows only")
            span = pd.Timedelta(pd.tseries.frequencies.to_offset(window))
            self.before = span
            self.after = span if center else 0
        # check the arguments once on the meta, as pandas would
        frame._meta.rolling(**self.kwargs)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items() if v is not None)
        return f"Rolling [{args}]"

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        # every method but a frame-wide apply works column by column
        return map_overlap(self.frame, _rolling_call, self.before, self.after, self.kwargs,
                           method, args, kwargs, label=f"rolling-{method}",
                           column_wise=True)

    def count(self) -> Any:
        return self._call("count")

    def sum(self) -> Any:
        return self._call("sum")

    def mean(self) -> Any:
        return self._call("mean")

    def median(self) -> Any:
        return self._call("median")

    def min(self) -> Any:
        return self._call("min")

    def max(self) -> Any:
        return self._call("max")

    def std(self, ddof: int = 1) -> Any:
        return self._call("std", ddof=ddof)

    def var(self, ddof: int = 1) -> Any:
        return self._call("var", ddof=ddof)

    def skew(self) -> Any:
        return self._call("skew")

    def kurt(self) -> Any:
        return self._call("kurt")

    def quantile(self, q: float) -> Any:
        return self._call("quantile", q)

    def apply(self, func: Callable, raw: bool = False, args: tuple = (),
              kwargs: dict | None = None) -> Any:
        """``func`` on each window (an array with ``raw=True``, else a Series)."""
        return self._call("apply", func, raw=raw, args=args, kwargs=kwargs or {})

    def aggregate(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Several aggregations at once (``"sum"``, ``["sum", "max"]``, a dict)."""
        return self._call("aggregate", func, *args, **kwargs)

    agg = aggregate

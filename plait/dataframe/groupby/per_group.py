"""Group-by methods that run pandas on whole groups after a shuffle by the keys:
``apply``, ``transform``, ``shift``, the cumulative methods, ``median`` and
``rolling`` (see :mod:`.shuffled` for how rows move).

Results of ``transform``, ``shift`` and the cumulative methods carry the frame's own
index, as in pandas, but their partitions are the shuffle's: rows of one group are
together and in input order, the partitions' order and divisions are not the input's.
``npartitions=`` (our extension) picks the number of output partitions; by default it
is the frame's.
"""

from __future__ import annotations

from typing import Any

from .shuffled import MethodCall, infer_meta

__all__ = ["PerGroupMethods", "RollingGroupBy"]


class PerGroupMethods:
    """Mixed into the group-by classes (they provide ``_meta_of`` and ``_shuffled``)."""

    _meta_of: Any
    _shuffled: Any

    def apply(self, func: Any, *args: Any, meta: Any = None, shuffle_method: Any = None,
              **kwargs: Any) -> Any:
        """``func`` on each group (a pandas DataFrame or Series), as pandas'
        ``apply``; give ``meta=`` to describe the result, else it is inferred on a
        made-up sample with a warning."""
        call = MethodCall("apply", func, *args, **kwargs)
        meta = infer_meta(self, call, meta, "apply")
        return self._shuffled(call, meta, None, shuffle_method, "apply", reduction=False)

    def transform(self, func: Any, *args: Any, meta: Any = None,
                  shuffle_method: Any = None, **kwargs: Any) -> Any:
        """pandas' ``transform`` per group: one value per row, on the frame's index."""
        call = MethodCall("transform", func, *args, **kwargs)
        if isinstance(func, str) and meta is None:
            meta = self._meta_of(call)
        else:
            meta = infer_meta(self, call, meta, "transform")
        return self._shuffled(call, meta, None, shuffle_method, "transform", aligned=True)

    def _row_method(self, name: str, shuffle_method: Any, **kwargs: Any) -> Any:
        call = MethodCall(name, **kwargs)
        return self._shuffled(call, self._meta_of(call), None, shuffle_method, name,
                              aligned=True)

    def shift(self, periods: int = 1, freq: Any = None, fill_value: Any = None,
              meta: Any = None, shuffle_method: Any = None) -> Any:
        """Values moved ``periods`` rows down (up when negative) within each group."""
        kwargs: dict = {"periods": periods}
        if freq is not None:
            kwargs["freq"] = freq
        if fill_value is not None:
            kwargs["fill_value"] = fill_value
        call = MethodCall("shift", **kwargs)
        meta = self._meta_of(call) if meta is None else infer_meta(self, call, meta, "shift")
        return self._shuffled(call, meta, None, shuffle_method, "shift", aligned=True)

    def cumsum(self, numeric_only: bool = False, skipna: bool = True,
               shuffle_method: Any = None) -> Any:
        return self._row_method("cumsum", shuffle_method, numeric_only=numeric_only,
                                skipna=skipna)

    def cumprod(self, numeric_only: bool = False, skipna: bool = True,
                shuffle_method: Any = None) -> Any:
        return self._row_method("cumprod", shuffle_method, numeric_only=numeric_only,
                                skipna=skipna)

    def cummin(self, numeric_only: bool = False, skipna: bool = True,
               shuffle_method: Any = None) -> Any:
        return self._row_method("cummin", shuffle_method, numeric_only=numeric_only,
                                skipna=skipna)

    def cummax(self, numeric_only: bool = False, skipna: bool = True,
               shuffle_method: Any = None) -> Any:
        return self._row_method("cummax", shuffle_method, numeric_only=numeric_only,
                                skipna=skipna)

    def cumcount(self, ascending: bool = True, shuffle_method: Any = None) -> Any:
        return self._row_method("cumcount", shuffle_method, ascending=ascending)

    def median(self, numeric_only: bool = False, split_every: int | None = None,
               split_out: int | None = None, shuffle_method: Any = None) -> Any:
        """Exact median per group: rows are shuffled by the keys into ``split_out``
        partitions (one by default), then pandas takes the median of each group."""
        from .core import _check_split_out

        call = MethodCall("median", numeric_only=numeric_only)
        n = _check_split_out(split_out) or getattr(self, "split_out", None) or 1
        return self._shuffled(call, self._meta_of(call), n, shuffle_method, "median")

    def rolling(self, window: Any, min_periods: int | None = None, center: bool = False,
                win_type: Any = None, on: Any = None, closed: Any = None) -> RollingGroupBy:
        """A moving window inside each group (pandas' ``groupby().rolling``)."""
        if win_type is not None:
            raise NotImplementedError("groupby().rolling(win_type=...) is not supported")
        kwargs = {"window": window, "min_periods": min_periods, "center": center}
        if on is not None:
            kwargs["on"] = on
        if closed is not None:
            kwargs["closed"] = closed
        self._meta_of(MethodCall("rolling", **kwargs))  # a bad window fails now
        return RollingGroupBy(self, kwargs)


class _RollingCall:
    """``g.rolling(**window).<how>(**kwargs)`` (picklable and tokenizable)."""

    __slots__ = ("how", "kwargs", "window")

    def __init__(self, window: dict, how: str, kwargs: dict):
        self.window = window
        self.how = how
        self.kwargs = kwargs

    def __call__(self, g: Any) -> Any:
        return getattr(g.rolling(**self.window), self.how)(**self.kwargs)

    def __reduce__(self):
        return (_RollingCall, (self.window, self.how, self.kwargs))

    def __plait_tokenize__(self) -> Any:
        return ("groupby-rolling", sorted(self.window.items(), key=repr), self.how,
                sorted(self.kwargs.items(), key=repr))


class RollingGroupBy:
    """``groupby(...).rolling(window)``: each aggregation shuffles by the keys and runs
    pandas' rolling per group; the result is indexed by (keys, original index)."""

    def __init__(self, gb: Any, window: dict):
        self._gb = gb
        self._window = window

    def _agg(self, how: str, **kwargs: Any) -> Any:
        call = _RollingCall(self._window, how, kwargs)
        return self._gb._shuffled(call, self._gb._meta_of(call), None, None,
                                  f"rolling-{how}", reduction=False)

    def sum(self) -> Any:
        return self._agg("sum")

    def mean(self) -> Any:
        return self._agg("mean")

    def min(self) -> Any:
        return self._agg("min")

    def max(self) -> Any:
        return self._agg("max")

    def count(self) -> Any:
        return self._agg("count")

    def median(self) -> Any:
        return self._agg("median")

    def std(self, ddof: int = 1) -> Any:
        return self._agg("std", ddof=ddof)

    def var(self, ddof: int = 1) -> Any:
        return self._agg("var", ddof=ddof)

    def quantile(self, q: float, interpolation: str = "linear") -> Any:
        return self._agg("quantile", q=q, interpolation=interpolation)

    def apply(self, func: Any, raw: bool = False, engine: Any = None,
              engine_kwargs: Any = None, args: tuple | None = None,
              kwargs: dict | None = None) -> Any:
        """``func`` on each window of each group (pandas' ``Rolling.apply``)."""
        if engine not in (None, "cython"):
            raise NotImplementedError(f"groupby().rolling().apply(engine={engine!r}) is not "
                                      "supported; leave engine unset")
        return self._agg("apply", func=func, raw=raw, args=args, kwargs=kwargs)

    def agg(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        """pandas' ``Rolling.agg``: a name, a callable, a list or a dict of them."""
        if args:
            raise TypeError("groupby().rolling().agg() takes no extra positional arguments")
        return self._agg("agg", func=func, **kwargs)

    aggregate = agg

    def __repr__(self) -> str:
        return f"<plait RollingGroupBy {self._window}>"

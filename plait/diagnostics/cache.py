"""CacheProfiler: how much each result weighs and how long it is held.

A result enters the cache when its task finishes (``cache_time``) and leaves it when
the last task that needs it finishes (``free_time``), which is when the executors
release it; results the caller asked for are held until the end of the compute.
The dependents are counted from the graph at the start of each compute.
"""

from __future__ import annotations

import threading
import warnings
from time import perf_counter
from typing import Any, Callable, NamedTuple

from ..callbacks import Callback
from .profile import describe_task

__all__ = ["CacheProfiler", "CacheData"]


class CacheData(NamedTuple):
    """One result: its key, a short task description, its ``metric`` (size, count, ...),
    and when it was stored and freed (``time.perf_counter`` seconds)."""

    key: Any
    task: str
    metric: Any
    cache_time: float
    free_time: float


def _count(value: Any) -> int:
    return 1


class _RunCache:
    """What one compute holds: dependents still to finish, and the results held."""

    __slots__ = ("dsk", "remaining", "held", "targets", "failed", "first_failure")

    def __init__(self, dsk: Any, targets: Any):
        remaining: dict = {}
        for node in dsk.values():
            for d in node.dependencies:
                remaining[d] = remaining.get(d, 0) + 1
        self.dsk = dsk
        self.remaining = remaining
        self.held: dict = {}
        self.targets = targets
        self.failed = 0
        self.first_failure: tuple | None = None


class CacheProfiler(Callback):
    """Measure every result with ``metric`` and record when it was held.

    Parameters
    ----------
    metric : callable, optional
        ``metric(value)`` for each result; by default 1 (count the results). Use
        :func:`plait.sizeof.sizeof` for bytes, or e.g. ``len``.
    metric_name : str, optional
        The metric's name in plots; default the function's name, or ``"count"``.

    ``results`` is a list of :class:`CacheData`, one per result, in the order they were
    freed. Under the processes scheduler, a value that stays inside a worker (passed
    straight to the next task of a chain) reaches the callbacks as None. A value that
    ``metric`` cannot measure (``len`` of an int) is left out, with one warning per
    compute; the compute itself is never disturbed.

    Examples
    --------
    >>> import plait
    >>> x = plait.delayed(list)(range(5), dask_key_name="x")
    >>> with CacheProfiler(metric=len) as cprof:
    ...     plait.delayed(sorted)(x, dask_key_name="y").compute(scheduler="sync")
    [0, 1, 2, 3, 4]
    >>> [(r.key, r.metric) for r in cprof.results]
    [('x', 5), ('y', 5)]
    """

    def __init__(self, metric: Callable[[Any], Any] | None = None,
                 metric_name: str | None = None):
        self._metric = metric if metric is not None else _count
        if metric_name is None:
            metric_name = getattr(metric, "__name__", None) if metric is not None else "count"
        self._metric_name = metric_name or "metric"
        self._lock = threading.Lock()
        self._runs: dict[int, _RunCache] = {}
        self._raw: list = []
        self._results: list[CacheData] = []
        self.start_time: float | None = None
        self.end_time: float | None = None

    def __enter__(self) -> "CacheProfiler":
        self.clear()
        return super().__enter__()

    def _start_state(self, dsk: Any, state: Any) -> None:
        run = _RunCache(dsk, set(state.targets))
        with self._lock:
            if self.start_time is None:
                self.start_time = perf_counter()
            self._runs[id(state)] = run

    def _posttask(self, key: Any, value: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        try:
            measure = self._metric(value)
            failure = None
        except Exception as exc:
            measure = None
            failure = None if value is None else exc
        now = perf_counter()
        with self._lock:
            run = self._runs.get(id(state))
            if run is None:
                return
            if failure is not None:
                run.failed += 1
                if run.first_failure is None:
                    run.first_failure = (key, failure)
            held = run.held
            if measure is not None:
                held[key] = (measure, now)
            remaining = run.remaining
            for d in dsk[key].dependencies:
                n = remaining.get(d)
                if n is None:
                    continue
                if n > 1:
                    remaining[d] = n - 1
                    continue
                del remaining[d]
                if d not in run.targets:
                    self._free(run, d, now)
            if key not in remaining and key not in run.targets:
                self._free(run, key, now)  # nothing needs it: released at once

    def _free(self, run: _RunCache, key: Any, now: float) -> None:
        entry = run.held.pop(key, None)
        if entry is not None:
            self._raw.append((key, run.dsk[key], entry[0], entry[1], now))

    def _finish(self, dsk: Any, state: Any, errored: bool) -> None:
        now = perf_counter()
        with self._lock:
            run = self._runs.pop(id(state), None)
            if run is not None:
                for key in list(run.held):
                    self._free(run, key, now)
            self.end_time = now
        if run is not None and run.first_failure is not None:
            key, exc = run.first_failure
            warnings.warn(
                f"CacheProfiler: metric {self._metric_name!r} failed on {run.failed} "
                f"result(s), which are left out; e.g. on key {key!r}: "
                f"{type(exc).__name__}: {exc}. Pass a metric that accepts every result, "
                "e.g. metric=plait.sizeof.sizeof",
                RuntimeWarning,
                stacklevel=2,
            )

    @property
    def results(self) -> list[CacheData]:
        with self._lock:
            raw = self._raw
            done = self._results
            for i in range(len(done), len(raw)):
                key, node, measure, t0, t1 = raw[i]
                done.append(CacheData(key, describe_task(node), measure, t0, t1))
            return done

    def clear(self) -> None:
        """Forget all recorded results and times."""
        with self._lock:
            self._raw = []
            self._results = []
            self.start_time = None
            self.end_time = None

    def visualize(self, **kwargs: Any) -> Any:
        """Plot the metric held over time with bokeh; see
        :func:`plait.diagnostics.visualize`."""
        from .plots import visualize

        return visualize(self, **kwargs)

    def _plot(self, **kwargs: Any) -> Any:
        from .plots import plot_cache

        return plot_cache(self.results, self._metric_name, **kwargs)

    def __repr__(self) -> str:
        return f"<CacheProfiler metric={self._metric_name}: {len(self._raw)} results>"

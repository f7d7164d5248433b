"""ProgressBar: a bar with the fraction of tasks done and the time elapsed.

The bar costs nothing per task: it has no ``pretask`` or ``posttask`` hook (so the
executors skip those calls entirely). A background thread wakes every ``dt`` seconds,
reads ``state.finished / state.total`` from the run's
:class:`~plait.scheduling.GraphState` and redraws, in a terminal with ``\\r`` and in a
Jupyter kernel with an ipywidgets progress bar (or text when ipywidgets is missing).
"""

from __future__ import annotations

import sys
import threading
from time import perf_counter
from typing import IO, Any

from ..callbacks import Callback
from ._jupyter import in_ipython_kernel

__all__ = ["ProgressBar", "format_time"]


def format_time(seconds: float) -> str:
    """Elapsed time for humans.

    >>> format_time(3.14159), format_time(75.5), format_time(7384)
    ('3.1s', '1min 15.5s', '2hr 3min 4.0s')
    """
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)}min {secs:.1f}s"
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}hr {minutes}min {secs:.1f}s"


class _TextBar:
    """``[#####     ] | 50% Completed | 1.2s``, redrawn in place with a carriage return."""

    def __init__(self, out: IO[str], width: int):
        self.out = out
        self.width = width

    def update(self, fraction: float, elapsed: float) -> None:
        filled = "#" * int(self.width * fraction)
        percent = int(100 * fraction)
        line = f"\r[{filled:<{self.width}}] | {percent:3d}% Completed | {format_time(elapsed)}"
        self.out.write(line)
        self.out.flush()

    def close(self, errored: bool) -> None:
        self.out.write("\n")
        self.out.flush()


class _WidgetBar:
    """An ipywidgets progress bar with the percentage and time beside it."""

    def __init__(self, widgets: Any):
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0)
        self.label = widgets.HTML()
        self.box = widgets.HBox([self.bar, self.label])
        self.shown = False

    def update(self, fraction: float, elapsed: float) -> None:
        if not self.shown:
            from IPython.display import display

            display(self.box)
            self.shown = True
        self.bar.value = fraction
        self.label.value = f"{int(100 * fraction)}% Completed | {format_time(elapsed)}"

    def close(self, errored: bool) -> None:
        if self.shown:
            self.bar.bar_style = "danger" if errored else "success"


def _make_display(out: IO[str] | None, width: int) -> Any:
    if out is None and in_ipython_kernel():
        try:
            import ipywidgets
        except ImportError:
            pass  # a kernel renders "\r" in stdout too
        else:
            return _WidgetBar(ipywidgets)
    return _TextBar(sys.stdout if out is None else out, width)


class ProgressBar(Callback):
    """Show a progress bar for computes that take at least ``minimum`` seconds.

    Parameters
    ----------
    minimum : float
        Computes shorter than this many seconds show nothing.
    width : int
        Width of the bar in characters (terminal display).
    dt : float
        Seconds between redraws.
    out : file-like, optional
        Where the text bar goes (default ``sys.stdout``); in a Jupyter kernel, with
        ``out`` left out, an ipywidgets bar is shown when ipywidgets is installed.

    Use it as a context manager around a compute, or ``ProgressBar().register()`` to
    show a bar for every compute until ``unregister()``.

    Examples
    --------
    >>> import io, plait
    >>> out = io.StringIO()
    >>> with ProgressBar(out=out):
    ...     plait.delayed(sum)([1, 2]).compute(scheduler="sync")
    3
    >>> out.getvalue().split("\\r")[-1].split("|")[:2]
    ['[########################################] ', ' 100% Completed ']
    """

    def __init__(self, minimum: float = 0, width: int = 40, dt: float = 0.1,
                 out: IO[str] | None = None):
        if dt <= 0:
            raise ValueError(f"dt must be a positive number of seconds, got dt={dt!r}")
        self._minimum = minimum
        self._width = width
        self._dt = dt
        self._out = out
        self._lock = threading.Lock()
        self._state: Any = None
        self._t0 = 0.0
        self._pending_t0: float | None = None
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._display: Any = None
        self.last_duration: float = 0.0

    def _start(self, dsk: Any) -> None:
        if self._state is None:
            self._pending_t0 = perf_counter()

    def _start_state(self, dsk: Any, state: Any) -> None:
        with self._lock:
            if self._state is not None:  # a compute inside a task: one bar at a time
                return
            self._state = state
            self._t0 = self._pending_t0 if self._pending_t0 is not None else perf_counter()
            self._pending_t0 = None
            self._display = _make_display(self._out, self._width)
            self._stop = threading.Event()
            self._timer = threading.Thread(
                target=self._redraw_until_stopped,
                args=(state, self._display, self._stop, self._t0),
                name="plait-progressbar",
                daemon=True,
            )
            self._timer.start()

    def _redraw_until_stopped(self, state: Any, display: Any, stop: threading.Event,
                              t0: float) -> None:
        while not stop.wait(self._dt):
            elapsed = perf_counter() - t0
            if elapsed >= self._minimum:
                display.update(_fraction(state), elapsed)

    def _finish(self, dsk: Any, state: Any, errored: bool) -> None:
        with self._lock:
            if state is not self._state:
                return
            self._stop.set()
            if self._timer is not None:
                self._timer.join(timeout=10)
            self._timer = None
            self._state = None
            display, self._display = self._display, None
        elapsed = perf_counter() - self._t0
        self.last_duration = elapsed
        if elapsed < self._minimum:
            return
        display.update(_fraction(state) if errored else 1.0, elapsed)
        display.close(errored)


def _fraction(state: Any) -> float:
    total = state.total
    return min(1.0, state.finished / total) if total else 1.0

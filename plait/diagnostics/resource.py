"""ResourceProfiler: CPU and memory of this process and its children over time.

The samples are taken by a small helper process (``_sampler.py``, standard library and
psutil only), not by a thread: while tasks run pure Python on threads, a sampling
thread waits for the GIL after each of its reads of ``/proc`` and got one sample in
several tenths of a second instead of one every ``dt``. The helper is started when
the profiler is entered (or by the first compute, after ``register()``), samples only
between the start and the finish of each compute, streams its samples back over a
pipe, and is stopped and reaped, with bounded waits, on ``__exit__`` or ``close()``;
it also exits by itself when this process dies (its stdin closes).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from time import perf_counter
from typing import Any, NamedTuple

from ..callbacks import Callback

__all__ = ["ResourceProfiler", "ResourceData"]

_SAMPLER = Path(__file__).with_name("_sampler.py")
_WAIT = 5.0  # seconds: the longest we wait for the sampler to answer or to exit


class ResourceData(NamedTuple):
    """One sample: ``time`` (``time.perf_counter`` seconds), ``mem`` (resident memory of
    the process and its children, MiB) and ``cpu`` (percent of one core, summed)."""

    time: float
    mem: float
    cpu: float


def _check_psutil() -> None:
    if importlib.util.find_spec("psutil") is None:
        raise ImportError(
            "ResourceProfiler needs psutil to measure CPU and memory: "
            "pip install psutil (or pip install 'plait[diagnostics]')"
        )


class _Tracker:
    """The sampler process, and a thread that reads its samples as they come.

    The reading thread blocks in ``readline`` (without the GIL) and wakes once per
    sample, so it takes nothing from the tasks.
    """

    def __init__(self, dt: float):
        self.proc = subprocess.Popen(
            # -P: do not put this package's folder first on the sampler's sys.path,
            # where resource.py and profile.py would shadow the standard library's.
            [sys.executable, "-P", str(_SAMPLER), str(os.getpid()), repr(float(dt))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1,
        )
        self.lock = threading.Lock()
        self.samples: list[ResourceData] = []
        self.stopped = threading.Event()
        self.ready = threading.Event()
        self.stderr = ""
        self.reader = threading.Thread(target=self._read, name="plait-resource-tracker",
                                       daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            for line in self.proc.stdout:  # type: ignore[union-attr]
                if line.startswith("sample "):
                    _, t, mem, cpu = line.split()
                    with self.lock:
                        self.samples.append(ResourceData(float(t), float(mem), float(cpu)))
                elif line.startswith("stopped"):
                    self.stopped.set()
                elif line.startswith("ready"):
                    self.ready.set()
            self.stderr = self.proc.stderr.read()  # type: ignore[union-attr]
        except (OSError, ValueError):
            pass
        finally:  # the sampler is gone: never leave anyone waiting for it
            self.ready.set()
            self.stopped.set()

    def _send(self, command: str) -> bool:
        try:
            self.proc.stdin.write(command + "\n")  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
            return True
        except (OSError, ValueError):  # the sampler exited
            return False

    def is_alive(self) -> bool:
        return self.proc.poll() is None

    def start_collecting(self) -> None:
        # The first time only: wait for the sampler's start-up (about 0.1 s), so that
        # the first compute is sampled from its beginning.
        self.ready.wait(_WAIT)
        self.stopped.clear()
        self._send("collect")

    def stop_collecting(self) -> list[ResourceData]:
        """Ask for a last sample, wait for it (boundedly), return the samples."""
        if self._send("stop"):
            deadline = perf_counter() + _WAIT
            while not self.stopped.wait(0.05):
                if not self.reader.is_alive() or perf_counter() > deadline:
                    break
        with self.lock:
            samples, self.samples = self.samples, []
        if not samples and not self.is_alive():
            detail = self.stderr.strip().splitlines()[-1:] or ["no message"]
            warnings.warn(
                f"ResourceProfiler: the sampling process exited with code "
                f"{self.proc.returncode} ({detail[0]}); no samples for this compute",
                RuntimeWarning, stacklevel=4,
            )
        return samples

    def close(self) -> None:
        """End the sampler: ask, close its stdin, then kill it if it does not exit."""
        self._send("exit")
        try:
            self.proc.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass
        try:
            self.proc.wait(_WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(_WAIT)
        if threading.current_thread() is not self.reader:
            self.reader.join(_WAIT)
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()  # type: ignore[union-attr]
            except OSError:
                pass


class ResourceProfiler(Callback):
    """Sample CPU percent and resident memory (MiB) every ``dt`` seconds during computes.

    Counts this process and all its child processes (the process pool's workers too).
    Samples are taken between the start and the finish of each compute, by a helper
    process, so they keep coming while tasks hold the GIL. ``results`` is a list of
    :class:`ResourceData`; several computes inside one ``with`` block accumulate. The
    helper stops when the ``with`` block ends; after ``register()``, call
    ``unregister()`` and ``close()``.

    Examples
    --------
    >>> import time, plait
    >>> with ResourceProfiler(dt=0.01) as rprof:
    ...     plait.delayed(time.sleep)(0.05).compute(scheduler="sync")
    >>> len(rprof.results) >= 1, rprof.results[0].mem > 0
    (True, True)
    """

    def __init__(self, dt: float = 1):
        if not dt > 0:
            raise ValueError(f"dt must be a positive number of seconds, got dt={dt!r}")
        _check_psutil()  # fail here, with the fix, rather than in the first compute
        self._dt = dt
        self._tracker: _Tracker | None = None
        self._depth = 0
        self._lock = threading.Lock()
        self.results: list[ResourceData] = []
        self.start_time: float | None = None
        self.end_time: float | None = None

    def _ensure_tracker(self) -> _Tracker:
        if self._tracker is None or not self._tracker.is_alive():
            if self._tracker is not None:
                self._tracker.close()
            self._tracker = _Tracker(self._dt)
        return self._tracker

    def _start_collect(self) -> None:
        with self._lock:
            tracker = self._ensure_tracker()
            self._depth += 1
            if self._depth == 1:  # computes inside tasks share the outer sampling
                if self.start_time is None:
                    self.start_time = perf_counter()
                tracker.start_collecting()

    def _stop_collect(self) -> None:
        with self._lock:
            if self._depth == 0 or self._tracker is None:
                return
            self._depth -= 1
            if self._depth == 0:
                self.results.extend(self._tracker.stop_collecting())
                self.end_time = perf_counter()

    def __enter__(self) -> "ResourceProfiler":
        self.clear()
        with self._lock:
            self._ensure_tracker()  # start it now, so it is ready when the compute starts
        return super().__enter__()

    def __exit__(self, *exc_info: Any) -> None:
        super().__exit__(*exc_info)
        self.close()

    def _start(self, dsk: Any) -> None:
        self._start_collect()

    def _finish(self, dsk: Any, state: Any, errored: bool) -> None:
        self._stop_collect()

    def close(self) -> None:
        """Stop the sampling process and its reader (waiting a few seconds at most)."""
        with self._lock:
            tracker, self._tracker = self._tracker, None
            if tracker is not None and self._depth:
                self.results.extend(tracker.stop_collecting())
                self.end_time = perf_counter()
            self._depth = 0
        if tracker is not None:
            tracker.close()

    def clear(self) -> None:
        """Forget the samples (a running sampler keeps running)."""
        self.results = []
        self.start_time = None
        self.end_time = None

    def visualize(self, **kwargs: Any) -> Any:
        """Plot CPU and memory with bokeh; see :func:`plait.diagnostics.visualize`."""
        from .plots import visualize

        return visualize(self, **kwargs)

    def _plot(self, **kwargs: Any) -> Any:
        from .plots import plot_resources

        return plot_resources(self.results, **kwargs)

    def __del__(self) -> None:
        tracker = getattr(self, "_tracker", None)
        if tracker is not None:  # no waiting here: closing stdin makes the sampler exit
            try:
                tracker.proc.stdin.close()  # type: ignore[union-attr]
            except Exception:
                pass

    def __repr__(self) -> str:
        return f"<ResourceProfiler dt={self._dt}: {len(self.results)} samples>"

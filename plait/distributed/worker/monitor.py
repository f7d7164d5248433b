"""Watching a worker's process memory: when to spill, when to pause.

Fractions of the worker's ``memory_limit`` (config ``distributed.worker.memory.*``,
Dask's names and defaults):

``target`` (0.6)
    the :class:`~.spill.SpillStore` keeps at most this many bytes of results in memory
    (managed memory, measured with :func:`plait.sizeof`); older results go to disk.
``spill`` (0.7)
    when the process's resident memory (RSS: results plus everything else the process
    holds) passes this, results are spilled, least recently used first, until the RSS
    is back under ``target`` or nothing is left in memory to spill.
``pause`` (0.8)
    above this RSS the worker starts no new task and fetches no new input; it resumes
    once the RSS is back below it.
``terminate`` (0.95)
    the nanny's business: it restarts the worker before the operating system kills it.

Any fraction may be False (or None) to switch that behaviour off. Workers that share one
process (``LocalCluster(processes=False)``) share its RSS too, so each compares the
process's RSS with the sum of their limits.

>>> m = MemoryMonitor(1000, target=0.6, spill=0.7, pause=0.8)
>>> m.target_bytes, m.spill_bytes, m.pause_bytes
(600, 700, 800)
>>> MemoryMonitor(None).spill_bytes is None
True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import threading
import time
import weakref
from typing import Any

__all__ = ["MemoryMonitor", "fraction", "process_rss", "trim_memory"]

logger = logging.getLogger("plait.distributed.worker")

# Workers (their monitors) living in this process: they share its RSS.
_monitors: weakref.WeakSet = weakref.WeakSet()
_monitors_lock = threading.Lock()


def fraction(value: Any, name: str) -> float | None:
    """A config fraction: a number in (0, 1], or False/None for "off".

    >>> fraction(0.7, "spill"), fraction(False, "spill")
    (0.7, None)
    """
    if value is None or value is False:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not 0 < number <= 1 or isinstance(value, bool):
        raise ValueError(
            f"distributed.worker.memory.{name} must be a fraction of the memory limit in "
            f"(0, 1] or False to switch it off, got {value!r}")
    return number


def process_rss(pid: int | None = None) -> int:
    """Resident bytes of this process (or ``pid``)."""
    import psutil

    return int(psutil.Process(pid).memory_info().rss)


_libc: Any = None


def _glibc() -> Any:
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            lib = ctypes.CDLL(name) if name else None
            _libc = lib if lib is not None and hasattr(lib, "malloc_trim") else False
        except OSError:
            _libc = False
    return _libc


def trim_memory() -> bool:
    """Ask glibc to give freed memory back to the operating system (``malloc_trim``).

    Large NumPy buffers freed after spilling may sit in the allocator's free lists, so
    the RSS would not drop and the monitor would spill far more than needed. Returns
    False where there is no glibc.
    """
    lib = _glibc()
    if not lib:
        return False
    lib.malloc_trim(0)
    return True


class MemoryMonitor:
    """Thresholds in bytes and the spilling that brings the RSS back down.

    Parameters
    ----------
    memory_limit : int or None
        The worker's limit in bytes; None switches everything off.
    store : SpillStore, optional
        Where :meth:`spill_to_target` evicts from.
    target, spill, pause : float or None
        Fractions of ``memory_limit`` (see the module docstring).
    """

    def __init__(self, memory_limit: int | None, store: Any = None,
                 target: float | None = 0.6, spill: float | None = 0.7,
                 pause: float | None = 0.8) -> None:
        self.memory_limit = memory_limit
        self.store = store
        self.target = fraction(target, "target")
        self.spill = fraction(spill, "spill")
        self.pause = fraction(pause, "pause")
        self.pid = os.getpid()
        self.last_rss = 0
        self.max_rss = 0
        self._last_warning = 0.0

    def open(self) -> None:
        """Count this worker's limit among the process's (until :meth:`close`)."""
        if self.memory_limit:
            with _monitors_lock:
                _monitors.add(self)

    def __repr__(self) -> str:
        return (f"<MemoryMonitor limit={self.memory_limit} target={self.target} "
                f"spill={self.spill} pause={self.pause}>")

    def _bytes(self, frac: float | None) -> int | None:
        if frac is None or not self.memory_limit:
            return None
        return int(frac * self.memory_limit)

    @property
    def target_bytes(self) -> int | None:
        """Managed bytes the store may keep in memory."""
        return self._bytes(self.target)

    @property
    def spill_bytes(self) -> int | None:
        return self._bytes(self.spill)

    @property
    def pause_bytes(self) -> int | None:
        return self._bytes(self.pause)

    def close(self) -> None:
        """Stop counting this worker's limit among the process's."""
        with _monitors_lock:
            _monitors.discard(self)

    def process_limit(self) -> int:
        """The limit the process RSS is judged by: the sum of the limits of the
        workers in this process (just ours when the worker has a process of its own)."""
        with _monitors_lock:
            limits = [m.memory_limit for m in _monitors if m.memory_limit]
        return max(sum(limits), self.memory_limit or 0)

    def _process_bytes(self, frac: float | None) -> int | None:
        if frac is None or not self.memory_limit:
            return None
        return int(frac * self.process_limit())

    def rss(self) -> int:
        """Measure the process's RSS now (and remember it and its maximum)."""
        rss = process_rss()
        self.last_rss = rss
        self.max_rss = max(self.max_rss, rss)
        return rss

    def above_spill(self, rss: int) -> bool:
        limit = self._process_bytes(self.spill)
        return limit is not None and rss > limit

    def above_pause(self, rss: int) -> bool:
        limit = self._process_bytes(self.pause)
        return limit is not None and rss > limit

    def spill_to_target(self) -> tuple[int, int]:
        """Evict results, least recently used first, until the RSS is under ``target``
        (``spill`` when target is off) or nothing is left to evict.

        Blocking: the worker runs it on a thread. Returns (values evicted, bytes).
        """
        store = self.store
        frac = self.target if self.target is not None else self.spill
        goal = self._process_bytes(frac)
        if store is None or goal is None or not hasattr(store, "evict"):
            return 0, 0
        count = total = 0
        rss = self.rss()
        while rss > goal:
            nbytes = store.evict()
            if nbytes is None:
                break
            count += 1
            total += nbytes
            before = rss
            rss = self.rss()
            if before - rss < nbytes // 2:
                # The allocator kept what was freed: hand it back before judging.
                trim_memory()
                rss = self.rss()
        if count:
            logger.debug("spilled %d values (%d bytes) to bring the RSS to %d bytes",
                         count, total, rss)
        return count, total

    def warn_if_stuck(self, rss: int, paused: bool) -> None:
        """Log (at most every 10 s) that the worker stays paused with nothing to spill."""
        if not paused:
            return
        now = time.monotonic()
        if now - self._last_warning < 10:
            return
        self._last_warning = now
        managed = getattr(self.store, "memory_nbytes", 0) if self.store is not None else 0
        logger.warning(
            "worker process %d stays paused: its memory use (%d MiB) is above %d%% of its "
            "limit (%d MiB) and only %d MiB of it are results that could be spilled; the "
            "rest is memory the tasks or libraries hold (unmanaged). Raise memory_limit, "
            "use smaller chunks, or free memory in your tasks.",
            self.pid, rss >> 20, round(100 * (self.pause or 0)),
            self.process_limit() >> 20, managed >> 20)

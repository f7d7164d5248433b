"""The worker's memory management: its store, its monitor loop, its memory metrics.

:class:`WorkerMemoryManager` is owned by a :class:`~.server.Worker`. With a memory
limit it gives the worker a :class:`~.spill.SpillStore` in the worker's local directory
(spilling past ``target``), and every ``monitor-interval`` (and whenever the results in
memory grew by a twentieth of the limit since the last look) it measures the process's
RSS: above ``spill`` it evicts results on a thread until the RSS is under ``target``;
above ``pause`` it pauses the worker (the worker tells the scheduler with
``worker-status-change``); back below ``pause`` it resumes it. Without a limit the store
is a plain in-memory :class:`~.store.DataStore` and nothing is enforced, but memory is
still measured and reported.

Metrics (:meth:`WorkerMemoryManager.metrics`, part of every heartbeat)::

    "memory": {"rss", "max_rss", "managed", "managed_in_memory", "spilled",
               "spilled_disk", "unmanaged", "limit"}
    "status": "running" | "paused"
    "spilled_bytes", "spill_count", "unspilled_bytes", "unspill_count"  (totals)

``unmanaged`` is the RSS minus the results held in memory (by every worker of the
process): interpreter, libraries, task temporaries, allocator slack.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from plait import config
from plait.utils.memory import peak_rss

from ..comm.core import seconds
from .monitor import MemoryMonitor, fraction
from .spill import SpillStore
from .store import DataStore

__all__ = ["WorkerMemoryManager"]

logger = logging.getLogger("plait.distributed.worker")

#: Look again when results in memory grew by this fraction of the limit.
GROWTH_CHECK_FRACTION = 0.05


def _config_fraction(value: Any, name: str) -> float | None:
    if value is None:
        value = config.get(f"distributed.worker.memory.{name}", False)
    return fraction(value, name)


class WorkerMemoryManager:
    """Spilling, pausing and measuring for one worker (see the module docstring).

    Parameters
    ----------
    worker : Worker
        Its owner: gets ``_set_paused(bool)`` calls.
    memory_limit : int or None
        Bytes.
    target, spill, pause : float, False or None
        Fractions of the limit; None reads ``distributed.worker.memory.<name>``.
    monitor_interval : float or None
        Seconds between measurements; None reads the config.
    """

    def __init__(self, worker: Any, memory_limit: int | None, target: Any = None,
                 spill: Any = None, pause: Any = None,
                 monitor_interval: float | None = None) -> None:
        self.worker = worker
        self.memory_limit = memory_limit
        self.monitor = MemoryMonitor(
            memory_limit, None, _config_fraction(target, "target"),
            _config_fraction(spill, "spill"), _config_fraction(pause, "pause"))
        if monitor_interval is None:
            monitor_interval = seconds(
                config.get("distributed.worker.memory.monitor-interval", "100ms"))
        if monitor_interval <= 0:
            raise ValueError(f"memory monitor interval must be positive, got "
                             f"{monitor_interval!r}")
        self.interval = monitor_interval
        self.compression = config.get("distributed.worker.memory.spill-compression", "auto")
        if self.compression in (False, "none", "None"):
            self.compression = None
        if self.compression not in ("auto", "zlib", None):
            raise ValueError(
                f"distributed.worker.memory.spill-compression must be 'auto', 'zlib' or "
                f"False, got {self.compression!r}")
        self.store: Any = None
        self._checking = False
        self._memory_at_check = 0
        self._growth_step = max(int((memory_limit or 0) * GROWTH_CHECK_FRACTION), 1 << 20)
        self._cpu: Any = None

    @property
    def enforcing(self) -> bool:
        return bool(self.memory_limit)

    def make_store(self, local_directory: str) -> DataStore:
        """The worker's store: spilling under ``local_directory`` when there is a limit
        and a target or spill fraction."""
        m = self.monitor
        m.open()
        if self.memory_limit and (m.target is not None or m.spill is not None):
            store: DataStore = SpillStore(os.path.join(local_directory, "storage"),
                                          target=m.target_bytes,
                                          compression=self.compression)
        else:
            store = DataStore()
        self.store = store
        m.store = store
        return store

    def use_store(self, store: Any) -> None:
        """A store the user gave (``Worker(data=...)``): measured, spilled only if it
        has ``evict``."""
        self.store = store
        self.monitor.store = store
        self.monitor.open()

    # -- monitoring ---------------------------------------------------------------------

    async def monitor_loop(self) -> None:
        worker = self.worker
        while worker.status == "running":
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep watching: one failed look must not end it
                logger.exception("worker %s: the memory monitor failed", worker.name)
                await asyncio.sleep(1)

    def maybe_check(self) -> None:
        """After a batch of events: look now if results in memory grew a lot."""
        if not self.enforcing:
            return
        managed = getattr(self.store, "memory_nbytes", None)
        if managed is None:
            managed = getattr(self.store, "total_nbytes", 0)
        if managed - self._memory_at_check < self._growth_step:
            return
        if not self._checking:
            self.worker._spawn(self.check())
            return
        # A check is spilling on its thread while results keep arriving: at least
        # stop starting tasks now if memory is past the pause threshold.
        self._memory_at_check = managed
        rss = self.monitor.rss()
        self._retarget(rss)
        if self.monitor.above_pause(rss) and not self.worker.paused:
            self.worker._set_paused(True, rss)

    async def check(self) -> None:
        """Measure; pause, spill and resume as the thresholds say."""
        if self._checking:
            return
        self._checking = True
        try:
            await self._check()
        finally:
            self._checking = False

    async def _check(self) -> None:
        m = self.monitor
        worker = self.worker
        rss = m.rss()
        self._memory_at_check = getattr(self.store, "memory_nbytes",
                                        getattr(self.store, "total_nbytes", 0))
        if not self.enforcing:
            return
        self._retarget(rss)
        if m.above_pause(rss) and not worker.paused:
            worker._set_paused(True, rss)
        if m.above_spill(rss) and getattr(self.store, "evict", None) is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, m.spill_to_target)
            rss = m.rss()
            self._memory_at_check = getattr(self.store, "memory_nbytes", 0)
            self._retarget(rss)
        if worker.status != "running":
            return
        if worker.paused:
            if not m.above_pause(rss):
                worker._set_paused(False, rss)
            else:
                m.warn_if_stuck(rss, True)

    def _retarget(self, rss: int) -> None:
        """Keep the store's results under ``target`` x limit *minus* the unmanaged
        memory just measured, so that the whole process, not just its results, stays
        near ``target`` between two looks of the monitor.

        (Workers sharing a process take the unmanaged memory in proportion to their
        limits.)
        """
        store = self.store
        base = self.monitor.target_bytes
        if base is None or not isinstance(store, SpillStore):
            return
        own = store.memory_nbytes
        unmanaged = max(rss - _process_managed_in_memory(store, own), 0)
        share = unmanaged * (self.memory_limit or 0) // max(self.monitor.process_limit(), 1)
        store.target = max(base - share, 0)

    # -- reporting ----------------------------------------------------------------------

    def cpu_percent(self) -> float:
        """CPU use of the process since the last call (percent of one core)."""
        try:
            if self._cpu is None:
                import psutil

                self._cpu = psutil.Process()
                self._cpu.cpu_percent(None)  # the first call only sets the baseline
            return float(self._cpu.cpu_percent(None))
        except Exception:
            return 0.0

    def metrics(self) -> dict:
        m = self.monitor
        try:
            rss = m.rss()
        except Exception:
            rss = m.last_rss
        store = self.store
        managed = int(getattr(store, "total_nbytes", 0) or 0)
        in_memory = int(getattr(store, "memory_nbytes", managed))
        spilled = int(getattr(store, "spilled_nbytes", 0))
        return {
            "memory": {
                "rss": rss,
                "max_rss": max(m.max_rss, peak_rss()),
                "managed": managed,
                "managed_in_memory": in_memory,
                "spilled": spilled,
                "spilled_disk": int(getattr(store, "disk_nbytes", 0)),
                "unmanaged": max(rss - _process_managed_in_memory(store, in_memory), 0),
                "limit": self.memory_limit,
            },
            "status": "paused" if self.worker.paused else "running",
            "cpu": self.cpu_percent(),
            "spilled_bytes": int(getattr(store, "spilled_bytes", 0)),
            "spill_count": int(getattr(store, "spill_count", 0)),
            "unspilled_bytes": int(getattr(store, "unspilled_bytes", 0)),
            "unspill_count": int(getattr(store, "unspill_count", 0)),
        }

    def close(self) -> None:
        self.monitor.close()
        close = getattr(self.store, "close", None)
        if close is not None:
            close()


def _process_managed_in_memory(store: Any, own: int) -> int:
    """Results in memory of every worker in this process (they share its RSS)."""
    from .monitor import _monitors, _monitors_lock

    with _monitors_lock:
        stores = [m.store for m in _monitors if m.store is not None]
    if not any(s is store for s in stores):  # identity: == would compare contents
        stores.append(store)
    total = 0
    for s in stores:
        total += int(getattr(s, "memory_nbytes", getattr(s, "total_nbytes", 0)) or 0)
    return max(total, own)

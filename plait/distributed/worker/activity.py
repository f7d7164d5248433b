"""What a worker tells the dashboard beyond its memory: where task time goes (a
statistical profile), its network traffic, its recent transfers and its log.

:class:`Activity` is owned by the :class:`~.server.Worker`. Task threads call
:meth:`Activity.task_started` / :meth:`Activity.task_done` (two dict operations); the
loop records each fetch from a peer with :meth:`Activity.fetched` and each reply to a
peer or client with :meth:`Activity.sent`. :meth:`Activity.report` is merged into the
heartbeat's metrics: network bytes per second since the last report and the transfers
finished since then (the scheduler's dashboard draws them in the task stream).

>>> a = Activity(profile_interval=None)
>>> a.fetched("tcp://127.0.0.1:2", 1.0, 1.5, nbytes=1000, nkeys=2)
>>> a.sent(500)
>>> r = a.report(now=a._last + 2.0)
>>> r["read_bytes"], r["write_bytes"], r["transfers"]
(500.0, 250.0, [['tcp://127.0.0.1:2', 1.0, 1.5, 1000, 2]])
>>> a.report()["transfers"]
[]
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Hashable
from typing import Any

from ...graph.spec import key_prefix
from ..logbuffer import attach
from ..profile import Sampler, profile_payload

__all__ = ["Activity"]


class Activity:
    """Profile sampler, network counters and recent transfers of one worker.

    Parameters
    ----------
    profile_interval:
        Seconds between stack samples of the task threads (None: no profiling).
    """

    def __init__(self, profile_interval: float | None = 0.01):
        self.sampler = Sampler(profile_interval) if profile_interval else None
        self._transfers: deque = deque(maxlen=2000)
        self._read = 0
        self._written = 0
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self.logs = attach()

    def start(self) -> None:
        if self.sampler is not None:
            self.sampler.start()

    def close(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()

    # -- task threads ------------------------------------------------------------------
    def task_started(self, key: Hashable) -> None:
        if self.sampler is not None:
            self.sampler.watch(threading.get_ident(), key_prefix(key))

    def task_done(self) -> None:
        if self.sampler is not None:
            self.sampler.unwatch(threading.get_ident())

    # -- network -----------------------------------------------------------------------
    def fetched(self, peer: str, start: float, stop: float, nbytes: int, nkeys: int) -> None:
        """A fetch of ``nkeys`` values (``nbytes``) from ``peer`` took ``start``-``stop``."""
        with self._lock:
            self._read += nbytes
            self._transfers.append([peer, start, stop, nbytes, nkeys])

    def sent(self, nbytes: int) -> None:
        with self._lock:
            self._written += nbytes

    def report(self, now: float | None = None) -> dict[str, Any]:
        """Bytes per second read and written since the last report, and the transfers
        finished since then (``[peer, start, stop, nbytes, nkeys]``)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            elapsed = max(now - self._last, 1e-3)
            out = {"read_bytes": self._read / elapsed, "write_bytes": self._written / elapsed,
                   "transfers": list(self._transfers)}
            self._read = self._written = 0
            self._transfers.clear()
            self._last = now
        return out

    # -- rpc handlers ------------------------------------------------------------------
    def profile(self, comm: Any = None) -> dict:
        """``{"profile": {prefix: call tree}}`` of the samples taken so far."""
        return {"status": "OK", "profile": profile_payload(self.sampler)}

    def get_logs(self, comm: Any = None, n: int = 500) -> dict:
        """The worker process's recent log records (newest last)."""
        return {"status": "OK", "logs": self.logs.records(n)}

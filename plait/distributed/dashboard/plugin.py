"""What the dashboard remembers between snapshots: a scheduler plugin.

The transition hook counts completions per task prefix and keeps the task stream: a
bounded buffer of finished work (compute, transfer and spill intervals as the workers
reported them) with a cursor, so a page only receives what is new. The hook does nothing
for the other transitions, so the scheduler pays for the dashboard only per finished task.

>>> p = TaskRecorder()
>>> p.transition(("inc-3f2a9c01", 0), "waiting", "processing", worker="tcp://a:1")
>>> p.transition(("inc-3f2a9c01", 0), "processing", "memory", worker="tcp://a:1",
...              startstops=[("compute", 1.0, 1.5)], thread=7)
>>> p.done
{'inc': 1}
>>> cursor, rows = p.stream_since(0); cursor, rows[0]["prefix"], rows[0]["stop"]
(1, 'inc', 1.5)
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from typing import Any

from ...graph.spec import key_prefix
from ..plugins import SchedulerPlugin

__all__ = ["TaskRecorder"]

class TaskRecorder(SchedulerPlugin):
    """Progress counters per prefix, a task stream and cluster events for the dashboard.

    Parameters
    ----------
    maxlen:
        Task-stream rows kept (older ones scroll away).
    """

    name = "dashboard"

    def __init__(self, maxlen: int = 20_000):
        self.scheduler: Any = None
        self.done: dict[str, int] = {}
        self.stream: deque = deque(maxlen=maxlen)
        self._seq = itertools.count(1)
        self.last_seq = 0
        self.events: deque = deque(maxlen=500)
        self._reported: dict[str, float] = {}

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler

    # -- hooks -----------------------------------------------------------------------
    def _prefix(self, key: Any) -> str:
        tasks = getattr(getattr(self.scheduler, "state", None), "tasks", None) or {}
        ts = tasks.get(key)
        return ts.prefix.name if ts is not None else key_prefix(key)

    def transition(self, key: Any, start: str, finish: str, *args: Any,
                   stimulus_id: str | None = None, **kwargs: Any) -> None:
        if finish == "memory" and start == "processing":
            prefix = self._prefix(key)
            self.done[prefix] = self.done.get(prefix, 0) + 1
        elif finish != "erred":
            return
        else:
            prefix = self._prefix(key)
        startstops = kwargs.get("startstops")
        if startstops and finish in ("memory", "erred"):
            worker = kwargs.get("worker")
            thread = kwargs.get("thread")
            for action, begin, end in startstops:
                self._append({
                    "key": str(key), "prefix": prefix,
                    "action": "error" if finish == "erred" and action == "compute" else action,
                    "worker": worker, "thread": thread, "start": begin, "stop": end})

    def _append(self, row: dict) -> None:
        self.last_seq = next(self._seq)
        row["seq"] = self.last_seq
        self.stream.append(row)

    def ingest_worker_reports(self) -> None:
        """Add the transfers workers reported with their last heartbeats to the stream
        (each heartbeat's list once: its ``time`` tells a new report from an old one)."""
        workers = getattr(getattr(self.scheduler, "state", None), "workers", None) or {}
        for address, ws in list(workers.items()):
            metrics = ws.metrics or {}
            stamp = metrics.get("time")
            if stamp is None or self._reported.get(address) == stamp:
                continue
            self._reported[address] = stamp
            for peer, begin, end, nbytes, nkeys in metrics.get("transfers") or ():
                self._append({"key": f"{nkeys} value(s), {nbytes} bytes from {peer}",
                              "prefix": "transfer", "action": "transfer", "worker": address,
                              "thread": "network", "start": begin, "stop": end})
        for address in set(self._reported) - set(workers):
            del self._reported[address]

    def add_worker(self, scheduler: Any, worker: str) -> None:
        self.events.append({"time": time.time(), "action": "add-worker", "worker": worker})

    def remove_worker(self, scheduler: Any, worker: str, **kwargs: Any) -> None:
        self.events.append({"time": time.time(), "action": "remove-worker",
                            "worker": worker, "reason": kwargs.get("stimulus_id")})

    # -- queries ---------------------------------------------------------------------
    def progress(self) -> dict[str, dict[str, int]]:
        """``{prefix: {waiting, processing, memory, erred, done, total}}`` (see
        :func:`.snapshot.count_tasks`)."""
        from .snapshot import count_tasks

        return count_tasks(self.scheduler, self.done)[1]

    def stream_since(self, seq: int, limit: int = 5000) -> tuple[int, list[dict]]:
        """Rows newer than ``seq`` (at most the last ``limit``) and the new cursor."""
        if seq >= self.last_seq:
            return self.last_seq, []
        rows = []
        for row in reversed(self.stream):
            if row["seq"] <= seq or len(rows) >= limit:
                break
            rows.append(row)
        rows.reverse()
        return self.last_seq, rows

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

WAITING = frozenset({"waiting", "queued", "no-worker"})
COLUMNS = ("waiting", "processing", "memory", "erred")


def _column(state: str) -> str | None:
    if state in WAITING:
        return "waiting"
    if state in COLUMNS:
        return state
    return None  # released (not needed now) or forgotten


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
                self.last_seq = next(self._seq)
                self.stream.append({
                    "seq": self.last_seq, "key": str(key), "prefix": prefix,
                    "action": "error" if finish == "erred" and action == "compute" else action,
                    "worker": worker, "thread": thread, "start": begin, "stop": end})

    def add_worker(self, scheduler: Any, worker: str) -> None:
        self.events.append({"time": time.time(), "action": "add-worker", "worker": worker})

    def remove_worker(self, scheduler: Any, worker: str, **kwargs: Any) -> None:
        self.events.append({"time": time.time(), "action": "remove-worker",
                            "worker": worker, "reason": kwargs.get("stimulus_id")})

    # -- queries ---------------------------------------------------------------------
    def progress(self) -> dict[str, dict[str, int]]:
        """``{prefix: {waiting, processing, memory, erred, done, total}}`` of the prefixes
        the scheduler knows (``total``: its live tasks; ``done``: completions so far).

        One walk over the tasks per call: a few milliseconds for 10,000 tasks, paid
        only while a page is open, and always in step with the scheduler's state."""
        out: dict[str, dict[str, int]] = {}
        tasks = getattr(getattr(self.scheduler, "state", None), "tasks", None) or {}
        for ts in list(tasks.values()):
            name = ts.prefix.name
            row = out.get(name)
            if row is None:
                row = out[name] = {"waiting": 0, "processing": 0, "memory": 0, "erred": 0,
                                   "done": self.done.get(name, 0), "total": 0}
            column = _column(ts.state)
            if column is not None:
                row[column] += 1
            row["total"] += 1
        return out

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

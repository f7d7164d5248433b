"""Read-only answers about the scheduler's state (``who_has``, ``has_what``, ...).

A mixin of :class:`.state.SchedulerState`; every answer is plain data ready to send.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...graph.spec import Key

__all__ = ["Queries"]


class Queries:
    """Mixin: queries the server's rpc handlers answer."""

    def who_has(self, keys: Iterable[Key] | None = None) -> dict:
        """``{key: [worker addresses]}`` (unknown keys map to ``[]``)."""
        tasks = self.tasks
        if keys is None:
            keys = list(tasks)
        out = {}
        for key in keys:
            ts = tasks.get(key)
            out[key] = [ws.address for ws in ts.who_has] if ts is not None else []
        return out

    def has_what(self, workers: Iterable[str] | None = None) -> dict:
        """``{address: [keys]}`` for the given workers (all by default)."""
        if workers is None:
            workers = list(self.workers)
        out = {}
        for address in workers:
            ws = self.workers.get(self.aliases.get(address, address))
            out[address] = [ts.key for ts in ws.has_what] if ws is not None else []
        return out

    def ncores(self, workers: Iterable[str] | None = None) -> dict:
        """``{address: nthreads}``."""
        if workers is None:
            return {a: ws.nthreads for a, ws in self.workers.items()}
        return {a: self.workers[a].nthreads for a in workers if a in self.workers}

    def task_status(self, keys: Iterable[Key]) -> dict:
        """``{key: state}``; keys the scheduler does not know are ``"forgotten"``."""
        tasks = self.tasks
        return {k: (tasks[k].state if k in tasks else "forgotten") for k in keys}

    def identity(self) -> dict[str, Any]:
        """Workers, their sizes and the task counts (``scheduler_info``)."""
        counts: dict = {}
        for ts in self.tasks.values():
            counts[ts.state] = counts.get(ts.state, 0) + 1
        return {
            "type": "Scheduler",
            "workers": {a: ws.identity() for a, ws in self.workers.items()},
            "n_tasks": len(self.tasks),
            "task_states": counts,
            "n_clients": len(self.clients),
            "queued": len(self.queue),
            "total_nthreads": self.total_nthreads,
            # workers lost, tasks rescheduled and recomputed, KilledWorker errors
            "loss_counts": dict(self.loss_counts),
        }

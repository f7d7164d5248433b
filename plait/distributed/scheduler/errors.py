"""Errors the scheduler itself gives a task (as opposed to errors a task raised).

They are plain exceptions whose only argument is their message, so they pickle and
reach the client's ``Future.result()`` like any task error.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "GraphCycleError",
    "InvalidTransition",
    "KilledWorker",
    "LostDataError",
    "UnknownDependencyError",
    "killed_worker_error",
]


class LostDataError(RuntimeError):
    """Data that was scattered (not computed) lived only on workers that are gone."""


class UnknownDependencyError(KeyError):
    """A submitted task needs a key the scheduler does not know."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class GraphCycleError(ValueError):
    """Submitted tasks depend on each other in a cycle."""


class InvalidTransition(RuntimeError):
    """The state machine was asked for a move it has no arrow for (a bug)."""


class KilledWorker(Exception):
    """A task was running on too many workers that died while running it.

    Dask's name, so ``except KilledWorker`` clauses carry over. The scheduler gives a
    task this error once more than ``distributed.scheduler.allowed-failures`` workers
    (3 by default) died while it ran there; its dependents err with it too. The message
    names the task, each worker that died and why (``memory``, ``signal``, ``exit``,
    ``heartbeat`` or ``connection``).

    Attributes
    ----------
    task : the key
    workers : list of dict
        ``{"address", "reason", "detail"}`` for each worker death, oldest first.
    last_worker : str or None
        Address of the last worker that died running it.
    allowed_failures : int or None

    >>> e = killed_worker_error("f-1", [("tcp://127.0.0.1:1", "signal", "killed by SIGKILL")], 0)
    >>> isinstance(e, KilledWorker), e.last_worker
    (True, 'tcp://127.0.0.1:1')
    >>> print(e)  # doctest: +NORMALIZE_WHITESPACE
    task 'f-1' was running on 1 worker that died while running it (allowed-failures is
    0): tcp://127.0.0.1:1 (signal: killed by SIGKILL). The task is not run again: look
    at what it does (memory it allocates, crashes in compiled code), raise
    distributed.scheduler.allowed-failures, or give the workers more memory.
    """

    def __init__(self, message: str = "", task: Any = None, workers: Any = (),
                 allowed_failures: int | None = None):
        super().__init__(message)
        self.task = task
        self.workers = [dict(w) for w in workers]
        self.allowed_failures = allowed_failures

    @property
    def last_worker(self) -> str | None:
        return self.workers[-1]["address"] if self.workers else None

    def __reduce__(self):
        # Keep the attributes across pickling (the default keeps only ``args``).
        return (type(self), (self.args[0] if self.args else "", self.task, self.workers,
                             self.allowed_failures))

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def killed_worker_error(task: Any, deaths: list, allowed_failures: int) -> KilledWorker:
    """A :class:`KilledWorker` for ``task`` from ``deaths``: ``[(address, reason,
    detail)]`` in the order the workers died."""
    n = len(deaths)
    parts = ", ".join(f"{address} ({reason}: {detail})" if detail else f"{address} ({reason})"
                      for address, reason, detail in deaths)
    message = (
        f"task {task!r} was running on {n} worker{'s' if n != 1 else ''} that died while "
        f"running it (allowed-failures is {allowed_failures}): {parts}. The task is not "
        "run again: look at what it does (memory it allocates, crashes in compiled "
        "code), raise distributed.scheduler.allowed-failures, or give the workers more "
        "memory."
    )
    workers = [{"address": a, "reason": r, "detail": d} for a, r, d in deaths]
    return KilledWorker(message, task, workers, allowed_failures)

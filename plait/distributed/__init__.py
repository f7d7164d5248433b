"""plait.distributed: a scheduler process, worker processes and a futures Client.

>>> from plait.distributed import Client
>>> client = Client()  # doctest: +SKIP
>>> future = client.submit(sum, [1, 2, 3])  # doctest: +SKIP
>>> future.result()  # doctest: +SKIP
6

``Client()`` starts a local cluster (one worker process per core) and becomes the
scheduler of every collection's ``.compute()`` until it is closed.
"""

from __future__ import annotations

from typing import Any

from .as_completed import as_completed, wait
from .client import Client, fire_and_forget
from .coordination import Event, Lock, Queue, Semaphore, Variable
from .future import Future, FutureCancelledError
from .progress import futures_of, progress
from .worker_client import default_client, get_client, worker_client

__all__ = [
    "Client",
    "Event",
    "Future",
    "FutureCancelledError",
    "KilledWorker",
    "LocalCluster",
    "Lock",
    "Nanny",
    "Queue",
    "Scheduler",
    "Security",
    "Semaphore",
    "Variable",
    "Worker",
    "as_completed",
    "default_client",
    "fire_and_forget",
    "futures_of",
    "get_client",
    "get_worker",
    "progress",
    "rejoin",
    "secede",
    "wait",
    "worker_client",
]

# The server side is imported on first use: a client-only program never loads it.
_LAZY = {
    "KilledWorker": ("plait.distributed.scheduler.errors", "KilledWorker"),
    "LocalCluster": ("plait.distributed.cluster", "LocalCluster"),
    "Nanny": ("plait.distributed.nanny", "Nanny"),
    "Security": ("plait.distributed.security", "Security"),
    "Scheduler": ("plait.distributed.scheduler", "Scheduler"),
    "Worker": ("plait.distributed.worker", "Worker"),
    "get_worker": ("plait.distributed.worker", "get_worker"),
    "secede": ("plait.distributed.worker", "secede"),
    "rejoin": ("plait.distributed.worker", "rejoin"),
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'plait.distributed' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(__all__))

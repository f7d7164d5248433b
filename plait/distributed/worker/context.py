"""What a running task may ask of its worker: ``get_worker``, ``secede``, ``rejoin``.

The worker thread that runs a task records the worker and the key in a thread-local
(:data:`thread_state`) for the duration of the call, so these functions work from inside
any task and fail clearly anywhere else.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["get_worker", "secede", "rejoin", "thread_state", "current_key"]

#: ``.worker`` and ``.key`` of the task running on this thread (None outside tasks).
thread_state = threading.local()


def _current() -> tuple[Any, Any]:
    worker = getattr(thread_state, "worker", None)
    if worker is None:
        raise ValueError(
            "no plait worker is running a task on this thread: get_worker(), secede() "
            "and rejoin() only work inside a task that runs on a plait.distributed worker "
            "(submit the function with client.submit(...) to run it there)"
        )
    return worker, thread_state.key


def get_worker() -> Any:
    """The :class:`~plait.distributed.worker.Worker` running the current task.

    >>> get_worker()
    Traceback (most recent call last):
    ...
    ValueError: no plait worker is running a task on this thread: ...
    """
    return _current()[0]


def current_key() -> Any:
    """The key of the task running on this thread."""
    return _current()[1]


def secede() -> None:
    """Give this task's thread slot back to the worker while it waits on other work.

    Call it before blocking on futures (``worker_client`` does this for you), so the
    worker can run other tasks meanwhile; the task is then *long-running*.
    """
    worker, key = _current()
    if getattr(thread_state, "seceded", False):
        return
    thread_state.seceded = True
    worker._secede(key)


def rejoin() -> None:
    """Take a thread slot again after :func:`secede`, waiting until one is free."""
    worker, key = _current()
    if not getattr(thread_state, "seceded", False):
        return
    worker._rejoin(key)
    thread_state.seceded = False

"""Which client a piece of code talks to: the default client, ``get_client`` (inside a
task: a client of the task's own scheduler), and ``worker_client`` (a task that submits
more tasks leaves the worker's thread count while it waits on them)."""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager
from typing import Any, Iterator

__all__ = ["get_client", "worker_client", "default_client", "set_default_client"]

_lock = threading.RLock()
# Separate from _lock: a client being made here registers itself (taking _lock) from
# its event loop while this thread waits for it.
_make_lock = threading.Lock()
# Clients that asked to be the default, oldest first; the newest open one is the default.
_defaults: "list[weakref.ref]" = []
# Every open client (so an unpickled future can find one for its scheduler).
_open: "weakref.WeakSet" = weakref.WeakSet()


def _register(client: Any, as_default: bool) -> None:
    with _lock:
        _open.add(client)
        if as_default:
            _defaults.append(weakref.ref(client))


def _unregister(client: Any) -> None:
    with _lock:
        _open.discard(client)
        _defaults[:] = [r for r in _defaults if r() is not None and r() is not client]


def default_client() -> Any:
    """The newest open client created with ``set_as_default=True``, or None."""
    with _lock:
        for ref in reversed(_defaults):
            c = ref()
            if c is not None and c.status == "running":
                return c
    return None


def set_default_client(client: Any) -> None:
    """Make ``client`` the default client (and the default scheduler of collections)."""
    with _lock:
        _defaults[:] = [r for r in _defaults if r() is not client]
        _defaults.append(weakref.ref(client))
    client._take_over_config()


def _current_worker() -> Any:
    try:
        from .worker import get_worker
    except ImportError:  # the worker package is not there (yet): no worker context
        return None
    try:
        return get_worker()
    except ValueError:
        return None


def _worker_client(worker: Any, timeout: float | None) -> Any:
    """The client that tasks on ``worker`` share (made on first use, on the worker's
    own event loop so that in-process clusters need no second loop)."""
    from .client import Client

    with _make_lock:
        client = getattr(worker, "_plait_client", None)
        if client is not None and client.status == "running":
            return client
        address = getattr(worker, "scheduler_address", None)
        if address is None:
            address = worker.scheduler.address
        loop = getattr(worker, "loop", None)
        client = Client(address, loop=loop, set_as_default=False, timeout=timeout,
                        name=f"worker-client-{getattr(worker, 'address', '')}")
        worker._plait_client = client
        return client


def get_client(address: str | None = None, timeout: float | None = None) -> Any:
    """A client to submit work with.

    Inside a task running on a worker: a client connected to that worker's scheduler
    (shared by the worker's tasks). Elsewhere: the default client, or a new client of
    ``address`` if there is none.
    """
    worker = _current_worker()
    if worker is not None:
        return _worker_client(worker, timeout)
    client = default_client()
    if client is not None and (address is None or _same(client, address)):
        return client
    if address is not None:
        from .client import Client

        return Client(address, timeout=timeout)
    raise ValueError("no plait Client is running and no address was given: create one "
                     "with plait.distributed.Client() (a local cluster) or "
                     "Client('tcp://host:port')")


def _same(client: Any, address: str) -> bool:
    a = client.scheduler_address or ""
    return a == address or a.split("://")[-1] == address.split("://")[-1]


def _client_for_unpickled_future() -> Any:
    """The client a future unpickled here belongs to, or None (bound on first use)."""
    worker = _current_worker()
    if worker is not None:
        return _worker_client(worker, None)
    return default_client()


@contextmanager
def worker_client(timeout: float | None = None, separate_thread: bool = True) -> Iterator[Any]:
    """Inside a task: a client to submit tasks and wait on them without holding one of
    the worker's threads (the task secedes on entry and rejoins on exit).

    >>> def fib(n):  # doctest: +SKIP
    ...     if n < 2:
    ...         return n
    ...     with worker_client() as c:
    ...         a, b = c.submit(fib, n - 1), c.submit(fib, n - 2)
    ...         return a.result() + b.result()
    """
    worker = _current_worker()
    if worker is None:
        raise ValueError("worker_client() works only inside a task running on a plait "
                         "worker; elsewhere use get_client() or Client(...)")
    from .worker import rejoin, secede

    client = _worker_client(worker, timeout)
    if separate_thread:
        secede()
    try:
        yield client
    finally:
        if separate_thread:
            rejoin()

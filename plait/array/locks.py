"""Locks that plait supplies for writes, one kind per scheduler.

A write lock must exclude every task that writes the same target, wherever it runs:

- ``sync``/``threads``: tasks share this process, so a :class:`LocalLock` (a
  ``threading.Lock`` found again by name after pickling) is enough;
- ``processes``: tasks run in worker processes, so a :class:`FileLock` (``flock`` on a
  file in plait's temporary directory, named after the target) excludes them all; the
  kernel releases it if a worker dies holding it;
- a distributed Client: ``plait.distributed.Lock(name)``, kept by the scheduler.

:func:`lock_for` picks one from the scheduler that will run the graph. When that is
not known yet (``store(compute=False)`` computed later), a :class:`SchedulerLock`
decides inside the task: a distributed Lock on a plait worker, a file lock in a process
other than the one that built the graph, else a local lock. All of them pickle by name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
import weakref
from typing import Any

from .. import config

__all__ = [
    "FileLock",
    "LocalLock",
    "SchedulerLock",
    "lock_for",
    "scheduler_kind",
    "target_lock_name",
]

DEFAULT_TIMEOUT = 600.0  # seconds; a write that waits longer reports the lock's name


def _timeout_error(kind: str, name: str, timeout: float) -> TimeoutError:
    return TimeoutError(f"could not take the {kind} {name!r} within {timeout:g} s: another "
                        "task holds it (a stuck or very slow write); pass a larger timeout "
                        "or check what else writes this target")


class _NamedLock:
    """What the locks below share: ``with`` takes the lock or raises a TimeoutError that
    names it; pickling keeps the name and timeout (subclasses add what else they need)."""

    kind = "lock"
    name: str
    timeout: float

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def release(self) -> None:
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def __enter__(self) -> Any:
        if not self.acquire():
            raise _timeout_error(self.kind, self.name, self.timeout)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __reduce__(self):
        return (type(self), (self.name, self.timeout))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.name}>"


class LocalLock(_NamedLock):
    """A process-local lock found by name (pickles by name).

    >>> a = LocalLock("x"); import pickle; b = pickle.loads(pickle.dumps(a))
    >>> a._lock is b._lock
    True
    """

    _registry: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
    _guard = threading.Lock()

    def __init__(self, name: str, timeout: float = DEFAULT_TIMEOUT):
        self.name = name
        self.timeout = timeout
        with LocalLock._guard:
            lock = LocalLock._registry.get(name)
            if lock is None:
                lock = LocalLock._registry[name] = threading.Lock()
        self._lock = lock

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        if not blocking:
            return self._lock.acquire(False)
        return self._lock.acquire(True, self.timeout if timeout is None else timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()


def lock_directory() -> str:
    """Where file locks live: ``<temporary-directory>/plait-locks``."""
    base = config.get("temporary-directory", None) or tempfile.gettempdir()
    path = os.path.join(base, "plait-locks")
    os.makedirs(path, exist_ok=True)
    return path


class FileLock(_NamedLock):
    """A lock shared by the processes of one machine: ``flock`` on a file named after
    ``name`` in plait's temporary directory. Threads of one process exclude each other
    too (each acquire opens its own file description). Pickles by name.

    >>> lock = FileLock("doc-example")
    >>> with lock:
    ...     lock.locked()
    True
    >>> lock.locked()
    False
    """

    kind = "file lock"

    def __init__(self, name: str, timeout: float = DEFAULT_TIMEOUT, path: str | None = None):
        try:
            import fcntl  # noqa: F401
        except ImportError as e:  # pragma: no cover - Windows
            raise NotImplementedError(
                "plait's file lock needs POSIX flock (Linux, macOS); on this platform use "
                "scheduler='threads' or a distributed Client for locked writes") from e
        self.name = name
        self.timeout = timeout
        digest = hashlib.sha1(name.encode()).hexdigest()[:20]
        self.path = path or os.path.join(lock_directory(), f"{digest}.lock")
        self._fd: int | None = None

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        import fcntl

        if self._fd is not None:
            raise RuntimeError(f"file lock {self.name!r} is already held by this handle")
        limit = (self.timeout if timeout is None else timeout) if blocking else 0.0
        deadline = time.monotonic() + limit
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        delay = 1e-4
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._fd = fd
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        os.close(fd)
                        return False
                    time.sleep(delay)
                    delay = min(delay * 2, 0.02)
        except BaseException:
            if self._fd is None:
                os.close(fd)
            raise

    def release(self) -> None:
        import fcntl

        fd, self._fd = self._fd, None
        if fd is None:
            raise RuntimeError(f"file lock {self.name!r} released without being held")
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def locked(self) -> bool:
        """Whether any process holds the lock now."""
        if self._fd is not None:
            return True
        if self.acquire(blocking=False):
            self.release()
            return False
        return True

    def __reduce__(self):
        return (type(self), (self.name, self.timeout, self.path))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.name} at {self.path}>"


def _on_distributed_worker() -> bool:
    import sys

    if "plait.distributed" not in sys.modules:
        return False
    from ..distributed.worker import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


class SchedulerLock(_NamedLock):
    """A lock that chooses its kind inside the task that takes it: a distributed Lock
    on a plait worker, a :class:`FileLock` in a process other than the one that made
    it, else a :class:`LocalLock`. For graphs built before the scheduler is known.

    >>> with SchedulerLock("doc-lazy") as lock:
    ...     type(lock._resolved).__name__
    'LocalLock'
    """

    def __init__(self, name: str, timeout: float = DEFAULT_TIMEOUT, pid: int | None = None):
        self.name = name
        self.timeout = timeout
        self.pid = os.getpid() if pid is None else pid
        self._resolved: Any = None

    def _lock(self) -> Any:
        if self._resolved is None:
            if _on_distributed_worker():
                self._resolved = _DistributedLock(self.name, self.timeout)
            elif os.getpid() != self.pid:
                self._resolved = FileLock(self.name, self.timeout)
            else:
                self._resolved = LocalLock(self.name, self.timeout)
        return self._resolved

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        return self._lock().acquire(blocking, self.timeout if timeout is None else timeout)

    def release(self) -> None:
        self._lock().release()

    def __reduce__(self):
        return (type(self), (self.name, self.timeout, self.pid))


class _DistributedLock(_NamedLock):
    """``plait.distributed.Lock`` with a bounded acquire (its context manager waits
    forever); pickles by name, so each task finds its worker's client."""

    kind = "distributed lock"

    def __init__(self, name: str, timeout: float = DEFAULT_TIMEOUT):
        self.name = name
        self.timeout = timeout
        self._lock: Any = None

    def _get(self) -> Any:
        if self._lock is None:
            from ..distributed import Lock

            self._lock = Lock(self.name)
        return self._lock

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        if not blocking:
            return self._get().acquire(blocking=False)
        return self._get().acquire(timeout=self.timeout if timeout is None else timeout)

    def release(self) -> None:
        self._get().release()

    def __repr__(self) -> str:
        return f"<DistributedLock: {self.name}>"


def scheduler_kind(scheduler: Any = None) -> str:
    """``"local"``, ``"processes"``, ``"distributed"`` or ``"unknown"``: where the tasks
    of a compute with ``scheduler`` (else config ``scheduler``, else threads) run.

    >>> scheduler_kind("threads"), scheduler_kind("processes"), scheduler_kind("sync")
    ('local', 'processes', 'local')
    """
    from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

    from ..collection import SCHEDULER_ALIASES, _get_function_name

    if scheduler is None:
        scheduler = config.get("scheduler", None)
    if scheduler is None:
        return "local"  # plait arrays and Delayed default to threads
    if isinstance(scheduler, str):
        name = SCHEDULER_ALIASES.get(scheduler.lower())
        return {"sync": "local", "threads": "local", "processes": "processes"}.get(
            name, "unknown")
    if isinstance(scheduler, ThreadPoolExecutor):
        return "local"
    if isinstance(scheduler, ProcessPoolExecutor):
        return "processes"
    if isinstance(scheduler, Executor):
        return "unknown"
    if callable(scheduler) and not hasattr(scheduler, "get"):
        name = _get_function_name(scheduler)
        return {"sync": "local", "threads": "local", "processes": "processes"}.get(
            name or "", "unknown")
    if type(scheduler).__module__.startswith("plait.distributed"):
        return "distributed"
    return "unknown"


def lock_for(name: str, scheduler: Any = None, lazy: bool = False,
             timeout: float = DEFAULT_TIMEOUT) -> Any:
    """The lock plait supplies for ``name`` under ``scheduler`` (see the module
    docstring); ``lazy=True`` (or a scheduler plait cannot classify) gives a
    :class:`SchedulerLock` that chooses inside the task.

    >>> lock_for("t", "threads"), lock_for("t", "processes")  # doctest: +ELLIPSIS
    (<LocalLock: t>, <FileLock: t at ...>)
    """
    kind = "unknown" if lazy else scheduler_kind(scheduler)
    if kind == "local":
        return LocalLock(name, timeout)
    if kind == "processes":
        return FileLock(name, timeout)
    if kind == "distributed":
        return _DistributedLock(name, timeout)
    return SchedulerLock(name, timeout)


def target_lock_name(target: Any, default: str) -> str:
    """A name shared by every writer of the same file or store: the file's path for
    HDF5/netCDF targets, the store and array path for zarr, else ``default``."""
    path = getattr(target, "lock_name", None)
    if isinstance(path, str):
        return path
    file = getattr(target, "file", None)  # h5py datasets
    filename = getattr(file, "filename", None)
    if isinstance(filename, str):
        return "hdf5:" + os.path.abspath(filename)
    store = getattr(target, "store", None)  # zarr arrays
    if store is not None and hasattr(target, "path"):
        root = getattr(store, "root", None)
        where = os.path.abspath(str(root)) if root is not None else repr(store)
        return f"zarr:{where}/{target.path}"
    return default

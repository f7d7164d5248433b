"""Cluster-wide ``Lock`` and ``Semaphore``, kept by the scheduler.

A Lock is one holder at a time; a Semaphore is up to ``max_leases`` holders. Both are
identified by name, so every task or client that builds ``Lock("x")`` shares one lock,
and both pickle by name (``store(lock=Lock())`` works inside tasks on a cluster).
Waiters are served first come, first served.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from typing import Any

from .base import Primitive, wait_for

__all__ = ["Lock", "Semaphore", "LockExtension", "SemaphoreExtension"]


class _Leases:
    """Up to ``limit`` holders of one name and a queue of waiters (scheduler side)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.holders: list = []
        self.waiters: deque = deque()

    def _grant(self) -> None:
        while self.waiters and len(self.holders) < self.limit:
            ident, fut = self.waiters.popleft()
            if not fut.done():
                self.holders.append(ident)
                fut.set_result(True)

    async def acquire(self, ident: str, timeout: float | None) -> bool:
        if len(self.holders) < self.limit and not self.waiters:
            self.holders.append(ident)
            return True
        if timeout is not None and timeout <= 0:
            return False
        fut = asyncio.get_running_loop().create_future()
        entry = (ident, fut)
        self.waiters.append(entry)
        ok = await wait_for(asyncio.shield(fut), timeout)
        if not ok:
            if fut.done():  # granted just as the time ran out: keep it
                return True
            fut.cancel()
            try:
                self.waiters.remove(entry)
            except ValueError:
                pass
        return ok

    def release(self, ident: str, what: str, name: str) -> None:
        try:
            self.holders.remove(ident)
        except ValueError:
            raise RuntimeError(f"{what} {name!r} is not held by {ident!r}: release() "
                               f"must follow a successful acquire()") from None
        self._grant()


class LockExtension:
    """Scheduler side of :class:`Lock`: ``lock_acquire``, ``lock_release``,
    ``lock_locked``."""

    def __init__(self, scheduler: Any):
        self.scheduler = scheduler
        self.locks: dict = {}
        scheduler.handlers.update({"lock_acquire": self.acquire,
                                   "lock_release": self.release,
                                   "lock_locked": self.locked})

    def _lock(self, name: str) -> _Leases:
        lease = self.locks.get(name)
        if lease is None:
            lease = self.locks[name] = _Leases(1)
        return lease

    async def acquire(self, comm: Any = None, name: str = "", id: str = "",
                      timeout: float | None = None) -> dict:
        return {"status": "OK", "acquired": await self._lock(name).acquire(id, timeout)}

    def release(self, comm: Any = None, name: str = "", id: str = "") -> dict:
        self._lock(name).release(id, "lock", name)
        return {"status": "OK"}

    def locked(self, comm: Any = None, name: str = "") -> dict:
        lease = self.locks.get(name)
        return {"status": "OK", "locked": bool(lease and lease.holders)}


class SemaphoreExtension:
    """Scheduler side of :class:`Semaphore`: ``semaphore_acquire``, ``_release``,
    ``_leases``."""

    def __init__(self, scheduler: Any):
        self.scheduler = scheduler
        self.semaphores: dict = {}
        scheduler.handlers.update({"semaphore_acquire": self.acquire,
                                   "semaphore_release": self.release,
                                   "semaphore_leases": self.leases})

    def _get(self, name: str, max_leases: int | None) -> _Leases:
        sem = self.semaphores.get(name)
        if sem is None:
            sem = self.semaphores[name] = _Leases(max_leases or 1)
        elif max_leases is not None and sem.limit != max_leases:
            raise ValueError(f"semaphore {name!r} exists with max_leases={sem.limit}, "
                             f"not {max_leases}; use another name or the same limit")
        return sem

    async def acquire(self, comm: Any = None, name: str = "", id: str = "",
                      max_leases: int | None = None, timeout: float | None = None) -> dict:
        return {"status": "OK",
                "acquired": await self._get(name, max_leases).acquire(id, timeout)}

    def release(self, comm: Any = None, name: str = "", id: str = "") -> dict:
        self._get(name, None).release(id, "semaphore", name)
        return {"status": "OK"}

    def leases(self, comm: Any = None, name: str = "", max_leases: int | None = None) -> dict:
        sem = self._get(name, max_leases)
        return {"status": "OK", "leases": len(sem.holders), "max_leases": sem.limit}


class Lock(Primitive):
    """A lock shared by every client and task of a cluster, by name.

    >>> lock = Lock("write-results")  # doctest: +SKIP
    >>> with lock:  # doctest: +SKIP
    ...     write_results()
    """

    _kind = "lock"

    def __init__(self, name: str | None = None, client: Any = None):
        super().__init__(name, client)
        self.id = uuid.uuid4().hex  # this handle's identity as a holder

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> Any:
        """Take the lock; False if ``timeout`` seconds pass (or at once when not
        ``blocking`` and it is taken)."""
        if not blocking:
            if timeout is not None:
                raise ValueError("acquire(blocking=False) takes no timeout")
            timeout = 0
        if timeout is not None and timeout < 0:
            timeout = None
        return self._call("lock_acquire", lambda r: r["acquired"], id=self.id,
                          timeout=timeout)

    def release(self) -> Any:
        """Give the lock back (only the handle that took it may)."""
        return self._call("lock_release", id=self.id)

    def locked(self) -> Any:
        """Whether someone holds it."""
        return self._call("lock_locked", lambda r: r["locked"])

    def __enter__(self) -> "Lock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    async def __aenter__(self) -> "Lock":
        await self.acquire()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.release()


class Semaphore(Primitive):
    """Up to ``max_leases`` holders at once, across a cluster, by name: limit how many
    tasks use a scarce resource (a database, a licence) at the same time."""

    _kind = "semaphore"

    def __init__(self, max_leases: int = 1, name: str | None = None, client: Any = None):
        if type(max_leases) is not int or max_leases < 1:
            raise ValueError(f"Semaphore(max_leases=...) takes an int >= 1, got {max_leases!r}")
        super().__init__(name, client)
        self.max_leases = max_leases
        self._held: list = []

    def acquire(self, timeout: float | None = None) -> Any:
        """Take one lease; False if ``timeout`` seconds pass first."""
        lease = uuid.uuid4().hex

        def took(reply: dict) -> bool:
            if reply["acquired"]:
                self._held.append(lease)
            return reply["acquired"]

        return self._call("semaphore_acquire", took, id=lease, max_leases=self.max_leases,
                          timeout=timeout)

    def release(self) -> Any:
        """Give back the lease this handle took last."""
        if not self._held:
            raise RuntimeError(f"semaphore {self.name!r}: release() without a lease held "
                               f"by this handle")
        return self._call("semaphore_release", id=self._held.pop())

    def get_value(self) -> Any:
        """How many leases are held now (by anyone)."""
        return self._call("semaphore_leases", lambda r: r["leases"],
                          max_leases=self.max_leases)

    def __enter__(self) -> "Semaphore":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    async def __aenter__(self) -> "Semaphore":
        await self.acquire()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.release()

    def __reduce__(self):
        return (_rebuild_semaphore, (self.max_leases, self.name))


def _rebuild_semaphore(max_leases: int, name: str) -> Semaphore:
    return Semaphore(max_leases, name)

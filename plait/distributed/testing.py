"""Helpers for testing code that runs on plait.distributed.

- :func:`run_async`: run an ``async def`` test with ``asyncio.run`` and a time cap.
- :func:`in_process_cluster`: a scheduler and workers on the running loop (``inproc://``
  by default, or ``tcp://127.0.0.1``), closed on exit.
- :func:`wait_until`: poll a condition with a bounded wait.
- :class:`ProcessLeakCheck` / :func:`no_leftover_processes`: fail (and kill by pid)
  when a test leaves a child process behind.
- :class:`FakeScheduler`: a stand-in scheduler that speaks the worker side of the
  protocol, records what workers send and lets a test drive them message by message.

>>> import asyncio
>>> async def main():
...     async with in_process_cluster(n_workers=2) as (s, workers):
...         return len(workers), workers[0].address.startswith("inproc://")
>>> asyncio.run(main())
(2, True)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from .comm import BatchedSend, CommClosedError, serialize
from .core import Server

__all__ = [
    "run_async", "in_process_cluster", "wait_until", "async_wait_until",
    "ProcessLeakCheck", "no_leftover_processes", "child_pids", "FakeScheduler",
]

# Children that belong to the Python runtime rather than to a test.
_RUNTIME_CHILDREN = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")


def run_async(fn: Callable[..., Any] | None = None, *, timeout: float = 30) -> Any:
    """Decorator: run ``async def test(...)`` to completion within ``timeout`` seconds."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            async def main() -> Any:
                return await asyncio.wait_for(f(*args, **kwargs), timeout)

            return asyncio.run(main())

        return wrapper

    return decorate(fn) if fn is not None else decorate


@contextlib.asynccontextmanager
async def in_process_cluster(n_workers: int = 2, nthreads: int = 1,
                             protocol: str = "inproc", scheduler_kwargs: dict | None = None,
                             **worker_kwargs: Any) -> AsyncIterator[tuple[Any, list]]:
    """``async with in_process_cluster(2) as (scheduler, workers)``: all on this loop."""
    from .scheduler import Scheduler
    from .worker import Worker

    scheduler = Scheduler(protocol=protocol, **(scheduler_kwargs or {}))
    await scheduler.start()
    workers: list = []
    try:
        for i in range(n_workers):
            workers.append(await Worker(scheduler.address, nthreads=nthreads, name=i,
                                        **worker_kwargs).start())
        yield scheduler, workers
    finally:
        await asyncio.gather(*[w.close() for w in workers], return_exceptions=True)
        await scheduler.close()


async def async_wait_until(predicate: Callable[[], Any], timeout: float = 10,
                           interval: float = 0.01, message: str | None = None) -> None:
    """Await until ``predicate()`` is true; ``TimeoutError`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(message or f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


def wait_until(predicate: Callable[[], Any], timeout: float = 10, interval: float = 0.01,
               message: str | None = None) -> None:
    """Block until ``predicate()`` is true; ``TimeoutError`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(message or f"condition not met within {timeout} s")
        time.sleep(interval)


def child_pids() -> set[int]:
    """Pids of this process's live descendants (runtime helpers excluded)."""
    import psutil

    out = set()
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            cmdline = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if any(name in cmdline for name in _RUNTIME_CHILDREN):
            continue
        out.add(child.pid)
    return out


class ProcessLeakCheck:
    """Remember the children alive now; :meth:`check` finds new ones still alive after
    a bounded wait, kills them by pid and reports them."""

    def __init__(self) -> None:
        self.before = child_pids()

    def leftovers(self, timeout: float = 5) -> set[int]:
        deadline = time.monotonic() + timeout
        while True:
            new = child_pids() - self.before
            if not new or time.monotonic() > deadline:
                return new
            time.sleep(0.05)

    def check(self, timeout: float = 5) -> list[str]:
        """Descriptions of leftover processes (killed); empty when none was left."""
        import psutil

        found = []
        for pid in sorted(self.leftovers(timeout)):
            try:
                proc = psutil.Process(pid)
                found.append(f"pid {pid}: {' '.join(proc.cmdline())[:200]}")
            except psutil.Error:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return found


@contextlib.contextmanager
def no_leftover_processes(timeout: float = 5) -> Iterator[ProcessLeakCheck]:
    """Raise ``AssertionError`` if the block leaves a child process alive (it is
    killed by pid first)."""
    leak = ProcessLeakCheck()
    yield leak
    found = leak.check(timeout)
    if found:
        raise AssertionError("child processes left behind (killed now):\n" + "\n".join(found))


class FakeScheduler(Server):
    """Accepts ``register-worker`` (keeping the comm as that worker's stream), answers
    heartbeats, ``unregister`` and ``who_has`` (from :attr:`who_has_table`), records every
    stream message in :attr:`messages`; :meth:`compute` and :meth:`send` drive a worker."""

    def __init__(self) -> None:
        super().__init__(
            handlers={
                "register-worker": self.register_worker,
                "heartbeat-worker": lambda comm, **kw: {"status": "OK"},
                "unregister": self.unregister,
                "who_has": self.who_has,
            },
            deserialize=False,
        )
        self.streams: dict[str, BatchedSend] = {}
        self.registered: dict[str, dict] = {}
        self.unregistered: list[str] = []
        self.messages: list[dict] = []
        self.who_has_table: dict = {}
        self._changed: asyncio.Condition | None = None

    async def register_worker(self, comm: Any, address: str, **info: Any) -> Any:
        await comm.write({"status": "OK", "time": 0.0, "heartbeat_interval": 0.5})
        stream = BatchedSend(interval=0.001)
        stream.start(comm)
        self.streams[address] = stream
        self.registered[address] = info
        asyncio.ensure_future(self._read(comm, address))
        return Server.DETACH

    async def _read(self, comm: Any, address: str) -> None:
        while True:
            try:
                batch = await comm.read()
            except CommClosedError:
                return
            for msg in batch if isinstance(batch, list) else [batch]:
                msg["worker"] = address
                self.messages.append(msg)
            await self._notify()

    async def _notify(self) -> None:
        cond = self._condition()
        async with cond:
            cond.notify_all()

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    def unregister(self, comm: Any, address: str) -> dict:
        self.unregistered.append(address)
        return {"status": "OK"}

    def who_has(self, comm: Any, keys: list) -> dict:
        return {k: self.who_has_table.get(k, []) for k in keys}

    def compute(self, worker: str, key: Any, func: Any, *args: Any, who_has=None,
                priority=(0,), **extra: Any) -> None:
        from plait.graph.spec import Task

        self.streams[worker].send({
            "op": "compute-task", "key": key,
            # raw=True (inproc only): the Task object itself, for closures over locks
            "run_spec": Task(key, func, *args) if extra.get("raw") else
            serialize(Task(key, func, *args)),
            "priority": priority, "who_has": who_has or {}, "nbytes": {},
            "resource_restrictions": extra.get("resources"), "duration": None,
        })

    def send(self, worker: str, **msg: Any) -> None:
        self.streams[worker].send(msg)

    async def wait_for(self, op: str, key: Any = None, count: int = 1,
                       timeout: float = 10) -> list[dict]:
        """Messages of ``op`` (for ``key``), once at least ``count`` have arrived."""
        cond = self._condition()

        def found() -> list[dict]:
            return [m for m in self.messages
                    if m["op"] == op and (key is None or m.get("key") == key)]

        async def wait() -> list[dict]:
            async with cond:
                while len(found()) < count:
                    await cond.wait()
            return found()

        return await asyncio.wait_for(wait(), timeout)

    async def close(self, timeout: float = 5) -> None:
        for stream in self.streams.values():  # as if the process died
            stream.abort()
        await super().close(timeout)

"""Helpers for testing code that runs on plait.distributed.

- :func:`run_async`: run an ``async def`` test with ``asyncio.run`` and a time cap.
- :func:`in_process_cluster`: a scheduler and workers on the running loop (``inproc://``
  by default, or ``tcp://127.0.0.1``), closed on exit.
- :func:`wait_until`: poll a condition with a bounded wait.
- :class:`ProcessLeakCheck` / :func:`no_leftover_processes`: fail (and kill by pid)
  when a test leaves a child process behind.
- :class:`FakeScheduler`: a stand-in scheduler that speaks the worker side of the
  protocol, records what workers send and lets a test drive them message by message.
- :func:`kill_graph` / :func:`kill_round`: a 10,000-task graph, and one round of killing
  a worker process (SIGKILL) in its middle (tests, stress tier and benchmarks share it:
  its functions live here so that worker processes can import them).

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
    "FakeScheduler",
    "ProcessLeakCheck",
    "async_wait_until",
    "child_pids",
    "in_process_cluster",
    "kill_graph",
    "kill_round",
    "no_leftover_processes",
    "run_async",
    "wait_until",
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


# -- fault injection: a worker killed in the middle of a large graph ---------------------

_N_ROOTS = 3000
_GROUP = 5


def _make(i: int, salt: int) -> int:
    return (i * i + salt) % 997


def _add(x: int, y: int) -> int:
    return x + y


def _mul(x: int, y: int) -> int:
    return (x * y) % 1_000_003


def _total(*xs: int) -> int:
    return sum(xs) % 1_000_003


def kill_graph(salt: int) -> tuple[dict, list]:
    """10,000 tasks: 3000 roots, two mixing layers, 600 group sums, a tree to one total
    and 250 small tasks on the group sums. Returns ``(dsk, keys the client holds)``."""
    n = _N_ROOTS
    s = f"r{salt}"
    dsk: dict = {}
    for i in range(n):
        dsk[(f"a-{s}", i)] = (_make, i, salt)
    for i in range(n):
        dsk[(f"b-{s}", i)] = (_add, (f"a-{s}", i), (f"a-{s}", (i + 1) % n))
    for i in range(n):
        dsk[(f"c-{s}", i)] = (_mul, (f"b-{s}", i), (f"b-{s}", (i + 7) % n))
    level = [(f"d-{s}", j) for j in range(n // _GROUP)]
    for j, key in enumerate(level):
        dsk[key] = (_total, *[(f"c-{s}", _GROUP * j + k) for k in range(_GROUP)])
    wanted = list(level)
    for k in range(250):
        dsk[(f"x-{s}", k)] = (_add, level[k], 1)
        wanted.append((f"x-{s}", k))
    depth = 0
    while len(level) > 1:
        depth += 1
        nxt = []
        for j in range(0, len(level), _GROUP):
            key = (f"t{depth}-{s}", j // _GROUP)
            dsk[key] = (_total, *level[j:j + _GROUP])
            nxt.append(key)
        level = nxt
    wanted.append(level[0])
    return dsk, wanted


class _Progress:
    """A scheduler plugin counting tasks that reach memory (it runs on the scheduler's
    loop; the test thread only reads the counter)."""

    name = "kill-test-progress"

    def __init__(self) -> None:
        self.in_memory = 0

    def close(self) -> None:
        pass

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if finish == "memory":
            self.in_memory += 1


def kill_round(client: Any, cluster: Any, salt: int, kill_after: float = 0.35,
               timeout: float = 120) -> dict:
    """One round of the worker-loss test (issue 10): submit :func:`kill_graph`, SIGKILL
    the worker holding most data once ``kill_after`` of the tasks are in memory, gather,
    and compare with the sync scheduler (``AssertionError`` when they differ). Needs a
    4-worker ``LocalCluster`` with processes (and nannies, so later rounds find 4
    workers again). Returns the figures: tasks rescheduled and recomputed, seconds."""
    from plait.local.execute import get_sync

    state = cluster.scheduler.state
    wait_until(lambda: len(state.workers) == 4, timeout=60,
               message="the cluster did not have 4 workers before the round")
    dsk, wanted = kill_graph(salt)
    expected = get_sync(dsk, wanted)
    progress = _Progress()
    state.add_plugin(progress, name=progress.name)
    before = dict(state.loss_counts)
    try:
        start = time.monotonic()
        futures = client.get(dsk, wanted, sync=False)
        wait_until(lambda: progress.in_memory >= kill_after * len(dsk), timeout=timeout,
                   interval=0.002, message="the graph did not get far enough to kill")
        holders = {a: len(ws.has_what) for a, ws in list(state.workers.items())}
        victim_address = max(holders, key=holders.get)
        victim = next(w for w in cluster.workers.values()
                      if getattr(w, "worker_address", None) == victim_address)
        held = holders[victim_address]
        done_at_kill = progress.in_memory
        os.kill(victim.pid, signal.SIGKILL)
        from .as_completed import wait

        flat = list(futures) if isinstance(futures, list) else [futures]
        wait(flat, timeout=timeout)  # TimeoutError rather than a hang
        results = client.gather(futures)
        elapsed = time.monotonic() - start
    finally:
        state.remove_plugin(progress.name)
    assert list(results) == list(expected), "results differ from the sync scheduler's"
    after = state.loss_counts
    del futures
    return {
        "round": salt, "tasks": len(dsk), "done_at_kill": done_at_kill,
        "victim_keys": held,
        "rescheduled": after["rescheduled"] - before["rescheduled"],
        "recomputed": after["recomputed"] - before["recomputed"],
        "workers_lost": after["workers_lost"] - before["workers_lost"],
        "seconds": round(elapsed, 2),
    }

"""Drive a :class:`SchedulerState` with simulated workers: no sockets, no threads.

Each simulated worker keeps the ``compute-task`` messages it received in arrival
order and "runs" them when told to (``finish`` / ``run_until_idle``), reporting
``task-finished`` (or ``task-erred`` when a failure is scripted for that key) back to
the state. It answers ``steal-request`` like a real worker: a task it has not started
is given back. Used by the state-machine tests and by the pure-state throughput
measurement (``python -m plait.distributed.scheduler.simulate``).

>>> sim = Simulation(workers={"tcp://127.0.0.1:1": 1})
>>> sim.submit("c", {"a": b"", "b": b""}, {"b": ["a"]}, ["b"])
>>> sim.run_until_idle(), sim.client_ops("c")
(2, ['key-in-memory'])
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from ...graph.spec import Key
from .state import SchedulerState

__all__ = ["Simulation", "throughput"]


class Simulation:
    """A state machine plus simulated workers and clients that record what they get."""

    def __init__(self, workers: Mapping[str, int] | None = None, state: SchedulerState | None = None,
                 duration: float = 0.05, **state_kwargs: Any):
        self.state = state if state is not None else SchedulerState(**state_kwargs)
        self.duration = duration  # the compute time each simulated task reports
        self.pending: dict[str, list[Key]] = {}  # per worker, compute-tasks not run yet
        self.running: dict[str, set] = defaultdict(set)  # started (not stealable)
        self.data: dict[str, set] = defaultdict(set)
        self.client_msgs: dict[str, list[dict]] = defaultdict(list)
        self.worker_msgs: dict[str, list[dict]] = defaultdict(list)
        self.failures: dict[Key, list] = {}  # key -> exceptions to raise, in turn
        self.computed: list[tuple[Key, str]] = []
        for address, nthreads in (workers or {}).items():
            self.add_worker(address, nthreads)

    # -- plumbing ----------------------------------------------------------------------
    def deliver(self, msgs: tuple) -> None:
        clients, workers = msgs
        for c, ms in clients.items():
            self.client_msgs[c].extend(ms)
        for address, ms in workers.items():
            self.worker_msgs[address].extend(ms)
            pending = self.pending.setdefault(address, [])
            for m in ms:
                op = m["op"]
                if op == "compute-task":
                    pending.append(m["key"])
                elif op == "free-keys":
                    for k in m["keys"]:
                        self.data[address].discard(k)
                        if k in pending:
                            pending.remove(k)
                        self.running[address].discard(k)
                elif op == "steal-request":
                    k = m["key"]
                    if k in self.running[address] or k in self.data[address]:
                        answer = "executing" if k in self.running[address] else "memory"
                    elif k in pending:
                        pending.remove(k)
                        answer = "ready"
                    else:
                        answer = None
                    self.deliver(self.state.steal_response(k, address, answer))

    def add_worker(self, address: str, nthreads: int = 1, **kw: Any) -> None:
        self.pending.setdefault(address, [])
        self.deliver(self.state.add_worker(address, nthreads=nthreads, **kw))

    def remove_worker(self, address: str) -> None:
        self.pending.pop(address, None)
        self.running.pop(address, None)
        self.data.pop(address, None)
        self.deliver(self.state.remove_worker(address))

    def submit(self, client: str, tasks: Mapping, dependencies: Mapping, keys: Iterable,
               **kw: Any) -> None:
        self.deliver(self.state.update_graph(client, tasks, dependencies, list(keys), **kw))

    def client_ops(self, client: str) -> list[str]:
        return [m["op"] for m in self.client_msgs[client]]

    def processing_counts(self) -> dict[str, int]:
        return {a: len(ws.processing) for a, ws in self.state.workers.items()}

    # -- running tasks ------------------------------------------------------------------
    def start(self, address: str, n: int = 1) -> list:
        """Mark the first ``n`` pending tasks of a worker as started (not stealable)."""
        started = []
        pending = self.pending[address]
        for k in pending[:n]:
            if k not in self.running[address]:
                self.running[address].add(k)
                started.append(k)
        return started

    def finish(self, address: str, key: Key | None = None, nbytes: int = 8) -> Key | None:
        """Run one task of ``address`` (the first pending one by default) and report it."""
        pending = self.pending[address]
        if not pending:
            return None
        if key is None:
            key = pending[0]
        pending.remove(key)
        self.running[address].discard(key)
        self.computed.append((key, address))
        errors = self.failures.get(key)
        if errors:
            exc = errors.pop(0)
            self.deliver(self.state.task_erred(key, address, exception=exc,
                                               exception_text=repr(exc)))
        else:
            self.data[address].add(key)
            self.deliver(self.state.task_finished(
                key, address, nbytes=nbytes, type="int",
                startstops=[("compute", 0.0, self.duration)]))
        return key

    def run_until_idle(self, max_steps: int = 10_000_000, check: Any = None) -> int:
        """Finish tasks round-robin over the workers until none has any; returns steps."""
        steps = 0
        while steps < max_steps:
            progressed = False
            for address in list(self.pending):
                if self.pending.get(address):
                    self.finish(address)
                    steps += 1
                    progressed = True
                    if check is not None:
                        check(self)
            if not progressed:
                return steps
        raise RuntimeError(f"simulation did not settle within {max_steps} steps")


def _graph(kind: str, n: int) -> tuple[dict, dict, list]:
    if kind == "independent":
        tasks = {("inc-0123456789abcdef", i): b"spec" for i in range(n)}
        return tasks, {}, list(tasks)
    if kind == "tree":  # a binary reduction: n leaves, n - 1 sums
        tasks: dict = {}
        deps: dict = {}
        level = [("leaf-0123456789abcdef", i) for i in range(n)]
        for k in level:
            tasks[k] = b"spec"
        depth = 0
        while len(level) > 1:
            depth += 1
            nxt = []
            for i in range(0, len(level), 2):
                k = ("sum-0123456789abcdef", depth, i // 2)
                tasks[k] = b"spec"
                deps[k] = level[i:i + 2]
                nxt.append(k)
            level = nxt
        return tasks, deps, level
    raise ValueError(f"kind must be 'independent' or 'tree', got {kind!r}")


def throughput(n: int = 10_000, workers: int = 2, nthreads: int = 1,
               kind: str = "independent") -> dict:
    """Tasks per second through ``update_graph -> compute-task -> task-finished ->
    key-in-memory -> client release -> forgotten``, for ``n`` independent tasks or a
    binary reduction tree over ``n`` leaves (all state work, no I/O)."""
    state = SchedulerState()
    addresses = [f"tcp://127.0.0.1:{9000 + i}" for i in range(workers)]
    for a in addresses:
        state.add_worker(a, nthreads=nthreads)
    tasks, deps, keys = _graph(kind, n)
    priority = {k: i for i, k in enumerate(tasks)}
    t0 = time.perf_counter()
    _, wmsgs = state.update_graph("client", tasks, deps, keys, priority=priority)
    t1 = time.perf_counter()
    queue = [m["key"] for ms in wmsgs.values() for m in ms if m["op"] == "compute-task"]
    where = {m["key"]: a for a, ms in wmsgs.items() for m in ms}
    done = 0
    while queue:
        key = queue.pop()
        _, wmsgs = state.task_finished(key, where[key], nbytes=28, type="int",
                                       startstops=(("compute", 0.0, 0.0001),))
        done += 1
        for a, ms in wmsgs.items():
            for m in ms:
                if m["op"] == "compute-task":
                    queue.append(m["key"])
                    where[m["key"]] = a
    t2 = time.perf_counter()
    state.client_releases_keys(keys, "client")
    t3 = time.perf_counter()
    assert done == len(tasks) and not state.tasks, (done, len(state.tasks))
    m = len(tasks)
    return {
        "kind": kind,
        "tasks": m,
        "update_graph_us_per_task": round((t1 - t0) / m * 1e6, 2),
        "finish_us_per_task": round((t2 - t1) / m * 1e6, 2),
        "release_us_per_task": round((t3 - t2) / m * 1e6, 2),
        "total_us_per_task": round((t3 - t0) / m * 1e6, 2),
        "tasks_per_second": round(m / (t3 - t0)),
    }


if __name__ == "__main__":  # pragma: no cover
    for kind in ("independent", "tree"):
        for _ in range(3):
            print(throughput(kind=kind))

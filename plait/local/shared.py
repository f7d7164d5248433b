"""The in-process engine: the sync scheduler and the thread pool.

Workers share one :class:`~plait.scheduling.GraphState` and one dict of results,
guarded by one lock. A worker takes a batch of ready tasks under the lock, runs them
outside it, and records their results at its next visit, when it also takes its next
batch. There is no queue between a dispatcher and the workers and no future per task:
for trivial tasks the cost per task is a few dictionary operations, and the worker that
finishes a task usually runs the dependent it just made ready, which is what a low
memory order wants.

Batches grow only when tasks are short: the engine keeps a running mean of task
duration and sizes a batch to about ``_BATCH_SECONDS`` of work (capped by config
``local.batch.max-tasks`` and by the ready tasks per worker), so long tasks are still
handed out one at a time and balanced across threads.

The sync scheduler is the same loop with one worker: the calling thread.
"""

from __future__ import annotations

import threading
from time import perf_counter
from typing import Any, Mapping

from ..scheduling import GraphState, Hooks
from .errors import raise_outcome

__all__ = ["run_shared"]

_BATCH_SECONDS = 2e-4
_WARMUP_TASKS = 4


class _Run:
    """Everything the workers of one run share."""

    def __init__(self, state: GraphState, data: dict, num_workers: int, hooks: Hooks, max_batch: int):
        self.state = state
        self.data = data
        self.num_workers = num_workers
        self.hooks = hooks
        self.max_batch = max_batch
        self.cond = threading.Condition(threading.Lock())
        self.idle = 0
        self.mean = 0.0  # running mean of seconds per task
        self.measured = 0
        self.aborted = False
        self.stopped = threading.Event()

    def batch_size(self) -> int:
        if self.measured < _WARMUP_TASKS or self.mean <= 0:
            return 1
        n = int(_BATCH_SECONDS / self.mean)
        if n <= 1:
            return 1
        per_worker = len(self.state.ready) // self.num_workers
        return max(1, min(n, per_worker, self.max_batch))

    def record(self, results: list, elapsed: float) -> None:
        """Store results and drop what nothing needs; called under the lock."""
        state = self.state
        data = self.data
        for key, value in results:
            data[key] = value
            for r in state.finish(key):
                data.pop(r, None)
        n = len(results)
        if n:
            per_task = elapsed / n
            self.mean = per_task if not self.measured else 0.8 * self.mean + 0.2 * per_task
            self.measured += n

    def should_stop(self) -> bool:
        state = self.state
        return self.aborted or state.failed is not None or state.done or state.idle

    def work(self, worker_id: int) -> None:
        state = self.state
        data = self.data
        dsk = state.dsk
        cond = self.cond
        pretask = self.hooks.pretask
        posttask = self.hooks.posttask
        results: list = []
        elapsed = 0.0
        try:
            while True:
                with cond:
                    if results:
                        self.record(results, elapsed)
                        results = []
                    batch = state.take(self.batch_size())
                    while not batch:
                        if self.should_stop():
                            self.stopped.set()
                            cond.notify_all()
                            return
                        self.idle += 1
                        cond.wait()
                        self.idle -= 1
                        batch = state.take(self.batch_size())
                    if self.idle and state.ready:
                        cond.notify(min(self.idle, len(state.ready)))
                t0 = perf_counter()
                for i, key in enumerate(batch):
                    node = dsk[key]
                    try:
                        if pretask:
                            for f in pretask:
                                f(key, dsk, state)
                        value = node.run(data)
                        if posttask:
                            for f in posttask:
                                f(key, value, dsk, state, worker_id)
                    except BaseException as exc:
                        with cond:
                            self.record(results, 0.0)
                            results = []
                            for _ in batch[i + 1:]:
                                state.running -= 1
                            state.fail(key, exc)
                            self.stopped.set()
                            cond.notify_all()
                        return
                    results.append((key, value))
                elapsed = perf_counter() - t0
        except BaseException as exc:  # a bug in the engine itself: never hang the caller
            with cond:
                if state.failed is None:
                    state.failed = (None, exc)
                self.stopped.set()
                cond.notify_all()
            raise


def run_shared(
    state: GraphState,
    data: dict,
    num_workers: int = 1,
    hooks: Hooks = Hooks(),
    max_batch: int = 64,
    label: str = "threads",
) -> Mapping[Any, Any]:
    """Run ``state``'s graph to completion with ``num_workers`` threads (1: the calling
    thread only); results go into ``data``, which is returned.

    The first failing task's exception is raised with its key named; Ctrl-C stops
    handing out tasks at once (tasks already running in other threads finish, since
    Python cannot stop a thread, and their threads then exit).
    """
    run = _Run(state, data, max(1, num_workers), hooks, max_batch)
    if num_workers <= 1:
        try:
            run.work(0)
        except BaseException:
            run.aborted = True
            raise
    else:
        threads = [
            threading.Thread(target=run.work, args=(i,), name=f"plait-{label}-{i}", daemon=True)
            for i in range(num_workers)
        ]
        for t in threads:
            t.start()
        try:
            run.stopped.wait()
        except BaseException:  # KeyboardInterrupt: stop handing out work
            with run.cond:
                run.aborted = True
                run.cond.notify_all()
            raise
        finally:
            if state.failed is None and not run.aborted:
                for t in threads:
                    t.join()
    raise_outcome(state, label)
    return data

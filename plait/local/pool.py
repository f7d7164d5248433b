"""The futures engine: runs a graph on any ``concurrent.futures.Executor``.

The calling thread drives the :class:`~plait.scheduling.GraphState`; the executor only
runs batches. A batch is a list of ready tasks, each extended by the linear chain of
dependents that wait on nothing else (``claim_chain``), so a chain of a thousand small
tasks is one round trip and its intermediate values never travel. Results stay in the
caller's process; a batch carries the values its tasks need and brings back only what
tasks outside the batch (or the caller) need.

For a process pool every batch is pickled with cloudpickle before it is submitted, so a
function that cannot be pickled is reported with its task's key, and results that
cannot be pickled back are reported by the worker with their key. Batches are sized
like the shared engine's, to about ``_BATCH_SECONDS`` of work, so long tasks are still
spread one by one over the pool, and, for a process pool, to about ``_BATCH_BYTES`` of
pickled inputs and results, so a batch of cheap tasks with large results does not pile
many results up in flight and in the caller at once.
"""

from __future__ import annotations

import os
import pickle
import queue
import threading
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from time import perf_counter
from typing import Any, Callable

import cloudpickle

from ..scheduling import GraphState, Hooks
from .errors import RemoteTraceback, format_exception, raise_outcome

__all__ = ["run_pool", "run_batch"]

_BATCH_SECONDS = 5e-3
_BATCH_BYTES = 1 << 20
_WARMUP_TASKS = 4


class _Failure:
    """A task failure carried back from a worker."""

    def __init__(self, key, exc: BaseException | None, text: str, kind: str = "raised"):
        self.key = key
        self.exc = exc
        self.text = text
        self.kind = kind


def _dumps_or_none(obj: Any) -> bytes | None:
    try:
        return cloudpickle.dumps(obj, protocol=5)
    except Exception:
        return None


def run_batch(payload: Any, serialized: bool) -> Any:
    """Run one batch in a worker: ``(nodes, wanted flags, dependency values)``.

    Returns ``(values, elapsed seconds, worker id, failure or None)``; pickled by the
    worker when ``serialized`` so that an unpicklable result is named here.
    """
    nodes, wanted, given = cloudpickle.loads(payload) if serialized else payload
    local = dict(given)
    out: dict = {}
    failure = None
    t0 = perf_counter()
    for node, want in zip(nodes, wanted):
        try:
            value = node.run(local)
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the caller
            if isinstance(exc, (SystemExit, GeneratorExit)):
                raise
            text = format_exception(exc) if serialized else ""
            failure = _Failure(node.key, exc if not serialized else None, text)
            if serialized:
                failure.exc = exc if _dumps_or_none(exc) is not None else None
            break
        local[node.key] = value
        if want:
            out[node.key] = value
    elapsed = perf_counter() - t0
    wid = os.getpid() if serialized else threading.get_ident()
    result = (out, elapsed, wid, failure)
    if not serialized:
        return result
    try:
        return cloudpickle.dumps(result, protocol=5)
    except Exception as exc:  # find the value that cannot travel and name its key
        for k, v in out.items():
            if _dumps_or_none(v) is None:
                msg = (
                    f"the result of task {k!r} ({type(v).__name__}) cannot be pickled to "
                    f"send it back from the process pool: {exc}. Return a picklable "
                    "value, or use scheduler='threads', which shares memory"
                )
                err = _Failure(k, None, msg, kind="unpicklable-result")
                return cloudpickle.dumps(({}, elapsed, wid, err), protocol=5)
        raise


class _Dispatch:
    """Builds batches from the state and feeds them to the executor."""

    def __init__(self, state: GraphState, data: dict, executor: Executor, slots: int,
                 hooks: Hooks, max_batch: int, serialize: bool, label: str):
        self.state = state
        self.data = data
        self.executor = executor
        self.slots = slots
        self.hooks = hooks
        self.max_batch = max_batch
        self.serialize = serialize
        self.label = label
        self.inflight: dict = {}
        self.done: queue.SimpleQueue = queue.SimpleQueue()
        self.mean = 0.0  # running mean of seconds per task
        self.mean_bytes = 0.0  # running mean of pickled bytes (in + out) per task
        self.measured = 0
        self.sent_bytes: dict = {}

    def batch_size(self) -> int:
        if self.measured < _WARMUP_TASKS:
            return 1
        n = int(_BATCH_SECONDS / self.mean) if self.mean > 0 else self.max_batch
        if self.mean_bytes > 0:
            n = min(n, int(_BATCH_BYTES / self.mean_bytes))
        per_slot = -(-len(self.state.ready) // self.slots)
        return max(1, min(n, per_slot, self.max_batch))

    def submit_ready(self) -> None:
        state = self.state
        while len(self.inflight) < self.slots and state.ready and state.failed is None:
            batch = state.take(self.batch_size())
            keys = []
            for key in batch:
                keys.append(key)
                k = key
                while len(keys) < 4 * self.max_batch:
                    u = state.claim_chain(k)
                    if u is None:
                        break
                    keys.append(u)
                    k = u
            self.submit(keys)

    def submit(self, keys: list) -> None:
        state = self.state
        dsk = state.dsk
        inside = set(keys)
        nodes = [dsk[k] for k in keys]
        given = {}
        for node in nodes:
            for d in node.dependencies:
                if d not in inside:
                    given[d] = self.data[d]
        # A key's value comes back unless its only user is the next task of its chain.
        wanted = []
        for i, k in enumerate(keys):
            users = state.users.get(k)
            internal = (
                users is not None and len(users) == 1 and i + 1 < len(keys)
                and keys[i + 1] == users[0] and k not in state.targets
            )
            wanted.append(not internal)
        payload: Any = (nodes, wanted, given)
        if self.serialize:
            payload = self.pickle_batch(payload)
        for f in self.hooks.pretask:
            for k in keys:
                f(k, dsk, state)
        fut = self.executor.submit(run_batch, payload, self.serialize)
        self.inflight[fut] = keys
        if self.serialize:
            self.sent_bytes[fut] = len(payload)
        fut.add_done_callback(self.done.put)

    def pickle_batch(self, payload) -> bytes:
        try:
            return cloudpickle.dumps(payload, protocol=5)
        except Exception as exc:
            nodes, _, given = payload
            for node in nodes:
                if _dumps_or_none(node) is None:
                    name = getattr(getattr(node, "func", None), "__name__", "?")
                    raise TypeError(
                        f"task {node.key!r} cannot be sent to the process pool: its "
                        f"function {name!r} or its arguments cannot be pickled ({exc}). "
                        "Use scheduler='threads' (no pickling needed), or make them "
                        "picklable (module-level functions, no open files or locks)"
                    ) from exc
            for k, v in given.items():
                if _dumps_or_none(v) is None:
                    raise TypeError(
                        f"the value of {k!r} ({type(v).__name__}) cannot be pickled to "
                        f"send it to the process pool ({exc}); use scheduler='threads'"
                    ) from exc
            raise

    def collect(self, fut) -> None:
        keys = self.inflight.pop(fut)
        state = self.state
        data = self.data
        try:
            result = fut.result()
        except BrokenProcessPool as exc:
            raise RuntimeError(
                f"a worker process of the {self.label} pool died while running "
                f"{keys[:5]!r}{' ...' if len(keys) > 5 else ''} (killed, out of memory, "
                "or a crash in native code; in a script, also check that the work is "
                "under `if __name__ == '__main__':`); the pool was discarded, compute "
                "again to retry"
            ) from exc
        nbytes = 0
        if self.serialize:
            nbytes = len(result) + self.sent_bytes.pop(fut, 0)
            result = pickle.loads(result)
        values, elapsed, wid, failure = result
        ran = 0
        posttask = self.hooks.posttask
        for k in keys:
            if failure is not None and k == failure.key:
                break
            ran += 1
            if k in values:
                data[k] = values[k]
            if posttask:
                for f in posttask:
                    f(k, values.get(k), state.dsk, state, wid)
            for r in state.finish(k):
                data.pop(r, None)
        if ran:
            per_task = elapsed / ran
            bytes_per_task = nbytes / ran
            if self.measured:
                self.mean = 0.8 * self.mean + 0.2 * per_task
                self.mean_bytes = 0.8 * self.mean_bytes + 0.2 * bytes_per_task
            else:
                self.mean, self.mean_bytes = per_task, bytes_per_task
            self.measured += ran
        if failure is not None:
            state.running -= len(keys) - ran - 1
            state.fail(failure.key, self.rebuild(failure))

    def rebuild(self, failure: _Failure) -> BaseException:
        if failure.kind == "unpicklable-result":
            return TypeError(failure.text)
        exc = failure.exc
        if exc is None:
            exc = RuntimeError(
                f"task {failure.key!r} raised an exception that cannot be pickled; "
                f"its traceback follows"
            )
        if failure.text:
            exc.__cause__ = RemoteTraceback(failure.text)
        return exc

    def cancel_all(self) -> None:
        for fut in list(self.inflight):
            fut.cancel()


def run_pool(
    state: GraphState,
    data: dict,
    executor: Executor,
    num_workers: int,
    hooks: Hooks = Hooks(),
    max_batch: int = 64,
    label: str = "processes",
    on_abort: Callable[[], None] | None = None,
) -> dict:
    """Run ``state``'s graph on ``executor``; results go into ``data``.

    ``on_abort`` is called when the run is interrupted or its pool breaks (the default
    process pool uses it to kill its workers, so nothing is left running).
    """
    serialize = isinstance(executor, ProcessPoolExecutor)
    run = _Dispatch(state, data, executor, max(1, num_workers) * 2, hooks, max_batch,
                    serialize, label)
    try:
        run.submit_ready()
        while run.inflight:
            try:
                fut = run.done.get(timeout=0.2)
            except queue.Empty:
                continue
            run.collect(fut)
            if state.failed is not None:
                break
            run.submit_ready()
    except BaseException as exc:
        run.cancel_all()
        broken = isinstance(exc.__cause__, BrokenProcessPool)
        if on_abort is not None and (broken or isinstance(exc, KeyboardInterrupt)):
            on_abort()
        raise
    if state.failed is not None:
        run.cancel_all()
    raise_outcome(state, label)
    return data

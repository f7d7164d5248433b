"""Where a task should run: restrictions, data locality, occupancy, root-task slots.

Pure functions over :mod:`.model` records; the state machine calls them while a task
leaves ``waiting`` and never mutates anything here.

Two policies:

*root-ish tasks* (no dependencies, or only a few dependencies each shared by many
tasks, and no restrictions) are handed out so that each worker has about
``ceil(nthreads * saturation)`` of them processing; the rest wait, in priority order,
in the scheduler's queue. Loading a huge input then stays bounded by what the workers
can chew, and the queue's priority order decides what is loaded next. (The state
machine multiplies ``saturation`` by 2, 4 or 8 while root tasks are measured to take
less than a round trip to the worker; see ``Transitions._learn_root_duration``.)

*other tasks* go to the worker where they can start first: the candidates are the
workers holding some of their inputs, scored by queued work per thread plus the time
to fetch the inputs they lack; ties go to the worker holding fewer bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .model import TaskState, WorkerState

__all__ = [
    "decide_worker",
    "is_rootish",
    "pick_rootish_worker",
    "start_time",
    "task_slots",
    "transfer_bytes",
    "valid_workers",
    "worker_allowed",
]


def worker_allowed(ts: TaskState, ws: WorkerState) -> bool:
    """Whether ``ws`` meets ``ts``'s strict restrictions (``workers=`` by address, name
    or host; ``resources=`` by the worker's totals).

    >>> from plait.distributed.scheduler.model import TaskPrefix
    >>> ts = TaskState("x", None, TaskPrefix("x")); ts.resource_restrictions = {"GPU": 1}
    >>> worker_allowed(ts, WorkerState("tcp://h:1", resources={"GPU": 2}))
    True
    >>> worker_allowed(ts, WorkerState("tcp://h:2"))
    False
    """
    hosts = ts.host_restrictions
    if hosts is not None and not (
        ws.address in hosts or ws.name in hosts or ws.host in hosts
    ):
        return False
    res = ts.resource_restrictions
    if res:
        have = ws.resources
        for name, amount in res.items():
            if have.get(name, 0) < amount:
                return False
    return True


def valid_workers(ts: TaskState, running: Iterable[WorkerState]) -> set | None:
    """The running workers ``ts`` may use, or None when it has no restrictions."""
    if ts.host_restrictions is None and ts.resource_restrictions is None:
        return None
    return {ws for ws in running if worker_allowed(ts, ws)}


def is_rootish(ts: TaskState, total_nthreads: int) -> bool:
    """Whether ``ts`` is loaded like an input: no restrictions and no dependencies, or a
    handful of dependencies each shared by many more tasks than there are threads (a
    broadcast lookup table, a scattered model)."""
    if ts.host_restrictions is not None or ts.resource_restrictions is not None:
        return False
    deps = ts.dependencies
    if not deps:
        return True
    if len(deps) > 4:
        return False
    wide = max(2 * total_nthreads, 8)
    for dts in deps:
        if len(dts.dependents) < wide:
            return False
    return True


def task_slots(ws: WorkerState, saturation: float) -> int:
    """How many more root-ish tasks ``ws`` should get now.

    >>> task_slots(WorkerState("tcp://h:1", nthreads=4), 1.1)
    5
    """
    if saturation == math.inf:
        return 1 << 30  # queuing off: never full
    cap = max(math.ceil(saturation * ws.nthreads), 1)
    return cap - (len(ws.processing) - len(ws.long_running))


def pick_rootish_worker(open_slots: Iterable[WorkerState]) -> WorkerState | None:
    """The least busy worker among those with free root-task slots (busy: running
    tasks per thread; then bytes held; then address, so choices are reproducible)."""
    best = None
    best_score: tuple = ()
    for ws in open_slots:
        score = ((len(ws.processing) - len(ws.long_running)) / ws.nthreads, ws.nbytes, ws.address)
        if best is None or score < best_score:
            best, best_score = ws, score
    return best


def transfer_bytes(ts: TaskState, ws: WorkerState) -> int:
    """Bytes of ``ts``'s inputs that ``ws`` would have to fetch."""
    n = 0
    for dts in ts.dependencies:
        if ws not in dts.who_has:
            n += dts.nbytes if dts.nbytes >= 0 else 1024
    return n


def start_time(ts: TaskState, ws: WorkerState, bandwidth: float) -> tuple:
    """Estimated seconds until ``ts`` could start on ``ws`` (the placement objective)."""
    return (
        ws.occupancy / ws.nthreads + transfer_bytes(ts, ws) / bandwidth,
        ws.nbytes,
        ws.address,
    )


def decide_worker(
    ts: TaskState,
    running: dict[str, WorkerState],
    bandwidth: float,
) -> WorkerState | None:
    """The worker ``ts`` should run on, or None when no running worker qualifies.

    Candidates are the running workers holding an input (restricted to the valid ones);
    with no inputs, or none held by a valid worker, every valid worker is a candidate.
    Loose restrictions (``allow_other_workers=True``) fall back to every worker.
    """
    if not running:
        return None
    valid = valid_workers(ts, running.values())
    if valid is not None and not valid:
        if not ts.loose_restrictions:
            return None
        valid = None
    candidates: set = set()
    for dts in ts.dependencies:
        for ws in dts.who_has:
            if ws.status == "running" and ws.address in running:
                candidates.add(ws)
    if valid is not None:
        candidates &= valid
    if not candidates:
        if valid is not None:
            candidates = valid
        else:
            if len(running) == 1:
                return next(iter(running.values()))
            candidates = running.values()  # type: ignore[assignment]
    if len(candidates) == 1:
        return next(iter(candidates))
    best = None
    best_score: tuple = ()
    for ws in candidates:
        score = start_time(ts, ws, bandwidth)
        if best is None or score < best_score:
            best, best_score = ws, score
    return best

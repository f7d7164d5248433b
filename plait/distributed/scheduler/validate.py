"""Invariant checks of the scheduler's state, for tests (``SchedulerState(validate=True)``).

Each check names the task or worker and the broken rule, so a failing test says what
went wrong, not just that something did.
"""

from __future__ import annotations

from .model import TaskState

__all__ = ["validate_state", "validate_task"]

_NEEDS = frozenset(("waiting", "queued", "no-worker", "processing"))


def validate_task(state, ts: TaskState) -> None:
    key, s = ts.key, ts.state
    assert state.tasks.get(key) is ts, f"{key!r} ({s}) is not in the task table"
    assert (s == "memory") == bool(ts.who_has), f"{key!r} is {s} with who_has={ts.who_has}"
    assert (s == "processing") == (ts.processing_on is not None), (
        f"{key!r} is {s} with processing_on={ts.processing_on}"
    )
    if s == "processing":
        ws = ts.processing_on
        assert ts in ws.processing, f"{key!r} processing on {ws.address} but not listed there"
        assert ws.address in state.workers, f"{key!r} processing on removed {ws.address}"
    if s == "waiting":
        assert ts.waiting_on, f"{key!r} is waiting on nothing"
    expected = {d for d in ts.dependencies if d.state != "memory"} if s == "waiting" else set()
    assert ts.waiting_on == expected, (
        f"{key!r} ({s}) waiting_on={[d.key for d in ts.waiting_on]} but should be "
        f"{[d.key for d in expected]}"
    )
    if s in ("queued", "processing", "no-worker"):
        for d in ts.dependencies:
            assert d.state == "memory", f"{key!r} is {s} but its dependency {d.key!r} is {d.state}"
    assert (s == "queued") == (ts in state.queue), f"{key!r} is {s}; in queue: {ts in state.queue}"
    assert (s == "no-worker") == (ts in state.unrunnable), f"{key!r} is {s}; unrunnable mismatch"
    waiters = {d for d in ts.dependents if d.state in _NEEDS}
    assert ts.waiters == waiters, (
        f"{key!r} ({s}) waiters={[d.key for d in ts.waiters]} expected {[d.key for d in waiters]}"
    )
    if s == "memory" and not ts.who_wants:
        assert ts.waiters, f"{key!r} is held in memory though nothing needs it"
    if s == "erred":
        assert ts.exception_blame is not None, f"{key!r} erred without a cause"
    else:
        assert ts.exception_blame is None, f"{key!r} is {s} but still blames a failure"
    for d in ts.dependencies:
        assert ts in d.dependents, f"{key!r} depends on {d.key!r} which does not list it"
        assert d.key in state.tasks, f"{key!r} depends on forgotten {d.key!r}"
    for d in ts.dependents:
        assert d.key in state.tasks, f"{key!r} has forgotten dependent {d.key!r}"
    for cs in ts.who_wants:
        assert ts in cs.wants_what, f"client {cs.client_key} wants {key!r} but does not list it"
    if s in ("released", "erred") and not ts.who_wants and not ts.dependents:
        raise AssertionError(f"{key!r} is released with no client and no dependent: a leak")


def validate_state(state) -> None:
    """Raise ``AssertionError`` naming the first broken invariant."""
    for ts in state.tasks.values():
        validate_task(state, ts)
    nthreads = 0
    for address, ws in state.workers.items():
        nthreads += ws.nthreads
        assert ws.address == address
        for ts in ws.processing:
            assert ts.processing_on is ws, f"{ts.key!r} listed on {address} but is {ts.state}"
        for ts in ws.has_what:
            assert ws in ts.who_has, f"{address} lists {ts.key!r} which does not list it"
        assert ws.nbytes == sum(max(ts.nbytes, 0) for ts in ws.has_what), f"{address} nbytes"
        assert (address in state.running) == (ws.status == "running"), f"{address} status"
    assert nthreads == state.total_nthreads, "total_nthreads out of date"
    for ws in state.open_slots:
        assert ws.address in state.running, f"{ws.address} has open slots but is not running"
    for cs in state.clients.values():
        for ts in cs.wants_what:
            assert cs in ts.who_wants and ts.key in state.tasks, (
                f"client {cs.client_key} lists {ts.key!r} inconsistently"
            )
    if state.queue:
        assert not state.open_slots or all(
            ts.state == "queued" for ts in state.queue
        ), "tasks are queued while a worker has free slots"

"""The worker's state machine, driven by plain calls: events in, instructions out."""

from __future__ import annotations

import pytest

from plait.distributed.worker.events import (
    AcquireReplicas,
    ComputeTask,
    Execute,
    ExecuteFailure,
    ExecuteSuccess,
    FreeKeys,
    GatherDep,
    GatherDepFailure,
    GatherDepNetworkFailure,
    GatherDepSuccess,
    PauseEvent,
    RefreshWhoHas,
    RejoinEvent,
    RescheduleEvent,
    Resume,
    SchedulerLost,
    SecedeEvent,
    Send,
    StealRequest,
    UpdateData,
)
from plait.distributed.worker.state import InvalidTransition, WorkerState

ME = "tcp://127.0.0.1:1000"
A = "tcp://127.0.0.1:1001"
B = "tcp://127.0.0.1:1002"


def ok(key, value=1, nbytes=8):
    return ExecuteSuccess(key, value, nbytes, type(value).__name__, [("compute", 0.0, 1.0)])


def fail(key):
    return ExecuteFailure(key, "exc", None, "ZeroDivisionError: boom", "tb", [])


def msgs(instructions, op=None):
    out = [i.msg for i in instructions if isinstance(i, Send)]
    return [m for m in out if op is None or m["op"] == op]


def executes(instructions):
    return [i.key for i in instructions if isinstance(i, Execute)]


def gathers(instructions):
    return [(i.worker, sorted(i.keys)) for i in instructions if isinstance(i, GatherDep)]


def test_compute_without_dependencies_then_free():
    ws = WorkerState(nthreads=1, address=ME)
    assert executes(ws.handle(ComputeTask("x", "spec", (0,)))) == ["x"]
    assert ws.tasks["x"].state == "executing"
    out = ws.handle(ok("x", 42, 28))
    (m,) = msgs(out)
    assert m == {"op": "task-finished", "key": "x", "nbytes": 28, "type": "int",
                 "startstops": [("compute", 0.0, 1.0)], "thread": None}
    assert ws.data["x"] == 42 and ws.data.total_nbytes == 28
    assert ws.handle(FreeKeys(["x"])) == []  # the scheduler asked: no release message
    assert "x" not in ws.tasks and "x" not in ws.data and ws.data.total_nbytes == 0


def test_thread_slots_and_priority_order():
    ws = WorkerState(nthreads=2, address=ME)
    out = ws.handle(ComputeTask("c", "s", (3,)), ComputeTask("a", "s", (1,)),
                    ComputeTask("b", "s", (2,)))
    assert executes(out) == ["a", "b"]
    assert ws.tasks["c"].state == "ready" and ws.executing == {"a", "b"}
    assert executes(ws.handle(ok("b"))) == ["c"]
    assert executes(ws.handle(ok("a"), ok("c"))) == []
    assert not ws.executing


def test_dependencies_fetched_in_one_request_then_released():
    ws = WorkerState(nthreads=1, address=ME)
    out = ws.handle(ComputeTask("z", "s", (0,), who_has={"x": [A], "y": [A]},
                                nbytes={"x": 10, "y": 20}))
    assert gathers(out) == [(A, ["x", "y"])]
    assert [i.total_nbytes for i in out if isinstance(i, GatherDep)] == [30]
    assert ws.tasks["z"].state == "waiting"
    assert {ws.tasks[k].state for k in "xy"} == {"flight"}
    out = ws.handle(GatherDepSuccess(A, {"x": 1, "y": 2}, {"x": 10, "y": 20}))
    assert executes(out) == ["z"]
    assert sorted(k for m in msgs(out, "add-keys") for k in m["keys"]) == ["x", "y"]
    out = ws.handle(ok("z", 3))
    released = sorted(m["key"] for m in msgs(out, "release-worker-data"))
    assert released == ["x", "y"]
    assert set(ws.tasks) == {"z"} and list(ws.data) == ["z"]


def test_local_dependency_needs_no_fetch():
    ws = WorkerState(nthreads=1, address=ME)
    ws.handle(ComputeTask("x", "s", (0,)))
    ws.handle(ok("x"))
    out = ws.handle(ComputeTask("y", "s", (1,), who_has={"x": [ME]}))
    assert executes(out) == ["y"] and not gathers(out)
    ws.handle(FreeKeys(["x"]))
    assert "x" in ws.data  # y still needs it
    ws.handle(ok("y"))
    assert "x" not in ws.data and "x" not in ws.tasks


def test_concurrent_fetches_are_bounded_and_batched_per_peer():
    peers = [f"tcp://127.0.0.1:{2000 + i}" for i in range(6)]
    ws = WorkerState(nthreads=1, address=ME, transfer_incoming_count_limit=2)
    who_has = {f"d{i}": [p] for i, p in enumerate(peers)}
    out = ws.handle(ComputeTask("z", "s", (0,), who_has=who_has))
    assert len(gathers(out)) == 2
    first = [i.worker for i in out if isinstance(i, GatherDep)][0]
    key = next(iter(ws.in_flight_workers[first]))
    out = ws.handle(GatherDepSuccess(first, {key: 0}))
    assert len(gathers(out)) == 1 and len(ws.in_flight_workers) == 2


def test_bytes_limit_splits_requests():
    ws = WorkerState(nthreads=1, address=ME, transfer_message_bytes_limit=100)
    out = ws.handle(ComputeTask("z", "s", (0,), who_has={"x": [A], "y": [A]},
                                nbytes={"x": 80, "y": 80}))
    (request,) = gathers(out)
    assert len(request[1]) == 1  # one peer at a time: the second key waits
    out = ws.handle(GatherDepSuccess(A, {request[1][0]: 0}))
    assert len(gathers(out)) == 1


def test_peer_lacking_a_key_means_missing_data_and_another_holder():
    ws = WorkerState(nthreads=1, address=ME)
    out = ws.handle(ComputeTask("z", "s", (0,), who_has={"x": [A, B]}))
    (worker, _), = gathers(out)
    other = B if worker == A else A
    out = ws.handle(GatherDepSuccess(worker, {}))
    assert msgs(out, "missing-data") == [{"op": "missing-data", "key": "x",
                                          "errant_worker": worker}]
    assert gathers(out) == [(other, ["x"])]
    out = ws.handle(GatherDepNetworkFailure(other, "connection refused"))
    assert msgs(out, "missing-data")[0]["errant_worker"] == other
    assert ws.tasks["x"].state == "missing" and ws.missing == {"x"}
    out = ws.handle(RefreshWhoHas({"x": [B]}))
    assert gathers(out) == [(B, ["x"])]
    out = ws.handle(GatherDepSuccess(B, {"x": 5}))
    assert executes(out) == ["z"]


def test_network_failure_forgets_the_peer_for_queued_keys():
    ws = WorkerState(nthreads=1, address=ME, transfer_incoming_count_limit=1)
    ws.handle(ComputeTask("z", "s", (0,), who_has={"x": [A], "y": [B]}))
    (busy,) = list(ws.in_flight_workers)
    queued = "y" if busy == A else "x"
    out = ws.handle(GatherDepNetworkFailure(B if busy == A else A))
    assert ws.tasks[queued].state == "missing"
    assert B not in ws.tasks["y"].who_has or busy == B
    assert not gathers(out)


def test_peer_error_fails_the_dependents():
    ws = WorkerState(nthreads=1, address=ME)
    ws.handle(ComputeTask("z", "s", (0,), who_has={"x": [A]}))
    out = ws.handle(GatherDepFailure(A, "exc", None, "TypeError: cannot serialize 'x'"))
    (m,) = msgs(out, "task-erred")
    assert m["key"] == "z" and "cannot serialize" in m["exception_text"]
    assert ws.tasks["z"].state == "error" and "x" not in ws.tasks


def test_task_error_is_reported():
    ws = WorkerState(nthreads=1, address=ME)
    ws.handle(ComputeTask("x", "s", (0,)))
    (m,) = msgs(ws.handle(fail("x")))
    assert m["op"] == "task-erred" and m["key"] == "x"
    assert m["exception_text"].startswith("ZeroDivisionError")
    assert ws.tasks["x"].state == "error" and not ws.executing
    ws.handle(FreeKeys(["x"]))
    assert "x" not in ws.tasks


def test_free_while_executing_cancels_and_resume():
    ws = WorkerState(nthreads=1, address=ME)
    ws.handle(ComputeTask("x", "s", (0,)), ComputeTask("y", "s", (1,)))
    ws.handle(FreeKeys(["x"]))
    assert ws.tasks["x"].state == "cancelled" and ws.executing == {"x"}
    assert ws.tasks["y"].state == "ready"  # the cancelled thread still holds the slot
    out = ws.handle(ok("x"))
    assert msgs(out) == [] and "x" not in ws.tasks and "x" not in ws.data
    assert executes(out) == ["y"]
    # freed, then asked again before the thread returns: the outcome is reported
    ws.handle(FreeKeys(["y"]))
    assert ws.handle(ComputeTask("y", "s", (1,))) == []
    assert ws.tasks["y"].state == "executing"
    assert [m["op"] for m in msgs(ws.handle(ok("y")))] == ["task-finished"]


def test_scattered_data_stays_after_the_tasks_that_used_it():
    # Scattered data (report=False: the client tells the scheduler itself) used to be
    # dropped silently once its last local dependent finished; the scheduler still
    # counted this worker as its holder, so gathering it later failed.
    ws = WorkerState(nthreads=1, address=ME)
    for report in (False, True):
        ws.handle(UpdateData({"x": 7}, {"x": 28}, report=report))
        assert executes(ws.handle(ComputeTask("y", "s", (0,), who_has={"x": [ME]}))) == ["y"]
        out = ws.handle(ok("y"))
        assert msgs(out, "release-worker-data") == []
        ws.handle(FreeKeys(["y"]))
        assert ws.data["x"] == 7
        assert ws.handle(FreeKeys(["x"])) == [] and "x" not in ws.data


def test_compute_request_for_a_key_in_memory_answers_at_once():
    ws = WorkerState(nthreads=1, address=ME)
    ws.handle(UpdateData({"x": 7}, {"x": 28}, report=False))
    out = ws.handle(ComputeTask("x", "s", (0,)))
    assert msgs(out)[0]["op"] == "task-finished" and not executes(out)


def test_compute_request_for_a_key_in_flight():
    ws = WorkerState(nthreads=1, address=ME)
    ws.handle(ComputeTask("z", "s", (0,), who_has={"x": [A]}))
    ws.handle(ComputeTask("x", "s", (0,), who_has={}))
    out = ws.handle(GatherDepSuccess(A, {"x": 1}))
    assert [m["op"] for m in msgs(out)] == ["task-finished"]
    assert executes(out) == ["z"]


def test_compute_request_in_flight_falls_back_to_computing():
    ws = WorkerState(nthreads=1, address=ME)
    ws.handle(ComputeTask("z", "s", (0,), who_has={"x": [A]}))
    ws.handle(ComputeTask("x", "s", (-1,), who_has={}))
    out = ws.handle(GatherDepNetworkFailure(A))
    assert executes(out) == ["x"]
    out = ws.handle(ok("x"))
    assert executes(out) == ["z"]


def test_steal_request():
    ws = WorkerState(nthreads=1, address=ME)
    ws.handle(ComputeTask("a", "s", (0,)), ComputeTask("b", "s", (1,)))
    out = ws.handle(StealRequest("b"))
    assert msgs(out) == [{"op": "steal-response", "key": "b", "state": "ready"}]
    assert "b" not in ws.tasks
    out = ws.handle(StealRequest("a"))
    assert msgs(out) == [{"op": "steal-response", "key": "a", "state": "executing"}]
    assert ws.tasks["a"].state == "executing"
    assert msgs(ws.handle(StealRequest("nope")))[0]["state"] is None


def test_secede_frees_the_slot_and_rejoin_waits_for_one():
    ws = WorkerState(nthreads=1, address=ME)
    ws.handle(ComputeTask("a", "s", (0,)), ComputeTask("b", "s", (1,)))
    out = ws.handle(SecedeEvent("a"))
    assert msgs(out) == [{"op": "long-running", "key": "a"}]
    assert executes(out) == ["b"] and ws.tasks["a"].state == "long-running"
    out = ws.handle(RejoinEvent("a"))
    assert not [i for i in out if isinstance(i, Resume)]
    out = ws.handle(ok("b"))
    assert [i.key for i in out if isinstance(i, Resume)] == ["a"]
    assert ws.tasks["a"].state == "executing"
    ws.handle(ok("a"))
    assert ws.tasks["a"].state == "memory" and not ws.executing and not ws.long_running


def test_long_running_task_finishes_without_rejoin():
    ws = WorkerState(nthreads=1, address=ME)
    ws.handle(ComputeTask("a", "s", (0,)))
    ws.handle(SecedeEvent("a"))
    out = ws.handle(ok("a"))
    assert msgs(out, "task-finished") and not ws.long_running


def test_resources_constrain_concurrency():
    ws = WorkerState(nthreads=3, address=ME, resources={"GPU": 1})
    out = ws.handle(
        ComputeTask("g1", "s", (0,), resource_restrictions={"GPU": 1}),
        ComputeTask("g2", "s", (1,), resource_restrictions={"GPU": 1}),
        ComputeTask("c", "s", (2,)),
    )
    assert executes(out) == ["g1", "c"]
    assert ws.tasks["g2"].state == "constrained"
    assert executes(ws.handle(ok("c"))) == []
    assert executes(ws.handle(ok("g1"))) == ["g2"]
    assert ws.available_resources == {"GPU": 0}
    ws.handle(ok("g2"))
    assert ws.available_resources == {"GPU": 1}


def test_acquire_replicas_then_free():
    ws = WorkerState(nthreads=1, address=ME)
    out = ws.handle(AcquireReplicas({"x": [A]}, {"x": 8}))
    assert gathers(out) == [(A, ["x"])]
    out = ws.handle(GatherDepSuccess(A, {"x": 3}))
    assert msgs(out) == [{"op": "add-keys", "keys": ["x"]}]
    assert ws.data["x"] == 3  # wanted: kept although nothing here needs it
    ws.handle(FreeKeys(["x"]))
    assert "x" not in ws.data


def test_update_data_unblocks_waiting_tasks():
    ws = WorkerState(nthreads=1, address=ME)
    out = ws.handle(ComputeTask("z", "s", (0,), who_has={"x": []}))
    assert not gathers(out) and ws.tasks["x"].state == "missing"
    out = ws.handle(UpdateData({"x": 1}, {"x": 28}, report=True))
    assert msgs(out) == [{"op": "add-keys", "keys": ["x"]}]
    assert executes(out) == ["z"]


def test_reschedule():
    ws = WorkerState(nthreads=1, address=ME)
    ws.handle(ComputeTask("a", "s", (0,)))
    out = ws.handle(RescheduleEvent("a"))
    assert msgs(out) == [{"op": "reschedule", "key": "a"}]
    assert "a" not in ws.tasks and not ws.executing


def test_errors_name_the_problem():
    ws = WorkerState(nthreads=1, address=ME)
    ws.handle(ComputeTask("a", "s", (0,)))
    with pytest.raises(InvalidTransition, match="'a' cannot go from 'executing' to 'fetch'"):
        ws._transition(ws.tasks["a"], "fetch", [])
    with pytest.raises(TypeError, match="WorkerState.handle got str"):
        ws.handle("compute")
    with pytest.raises(ValueError, match="nthreads must be at least 1"):
        WorkerState(nthreads=0)


def test_many_tasks_release_everything():
    ws = WorkerState(nthreads=2, address=ME)
    events = [ComputeTask(("inc", i), "s", (i,)) for i in range(200)]
    out = ws.handle(*events)
    done = 0
    while True:
        keys = executes(out)
        if not keys:
            break
        out = ws.handle(*[ok(k, k[1]) for k in keys])
        done += len(keys)
    assert done == 200 and len(ws.data) == 200
    ws.handle(FreeKeys([("inc", i) for i in range(200)]))
    assert not ws.tasks and not ws.data and ws.data.total_nbytes == 0


def test_paused_starts_no_task_and_no_fetch_until_resumed():
    ws = WorkerState(nthreads=2, address=ME)
    assert ws.handle(PauseEvent(True)) == []
    out = ws.handle(ComputeTask("x", "spec", (0,)),
                    ComputeTask("y", "spec", (1,), who_has={"d": [A]}, nbytes={"d": 8}))
    assert executes(out) == [] and gathers(out) == []
    assert ws.tasks["x"].state == "ready" and ws.tasks["d"].state == "fetch"
    ws.validate()
    out = ws.handle(PauseEvent(False))
    assert executes(out) == ["x"] and gathers(out) == [(A, ["d"])]
    ws.validate()


def test_paused_lets_running_tasks_finish_and_seceded_ones_rejoin():
    ws = WorkerState(nthreads=1, address=ME)
    ws.handle(ComputeTask("x", "spec", (0,)), ComputeTask("y", "spec", (1,)))
    ws.handle(SecedeEvent("x"))  # y takes the freed slot
    assert ws.tasks["y"].state == "executing"
    ws.handle(PauseEvent(True))
    ws.handle(ComputeTask("z", "spec", (2,)))
    out = ws.handle(ok("y"))
    assert ws.tasks["y"].state == "memory" and executes(out) == []  # z waits
    out = ws.handle(RejoinEvent("x"))
    assert [type(i) for i in out if isinstance(i, Resume)] == [Resume]  # x gets its slot
    assert ws.tasks["z"].state == "ready"
    ws.validate()


def test_scheduler_lost_forgets_everything_busy_work_finishes_into_nothing():
    ws = WorkerState(nthreads=2, address=ME)
    ws.handle(ComputeTask("done", "spec", (0,)))
    ws.handle(ok("done", 5))
    ws.handle(ComputeTask("running", "spec", (0,)))
    ws.handle(ComputeTask("needs", "spec", (1,), who_has={"far": [A], "done": [ME]},
                          nbytes={"far": 8}))
    ws.handle(ComputeTask("queued", "spec", (2,), who_has={"gone": []}))
    assert ws.tasks["far"].state == "flight" and ws.tasks["gone"].state == "missing"
    out = ws.handle(SchedulerLost())
    assert msgs(out) == []  # nothing about old keys goes to the next scheduler
    assert set(ws.tasks) == {"running", "far"}
    assert ws.tasks["running"].state == "cancelled" and ws.tasks["far"].state == "cancelled"
    assert not ws.data and not ws.missing and not ws.ready and not ws.fetch_heap
    ws.validate()
    out = ws.handle(ok("running"), GatherDepSuccess(A, {"far": 1}, {"far": 8}))
    assert msgs(out) == [] and ws.tasks == {} and not ws.executing
    assert not ws.in_flight_workers and not ws.data
    ws.validate()
    # Work again afterwards, as a fresh worker.
    assert executes(ws.handle(ComputeTask("running", "spec", (0,)))) == ["running"]
    (m,) = msgs(ws.handle(ok("running", 7)))
    assert m["op"] == "task-finished" and ws.data["running"] == 7


def test_scheduler_lost_then_the_same_task_again_resumes_the_running_thread():
    ws = WorkerState(nthreads=1, address=ME)
    ws.handle(ComputeTask("x", "spec", (0,)))
    ws.handle(SchedulerLost())
    out = ws.handle(ComputeTask("x", "spec2", (0,)))
    assert executes(out) == [] and ws.tasks["x"].state == "executing"
    (m,) = msgs(ws.handle(ok("x", 3)))
    assert m["op"] == "task-finished" and ws.data["x"] == 3
    ws.validate()

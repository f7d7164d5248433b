"""The scheduler's state machine driven by plain calls (no sockets)."""

from __future__ import annotations

import pytest

from plait.distributed.scheduler import SchedulerState
from plait.distributed.scheduler.errors import GraphCycleError, UnknownDependencyError
from plait.distributed.scheduler.simulate import Simulation
from plait.distributed.scheduler.transitions import ARROWS

A, B, C = "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", "tcp://127.0.0.1:3"


def sim(workers=None, **kw):
    return Simulation(workers=workers if workers is not None else {A: 1}, validate=True, **kw)


def diamond():
    tasks = {"a": b"a", "b": b"b", "c": b"c", "d": b"d"}
    deps = {"b": ["a"], "c": ["a"], "d": ["b", "c"]}
    return tasks, deps


def test_arrows_table_has_a_method_per_pair():
    s = SchedulerState()
    assert set(s._arrows) == set(ARROWS)
    assert all(callable(f) for f in s._arrows.values())


def test_diamond_runs_in_dependency_order_and_releases_intermediates():
    s = sim()
    tasks, deps = diamond()
    s.submit("c1", tasks, deps, ["d"])
    s.run_until_idle()
    order = [k for k, _ in s.computed]
    assert order[0] == "a" and order[-1] == "d" and sorted(order) == ["a", "b", "c", "d"]
    assert s.client_ops("c1") == ["key-in-memory"]
    st = s.state
    assert st.tasks["d"].state == "memory"
    # Intermediates were freed on the worker as soon as nothing needed them.
    assert {st.tasks[k].state for k in "abc"} == {"released"}
    assert s.data[A] == {"d"}
    s.deliver(st.client_releases_keys(["d"], "c1"))
    assert st.tasks == {} and s.data[A] == set()


def test_no_leak_after_many_graphs_and_releases():
    s = sim({A: 2, B: 1})
    for g in range(20):
        tasks = {f"x-{g}-{i}": b"" for i in range(10)}
        tasks[f"sum-{g}"] = b""
        deps = {f"sum-{g}": list(tasks)[:-1]}
        s.submit("c", tasks, deps, [f"sum-{g}"])
    s.run_until_idle()
    assert len(s.state.tasks) == 20 * 11
    s.deliver(s.state.client_releases_keys([f"sum-{g}" for g in range(20)], "c"))
    assert s.state.tasks == {}
    assert all(not d for d in s.data.values())
    assert all(ws.nbytes == 0 and not ws.has_what for ws in s.state.workers.values())


def test_reference_counting_across_clients():
    s = sim()
    s.submit("c1", {"x": b""}, {}, ["x"])
    s.submit("c2", {"x": b"other spec"}, {}, ["x"])
    s.run_until_idle()
    assert [k for k, _ in s.computed] == ["x"]  # submitted twice, computed once
    assert s.client_ops("c1") == s.client_ops("c2") == ["key-in-memory"]
    s.deliver(s.state.client_releases_keys(["x"], "c1"))
    assert s.state.tasks["x"].state == "memory"
    s.deliver(s.state.remove_client("c2"))
    assert s.state.tasks == {}


def test_resubmitting_a_key_in_memory_or_processing_does_not_recompute():
    s = sim()
    s.submit("c1", {"x": b""}, {}, ["x"])
    s.submit("c1", {"x": b""}, {}, ["x"])  # still processing
    assert s.pending[A] == ["x"]
    s.run_until_idle()
    s.submit("c2", {"x": b""}, {}, ["x"])  # already in memory
    assert s.pending[A] == [] and [k for k, _ in s.computed] == ["x"]
    assert s.client_ops("c2") == ["key-in-memory"]


def test_futures_as_arguments_build_on_known_keys():
    s = sim()
    s.submit("c", {"x": b""}, {}, ["x"])
    s.run_until_idle()
    s.submit("c", {"y": b""}, {"y": ["x"]}, ["y"])
    s.run_until_idle()
    assert s.state.tasks["y"].state == "memory"
    compute_y = [m for m in s.worker_msgs[A] if m["op"] == "compute-task" and m["key"] == "y"]
    assert compute_y[0]["who_has"] == {"x": [A]} and compute_y[0]["nbytes"] == {"x": 8}


def test_task_error_poisons_dependents_with_the_root_cause():
    s = sim()
    boom = ZeroDivisionError("boom")
    s.failures["a"] = [boom]
    tasks, deps = diamond()
    tasks["e"] = b"e"  # independent of the failure
    s.submit("c1", tasks, deps, ["d", "b", "e"])
    s.run_until_idle()
    st = s.state
    assert {k: st.tasks[k].state for k in "abcde"} == {
        "a": "erred", "b": "erred", "c": "erred", "d": "erred", "e": "memory"}
    erred = [m for m in s.client_msgs["c1"] if m["op"] == "task-erred"]
    assert sorted(m["key"] for m in erred) == ["b", "d"]
    assert all(m["cause"] == "a" and m["exception"] is boom for m in erred)
    # A client asking later is told at once.
    s.deliver(st.client_desires_keys(["c"], "c2"))
    assert s.client_msgs["c2"][0]["op"] == "task-erred"
    for c in ("c1", "c2"):
        s.deliver(st.remove_client(c))
    assert st.tasks == {}


def test_retries_rerun_then_keep_the_last_error():
    s = sim()
    s.failures["x"] = [ValueError("first"), ValueError("second")]
    s.submit("c", {"x": b""}, {}, ["x"], retries=2)
    s.run_until_idle()
    assert s.state.tasks["x"].state == "memory" and len(s.computed) == 3
    s.failures["y"] = [ValueError("first"), ValueError("last")]
    s.submit("c", {"y": b""}, {}, ["y"], retries=1)
    s.run_until_idle()
    ts = s.state.tasks["y"]
    assert ts.state == "erred" and str(ts.exception) == "last"
    # retry() runs it again from the failed task.
    s.deliver(s.state.retry(["y"], "c"))
    s.run_until_idle()
    assert s.state.tasks["y"].state == "memory"


def test_retry_reruns_erred_dependents():
    s = sim()
    s.failures["a"] = [RuntimeError("once")]
    s.submit("c", {"a": b"", "b": b""}, {"b": ["a"]}, ["b"])
    s.run_until_idle()
    assert s.state.tasks["b"].state == "erred"
    s.deliver(s.state.retry(["b"], "c"))
    s.run_until_idle()
    assert s.state.tasks["b"].state == "memory"
    assert s.client_ops("c") == ["task-erred", "key-in-memory"]


def test_retry_of_a_diamond_reruns_everything_without_a_stale_error():
    # d erred through both b and c: resetting d while c still carried a's error used
    # to err d again and tell the client a second time, before the rerun finished.
    s = sim({A: 2})
    s.failures["a"] = [RuntimeError("once")]
    tasks, deps = diamond()
    s.submit("c", tasks, deps, ["d"])
    s.run_until_idle()
    assert {k: t.state for k, t in s.state.tasks.items()} == dict.fromkeys("abcd", "erred")
    s.deliver(s.state.retry(["d"], "c"))
    s.run_until_idle()
    assert s.state.tasks["d"].state == "memory"
    assert s.client_ops("c") == ["task-erred", "key-in-memory"]
    assert s.state.tasks["a"].exception_blame is None


def test_unknown_dependency_and_cycles_err_without_hanging():
    s = sim()
    s.submit("c", {"y": b"", "z": b""}, {"y": ["gone"], "z": ["y"]}, ["z"])
    msgs = s.client_msgs["c"]
    assert [m["op"] for m in msgs] == ["task-erred"] and msgs[0]["key"] == "z"
    assert isinstance(msgs[0]["exception"], UnknownDependencyError)
    assert "gone" in msgs[0]["exception_text"]
    s.submit("c", {"p": b"", "q": b""}, {"p": ["q"], "q": ["p"]}, ["p"])
    assert isinstance(s.client_msgs["c"][-1]["exception"], GraphCycleError)
    assert s.pending[A] == []
    s.deliver(s.state.remove_client("c"))
    assert s.state.tasks == {}


def test_cancel_stops_work_and_tells_the_client():
    s = sim()
    s.submit("c", {"a": b"", "b": b""}, {"b": ["a"]}, ["a", "b"])
    assert s.pending[A] == ["a"]
    s.deliver(s.state.cancel(["a"], "c"))
    assert s.client_msgs["c"][-1] == {"op": "cancelled-keys", "keys": ["a", "b"]} or sorted(
        s.client_msgs["c"][-1]["keys"]) == ["a", "b"]
    assert s.pending[A] == []  # free-keys reached the worker
    assert s.state.tasks == {}


def test_cancel_without_force_keeps_other_clients_keys():
    s = sim()
    s.submit("c1", {"x": b""}, {}, ["x"])
    s.submit("c2", {"x": b""}, {}, ["x"])
    s.deliver(s.state.cancel(["x"], "c1"))
    assert "x" in s.state.tasks and s.pending[A] == ["x"]
    s.deliver(s.state.cancel(["x"], "c1", force=True))
    assert "x" not in s.state.tasks
    assert s.client_msgs["c2"][-1]["op"] == "cancelled-keys"


def test_scatter_update_data_then_compute_on_it():
    s = sim({A: 1, B: 1})
    s.deliver(s.state.update_data({"data": [B]}, {"data": 1000}, client="c"))
    assert s.client_ops("c") == ["key-in-memory"]
    s.submit("c", {"f": b""}, {"f": ["data"]}, ["f"])
    assert s.pending[B] == ["f"]  # runs where its input is
    s.run_until_idle()
    s.deliver(s.state.client_releases_keys(["data", "f"], "c"))
    assert s.state.tasks == {}


def test_unknown_keys_asked_for_are_cancelled_not_hung():
    s = sim()
    s.deliver(s.state.client_desires_keys(["nope"], "c"))
    assert s.client_msgs["c"] == [{"op": "cancelled-keys", "keys": ["nope"]}]


def test_late_reports_are_answered_with_free_keys():
    s = sim()
    s.deliver(s.state.task_finished("never-submitted", A, nbytes=1))
    assert s.worker_msgs[A][-1] == {"op": "free-keys", "keys": ["never-submitted"]}
    s.deliver(s.state.task_finished("x", "tcp://unknown:1", nbytes=1))  # ignored


def test_dead_end_results_are_released():
    s = sim()
    s.submit("c", {"a": b"", "b": b""}, {}, ["b"])  # "a" is needed by nobody
    # "a" is never even started: nothing wants it.
    s.run_until_idle()
    assert "a" not in s.state.tasks and [k for k, _ in s.computed] == ["b"]


def test_add_worker_rejects_duplicates_with_a_clear_error():
    s = sim()
    with pytest.raises(ValueError, match="already registered"):
        s.state.add_worker(A)
    with pytest.raises(ValueError, match="nthreads"):
        s.state.add_worker(B, nthreads=0)
    s.state.add_worker(B, name="w")
    with pytest.raises(ValueError, match="unique name"):
        s.state.add_worker(C, name="w")


def test_fire_and_forget_keys_run_to_completion_then_are_released():
    s = sim()
    s.submit("c", {"a": b"", "b": b""}, {"b": ["a"]}, ["b"])
    s.deliver(s.state.client_desires_keys(["b"], "fire-and-forget"))
    s.deliver(s.state.remove_client("c"))  # the client is gone; the work goes on
    assert s.state.tasks["b"].state in ("waiting", "processing")
    s.run_until_idle()
    assert [k for k, _ in s.computed] == ["a", "b"]
    assert s.state.tasks == {}
    s.failures["x"] = [ValueError("nobody will see this")]
    s.submit("fire-and-forget", {"x": b""}, {}, ["x"])
    s.run_until_idle()
    assert s.state.tasks == {}


def test_wanting_a_key_the_graph_does_not_define_is_answered():
    s = sim()
    s.submit("c", {"x": b""}, {}, ["x", "undefined"])
    assert {"op": "cancelled-keys", "keys": ["undefined"]} in s.client_msgs["c"]

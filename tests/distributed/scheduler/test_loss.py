"""Worker loss in the scheduler's state machine: rescheduling, recomputing, KilledWorker,
restart (plain calls, no sockets)."""

from __future__ import annotations

import pickle

import pytest

from plait import config
from plait.distributed.scheduler import SchedulerState
from plait.distributed.scheduler.errors import KilledWorker, killed_worker_error
from plait.distributed.scheduler.simulate import Simulation

A, B, C, D = (f"tcp://127.0.0.1:{i}" for i in (1, 2, 3, 4))


def sim(workers, **kw):
    return Simulation(workers=workers, validate=True, **kw)


def erred_msgs(s, client="c"):
    return [m for m in s.client_msgs[client] if m["op"] == "task-erred"]


def test_killed_worker_after_allowed_failures_names_task_workers_and_reasons():
    s = sim({A: 1}, allowed_failures=2)
    s.submit("c", {"boom": b"", "after": b""}, {"after": ["boom"]}, ["after"])
    reasons = [("memory", "process memory 290 MiB above 95% of its 300 MiB limit"),
               ("signal", "killed by SIGKILL"), ("exit", "exit code 3")]
    dead = []
    for i, (reason, detail) in enumerate(reasons):
        address = A if i == 0 else f"tcp://127.0.0.1:{10 + i}"
        assert s.state.tasks["boom"].processing_on.address == address
        replacement = f"tcp://127.0.0.1:{11 + i}"
        s.add_worker(replacement)
        s.pending.pop(address, None)
        s.deliver(s.state.remove_worker(address, reason=reason, detail=detail))
        dead.append(address)
        if i < 2:  # allowed_failures=2: the first two deaths put it back to work
            assert s.state.tasks["boom"].state == "processing"
            assert s.state.tasks["boom"].suspicious == i + 1
    ts = s.state.tasks["boom"]
    assert ts.state == "erred" and s.state.tasks["after"].state == "erred"
    msgs = erred_msgs(s)
    assert [m["key"] for m in msgs] == ["after"] and msgs[0]["cause"] == "boom"
    exc = msgs[0]["exception"]
    assert isinstance(exc, KilledWorker)
    text = str(exc)
    assert "'boom'" in text and "allowed-failures is 2" in text
    for address, (reason, detail) in zip(dead, reasons):
        assert f"{address} ({reason}: {detail})" in text
    assert exc.task == "boom" and exc.last_worker == dead[-1] and exc.allowed_failures == 2
    assert [w["reason"] for w in exc.workers] == ["memory", "signal", "exit"]
    assert s.state.loss_counts["killed_worker"] == 1
    assert s.state.loss_counts["rescheduled"] == 2
    # The cluster is still usable: new work runs on the remaining worker.
    s.submit("c", {"ok": b""}, {}, ["ok"])
    s.run_until_idle()
    assert s.state.tasks["ok"].state == "memory"


def test_default_allowed_failures_is_three_from_config():
    assert SchedulerState().allowed_failures == 3
    with config.set({"distributed.scheduler.allowed-failures": 0}):
        assert SchedulerState().allowed_failures == 0
    with pytest.raises(ValueError, match="allowed-failures .* must be an int >= 0"):
        SchedulerState(allowed_failures=-1)
    with pytest.raises(ValueError, match="allowed-failures"):
        SchedulerState(allowed_failures="3")


def test_safe_removal_counts_nothing_against_the_task():
    s = sim({A: 1, B: 1}, allowed_failures=0)
    s.submit("c", {"x": b""}, {}, ["x"])
    where = s.state.tasks["x"].processing_on.address
    s.pending.pop(where)
    s.deliver(s.state.remove_worker(where, safe=True))
    ts = s.state.tasks["x"]
    assert ts.state == "processing" and ts.suspicious == 0 and ts.deaths is None
    s.run_until_idle()
    assert ts.state == "memory"


def test_lost_data_is_recomputed_from_the_graph_and_counted():
    s = sim({A: 1, B: 1})
    # a chain whose intermediates are released: losing the end recomputes all of it
    tasks = {"a": b"", "b": b"", "c": b"", "d": b""}
    deps = {"b": ["a"], "c": ["b"]}
    s.submit("c", tasks, deps, ["c", "d"])
    s.run_until_idle()
    st = s.state
    assert st.tasks["c"].state == "memory" and st.tasks["a"].state == "released"
    holder = next(iter(st.tasks["c"].who_has)).address
    other = B if holder == A else A
    n_before = len(s.computed)
    s.data.pop(holder)
    s.pending.pop(holder)
    s.deliver(st.remove_worker(holder, reason="signal", detail="killed by SIGKILL"))
    s.run_until_idle()
    assert st.tasks["c"].state == "memory" and {w.address for w in st.tasks["c"].who_has} == {other}
    again = [k for k, _ in s.computed[n_before:]]
    assert {"a", "b", "c"} <= set(again)
    # d lived on the lost worker too or not: either way every key the client holds is back
    assert st.tasks["d"].state == "memory"
    assert st.loss_counts["recomputed"] == len(again)
    assert st.loss_counts["workers_lost"] == 1
    assert s.client_ops("c").count("task-erred") == 0
    event = st.events["worker-removed"][-1][1]
    assert event["worker"] == holder and event["reason"] == "signal"


def test_retry_after_killed_worker_gives_the_task_its_allowance_again():
    s = sim({A: 1, B: 1}, allowed_failures=0)
    s.submit("c", {"x": b""}, {}, ["x"])
    where = s.state.tasks["x"].processing_on.address
    s.pending.pop(where)
    s.deliver(s.state.remove_worker(where, reason="exit", detail="exit code 1"))
    assert s.state.tasks["x"].state == "erred"
    s.deliver(s.state.retry(["x"], "c"))
    ts = s.state.tasks["x"]
    assert ts.state == "processing" and ts.suspicious == 0 and ts.deaths is None
    s.run_until_idle()
    assert ts.state == "memory"


def test_restart_forgets_every_task_and_tells_clients_and_workers():
    s = sim({A: 1, B: 1})
    s.submit("c", {"x": b"", "y": b"", "z": b""}, {"z": ["x", "y"]}, ["x", "z"])
    s.finish(A)
    s.finish(B)
    assert s.state.tasks
    before = {a: set(d) for a, d in s.data.items()}
    s.deliver(s.state.restart())
    st = s.state
    assert st.tasks == {} and not st.queue and not st.unrunnable
    cancelled = [m for m in s.client_msgs["c"] if m["op"] == "cancelled-keys"]
    assert sorted(cancelled[-1]["keys"]) == ["x", "z"]
    assert all(not d for d in s.data.values()) and any(before.values())
    assert all(not ws.processing and not ws.has_what and ws.nbytes == 0
               for ws in st.workers.values())
    assert set(st.running) == {A, B}
    # work submitted afterwards runs normally
    s.submit("c", {"x": b""}, {}, ["x"])
    s.run_until_idle()
    assert st.tasks["x"].state == "memory"


def test_killed_worker_pickles_with_its_details():
    exc = killed_worker_error(("f", 3), [(A, "heartbeat", "no heartbeat for 1.0 s"),
                                         (B, "connection", "")], 1)
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is KilledWorker and str(back) == str(exc)
    assert back.task == ("f", 3) and back.last_worker == B
    assert f"{A} (heartbeat: no heartbeat for 1.0 s)" in str(back) and f"{B} (connection)" in str(back)

"""Work stealing and worker loss in the pure state machine."""

from __future__ import annotations

from plait.distributed.plugins import EventStream, SchedulerPlugin
from plait.distributed.scheduler.errors import LostDataError
from plait.distributed.scheduler.simulate import Simulation

A, B, C = "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", "tcp://127.0.0.1:3"


def sim(workers, **kw):
    kw.setdefault("validate", True)
    return Simulation(workers=workers, **kw)


def loaded(n=10):
    """Worker A holds an input that n tasks need; they all go to A (queuing off)."""
    s = sim({A: 1}, saturation=float("inf"))
    s.deliver(s.state.update_data({"x": [A]}, {"x": 100}, client="c"))
    tasks = {("f", i): b"" for i in range(n)}
    s.submit("c", tasks, {k: ["x"] for k in tasks}, list(tasks),
             priority={k: i for i, k in enumerate(tasks)})
    return s, tasks


def test_a_new_worker_steals_tasks_not_yet_started():
    s, tasks = loaded()
    assert len(s.pending[A]) == 10
    s.start(A, 1)  # A is running its first task
    s.add_worker(B, nthreads=2)
    s.deliver(s.state.balance())
    requests = [m for m in s.worker_msgs[A] if m["op"] == "steal-request"]
    assert len(requests) == 2
    # Answers went back through steal_response (the simulated victim gave them up).
    assert len(s.pending[B]) == 2 and len(s.pending[A]) == 8
    stolen = set(s.pending[B])
    # It stole the tasks A would have run last.
    assert stolen == {("f", 8), ("f", 9)}
    for k in stolen:
        assert s.state.tasks[k].processing_on.address == B
    s.run_until_idle()
    assert {w for _, w in s.computed} == {A, B}
    assert all(s.state.tasks[k].state == "memory" for k in tasks)
    assert s.state.stealing.count == 2


def test_a_task_already_executing_is_not_moved():
    s, tasks = loaded(3)
    s.add_worker(B, nthreads=1)
    st = s.state
    st.stealing.balance()
    _, wmsgs = st._flush()
    (req,) = [m for m in wmsgs[A] if m["op"] == "steal-request"]
    s.deliver(st.steal_response(req["key"], A, "executing"))
    assert st.tasks[req["key"]].processing_on.address == A
    assert not st.stealing.in_flight


def test_a_task_that_finished_before_the_answer_stays_finished():
    s, tasks = loaded(3)
    s.add_worker(B, nthreads=1)
    st = s.state
    st.stealing.balance()
    _, wmsgs = st._flush()
    (req,) = [m for m in wmsgs[A] if m["op"] == "steal-request"]
    s.finish(A, req["key"])
    s.deliver(st.steal_response(req["key"], A, "memory"))
    assert st.tasks[req["key"]].state == "memory"
    assert not s.pending[B]


def test_no_stealing_when_inputs_are_expensive_to_move():
    s = sim({A: 1}, saturation=float("inf"))
    s.deliver(s.state.update_data({"x": [A]}, {"x": 10**9}, client="c"))  # 10 s to move
    tasks = {("f", i): b"" for i in range(5)}
    s.submit("c", tasks, {k: ["x"] for k in tasks}, list(tasks))
    s.add_worker(B, nthreads=1)
    s.deliver(s.state.balance())
    assert not s.pending[B]


def test_restricted_tasks_are_not_stolen_by_workers_they_may_not_use():
    s = sim({A: 1}, saturation=float("inf"))
    tasks = {("f", i): b"" for i in range(5)}
    s.submit("c", tasks, {}, list(tasks), workers=[A])
    s.add_worker(B, nthreads=1)
    s.deliver(s.state.balance())
    assert not s.pending[B]


def test_losing_a_worker_reschedules_its_tasks_and_recomputes_its_data():
    s = sim({A: 1, B: 1}, saturation=float("inf"))
    tasks = {("x", i): b"" for i in range(4)}
    tasks["total"] = b""
    deps = {"total": [("x", i) for i in range(4)]}
    s.submit("c", tasks, deps, ["total"])
    # Finish the x tasks on A only, then lose A before "total" runs.
    for _ in range(2):
        s.finish(A)
    on_a = {k for k, w in s.computed if w == A}
    s.remove_worker(A)
    st = s.state
    assert all(st.tasks[k].state != "memory" for k in on_a)
    assert all(ts.processing_on is None or ts.processing_on.address == B
               for ts in st.tasks.values())
    s.run_until_idle()
    assert st.tasks["total"].state == "memory"
    assert {k for k, w in s.computed if w == B} >= on_a  # recomputed on B
    assert st.tasks[("x", 0)].suspicious + st.tasks[("x", 1)].suspicious >= 0


def test_processing_tasks_on_a_lost_worker_are_counted_suspicious():
    s = sim({A: 1, B: 1})
    s.submit("c", {"x": b""}, {}, ["x"])
    (w,) = [a for a, p in s.pending.items() if p]
    other = B if w == A else A
    s.remove_worker(w)
    assert s.state.tasks["x"].suspicious == 1
    assert s.pending[other] == ["x"]


def test_losing_the_only_copy_of_scattered_data_errs_clearly():
    s = sim({A: 1, B: 1})
    s.deliver(s.state.update_data({"table": [A]}, {"table": 10}, client="c"))
    s.submit("c", {"f": b""}, {"f": ["table"]}, ["f"], workers=[B])
    s.remove_worker(A)
    ops = s.client_ops("c")
    assert "lost-data" in ops
    erred = {m["key"]: m for m in s.client_msgs["c"] if m["op"] == "task-erred"}
    assert set(erred) == {"table", "f"}
    assert isinstance(erred["f"]["exception"], LostDataError)
    s.deliver(s.state.remove_client("c"))
    assert s.state.tasks == {}


def test_missing_data_triggers_recompute():
    s = sim({A: 1, B: 1}, saturation=float("inf"))
    s.submit("c", {"x": b"", "y": b""}, {"y": ["x"]}, ["y"], annotations={"x": {"workers": [A]},
                                                                             "y": {"workers": [B]}})
    s.finish(A)
    # B could not fetch x from A (A dropped it): the scheduler computes it again.
    s.deliver(s.state.missing_data("x", A, worker=B))
    assert s.state.tasks["y"].state == "waiting"
    s.run_until_idle()
    assert s.state.tasks["y"].state == "memory"
    assert [k for k, _ in s.computed].count("x") == 2


def test_plugins_see_transitions_and_cluster_events():
    calls = []

    class Recorder(SchedulerPlugin):
        name = "rec"

        def transition(self, key, start, finish, **kw):
            calls.append((key, start, finish))

        def add_worker(self, scheduler, worker):
            calls.append(("add", worker))

        def remove_worker(self, scheduler, worker, **kw):
            calls.append(("remove", worker))

        def update_graph(self, scheduler, *, client, keys, tasks, **kw):
            calls.append(("graph", client, tuple(tasks)))

    class Broken(SchedulerPlugin):
        def transition(self, *a, **k):
            raise RuntimeError("bad plugin")

    s = sim({})
    s.state.add_plugin(Recorder())
    s.state.add_plugin(Broken(), name="broken")
    es = EventStream(finishes={"memory"})
    s.state.add_plugin(es)
    s.add_worker(A, nthreads=1)
    s.submit("c", {"x": b""}, {}, ["x"])
    s.run_until_idle()
    s.remove_worker(A)
    assert calls[0] == ("add", A) and calls[1] == ("graph", "c", ("x",))
    assert ("x", "released", "waiting") in calls and ("x", "processing", "memory") in calls
    # The lost result is still wanted: it waits in the queue for a new worker.
    assert calls[-3:] == [("remove", A), ("x", "memory", "released"), ("x", "released", "waiting")
                          ] or ("remove", A) in calls
    assert s.state.tasks["x"].state == "queued"
    assert [e["key"] for e in es.buffer if "key" in e] == ["x"]
    assert [e["worker"] for e in es.buffer if "key" in e] == [A]
    assert s.state.events["plugin-error"]  # the broken plugin was logged, not fatal
    s.state.remove_plugin("broken")


def test_tasks_known_to_be_tiny_are_not_stolen():
    s = sim({A: 1}, saturation=float("inf"), duration=1e-4)
    s.submit("c", {"inc-0123456789abcdef": b""}, {}, ["inc-0123456789abcdef"])
    s.run_until_idle()  # learn that "inc" tasks take 0.1 ms
    tasks = {("inc-0123456789abcdef", i): b"" for i in range(6)}
    s.submit("c", tasks, {}, list(tasks))
    s.add_worker(B, nthreads=1)
    s.deliver(s.state.balance())
    assert not s.pending[B]

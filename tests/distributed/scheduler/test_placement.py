"""Placement: data locality, restrictions, resources, priorities, root-task queuing."""

from __future__ import annotations

import math

from plait.distributed.scheduler.simulate import Simulation

A, B, C = "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", "tcp://127.0.0.1:3"


def sim(workers, **kw):
    kw.setdefault("validate", True)
    return Simulation(workers=workers, **kw)


def test_task_runs_on_the_worker_holding_most_of_its_input_bytes():
    s = sim({A: 1, B: 1, C: 1})
    s.deliver(s.state.update_data({"small": [A], "big": [B]}, {"small": 10, "big": 10**8},
                                  client="c"))
    s.submit("c", {"f": b""}, {"f": ["small", "big"]}, ["f"])
    assert s.pending[B] == ["f"] and not s.pending[A] and not s.pending[C]
    # The locality holds even when that worker is busier than the others (fetching
    # 100 MB costs more than waiting for a few unknown-duration tasks).
    s.submit("c", {f"busy-{i}": b"" for i in range(3)}, {f"busy-{i}": ["big"] for i in range(3)},
             [f"busy-{i}" for i in range(3)])
    s.submit("c", {"g": b""}, {"g": ["big"]}, ["g"])
    assert "g" in s.pending[B]


def test_computed_results_pull_their_dependents_to_them():
    s = sim({A: 1, B: 1}, saturation=float("inf"))
    tasks = {("x", i): b"" for i in range(4)}
    tasks.update({("y", i): b"" for i in range(4)})
    deps = {("y", i): [("x", i)] for i in range(4)}
    s.submit("c", tasks, deps, [("y", i) for i in range(4)])
    s.run_until_idle()
    where = dict(s.computed)
    for i in range(4):
        assert where[("y", i)] == where[("x", i)]


def test_workers_restriction_by_address_name_and_host():
    s = sim({A: 1, B: 1})
    s.add_worker(C, nthreads=1, name="gpu-box")
    s.submit("c", {"a": b""}, {}, ["a"], workers=[B])
    s.submit("c", {"b": b""}, {}, ["b"], workers="gpu-box")
    s.submit("c", {"h": b""}, {}, ["h"], workers=["127.0.0.1"])
    assert "a" in s.pending[B] and "b" in s.pending[C]
    assert any("h" in s.pending[w] for w in (A, B, C))


def test_strict_restriction_waits_in_no_worker_until_a_match_appears():
    s = sim({A: 1})
    s.submit("c", {"x": b""}, {}, ["x"], workers=[B])
    assert s.state.tasks["x"].state == "no-worker"
    s.add_worker(B, nthreads=1)
    assert s.state.tasks["x"].state == "processing" and s.pending[B] == ["x"]


def test_allow_other_workers_falls_back():
    s = sim({A: 1})
    s.submit("c", {"x": b""}, {}, ["x"], workers=[B], allow_other_workers=True)
    assert s.pending[A] == ["x"]


def test_resources_wait_for_a_worker_that_has_them():
    s = sim({A: 2})
    s.submit("c", {"train": b""}, {}, ["train"], resources={"GPU": 1})
    assert s.state.tasks["train"].state == "no-worker"
    s.add_worker(B, nthreads=1, resources={"GPU": 1})
    assert s.pending[B] == ["train"]
    msg = [m for m in s.worker_msgs[B] if m["op"] == "compute-task"][0]
    assert msg["resource_restrictions"] == {"GPU": 1}
    s.run_until_idle()
    assert s.state.tasks["train"].state == "memory"


def test_annotations_override_graph_level_settings_per_key():
    s = sim({A: 1, B: 1})
    s.submit("c", {"x": b"", "y": b""}, {}, ["x", "y"], workers=[A],
             annotations={"y": {"workers": [B], "retries": 2, "priority": 5}})
    assert s.pending[A] == ["x"] and s.pending[B] == ["y"]
    ts = s.state.tasks["y"]
    assert ts.retries == 2 and ts.priority[0] == -5


def test_user_priority_then_submission_order_then_static_order():
    s = sim({A: 1}, saturation=1.0)  # one slot: the queue decides the order
    s.submit("c", {"blocker": b""}, {}, ["blocker"])
    s.submit("c", {"low-1": b"", "low-0": b""}, {}, ["low-1", "low-0"],
             priority={"low-0": 0, "low-1": 1})
    s.submit("c", {"later": b""}, {}, ["later"])
    s.submit("c", {"urgent": b""}, {}, ["urgent"], user_priority=10)
    s.run_until_idle()
    assert [k for k, _ in s.computed] == ["blocker", "urgent", "low-0", "low-1", "later"]


def test_ten_thousand_roots_keep_about_nthreads_plus_one_processing_per_worker():
    n = 10_000
    s = sim({A: 1, B: 2}, validate=False)
    s.add_worker(C, nthreads=4)
    tasks = {("load", i): b"" for i in range(n)}
    s.submit("c", tasks, {}, list(tasks), priority={k: i for i, k in enumerate(tasks)})
    caps = {A: 2, B: 3, C: 5}  # ceil(1.1 * nthreads) = nthreads + 1 here
    assert all(caps[w] == math.ceil(1.1 * t) for w, t in ((A, 1), (B, 2), (C, 4)))
    assert s.processing_counts() == caps
    assert len(s.state.queue) == n - sum(caps.values())
    peak = dict.fromkeys(caps, 0)

    def check(sim):
        for w, c in sim.processing_counts().items():
            peak[w] = max(peak[w], c)

    s.run_until_idle(check=check)
    assert peak == caps
    assert len(s.computed) == n and not s.state.queue
    # Handed out in priority order: each worker's tasks were computed in key order.
    for w in caps:
        mine = [k[1] for k, where in s.computed if where == w]
        assert mine == sorted(mine)
    s.deliver(s.state.client_releases_keys(list(tasks), "c"))
    assert s.state.tasks == {}


def test_tasks_with_a_widely_shared_input_are_queued_like_roots():
    s = sim({A: 1, B: 1})
    s.deliver(s.state.update_data({"table": [A]}, {"table": 100}, client="c"))
    tasks = {("f", i): b"" for i in range(100)}
    s.submit("c", tasks, {k: ["table"] for k in tasks}, list(tasks))
    assert s.processing_counts() == {A: 2, B: 2}
    assert len(s.state.queue) == 96


def test_queuing_off_sends_everything():
    s = sim({A: 1, B: 1}, saturation=float("inf"))
    tasks = {("load", i): b"" for i in range(100)}
    s.submit("c", tasks, {}, list(tasks))
    assert sum(s.processing_counts().values()) == 100 and not s.state.queue
    counts = s.processing_counts()
    assert abs(counts[A] - counts[B]) <= 1  # spread by occupancy


def test_new_worker_takes_queued_work_at_once():
    s = sim({A: 1})
    tasks = {("load", i): b"" for i in range(50)}
    s.submit("c", tasks, {}, list(tasks))
    assert s.processing_counts() == {A: 2}
    s.add_worker(B, nthreads=2)
    assert s.processing_counts() == {A: 2, B: 3}
    s.run_until_idle()
    assert {w for _, w in s.computed} == {A, B}


def test_root_tasks_wait_in_the_queue_until_a_worker_arrives():
    s = sim({})
    s.submit("c", {"x": b"", "y": b""}, {"y": ["x"]}, ["y"])
    assert s.state.tasks["x"].state == "queued"
    s.add_worker(A, nthreads=1)
    s.run_until_idle()
    assert s.state.tasks["y"].state == "memory"


def test_paused_worker_gets_no_new_tasks():
    s = sim({A: 1, B: 1})
    s.deliver(s.state.set_worker_status(B, "paused"))
    tasks = {("load", i): b"" for i in range(10)}
    s.submit("c", tasks, {}, list(tasks))
    assert s.processing_counts() == {A: 2, B: 0}
    s.deliver(s.state.set_worker_status(B, "running"))
    assert s.processing_counts() == {A: 2, B: 2}


def test_seceded_task_frees_its_slot():
    s = sim({A: 1})
    tasks = {("load", i): b"" for i in range(10)}
    s.submit("c", tasks, {}, list(tasks))
    first = s.pending[A][0]
    s.deliver(s.state.long_running(first, A))
    assert s.processing_counts() == {A: 3}  # one long-running plus two normal


def test_learned_durations_feed_occupancy():
    s = sim({A: 1})
    s.submit("c", {"inc-0123456789abcdef": b""}, {}, ["inc-0123456789abcdef"])
    s.run_until_idle()
    assert s.state.prefixes["inc"].duration_average == 0.05


def test_tiny_root_tasks_get_a_wider_but_bounded_window():
    # 50 us tasks: nthreads + 1 in flight would leave the worker idle for most of
    # each round trip, so the window grows, but never past max_boost times.
    s = sim({A: 1, B: 2}, duration=50e-6, validate=False)
    tasks = {("inc", i): b"" for i in range(2000)}
    s.submit("c", tasks, {}, list(tasks))
    assert s.processing_counts() == {A: 2, B: 3}
    peak = {A: 0, B: 0}

    def check(sim):
        for w, c in sim.processing_counts().items():
            peak[w] = max(peak[w], c)

    s.run_until_idle(check=check)
    assert s.state.root_boost == 8
    assert peak == {A: math.ceil(1.1 * 8), B: math.ceil(1.1 * 16)}
    # Tasks of 10 ms (longer than a round trip) keep the plain nthreads + 1.
    s2 = sim({A: 1}, duration=0.01, validate=False)
    s2.submit("c", tasks, {}, list(tasks))
    s2.run_until_idle()
    assert s2.state.root_boost == 1 and s2.state.root_saturation == 1.1

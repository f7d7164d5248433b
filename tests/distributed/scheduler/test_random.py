"""Random graphs under random cluster events: every invariant holds after every event,
every wanted key ends in memory (or erred when a failure was injected), nothing leaks."""

from __future__ import annotations

import random

import pytest

from plait.distributed.scheduler.simulate import Simulation


def random_graph(rng: random.Random, n: int):
    tasks, deps = {}, {}
    for i in range(n):
        key = ("t", i)
        tasks[key] = b""
        if i:
            deps[key] = [("t", j) for j in rng.sample(range(i), min(i, rng.randint(0, 3)))]
    used = {d for ds in deps.values() for d in ds}
    sinks = [k for k in tasks if k not in used]
    wanted = sorted(set(sinks) | set(rng.sample(list(tasks), min(3, n))))
    return tasks, deps, wanted


@pytest.mark.parametrize("seed", range(25))
def test_random_graphs_and_events(seed):
    rng = random.Random(seed)
    saturation = rng.choice([1.1, 2.0, float("inf")])
    # Worker churn here is random, not caused by tasks: no task may be blamed for it
    # (KilledWorker has its own tests in test_loss.py).
    s = Simulation(validate=True, saturation=saturation, allowed_failures=10**6)
    next_worker = 0

    def add_worker():
        nonlocal next_worker
        next_worker += 1
        address = f"tcp://127.0.0.1:{next_worker}"
        if address not in s.state.workers:
            s.add_worker(address, nthreads=rng.randint(1, 3))

    for _ in range(rng.randint(1, 3)):
        add_worker()
    tasks, deps, wanted = random_graph(rng, rng.randint(5, 40))
    fail = rng.random() < 0.3
    if fail:
        s.failures[rng.choice(list(tasks))] = [ValueError("injected")]
    annotations = {}
    for k in rng.sample(list(tasks), min(len(tasks), 4)):
        choice = rng.random()
        if choice < 0.3:
            annotations[k] = {"retries": 1}
        elif choice < 0.6:
            annotations[k] = {"workers": [f"tcp://127.0.0.1:{rng.randint(1, 4)}"],
                              "allow_other_workers": rng.random() < 0.5}
        else:
            annotations[k] = {"resources": {"GPU": 1}}
    s.submit("c", tasks, deps, wanted, priority={k: i for i, k in enumerate(tasks)},
             annotations=annotations)
    released: set = set()
    for _step in range(300):
        action = rng.random()
        busy = [a for a, p in s.pending.items() if p]
        if action < 0.6 and busy:
            a = rng.choice(busy)
            s.finish(a, rng.choice(s.pending[a]))
        elif action < 0.65:
            add_worker()
        elif action < 0.7 and len(s.state.workers) > 1:
            s.remove_worker(rng.choice(list(s.state.workers)))
        elif action < 0.8:
            s.deliver(s.state.balance())
        elif action < 0.85 and wanted:
            k = rng.choice(wanted)
            s.deliver(s.state.client_releases_keys([k], "c"))
            released.add(k)
        elif action < 0.9 and released:
            k = released.pop()
            # As a client would: the whole graph again; known keys are not recomputed.
            s.submit("c", tasks, deps, [k], priority={k: i for i, k in enumerate(tasks)})
        elif action < 0.95:
            held = [(a, k) for a, d in s.data.items() for k in d]
            if held and len(s.state.workers) > 1:
                a, k = rng.choice(held)
                s.data[a].discard(k)
                s.deliver(s.state.missing_data(k, a))
        elif action < 0.96:
            a = rng.choice(list(s.state.workers))
            s.deliver(s.state.set_worker_status(a, rng.choice(["paused", "running"])))
        elif action < 0.97 and busy:
            a = rng.choice(busy)
            k = rng.choice(s.pending[a])
            s.deliver(rng.choice([s.state.long_running, s.state.reschedule])(k, a))
        elif action < 0.98:
            s.add_worker(f"tcp://127.0.0.1:gpu{next_worker}", nthreads=1, resources={"GPU": 2})
            next_worker += 1
        elif action < 0.985:
            # A second client shares some keys and cancels them again.
            k = rng.choice(list(tasks))
            s.submit("d", tasks, deps, [k], priority={k: i for i, k in enumerate(tasks)})
            if rng.random() < 0.5:
                s.deliver(s.state.cancel([k], "d"))
        elif action < 0.99:
            # Scattered data and a task on it (its loss is reported, never hangs).
            a = rng.choice(list(s.state.workers))
            key = f"scattered-{_step}"
            s.data.setdefault(a, set()).add(key)
            s.deliver(s.state.update_data({key: [a]}, {key: 100}, client="d"))
            s.submit("d", {f"use-{_step}": b""}, {f"use-{_step}": [key]}, [f"use-{_step}"])
        if not s.state.running:
            add_worker()
    for a in list(s.state.workers):
        s.deliver(s.state.set_worker_status(a, "running"))
    if not any(ws.resources for ws in s.state.workers.values()):
        s.add_worker("tcp://127.0.0.1:gpu", nthreads=1, resources={"GPU": 1})
    for i in range(1, 5):  # every host restriction can be met
        if f"tcp://127.0.0.1:{i}" not in s.state.workers:
            s.add_worker(f"tcp://127.0.0.1:{i}", nthreads=1)
    s.run_until_idle()
    st = s.state
    for k in wanted:
        if k in released:
            continue
        ts = st.tasks[k]
        assert ts.state in ("memory", "erred"), (k, ts.state)
        if ts.state == "erred":
            assert fail, ts.exception_blame.exception_text
    s.deliver(st.remove_client("c"))
    s.deliver(st.remove_client("d"))
    assert st.tasks == {}
    assert all(not d for d in s.data.values())
    assert all(not ws.processing and not ws.has_what for ws in st.workers.values())

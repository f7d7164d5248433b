"""Profiler: exactly one TaskData per executed task, under every local scheduler."""

import os
import time
from operator import add

import pytest

import plait
from plait.diagnostics import Profiler
from plait.diagnostics.profile import TaskData, describe_task
from plait.graph import Data, Ref, Task, convert_graph
from plait.local import execute

SCHEDULERS = ["sync", "threads", "processes"]


def inc(x):
    return x + 1


def boom(x):
    raise ZeroDivisionError("boom")


def tree_graph(n=32):
    """n leaves, n incs, a pairwise sum tree (n a power of two) and a dead end to cull."""
    dsk = {("x", i): i for i in range(n)}
    dsk.update({("inc", i): (inc, ("x", i)) for i in range(n)})
    level = [("inc", i) for i in range(n)]
    depth = 0
    while len(level) > 1:
        nxt = []
        for j in range(0, len(level), 2):
            key = (f"add-{depth}", j // 2)
            dsk[key] = (add, level[j], level[j + 1])
            nxt.append(key)
        level = nxt
        depth += 1
    dsk["total"] = (inc, level[0])
    dsk["unused"] = (inc, "total")
    return convert_graph(dsk)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_one_entry_per_executed_task(scheduler):
    dsk = tree_graph()
    needed = set(plait.graph.cull(dsk, ["total"])[0])
    assert len(needed) == len(dsk) - 1
    with Profiler() as prof:
        out = execute(dsk, ["total"], scheduler, num_workers=2)
    assert out["total"] == sum(range(1, 33)) + 1
    keys = [r.key for r in prof.results]
    assert len(keys) == len(needed)
    assert set(keys) == needed
    for r in prof.results:
        assert isinstance(r, TaskData)
        assert r.start_time <= r.end_time
        assert prof.start_time <= r.start_time and r.end_time <= prof.end_time
    if scheduler == "processes":
        assert {r.worker_id for r in prof.results} - {os.getpid()}
    else:
        assert {r.worker_id for r in prof.results} <= {0, 1}


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_delayed_compute_records_the_tasks_and_their_times(scheduler):
    xs = [plait.delayed(time.sleep)(0.02, dask_key_name=f"sleep-{i}") for i in range(4)]
    total = plait.delayed(lambda *a: len(a), name="count")(*xs)
    with Profiler() as prof:
        assert total.compute(scheduler=scheduler, num_workers=2) == 4
    by_key = {r.key: r for r in prof.results}
    assert len(by_key) == len(prof.results)
    for i in range(4):
        r = by_key[f"sleep-{i}"]
        assert r.task == "sleep(0.02)"
        assert r.end_time - r.start_time >= 0.015
    assert by_key[total.key].start_time >= max(by_key[f"sleep-{i}"].end_time for i in range(4))


def test_results_accumulate_inside_one_block_and_reset_on_reentry():
    dsk = convert_graph({"a": 1, "b": (inc, "a")})
    prof = Profiler()
    with prof:
        execute(dsk, ["b"], "sync")
        first_end = prof.end_time
        execute(dsk, ["b"], "threads")
    assert [r.key for r in prof.results] == ["a", "b", "a", "b"]
    assert prof.start_time < first_end < prof.end_time
    with prof:
        execute(dsk, ["b"], "sync")
    assert [r.key for r in prof.results] == ["a", "b"]
    prof.clear()
    assert prof.results == [] and prof.start_time is None


def test_failed_task_is_not_recorded_and_the_error_reaches_the_caller():
    dsk = convert_graph({"a": 1, "b": (inc, "a"), "c": (boom, "b")})
    with Profiler() as prof:
        with pytest.raises(ZeroDivisionError):
            execute(dsk, ["c"], "sync")
    assert [r.key for r in prof.results] == ["a", "b"]
    assert prof._starts == {}


def test_registered_profiler_sees_every_compute_until_unregistered():
    prof = Profiler()
    prof.register()
    try:
        plait.delayed(inc)(1).compute(scheduler="sync")
        plait.delayed(inc)(2).compute(scheduler="threads")
    finally:
        prof.unregister()
    plait.delayed(inc)(3).compute(scheduler="sync")
    assert len(prof.results) == 2


def test_task_descriptions_are_short():
    big = list(range(10_000))
    text = describe_task(Task("k", sorted, big, key=Ref("f")))
    assert text.startswith("sorted([0, 1, 2, 3, ...]") and "key='f'" in text
    assert len(describe_task(Task("k", add, "x" * 10_000, Ref(("y", 1))))) <= 120
    assert describe_task(Data("d", 3)) == "literal 3"


def test_describing_an_array_argument_shows_its_shape_not_its_values():
    class Array:
        shape = (1000, 1000)

        def __repr__(self):
            raise AssertionError("repr of a large argument must not be built")

    assert describe_task(Task("k", sum, Array())) == "sum(Array(shape=(1000, 1000)))"

"""Random DAGs: every executor gives the sync result and runs tasks after their inputs."""

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plait.graph import Ref, Task, toposort
from plait.local import execute


def node_func(i, *inputs):
    """Check every input finished before this task started; return (value, end stamp)."""
    start = time.monotonic_ns()
    for value, end in inputs:
        if end > start:
            raise AssertionError(f"task {i} started before an input finished")
    value = (i * 7 + sum(v for v, _ in inputs)) % 1_000_003
    return value, time.monotonic_ns()


@st.composite
def dags(draw, max_nodes=40):
    n = draw(st.integers(1, max_nodes))
    dsk = {}
    for i in range(n):
        deps = draw(st.lists(st.integers(0, i - 1), max_size=4, unique=True)) if i else []
        key = ("n", i) if i % 3 else f"n{i}"
        dep_keys = [("n", d) if d % 3 else f"n{d}" for d in deps]
        dsk[key] = Task(key, node_func, i, *[Ref(k) for k in dep_keys])
    outputs = draw(st.lists(st.sampled_from(sorted(dsk, key=str)), min_size=1, max_size=5, unique=True))
    return dsk, outputs


def plain_python(dsk, outputs):
    values = {}
    for k in toposort(dsk):
        node = dsk[k]
        values[k] = (node.args[0] * 7 + sum(values[d] for d in node.dependencies)) % 1_000_003
    return {k: values[k] for k in outputs}


def values_of(result):
    return {k: v for k, (v, _) in result.items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags())
def test_sync_and_threads_match_plain_python(case):
    dsk, outputs = case
    expect = plain_python(dsk, outputs)
    assert values_of(execute(dsk, outputs, "sync")) == expect
    assert values_of(execute(dsk, outputs, "threads", num_workers=3)) == expect


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags(max_nodes=25))
def test_processes_match_plain_python(case):
    dsk, outputs = case
    assert values_of(execute(dsk, outputs, "processes", num_workers=2)) == plain_python(dsk, outputs)

"""The disk shuffle: its files go away, after success and after failures, and
concurrent shuffles keep apart."""

import gc
import os
import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import plait
from plait.graph import Data, Ref, Task
from plait.local import execute
from plait.shuffle import shuffle
from plait.shuffle.disk import Workspace, discard

SCHEDULERS = ["sync", "threads", "processes"]
PARTS = [[(i * 37 + j) % 101 for i in range(40)] for j in range(8)]


def split_mod(part, m):
    pieces = {}
    for x in part:
        pieces.setdefault(x % m, []).append(x)
    return pieces


def concat_lists(pieces):
    return [x for piece in pieces for x in piece]


def split_failing_on_13(part, m):
    if 13 in part:
        raise ZeroDivisionError("bad partition")
    return split_mod(part, m)


def concat_failing(pieces):
    items = concat_lists(pieces)
    if 0 in items:
        raise KeyError("bad output")
    return items


def boom(part):
    raise OSError("upstream failure")


def expected(parts, m):
    return [[x for p in parts for x in p if x % m == i] for i in range(m)]


def build(parts, m, split=split_mod, concat=concat_lists, inputs=None):
    graph = dict(inputs or {("in", j): Data(("in", j), p) for j, p in enumerate(parts)})
    out = shuffle([("in", j) for j in range(len(parts))], m, split, concat, method="disk")
    graph.update(out.layer)
    return graph, out


def leftovers(root):
    assert os.path.isdir(root)  # the configured directory itself stays
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, dirs, files in os.walk(root) for f in files + dirs)


@pytest.fixture
def tmpdir_config(tmp_path):
    with plait.config.set({"temporary-directory": str(tmp_path)}):
        yield tmp_path


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_no_files_left_after_compute(scheduler, tmpdir_config):
    graph, out = build(PARTS, 5)
    assert leftovers(tmpdir_config) == []  # nothing is created before compute
    values = execute(graph, out.keys(), scheduler)
    assert [values[k] for k in out.keys()] == expected(PARTS, 5)
    assert leftovers(tmpdir_config) == []
    # computing again works (a fresh run directory) and cleans up again
    values = execute(graph, out.keys(), scheduler)
    assert [values[k] for k in out.keys()] == expected(PARTS, 5)
    assert leftovers(tmpdir_config) == []


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_no_files_left_after_a_failing_split(scheduler, tmpdir_config):
    parts = PARTS + [[13, 14]] + PARTS
    graph, out = build(parts, 4, split=split_failing_on_13)
    with pytest.raises(ZeroDivisionError, match="bad partition"):
        execute(graph, out.keys(), scheduler)
    assert leftovers(tmpdir_config) == []


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_no_files_left_after_a_failing_output(scheduler, tmpdir_config):
    graph, out = build(PARTS, 4, concat=concat_failing)
    with pytest.raises(KeyError, match="bad output"):
        execute(graph, out.keys(), scheduler)
    assert leftovers(tmpdir_config) == []


def test_upstream_failure_and_partial_compute_clean_up_with_the_graph(tmpdir_config):
    inputs = {("in", j): Data(("in", j), p) for j, p in enumerate(PARTS)}
    inputs[("in", 7)] = Task(("in", 7), boom, Ref(("raw", 7)))
    inputs[("raw", 7)] = Data(("raw", 7), [1])
    graph, out = build(PARTS, 3, inputs=inputs)
    with pytest.raises(OSError, match="upstream failure"):
        execute(graph, out.keys(), "sync")
    assert leftovers(tmpdir_config) != []  # splits of other partitions had written
    graph2, out2 = build(PARTS, 3)
    assert execute(graph2, [out2.keys()[0]], "sync")[out2.keys()[0]] == expected(PARTS, 3)[0]
    del graph, out, graph2, out2
    gc.collect()
    assert leftovers(tmpdir_config) == []


def test_workspace_copies_own_nothing(tmp_path):
    path = tmp_path / "ws"
    path.mkdir()
    ws = Workspace(str(path))
    copy = pickle.loads(pickle.dumps(ws))
    del copy
    gc.collect()
    assert path.exists()
    del ws
    gc.collect()
    assert not path.exists()
    discard(str(path))  # already gone: fine


def test_concurrent_shuffles_do_not_collide(tmpdir_config):
    shuffles = [build([[x + s for x in p] for p in PARTS], 3 + s) for s in range(4)]
    # the same graph twice at once, too: every compute gets its own run directory
    jobs = shuffles + [shuffles[0], shuffles[0]]
    start = threading.Barrier(len(jobs))

    def compute(job):
        graph, out = job
        start.wait()
        values = execute(graph, out.keys(), "threads", num_workers=3)
        return [values[k] for k in out.keys()]

    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(compute, jobs))
    for s, got in enumerate(results[:4]):
        assert got == expected([[x + s for x in p] for p in PARTS], 3 + s)
    assert results[4] == results[5] == results[0]
    paths = {next(n for n in graph.values() if isinstance(n, Task)
                  and n.func.__name__ == "_setup").args[0].path for graph, _ in shuffles}
    assert len(paths) == 4
    assert leftovers(tmpdir_config) == []


def test_all_inputs_empty_leaves_nothing(tmpdir_config):
    graph, out = build([[], []], 3)
    values = execute(graph, out.keys(), "sync")
    assert [values[k] for k in out.keys()] == [[], [], []]
    assert leftovers(tmpdir_config) == []

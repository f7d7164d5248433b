"""plait.shuffle on plain lists: every item once, in the partition split names, in order."""

import random

import pytest

import plait
from plait.graph import Data
from plait.local import execute
from plait.shuffle import METHODS, ShuffleLayer, choose_method, shuffle, split_pieces
from plait.shuffle.tasks import stage_plan

SCHEDULERS = ["sync", "threads", "processes"]


def split_mod(part, m):
    pieces = {}
    for x in part:
        pieces.setdefault(x % m, []).append(x)
    return pieces


def concat_lists(pieces):
    return [x for piece in pieces for x in piece]


def make_parts(nparts, seed=0, size=30):
    rng = random.Random(seed)
    parts = [[rng.randrange(1000) for _ in range(rng.randrange(size))] for _ in range(nparts)]
    if nparts > 2:
        parts[1] = []  # an empty input partition
    return parts


def run(parts, m, scheduler="sync", **kwargs):
    graph = {("in", j): Data(("in", j), p) for j, p in enumerate(parts)}
    out = shuffle([("in", j) for j in range(len(parts))], m, split_mod, concat_lists,
                  **kwargs)
    graph.update(out.layer)
    values = execute(graph, out.keys(), scheduler)
    return [values[k] for k in out.keys()], out


def expected(parts, m):
    return [[x for p in parts for x in p if x % m == i] for i in range(m)]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_every_item_arrives_once_in_its_partition_in_order(method, scheduler, tmp_path):
    parts = make_parts(9, seed=1)
    with plait.config.set({"temporary-directory": str(tmp_path)}):
        got, out = run(parts, 7, scheduler, method=method)
    assert out.method == method and out.npartitions == 7
    assert got == expected(parts, 7)
    assert sorted(x for g in got for x in g) == sorted(x for p in parts for x in p)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("nin,nout", [(1, 1), (1, 5), (6, 1), (3, 10), (40, 3), (25, 25)])
def test_shapes(method, nin, nout, tmp_path):
    parts = make_parts(nin, seed=nin * 100 + nout)
    with plait.config.set({"temporary-directory": str(tmp_path)}):
        got, _ = run(parts, nout, method=method, max_branch=4)
    assert got == expected(parts, nout)


@pytest.mark.parametrize("max_branch", [2, 3, 5])
def test_tasks_staged_equals_direct(max_branch):
    parts = make_parts(30, seed=7)
    direct, d = run(parts, 20, method="tasks", max_branch=32)
    staged, s = run(parts, 20, method="tasks", max_branch=max_branch)
    assert stage_plan(30, 20, 32)[0] == 1 and stage_plan(30, 20, max_branch)[0] >= 2
    assert any(k[0].startswith("shuffle-join-") for k in s.layer if isinstance(k, tuple))
    assert not any(k[0].startswith("shuffle-join-") for k in d.layer if isinstance(k, tuple))
    assert direct == staged == expected(parts, 20)


def test_staged_task_count_grows_like_n_log_n():
    n = 400
    layer = shuffle([("in", j) for j in range(n)], n, split_mod, concat_lists,
                    method="tasks", max_branch=8).layer
    stages, k = stage_plan(n, n, 8)
    assert k <= 8 and stages == 3
    # route + pick + join per slot and stage: a few times n * stages * k, far below n * n
    assert len(layer) <= n * stages * (k + 2)
    assert len(layer) < n * n / 10
    direct = shuffle([("in", j) for j in range(20)], 20, split_mod, concat_lists,
                     method="tasks").layer
    assert len(direct) == 20 + 20 * 20 + 20  # splits, picks, joins


@pytest.mark.parametrize("n,m,branch", [(1, 1, 2), (5, 900, 32), (1000, 1000, 32),
                                        (50, 50, 4), (33, 2, 2), (1025, 1, 32)])
def test_stage_plan(n, m, branch):
    stages, k = stage_plan(n, m, branch)
    assert k ** stages >= max(n, m)
    if stages > 1:
        assert 2 <= k <= branch and (k - 1) ** stages < max(n, m)
    else:
        assert n * m <= branch * branch


@pytest.mark.parametrize("method", METHODS)
def test_no_inputs_and_empty_outputs(method, tmp_path):
    with plait.config.set({"temporary-directory": str(tmp_path)}):
        got, _ = run([], 3, method=method)
        assert got == [[], [], []]
        graph = {("in", 0): Data(("in", 0), [4, 8])}
        out = shuffle([("in", 0)], 3, split_mod, concat_lists, lambda: ["nothing"],
                      method=method)
        graph.update(out.layer)
        values = execute(graph, out.keys(), "sync")
    assert [values[k] for k in out.keys()] == [["nothing"], [4], [8]]


@pytest.mark.parametrize("method", METHODS)
def test_split_must_name_valid_outputs(method, tmp_path):
    graph = {("in", 0): Data(("in", 0), [1, 2])}
    out = shuffle([("in", 0)], 2, lambda part, m: {5: part}, concat_lists, method=method)
    graph.update(out.layer)
    with plait.config.set({"temporary-directory": str(tmp_path)}):
        with pytest.raises(ValueError, match=r"output partition 5; its keys must be ints in range\(2\)"):
            execute(graph, out.keys(), "sync")


def test_split_pieces_accepts_numpy_integers():
    np = pytest.importorskip("numpy")
    pieces = split_pieces(lambda part, m: {np.int64(1): part}, [3], 2)
    assert pieces == {1: [3]} and type(next(iter(pieces))) is int
    with pytest.raises(ValueError):
        split_pieces(lambda part, m: {True: part}, [3], 2)


def test_choose_method_from_argument_config_and_size():
    with plait.config.set({"shuffle": None, "dataframe.shuffle.method": None}):
        assert choose_method(None, 100, 100) == "tasks"  # 10,000: not above the threshold
        assert choose_method(None, 101, 100) == "disk"
        with plait.config.set({"shuffling.disk-threshold": 10}):
            assert choose_method(None, 4, 3) == "disk"
        with plait.config.set({"dataframe.shuffle.method": "disk"}):
            assert choose_method(None, 2, 2) == "disk"
            assert choose_method("tasks", 2, 2) == "tasks"
            with plait.config.set({"shuffle": "tasks"}):
                assert choose_method(None, 500, 500) == "tasks"
                assert choose_method(None, 2, 2, config_keys=("dataframe.shuffle.method",
                                                              "shuffle")) == "disk"
    assert choose_method("DISK", 1, 1) == "disk"


def test_unknown_methods_are_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="'tasks', 'disk'"):
        choose_method("memory", 1, 1)
    with pytest.raises(ValueError, match="distributed"):
        choose_method("p2p", 1, 1)
    with plait.config.set({"shuffle": "bogus"}):
        with pytest.raises(ValueError, match="from config 'shuffle'"):
            shuffle([("in", 0)], 1, split_mod, concat_lists)


def test_bad_arguments():
    with pytest.raises(ValueError, match="npartitions"):
        shuffle([("in", 0)], 0, split_mod, concat_lists)
    with pytest.raises(ValueError, match="max_branch"):
        shuffle([("in", 0)], 2, split_mod, concat_lists, method="tasks", max_branch=1)


def test_layer_names_and_keys():
    out = shuffle([("in", 0), ("in", 1)], 3, split_mod, concat_lists, method="tasks",
                  name="mine")
    assert isinstance(out, ShuffleLayer)
    assert out.keys() == [("mine", 0), ("mine", 1), ("mine", 2)]
    assert set(out.keys()) <= set(out.layer)
    assert not any(k in out.layer for k in [("in", 0), ("in", 1)])
    other = shuffle([("in", 0)], 1, split_mod, concat_lists, method="tasks")
    assert other.name.startswith("shuffle-") and other.name != out.name

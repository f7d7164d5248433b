import weakref
from operator import add, mul

import numpy as np

import plait
from plait.graph import convert_graph
from plait.graph.subgraphs import RunSubgraph, fuse_closed_groups
from plait.local import execute


def block(key):
    return key[1:] if isinstance(key, tuple) else None


def test_closed_group_becomes_one_task_with_same_result():
    g = convert_graph({
        ("a", 0): 1, ("a", 1): 10,
        ("b", 0): (add, ("a", 0), 1), ("b", 1): (add, ("a", 1), 1),
        ("c", 0): (mul, ("a", 0), ("b", 0)), ("c", 1): (mul, ("a", 1), ("b", 1)),
        "total": (add, ("c", 0), ("c", 1)),
    })
    fused = fuse_closed_groups(g, ["total"], block)
    assert set(fused) == {("c", 0), ("c", 1), "total"}
    assert execute(fused, ["total"], "sync") == execute(g, ["total"], "sync") == {"total": 2 + 110}


def test_groups_reading_other_groups_are_not_fused():
    # ("t", 0) reads block 1 and ("t", 1) reads block 0, like a transpose.
    g = convert_graph({
        ("x", 0): 1, ("x", 1): 2,
        ("t", 0): (abs, ("x", 1)), ("t", 1): (abs, ("x", 0)),
        ("s", 0): (add, ("x", 0), ("t", 0)), ("s", 1): (add, ("x", 1), ("t", 1)),
    })
    keys = [("s", 0), ("s", 1)]
    fused = fuse_closed_groups(g, keys, block)
    assert ("t", 0) in fused and ("t", 1) in fused
    assert execute(fused, keys, "threads") == {("s", 0): 3, ("s", 1): 3}


def test_group_with_two_outside_values_is_left_alone():
    g = convert_graph({("a", 0): 1, ("b", 0): (add, ("a", 0), 1), ("c", 0): (add, ("b", 0), 1)})
    fused = fuse_closed_groups(g, [("b", 0), ("c", 0)], block)
    assert set(fused) == set(g)


def test_run_subgraph_releases_intermediates_early():
    alive = []

    class Big:
        pass

    def make(_):
        b = Big()
        alive.append(weakref.ref(b))
        return b

    def count_alive(_):
        return sum(r() is not None for r in alive)

    g = convert_graph({"a": 1, "b": (make, "a"), "c": (id, "b"), "d": (count_alive, "c")})
    nodes = tuple(g[k] for k in "abcd")
    assert RunSubgraph(nodes, "d")() == 0  # 'b' was dropped after its last reader 'c'


def test_blockwise_loop_is_one_task_per_block():
    import plait.array as da

    data = np.arange(40.0).reshape(8, 5)
    x = da.from_array(data, chunks=(2, 5))
    y = x
    for i in range(5):
        y = y * 2 + x
        y[y > 100] = 0
    (opt,) = plait.optimize(y)
    assert len(opt.dask) == x.npartitions
    expected = data.copy()
    for i in range(5):
        expected = expected * 2 + data
        expected[expected > 100] = 0
    np.testing.assert_array_equal(y.compute(), expected)

from operator import add

import pytest

from plait.graph import CycleError, convert_graph, order
from plait.graph.spec import Ref, Task


def tree_reduction(n):
    dsk = {}
    layer = []
    for i in range(n):
        dsk[("leaf", i)] = (abs, i)
        layer.append(("leaf", i))
    level = 0
    while len(layer) > 1:
        nxt = []
        for j in range(0, len(layer), 2):
            k = ("sum", level, j // 2)
            dsk[k] = (add, layer[j], layer[j + 1])
            nxt.append(k)
        layer = nxt
        level += 1
    return convert_graph(dsk), layer[0]


def peak_live(dsk, prio, targets):
    """Simulate running in priority order; count values held at once."""
    users = {k: 0 for k in dsk}
    for node in dsk.values():
        for d in node.dependencies:
            users[d] += 1
    live, peak = set(), 0
    for k in sorted(dsk, key=prio.__getitem__):
        for d in dsk[k].dependencies:
            assert d in live, "order runs a task before its dependency"
            users[d] -= 1
            if users[d] == 0 and d not in targets:
                live.discard(d)
        live.add(k)
        peak = max(peak, len(live))
    return peak


def test_order_is_a_valid_topological_order():
    dsk, root = tree_reduction(64)
    o = order(dsk, [root])
    assert sorted(o.values()) == list(range(len(dsk)))
    for k, node in dsk.items():
        for d in node.dependencies:
            assert o[d] < o[k]


def test_tree_reduction_over_1000_leaves_keeps_few_intermediates():
    dsk, root = tree_reduction(1024)
    peak = peak_live(dsk, order(dsk, [root]), {root})
    assert peak <= 2 * 11 + 2  # O(log n), far from 1024


def test_order_prefers_needy_subtree_first():
    # 'big' needs 3 values at its peak, 'small' 1: big should go first.
    dsk = convert_graph({
        "a": 1, "b": 2, "c": 3,
        "ab": (add, "a", "b"), "big": (add, "ab", "c"),
        "small": 10,
        "out": (add, "small", "big"),
    })
    o = order(dsk, ["out"])
    assert o["big"] < o["small"]


def test_order_raises_on_cycle():
    dsk = {"a": Task("a", abs, Ref("b")), "b": Task("b", abs, Ref("a")), "c": Task("c", abs, Ref("a"))}
    with pytest.raises(CycleError):
        order(dsk, ["c"])


def test_order_default_roots_and_deterministic():
    dsk, root = tree_reduction(16)
    assert order(dsk) == order(dsk, [root])

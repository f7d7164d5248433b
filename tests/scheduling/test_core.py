from operator import add

import pytest

from plait.graph import CycleError, MissingDependencyError, Ref, Task, convert_graph
from plait.scheduling import GraphState


def drive(state, data=None):
    """Run a state to completion in priority order, returning values and peak held."""
    data = {} if data is None else data
    peak = 0
    order = []
    while True:
        batch = state.take(3)
        if not batch:
            break
        for k in batch:
            order.append(k)
            data[k] = state.dsk[k].run(data)
        for k in batch:
            for r in state.finish(k):
                del data[r]
        peak = max(peak, len(data))
    return data, order, peak


def test_runs_to_completion_and_releases_intermediates():
    dsk = convert_graph({"a": 1, "b": (add, "a", 1), "c": (add, "b", "a"), "d": (add, "c", 1)})
    s = GraphState(dsk, ["d"])
    data, order, _ = drive(s)
    assert s.done and data == {"d": 4}
    pos = {k: i for i, k in enumerate(order)}
    for k, node in dsk.items():
        for dep in node.dependencies:
            assert pos[dep] < pos[k]


def test_targets_are_never_released():
    dsk = convert_graph({"a": 1, "b": (add, "a", 1), "c": (add, "b", 1)})
    data, _, _ = drive(GraphState(dsk, ["a", "c"]))
    assert data == {"a": 1, "c": 3}


def test_tree_reduction_holds_few_values():
    leaves = 1024
    dsk = {("x", i): i for i in range(leaves)}
    layer = [("x", i) for i in range(leaves)]
    n = 0
    while len(layer) > 1:
        nxt = []
        for j in range(0, len(layer), 2):
            k = ("s", n)
            n += 1
            dsk[k] = (add, layer[j], layer[j + 1])
            nxt.append(k)
        layer = nxt
    s = GraphState(convert_graph(dsk), layer)
    data, _, peak = drive(s)
    assert data == {layer[0]: sum(range(leaves))}
    assert peak < 40


def test_fail_stops_handing_out_tasks():
    dsk = convert_graph({"a": 1, "b": 2, "c": (add, "a", "b")})
    s = GraphState(dsk, ["c"])
    k = s.take()[0]
    s.fail(k, ValueError("x"))
    assert s.take(10) == []
    assert s.failed[0] == k and not s.done


def test_claim_chain():
    dsk = convert_graph({"a": 1, "b": (abs, "a"), "c": (abs, "b"), "d": (add, "c", "a")})
    s = GraphState(dsk, ["d"])
    assert s.take() == ["a"]
    assert s.claim_chain("a") is None  # 'a' has two users
    s.finish("a")
    assert s.take() == ["b"]
    assert s.claim_chain("b") == "c"
    assert s.claim_chain("c") == "d"
    for k in "bcd":
        s.finish(k)
    assert s.done


def test_available_values_count_as_finished():
    dsk = {"b": Task("b", abs, Ref("a"))}
    s = GraphState(dsk, ["b"], available=["a"])
    assert s.take() == ["b"]


def test_missing_and_cycle_errors():
    with pytest.raises(MissingDependencyError, match="'zz'"):
        GraphState({"b": Task("b", abs, Ref("zz"))}, ["b"])
    with pytest.raises(CycleError):
        GraphState({"a": Task("a", abs, Ref("b")), "b": Task("b", abs, Ref("a"))}, ["a"])
    with pytest.raises(KeyError, match="not in the graph"):
        GraphState({}, ["q"])


def test_statistics_fields():
    s = GraphState(convert_graph({"a": 1, "b": (abs, "a")}), ["b"])
    assert s.statistics() == {"total": 2, "finished": 0, "running": 0, "ready": 1, "waiting": 1}

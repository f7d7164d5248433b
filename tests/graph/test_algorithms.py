from operator import add

import pytest

from plait.graph import (
    CycleError,
    MissingDependencyError,
    convert_graph,
    cull,
    dependents,
    find_cycle,
    toposort,
)


def g(d):
    return convert_graph(d)


def test_toposort_respects_dependencies():
    dsk = g({"a": 1, "b": (add, "a", 1), "c": (add, "b", "a"), "d": (add, "c", "b")})
    order = toposort(dsk)
    pos = {k: i for i, k in enumerate(order)}
    for k, node in dsk.items():
        for d in node.dependencies:
            assert pos[d] < pos[k]


def test_cycle_error_names_the_keys_on_the_cycle():
    dsk = g({"a": (add, "c", 1), "b": (add, "a", 1), "c": (add, "b", 1), "x": 1})
    with pytest.raises(CycleError) as info:
        toposort(dsk)
    assert set(info.value.cycle) == {"a", "b", "c"}
    assert "cycle" in str(info.value) and "'a'" in str(info.value)
    assert set(find_cycle(dsk)) == {"a", "b", "c"}


def test_no_cycle():
    assert find_cycle(g({"a": 1, "b": (add, "a", 1)})) is None


def test_cull_keeps_only_what_is_needed():
    dsk = g({"a": 1, "b": (add, "a", 1), "c": 5, "d": (add, "c", 1)})
    culled, deps = cull(dsk, ["b"])
    assert set(culled) == {"a", "b"}
    assert deps == {"a": (), "b": ("a",)}


def test_missing_dependency_names_key_and_user():
    from plait.graph import Ref, Task

    dsk = {"b": Task("b", abs, Ref("nope"))}
    with pytest.raises(MissingDependencyError) as info:
        cull(dsk, ["b"])
    assert "'nope'" in str(info.value) and "'b'" in str(info.value)


def test_cull_unknown_output_key():
    with pytest.raises(KeyError, match="not in the graph"):
        cull(g({"a": 1}), ["zzz"])


def test_deep_chain_does_not_recurse():
    n = 50_000
    d = {"x0": 0}
    for i in range(1, n):
        d[f"x{i}"] = (abs, f"x{i-1}")
    dsk = g(d)
    assert toposort(dsk)[-1] == f"x{n-1}"
    assert len(cull(dsk, [f"x{n-1}"])[0]) == n


def test_dependents():
    dsk = g({"a": 1, "b": (add, "a", "a"), "c": (add, "a", 2)})
    assert dependents(dsk) == {"a": {"b", "c"}, "b": set(), "c": set()}

from operator import add, getitem, neg

from plait.graph import convert_graph, fuse_linear, inline, inline_functions
from plait.local import execute


def run(dsk, keys):
    return execute(dsk, keys, "sync", hooks=None)


def test_fuse_linear_chain_same_result():
    d = {"x0": 1}
    for i in range(1, 50):
        d[f"x{i}"] = (add, f"x{i-1}", i)
    dsk = convert_graph(d)
    fused, deps = fuse_linear(dsk, ["x49"])
    assert len(fused) < len(dsk)
    assert run(fused, ["x49"]) == run(dsk, ["x49"]) == {"x49": 1 + sum(range(50))}


def test_fuse_keeps_requested_and_shared_keys():
    dsk = convert_graph({"a": 1, "b": (neg, "a"), "c": (neg, "b"), "d": (add, "b", "c")})
    fused, _ = fuse_linear(dsk, ["d", "c"])
    assert "b" in fused and "c" in fused and "d" in fused
    assert run(fused, ["d"])["d"] == -1 + 1


def test_inline_constants_and_functions():
    dsk = convert_graph({"x": [1, 2, 3], "y": (getitem, "x", 1), "z": (add, "y", 10)})
    g2 = inline(dsk)  # constants
    assert "x" not in g2
    assert run(g2, ["z"])["z"] == 12
    g3 = inline_functions(dsk, ["z"], [getitem])
    assert "y" not in g3 and run(g3, ["z"])["z"] == 12

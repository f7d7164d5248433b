import pickle
from operator import add, getitem

import pytest

from plait.graph import Alias, Data, Ref, Task, as_node, convert_graph, is_key, key_prefix


def test_task_dependencies_keep_argument_order_and_are_unique():
    t = Task("z", add, Ref("b"), [Ref("a"), {"k": Ref("b")}])
    assert t.dependencies == ("b", "a")


def test_task_run_substitutes_nested_refs():
    t = Task("z", lambda a, b, c=None: (a, b, c), [Ref("x"), (Ref("y"), 1)], {"k": Ref("x")},
             c={"q": [Ref("y")]})
    assert t.run({"x": 1, "y": 2}) == ([1, (2, 1)], {"k": 1}, {"q": [2]})


def test_string_equal_to_key_is_not_a_reference():
    t = Task("z", str.upper, "x")
    assert t.dependencies == ()
    assert t.run({"x": "no"}) == "X"


def test_task_requires_callable():
    with pytest.raises(TypeError, match="must be callable"):
        Task("z", 3)


def test_nodes_pickle_roundtrip():
    for node in [Task("z", add, Ref("x"), 1), Data("x", [1, 2]), Alias("y", "x")]:
        again = pickle.loads(pickle.dumps(node))
        assert type(again) is type(node)
        assert again.key == node.key
        assert again.dependencies == node.dependencies
    t = pickle.loads(pickle.dumps(Task("z", add, Ref("x"), 1)))
    assert t.run({"x": 2}) == 3


def test_convert_classic_graph():
    dsk = {
        "x": 1,
        ("y", 0): (add, "x", 10),
        "z": (sum, [("y", 0), "x"]),
        "w": (add, (add, "x", ("y", 0)), 100),  # nested call
        "alias": "z",
        "lit": "not-a-key",
        "lst": [("y", 0), 5],
    }
    g = convert_graph(dsk)
    assert type(g["x"]) is Data
    assert type(g["alias"]) is Alias and g["alias"].target == "z"
    assert type(g["lit"]) is Data and g["lit"].value == "not-a-key"
    assert set(g["w"].dependencies) == {"x", ("y", 0)}
    data = {"x": 1, ("y", 0): 11}
    assert g["z"].run(data) == 12
    assert g["w"].run(data) == 112
    assert g["lst"].run(data) == [11, 5]


def test_convert_keeps_tuple_literals_that_are_not_keys():
    g = convert_graph({"x": (getitem, (1, 2, 3), 0), "t": ("a", 1)})
    assert g["x"].run({}) == 1
    assert type(g["t"]) is Data and g["t"].value == ("a", 1)


def test_is_key_and_prefix():
    assert is_key("a") and is_key(("a", 1, 2))
    assert not is_key(("a", "b")) and not is_key(1) and not is_key(())
    assert key_prefix("inc-0123456789abcdef") == "inc"
    assert key_prefix("my-name") == "my-name"
    assert key_prefix(("x-deadbeef00", 3)) == "x"


def test_as_node_passes_nodes_through():
    t = Task("a", abs, -1)
    assert as_node("a", t, {}) is t

"""plait.delayed compared with plain Python, under every local scheduler."""

import operator
import pickle
from collections import namedtuple

import pytest

import plait
from plait import Delayed, delayed

SCHEDULERS = ["sync", "threads", "processes"]


def inc(x):
    return x + 1


def double(x):
    return 2 * x


def add(x, y):
    return x + y


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_tutorial_tree_reduction(scheduler):
    data = list(range(1, 9))
    out = [delayed(double)(delayed(inc)(x)) for x in data]
    while len(out) > 1:
        out = [delayed(add)(out[i], out[i + 1]) for i in range(0, len(out), 2)]
    assert out[0].compute(scheduler=scheduler) == sum(2 * (x + 1) for x in data)


def test_decorator_and_default_threads_scheduler():
    @delayed
    def f(x):
        import threading

        return threading.current_thread().name

    assert f(1).compute().startswith("plait-threads")
    with plait.config.set(scheduler="sync"):
        assert f(1).compute() == "MainThread"


def test_compute_many_shares_common_work():
    calls = []

    def counted(x):
        calls.append(x)
        return x * 10

    shared = delayed(counted)(1)
    a = delayed(add)(shared, 1)
    b = delayed(add)(shared, 2)
    assert plait.compute(a, b, scheduler="sync") == (11, 12)
    assert calls == [1]


def test_pure_calls_share_keys_and_impure_do_not():
    assert delayed(inc, pure=True)(1).key == delayed(inc, pure=True)(1).key
    assert delayed(inc, pure=True)(1).key != delayed(inc, pure=True)(2).key
    assert delayed(inc)(1).key != delayed(inc)(1).key
    assert delayed(inc)(1, pure=True).key == delayed(inc)(1, pure=True).key


def test_dask_key_name():
    d = delayed(inc)(1, dask_key_name="my-key")
    assert d.key == "my-key"
    assert "my-key" in d.dask
    assert d.compute(scheduler="sync") == 2


def test_nout_unpacks_and_len():
    q, r = delayed(divmod, nout=2)(17, 5)
    assert (q.compute(), r.compute()) == (3, 2)
    assert len(delayed(divmod, nout=2)(1, 1)) == 2
    with pytest.raises(TypeError, match="nout"):
        len(delayed(divmod)(1, 1))
    with pytest.raises(TypeError, match="nout"):
        iter(delayed(divmod)(1, 1))


def test_attributes_methods_items_operators():
    Point = namedtuple("Point", "x y")
    p = delayed(Point)(3, 4)
    assert p.x.compute() == 3
    s = delayed("a,b,c")
    assert s.split(",").compute() == ["a", "b", "c"]
    assert s.upper().compute() == "A,B,C"
    lst = delayed([10, 20, 30])
    assert lst[1].compute() == 20
    x, y = delayed(7), delayed(2)
    ops = {
        "+": (x + y, 9), "-": (x - y, 5), "*": (x * y, 14), "/": (x / y, 3.5),
        "//": (x // y, 3), "%": (x % y, 1), "**": (x ** y, 49), "&": (x & y, 2),
        "|": (x | y, 7), "^": (x ^ y, 5), "<<": (x << y, 28), ">>": (x >> y, 1),
        "neg": (-x, -7), "abs": (abs(-x), 7), "~": (~x, -8), "r+": (1 + x, 8),
        "r-": (10 - x, 3), "<": (x < y, False), ">=": (x >= y, True), "==": (x == 7, True),
        "!=": (x != 7, False),
    }
    got = plait.compute(*(d for d, _ in ops.values()), scheduler="sync")
    assert list(got) == [v for _, v in ops.values()]


def test_truth_value_is_an_error():
    with pytest.raises(TypeError, match="truth value"):
        bool(delayed(1))


def test_immutable():
    d = delayed(1)
    with pytest.raises(TypeError, match="immutable"):
        d.foo = 1
    with pytest.raises(TypeError, match="immutable"):
        d[0] = 1


def test_containers_of_delayed_are_traversed():
    a, b = delayed(inc)(1), delayed(inc)(2)
    f = delayed(lambda lst, tup, dct, st: (lst, tup, dct, sorted(st)))
    out = f([a, 1], (b, [a]), {"k": a, "j": [b]}, {a, b}).compute(scheduler="sync")
    assert out == ([2, 1], (3, [2]), {"k": 2, "j": [3]}, [2, 3])
    assert delayed([a, {"x": b}]).compute() == [2, {"x": 3}]


def test_compute_traverses_and_passes_through():
    a = delayed(inc)(1)
    assert plait.compute([a, 5], {"k": a}, "s") == ([2, 5], {"k": 2}, "s")
    assert plait.compute([a], traverse=False)[0] == [a]


def test_persist_and_optimize():
    calls = []

    def f(x):
        calls.append(x)
        return x + 100

    d = delayed(f)(1)
    p = d.persist(scheduler="sync")
    assert calls == [1]
    assert (p + 1).compute() == 102 and calls == [1]
    (o,) = plait.optimize(delayed(add)(d, 1))
    assert o.compute(scheduler="sync") == 102


def test_dask_graph_property_and_repr():
    d = delayed(add)(delayed(inc)(1), 2)
    g = d.dask
    assert d.key in g and len(g) == 2
    assert repr(d) == f"Delayed({d.key!r})"
    assert d.key.startswith("add-")


def test_delayed_from_classic_graph():
    d = Delayed("b", {"a": 1, "b": (inc, "a")})
    assert d.compute() == 2


def test_delayed_wraps_other_collections():
    inner = delayed(inc)(1)
    assert delayed(inner) is inner
    assert delayed(lambda x: x * 2)(inner).compute() == 4


def test_delayed_pickles():
    d = delayed(add)(delayed(inc)(1), 2)
    d2 = pickle.loads(pickle.dumps(d))
    assert d2.key == d.key and d2.compute() == 4
    leaf = pickle.loads(pickle.dumps(delayed(inc)))
    assert leaf(1).compute() == 2


def test_delayed_method_in_class():
    class A:
        def __init__(self, v):
            self.v = v

        @delayed
        def plus(self, x):
            return self.v + x

    assert A(5).plus(1).compute() == 6


def test_get_keyword_removed_everywhere():
    d = delayed(inc)(1)
    for call in (lambda: d.compute(get=plait.get), lambda: plait.compute(d, get=plait.get),
                 lambda: plait.persist(d, get=plait.get)):
        with pytest.raises(TypeError, match=r"scheduler="):
            call()


@pytest.mark.parametrize("name", ["sync", "synchronous", "single-threaded", "threads",
                                  "threading", "processes", "multiprocessing"])
def test_scheduler_aliases(name):
    assert delayed(inc)(1).compute(scheduler=name) == 2


@pytest.mark.parametrize("get", [plait.get, plait.threaded.get, plait.multiprocessing.get,
                                 plait.local.get_sync])
def test_old_get_functions_as_scheduler(get):
    assert delayed(add)(delayed(inc)(1), 1).compute(scheduler=get) == 3


def test_unknown_scheduler_lists_valid_names():
    with pytest.raises(ValueError) as info:
        delayed(inc)(1).compute(scheduler="thread")
    assert "'threads'" in str(info.value) and "'sync'" in str(info.value)


def test_executor_as_scheduler():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as ex:
        assert delayed(inc)(1).compute(scheduler=ex) == 2


def test_custom_get_function():
    seen = []

    def my_get(dsk, keys, **kwargs):
        seen.append(len(dsk))
        return plait.get(dsk, keys)

    assert delayed(inc)(delayed(inc)(1)).compute(scheduler=my_get) == 3
    assert seen == [2]


def test_task_error_propagates_with_key():
    def bad(x):
        raise KeyError("nope")

    d = delayed(bad)(1)
    with pytest.raises(KeyError) as info:
        d.compute(scheduler="threads")
    assert d.key in "\n".join(info.value.__notes__)


def test_build_many_is_linear():
    # 100k calls build without quadratic graph merging; the graph walk sees each once.
    xs = [delayed(inc)(i) for i in range(100_000)]
    total = delayed(sum)(xs)
    assert len(total.dask) == 100_001


def test_deep_chain_compute():
    x = 0
    for _ in range(20_000):
        x = delayed(inc)(x)
    assert x.compute(scheduler="sync") == 20_000

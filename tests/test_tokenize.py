"""Tests for plait.tokenize: determinism, sensitivity to content, every handler."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import threading
import types
import uuid
from collections import Counter, OrderedDict, defaultdict, namedtuple

import pytest

from plait.tokenize import TokenizationError, normalize_token, tokenize

try:
    import numpy as np
except ImportError:  # pragma: no cover - numpy is a test dependency
    np = None

requires_numpy = pytest.mark.skipif(np is None, reason="needs numpy: pip install numpy")
ROOT = str(pathlib.Path(__file__).resolve().parents[1])


def run_python(code: str, hashseed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hashseed, "PYTHONPATH": ROOT}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# Values whose tokens must not depend on the process: sets and dicts of many strings
# iterate in a different order under another PYTHONHASHSEED.
VALUES_CODE = textwrap.dedent(
    """
    import datetime, decimal, functools, json, operator, pathlib, uuid
    from collections import OrderedDict
    import numpy as np
    import pandas as pd
    from plait.tokenize import tokenize

    words = [f"word{i}" for i in range(200)]

    def double(x):
        return 2 * x

    def make_adder(n):
        return lambda x: x + n

    class Thing:
        def __init__(self):
            self.tags = set(words[:50])
            self.name = "thing"

    values = [
        1, "a", 1.5, None, True, b"bytes", 2**10000,
        set(words), frozenset(words), {w: i for i, w in enumerate(words)},
        OrderedDict(a=1), [set(words[:5]), {"k": set(words[5:9])}],
        datetime.datetime(2020, 1, 2, 3, 4, 5), decimal.Decimal("1.10"),
        pathlib.PurePosixPath("/a/b"), uuid.UUID(int=5), range(5), slice(1, 2),
        double, make_adder(3), lambda y: y * 2, functools.partial(double, 3),
        operator.itemgetter(1), len, Thing(),
        np.arange(10), np.array(words, dtype=object), np.float32(2.5),
        np.random.RandomState(0), np.dtype("f4"), np.add,
        pd.DataFrame({"w": words, "i": range(200)}).set_index("w"),
        pd.Series(pd.Categorical(words[:20])),
    ]
    print(json.dumps([tokenize(v) for v in values]))
    """
)


def test_tokens_are_deterministic_across_processes():
    pytest.importorskip("pandas")
    first = json.loads(run_python(VALUES_CODE, "1"))
    second = json.loads(run_python(VALUES_CODE, "2"))
    assert len(first) == len(second) > 30
    assert first == second
    assert len(set(first)) == len(first)  # and all different from each other


def test_set_token_in_subprocess_matches_this_process():
    words = [f"word{i}" for i in range(200)]
    code = "from plait.tokenize import tokenize; print(tokenize({f'word{i}' for i in range(200)}))"
    assert run_python(code, "123").strip() == tokenize(set(words))


def test_import_does_not_import_numpy_or_pandas():
    code = (
        "import plait.tokenize, plait.sizeof, sys; "
        "assert 'numpy' not in sys.modules and 'pandas' not in sys.modules, "
        "[m for m in sys.modules if m.startswith(('numpy', 'pandas'))]"
    )
    run_python(code, "0")


def test_token_format():
    token = tokenize(1, "a")
    assert len(token) == 32 and int(token, 16) >= 0
    assert tokenize() != tokenize(None)


EQUAL = [
    (lambda: float("nan"), lambda: float("nan")),
    (lambda: {"a": 1, "b": 2}, lambda: {"b": 2, "a": 1}),
    (lambda: {"x", "y", "z"}, lambda: {"z", "y", "x"}),
    (lambda: [1, [2, (3, "4")]], lambda: [1, [2, (3, "4")]]),
    (lambda: list(range(1000)), lambda: list(range(1000))),
    (lambda: [str(i) for i in range(100)], lambda: [str(i) for i in range(100)]),
    (lambda: 2**10000, lambda: 2**10000),
    (lambda: "x" * 5000, lambda: "x" * 5000),
    (lambda: b"x" * 5000, lambda: b"x" * 5000),
    (lambda: bytearray(b"ab"), lambda: bytearray(b"ab")),
    (lambda: memoryview(b"abc"), lambda: memoryview(b"abc")),
    (lambda: datetime.date(2020, 1, 1), lambda: datetime.date(2020, 1, 1)),
    (lambda: Counter("abca"), lambda: Counter("aabc")),
]


@pytest.mark.parametrize("make_a, make_b", EQUAL)
def test_equal_values_have_equal_tokens(make_a, make_b):
    a, b = make_a(), make_b()
    assert a is not b
    assert tokenize(a) == tokenize(b)


Point = namedtuple("Point", "x y")


class Color(enum.Enum):
    RED = 1
    BLUE = 2


class Level(enum.IntEnum):
    LOW = 1


DIFFERENT = [
    (1, 1.0), (1, True), (0, False), (0.0, -0.0), (float("nan"), float("inf")), (1, "1"),
    (None, "None"), ("a", b"a"), (b"a", bytearray(b"a")), (1j, 1), ([1], (1,)),
    ({1}, frozenset({1})), ({1: 2}, [(1, 2)]), ({"a": 1}, {"a": 2}), ({"a": 1}, {"b": 1}),
    ("x" * 2000, "x" * 1999 + "y"), (b"x" * 5000, b"x" * 4999 + b"y"),
    (2**10000, 2**10000 + 1), (list(range(100)), list(range(99)) + [100]),
    (range(3), range(4)), (slice(1, 2), slice(1, 3)), (Ellipsis, None),
    (decimal.Decimal("1"), decimal.Decimal("2")), (fractions.Fraction(1, 2), 0.5),
    (datetime.datetime(2020, 1, 1), datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)),
    (datetime.timedelta(1), datetime.timedelta(2)), (pathlib.PurePosixPath("a"), "a"),
    (uuid.UUID(int=1), uuid.UUID(int=2)), (Point(1, 2), (1, 2)), (Color.RED, Color.BLUE),
    (Level.LOW, 1), (OrderedDict(a=1, b=2), OrderedDict(b=2, a=1)), (OrderedDict(a=1), {"a": 1}),
    (defaultdict(list), defaultdict(set)), (int, float), (len, max), (str.upper, str.lower),
    ("a".upper, "b".upper), (memoryview(b"ab"), memoryview(b"ac")),
]  # fmt: skip


@pytest.mark.parametrize("a, b", DIFFERENT, ids=[type(a).__name__ for a, _ in DIFFERENT])
def test_different_values_have_different_tokens(a, b):
    assert tokenize(a) != tokenize(b)
    assert tokenize(a) == tokenize(a)


def test_arguments_structure_matters():
    assert tokenize(1, 2) != tokenize((1, 2))
    assert tokenize(1, 2) != tokenize(2, 1)
    assert tokenize(a=1) != tokenize(b=1)
    assert tokenize(1, a=2) == tokenize(1, a=2)
    assert tokenize(a=1, b=2) == tokenize(b=2, a=1)


def test_noncontiguous_memoryview():
    import array

    m = memoryview(array.array("i", range(10)))[::2]
    assert tokenize(m) == tokenize(memoryview(array.array("i", range(0, 10, 2))))


# -- functions -----------------------------------------------------------------------------
def module_function(x):
    return x + 1


def other_module_function(x):
    return x + 1


def make_adder(n):
    def add(x):
        return x + n

    return add


def test_named_functions_by_name():
    assert tokenize(module_function) == tokenize(module_function)
    assert normalize_token(module_function)[1:] == (__name__, "module_function")
    assert tokenize(module_function) != tokenize(other_module_function)
    assert tokenize(os.path.join) != tokenize(os.path.split)


def test_lambdas_by_code():
    assert tokenize(lambda x: x + 1) == tokenize(lambda x: x + 1)
    assert tokenize(lambda x: x + 1) != tokenize(lambda x: x + 2)
    assert tokenize(lambda x: x + 1) != tokenize(lambda y: y + 1)
    assert tokenize(lambda x: x + 1) != tokenize(lambda x: x - 1)
    assert tokenize(lambda x, k=1: x) != tokenize(lambda x, k=2: x)
    assert tokenize(lambda: (lambda: 1)) != tokenize(lambda: (lambda: 2))


def test_closures_by_cell_contents():
    assert tokenize(make_adder(1)) == tokenize(make_adder(1))
    assert tokenize(make_adder(1)) != tokenize(make_adder(2))
    assert tokenize(make_adder([1, 2])) != tokenize(make_adder([1, 3]))


def test_recursive_local_function_terminates():
    def fact(n):
        return 1 if n <= 1 else n * fact(n - 1)

    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    assert tokenize(fact) == tokenize(fact)
    assert tokenize(fact) != tokenize(fib)


def test_lambda_sees_module_level_constants():
    namespace = {"OFFSET": 1}
    exec("f = lambda x: x + OFFSET", namespace)
    before = tokenize(namespace["f"])
    namespace["OFFSET"] = 2
    assert tokenize(namespace["f"]) != before


class Counter2:
    def __init__(self, start):
        self.start = start

    def value(self):
        return self.start


def test_methods_and_partials():
    assert tokenize(Counter2(1).value) == tokenize(Counter2(1).value)
    assert tokenize(Counter2(1).value) != tokenize(Counter2(2).value)
    partial = functools.partial
    assert tokenize(partial(module_function, 1)) == tokenize(partial(module_function, 1))
    assert tokenize(partial(module_function, 1)) != tokenize(partial(module_function, 2))
    assert tokenize(functools.partial(max, key=abs)) != tokenize(functools.partial(max, key=len))
    assert tokenize(functools.partial(max, key=abs)) != tokenize(max)


# -- containers and objects ----------------------------------------------------------------
def test_self_referential_containers():
    def build():
        a = [1, 2]
        a.append(a)
        d = {"a": a}
        d["self"] = d
        b = [d]
        a.append(b)
        return a, d

    a1, d1 = build()
    a2, d2 = build()
    assert tokenize(a1) == tokenize(a2)
    assert tokenize(d1) == tokenize(d2)
    assert tokenize(a1) != tokenize([1, 2, [], [{}]])
    x = [1]
    x.append(x)
    y = [1]
    y.append([x])  # not a cycle through y itself
    assert tokenize(x) != tokenize(y)


def test_cycles_to_different_depths_differ():
    outer: list = []
    outer.append([outer])  # the inner list points back to the outer one
    inner: list = []
    inner.append(inner)
    other = [inner]  # the inner list points to itself
    assert tokenize(outer) != tokenize(other)


def test_shared_references_are_not_cycles():
    inner = [1, 2]
    assert tokenize([inner, inner]) == tokenize([[1, 2], [1, 2]])


def test_deep_nesting_does_not_raise():
    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    assert len(tokenize(deep)) == 32


@dataclasses.dataclass
class Record:
    name: str
    values: list


class Plain:
    def __init__(self, **attrs):
        self.__dict__.update(attrs)


class Slotted:
    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a


def test_dataclasses_enums_and_plain_objects():
    assert tokenize(Record("a", [1])) == tokenize(Record("a", [1]))
    assert tokenize(Record("a", [1])) != tokenize(Record("a", [2]))
    assert tokenize(Plain(a=1, b={"x", "y"})) == tokenize(Plain(b={"y", "x"}, a=1))
    assert tokenize(Plain(a=1)) != tokenize(Plain(a=2))
    assert tokenize(Slotted(1)) == tokenize(Slotted(1)) != tokenize(Slotted(2))
    assert tokenize(Color.RED) == tokenize(Color.RED)


def test_object_containing_itself():
    p = Plain()
    p.me = p
    q = Plain()
    q.me = q
    assert tokenize(p) == tokenize(q)


def test_unpicklable_objects_get_random_tokens():
    lock = threading.Lock()
    assert tokenize(lock) != tokenize(lock)
    with pytest.raises(TokenizationError, match="lock"):
        tokenize(lock, ensure_deterministic=True)
    assert tokenize(1, ensure_deterministic=True) == tokenize(1)
    sentinel = object()
    assert tokenize(sentinel) != tokenize(object())
    gen = (i for i in range(3))
    with pytest.raises(TokenizationError):
        tokenize([gen], ensure_deterministic=True)


def test_local_classes():
    def make():
        class Local:
            def __init__(self, v):
                self.v = v

        return Local

    Local = make()
    assert tokenize(Local(1)) == tokenize(Local(1))
    assert tokenize(Local(1)) != tokenize(Local(2))
    assert tokenize(Local) == tokenize(Local)


class Custom:
    def __init__(self, key, noise):
        self.key, self.noise = key, noise

    def __plait_tokenize__(self):
        return ("custom", self.key)


class CustomList(list):
    def __plait_tokenize__(self):
        return len(self)


def test_plait_tokenize_method_is_used_first():
    assert tokenize(Custom(1, object())) == tokenize(Custom(1, threading.Lock()))
    assert tokenize(Custom(1, None)) != tokenize(Custom(2, None))
    assert tokenize(CustomList([1, 2])) == tokenize(CustomList([3, 4]))  # beats list's handler
    assert tokenize(Custom(1, None)) != tokenize(("custom", 1))


def test_plait_tokenize_may_call_tokenize():
    class Outer:
        def __init__(self, v):
            self.v = v

        def __plait_tokenize__(self):
            return tokenize(self.v)

    assert tokenize(Outer([1])) == tokenize(Outer([1])) != tokenize(Outer([2]))


def test_register_and_register_lazy():
    class Registered:
        def __init__(self, v):
            self.v = v

    normalize_token.register(Registered, lambda obj: ("Registered", obj.v % 10))
    assert tokenize(Registered(1)) == tokenize(Registered(11)) != tokenize(Registered(2))

    calls = []
    module = types.ModuleType("plait_fake_library")
    exec("class Thing:\n    def __init__(self, v):\n        self.v = v", module.__dict__)
    sys.modules[module.__name__] = module
    try:

        @normalize_token.register_lazy("plait_fake_library")
        def _register():
            calls.append(1)
            normalize_token.register(module.Thing, lambda t: ("Thing", -t.v))

        assert calls == []
        a = tokenize(module.Thing(3))
        assert calls == [1]
        assert normalize_token(module.Thing(3)) == ("Thing", -3)
        assert tokenize(module.Thing(3)) == a and calls == [1]
    finally:
        del sys.modules[module.__name__]


# -- NumPy ---------------------------------------------------------------------------------


@requires_numpy
def test_numpy_arrays_equal_and_different():
    x = np.arange(24, dtype="f8").reshape(4, 6)
    assert tokenize(x) == tokenize(x.copy())
    assert tokenize(x) != tokenize(x + 1)
    assert tokenize(x) != tokenize(x.reshape(6, 4))  # same bytes, other shape
    assert tokenize(x) != tokenize(x.T)
    assert tokenize(np.zeros(4, "i8")) != tokenize(np.zeros(4, "f8"))  # same bytes, other dtype
    assert tokenize(np.zeros(4, "<i4")) != tokenize(np.zeros(4, ">i4"))
    assert tokenize(x.view("i8")) != tokenize(x)
    assert tokenize(np.array(3.0)) != tokenize(np.array([3.0]))
    assert tokenize(np.array([], "f8")) != tokenize(np.array([], "i8"))


@requires_numpy
def test_numpy_views_and_layouts():
    x = np.arange(100, dtype="i4").reshape(10, 10)
    assert tokenize(x[::2, 1::3]) == tokenize(np.ascontiguousarray(x[::2, 1::3]))
    assert tokenize(x[:5]) != tokenize(x[5:])
    assert tokenize(np.asfortranarray(x)) == tokenize(x)
    assert tokenize(x[None]) == tokenize(x.reshape(1, 10, 10))


@requires_numpy
def test_large_noncontiguous_array_hashes_in_pieces():
    x = np.random.default_rng(0).random((3000, 800))[:, ::1][:, :700]  # ~17 MB, not contiguous
    assert not x.flags.c_contiguous
    assert tokenize(x) == tokenize(np.ascontiguousarray(x))
    y = x.copy()
    y[-1, -1] += 1
    assert tokenize(x) != tokenize(y)


@requires_numpy
def test_broadcast_arrays():
    a = np.broadcast_to(np.arange(3), (1000, 3))
    assert tokenize(a) == tokenize(np.broadcast_to(np.arange(3), (1000, 3)))
    assert tokenize(a) != tokenize(np.broadcast_to(np.arange(1, 4), (1000, 3)))
    assert tokenize(a) != tokenize(np.broadcast_to(np.arange(3), (999, 3)))


@requires_numpy
def test_object_and_string_arrays():
    a = np.array([1, "a", None, [1, 2]], dtype=object)
    b = np.array([1, "a", None, [1, 2]], dtype=object)
    assert tokenize(a) == tokenize(b)
    b[3].append(3)
    assert tokenize(a) != tokenize(b)
    words = np.array([f"w{i}" for i in range(500)], dtype=object)
    assert tokenize(words) == tokenize(words.copy())
    other = words.copy()
    other[250] = "x"
    assert tokenize(words) != tokenize(other)
    c = np.empty(1, dtype=object)
    c[0] = c
    assert len(tokenize(c)) == 32
    if hasattr(np, "dtypes") and hasattr(np.dtypes, "StringDType"):
        s = np.array(["a" * 40, "b"], dtype=np.dtypes.StringDType())
        t = np.array(["a" * 40, "c"], dtype=np.dtypes.StringDType())
        assert tokenize(s) == tokenize(s.copy()) != tokenize(t)


@requires_numpy
def test_structured_and_datetime_arrays():
    a = np.zeros(3, dtype=[("a", "f8"), ("b", "i4")])
    b = np.zeros(3, dtype=[("a", "f8"), ("c", "i4")])
    assert tokenize(a) != tokenize(b)
    d = np.array(["2020-01-01"], dtype="M8[D]")
    assert tokenize(d) != tokenize(d.astype("M8[s]"))
    assert tokenize(d) != tokenize(d.view("i8"))


@requires_numpy
def test_array_subclasses():
    data = np.arange(4.0)
    masked = np.ma.masked_array(data, mask=[0, 1, 0, 0])
    assert tokenize(masked) == tokenize(np.ma.masked_array(data, mask=[0, 1, 0, 0]))
    assert tokenize(masked) != tokenize(np.ma.masked_array(data, mask=[0, 0, 1, 0]))
    assert tokenize(masked) != tokenize(data)
    assert tokenize(data.view(ArraySubclass)) != tokenize(data)


class ArraySubclass(np.ndarray if np is not None else object):
    pass


@requires_numpy
def test_memmaps(tmp_path):
    path = tmp_path / "data.bin"
    np.arange(100, dtype="f8").tofile(path)
    r1 = np.memmap(path, dtype="f8", mode="r", shape=(100,))
    r2 = np.memmap(path, dtype="f8", mode="r", shape=(100,))
    assert normalize_token(r1)[0] == "memmap"
    assert tokenize(r1) == tokenize(r2)
    assert tokenize(r1[10:20]) != tokenize(r1[20:30])
    assert tokenize(r1[::2]) != tokenize(r1[:50])
    token = tokenize(r1)
    del r1, r2
    np.arange(1, 101, dtype="f8").tofile(path)
    os.utime(path, ns=(1, 1))
    r3 = np.memmap(path, dtype="f8", mode="r", shape=(100,))
    assert tokenize(r3) != token
    w = np.memmap(path, dtype="f8", mode="r+", shape=(100,))  # writable: hashed by content
    assert tokenize(w) == tokenize(np.arange(1, 101, dtype="f8"))
    del r3, w


@requires_numpy
def test_numpy_scalars_dtypes_random_ufuncs():
    assert tokenize(np.float64(1)) == tokenize(np.float64(1))
    assert tokenize(np.float64(1)) != tokenize(np.float32(1))
    assert tokenize(np.float64(1)) != tokenize(1.0)
    assert tokenize(np.str_("a")) != tokenize(np.str_("b"))
    assert tokenize(np.datetime64("2020-01-01")) != tokenize(np.datetime64("2020-01-02"))
    assert tokenize(np.dtype("f8")) != tokenize(np.dtype("f4"))
    assert tokenize(np.random.RandomState(0)) == tokenize(np.random.RandomState(0))
    assert tokenize(np.random.RandomState(0)) != tokenize(np.random.RandomState(1))
    rs = np.random.RandomState(0)
    before = tokenize(rs)
    rs.random()
    assert tokenize(rs) != before
    assert tokenize(np.random.default_rng(0)) == tokenize(np.random.default_rng(0))
    assert tokenize(np.random.default_rng(0)) != tokenize(np.random.default_rng(1))
    assert tokenize(np.add) == tokenize(np.add) != tokenize(np.subtract)
    assert tokenize(np.sum) != tokenize(np.mean)


# -- pandas --------------------------------------------------------------------------------
def frame():
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(
        {"a": [1, 2, 3], "b": ["x", "y", None], "c": [0.5, np.nan, 1.5]},
        index=pd.Index([10, 20, 30], name="idx"),
    )


def test_pandas_frames():
    pd = pytest.importorskip("pandas")
    df = frame()
    assert tokenize(df) == tokenize(frame())
    assert tokenize(df) != tokenize(df.rename(columns={"a": "z"}))
    assert tokenize(df) != tokenize(df.set_axis([10, 20, 31]))
    assert tokenize(df) != tokenize(df.rename_axis("other"))
    assert tokenize(df) != tokenize(df.astype({"a": "f8"}))
    assert tokenize(df) != tokenize(df.astype({"a": "Int64"}))
    assert tokenize(df) != tokenize(df.astype({"b": "category"}))
    changed = df.copy()
    changed.loc[20, "b"] = "q"
    assert tokenize(df) != tokenize(changed)
    assert tokenize(df) != tokenize(df[["b", "a", "c"]])
    assert tokenize(df) != tokenize(df.reset_index())
    assert tokenize(pd.DataFrame()) != tokenize(pd.DataFrame(index=[0]))


def test_pandas_series_and_indexes():
    pd = pytest.importorskip("pandas")
    s = pd.Series([1.0, 2.0], name="s")
    assert tokenize(s) == tokenize(s.copy())
    assert tokenize(s) != tokenize(s.rename("t"))
    assert tokenize(s) != tokenize(s.to_frame())
    assert tokenize(pd.RangeIndex(3)) != tokenize(pd.RangeIndex(4))
    mi = pd.MultiIndex.from_product([[1, 2], ["a", "b"]], names=["x", "y"])
    assert tokenize(mi) == tokenize(mi.copy())
    assert tokenize(mi) != tokenize(mi.set_names(["x", "z"]))
    other = pd.MultiIndex.from_product([[1, 3], ["a", "b"]], names=["x", "y"])
    assert tokenize(mi) != tokenize(other)
    dti = pd.date_range("2020", periods=3)
    assert tokenize(dti) != tokenize(dti.tz_localize("UTC"))
    assert tokenize(dti) != tokenize(pd.date_range("2020", periods=3, freq="h"))
    ci = pd.CategoricalIndex(["a", "b"], categories=["a", "b"])
    assert tokenize(ci) != tokenize(pd.CategoricalIndex(["a", "b"], categories=["b", "a"]))


def test_pandas_arrays_scalars_and_dtypes():
    pd = pytest.importorskip("pandas")
    cat = pd.Categorical(["a", "b", "a"])
    assert tokenize(cat) == tokenize(pd.Categorical(["a", "b", "a"]))
    assert tokenize(cat) != tokenize(pd.Categorical(["a", "b", "a"], ordered=True))
    assert tokenize(cat) != tokenize(pd.Categorical(["a", "b", "b"]))
    assert tokenize(pd.array([1, None], dtype="Int64")) != tokenize(pd.array([1, 2], dtype="Int64"))
    strings = pd.array(["a", None], dtype="string")
    assert tokenize(strings) != tokenize(pd.array(["a", "b"], dtype="string"))
    sparse = pd.arrays.SparseArray([0, 0, 1])
    assert tokenize(sparse) == tokenize(pd.arrays.SparseArray([0, 0, 1]))
    assert tokenize(sparse) != tokenize(pd.arrays.SparseArray([0, 1, 1]))
    assert tokenize(pd.interval_range(0, 3)) != tokenize(pd.interval_range(0, 3, closed="left"))
    ts = pd.Timestamp("2020-01-01")
    assert tokenize(ts) == tokenize(pd.Timestamp("2020-01-01"))
    assert tokenize(ts) != tokenize(ts.tz_localize("UTC"))
    assert tokenize(ts) != tokenize(pd.Timestamp("2020-01-01 00:00:00.000000001"))
    assert tokenize(pd.NaT) == tokenize(pd.NaT) != tokenize(None)
    assert tokenize(pd.Timedelta(1, "ns")) != tokenize(pd.Timedelta(2, "ns"))
    assert tokenize(pd.Period("2020-01", "M")) != tokenize(pd.Period("2020-01", "D"))
    assert tokenize(pd.Interval(0, 1)) != tokenize(pd.Interval(0, 1, closed="both"))
    assert tokenize(pd.CategoricalDtype(["a", "b"])) != tokenize(pd.CategoricalDtype(["b", "a"]))
    ordered = pd.CategoricalDtype(["a", "b"], ordered=True)
    assert tokenize(pd.CategoricalDtype(["a", "b"])) != tokenize(ordered)
    assert tokenize(pd.Int64Dtype()) != tokenize(pd.Float64Dtype())

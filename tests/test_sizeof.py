"""Tests for plait.sizeof (sizes compared with sys.getsizeof, NumPy and pandas) and for
the Dispatch class it shares with plait.tokenize (plait/utils/dispatch.py)."""

from __future__ import annotations

import sys
import types

import pytest

from plait.sizeof import FALLBACK_SIZE, sizeof
from plait.utils.dispatch import Dispatch

try:
    import numpy as np
except ImportError:  # pragma: no cover - numpy is a test dependency
    np = None

requires_numpy = pytest.mark.skipif(np is None, reason="needs numpy: pip install numpy")


def close(measured: int, expected: int, rel: float = 0.05, abs_: int = 0) -> bool:
    return abs(measured - expected) <= rel * expected + abs_


# -- plain Python --------------------------------------------------------------------------
@pytest.mark.parametrize("obj", [1, 2**200, 1.5, "abc", "x" * 10_000, None, True, object()])
def test_scalars_use_getsizeof(obj):
    assert sizeof(obj) == sys.getsizeof(obj)


def test_bytes_like():
    assert sizeof(b"x" * 10_000) == sys.getsizeof(b"x" * 10_000) >= 10_000
    assert sizeof(bytearray(10_000)) >= 10_000
    view = memoryview(bytes(10_000))
    assert sizeof(view) == 10_000
    assert sizeof(view[::2]) == 5_000


def test_short_containers_sum_their_items():
    items = [bytes(1000 + i) for i in range(10)]
    expected = sum(map(sys.getsizeof, items))
    for container in (list(items), tuple(items), set(items), frozenset(items)):
        assert sizeof(container) == sys.getsizeof(container) + expected
    d = {f"k{i}": item for i, item in enumerate(items)}
    keys = sum(sys.getsizeof(k) for k in d)
    assert sizeof(d) == sys.getsizeof(d) + keys + expected


def test_nested_containers():
    inner = [bytes(10_000) for _ in range(3)]
    assert sizeof({"a": [inner, (inner,)]}) > 60_000


def test_long_containers_are_sampled_and_extrapolated():
    items = [bytes(100) for _ in range(100_000)]
    exact = sys.getsizeof(items) + sum(map(sys.getsizeof, items))
    assert sizeof(items) == exact  # all items alike: the estimate is exact
    mixed = [bytes(i % 1000) for i in range(100_000)]
    exact = sys.getsizeof(mixed) + sum(map(sys.getsizeof, mixed))
    assert close(sizeof(mixed), exact, rel=0.1)
    big_set = {i * 1.5 for i in range(100_000)}
    assert close(sizeof(big_set), sys.getsizeof(big_set) + 24 * 100_000, rel=0.01)
    big_dict = {i: str(i) for i in range(100_000)}
    items = sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in big_dict.items())
    exact = sys.getsizeof(big_dict) + items
    assert close(sizeof(big_dict), exact, rel=0.1)


class Measured:
    calls = 0

    def __sizeof__(self):
        Measured.calls += 1
        return 1000


def test_long_containers_measure_few_items():
    items = [Measured() for _ in range(100_000)]
    Measured.calls = 0
    size = sizeof(items)
    assert Measured.calls <= 50
    assert close(size, sys.getsizeof(items) + sys.getsizeof(items[0]) * 100_000, rel=0.01)
    Measured.calls = 0
    sizeof({i: m for i, m in enumerate(items)})
    assert Measured.calls <= 50


def test_self_referential_containers_terminate():
    a = [bytes(1000)]
    a.append(a)
    assert sys.getsizeof(a) + 1000 < sizeof(a) < sys.getsizeof(a) + 2000
    d = {"x": bytes(1000)}
    d["self"] = d
    assert 1000 < sizeof(d) < 10_000


class Unmeasurable:
    def __sizeof__(self):
        raise RuntimeError("no size")


class BrokenHandler:
    pass


def test_never_raises():
    assert sizeof(Unmeasurable()) == FALLBACK_SIZE
    sizeof.register(BrokenHandler, lambda obj: 1 / 0)
    assert sizeof(BrokenHandler()) == sys.getsizeof(BrokenHandler())
    assert sizeof([Unmeasurable()]) >= FALLBACK_SIZE
    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    assert sizeof(deep) > 0


def test_register_custom_type():
    class Blob:
        def __init__(self, n):
            self.data = bytes(n)

    sizeof.register(Blob, lambda blob: sizeof(blob.data))
    assert sizeof(Blob(5000)) == sys.getsizeof(bytes(5000))
    assert sizeof([Blob(5000)]) > 5000


# -- NumPy ---------------------------------------------------------------------------------
@requires_numpy
@pytest.mark.parametrize(
    "make",
    [
        lambda: np.arange(1000.0),
        lambda: np.zeros((100, 100), dtype="i2"),
        lambda: np.arange(1000.0)[::3],
        lambda: np.asfortranarray(np.ones((30, 40))),
        lambda: np.array(3.0),
        lambda: np.zeros((0, 5)),
        lambda: np.arange(10).astype("M8[s]"),
    ],
)
def test_numpy_arrays_by_nbytes(make):
    x = make()
    assert sizeof(x) == x.nbytes


@requires_numpy
def test_numpy_broadcast_counts_base_memory():
    base = np.arange(1000.0)
    assert sizeof(np.broadcast_to(base, (10_000, 1000))) == base.nbytes
    assert sizeof(np.broadcast_to(np.float32(1), (10**6,))) == 4
    assert sizeof(base[None]) == base.nbytes  # a zero stride on a length-1 axis repeats nothing


@requires_numpy
def test_numpy_object_arrays_count_their_objects():
    words = np.array(["x" * (i % 200) for i in range(50)], dtype=object)
    assert sizeof(words) == words.nbytes + sum(map(sys.getsizeof, words))
    many = np.array(["x" * (i % 200) for i in range(100_000)], dtype=object)
    exact = many.nbytes + sum(map(sys.getsizeof, many))
    assert close(sizeof(many), exact, rel=0.05)
    assert sizeof(many) > 5 * many.nbytes


@requires_numpy
def test_numpy_scalars():
    assert sizeof(np.float64(1)) == sys.getsizeof(np.float64(1))
    assert sizeof([np.arange(1000.0)] * 2) >= 16_000


# -- pandas --------------------------------------------------------------------------------
def deep_usage(obj) -> int:
    usage = obj.memory_usage(deep=True)
    return int(usage.sum()) if hasattr(usage, "sum") else int(usage)


def test_pandas_numeric_frame():
    pd = pytest.importorskip("pandas")
    n = 100_000
    df = pd.DataFrame({"a": np.arange(n), "b": np.arange(n * 1.0), "c": np.ones(n, "i1")})
    assert close(sizeof(df), deep_usage(df), rel=0.02, abs_=10_000)
    assert sizeof(df) >= deep_usage(df)


def test_pandas_object_columns_are_measured_deeply():
    pd = pytest.importorskip("pandas")
    n = 100_000
    df = pd.DataFrame(
        {
            "i": np.arange(n),
            "obj": pd.Series(["y" * (i % 100) for i in range(n)], dtype=object),
            "s": pd.Series([str(i) * 3 for i in range(n)], dtype=object),
        },
    )
    # set after construction: Series given with another index would align to NaN
    df.index = pd.Index([f"row{i}" for i in range(n)], dtype=object)
    expected = deep_usage(df)
    assert expected > 4 * df.memory_usage(deep=False).sum()  # so a shallow size would fail
    assert close(sizeof(df), expected, rel=0.05, abs_=10_000)
    assert close(sizeof(df["obj"]), deep_usage(df["obj"]), rel=0.05, abs_=10_000)
    assert close(sizeof(df.index), deep_usage(df.index), rel=0.05, abs_=10_000)


def test_pandas_other_types():
    pd = pytest.importorskip("pandas")
    n = 50_000
    cat = pd.Series(pd.Categorical([f"c{i % 10}" for i in range(n)]))
    assert close(sizeof(cat), deep_usage(cat), rel=0.05, abs_=10_000)
    masked = pd.Series(pd.array(range(n), dtype="Int64"))
    assert close(sizeof(masked), deep_usage(masked), rel=0.05, abs_=10_000)
    dates = pd.Series(pd.date_range("2020", periods=n, freq="s", tz="UTC"))
    assert close(sizeof(dates), deep_usage(dates), rel=0.05, abs_=10_000)
    mi = pd.MultiIndex.from_product([range(1000), [f"x{i}" for i in range(50)]])
    assert close(sizeof(mi), deep_usage(mi), rel=0.1, abs_=10_000)
    assert sizeof(pd.RangeIndex(10**9)) < 10_000
    assert close(sizeof(cat.array), cat.array.nbytes, rel=0.05, abs_=2000)


def test_pandas_in_containers():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": np.arange(10_000.0)})
    assert sizeof([df, df]) >= 2 * 80_000


# -- Dispatch --------------------------------------------------------------------------------
def test_dispatch_walks_the_mro_and_caches():
    d = Dispatch("describe")
    d.register(object, lambda x: "object")
    d.register((int, float), lambda x: "number")
    assert d(True) == "number"  # bool -> int
    assert d("s") == "object"
    d.register(bool, lambda x: "bool")  # registering clears the cache
    assert d(True) == "bool"
    assert d(1) == "number"

    @d.register(str)
    def _(x, suffix=""):
        return "str" + suffix

    assert d("s", suffix="!") == "str!"


def test_dispatch_error_names_the_type_and_the_fix():
    d = Dispatch("measure")
    expected = r"measure has no handler for builtins.int.*measure.register\(int"
    with pytest.raises(TypeError, match=expected):
        d(1)


def test_dispatch_register_lazy_runs_once_on_first_use():
    calls = []
    module = types.ModuleType("plait_lazy_fake")
    exec("class Base: pass\nclass Child(Base): pass", module.__dict__)
    d = Dispatch("lazy")
    d.register(object, lambda x: "generic")

    @d.register_lazy("plait_lazy_fake")
    def _():
        calls.append(1)
        d.register(module.Base, lambda x: "base")

    assert d(1) == "generic" and calls == []

    class UserSub(module.Child):  # defined elsewhere: the lazy module is found in the MRO
        pass

    assert d(UserSub()) == "base"
    assert d(module.Child()) == "base"
    assert calls == [1]

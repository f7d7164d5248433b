"""plait.array.random: reproducibility under each scheduler, shapes, ranges, moments."""

import numpy as np
import pytest

import plait
from plait.array import random as da_random
from plait.array.core import Array, from_array
from plait.array.random import Generator, RandomState, default_rng

SCHEDULERS = ["sync", "threads"]


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


def generator_call(seed, method, *args, **kwargs):
    return getattr(default_rng(seed), method)(*args, **kwargs)


def legacy_call(seed, method, *args, **kwargs):
    return getattr(RandomState(seed), method)(*args, **kwargs)


CALLS = [
    ("random", (), {"size": (30, 20), "chunks": (7, 8)}),
    ("standard_normal", (), {"size": 50, "chunks": 9}),
    ("normal", (5, 2), {"size": (40,), "chunks": 15}),
    ("uniform", (-1, 3), {"size": (10, 10), "chunks": 4}),
    ("poisson", (3.0,), {"size": 33, "chunks": 10}),
    ("exponential", (2.0,), {"size": 25, "chunks": 10}),
    ("binomial", (10, 0.3), {"size": 25, "chunks": 10}),
    ("standard_t", (4,), {"size": 25, "chunks": 10}),
    ("beta", (2, 5), {"size": 25, "chunks": 10}),
    ("gamma", (2.0, 3.0), {"size": 25, "chunks": 10}),
    ("choice", (7,), {"size": 25, "chunks": 10}),
]


@pytest.mark.parametrize("method,args,kwargs", CALLS + [
    ("integers", (0, 100), {"size": (9, 9), "chunks": 4})])
def test_generator_same_seed_same_values_any_scheduler(method, args, kwargs):
    a = generator_call(42, method, *args, **kwargs).compute(scheduler="sync")
    b = generator_call(42, method, *args, **kwargs).compute(scheduler="threads")
    c = generator_call(43, method, *args, **kwargs).compute(scheduler="threads")
    np.testing.assert_array_equal(a, b, strict=True)
    assert not np.array_equal(a, c)
    # Blocks are not copies of one another.
    flat = a.ravel()
    assert not np.array_equal(flat[:5], flat[10:15])


@pytest.mark.parametrize("method,args,kwargs", CALLS + [
    ("randint", (0, 100), {"size": (9, 9), "chunks": 4}),
    ("random_sample", (), {"size": 20, "chunks": 6})])
def test_legacy_same_seed_same_values_any_scheduler(method, args, kwargs):
    a = legacy_call(7, method, *args, **kwargs).compute(scheduler="sync")
    b = legacy_call(7, method, *args, **kwargs).compute(scheduler="threads")
    c = legacy_call(8, method, *args, **kwargs).compute(scheduler="sync")
    np.testing.assert_array_equal(a, b, strict=True)
    assert not np.array_equal(a, c)


def test_successive_calls_differ_but_replay():
    rng = default_rng(1)
    a, b = rng.random(100, chunks=30), rng.random(100, chunks=30)
    assert not np.array_equal(a.compute(), b.compute())
    rng2 = default_rng(1)
    np.testing.assert_array_equal(rng2.random(100, chunks=30).compute(), a.compute())
    np.testing.assert_array_equal(rng2.random(100, chunks=30).compute(), b.compute())


def test_compute_twice_gives_same_values(scheduler):
    x = default_rng().normal(size=(200,), chunks=50)
    np.testing.assert_array_equal(x.compute(scheduler=scheduler), x.compute(scheduler="sync"))


def test_module_functions_and_seed(scheduler):
    da_random.seed(123)
    a = da_random.random((20, 5), chunks=(6, 5)).compute(scheduler=scheduler)
    b = da_random.normal(0, 1, size=10, chunks=3).compute(scheduler=scheduler)
    da_random.seed(123)
    np.testing.assert_array_equal(
        da_random.random((20, 5), chunks=(6, 5)).compute(scheduler="sync"), a)
    np.testing.assert_array_equal(
        da_random.normal(0, 1, size=10, chunks=3).compute(scheduler="sync"), b)
    assert not np.array_equal(da_random.random((20, 5), chunks=(6, 5)).compute(), a)


@pytest.mark.parametrize("name,args,shape,dtype", [
    ("random", ((3, 4),), (3, 4), np.float64),
    ("random_sample", ((3, 4),), (3, 4), np.float64),
    ("rand", (3, 4), (3, 4), np.float64),
    ("randn", (5,), (5,), np.float64),
    ("randint", (0, 5, (6,)), (6,), np.dtype(int)),
    ("normal", (0, 1, (2, 2)), (2, 2), np.float64),
    ("uniform", (0, 1, 7), (7,), np.float64),
    ("poisson", (2.0, 4), (4,), np.int64),
    ("binomial", (5, 0.5, 4), (4,), np.int64),
    ("exponential", (1.0, 3), (3,), np.float64),
    ("choice", (5, 3), (3,), np.int64),
    ("permutation", (6,), (6,), np.int64),
])
def test_module_function_shapes(name, args, shape, dtype, scheduler):
    x = getattr(da_random, name)(*args)
    assert isinstance(x, Array)
    assert x.shape == shape and x.dtype == dtype
    got = x.compute(scheduler=scheduler)
    assert got.shape == shape and got.dtype == dtype


@pytest.mark.parametrize("size,chunks,expected", [
    ((10,), 3, ((3, 3, 3, 1),)),
    ((10, 4), (5, 3), ((5, 5), (3, 1))),
    ((0,), 3, ((0,),)),
    ((0, 3), 2, ((0,), (2, 1))),
    (7, -1, ((7,),)),
])
@pytest.mark.parametrize("method", ["random", "standard_normal", "integers"])
def test_shape_dtype_chunks(size, chunks, expected, method, scheduler):
    rng = default_rng(5)
    args = (10,) if method == "integers" else ()
    x = getattr(rng, method)(*args, size=size, chunks=chunks)
    assert x.chunks == expected
    got = x.compute(scheduler=scheduler)
    shape = (size,) if isinstance(size, int) else size
    assert got.shape == shape
    assert got.dtype == (np.int64 if method == "integers" else np.float64) == x.dtype


def test_positional_arguments_follow_numpy_then_chunks():
    rng = default_rng(0)
    assert rng.normal(0, 1, 10, 4).chunks == ((4, 4, 2),)
    x = rng.integers(0, 5, 10, "i4", True, 3)
    assert x.chunks == ((3, 3, 3, 1),) and x.dtype == np.int32
    assert rng.random(10, "f4", None, 5).dtype == np.float32
    assert da_random.randint(0, 4, 10, "i2", 5).chunks == ((5, 5),)
    assert RandomState(0).normal(size=6, chunks=4).chunks == ((4, 2),)
    with pytest.raises(TypeError, match="multiple values"):
        rng.normal(0, loc=1)
    with pytest.raises(TypeError, match="at most"):
        rng.normal(0, 1, 10, 4, 5)


def test_scalar_size_none_is_0d(scheduler):
    x = default_rng(0).normal(3.0, 0.1)
    assert x.shape == () and x.chunks == ()
    value = x.compute(scheduler=scheduler)
    assert np.ndim(value) == 0 and 2 < float(value) < 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_dtype(dtype):
    rng = default_rng(0)
    for x in (rng.random(10, dtype=dtype, chunks=4), rng.standard_normal(10, dtype, chunks=4)):
        assert x.dtype == dtype and x.compute().dtype == dtype


def test_uniform_range(scheduler):
    x = default_rng(3).uniform(-2, 5, size=(300, 100), chunks=(70, 30)).compute(scheduler=scheduler)
    assert x.min() >= -2 and x.max() < 5
    assert x.min() < -1.9 and x.max() > 4.9
    y = RandomState(3).uniform(1, 2, size=1000, chunks=300).compute(scheduler=scheduler)
    assert ((y >= 1) & (y < 2)).all()


@pytest.mark.parametrize("endpoint", [False, True])
def test_integers_bounds(endpoint, scheduler):
    x = default_rng(0).integers(3, 9, size=5000, endpoint=endpoint, chunks=700)
    got = x.compute(scheduler=scheduler)
    top = 9 if endpoint else 8
    assert got.min() == 3 and got.max() == top
    assert set(np.unique(got)) == set(range(3, top + 1))
    x = default_rng(0).integers(4, size=1000, dtype=np.uint8, chunks=300)
    assert x.dtype == np.uint8 and set(np.unique(x.compute())) == {0, 1, 2, 3}


def test_randint_bounds():
    got = RandomState(1).randint(5, size=2000, chunks=300).compute()
    assert set(np.unique(got)) == {0, 1, 2, 3, 4}
    got = RandomState(1).randint(-3, 2, size=2000, dtype="i1", chunks=300).compute()
    assert got.dtype == np.int8 and set(np.unique(got)) == {-3, -2, -1, 0, 1}


@pytest.mark.parametrize("source", ["generator", "legacy"])
def test_moments(source, scheduler):
    rng = default_rng(11) if source == "generator" else RandomState(11)
    n = 100_000
    x = rng.normal(3.0, 2.0, size=n, chunks=30_000).compute(scheduler=scheduler)
    assert abs(x.mean() - 3.0) < 0.03 and abs(x.std() - 2.0) < 0.03
    u = rng.uniform(0, 1, size=n, chunks=30_000).compute(scheduler=scheduler)
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.var() - 1 / 12) < 0.005
    p = rng.poisson(4.0, size=n, chunks=30_000).compute(scheduler=scheduler)
    assert abs(p.mean() - 4.0) < 0.05 and abs(p.var() - 4.0) < 0.1
    e = rng.exponential(2.0, size=n, chunks=30_000).compute(scheduler=scheduler)
    assert abs(e.mean() - 2.0) < 0.05
    b = rng.binomial(10, 0.3, size=n, chunks=30_000).compute(scheduler=scheduler)
    assert abs(b.mean() - 3.0) < 0.05
    g = rng.gamma(2.0, 3.0, size=n, chunks=30_000).compute(scheduler=scheduler)
    assert abs(g.mean() - 6.0) < 0.1
    be = rng.beta(2.0, 6.0, size=n, chunks=30_000).compute(scheduler=scheduler)
    assert abs(be.mean() - 0.25) < 0.01
    t = rng.standard_t(10, size=n, chunks=30_000).compute(scheduler=scheduler)
    assert abs(t.mean()) < 0.03 and abs(t.var() - 1.25) < 0.05


def test_parameter_arrays_broadcast(scheduler):
    loc = np.array([0.0, 100.0, 1000.0, -50.0])
    rng = default_rng(2)
    x = rng.normal(loc, 0.01, size=(6, 4), chunks=(4, 3))
    got = x.compute(scheduler=scheduler)
    assert got.shape == (6, 4)
    np.testing.assert_allclose(got, np.broadcast_to(loc, (6, 4)), atol=0.1)
    # size=None: the parameters' broadcast shape.
    scale = np.array([[1e-3], [1e-2]])
    y = rng.normal(loc, scale, chunks=2).compute(scheduler=scheduler)
    assert y.shape == (2, 4)
    np.testing.assert_allclose(y, np.broadcast_to(loc, (2, 4)), atol=0.1)
    with pytest.raises(ValueError, match="broadcast"):
        rng.normal(loc, 1, size=(3, 5))


def test_plait_array_parameters(scheduler):
    low = from_array(np.array([0.0, 10.0, 20.0, 30.0, 40.0]), chunks=2)
    x = default_rng(4).uniform(low, low + 1, size=(3, 5), chunks=(2, 3))
    assert x.chunks == ((2, 1), (3, 2))
    got = x.compute(scheduler=scheduler)
    base = np.array([0.0, 10.0, 20.0, 30.0, 40.0])
    assert ((got >= base) & (got < base + 1)).all()
    y = RandomState(4).poisson(from_array(np.array([1.0, 1000.0]), chunks=1), size=(4, 2))
    assert y.chunks == ((4,), (1, 1)) and y.dtype == np.int64
    got = y.compute(scheduler=scheduler)
    assert got[:, 0].max() < 20 and got[:, 1].min() > 800
    z = default_rng(4).normal(low, 0.001)
    assert z.chunks == low.chunks
    np.testing.assert_allclose(z.compute(scheduler=scheduler), base, atol=0.1)


def test_invalid_parameters_fail_at_build_time():
    with pytest.raises(ValueError):
        default_rng(0).normal(0, -1, size=10)
    with pytest.raises(ValueError):
        RandomState(0).binomial(5, 1.5, size=10)
    with pytest.raises(TypeError, match="missing"):
        default_rng(0).beta(2)
    with pytest.raises(TypeError, match="out="):
        default_rng(0).random(5, out=np.empty(5))


@pytest.mark.parametrize("source", ["generator", "legacy"])
def test_choice(source, scheduler):
    rng = default_rng(9) if source == "generator" else RandomState(9)
    a = np.array([10, 20, 30, 40])
    x = rng.choice(a, size=20_000, p=[0.1, 0.0, 0.2, 0.7], chunks=6000)
    assert x.dtype == a.dtype and x.chunks == ((6000, 6000, 6000, 2000),)
    got = x.compute(scheduler=scheduler)
    counts = {v: (got == v).mean() for v in a}
    assert counts[20] == 0
    assert abs(counts[10] - 0.1) < 0.02 and abs(counts[40] - 0.7) < 0.02
    x = rng.choice(5, size=(30, 4), chunks=(7, 3)).compute(scheduler=scheduler)
    assert x.shape == (30, 4) and set(np.unique(x)) <= set(range(5))
    y = rng.choice(from_array(a * 1.5, chunks=3), size=50, chunks=20)
    assert set(np.unique(y.compute(scheduler=scheduler))) <= set(a * 1.5)
    y = rng.choice(4, size=50, p=from_array(np.array([0, 0, 0.5, 0.5]), chunks=2), chunks=20)
    assert set(np.unique(y.compute(scheduler=scheduler))) <= {2, 3}


@pytest.mark.parametrize("source", ["generator", "legacy"])
def test_choice_without_replacement(source, scheduler):
    rng = default_rng(9) if source == "generator" else RandomState(9)
    x = rng.choice(20, size=20, replace=False, chunks=6)
    got = x.compute(scheduler=scheduler)
    assert sorted(got.tolist()) == list(range(20))
    assert x.chunks == ((6, 6, 6, 2),)
    with pytest.raises(ValueError, match="population"):
        rng.choice(5, size=6, replace=False)
    with pytest.raises(ValueError):
        rng.choice(3, size=4, p=[0.5, 0.6, 0.1])


@pytest.mark.parametrize("source", ["generator", "legacy"])
def test_permutation(source, scheduler):
    rng = default_rng(8) if source == "generator" else RandomState(8)
    p = rng.permutation(25, chunks=7)
    assert p.chunks == ((7, 7, 7, 4),)
    got = p.compute(scheduler=scheduler)
    assert sorted(got.tolist()) == list(range(25))
    assert got.tolist() != list(range(25))
    a = np.arange(40).reshape(20, 2) * 3
    x = rng.permutation(from_array(a, chunks=(6, 1)))
    assert x.chunks == ((6, 6, 6, 2), (1, 1))
    out = x.compute(scheduler=scheduler)
    assert sorted(map(tuple, out.tolist())) == sorted(map(tuple, a.tolist()))
    assert not np.array_equal(out, a)
    assert sorted(rng.permutation(np.arange(5)).compute().tolist()) == [0, 1, 2, 3, 4]
    assert rng.permutation(np.zeros(0)).compute().shape == (0,)


def test_permutation_reproducible():
    a = from_array(np.arange(30), chunks=8)
    x = default_rng(3).permutation(a).compute(scheduler="sync")
    y = default_rng(3).permutation(a).compute(scheduler="threads")
    np.testing.assert_array_equal(x, y)


def test_big_array_builds_without_computing():
    x = da_random.random((10_000, 10_000), chunks=(1000, 1000))
    assert x.shape == (10_000, 10_000) and x.numblocks == (10, 10)
    graph = x.__plait_graph__()
    assert len(graph) == 100
    # Each task carries a seed, not data: the whole graph pickles small.
    import pickle

    assert len(pickle.dumps(graph)) < 200_000
    small = da_random.random((100, 100), chunks=(10, 10)).compute()
    assert small.shape == (100, 100) and 0 <= small.min() and small.max() < 1


def test_default_rng_accepts_numpy_and_plait_generators():
    rng = default_rng(5)
    assert default_rng(rng) is rng
    x = default_rng(np.random.default_rng(5)).random(10, chunks=4).compute()
    y = default_rng(np.random.PCG64(5)).random(10, chunks=4).compute()
    np.testing.assert_array_equal(x, y)
    assert isinstance(Generator(np.random.MT19937(1)).random(3).compute(), np.ndarray)
    assert isinstance(rng, Generator)


def test_random_arrays_combine_with_other_operations(scheduler):
    x = default_rng(0).random((20, 20), chunks=5)
    y = (x * 2 + 1).compute(scheduler=scheduler)
    np.testing.assert_allclose(y, x.compute() * 2 + 1)


def test_names_reproducible_and_distinct():
    assert default_rng(1).random(10).name == default_rng(1).random(10).name
    assert default_rng(1).random(10).name != default_rng(2).random(10).name
    assert default_rng(1).normal(0, 1, 10).name != default_rng(1).normal(5, 1, 10).name
    assert plait.compute(default_rng(1).random(4), default_rng(1).random(4))[0].shape == (4,)

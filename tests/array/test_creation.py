"""plait.array.creation against NumPy on the same inputs, under sync and threads."""

import numpy as np
import pytest

import plait
from plait.array import creation as c
from plait.array.core import Array, from_array

SCHEDULERS = ["sync", "threads"]


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


def check(x, expected, scheduler, chunks=None):
    """``x`` is a plait array equal to ``expected`` in shape, dtype and values."""
    assert isinstance(x, Array)
    assert x.shape == expected.shape
    assert x.dtype == expected.dtype
    if chunks is not None:
        assert x.chunks == chunks
    for axis, (n, cs) in enumerate(zip(expected.shape, x.chunks)):
        assert sum(cs) == n, (axis, x.chunks)
    got = x.compute(scheduler=scheduler)
    assert got.shape == expected.shape
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected, strict=True)


# -- constant arrays ---------------------------------------------------------------------

SHAPES_CHUNKS = [
    ((10,), 3, ((3, 3, 3, 1),)),
    ((10,), 10, ((10,),)),
    ((10,), (4, 6), ((4, 6),)),
    ((5, 7), (2, 3), ((2, 2, 1), (3, 3, 1))),
    ((5, 7), -1, ((5,), (7,))),
    ((0,), 3, ((0,),)),
    ((0, 3), 2, ((0,), (2, 1))),
    ((), "auto", ()),
]


@pytest.mark.parametrize("shape,chunks,expected_chunks", SHAPES_CHUNKS)
@pytest.mark.parametrize("func", ["ones", "zeros"])
def test_ones_zeros(func, shape, chunks, expected_chunks, scheduler):
    x = getattr(c, func)(shape, chunks=chunks)
    check(x, getattr(np, func)(shape), scheduler, expected_chunks)


@pytest.mark.parametrize("dtype", [int, np.float32, bool, complex, "i1"])
def test_ones_zeros_dtype(dtype, scheduler):
    check(c.ones((4, 3), dtype=dtype, chunks=2), np.ones((4, 3), dtype=dtype), scheduler)
    check(c.zeros(5, dtype, chunks=2), np.zeros(5, dtype), scheduler)


def test_int_shape_and_default_dtype(scheduler):
    x = c.ones(7, chunks=3)
    assert x.shape == (7,) and x.dtype == np.float64
    check(x, np.ones(7), scheduler)


@pytest.mark.parametrize("shape,chunks,expected_chunks", SHAPES_CHUNKS)
def test_empty(shape, chunks, expected_chunks):
    x = c.empty(shape, chunks=chunks, dtype="i4")
    assert x.chunks == expected_chunks and x.dtype == np.dtype("i4")
    got = x.compute()
    assert got.shape == shape and got.dtype == np.dtype("i4")


@pytest.mark.parametrize("shape,chunks,expected_chunks", SHAPES_CHUNKS)
@pytest.mark.parametrize("fill,dtype", [(7, None), (2.5, None), (2.5, int), (True, None),
                                        (1 + 2j, None), (3, np.float32)])
def test_full(shape, chunks, expected_chunks, fill, dtype, scheduler):
    check(c.full(shape, fill, dtype=dtype, chunks=chunks), np.full(shape, fill, dtype=dtype),
          scheduler, expected_chunks)


def test_full_rejects_array_fill():
    with pytest.raises(ValueError, match="scalar"):
        c.full((3,), [1, 2, 3])


def test_graph_carries_no_big_array():
    x = c.ones((10_000, 10_000), chunks=(1000, 1000))
    graph = x.__plait_graph__()
    assert len(graph) == 100
    assert x.nbytes == 8 * 10**8
    assert x.numblocks == (10, 10)


def test_deterministic_names():
    assert c.ones((4, 4), chunks=2).name == c.ones((4, 4), chunks=2).name
    assert c.ones((4, 4), chunks=2).name != c.ones((4, 4), chunks=1).name
    assert c.full(3, 1).name != c.full(3, 2).name
    assert c.ones(3, name="mine").name == "mine"


def test_auto_chunks_respect_limit():
    with plait.config.set({"array.chunk-size": "800B"}):
        x = c.zeros((1000,), chunks="auto")
    assert max(x.chunks[0]) * 8 <= 800
    assert sum(x.chunks[0]) == 1000


# -- *_like ------------------------------------------------------------------------------

LIKE = [("ones_like", ()), ("zeros_like", ()), ("full_like", (4,))]


@pytest.mark.parametrize("func,extra", LIKE)
def test_like_of_plait_array(func, extra, scheduler):
    a = np.arange(12, dtype="i2").reshape(3, 4)
    x = from_array(a, chunks=(2, 3))
    out = getattr(c, func)(x, *extra)
    assert out.chunks == x.chunks
    check(out, getattr(np, func)(a, *extra), scheduler)
    out = getattr(c, func)(x, *extra, dtype=float, chunks=1)
    assert out.chunks == ((1, 1, 1), (1, 1, 1, 1))
    check(out, getattr(np, func)(a, *extra, dtype=float), scheduler)
    out = getattr(c, func)(x, *extra, shape=(5,))
    check(out, getattr(np, func)(a, *extra, shape=(5,)), scheduler)


@pytest.mark.parametrize("func,extra", LIKE)
@pytest.mark.parametrize("a", [np.arange(6.0), np.zeros((2, 0), dtype=bool), np.array(3),
                               [[1, 2], [3, 4]]])
def test_like_of_numpy(func, extra, a, scheduler):
    check(getattr(c, func)(a, *extra), getattr(np, func)(a, *extra), scheduler)


def test_empty_like():
    x = from_array(np.ones((4, 6), dtype="f4"), chunks=(2, 4))
    e = c.empty_like(x)
    assert e.chunks == x.chunks and e.dtype == np.float32
    assert e.compute().shape == (4, 6)


def test_full_like_casts_to_dtype(scheduler):
    a = np.arange(5)
    check(c.full_like(a, 2.7), np.full_like(a, 2.7), scheduler)


@pytest.mark.parametrize("np_func,extra", [(np.ones_like, ()), (np.zeros_like, ()),
                                           (np.empty_like, ()), (np.full_like, (9,))])
def test_numpy_like_dispatches_to_plait(np_func, extra):
    x = from_array(np.arange(10), chunks=4)
    out = np_func(x, *extra)
    assert isinstance(out, Array)
    assert out.chunks == x.chunks
    if np_func is not np.empty_like:
        np.testing.assert_array_equal(out.compute(), np_func(np.arange(10), *extra))


def test_numpy_creation_like_plait():
    x = c.ones(3)
    for out, expected in [(np.ones((2, 3), like=x), np.ones((2, 3))),
                          (np.zeros(4, dtype=int, like=x), np.zeros(4, dtype=int)),
                          (np.full(3, 7, like=x), np.full(3, 7)),
                          (np.arange(2, 11, 3, like=x), np.arange(2, 11, 3)),
                          (np.eye(3, k=1, like=x), np.eye(3, k=1)),
                          (np.tri(3, 4, like=x), np.tri(3, 4))]:
        assert isinstance(out, Array)
        np.testing.assert_array_equal(out.compute(), expected, strict=True)


# -- arange / linspace -------------------------------------------------------------------

ARANGE_ARGS = [
    (10,), (0,), (-3,), (2, 17), (2, 17, 3), (17, 2, -3), (5, 5), (0, 1, 0.1), (1, 0, -0.1),
    (0.5, 10.25, 0.37), (-2.1, 3.3, 1 / 3), (0, 1e-3, 1e-5), (3.0,), (np.float32(0.1), 2, 0.3),
    (0, 2**40, 2**37), (-5, 5, 0.5), (0, 10, 2.5),
]


@pytest.mark.parametrize("args", ARANGE_ARGS)
@pytest.mark.parametrize("chunks", [1, 3, 7, "auto", -1])
def test_arange_equals_numpy(args, chunks, scheduler):
    expected = np.arange(*args)
    x = c.arange(*args, chunks=chunks)
    check(x, expected, scheduler)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.float16, complex, "u1", float])
@pytest.mark.parametrize("args", [(0, 20, 0.3), (3, 40, 2), (-1.5, 1.5, 0.25), (0, 1, 0.1)])
def test_arange_dtype(dtype, args, scheduler):
    try:
        expected = np.arange(*args, dtype=dtype)
    except OverflowError:  # NumPy refuses, e.g. a negative start for uint8: so do we
        with pytest.raises(OverflowError):
            c.arange(*args, chunks=4, dtype=dtype)
        return
    check(c.arange(*args, chunks=4, dtype=dtype), expected, scheduler)


def test_arange_many_random_float_steps():
    rng = np.random.default_rng(0)
    for _ in range(200):
        start, stop = rng.uniform(-100, 100, 2).round(rng.integers(0, 4))
        step = float(rng.choice([0.1, 0.01, 0.3, 1 / 7, 0.25, 3.3])) * rng.choice([-1, 1])
        chunks = int(rng.integers(1, 40))
        expected = np.arange(start, stop, step)
        got = c.arange(start, stop, step, chunks=chunks).compute(scheduler="sync")
        np.testing.assert_array_equal(got, expected, strict=True)


def test_arange_zero_step():
    with pytest.raises(ZeroDivisionError):
        c.arange(0, 10, 0)


def test_arange_chunks():
    assert c.arange(10, chunks=4).chunks == ((4, 4, 2),)
    assert c.arange(0, chunks=4).chunks == ((0,),)


LINSPACE_ARGS = [
    (0, 1), (0, 1, 7), (1, 0, 7), (-2.5, 3.3, 100), (0, 10, 1), (0, 10, 0), (0, 10, 2),
    (np.float32(1.5), 4, 33), (1e-310, 1e-300, 5), (3, 3, 4), (0, 1 + 1j, 5),
]


@pytest.mark.parametrize("args", LINSPACE_ARGS)
@pytest.mark.parametrize("endpoint", [True, False])
@pytest.mark.parametrize("chunks", [1, 3, "auto"])
def test_linspace_equals_numpy(args, endpoint, chunks, scheduler):
    expected, step = np.linspace(*args, endpoint=endpoint, retstep=True)
    x, got_step = c.linspace(*args, endpoint=endpoint, retstep=True, chunks=chunks)
    check(x, expected, scheduler)
    np.testing.assert_array_equal(got_step, step)
    check(c.linspace(*args, endpoint=endpoint, chunks=chunks), expected, scheduler)


@pytest.mark.parametrize("dtype", [int, np.float32, np.int16])
def test_linspace_dtype(dtype, scheduler):
    check(c.linspace(-3.7, 9.2, 41, chunks=6, dtype=dtype),
          np.linspace(-3.7, 9.2, 41, dtype=dtype), scheduler)


def test_linspace_errors():
    with pytest.raises(ValueError, match="non-negative"):
        c.linspace(0, 1, -1)
    with pytest.raises(NotImplementedError):
        c.linspace([0, 1], 2)


# -- eye / tri / diag --------------------------------------------------------------------

@pytest.mark.parametrize("func", ["eye", "tri"])
@pytest.mark.parametrize("N,M", [(5, None), (4, 7), (7, 4), (1, 1), (0, 3), (0, None)])
@pytest.mark.parametrize("k", [0, 1, -1, 3, -5, 10])
@pytest.mark.parametrize("chunks", [2, 3, "auto"])
def test_eye_tri(func, N, M, k, chunks, scheduler):
    check(getattr(c, func)(N, M, k=k, chunks=chunks), getattr(np, func)(N, M, k=k), scheduler)


@pytest.mark.parametrize("func", ["eye", "tri"])
def test_eye_tri_dtype_and_uneven_chunks(func, scheduler):
    x = getattr(c, func)(6, 5, k=1, dtype=int, chunks=((1, 4, 1), (3, 2)))
    check(x, getattr(np, func)(6, 5, k=1, dtype=int), scheduler, ((1, 4, 1), (3, 2)))


@pytest.mark.parametrize("k", range(-6, 7))
@pytest.mark.parametrize("chunks", [1, 2, 5, (1, 4)])
def test_diag_from_1d(k, chunks, scheduler):
    v = np.arange(1, 6, dtype="f4")
    check(c.diag(from_array(v, chunks=chunks), k), np.diag(v, k), scheduler)


@pytest.mark.parametrize("k", range(-8, 9))
@pytest.mark.parametrize("shape,chunks", [((5, 6), (2, 4)), ((6, 5), 1), ((4, 4), 4),
                                          ((7, 3), ((3, 0, 4), (2, 1)))])
def test_diag_from_2d(k, shape, chunks, scheduler):
    a = np.arange(np.prod(shape)).reshape(shape)
    check(c.diag(from_array(a, chunks=chunks), k), np.diag(a, k), scheduler)


@pytest.mark.parametrize("v", [np.arange(4), np.arange(12).reshape(3, 4), [1, 2], np.zeros(0)])
def test_diag_of_numpy_input(v, scheduler):
    check(c.diag(v, 1), np.diag(v, 1), scheduler)
    check(c.diag(v), np.diag(v), scheduler)


def test_np_diag_dispatches():
    x = from_array(np.arange(9).reshape(3, 3), chunks=2)
    out = np.diag(x, -1)
    assert isinstance(out, Array)
    np.testing.assert_array_equal(out.compute(), [3, 7])


def test_diag_rejects_3d():
    with pytest.raises(ValueError, match="1-d or 2-d"):
        c.diag(np.zeros((2, 2, 2)))


# -- fromfunction / indices / meshgrid ---------------------------------------------------

@pytest.mark.parametrize("shape,chunks", [((4, 5), 2), ((4, 5), (3, 5)), ((7,), 3),
                                          ((0, 3), 2), ((2, 3, 4), (1, 2, 3))])
def test_fromfunction(shape, chunks, scheduler):
    def f(*coords):
        return sum((i + 1) * x for i, x in enumerate(coords)) + 0.5
    check(c.fromfunction(f, shape, chunks=chunks), np.fromfunction(f, shape), scheduler)


def test_fromfunction_dtype_and_kwargs(scheduler):
    def f(i, j, scale):
        return i * scale + j
    check(c.fromfunction(f, (5, 4), dtype=int, chunks=3, scale=10),
          np.fromfunction(f, (5, 4), dtype=int, scale=10), scheduler)
    out = c.fromfunction(lambda i, j: i < j, (3, 3), chunks=2)
    check(out, np.fromfunction(lambda i, j: i < j, (3, 3)), scheduler)


def test_fromfunction_constant_broadcasts():
    x = c.fromfunction(lambda i: 7, (5,), chunks=2)
    np.testing.assert_array_equal(x.compute(), np.full(5, 7))


@pytest.mark.parametrize("dims,chunks", [((2, 3), 1), ((4, 5), 3), ((6,), 4), ((3, 0), 2),
                                         ((2, 3, 4), (1, 2, 3)), ((), "auto")])
@pytest.mark.parametrize("dtype", [int, float, "i2"])
def test_indices(dims, chunks, dtype, scheduler):
    x = c.indices(dims, dtype=dtype, chunks=chunks)
    check(x, np.indices(dims, dtype=dtype), scheduler)


@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("sparse", [False, True])
def test_meshgrid(indexing, sparse, scheduler):
    xs = [np.arange(4), np.linspace(0, 1, 5), np.array([7, 8], dtype="i1")]
    plait_xs = [from_array(xs[0], chunks=3), xs[1], from_array(xs[2], chunks=1)]
    for n in (1, 2, 3):
        got = c.meshgrid(*plait_xs[:n], indexing=indexing, sparse=sparse)
        expected = np.meshgrid(*xs[:n], indexing=indexing, sparse=sparse)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            check(g, e, scheduler)


def test_meshgrid_chunks_and_dispatch():
    x = from_array(np.arange(5), chunks=2)
    y = from_array(np.arange(3), chunks=1)
    X, Y = c.meshgrid(x, y)
    assert X.chunks == ((1, 1, 1), (2, 2, 1)) == Y.chunks
    X, Y = np.meshgrid(x, y, indexing="ij")
    assert isinstance(X, Array) and X.chunks == ((2, 2, 1), (1, 1, 1))
    np.testing.assert_array_equal(Y.compute(), np.meshgrid(np.arange(5), np.arange(3),
                                                           indexing="ij")[1])
    assert c.meshgrid() == []
    with pytest.raises(ValueError, match="indexing"):
        c.meshgrid(x, indexing="yx")


# -- from_delayed ------------------------------------------------------------------------

def make_block(n, value):
    return np.full((n, 2), value)


def test_from_delayed(scheduler):
    d = plait.delayed(make_block)(3, 5)
    x = c.from_delayed(d, (3, 2), dtype=int)
    assert x.chunks == ((3,), (2,)) and x.dtype == np.dtype(int)
    check(x, np.full((3, 2), 5), scheduler)
    check(x + 1, np.full((3, 2), 6), scheduler)
    # The array's block is the Delayed's value itself, not a copy made by another task.
    (key,) = x.__plait_graph__().keys() - d.__plait_graph__().keys()
    assert key == (x.name, 0, 0)


def test_from_delayed_meta_and_errors():
    d = plait.delayed(np.arange)(4, dtype="f4")
    x = c.from_delayed(d, (4,), meta=np.empty((0,), dtype="f4"))
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x.compute(), np.arange(4, dtype="f4"))
    with pytest.raises(TypeError, match="Delayed"):
        c.from_delayed(np.ones(3), (3,))


def test_from_delayed_combines_with_other_arrays(scheduler):
    parts = [c.from_delayed(plait.delayed(make_block)(2, i), (2, 2), dtype=int)
             for i in range(3)]
    total = parts[0] + parts[1] * parts[2]
    check(total, np.full((2, 2), 2), scheduler)

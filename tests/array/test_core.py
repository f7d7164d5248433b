"""plait.array core: from_array, element-wise maths, blockwise, map_blocks, rechunk,
conversions; compared with NumPy under sync and threads."""

import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plait
import plait.array as da

SCHEDULERS = ["sync", "threads"]
rng = np.random.default_rng(0)
A = rng.random((7, 10))
B = rng.integers(-5, 5, size=(7, 10))


def check(x, expected, scheduler="sync"):
    got = x.compute(scheduler=scheduler)
    assert isinstance(got, np.ndarray) or np.isscalar(got)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("chunks", [(7, 10), (3, 4), (1, 1), ((2, 5), (9, 1)), "auto", -1])
def test_from_array_roundtrip(chunks):
    x = da.from_array(A, chunks=chunks)
    assert x.shape == A.shape and x.dtype == A.dtype and x.ndim == 2
    assert sum(x.chunks[0]) == 7 and sum(x.chunks[1]) == 10
    check(x, A)


def test_metadata():
    x = da.from_array(A, chunks=(3, 4))
    assert x.chunks == ((3, 3, 1), (4, 4, 2))
    assert x.numblocks == (3, 3) and x.npartitions == 9
    assert x.size == 70 and x.nbytes == A.nbytes and x.itemsize == 8
    assert x.chunksize == (3, 4) and len(x) == 7
    assert repr(x).startswith("plait.array<array, shape=(7, 10), dtype=float64, chunksize=(3, 4)")


def test_repr_html_has_table_and_grid():
    html = da.from_array(A, chunks=(3, 4))._repr_html_()
    assert "<table>" in html and "<svg" in html and "(7, 10)" in html and "(3, 4)" in html
    assert "9 chunks" in html


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # division by zero, as in NumPy
@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv,
                                operator.floordiv, operator.mod, operator.pow, operator.lt,
                                operator.ge, operator.eq, operator.ne])
def test_binary_operators_match_numpy(op, scheduler):
    x = da.from_array(A, chunks=(3, 4))
    y = da.from_array(B, chunks=(4, 3))  # different chunks: aligned first
    with np.errstate(all="ignore"):
        expected = op(A, B)
        check(op(x, y), expected, scheduler)
        check(op(x, 2), op(A, 2), scheduler)
        check(op(2, x), op(2, A), scheduler)


def test_integer_and_bitwise_operators():
    x = da.from_array(B, chunks=3)
    for op in (operator.and_, operator.or_, operator.xor, operator.lshift, operator.rshift):
        check(op(abs(x), 3), op(np.abs(B), 3))
    check(-x, -B)
    check(~x, ~B)
    check(abs(x), np.abs(B))
    check(+x, B)


def test_broadcasting_with_numpy_and_plait():
    x = da.from_array(A, chunks=(3, 4))
    row = np.arange(10.0)
    col = da.from_array(np.arange(7.0).reshape(7, 1), chunks=(2, 1))
    check(x + row, A + row)
    check(row + x, row + A)
    check(x * col, A * np.arange(7.0).reshape(7, 1))
    with pytest.raises(ValueError, match="broadcast"):
        x + np.ones(3)


def test_numpy_ufuncs_return_plait_arrays():
    x = da.from_array(A - 0.5, chunks=(3, 4))
    y = np.absolute(x) > 0.2
    assert isinstance(y, da.Array)
    check(y, np.absolute(A - 0.5) > 0.2)
    check(np.sin(x), np.sin(A - 0.5))
    check(np.maximum(x, 0), np.maximum(A - 0.5, 0))
    check(da.exp(x), np.exp(A - 0.5))
    q, r = np.divmod(da.from_array(B, chunks=3), 3)
    check(q, np.divmod(B, 3)[0])
    check(r, np.divmod(B, 3)[1])
    assert isinstance(da.sin(1.0), float)


def test_unimplemented_numpy_function_errors_clearly():
    x = da.from_array(A, chunks=3)
    with pytest.raises(TypeError, match="does not implement"):
        np.linalg.eig(x)


def test_astype_and_map_blocks():
    x = da.from_array(A, chunks=(3, 4))
    check(x.astype(np.float32), A.astype(np.float32))
    check(x.astype("i4"), A.astype("i4"))
    check(x.map_blocks(lambda b: b * 2), A * 2)
    s = da.map_blocks(lambda b: b.sum(axis=0, keepdims=True), x, chunks=((1, 1, 1), (4, 4, 2)))
    assert s.shape == (3, 10)
    np.testing.assert_allclose(s.compute(), np.stack([A[:3].sum(0), A[3:6].sum(0), A[6:].sum(0)]))
    d = da.map_blocks(lambda b: b.sum(axis=1), x, drop_axis=1, dtype=float)
    assert d.shape == (7,)
    np.testing.assert_allclose(d.compute(), A.sum(axis=1))
    n = da.map_blocks(lambda b: b[None], da.from_array(np.arange(6), chunks=3), new_axis=0)
    assert n.shape == (1, 6)
    check(n, np.arange(6)[None])


def test_blockwise_contraction_and_new_axes():
    x = da.from_array(A, chunks=(3, 4))
    y = da.from_array(A.T, chunks=(4, 2))
    out = da.blockwise(lambda a, b: a @ b, "ik", x, "ij", y, "jk", concatenate=True, dtype=float)
    np.testing.assert_allclose(out.compute(), A @ A.T)
    z = da.blockwise(lambda b: b[..., None], "ijk", x, "ij", new_axes={"k": 1}, dtype=float)
    assert z.shape == (7, 10, 1)
    with pytest.raises(ValueError, match="different lengths"):
        da.blockwise(np.add, "ij", x, "ij", da.from_array(np.ones((7, 3)), chunks=3), "ij")


@pytest.mark.parametrize("new", [(2, 5), (7, 10), ((1, 6), (3, 3, 4)), 1, -1])
def test_rechunk(new):
    x = da.from_array(A, chunks=(3, 4))
    y = x.rechunk(new)
    check(y, A)


def test_conversions():
    x = da.from_array(np.array([3.5]), chunks=1)
    assert float(x) == 3.5 and int(x) == 3 and bool(x)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(da.from_array(A))
    np.testing.assert_array_equal(np.asarray(da.from_array(A, chunks=2)), A)
    rows = list(da.from_array(A[:3], chunks=2))
    assert len(rows) == 3 and rows[0].shape == (10,)


def test_zero_d_and_empty():
    z = da.from_array(np.float64(2.5))
    assert z.shape == () and z.compute() == 2.5
    check(z + 1, np.float64(2.5) + 1)
    e = da.from_array(np.zeros((0, 3)), chunks=2)
    assert e.shape == (0, 3)
    check(e * 2, np.zeros((0, 3)))


def test_to_delayed_and_persist():
    x = da.from_array(A, chunks=(4, 5)) + 1
    ds = x.to_delayed()
    assert ds.shape == (2, 2)
    np.testing.assert_array_equal(ds[1, 0].compute(), A[4:, :5] + 1)
    p = x.persist(scheduler="sync")
    check(p, A + 1)
    assert len(p.dask) == 4


def test_fused_elementwise_chain():
    x = da.from_array(A, chunks=(3, 4))
    y = ((x + 1) * 2 - 3) / 4
    (o,) = plait.optimize(y)
    assert len(o.dask) < len(y.dask)
    np.testing.assert_allclose(y.compute(), ((A + 1) * 2 - 3) / 4)


def test_from_array_of_non_numpy_source_with_lock():
    class Source:
        def __init__(self, data):
            self.data = data
            self.shape = data.shape
            self.dtype = data.dtype
            self.reads = 0

        def __getitem__(self, idx):
            self.reads += 1
            return self.data[idx]

    src = Source(A)
    x = da.from_array(src, chunks=(4, 5), lock=True)
    check(x, A, "threads")
    assert src.reads == 4


def test_default_scheduler_is_threads():
    import threading

    names = da.from_array(np.zeros(4), chunks=2).map_blocks(
        lambda b: np.full(b.shape, threading.current_thread().name.startswith("plait-threads"))
    ).compute()
    assert names.all()


@st.composite
def expressions(draw):
    shape = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    chunks = tuple(draw(st.integers(1, s)) for s in shape)
    data = np.arange(np.prod(shape), dtype=float).reshape(shape) / 7 - 1
    ops = draw(st.lists(st.sampled_from(["add", "mul", "sub", "sin", "abs", "max0", "pow2"]),
                        min_size=1, max_size=5))
    return data, chunks, ops


def apply(ops, x, mod):
    for op in ops:
        if op == "add":
            x = x + 1.5
        elif op == "mul":
            x = x * x
        elif op == "sub":
            x = 2 - x
        elif op == "sin":
            x = mod.sin(x)
        elif op == "abs":
            x = abs(x)
        elif op == "max0":
            x = mod.maximum(x, 0)
        elif op == "pow2":
            x = x ** 2
    return x


@settings(max_examples=60, deadline=None)
@given(expressions())
def test_random_elementwise_expressions_match_numpy(case):
    data, chunks, ops = case
    got = apply(ops, da.from_array(data, chunks=chunks), np).compute()
    np.testing.assert_allclose(got, apply(ops, data, np), rtol=1e-12)


def test_ufunc_reduce_and_accumulate_default_to_axis_0():
    data = np.arange(12.0).reshape(3, 4)
    x = da.from_array(data, chunks=2)
    np.testing.assert_array_equal(np.add.reduce(x).compute(), np.add.reduce(data))
    np.testing.assert_array_equal(np.multiply.accumulate(x).compute(), np.multiply.accumulate(data))
    np.testing.assert_array_equal(np.add.reduce(x, axis=1).compute(), data.sum(axis=1))


def test_matmul_ufunc_and_gufuncs_are_not_elementwise():
    a, b = np.ones((3, 4)), np.arange(8.0).reshape(4, 2)
    x = da.from_array(b, chunks=2)
    np.testing.assert_allclose((a @ x).compute(), a @ b)
    np.testing.assert_allclose(np.matmul(da.from_array(a, chunks=2), x).compute(), a @ b)
    assert "matmul" not in da._ufunc.UFUNC_NAMES

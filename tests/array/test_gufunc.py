"""gufunc: apply_gufunc, gufunc and as_gufunc against NumPy on the same data."""

from __future__ import annotations

import numpy as np
import pytest

import plait.array as da
from plait.array.core import Array
from plait.array.gufunc import apply_gufunc, as_gufunc, gufunc, parse_signature

rng = np.random.default_rng(3)
A = rng.standard_normal((5, 4, 6))
B = rng.integers(-5, 5, (4, 6))


@pytest.fixture(params=["sync", "threads"])
def scheduler(request):
    return request.param


def check(result, expected, scheduler="sync"):
    expected = np.asarray(expected)
    assert isinstance(result, Array)
    assert result.shape == expected.shape
    assert result.dtype == expected.dtype
    got = np.asarray(result.compute(scheduler=scheduler))
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def mean_last(x):
    return np.mean(x, axis=-1)


def cumsum_last(x):
    return np.cumsum(x, axis=-1)


def min_max(x):
    return x.min(axis=-1), x.max(axis=-1)


def test_parse_signature():
    assert parse_signature("(i),(i)->()") == ([("i",), ("i",)], [()])
    assert parse_signature("()->()") == ([()], [()])
    assert parse_signature("(m, n) -> (n, m)") == ([("m", "n")], [("n", "m")])
    for bad in ["(i)", "(i)->(", "i->()", "(i),->()", 3]:
        with pytest.raises(ValueError, match="signature"):
            parse_signature(bad)


@pytest.mark.parametrize("chunks", [(5, 4, 6), (2, 3, 6), ((1, 4), (4,), (6,))])
def test_reduce_over_core_dim(chunks, scheduler):
    x = da.from_array(A, chunks=chunks)
    check(apply_gufunc(mean_last, "(i)->()", x), A.mean(-1), scheduler)
    y = apply_gufunc(mean_last, "(i)->()", x, keepdims=True)
    check(y, A.mean(-1, keepdims=True), scheduler)
    i = da.from_array(B, chunks=(3, 6))
    check(apply_gufunc(np.sum, "(i)->()", i, vectorize=True), B.sum(-1), scheduler)


def test_axis_and_axes_move_core_dims(scheduler):
    x = da.from_array(A, chunks=(5, 4, 3))
    check(apply_gufunc(mean_last, "(i)->()", x, axis=0), A.mean(0), scheduler)
    check(apply_gufunc(mean_last, "(i)->()", x, axis=1, keepdims=True),
          A.mean(1, keepdims=True), scheduler)
    check(apply_gufunc(mean_last, "(i)->()", x, axes=[(1,)]), A.mean(1), scheduler)
    check(apply_gufunc(cumsum_last, "(i)->(i)", x, axes=[0, 0], axis=None),
          np.cumsum(A, axis=0), scheduler)
    with pytest.raises(ValueError, match=r"axis 2 of input 0\) is split"):
        apply_gufunc(mean_last, "(i)->()", x, axis=-1)
    with pytest.raises(ValueError, match="one of axis= and axes="):
        apply_gufunc(mean_last, "(i)->()", x, axis=0, axes=[(0,)])


@pytest.mark.parametrize("chunks", [(5, 4, 6), (2, 1, 6)])
def test_two_inputs_broadcast_loop_dims(chunks, scheduler):
    x = da.from_array(A, chunks=chunks)
    i = da.from_array(B, chunks=(3, 6))

    def inner(a, b):
        return np.einsum("...i,...i->...", a, b)

    check(apply_gufunc(inner, "(i),(i)->()", x, i), np.einsum("...i,...i->...", A, B),
          scheduler)
    col = da.from_array(B[:1], chunks=1)  # (1, 6): a loop dim of length 1 broadcasts
    col = col.rechunk((1, 6))
    check(apply_gufunc(inner, "(i),(i)->()", x, col), np.einsum("...i,...i->...", A, B[:1]),
          scheduler)


def test_core_to_core_and_new_dims(scheduler):
    x = da.from_array(A, chunks=(2, 3, 6))
    check(apply_gufunc(np.sort, "(i)->(i)", x), np.sort(A, -1), scheduler)

    def outer_self(a):
        return a[..., :, None] * a[..., None, :]

    check(apply_gufunc(outer_self, "(i)->(i,j)", x, output_sizes={"j": 6}), outer_self(A),
          scheduler)

    def tile3(a):
        return np.repeat(a[..., None], 3, axis=-1)

    check(apply_gufunc(tile3, "()->(k)", x, output_sizes={"k": 3}), tile3(A), scheduler)
    with pytest.raises(ValueError, match="output_sizes"):
        apply_gufunc(tile3, "()->(k)", x)


def test_two_outputs(scheduler):
    x = da.from_array(A, chunks=(2, 3, 6))
    lo, hi = apply_gufunc(min_max, "(i)->(),()", x)
    check(lo, A.min(-1), scheduler)
    check(hi, A.max(-1), scheduler)
    i = da.from_array(B, chunks=(3, 6))
    s, c = apply_gufunc(lambda b: (b.sum(-1), np.cumsum(b, -1)), "(i)->(),(i)", i,
                        output_dtypes=(B.dtype, B.dtype))
    check(s, B.sum(-1), scheduler)
    check(c, np.cumsum(B, -1), scheduler)
    with pytest.raises(ValueError, match="output_dtypes"):
        apply_gufunc(min_max, "(i)->(),()", x, output_dtypes=float)


def test_chunked_core_dim_is_an_error_unless_allowed(scheduler):
    x = da.from_array(A, chunks=(2, 2, 4))
    with pytest.raises(ValueError, match="allow_rechunk=True"):
        apply_gufunc(mean_last, "(i)->()", x)
    check(apply_gufunc(mean_last, "(i)->()", x, allow_rechunk=True), A.mean(-1), scheduler)


def test_validation_messages():
    x = da.from_array(A, chunks=(2, 2, 6))
    with pytest.raises(ValueError, match="takes 2 input"):
        apply_gufunc(mean_last, "(i),(i)->()", x)
    five = da.from_array(np.ones(5), chunks=5)
    with pytest.raises(ValueError, match="core dimension 'i' has length"):
        apply_gufunc(lambda a, b: a.sum(-1), "(i),(i)->()", x, five)
    with pytest.raises(ValueError, match="at least 2"):
        apply_gufunc(lambda a: a, "(i,j)->(i,j)", da.from_array(np.ones(3), chunks=3))
    three = da.from_array(np.ones((3, 6)), chunks=(3, 6))
    with pytest.raises(ValueError, match="do not broadcast"):
        apply_gufunc(lambda a, b: a, "(i),(i)->(i)", x, three)


def test_gufunc_class_and_decorator(scheduler):
    x = da.from_array(A, chunks=(2, 3, 6))
    g = gufunc(mean_last, signature="(i)->()")
    check(g(x), A.mean(-1), scheduler)
    assert "(i)->()" in g.__doc__ and "(i)->()" in repr(g)

    @as_gufunc(signature="(i)->(),()", output_dtypes=(float, float))
    def stats(b):
        return b.mean(axis=-1), b.std(axis=-1)

    m, s = stats(x)
    check(m, A.mean(-1), scheduler)
    check(s, A.std(-1), scheduler)
    chunked = da.from_array(A, chunks=2)
    with pytest.raises(ValueError, match="one chunk"):
        g(chunked)
    check(g(chunked, allow_rechunk=True), A.mean(-1), scheduler)

    @as_gufunc("(),()->()", vectorize=True, output_dtypes=int)
    def add(a, b):
        return a + b

    i = da.from_array(B, chunks=2)
    check(add(i, i), B + B, scheduler)
    with pytest.raises(ValueError, match="signature"):
        gufunc(mean_last)
    with pytest.raises(TypeError, match="unknown"):
        as_gufunc("(i)->()", bogus=1)

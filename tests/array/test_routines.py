"""routines: manipulation and element-wise helpers against NumPy on the same data."""

from __future__ import annotations

import numpy as np
import pytest

import plait.array as da
from plait.array import routines as r
from plait.array.core import Array

SCHEDULERS = ["sync", "threads"]
rng = np.random.default_rng(7)
A = rng.standard_normal((4, 5, 6))
B = rng.integers(-9, 9, (4, 5, 6))
CHUNKINGS = [(4, 5, 6), (2, 2, 3), ((1, 3), (4, 1), (2, 3, 1)), 1]


def check(result, expected, scheduler="sync"):
    expected = np.asarray(expected)
    assert isinstance(result, Array)
    assert result.shape == expected.shape
    assert result.dtype == expected.dtype
    got = np.asarray(result.compute(scheduler=scheduler))
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_axis_shuffles(chunks, scheduler):
    x = da.from_array(A, chunks=chunks)
    check(r.transpose(x), A.T, scheduler)
    check(x.T, A.T, scheduler)
    check(x.transpose((1, 0, 2)), A.transpose((1, 0, 2)), scheduler)
    check(x.transpose(2, 0, 1), A.transpose(2, 0, 1), scheduler)
    check(x.transpose(), A.transpose(), scheduler)
    check(r.transpose(x, (-1, 0, 1)), np.transpose(A, (-1, 0, 1)), scheduler)
    check(r.swapaxes(x, 0, -1), np.swapaxes(A, 0, -1), scheduler)
    check(x.swapaxes(1, 2), A.swapaxes(1, 2), scheduler)
    check(r.moveaxis(x, 0, -1), np.moveaxis(A, 0, -1), scheduler)
    check(r.moveaxis(x, (0, 1), (2, 0)), np.moveaxis(A, (0, 1), (2, 0)), scheduler)
    assert r.transpose(x).chunks == tuple(reversed(x.chunks))
    with pytest.raises(ValueError, match="axes"):
        r.transpose(x, (0, 1))
    with pytest.raises(ValueError, match="repeated axis"):
        r.transpose(x, (0, 0, 1))


@pytest.mark.parametrize("chunks", [1, 2, (1, 3, 1, 4, 1)])
def test_squeeze_and_expand_dims(chunks, scheduler):
    a = B.reshape(1, 4, 1, 30, 1)[..., :6, :].copy()  # (1, 4, 1, 6, 1)
    x = da.from_array(a, chunks=chunks)
    check(r.squeeze(x), np.squeeze(a), scheduler)
    check(x.squeeze(axis=2), a.squeeze(axis=2), scheduler)
    check(r.squeeze(x, axis=(0, -1)), np.squeeze(a, axis=(0, -1)), scheduler)
    with pytest.raises(ValueError, match="size not equal to one"):
        r.squeeze(x, axis=1)
    y = da.from_array(A, chunks=2)
    for axis in [0, -1, 2, (0, 2), (-1, 1)]:
        check(r.expand_dims(y, axis), np.expand_dims(A, axis), scheduler)


def test_atleast():
    for a in [np.float64(3.0), np.arange(4), np.arange(6).reshape(2, 3), A]:
        x = da.asarray(a) if a.ndim == 0 else da.from_array(a, chunks=2)
        check(r.atleast_1d(x), np.atleast_1d(a))
        check(r.atleast_2d(x), np.atleast_2d(a))
        check(r.atleast_3d(x), np.atleast_3d(a))
    both = r.atleast_2d(da.from_array(np.arange(3), chunks=2), da.asarray(5))
    assert isinstance(both, tuple) and [b.shape for b in both] == [(1, 3), (1, 1)]


@pytest.mark.parametrize("chunks", [(5, 6), (2, 4), ((2, 3), (1, 5))])
def test_broadcast(chunks, scheduler):
    a = B[0]  # (5, 6)
    x = da.from_array(a, chunks=chunks)
    check(r.broadcast_to(x, (3, 5, 6)), np.broadcast_to(a, (3, 5, 6)), scheduler)
    col = da.from_array(a[:, :1], chunks=(chunks[0], 1))
    check(r.broadcast_to(col, (2, 5, 7)), np.broadcast_to(a[:, :1], (2, 5, 7)), scheduler)
    y = r.broadcast_to(x, (4, 5, 6), chunks=(1, 3, 2))
    assert y.chunks == ((1, 1, 1, 1), (3, 2), (2, 2, 2))
    check(y, np.broadcast_to(a, (4, 5, 6)), scheduler)
    with pytest.raises(ValueError, match="cannot broadcast"):
        r.broadcast_to(x, (5, 7))
    row = da.from_array(np.arange(6), chunks=4)
    p, q = r.broadcast_arrays(col, row)
    ep, eq = np.broadcast_arrays(a[:, :1], np.arange(6))
    check(p, ep, scheduler)
    check(q, eq, scheduler)
    assert p.chunks == q.chunks


@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_elementwise_helpers(chunks, scheduler):
    x = da.from_array(A, chunks=chunks)
    i = da.from_array(B, chunks=chunks)
    check(r.where(x > 0, x, 0), np.where(A > 0, A, 0), scheduler)
    check(r.where(i > 0, i, -1), np.where(B > 0, B, -1), scheduler)
    check(r.where(B > 0, i, 2.5), np.where(B > 0, B, 2.5), scheduler)
    check(r.where(i > 0, 1, x), np.where(B > 0, 1, A), scheduler)
    check(r.clip(x, -0.5, 0.5), np.clip(A, -0.5, 0.5), scheduler)
    check(x.clip(0), A.clip(0), scheduler)
    check(i.clip(max=3), B.clip(max=3), scheduler)
    check(r.round(x, 2), np.round(A, 2), scheduler)
    check(x.round(1), A.round(1), scheduler)
    check(r.around(i, -1), np.around(B, -1), scheduler)
    y = x + 1e-9 * (i % 2)
    check(r.isclose(x, y), np.isclose(A, A + 1e-9 * (B % 2)), scheduler)
    check(r.isclose(x, y, atol=0, rtol=0), np.isclose(A, A + 1e-9 * (B % 2), atol=0, rtol=0),
          scheduler)


def test_allclose_is_a_lazy_0d_bool():
    x = da.from_array(A, chunks=2)
    close = r.allclose(x, x + 1e-10)
    assert isinstance(close, Array) and close.shape == () and close.dtype == bool
    assert bool(close.compute()) is True
    assert bool(r.allclose(x, x + 1)) is False
    nan = da.from_array(np.array([np.nan, 1.0]), chunks=1)
    assert bool(r.allclose(nan, nan)) is False
    assert bool(r.allclose(nan, nan, equal_nan=True)) is True
    assert bool(np.allclose(x, A)) is True


def test_complex_parts_and_nan_to_num(scheduler):
    c = A + 1j * B
    z = da.from_array(c, chunks=2)
    check(r.real(z), np.real(c), scheduler)
    check(r.imag(z), np.imag(c), scheduler)
    check(z.real, c.real, scheduler)
    check(z.imag, c.imag, scheduler)
    check(r.conj(z), np.conj(c), scheduler)
    check(z.conj(), c.conj(), scheduler)
    check(r.real(da.from_array(B, chunks=2)), np.real(B), scheduler)
    f = np.array([[np.nan, np.inf, -np.inf, 1.0]] * 3)
    x = da.from_array(f, chunks=(2, 3))
    check(r.nan_to_num(x), np.nan_to_num(f), scheduler)
    check(r.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-9.0),
          np.nan_to_num(f, nan=-1.0, posinf=9.0, neginf=-9.0), scheduler)
    assert np.isnan(f[0, 0])  # the source is not changed in place


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_stack(axis, scheduler):
    x = da.from_array(A, chunks=2)
    y = da.from_array(B, chunks=((3, 1), (1, 4), (6,)))
    check(r.concatenate([x, y, x], axis=axis), np.concatenate([A, B, A], axis=axis), scheduler)
    check(r.stack([x, y], axis=axis), np.stack([A, B], axis=axis), scheduler)
    check(r.stack([y, y, y], axis=3), np.stack([B, B, B], axis=3), scheduler)
    check(r.concatenate([x, y], axis=None), np.concatenate([A, B], axis=None), scheduler)
    check(r.stack([x, y], axis=axis, dtype=np.float32),
          np.stack([A, B], axis=axis, dtype=np.float32), scheduler)
    with pytest.raises(TypeError, match="Cannot cast"):
        r.concatenate([x, y], axis=axis, dtype=int)
    i8 = B.astype(np.int8)
    check(r.concatenate([da.from_array(i8, chunks=3), da.from_array(i8, chunks=2)], axis),
          np.concatenate([i8, i8], axis=axis), scheduler)


def test_concatenate_is_block_level():
    x = da.from_array(np.arange(10), chunks=3)
    y = da.from_array(np.arange(5), chunks=5)
    z = r.concatenate([x, y])
    assert z.chunks == ((3, 3, 3, 1, 5),)
    from plait.graph import Alias

    assert all(type(n) is Alias for n in z._layer.values())
    check(z, np.concatenate([np.arange(10), np.arange(5)]))
    with pytest.raises(ValueError, match="same number of dimensions"):
        r.concatenate([x, da.from_array(A, chunks=2)])
    with pytest.raises(ValueError, match="must match exactly"):
        r.concatenate([da.from_array(A, chunks=2), da.from_array(B[:, :3], chunks=2)], axis=0)
    with pytest.raises(ValueError, match="zero-dimensional"):
        r.concatenate([da.asarray(1.0), da.asarray(2.0)])
    with pytest.raises(ValueError, match="same shape"):
        r.stack([x, y])


def test_block(scheduler):
    a, b = np.ones((2, 2)), np.zeros((2, 3))
    c, d = np.arange(4.0).reshape(2, 2), np.full((2, 3), 7.0)
    xs = [da.from_array(m, chunks=1) for m in (a, b, c, d)]
    check(r.block([[xs[0], xs[1]], [xs[2], xs[3]]]), np.block([[a, b], [c, d]]), scheduler)
    v = da.from_array(np.arange(3), chunks=2)
    check(r.block([v, v]), np.block([np.arange(3), np.arange(3)]), scheduler)
    check(r.block([[v], [v]]), np.block([[np.arange(3)], [np.arange(3)]]), scheduler)
    with pytest.raises(ValueError, match="depths are mismatched"):
        r.block([[v], v])
    with pytest.raises(TypeError, match="tuple"):
        r.block((v, v))


def test_where_one_argument_is_nonzero():
    x = da.from_array(A, chunks=2)
    got = r.where(x > 0.5)
    expected = np.where(A > 0.5)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g.compute(), e)


def test_numpy_functions_dispatch_to_plait():
    x = da.from_array(A, chunks=2)
    i = da.from_array(B, chunks=2)
    for result, expected in [
        (np.transpose(x), A.T),
        (np.transpose(x, (2, 0, 1)), np.transpose(A, (2, 0, 1))),
        (np.swapaxes(x, 0, 1), A.swapaxes(0, 1)),
        (np.moveaxis(x, 0, 2), np.moveaxis(A, 0, 2)),
        (np.expand_dims(x, 1), np.expand_dims(A, 1)),
        (np.squeeze(np.expand_dims(x, 1)), A),
        (np.broadcast_to(x, (2, 4, 5, 6)), np.broadcast_to(A, (2, 4, 5, 6))),
        (np.where(x > 0, x, i), np.where(A > 0, A, B)),
        (np.clip(x, -1, 1), np.clip(A, -1, 1)),
        (np.round(x, 1), np.round(A, 1)),
        (np.isclose(x, A), np.isclose(A, A)),
        (np.concatenate([x, i]), np.concatenate([A, B])),
        (np.stack([x, i], axis=-1), np.stack([A, B], axis=-1)),
        (np.atleast_3d(i), np.atleast_3d(B)),
        (np.nan_to_num(x), np.nan_to_num(A)),
        (np.real(x), np.real(A)),
        (np.imag(x), np.imag(A)),
        (np.block([[x, i]]), np.block([[A, B]])),
    ]:
        assert isinstance(result, Array)
        check(result, expected)
    assert all(isinstance(a, Array) for a in np.broadcast_arrays(x, i))

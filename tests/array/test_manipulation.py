"""plait.array.manipulation against NumPy on the same data, under the sync and threads
schedulers, with even, uneven, single-block and one-element chunks, and empty arrays."""

from __future__ import annotations

import numpy as np
import pytest

import plait.array as da
from plait.array import manipulation as m
from plait.array.core import Array

SCHEDULERS = ["sync", "threads"]
rng = np.random.default_rng(11)
A2 = rng.standard_normal((7, 9))
I2 = rng.integers(-20, 20, (7, 9))
A3 = rng.standard_normal((4, 5, 6))
CHUNKS2 = [(3, 4), ((1, 6), (2, 6, 1)), (7, 9), 1]
CHUNKS1 = [4, ((1, 9, 3),), 13, 1]
V1 = rng.permutation(13).astype(float)


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


def check(result, expected, scheduler="sync", close=False):
    expected = np.asarray(expected)
    assert isinstance(result, Array)
    assert result.shape == expected.shape, (result.shape, expected.shape)
    assert result.dtype == expected.dtype, (result.dtype, expected.dtype)
    got = np.asarray(result.compute(scheduler=scheduler))
    assert got.shape == expected.shape and got.dtype == expected.dtype
    for axis, c in enumerate(result.chunks):
        assert sum(c) == expected.shape[axis]
    if close:
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_array_equal(got, expected)


# -- stacking and splitting ------------------------------------------------------------------

@pytest.mark.parametrize("chunks", CHUNKS2)
def test_stacks(chunks, scheduler):
    x = da.from_array(A2, chunks=chunks)
    check(m.hstack([x, A2]), np.hstack([A2, A2]), scheduler)
    check(m.vstack([x, x]), np.vstack([A2, A2]), scheduler)
    check(m.dstack([x, x]), np.dstack([A2, A2]), scheduler)
    check(np.vstack([x, x]), np.vstack([A2, A2]), scheduler)


def test_stacks_1d(scheduler):
    x = da.from_array(V1, chunks=4)
    check(m.hstack([x, x]), np.hstack([V1, V1]), scheduler)
    check(m.vstack([x, x]), np.vstack([V1, V1]), scheduler)
    check(m.dstack([x, x]), np.dstack([V1, V1]), scheduler)


@pytest.mark.parametrize("chunks", CHUNKS2)
@pytest.mark.parametrize("spec", [1, 3, 4, 7, 8, [2, 5], [0, 3, 3, 10], [-2], [5, 2]])
@pytest.mark.parametrize("axis", [0, 1])
def test_array_split(chunks, spec, axis):
    x = da.from_array(A2, chunks=chunks)
    got = m.array_split(x, spec, axis=axis)
    want = np.array_split(A2, spec, axis=axis)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        check(g, w)


def test_split(scheduler):
    x = da.from_array(A2, chunks=(3, 4))
    for g, w in zip(m.split(x, 3, axis=1), np.split(A2, 3, axis=1)):
        check(g, w, scheduler)
    for g, w in zip(np.split(x, [2, 4]), np.split(A2, [2, 4])):
        check(g, w, scheduler)
    with pytest.raises(ValueError, match="equal division"):
        m.split(x, 4, axis=1)
    with pytest.raises(ValueError, match="larger than 0"):
        m.array_split(x, 0)


# -- flip and roll ---------------------------------------------------------------------------

@pytest.mark.parametrize("chunks", CHUNKS2)
def test_flip(chunks, scheduler):
    x = da.from_array(A2, chunks=chunks)
    check(m.flip(x), np.flip(A2), scheduler)
    check(m.flip(x, 0), np.flip(A2, 0), scheduler)
    check(m.flip(x, (1,)), np.flip(A2, 1), scheduler)
    check(m.flipud(x), np.flipud(A2), scheduler)
    check(m.fliplr(x), np.fliplr(A2), scheduler)
    check(np.flip(x, -1), np.flip(A2, -1), scheduler)
    with pytest.raises(ValueError):
        m.fliplr(da.from_array(V1, chunks=4))


@pytest.mark.parametrize("chunks", CHUNKS2)
@pytest.mark.parametrize("shift,axis", [(1, 0), (-3, 1), (20, 1), (0, 0), (9, 1),
                                        ((1, 2), (0, 1)), ((2, 3), (1, 1)), (2, (0, 1))])
def test_roll(chunks, shift, axis, scheduler):
    x = da.from_array(A2, chunks=chunks)
    check(m.roll(x, shift, axis), np.roll(A2, shift, axis), scheduler)


def test_roll_1d_and_errors():
    for chunks in CHUNKS1:
        x = da.from_array(V1, chunks=chunks)
        for s in (0, 1, -4, 13, 30):
            check(m.roll(x, s), np.roll(V1, s))
    check(m.roll(da.from_array(np.zeros(0), chunks=1), 3), np.roll(np.zeros(0), 3))
    with pytest.raises(np.exceptions.AxisError):
        m.roll(da.from_array(A2, chunks=3), 1, axis=2)


@pytest.mark.parametrize("shift", [0, 1, -4, 13, 200, (2, 3)])
def test_roll_axis_none_flattens_like_numpy(shift, scheduler):
    for a in (A2, A3, np.zeros((3, 0))):
        for chunks in (3, (2, 5, 4)[: a.ndim], a.shape or 1):
            x = da.from_array(a, chunks=chunks)
            check(m.roll(x, shift), np.roll(a, shift), scheduler)
            check(np.roll(x, shift), np.roll(a, shift), scheduler)
    check(m.roll(da.from_array(np.array(5.0)), 2), np.roll(np.array(5.0), 2))


# -- pad ------------------------------------------------------------------------------------

PADS = [1, (2, 3), ((0, 2), (3, 0)), ((4, 9), (11, 1)), ((7, 7), (9, 9))]


@pytest.mark.parametrize("chunks", CHUNKS2)
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
@pytest.mark.parametrize("width", PADS)
def test_pad_modes(chunks, mode, width):
    x = da.from_array(I2, chunks=chunks)
    check(m.pad(x, width, mode=mode), np.pad(I2, width, mode=mode))


def test_pad_schedulers_and_values(scheduler):
    x = da.from_array(A2, chunks=((1, 6), (2, 6, 1)))
    w = ((2, 1), (3, 4))
    check(m.pad(x, w, constant_values=((1, 2), (3, 4))),
          np.pad(A2, w, constant_values=((1, 2), (3, 4))), scheduler)
    check(m.pad(x, w, mode="constant", constant_values=7.5),
          np.pad(A2, w, constant_values=7.5), scheduler)
    check(np.pad(x, w, mode="reflect"), np.pad(A2, w, mode="reflect"), scheduler)
    check(m.pad(x, w, mode="linear_ramp", end_values=((1, 2), (3, -4))),
          np.pad(A2, w, mode="linear_ramp", end_values=((1, 2), (3, -4))), scheduler,
          close=True)


@pytest.mark.parametrize("chunks", CHUNKS2)
@pytest.mark.parametrize("width", PADS)
def test_pad_linear_ramp(chunks, width):
    x = da.from_array(I2, chunks=chunks)
    check(m.pad(x, width, mode="linear_ramp", end_values=(5, -30)),
          np.pad(I2, width, mode="linear_ramp", end_values=(5, -30)))
    y = da.from_array(A2, chunks=chunks)
    check(m.pad(y, width, mode="linear_ramp"), np.pad(A2, width, mode="linear_ramp"),
          close=True)


def test_pad_1d_and_empty():
    for chunks in CHUNKS1:
        x = da.from_array(V1, chunks=chunks)
        for mode in ("edge", "reflect", "symmetric", "wrap", "constant"):
            check(m.pad(x, (30, 2), mode=mode), np.pad(V1, (30, 2), mode=mode))
    e = np.zeros((0, 3))
    check(m.pad(da.from_array(e, chunks=2), 2), np.pad(e, 2))
    with pytest.raises(ValueError, match="empty axis"):
        m.pad(da.from_array(e, chunks=2), 1, mode="edge")


def test_pad_errors():
    x = da.from_array(A2, chunks=3)
    with pytest.raises(ValueError, match="not supported"):
        m.pad(x, 1, mode="median")
    with pytest.raises(ValueError, match="negative"):
        m.pad(x, -1)
    with pytest.raises(ValueError, match="unsupported keyword"):
        m.pad(x, 1, mode="edge", constant_values=3)
    with pytest.raises(NotImplementedError, match="reflect_type"):
        m.pad(x, 1, mode="reflect", reflect_type="odd")


# -- repeat and tile ----------------------------------------------------------------------------

@pytest.mark.parametrize("chunks", CHUNKS2)
@pytest.mark.parametrize("repeats", [0, 1, 3])
def test_repeat(chunks, repeats, scheduler):
    x = da.from_array(A2, chunks=chunks)
    check(m.repeat(x, repeats, axis=0), np.repeat(A2, repeats, axis=0), scheduler)
    check(x.repeat(repeats, axis=-1), np.repeat(A2, repeats, axis=-1), scheduler)
    check(m.repeat(x, repeats), np.repeat(A2, repeats), scheduler)


def test_repeat_errors():
    x = da.from_array(V1, chunks=4)
    with pytest.raises(NotImplementedError):
        m.repeat(x, [1, 2])
    with pytest.raises(ValueError, match="negative"):
        m.repeat(x, -1)


@pytest.mark.parametrize("chunks", CHUNKS2)
@pytest.mark.parametrize("reps", [1, 2, 0, (2, 1), (1, 3), (2, 0), (2, 1, 2)])
def test_tile(chunks, reps, scheduler):
    x = da.from_array(A2, chunks=chunks)
    check(m.tile(x, reps), np.tile(A2, reps), scheduler)
    check(m.tile(da.from_array(V1, chunks=4), reps), np.tile(V1, reps), scheduler)


# -- triangles ---------------------------------------------------------------------------------

@pytest.mark.parametrize("chunks", CHUNKS2)
@pytest.mark.parametrize("k", [-8, -2, 0, 1, 3, 9])
def test_triu_tril(chunks, k, scheduler):
    x = da.from_array(A2, chunks=chunks)
    check(m.triu(x, k), np.triu(A2, k), scheduler)
    check(m.tril(x, k), np.tril(A2, k), scheduler)
    y = da.from_array(A3, chunks=(2, 2, 4))
    check(np.triu(y, k), np.triu(A3, k), scheduler)
    check(np.tril(y, k), np.tril(A3, k), scheduler)
    with pytest.raises(ValueError, match="2 dimensions"):
        m.triu(da.from_array(V1, chunks=4))


# -- top-k ---------------------------------------------------------------------------------------

DISTINCT = rng.permutation(63).reshape(7, 9).astype(float)


def _np_topk(a, k, axis):
    order = np.argsort(a, axis=axis)
    n = a.shape[axis]
    picks = np.arange(n - 1, n - 1 - k, -1) if k > 0 else np.arange(-k)
    idx = np.take(order, picks, axis=axis)
    return np.take_along_axis(a, idx, axis=axis), idx


@pytest.mark.parametrize("chunks", CHUNKS2)
@pytest.mark.parametrize("k", [1, 3, 7, -1, -4, -7])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_topk(chunks, k, axis, scheduler):
    x = da.from_array(DISTINCT, chunks=chunks)
    if abs(k) > DISTINCT.shape[axis]:
        return
    values, index = _np_topk(DISTINCT, k, axis)
    check(m.topk(x, k, axis=axis), values, scheduler)
    check(m.argtopk(x, k, axis=axis, split_every=2), index.astype(np.intp), scheduler)
    check(x.topk(k, axis=axis), values, scheduler)
    check(x.argtopk(k, axis=axis), index.astype(np.intp), scheduler)


def test_topk_1d_ints_and_errors():
    data = rng.permutation(100) - 50
    x = da.from_array(data, chunks=((3, 0, 40, 57),))
    check(m.topk(x, 5, split_every=2), np.sort(data)[::-1][:5])
    check(m.topk(x, -5), np.sort(data)[:5])
    check(m.argtopk(x, 5), np.argsort(data)[::-1][:5].astype(np.intp))
    with pytest.raises(ValueError, match="k=0"):
        m.topk(x, 0)
    with pytest.raises(ValueError, match="at most"):
        m.topk(x, 101)


# -- sort -------------------------------------------------------------------------------------

def test_sort(scheduler):
    x = da.from_array(A2, chunks=(3, 9))
    check(m.sort(x), np.sort(A2), scheduler)
    check(np.sort(x, axis=-1), np.sort(A2, axis=-1), scheduler)
    check(m.sort(da.from_array(A2, chunks=(7, 2)), axis=0), np.sort(A2, axis=0), scheduler)
    for chunks in CHUNKS2:  # axes split over blocks are gathered
        y = da.from_array(A2, chunks=chunks)
        for axis in (0, 1, None):
            check(m.sort(y, axis=axis), np.sort(A2, axis=axis), scheduler)
    rec = np.array([(2, 1.0), (1, 5.0), (2, 0.5)], dtype=[("a", int), ("b", float)])
    check(m.sort(da.from_array(rec, chunks=2), order=["a", "b"]), np.sort(rec, order=["a", "b"]))
    check(m.sort(da.from_array(np.zeros((0, 3)), chunks=2), axis=0), np.zeros((0, 3)))


# -- diff and gradient ------------------------------------------------------------------------

@pytest.mark.parametrize("chunks", CHUNKS2)
@pytest.mark.parametrize("n", [0, 1, 2, 5])
@pytest.mark.parametrize("axis", [0, -1])
def test_diff(chunks, n, axis, scheduler):
    x = da.from_array(I2, chunks=chunks)
    check(m.diff(x, n=n, axis=axis), np.diff(I2, n=n, axis=axis), scheduler)
    b = I2 > 0
    check(m.diff(da.from_array(b, chunks=chunks), n=n, axis=axis), np.diff(b, n=n, axis=axis),
          scheduler)


def test_diff_prepend_append_and_errors():
    x = da.from_array(A2, chunks=(3, 4))
    check(m.diff(x, prepend=0, append=A2[:, :2]), np.diff(A2, prepend=0, append=A2[:, :2]))
    check(np.diff(x, axis=0, append=1.5), np.diff(A2, axis=0, append=1.5))
    check(m.diff(x, n=12), np.diff(A2, n=12))
    with pytest.raises(ValueError, match="non-negative"):
        m.diff(x, n=-1)


@pytest.mark.parametrize("chunks", CHUNKS2)
@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient(chunks, edge_order, scheduler):
    x = da.from_array(A2, chunks=chunks)
    got = m.gradient(x, edge_order=edge_order)
    want = np.gradient(A2, edge_order=edge_order)
    for g, w in zip(got, want):
        check(g, w, scheduler, close=True)
    check(m.gradient(x, 0.5, axis=1, edge_order=edge_order),
          np.gradient(A2, 0.5, axis=1, edge_order=edge_order), scheduler, close=True)
    y = da.from_array(I2, chunks=chunks)
    for g, w in zip(np.gradient(y, 2.0, 3.0), np.gradient(I2, 2.0, 3.0)):
        check(g, w, scheduler, close=True)


def test_gradient_1d_and_errors():
    for chunks in CHUNKS1:
        check(m.gradient(da.from_array(V1, chunks=chunks)), np.gradient(V1), close=True)
    f32 = V1.astype(np.float32)
    check(m.gradient(da.from_array(f32, chunks=4)), np.gradient(f32))
    with pytest.raises(ValueError, match="too small"):
        m.gradient(da.from_array(np.ones(2), chunks=1), edge_order=2)
    with pytest.raises(ValueError, match="edge_order"):
        m.gradient(da.from_array(V1, chunks=4), edge_order=3)
    # Coordinate arrays (uneven and even spacing) follow NumPy; edge_order=2 with them
    # is not supported.
    coords = np.cumsum(np.linspace(0.5, 2.0, len(V1)))
    np.testing.assert_allclose(m.gradient(da.from_array(V1, chunks=4), coords).compute(),
                               np.gradient(V1, coords))
    np.testing.assert_allclose(
        m.gradient(da.from_array(V1, chunks=4), np.arange(len(V1)) * 2.0).compute(),
        np.gradient(V1, np.arange(len(V1)) * 2.0))
    with pytest.raises(NotImplementedError, match="edge_order=1"):
        m.gradient(da.from_array(V1, chunks=4), coords, edge_order=2)
    with pytest.raises(TypeError):
        m.gradient(da.from_array(A2, chunks=4), 1.0, 2.0, 3.0)


# -- isin ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("chunks", CHUNKS2)
def test_isin(chunks, scheduler):
    x = da.from_array(I2, chunks=chunks)
    tests = np.array([[-3, 0], [5, 19]])
    check(m.isin(x, tests), np.isin(I2, tests), scheduler)
    check(m.isin(x, da.from_array(tests, chunks=1), invert=True),
          np.isin(I2, tests, invert=True), scheduler)
    check(np.isin(x, [1, 2, 3]), np.isin(I2, [1, 2, 3]), scheduler)
    check(m.isin(x, []), np.isin(I2, []), scheduler)
    e = np.zeros((0, 4), int)
    check(m.isin(da.from_array(e, chunks=2), [0]), np.isin(e, [0]), scheduler)


def test_sort_flattened_and_pad_int_constant(scheduler):
    x = da.from_array(I2, chunks=(3, 4))
    check(m.sort(x, axis=None), np.sort(I2, axis=None), scheduler)
    check(m.pad(x, 2, constant_values=7.5), np.pad(I2, 2, constant_values=7.5), scheduler)
    check(m.pad(x, ((1, 2), (0, 3)), mode="linear_ramp", end_values=100),
          np.pad(I2, ((1, 2), (0, 3)), mode="linear_ramp", end_values=100), scheduler)


def test_unknown_chunks_error():
    x = da.from_array(V1, chunks=4)
    x._chunks = ((float("nan"),) * 4,)
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        m.diff(x)


def test_more_errors():
    x = da.from_array(V1, chunks=4)
    s0 = da.from_array(np.array(1.0), chunks=())
    with pytest.raises(ValueError, match="negative dimensions"):
        m.tile(x, -1)
    with pytest.raises(ValueError, match="at least one dimension"):
        m.topk(s0, 1)
    with pytest.raises(ValueError, match="no fields"):
        np.sort(V1, order="a")
    with pytest.raises(ValueError, match="no fields"):
        m.sort(x, order="a")
    with pytest.raises(ValueError, match="at least one dimensional"):
        m.diff(s0)
    with pytest.raises(ValueError, match=">= 1-d"):
        m.flipud(s0)
    with pytest.raises(ValueError, match="outside axis"):
        m._axis_range(x, 0, 3, 20)
    check(m.flip(s0), np.flip(np.array(1.0)))
    check(m.pad(x, ((0, 0),)), np.pad(V1, ((0, 0),)))

"""slicing: indexing of plait arrays against NumPy on the same data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plait.array as da
from plait.array import slicing
from plait.array.core import Array

SCHEDULERS = ["sync", "threads"]
rng = np.random.default_rng(11)
A = rng.integers(-50, 50, (7, 6, 5))
CHUNKINGS = [(7, 6, 5), (3, 2, 2), ((1, 4, 2), (5, 1), (2, 2, 1)), 1]


def check(result, expected, scheduler="sync"):
    expected = np.asarray(expected)
    assert isinstance(result, Array)
    assert result.shape == expected.shape, (result.shape, expected.shape)
    assert result.dtype == expected.dtype
    for c, n in zip(result.chunks, result.shape):
        assert sum(c) == n
    got = np.asarray(result.compute(scheduler=scheduler))
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


@pytest.fixture(params=CHUNKINGS, ids=["single", "even", "uneven", "ones"])
def x(request):
    return da.from_array(A, chunks=request.param)


BASIC_KEYS = [
    0, -1, 6, (slice(None), 2), (1, 2, 3), (-7, -6, -5), slice(2, 5), slice(None, None, -1),
    slice(6, 0, -2), slice(None, None, 3), (slice(1, None, 2), slice(None, 1, -1)),
    (Ellipsis, 1), (1, Ellipsis), (None, 1), (slice(None), None, slice(1, 3), None),
    (Ellipsis, None), (None, Ellipsis, None, slice(None, None, -3)), slice(5, 2),
    slice(100, 200), slice(-100, 100, 4), (slice(None), slice(4, 1, -1), 0), (),
    Ellipsis, (np.int64(3), slice(0, 0)), (0, 0, slice(None, None, -2)),
]


@pytest.mark.parametrize("key", BASIC_KEYS, ids=repr)
def test_basic_slicing(x, key, scheduler):
    check(x[key], A[key], scheduler)


@pytest.mark.parametrize("key", [7, -8, (0, 6), (0, 0, 5), (0, 0, -6)])
def test_out_of_bounds_int_raises_at_build_time(x, key):
    with pytest.raises(IndexError):
        A[key]
    with pytest.raises(IndexError):
        x[key]


@pytest.mark.parametrize("key", [(0, 0, 0, 0), (Ellipsis, Ellipsis), 1.5, "a"])
def test_invalid_keys_raise_index_error(key):
    x = da.from_array(A, chunks=3)
    with pytest.raises(IndexError):
        x[key]


def test_negative_step_chunks_are_reversed():
    x = da.from_array(np.arange(10), chunks=(3, 3, 4))
    y = x[::-1]
    assert y.chunks == ((4, 3, 3),)
    check(y, np.arange(10)[::-1])
    y = x[::-4]
    check(y, np.arange(10)[::-4])
    assert 0 not in y.chunks[0]


def test_empty_slice_gives_zero_length_axis():
    x = da.from_array(np.arange(10), chunks=3)
    y = x[5:5]
    assert y.chunks == ((0,),)
    check(y, np.arange(10)[5:5])


def test_scalar_result():
    x = da.from_array(A, chunks=2)
    y = x[1, 2, 3]
    assert y.shape == () and y.compute() == A[1, 2, 3]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_basic_keys_match_numpy(data):
    shape = data.draw(st.lists(st.integers(0, 6), min_size=1, max_size=3))
    arr = np.arange(math.prod(shape)).reshape(shape)
    chunks = tuple(data.draw(st.integers(1, max(n, 1))) for n in shape)
    x = da.from_array(arr, chunks=chunks)
    key = []
    for n in shape:
        kind = data.draw(st.sampled_from(["slice", "int", "none", "all"]))
        if kind == "int" and n > 0:
            key.append(data.draw(st.integers(-n, n - 1)))
        elif kind == "none":
            key.append(None)
            key.append(slice(None))
        elif kind == "slice":
            s = st.one_of(st.none(), st.integers(-n - 3, n + 3))
            step = data.draw(st.one_of(st.none(), st.integers(-4, 4).filter(bool)))
            key.append(slice(data.draw(s), data.draw(s), step))
        else:
            key.append(slice(None))
    key = tuple(key)
    if data.draw(st.booleans()) and key:
        key = key[:-1] + (Ellipsis,)
    check(x[key], arr[key])


# -- integer arrays ---------------------------------------------------------------------

@pytest.mark.parametrize("key", [
    [3, 0, 6, 0, -1], (slice(None), [5, 1, 1]), (Ellipsis, [4, 0, 3, 1]),
    (1, [2, 0]), (slice(None), 2, [1, 0]), (0, slice(None), [4, 1]), ([], ),
    (slice(1, None, -1), np.array([5, -6, 2])), (None, [0, 2], slice(None, None, -1)),
    np.array([[1]]).reshape(1), (slice(None), slice(None), np.arange(5)[::-1]),
], ids=repr)
def test_integer_array_index(x, key, scheduler):
    check(x[key], A[key], scheduler)


def test_int_and_array_separated_move_axis_to_front():
    x = da.from_array(A, chunks=2)
    key = (0, slice(None), [4, 1, 2])
    assert A[key].shape == (3, 6)
    check(x[key], A[key])


def test_unsorted_random_integer_indexing_plan():
    arr = rng.standard_normal(1000)
    x = da.from_array(arr, chunks=100)
    idx = rng.integers(-1000, 1000, 3000)
    y = x[idx]
    check(y, arr[idx], "threads")
    # Tasks: one take per (output chunk, source block touched) plus one reorder per chunk,
    # never one task per index; output chunks are about the input chunk size.
    assert max(y.chunks[0]) <= 100 and len(y.chunks[0]) == 30
    assert len(y._layer) <= 30 * 11


def test_sorted_integer_index_is_one_task_per_chunk():
    x = da.from_array(np.arange(100), chunks=10)
    y = x[np.arange(0, 100, 2)]
    assert len(y._layer) == 10
    check(y, np.arange(0, 100, 2))


def test_integer_array_out_of_bounds_raises():
    x = da.from_array(A, chunks=3)
    with pytest.raises(IndexError):
        x[[0, 7]]
    with pytest.raises(IndexError):
        x[:, [-7]]


def test_plait_integer_array_index(scheduler):
    x = da.from_array(A, chunks=(3, 2, 2))
    idx = np.array([6, 0, -1, 3, 3, 2, 5])
    i = da.from_array(idx, chunks=3)
    check(x[i], A[idx], scheduler)
    check(x[:, i[:4] % 6], A[:, idx[:4] % 6], scheduler)
    with pytest.raises(IndexError):
        x[da.from_array(np.array([9]), chunks=1)].compute()


FANCY_KEYS = [
    ([0, 2], [1, 3]),
    ([0, 6, -1], [5, 0, 2]),
    ([0, 2, 4], slice(None), [1, 2, 4]),  # separated by a slice: broadcast dims first
    (slice(None), [0, 2, 5], [1, 3, 4]),  # adjacent: they stay in place
    (np.array([[0, 1], [2, 3]]),),  # a 2-d integer array
    (slice(None), np.array([[0, 5], [2, 3]]), slice(1, None, -1)),
    ([0, 2, 4], 2, slice(None)),
    ([0, 2, 4], slice(None), 2),  # an int apart from the array: array first
    (2, slice(None), [0, 4, 1]),
    (None, [0, 2], [1, 3]),
    ([0, 2], None, [1, 3]),  # None between them: first
    (slice(None, None, -2), [1, 4], None, [[1], [2]]),  # broadcast to 2-d
    (Ellipsis, [1, 2], [0, 3]),
    ([4, -1, 0], slice(None, None, -1), [[-5], [3]]),
    ([], []),  # empty selections
    (np.zeros((0, 3), int), [0]),
    (A[:, :, 0] > 0, [1]),  # a 2-d NumPy mask with another array
    (slice(None), A[0] > 0),  # a 2-d NumPy mask after a slice
    ([[0], [1]], A[0, :, 0] > 3),
]


@pytest.mark.parametrize("key", FANCY_KEYS, ids=[repr(k)[:50] for k in FANCY_KEYS])
def test_several_array_indices_like_numpy(x, key, scheduler):
    check(x[key], A[key], scheduler)


def test_several_array_indices_errors_like_numpy():
    x = da.from_array(A, chunks=3)
    for key in [([0, 7], [1, 2]), ([0, -8], [1, 2]), ([0, 1], [1, 2, 3]),
                ([0], [1], [5]), (np.ones((7, 5), bool), [0])]:
        with pytest.raises(IndexError):
            A[key]
        with pytest.raises(IndexError):
            x[key]
    with pytest.raises(NotImplementedError, match="compute"):
        x[da.from_array(np.array([0, 1]), chunks=1), [1, 2]]


# -- boolean masks -------------------------------------------------------------------------

def test_numpy_bool_mask_along_axis(x, scheduler):
    m0 = A[:, 0, 0] > 0
    m2 = np.array([True, False, False, True, True])
    check(x[m0], A[m0], scheduler)
    check(x[:, :, m2], A[:, :, m2], scheduler)
    check(x[np.zeros(7, bool)], A[np.zeros(7, bool)], scheduler)
    assert not any(math.isnan(c) for c in x[m0].chunks[0])


def test_numpy_bool_full_mask_known_chunks(x, scheduler):
    m = A > 10
    y = x[m]
    assert not any(math.isnan(c) for c in y.chunks[0])
    check(y, A[m], scheduler)


def test_numpy_bool_mask_on_leading_axes(x, scheduler):
    m = A[:, :, 0] > 0
    y = x[m]
    assert not any(math.isnan(c) for c in y.chunks[0])
    check(y, A[m], scheduler)
    check(x[m, ...], A[m, ...], scheduler)


def test_plait_bool_mask_on_leading_axes(x, scheduler):
    m = x[:, :, 0] > 0
    _computed_unknown(x[m], A[A[:, :, 0] > 0], scheduler)


def test_bool_mask_wrong_length_raises():
    x = da.from_array(A, chunks=3)
    with pytest.raises(IndexError):
        x[np.array([True, False])]
    with pytest.raises(IndexError):
        x[da.from_array(np.array([True, False]), chunks=1)]
    with pytest.raises(IndexError):
        x[np.ones((7, 5), bool)]
    with pytest.raises(IndexError):
        x[:, np.ones((7, 5), bool)]
    check(x[:, np.ones((6, 5), bool)], A[:, np.ones((6, 5), bool)])
    with pytest.raises(IndexError):
        x[:, np.ones((6, 4), bool)]


def _computed_unknown(y, expected, scheduler):
    got = y.compute(scheduler=scheduler)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == expected.dtype


def test_plait_bool_full_mask_nan_chunks(x, scheduler):
    y = x[x > 10]
    assert y.ndim == 1 and all(math.isnan(c) for c in y.chunks[0])
    assert y.chunks == ((math.nan,) * x.numblocks[0],) or math.isnan(y.shape[0])
    _computed_unknown(y, A[A > 10], scheduler)


def test_plait_bool_1d_mask_along_axis(x, scheduler):
    m = da.from_array(A[0, :, 0] > 0, chunks=4)
    y = x[:, m]
    assert all(math.isnan(c) for c in y.chunks[1])
    assert y.chunks[0] == x.chunks[0] and y.chunks[2] == x.chunks[2]
    _computed_unknown(y, A[:, A[0, :, 0] > 0], scheduler)


def test_1d_plait_mask_chunks_are_nan():
    v = da.from_array(np.arange(10), chunks=5)
    assert str(v[v > 3].chunks) == "((nan, nan),)"


def test_compute_chunk_sizes_in_place(scheduler):
    arr = np.arange(20).reshape(10, 2)
    x = da.from_array(arr, chunks=(3, 1))
    m = da.from_array(arr[:, 0] % 3 == 0, chunks=4)
    y = x[m]
    assert math.isnan(y.shape[0])
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        y[1:3]
    z = y.compute_chunk_sizes()
    assert z is y
    assert y.chunks == ((1, 1, 1, 1), (1, 1))
    check(y, arr[arr[:, 0] % 3 == 0], scheduler)
    check(y[1:3], arr[arr[:, 0] % 3 == 0][1:3], scheduler)
    known = da.from_array(arr, chunks=3)
    assert slicing.compute_chunk_sizes(known) is known


def test_slice_none_on_unknown_axis_allowed():
    v = da.from_array(np.arange(10), chunks=5)
    y = v[v > 3][:, None]
    _computed_unknown(y, np.arange(4, 10)[:, None], "sync")


# -- functions -----------------------------------------------------------------------------

def test_take(x, scheduler):
    idx = [4, 0, -1, 2, 2]
    for axis in (0, 1, -1):
        check(da.take(x, idx, axis=axis) if hasattr(da, "take") else slicing.take(x, idx, axis),
              np.take(A, idx, axis=axis), scheduler)
    check(np.take(x, idx, axis=1), np.take(A, idx, axis=1), scheduler)
    check(slicing.take(x, [30, 1], axis=None), np.take(A, [30, 1]), scheduler)


def test_compress(x, scheduler):
    cond = [True, False, True, True]
    check(slicing.compress(cond, x, axis=0), np.compress(cond, A, axis=0), scheduler)
    check(np.compress(cond, x, axis=2), np.compress(cond, A, axis=2), scheduler)
    check(slicing.compress(cond, x), np.compress(cond, A), scheduler)
    with pytest.raises(IndexError):
        slicing.compress([True] * 8, x, axis=0)
    pc = da.from_array(np.array([True, False, True, False, False, True, True]), chunks=3)
    _computed_unknown(slicing.compress(pc, x, axis=0),
                      np.compress(pc.compute(), A, axis=0), scheduler)


@pytest.mark.parametrize("shape,chunks", [((10,), 3), ((10,), 10), ((4, 5), (3, 2)),
                                          ((3, 4, 2), 1), ((0,), 1)])
def test_nonzero_argwhere_where(shape, chunks, scheduler):
    arr = rng.integers(0, 3, shape)
    x = da.from_array(arr, chunks=chunks)
    got = slicing.nonzero(x)
    assert len(got) == len(shape)
    for g, e in zip(got, np.nonzero(arr)):
        assert math.isnan(g.shape[0]) or g.shape[0] == len(e)
        np.testing.assert_array_equal(g.compute(scheduler=scheduler), e)
    for g, e in zip(np.nonzero(x), np.nonzero(arr)):
        np.testing.assert_array_equal(g.compute(scheduler=scheduler), e)
    for g, e in zip(x.nonzero(), np.nonzero(arr)):
        np.testing.assert_array_equal(g.compute(scheduler=scheduler), e)
    for g, e in zip(slicing.where(x), np.where(arr)):
        np.testing.assert_array_equal(g.compute(scheduler=scheduler), e)
    aw = slicing.argwhere(x)
    assert aw.shape[1] == len(shape)
    _computed_unknown(aw, np.argwhere(arr), scheduler)
    _computed_unknown(np.argwhere(x), np.argwhere(arr), scheduler)
    assert aw.compute_chunk_sizes().shape == np.argwhere(arr).shape


def test_where_three_args_delegates():
    x = da.from_array(np.arange(6), chunks=4)
    check(slicing.where(x > 2, x, -x), np.where(np.arange(6) > 2, np.arange(6), -np.arange(6)))


# -- vindex --------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [
    ([0, 6, 3, 3], [5, 0, 1, 1], [0, 4, 2, 2]),
    ([-1, 0], [2, 3]),
    (np.array([[0, 1], [6, 5]]), np.array([[1], [2]])),
    (3, [1, 4, 0]),
    (slice(None), [0, 5, 2], [4, 3, 0]),
    ([2, 0, 5], slice(1, None, 2), [1, 1, 0]),
    ([], []),
    (2, 3, 4),
], ids=repr)
def test_vindex(x, key, scheduler):
    # NumPy's point-wise result: slices first, then the broadcast points select the
    # array-indexed axes moved to the front.
    sliced = A[tuple(k if isinstance(k, slice) else slice(None) for k in key)]
    arr_axes = [ax for ax, k in enumerate(key) if not isinstance(k, slice)]
    arrays = np.broadcast_arrays(*[np.asarray(key[ax], dtype=np.intp) for ax in arr_axes])
    moved = np.moveaxis(sliced, arr_axes, list(range(len(arr_axes))))
    expected = moved[tuple(arrays)]
    check(x.vindex[key], expected, scheduler)


def test_vindex_out_of_bounds_and_mismatch():
    x = da.from_array(A, chunks=3)
    with pytest.raises(IndexError):
        x.vindex[[0, 7], [0, 0]]
    with pytest.raises(IndexError):
        x.vindex[[0, 1], [0, 1, 2]]


def test_vindex_large_random_points():
    arr = rng.standard_normal((50, 40))
    x = da.from_array(arr, chunks=(7, 9))
    i = rng.integers(0, 50, 500)
    j = rng.integers(-40, 40, 500)
    check(x.vindex[i, j], arr[i, j], "threads")


# -- blocks --------------------------------------------------------------------------------

def test_blocks():
    arr = np.arange(70).reshape(7, 10)
    x = da.from_array(arr, chunks=((3, 4), (2, 3, 5)))
    check(x.blocks[0], arr[:3])
    check(x.blocks[1, 2], arr[3:, 5:])
    check(x.blocks[:, ::-1], np.concatenate([arr[:, 5:], arr[:, 2:5], arr[:, :2]], axis=1))
    check(x.blocks[[1, 0], [0, 2]], arr[np.ix_([3, 4, 5, 6, 0, 1, 2], [0, 1, 5, 6, 7, 8, 9])])
    check(x.blocks[..., -1], arr[:, 5:])
    assert x.blocks[:, 1:].chunks == ((3, 4), (3, 5))
    assert x.blocks.shape == (2, 3) and x.blocks.size == 6
    with pytest.raises(IndexError):
        x.blocks[2]
    with pytest.raises(IndexError):
        x.blocks[0, 0, 0]


def test_mixed_basic_and_one_advanced_index_exhaustive():
    # Every key of up to 3 entries from these options, with at most one array: NumPy's
    # placement rules (ints count as advanced next to an array) and errors.
    import itertools

    arr = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    x = da.from_array(arr, chunks=(3, 2, 4))
    opts = [0, -1, slice(None), slice(None, None, -2), None, [2, 0, 1],
            np.array([True, False, True, True])]
    checked = 0
    for n in range(1, 4):
        for key in itertools.product(opts, repeat=n):
            if sum(isinstance(k, (list, np.ndarray)) for k in key) > 1:
                continue
            try:
                expected = arr[key]
            except IndexError:
                with pytest.raises(IndexError):
                    x[key]
                continue
            check(x[key], expected)
            checked += 1
    assert checked > 100


def test_plait_integer_index_with_int_moves_axis_to_front(scheduler):
    idx = np.array([5, 0, 3])
    x = da.from_array(A, chunks=(3, 2, 2))
    check(x[0, :, da.from_array(idx % 5, chunks=2)], A[0, :, idx % 5], scheduler)


def test_unknown_chunks_block_basic_slicing_and_ints():
    v = da.from_array(np.arange(10), chunks=5)
    y = v[v > 3]
    for key in (0, slice(1, 2), [0]):
        with pytest.raises(ValueError, match="compute_chunk_sizes"):
            y[key]

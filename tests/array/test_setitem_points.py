"""Item assignment with the key forms that select scattered points or rows
(plait.array.setitem_points and the leading-axes masks of plait.array.setitem), each
compared with the same assignment on a NumPy copy, over uneven chunks, with NumPy and
plait values."""

import numpy as np
import pytest

import plait.array as da
from plait.array.setitem_points import selection_coords

A = np.arange(5 * 6 * 7, dtype=float).reshape(5, 6, 7)
M2 = A[:, :, 0] % 3 == 0
NNZ = int(M2.sum())
CHUNKS = [(2, 4, 3), ((1, 4), (6,), (2, 2, 3)), (5, 6, 7)]

CASES = [
    (([0, 2], [1, 3]), 9.0),
    (([0, 2], [1, 3]), np.arange(7.0)),
    (([0, 2, 0], [1, 3, 1]), np.arange(21.0).reshape(3, 7)),  # repeats: the last wins
    (([0, 4], slice(None), [1, 6]), np.arange(12.0).reshape(2, 6)),  # dimension first
    (([4, -1], slice(None, None, -2), [[-7], [3]]), np.arange(12.0).reshape(2, 2, 3)),
    ((np.array([[0, 1], [2, 3]]),), -1.0),  # 2-d integer array
    ((np.array([[0, 1], [2, 3]]), slice(None, None, -2)), np.arange(21.0).reshape(3, 7)),
    ((0, slice(None), [1, 2]), np.arange(12.0).reshape(2, 6)),  # int apart: array first
    ((M2,), 7.0),  # mask over the two leading axes
    ((M2,), np.arange(7.0)),  # one row for every selected row
    ((M2,), np.arange(NNZ * 7.0).reshape(NNZ, 7)),  # NumPy's one row per true element
    ((M2, Ellipsis), np.arange(7.0)),
    ((slice(None), A[0] > 10), 3.0),  # a 2-d mask after a slice
    ((slice(None), A[0] > 10), np.arange(5.0)[:, None]),
    ((A > 100,), np.arange(float((A > 100).sum()))),  # full mask, NumPy's value form
    ((None, slice(1, 3)), np.ones((1, 2, 6, 7))),  # None adds a length-1 axis
    ((slice(None), None, 2), np.arange(5.0)[:, None, None]),
    ((Ellipsis, None), 4.0),
    ((None, [1, 2]), 5.0),
    ((np.bool_(True),), 3.0),
    (([], []), 1.0),  # empty selection
    ((np.zeros((0, 2), int), [0]), 1.0),
]


@pytest.mark.parametrize("chunks", CHUNKS)
@pytest.mark.parametrize("key,value", CASES, ids=[repr(c[0])[:40] for c in CASES])
@pytest.mark.parametrize("plait_value", [False, True])
def test_assignment_matches_numpy(key, value, chunks, plait_value):
    if plait_value and np.ndim(value) == 0:
        pytest.skip("scalar value")
    expected = A.copy()
    expected[key] = value
    x = da.from_array(A, chunks=chunks)
    x[key] = da.from_array(np.asarray(value), chunks=2) if plait_value else value
    assert x.chunks == da.from_array(A, chunks=chunks).chunks
    np.testing.assert_array_equal(x.compute(), expected)


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_plait_mask_on_leading_axes(scheduler):
    x = da.from_array(A, chunks=(2, 4, 3))
    expected = A.copy()
    expected[expected[:, :, 0] > 50] = np.arange(7.0)
    x[x[:, :, 0] > 50] = da.arange(7.0, chunks=4)
    np.testing.assert_array_equal(x.compute(scheduler=scheduler), expected)
    x[x[:, :, 1] > 100] = -1
    expected[expected[:, :, 1] > 100] = -1
    np.testing.assert_array_equal(x.compute(scheduler=scheduler), expected)


def test_only_touched_blocks_get_tasks_and_old_array_is_kept():
    x = da.from_array(A, chunks=(1, 6, 7))
    before = x
    old = x + 0
    x[[0, 4], [1, 2], [3, 4]] = 0
    assert x is before  # rebound in place, like NumPy users expect
    layer = x.dask
    # Blocks 1..3 along axis 0 are aliases of the old blocks, not copies.
    assert sum(1 for k in layer if k[0] == x.name) == 5
    np.testing.assert_array_equal(old.compute(), A)


def test_errors_like_numpy():
    x = da.from_array(A, chunks=2)
    for key, value, exc in [
        (([0, 5], [1, 2]), 1, IndexError),  # out of bounds
        (([0, -6], [1, 2]), 1, IndexError),
        (([0, 1], [1, 2, 3]), 1, IndexError),  # shapes do not broadcast
        (([0, 1], [1, 2]), np.ones(3), ValueError),  # value does not fit
        ((M2[:4],), 1, IndexError),  # mask shape
        ((np.ones((5, 6), bool),), np.ones((3, 7)), ValueError),
        (([0, 1], [1, 2]), "text", ValueError),
    ]:
        with pytest.raises(exc):
            A.copy()[key] = value
        with pytest.raises(exc):
            x[key] = value
    np.testing.assert_array_equal(x.compute(), A)
    with pytest.raises(ValueError):
        x[[0, 1], [1, 2]] = da.ones(3, chunks=2)
    with pytest.raises(IndexError):
        x[da.ones((4, 6), dtype=bool, chunks=2)] = 1


def test_plait_mask_with_one_value_per_element_is_refused():
    x = da.from_array(A, chunks=2)
    with pytest.raises(ValueError):
        x[x > 100] = np.arange(float((A > 100).sum()))  # unknown count: Dask's rule


def test_selection_coords_follow_numpy():
    shape = (4, 5, 3)
    for key in [([0, 3], slice(None), [2, 1]), (slice(None, None, -1), None, [0, 2]),
                (np.ones((4, 5), bool),)]:
        coords = selection_coords(shape, key)
        grid = np.arange(60).reshape(shape)
        np.testing.assert_array_equal(grid[coords], grid[key])

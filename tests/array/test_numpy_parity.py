"""One sweep over the part-2 operations of plait.array against NumPy on the same data:
uneven chunks, a single block, and an empty array (zero rows), so that every operation
meets the awkward shapes at least once. Errors must match NumPy's exception type."""

from __future__ import annotations

import numpy as np
import pytest

import plait.array as da

rng = np.random.default_rng(3)
A = rng.integers(0, 20, (7, 9)).astype(float)
EMPTY = np.zeros((0, 9))
CHUNKINGS = {"even": (3, 4), "uneven": ((2, 5), (1, 8)), "single": -1}

OPS = {
    "concatenate": (lambda a: np.concatenate([a, a], 1), lambda a: da.concatenate([a, a], 1)),
    "stack": (lambda a: np.stack([a, a], 2), lambda a: da.stack([a, a], 2)),
    "hstack": (lambda a: np.hstack([a, a]), lambda a: da.hstack([a, a])),
    "vstack": (lambda a: np.vstack([a, a]), lambda a: da.vstack([a, a])),
    "dstack": (lambda a: np.dstack([a, a]), lambda a: da.dstack([a, a])),
    "block": (lambda a: np.block([[a, a], [a, a]]), lambda a: da.block([[a, a], [a, a]])),
    "split": (lambda a: np.split(a, [2, 5], 1), lambda a: da.split(a, [2, 5], 1)),
    "array_split": (lambda a: np.array_split(a, 4, 1), lambda a: da.array_split(a, 4, 1)),
    "pad_reflect": (lambda a: np.pad(a, ((1, 2), (0, 3)), mode="reflect"),
                    lambda a: da.pad(a, ((1, 2), (0, 3)), mode="reflect")),
    "pad_constant": (lambda a: np.pad(a, 2), lambda a: da.pad(a, 2)),
    "roll_flat": (lambda a: np.roll(a, 5), lambda a: da.roll(a, 5)),
    "roll_axis": (lambda a: np.roll(a, -3, 1), lambda a: da.roll(a, -3, 1)),
    "flip": (lambda a: np.flip(a), lambda a: da.flip(a)),
    "repeat": (lambda a: np.repeat(a, 3, 1), lambda a: da.repeat(a, 3, 1)),
    "repeat_flat": (lambda a: np.repeat(a, 2), lambda a: da.repeat(a, 2)),
    "tile": (lambda a: np.tile(a, (2, 3)), lambda a: da.tile(a, (2, 3))),
    "unique": (lambda a: np.unique(a), lambda a: da.unique(a)),
    "unique_counts": (lambda a: np.unique(a, return_counts=True),
                      lambda a: da.unique(a, return_counts=True)),
    "topk": (lambda a: -np.sort(-a, axis=1)[:, :3], lambda a: da.topk(a, 3, axis=1)),
    "topk_smallest": (lambda a: np.sort(a, axis=1)[:, :2], lambda a: da.topk(a, -2, axis=1)),
    "sort": (lambda a: np.sort(a, 0), lambda a: da.sort(a, 0)),
    "histogram": (lambda a: np.histogram(a, bins=5, range=(0, 20)),
                  lambda a: da.histogram(a, bins=5, range=(0, 20))),
    "histogram2d": (
        lambda a: np.histogram2d(a[:, 0], a[:, 1], bins=3, range=[[0, 20], [0, 20]])[0],
        lambda a: da.histogram2d(a[:, 0], a[:, 1], bins=3, range=[[0, 20], [0, 20]])[0]),
    "bincount": (lambda a: np.bincount(a.ravel().astype(int)),
                 lambda a: da.bincount(a.ravel().astype(int))),
    "digitize": (lambda a: np.digitize(a, [2, 5, 10]), lambda a: da.digitize(a, [2, 5, 10])),
    "searchsorted": (lambda a: np.searchsorted(np.arange(20.0), a.ravel()),
                     lambda a: da.searchsorted(da.arange(20.0, chunks=6), a.ravel())),
    "percentile_axis": (lambda a: np.percentile(a, [10, 50], axis=1),
                        lambda a: da.percentile(a, [10, 50], axis=1)),
    "diff": (lambda a: np.diff(a, 2, axis=1), lambda a: da.diff(a, 2, axis=1)),
    "diff_rows": (lambda a: np.diff(a, axis=0), lambda a: da.diff(a, axis=0)),
    "gradient": (lambda a: np.gradient(a, axis=1), lambda a: da.gradient(a, axis=1)),
    "isin": (lambda a: np.isin(a, [1, 5, 7]), lambda a: da.isin(a, [1, 5, 7])),
    "triu": (lambda a: np.triu(a, 1), lambda a: da.triu(a, 1)),
    "tril": (lambda a: np.tril(a, -2), lambda a: da.tril(a, -2)),
    "reshape": (lambda a: a.reshape(-1, 3), lambda a: a.reshape(-1, 3)),
    "reshape_split_axis": (lambda a: a.reshape(a.shape[0], 3, 3),
                           lambda a: a.reshape(a.shape[0], 3, 3)),
    "ravel": (lambda a: a.ravel(), lambda a: a.ravel()),
    "where_one_arg": (lambda a: np.where(a > 10), lambda a: da.where(a > 10)),
    "nonzero": (lambda a: np.nonzero(a > 10), lambda a: da.nonzero(a > 10)),
    "argwhere": (lambda a: np.argwhere(a > 10), lambda a: da.argwhere(a > 10)),
    "take": (lambda a: np.take(a, [0, -1, 3], axis=1), lambda a: da.take(a, [0, -1, 3], axis=1)),
    "compress": (lambda a: np.compress([True, False, True], a, axis=1),
                 lambda a: da.compress([True, False, True], a, axis=1)),
    "negative_steps": (lambda a: a[::-2, 7:1:-3], lambda a: a[::-2, 7:1:-3]),
    "empty_selection": (lambda a: a[3:3, [2, 1]], lambda a: a[3:3, [2, 1]]),
    "out_of_bounds_int": (lambda a: a[7], lambda a: a[7]),
    "out_of_bounds_array": (lambda a: a[:, [1, 9]], lambda a: a[:, [1, 9]]),
    "out_of_bounds_negative": (lambda a: a[:, [-10]], lambda a: a[:, [-10]]),
    "row_mask": (lambda a: a[a[:, 0] > 5], lambda a: a[a[:, 0] > 5]),
    "vindex": (lambda a: a[[0, 2, -1], [1, 3, 0]], lambda a: a.vindex[[0, 2, -1], [1, 3, 0]]),
    "two_arrays": (lambda a: a[[0, 2, -1], [1, 3, 0]], lambda a: a[[0, 2, -1], [1, 3, 0]]),
}


def _values(result):
    if isinstance(result, (tuple, list)):
        return [_values(r) for r in result]
    return np.asarray(result.compute() if hasattr(result, "compute") else result)


def _compare(got, expected):
    if isinstance(expected, (tuple, list)):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            _compare(g, e)
        return
    expected = np.asarray(expected)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("data", ["values", "empty"])
@pytest.mark.parametrize("chunking", list(CHUNKINGS))
@pytest.mark.parametrize("op", list(OPS))
def test_matches_numpy(op, chunking, data):
    fn_np, fn_da = OPS[op]
    a = A if data == "values" else EMPTY
    chunks = CHUNKINGS[chunking]
    if data == "empty" and chunking == "uneven":
        chunks = ((0,), (1, 8))
    x = da.from_array(a, chunks=chunks)
    try:
        expected = fn_np(a)
    except Exception as exc:  # NumPy refuses: plait must refuse the same way
        with pytest.raises(type(exc)):
            _values(fn_da(x))
        return
    _compare(_values(fn_da(x)), expected)

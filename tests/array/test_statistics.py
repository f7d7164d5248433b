"""plait.array.statistics against NumPy on the same data, under the sync and threads
schedulers, with even, uneven, single-block and one-element chunks, and empty arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

import plait.array as da
from plait.array import statistics as s
from plait.array.core import Array

SCHEDULERS = ["sync", "threads"]
rng = np.random.default_rng(5)
I2 = rng.integers(-5, 6, (7, 9))
F2 = rng.standard_normal((7, 9))
F1 = rng.standard_normal(50)
CHUNKS2 = [(3, 4), ((1, 6), (2, 6, 1)), (7, 9), 1]
CHUNKS1 = [7, ((1, 0, 30, 19),), 50, 1]


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


def check(result, expected, scheduler="sync", close=False, known=True):
    expected = np.asarray(expected)
    assert isinstance(result, Array)
    if known:
        assert result.shape == expected.shape, (result.shape, expected.shape)
    else:
        assert math.isnan(result.shape[0])
    assert result.dtype == expected.dtype, (result.dtype, expected.dtype)
    got = np.asarray(result.compute(scheduler=scheduler))
    assert got.shape == expected.shape and got.dtype == expected.dtype
    if close:
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_array_equal(got, expected)


# -- unique -------------------------------------------------------------------------------------

@pytest.mark.parametrize("chunks", CHUNKS2)
def test_unique(chunks, scheduler):
    x = da.from_array(I2, chunks=chunks)
    check(s.unique(x), np.unique(I2), scheduler, known=False)
    values, index, inverse, counts = s.unique(x, return_index=True, return_inverse=True,
                                              return_counts=True)
    w_values, w_index, w_inverse, w_counts = np.unique(
        I2, return_index=True, return_inverse=True, return_counts=True)
    check(values, w_values, scheduler, known=False)
    check(index, w_index.astype(np.intp), scheduler, known=False)
    check(inverse, w_inverse.astype(np.intp), scheduler)
    check(counts, w_counts.astype(np.intp), scheduler, known=False)
    v, c = np.unique(x, return_counts=True)
    check(c, w_counts.astype(np.intp), scheduler, known=False)


def test_unique_1d_many_blocks_and_empty():
    data = rng.integers(0, 30, 500)
    x = da.from_array(data, chunks=7)  # 72 blocks: a tree of merges
    v, i, c = s.unique(x, return_index=True, return_counts=True)
    wv, wi, wc = np.unique(data, return_index=True, return_counts=True)
    check(v, wv, known=False)
    check(i, wi.astype(np.intp), known=False)
    check(c, wc.astype(np.intp), known=False)
    e = np.zeros(0)
    check(s.unique(da.from_array(e, chunks=3)), np.unique(e), known=False)
    f = np.array([1.5, np.inf, -2.0, 1.5])
    check(s.unique(da.from_array(f, chunks=3)), np.unique(f), known=False)


# -- histograms ---------------------------------------------------------------------------------

@pytest.mark.parametrize("chunks", CHUNKS1)
@pytest.mark.parametrize("bins,range_", [(10, (-3, 3)), (4, (-1.0, 0.5)),
                                         (np.array([-2.0, -0.3, 0, 0.1, 4]), None),
                                         ([-1, 0, 1], (5, 6))])
def test_histogram(chunks, bins, range_, scheduler):
    x = da.from_array(F1, chunks=chunks)
    counts, edges = s.histogram(x, bins=bins, range=range_)
    want, want_edges = np.histogram(F1, bins=bins, range=range_)
    check(counts, want, scheduler)
    np.testing.assert_array_equal(edges, want_edges)
    w = np.abs(F1)
    counts, _ = s.histogram(x, bins=bins, range=range_, weights=da.from_array(w, chunks=13))
    check(counts, np.histogram(F1, bins=bins, range=range_, weights=w)[0], scheduler,
          close=True)
    dens, _ = np.histogram(x, bins=bins, range=range_, density=True)
    check(dens, np.histogram(F1, bins=bins, range=range_, density=True)[0], scheduler,
          close=True)


def test_histogram_2d_input_and_errors():
    x = da.from_array(F2, chunks=(3, 4))
    check(s.histogram(x, 5, range=(-1, 1))[0], np.histogram(F2, 5, range=(-1, 1))[0])
    check(s.histogram(da.from_array(np.zeros(0), chunks=1), 3, range=(0, 1))[0],
          np.histogram(np.zeros(0), 3, range=(0, 1))[0])
    with pytest.raises(ValueError, match="range="):
        s.histogram(x, 5)
    with pytest.raises(TypeError, match="known"):
        s.histogram(x, da.from_array(np.arange(3.0), chunks=1))
    with pytest.raises(ValueError, match="monotonically"):
        s.histogram(x, [0, 2, 1])
    with pytest.raises(ValueError, match="one shape"):
        s.histogram(x, 3, range=(0, 1), weights=np.ones(3))


@pytest.mark.parametrize("chunks", CHUNKS1)
def test_histogram2d_dd(chunks, scheduler):
    y = rng.standard_normal(50)
    z = rng.standard_normal(50)
    w = rng.random(50)
    x1 = da.from_array(F1, chunks=chunks)
    y1 = da.from_array(y, chunks=9)
    h, ex, ey = s.histogram2d(x1, y1, bins=4, range=[(-2, 2), (-1, 3)])
    wh, wex, wey = np.histogram2d(F1, y, bins=4, range=[(-2, 2), (-1, 3)])
    check(h, wh, scheduler)
    np.testing.assert_array_equal(ex, wex)
    np.testing.assert_array_equal(ey, wey)
    edges = [np.array([-3, 0, 3.0]), np.array([-1, 0, 0.5, 2])]
    h, _, _ = np.histogram2d(x1, y1, bins=edges, weights=w, density=True)
    check(h, np.histogram2d(F1, y, bins=edges, weights=w, density=True)[0], scheduler,
          close=True)
    h, e = s.histogramdd([x1, y1, da.from_array(z, chunks=50)], bins=[2, 3, edges[1]],
                         range=[(-2, 2), (-3, 3), None])
    wh, we = np.histogramdd(np.stack([F1, y, z], -1), bins=[2, 3, edges[1]],
                            range=[(-2, 2), (-3, 3), None])
    check(h, wh, scheduler)
    for a, b in zip(e, we):
        np.testing.assert_array_equal(a, b)
    sample = np.stack([F1, y], -1)
    rows = chunks[0] if isinstance(chunks, tuple) else chunks
    h, _ = s.histogramdd(da.from_array(sample, chunks=(rows, 1)), bins=3,
                         range=[(-2, 2), (-2, 2)], weights=w)
    check(h, np.histogramdd(sample, bins=3, range=[(-2, 2), (-2, 2)], weights=w)[0],
          scheduler, close=True)
    with pytest.raises(ValueError, match="dimension of bins"):
        s.histogramdd([x1, y1], bins=[2, 2, 2], range=[(0, 1)] * 3)


# -- bincount, digitize, searchsorted ----------------------------------------------------------

@pytest.mark.parametrize("chunks", CHUNKS1)
def test_bincount(chunks, scheduler):
    data = rng.integers(0, 12, 50)
    w = rng.random(50)
    x = da.from_array(data, chunks=chunks)
    check(s.bincount(x, minlength=15), np.bincount(data, minlength=15), scheduler)
    check(s.bincount(x), np.bincount(data), scheduler, known=False)
    check(np.bincount(x, weights=da.from_array(w, chunks=11), minlength=12),
          np.bincount(data, weights=w, minlength=12), scheduler, close=True)
    check(s.bincount(x, weights=w), np.bincount(data, weights=w), scheduler, close=True,
          known=False)


def test_bincount_errors_and_empty():
    x = da.from_array(np.array([0, 5, 9]), chunks=2)
    with pytest.raises(ValueError, match="minlength=4"):
        s.bincount(x, minlength=4).compute()
    with pytest.raises(ValueError, match="1-d"):
        s.bincount(da.from_array(I2, chunks=3))
    with pytest.raises(TypeError, match="integers"):
        s.bincount(da.from_array(F1, chunks=3))
    with pytest.raises(ValueError, match="negative"):
        s.bincount(x, minlength=-1)
    e = np.zeros(0, int)
    check(s.bincount(da.from_array(e, chunks=1), minlength=3), np.bincount(e, minlength=3))


@pytest.mark.parametrize("chunks", CHUNKS2)
@pytest.mark.parametrize("right", [False, True])
def test_digitize(chunks, right, scheduler):
    bins = np.array([-1.0, 0.0, 0.3, 2.0])
    x = da.from_array(F2, chunks=chunks)
    check(s.digitize(x, bins, right=right), np.digitize(F2, bins, right=right), scheduler)
    check(np.digitize(x, bins[::-1]), np.digitize(F2, bins[::-1]), scheduler)
    y = da.from_array(I2, chunks=chunks)
    check(s.digitize(y, [-2, 0, 2], right=right), np.digitize(I2, [-2, 0, 2], right=right),
          scheduler)
    with pytest.raises(ValueError, match="1-dimensional"):
        s.digitize(x, np.ones((2, 2)))


@pytest.mark.parametrize("chunks", CHUNKS2)
@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted(chunks, side, scheduler):
    a = np.array([-4, -1, 0, 0, 2, 5])
    v = da.from_array(I2, chunks=chunks)
    check(s.searchsorted(a, v, side=side), np.searchsorted(a, I2, side=side), scheduler)
    check(s.searchsorted(da.from_array(a, chunks=6), v, side=side),
          np.searchsorted(a, I2, side=side), scheduler)
    check(np.searchsorted(da.from_array(a, chunks=4), v, side=side),
          np.searchsorted(a, I2, side=side), scheduler)
    unsorted = np.array([3, -2, 9, 0])
    sorter = np.argsort(unsorted)
    check(s.searchsorted(unsorted, v, side=side, sorter=sorter),
          np.searchsorted(unsorted, I2, side=side, sorter=sorter), scheduler)


def test_searchsorted_errors():
    with pytest.raises(ValueError, match="1-d"):
        s.searchsorted(np.ones((2, 2)), da.from_array(F1, chunks=5))
    with pytest.raises(ValueError, match="side"):
        s.searchsorted(np.ones(2), da.from_array(F1, chunks=5), side="middle")


# -- percentiles ----------------------------------------------------------------------------------

@pytest.mark.parametrize("chunks", CHUNKS2)
@pytest.mark.parametrize("q", [50, [0, 25, 99.5, 100], 12.5])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_percentile(chunks, q, axis, scheduler):
    x = da.from_array(F2, chunks=chunks)
    check(s.percentile(x, q, axis=axis), np.percentile(F2, q, axis=axis), scheduler,
          close=True)
    qq = np.asarray(q) / 100
    check(np.quantile(x, qq, axis=axis), np.quantile(F2, qq, axis=axis), scheduler,
          close=True)
    if axis is not None:
        check(s.percentile(x, q, axis=axis, keepdims=True),
              np.percentile(F2, q, axis=axis, keepdims=True), scheduler, close=True)


@pytest.mark.parametrize("method", ["lower", "higher", "nearest", "midpoint", "linear"])
def test_percentile_methods_and_ints(method):
    x = da.from_array(I2, chunks=(3, 4))
    check(s.percentile(x, [10, 90], axis=0, method=method),
          np.percentile(I2, [10, 90], axis=0, method=method))
    check(s.quantile(x, 0.3, method=method), np.quantile(I2, 0.3, method=method))
    for chunks in CHUNKS1:
        y = da.from_array(F1, chunks=chunks)
        check(s.quantile(y, [0.1, 0.7], method=method),
              np.quantile(F1, [0.1, 0.7], method=method), close=True)


def test_nanpercentile(scheduler):
    data = F2.copy()
    data[data > 1] = np.nan
    x = da.from_array(data, chunks=(3, 4))
    check(s.nanpercentile(x, [20, 80], axis=1), np.nanpercentile(data, [20, 80], axis=1),
          scheduler, close=True)
    check(np.nanquantile(x, 0.5), np.nanquantile(data, 0.5), scheduler, close=True)


def test_percentile_errors():
    x = da.from_array(F2, chunks=3)
    with pytest.raises(ValueError, match=r"\[0, 100\]"):
        s.percentile(x, 101)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        s.quantile(x, -0.1)
    with pytest.raises(NotImplementedError, match="one axis"):
        s.quantile(x, 0.5, axis=(0, 1))
    with pytest.raises(ValueError, match="1-d"):
        s.quantile(x, [[0.5]])


def test_histogramdd_one_dim_and_int_weights(scheduler):
    x = da.from_array(F1, chunks=7)
    h, e = s.histogramdd([x], bins=4, range=[(-2, 2)])
    wh, we = np.histogramdd(F1[:, None], bins=4, range=[(-2, 2)])
    check(h, wh, scheduler)
    iw = rng.integers(0, 5, 50)
    h, _, _ = s.histogram2d(x, x, bins=3, range=[(-1, 1), (-1, 1)], weights=iw)
    check(h, np.histogram2d(F1, F1, bins=3, range=[(-1, 1), (-1, 1)], weights=iw)[0],
          scheduler)
    h, _ = s.histogram(x, bins=3, range=(-1, 1), weights=iw)
    check(h, np.histogram(F1, bins=3, range=(-1, 1), weights=iw)[0], scheduler)


def test_unique_0d():
    check(s.unique(da.from_array(np.array(3), chunks=())), np.unique(np.array(3)),
          known=False)


def test_more_errors_and_edges():
    y = da.from_array(F1, chunks=7)
    check(s.quantile(y, 0.3, keepdims=True), np.quantile(F1, 0.3, keepdims=True), close=True)
    check(s.quantile(y, [0.3, 0.9], keepdims=True),
          np.quantile(F1, [0.3, 0.9], keepdims=True), close=True)
    for q in (0.5, [0.1, 0.5]):
        check(s.quantile(da.from_array(F2, chunks=3), q, keepdims=True),
              np.quantile(F2, q, keepdims=True), close=True)
    with pytest.raises(ValueError, match="positive integer"):
        s.histogram(y, 0, range=(0, 1))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        s.histogramdd(y, bins=2, range=[(0, 1)])
    h, ex, ey = s.histogram2d(y, y, bins=np.array([-1.0, 0, 0.5, 1]))
    wh, wex, wey = np.histogram2d(F1, F1, bins=np.array([-1.0, 0, 0.5, 1]))
    check(h, wh)
    with pytest.raises(ValueError, match="weights have shape"):
        s.bincount(da.from_array(np.arange(3), chunks=2), weights=np.ones(4))
    check(s.digitize(y, da.from_array(np.array([0.0, 1.0]), chunks=1)),
          np.digitize(F1, [0.0, 1.0]))

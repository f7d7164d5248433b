"""plait.array.quantiles: exact answers where the data is gathered (compared with NumPy
exactly), and the documented rank-error bound of the sketch merge on large multi-block
input (compared with NumPy's exact answer and with the rank the estimate has in the
data)."""

import numpy as np
import pytest

import plait
import plait.array as da
from plait.array import quantiles as qm

RNG = np.random.default_rng(5)
LEVEL_STEP = 1 / (len(qm._LEVELS) - 1)
QS = np.array([0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0])


def _rank_error(data: np.ndarray, values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """How far the fraction of the data below each estimate is from its q (a value
    inside a run of ties counts as any rank within the run)."""
    s = np.sort(data.ravel())
    below = np.searchsorted(s, values, side="left") / s.size
    at_or_below = np.searchsorted(s, values, side="right") / s.size
    return np.maximum(0, np.maximum(below - q, q - at_or_below))


@pytest.mark.parametrize("dist", ["normal", "exponential", "integers", "bimodal"])
def test_sketch_rank_error_within_documented_bound(dist):
    n = 400_000
    data = {
        "normal": lambda: RNG.standard_normal(n),
        "exponential": lambda: RNG.exponential(size=n),
        "integers": lambda: RNG.integers(0, 50, n).astype(float),
        "bimodal": lambda: np.concatenate([RNG.normal(-5, 1, n // 2), RNG.normal(9, 0.1, n // 2)]),
    }[dist]()
    RNG.shuffle(data)
    x = da.from_array(data, chunks=n // 40)  # 40 blocks: two merge levels
    got = qm.quantile(x, QS, internal_method="sketch").compute()
    levels = 2
    bound = (levels + 1) * LEVEL_STEP + 40 / n
    assert _rank_error(data, got, QS).max() <= bound
    assert got.min() >= data.min() and got.max() <= data.max()
    assert got[0] == data.min() and got[-1] == data.max()
    assert (np.diff(got) >= 0).all()
    # On smooth data the value error is small as well.
    if dist == "normal":
        np.testing.assert_allclose(got[2:-2], np.quantile(data, QS[2:-2]), atol=0.01)


def test_default_switches_to_sketch_above_chunk_size_and_stays_exact_below():
    data = RNG.standard_normal((300, 200))
    x = da.from_array(data, chunks=(70, 60))
    np.testing.assert_array_equal(da.percentile(x, [5, 50]).compute(),
                                  np.percentile(data, [5, 50]))
    with plait.config.set({"array.chunk-size": "100KiB"}):
        y = np.percentile(x, [5, 50])  # through NumPy's dispatch
    assert any("sketch" in str(k[0]) for k in y.dask)
    assert _rank_error(data, y.compute(), np.array([0.05, 0.5])).max() <= 2 * LEVEL_STEP
    one = da.from_array(data, chunks=-1)  # a single block is always exact
    with plait.config.set({"array.chunk-size": "1KiB"}):
        np.testing.assert_array_equal(da.quantile(one, 0.3).compute(),
                                      np.quantile(data, 0.3))
        np.testing.assert_array_equal(
            da.quantile(x, 0.3, internal_method="exact").compute(), np.quantile(data, 0.3))
        # Methods other than linear pick data values: always exact.
        np.testing.assert_array_equal(da.quantile(x, 0.3, method="lower").compute(),
                                      np.quantile(data, 0.3, method="lower"))


def test_sketch_nan_variants_and_edges():
    data = RNG.standard_normal(50_000)
    data[RNG.random(50_000) < 0.3] = np.nan
    data[:5000] = np.nan  # a block of NaN only
    x = da.from_array(data, chunks=5000)
    got = qm.nanquantile(x, QS, internal_method="sketch").compute()
    assert _rank_error(data[~np.isnan(data)], got, QS).max() <= 2 * LEVEL_STEP + 1e-3
    allnan = da.from_array(np.full(10, np.nan), chunks=3)
    with pytest.warns(RuntimeWarning):
        expected = np.nanquantile(np.full(10, np.nan), 0.5)
    assert np.isnan(qm.nanquantile(allnan, 0.5, internal_method="sketch").compute())
    assert np.isnan(expected)
    ints = da.from_array(np.arange(1000, dtype=np.int32), chunks=100)
    out = qm.quantile(ints, 0.5, internal_method="sketch", keepdims=True)
    assert out.shape == (1,) and out.dtype == np.float64
    assert abs(float(out.compute()[0]) - 499.5) <= 1000 * 2 * LEVEL_STEP
    with pytest.raises(ValueError, match="internal_method"):
        qm.quantile(ints, 0.5, internal_method="tdigest")

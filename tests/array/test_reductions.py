"""plait.array reductions and scans, compared with NumPy on the same data under the sync
and threads schedulers: every axis combination, keepdims, dtype=, ddof, NaNs, ties,
uneven / single / one-element chunks, deep trees, 0-d and empty arrays."""

import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import plait
import plait.array as da
from plait.array import reductions as red
from plait.graph import Task

SCHEDULERS = ["sync", "threads"]
rng = np.random.default_rng(42)

F1 = rng.standard_normal(23)
F2 = rng.standard_normal((7, 10))
F3 = rng.standard_normal((4, 5, 6))
I2 = rng.integers(-50, 50, size=(7, 10))
T2 = rng.integers(0, 3, size=(7, 10))  # many ties

CHUNKINGS = {
    1: [5, ((10, 1, 12),), 23, 1],
    2: [(3, 4), ((1, 6), (2, 7, 1)), (7, 10), (1, 1)],
    3: [(2, 2, 4), ((3, 1), (1, 4), (5, 1)), (4, 5, 6), (1, 1, 1)],
}


def all_axes(ndim):
    """None, every single axis (also negative), and every tuple of axes."""
    out = [None] + list(range(ndim)) + [-1]
    for r in range(2, ndim + 1):
        out += list(itertools.combinations(range(ndim), r))
    if ndim >= 2:
        out.append((-1, 0))
    return out


def check(x, expected, scheduler="sync", exact=False, rtol=1e-10):
    assert isinstance(x, da.Array), type(x)
    expected = np.asarray(expected)
    assert x.shape == expected.shape, (x.shape, expected.shape)
    assert x.dtype == expected.dtype, (x.dtype, expected.dtype)
    got = x.compute(scheduler=scheduler)
    assert np.shape(got) == expected.shape
    assert np.asarray(got).dtype == expected.dtype, (np.asarray(got).dtype, expected.dtype)
    if exact or expected.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-12, equal_nan=True)


# -- the common reductions over every axis, chunking and keepdims -------------------------

SIMPLE = ["sum", "prod", "mean", "std", "var", "min", "max", "any", "all"]


@pytest.mark.parametrize("func", SIMPLE)
@pytest.mark.parametrize("ndim,data", [(1, F1), (2, F2), (3, F3)])
def test_float_reductions_every_axis_and_chunking(func, ndim, data):
    data = data if func != "prod" else 1 + data / 10  # keep products finite
    for chunks in CHUNKINGS[ndim]:
        x = da.from_array(data, chunks=chunks)
        for axis in all_axes(ndim):
            for keepdims in (False, True):
                expected = getattr(np, func)(data, axis=axis, keepdims=keepdims)
                check(getattr(da.reductions, func)(x, axis=axis, keepdims=keepdims), expected)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("func", SIMPLE + ["nansum", "nanprod", "nanmean", "nanstd",
                                           "nanvar", "nanmin", "nanmax"])
def test_int_reductions_match_numpy_values_and_dtypes(func, scheduler):
    data = I2 if "prod" not in func else T2 + 1
    x = da.from_array(data, chunks=(3, 4))
    for axis in all_axes(2):
        expected = getattr(np, func)(data, axis=axis)
        check(getattr(da.reductions, func)(x, axis=axis), expected, scheduler)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("split_every", [2, 3, {0: 2, 1: 3}, {1: 2}, {-1: 2, 0: 1}])
def test_split_every_gives_same_result(split_every, scheduler):
    x = da.from_array(F2, chunks=(1, 1))
    for func in ["sum", "mean", "var", "max", "argmin", "nanmean"]:
        for axis in [None, 0, 1, (0, 1)]:
            if func == "argmin" and isinstance(axis, tuple):
                continue
            expected = getattr(np, func)(F2, axis=axis)
            check(getattr(da.reductions, func)(x, axis=axis, split_every=split_every),
                  expected, scheduler)


def test_split_every_from_config():
    x = da.from_array(F1, chunks=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # until plait.yaml lists the key
        with plait.config.set({"array.split-every": 2}):
            y = da.reductions.sum(x)
    assert _max_fan_in(y) == 2
    check(y, F1.sum())
    assert _max_fan_in(da.reductions.sum(x)) == 16


def test_split_every_rejects_bad_values():
    x = da.from_array(F2, chunks=2)
    for bad in (1, 0, "4", {0: 0}, {0: "2"}):
        with pytest.raises(ValueError, match="split_every"):
            da.reductions.sum(x, split_every=bad)


def _max_fan_in(x):
    """The most dependencies any task of the reduction has."""
    return max(len(t.dependencies) for t in x._layer.values() if isinstance(t, Task))


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_hundred_blocks_deep_tree_bounded_fan_in(scheduler):
    data = rng.standard_normal(1000)
    x = da.from_array(data, chunks=10)
    assert x.numblocks == (100,)
    for split_every in (2, 4, 16):
        y = da.reductions.sum(x, split_every=split_every)
        assert _max_fan_in(y) <= split_every
        # 100 chunk tasks, then about 100 / (s - 1) merges in log_s(100) levels
        levels = math.ceil(math.log(100, split_every))
        names = {k[0] for k in y._layer}
        assert len(names) == levels + 1
        check(y, data.sum(), scheduler)
        check(da.reductions.var(x, split_every=split_every), data.var(), scheduler)
        check(da.reductions.argmax(x, split_every=split_every), data.argmax(), scheduler)
    x2 = da.from_array(rng.standard_normal((40, 50)), chunks=(4, 5))  # 10 x 10 blocks
    y2 = da.reductions.mean(x2, split_every=4)  # 2 x 2 per task
    assert _max_fan_in(y2) <= 4
    check(y2, x2.compute().mean(), scheduler)


# -- dtypes -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.uint64, np.bool_,
                                   np.float16, np.float32, np.complex64])
@pytest.mark.parametrize("func", ["sum", "prod", "mean", "var", "std", "min", "max",
                                  "nansum", "nanmean", "cumsum", "cumprod"])
def test_result_dtype_matches_numpy(func, dtype):
    data = (rng.integers(0, 3, size=(6, 5)) + (dtype != np.bool_)).astype(dtype)
    x = da.from_array(data, chunks=(4, 2))
    expected = getattr(np, func)(data, axis=0)
    got = getattr(da.reductions, func)(x, axis=0)
    assert got.dtype == expected.dtype
    computed = got.compute()
    assert computed.dtype == expected.dtype
    rtol = 1e-2 if dtype == np.float16 else 1e-5
    np.testing.assert_allclose(computed, expected, rtol=rtol)


@pytest.mark.parametrize("func", ["sum", "prod", "mean", "var", "std", "nansum", "nanmean",
                                  "nanvar", "cumsum"])
@pytest.mark.parametrize("dtype", ["f4", "f8", "i8", "u4"])
def test_dtype_argument(func, dtype):
    data = T2 + 1
    x = da.from_array(data, chunks=3)
    kwargs = {"axis": 1} if func == "cumsum" else {}
    expected = getattr(np, func)(data, dtype=dtype, **kwargs)
    check(getattr(da.reductions, func)(x, dtype=dtype, **kwargs), expected, rtol=1e-6)


def test_mean_of_integers_is_float64():
    x = da.from_array(I2, chunks=3)
    assert da.reductions.mean(x).dtype == np.float64
    check(da.reductions.mean(x, axis=0), I2.mean(axis=0))


# -- var, std, moment ---------------------------------------------------------------------

@pytest.mark.parametrize("ddof", [0, 1, 2])
@pytest.mark.parametrize("func", ["var", "std", "nanvar", "nanstd"])
def test_ddof(func, ddof):
    x = da.from_array(F3, chunks=((3, 1), (1, 4), (5, 1)))
    for axis in all_axes(3):
        check(getattr(da.reductions, func)(x, axis=axis, ddof=ddof),
              getattr(np, func)(F3, axis=axis, ddof=ddof))


def test_ddof_too_large_warns_like_numpy():
    x = da.from_array(F1[:3], chunks=1)
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"):
        got = da.reductions.var(x, ddof=3).compute()
    assert np.isnan(got) or np.isinf(got)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.array_equal(got, np.var(F1[:3], ddof=3), equal_nan=True)


def test_var_is_numerically_stable():
    data = 1e9 + rng.random(10_000)
    x = da.from_array(data, chunks=37)
    expected = np.var(data)
    assert expected > 0.05
    np.testing.assert_allclose(da.reductions.var(x, split_every=2).compute(), expected,
                               rtol=1e-6)
    np.testing.assert_allclose(da.reductions.std(x).compute(), np.std(data), rtol=1e-6)
    shifted = np.stack([data, data - 1e9 + 5])  # different magnitudes per row
    y = da.from_array(shifted, chunks=(1, 101))
    np.testing.assert_allclose(da.reductions.var(y, axis=1).compute(),
                               shifted.var(axis=1), rtol=1e-6)


def test_complex_variance_is_real():
    data = rng.standard_normal((6, 4)) + 1j * rng.standard_normal((6, 4))
    x = da.from_array(data, chunks=(4, 3))
    check(da.reductions.var(x, axis=0), np.var(data, axis=0))
    check(da.reductions.std(x), np.std(data))
    check(da.reductions.mean(x, axis=1), np.mean(data, axis=1))


def _central_moment(data, order, axis, ddof=0):
    mean = data.mean(axis=axis, keepdims=True)
    n = data.size if axis is None else np.prod([data.shape[a] for a in np.atleast_1d(axis)])
    return ((data - mean) ** order).sum(axis=axis) / (n - ddof)


@pytest.mark.parametrize("order", [0, 1, 2, 3, 4, 5])
def test_moment(order):
    x = da.from_array(F3, chunks=(2, 3, 4))
    for axis in [None, 0, 2, (0, 1)]:
        got = da.reductions.moment(x, order, axis=axis, split_every=2).compute()
        np.testing.assert_allclose(got, _central_moment(F3, order, axis), rtol=1e-9,
                                   atol=1e-12)
    got = da.reductions.moment(x, 3, axis=1, ddof=1).compute()
    np.testing.assert_allclose(got, _central_moment(F3, 3, 1, ddof=1), rtol=1e-9)
    with pytest.raises(ValueError, match="order"):
        da.reductions.moment(x, -1)


# -- nan variants -------------------------------------------------------------------------

def _with_nans(data, fraction=0.3):
    data = data.copy()
    data[rng.random(data.shape) < fraction] = np.nan
    return data


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("func", ["nansum", "nanprod", "nanmean", "nanvar", "nanstd",
                                  "nanmin", "nanmax", "nanargmin", "nanargmax"])
def test_nan_variants_ignore_nans(func, scheduler):
    data = _with_nans(F3)
    data[0, 0, :] = 1.5  # a row without NaN
    for chunks in CHUNKINGS[3]:
        x = da.from_array(data, chunks=chunks)
        axes = [None, 0, 1, 2, -1] if "arg" in func else all_axes(3)
        for axis in axes:
            result = getattr(da.reductions, func)(x, axis=axis)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                try:
                    expected = getattr(np, func)(data, axis=axis)
                except ValueError as e:  # nanargmin of an all-NaN slice
                    with pytest.raises(ValueError, match=str(e)):
                        result.compute(scheduler=scheduler)
                    continue
                check(result, expected, scheduler)


@pytest.mark.parametrize("func", ["sum", "mean", "var", "min", "max", "argmin", "argmax"])
def test_plain_variants_propagate_nan(func):
    data = _with_nans(F2, 0.05)
    x = da.from_array(data, chunks=(3, 3))
    for axis in [None, 0, 1]:
        check(getattr(da.reductions, func)(x, axis=axis), getattr(np, func)(data, axis=axis))


def test_all_nan_slices_warn_and_give_nan_like_numpy():
    data = F2.copy()
    data[:, 3] = np.nan
    x = da.from_array(data, chunks=(2, 2))
    for func, message in [("nanmean", "Mean of empty slice"),
                          ("nanmax", "All-NaN slice"), ("nanmin", "All-NaN slice"),
                          ("nanvar", "Degrees of freedom"), ("nanstd", "Degrees of freedom")]:
        with pytest.warns(RuntimeWarning, match=message):
            got = getattr(da.reductions, func)(x, axis=0).compute(scheduler="sync")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = getattr(np, func)(data, axis=0)
        np.testing.assert_allclose(got, expected, equal_nan=True)
        assert np.isnan(got[3])
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"):
        assert np.isnan(da.reductions.nanmean(da.from_array(data[:, 3], chunks=2)).compute())
    check(da.reductions.nansum(x, axis=0), np.nansum(data, axis=0))


def test_nanargmin_of_all_nan_slice_raises():
    data = F2.copy()
    data[:, 3] = np.nan
    x = da.from_array(data, chunks=(2, 2))
    with pytest.raises(ValueError, match="All-NaN slice"):
        da.reductions.nanargmin(x, axis=0).compute()
    check(da.reductions.nanargmin(x, axis=1), np.nanargmin(data, axis=1))


# -- argmin / argmax ----------------------------------------------------------------------

@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("func", ["argmin", "argmax", "nanargmin", "nanargmax"])
def test_arg_reductions_first_occurrence_on_ties(func, scheduler):
    for data in (T2, T2.astype(float), np.zeros((7, 10)), F3.round(0)):
        for chunks in CHUNKINGS[data.ndim]:
            x = da.from_array(data, chunks=chunks)
            for axis in [None] + list(range(-1, data.ndim)):
                for keepdims in (False, True):
                    expected = getattr(np, func)(data, axis=axis, keepdims=keepdims)
                    check(getattr(da.reductions, func)(x, axis=axis, keepdims=keepdims),
                          expected, scheduler, exact=True)


def test_argmin_takes_first_nan_like_numpy():
    data = np.array([3.0, 1.0, np.nan, 0.0, np.nan, -1.0])
    x = da.from_array(data, chunks=2)
    check(da.reductions.argmin(x), np.argmin(data), exact=True)
    check(da.reductions.argmax(x), np.argmax(data), exact=True)
    check(da.reductions.nanargmin(x), np.nanargmin(data), exact=True)
    check(da.reductions.nanargmax(x), np.nanargmax(data), exact=True)
    inf = np.array([np.nan, np.inf, np.nan, np.inf])  # +inf wins over the ignored NaNs
    check(da.reductions.nanargmax(da.from_array(inf, chunks=1)), np.nanargmax(inf), exact=True)


def test_argmin_axis_must_be_one_int():
    x = da.from_array(F2, chunks=3)
    with pytest.raises(TypeError, match="axis"):
        da.reductions.argmin(x, axis=(0, 1))


# -- 0-d, empty, zero-length chunks -------------------------------------------------------

@pytest.mark.parametrize("func", SIMPLE + ["argmin", "argmax", "nansum", "nanmax",
                                           "count_nonzero"])
def test_zero_dimensional(func):
    data = np.array(3.5)
    x = da.from_array(data, chunks=())
    check(getattr(da.reductions, func)(x), getattr(np, func)(data))
    check(getattr(da.reductions, func)(x, keepdims=True),
          getattr(np, func)(data, keepdims=True))


@pytest.mark.parametrize("func", ["sum", "prod", "any", "all", "nansum", "count_nonzero"])
def test_empty_with_identity(func):
    for shape, axis in [((0,), None), ((0, 3), 0), ((0, 3), 1), ((3, 0), None), ((3, 0), 1)]:
        data = np.ones(shape)
        x = da.from_array(data, chunks=2)
        check(getattr(da.reductions, func)(x, axis=axis), getattr(np, func)(data, axis=axis))


@pytest.mark.parametrize("func", ["min", "max", "nanmin", "nanmax", "argmin", "argmax",
                                  "nanargmin", "nanargmax"])
def test_empty_without_identity_raises_like_numpy(func):
    for shape, axis in [((0,), None), ((0, 3), 0), ((0, 0), 0)]:
        with pytest.raises(ValueError) as expected:
            getattr(np, func)(np.ones(shape), axis=axis)
        with pytest.raises(ValueError) as got:
            getattr(da.reductions, func)(da.from_array(np.ones(shape), chunks=2), axis=axis)
        assert str(expected.value) in str(got.value)
    data = np.ones((0, 3))  # reducing a non-empty axis of an empty array is fine
    check(getattr(da.reductions, func)(da.from_array(data, chunks=2), axis=1),
          getattr(np, func)(data, axis=1))


def test_mean_of_empty_is_nan_with_warning():
    x = da.from_array(np.ones(0), chunks=1)
    with pytest.warns(RuntimeWarning, match="Mean of empty slice"):
        assert np.isnan(da.reductions.mean(x).compute())


@pytest.mark.parametrize("func", ["sum", "mean", "var", "min", "max", "argmin", "argmax",
                                  "nanmax", "cumsum", "cumprod"])
def test_zero_length_chunks_are_skipped(func):
    data = 1 + F2[:5, :6] / 10
    x = da.from_array(data, chunks=((2, 0, 3), (0, 4, 0, 2)))
    for axis in [None, 0, 1]:
        check(getattr(da.reductions, func)(x, axis=axis), getattr(np, func)(data, axis=axis))


# -- scans --------------------------------------------------------------------------------

@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("func", ["cumsum", "cumprod", "nancumsum", "nancumprod"])
def test_scans_match_numpy(func, scheduler):
    for data in (F1, F2, F3, I2):
        data = 1 + data / 10 if "prod" in func else data
        if func.startswith("nan") and data.dtype.kind == "f":
            data = _with_nans(data)
        for chunks in CHUNKINGS[data.ndim]:
            x = da.from_array(data, chunks=chunks)
            for axis in [None] + list(range(-1, data.ndim)):
                check(getattr(da.reductions, func)(x, axis=axis),
                      getattr(np, func)(data, axis=axis), scheduler)


def test_scans_of_0d_and_empty():
    check(da.reductions.cumsum(da.from_array(np.array(4), chunks=())), np.cumsum(np.array(4)))
    check(da.reductions.cumsum(da.from_array(np.ones((0, 3)), chunks=2), axis=0),
          np.cumsum(np.ones((0, 3)), axis=0))
    check(da.reductions.cumprod(da.from_array(np.ones((3, 0)), chunks=2)),
          np.cumprod(np.ones((3, 0))))


def test_scan_over_hundred_blocks_and_method_names():
    data = rng.integers(0, 10, size=500)
    x = da.from_array(data, chunks=5)
    for method in ("sequential", "blelloch"):
        check(da.reductions.cumsum(x, axis=0, method=method), np.cumsum(data))
    with pytest.raises(ValueError, match="method"):
        da.reductions.cumsum(x, method="magic")


def test_cumreduction_custom():
    data = F2
    x = da.from_array(data, chunks=(3, 4))
    got = da.reductions.cumreduction(_cummax, np.maximum, -np.inf, x, axis=1)
    check(got, np.maximum.accumulate(data, axis=1))


def _cummax(block, axis, dtype=None):
    return np.maximum.accumulate(block, axis=axis, dtype=dtype)


# -- count_nonzero, custom reduction, out= ------------------------------------------------

def test_count_nonzero():
    x = da.from_array(T2, chunks=(3, 4))
    for axis in all_axes(2):
        check(da.reductions.count_nonzero(x, axis=axis), np.count_nonzero(T2, axis=axis))
    assert int(np.count_nonzero(x).compute()) == np.count_nonzero(T2)


def _range_chunk(block, axis, keepdims):
    return {"lo": np.min(block, axis=axis, keepdims=True),
            "hi": np.max(block, axis=axis, keepdims=True)}


def _range_combine(parts, axis, keepdims):
    return {"lo": np.min(parts["lo"], axis=axis, keepdims=keepdims),
            "hi": np.max(parts["hi"], axis=axis, keepdims=keepdims)}


def _range_aggregate(parts, axis, keepdims):
    p = _range_combine(parts, axis, keepdims)
    return p["hi"] - p["lo"]


def _nested_sum(parts, axis, keepdims):
    # concatenate=False: nested lists, one level per reduced axis
    def flat(p, depth):
        return [p] if depth == 0 else [b for q in p for b in flat(q, depth - 1)]

    blocks = flat(parts, len(axis))
    total = sum(np.sum(b, axis=axis, keepdims=True) for b in blocks)
    return total if keepdims else np.squeeze(total, axis=axis)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_custom_reduction(scheduler):
    x = da.from_array(F3, chunks=(1, 2, 4))
    for axis in all_axes(3):
        y = red.reduction(x, _range_chunk, _range_aggregate, combine=_range_combine,
                          axis=axis, dtype=F3.dtype, split_every=2)
        check(y, np.ptp(F3, axis=axis), scheduler)
        z = red.reduction(x, np.sum, _nested_sum, axis=axis, concatenate=False, split_every=3)
        check(z, F3.sum(axis=axis), scheduler)
    inferred = red.reduction(da.from_array(I2, chunks=3), np.sum, np.sum)
    assert inferred.dtype == I2.sum().dtype
    kept = red.reduction(x, np.max, np.max, axis=1, keepdims=True, output_size=1)
    check(kept, F3.max(axis=1, keepdims=True))


def test_out_parameter():
    x = da.from_array(F2, chunks=3)
    target = da.from_array(np.zeros(10), chunks=5)
    result = da.reductions.sum(x, axis=0, out=target)
    assert result is target
    check(target, F2.sum(axis=0))
    with pytest.raises(ValueError, match="shape"):
        da.reductions.sum(x, axis=1, out=da.from_array(np.zeros(10), chunks=5))
    with pytest.raises(TypeError, match="out="):
        da.reductions.sum(x, axis=0, out=np.zeros(10))


def test_axis_errors_like_numpy():
    x = da.from_array(F2, chunks=3)
    with pytest.raises(np.exceptions.AxisError):
        da.reductions.sum(x, axis=2)
    with pytest.raises(np.exceptions.AxisError):
        da.reductions.mean(x, axis=-3)
    with pytest.raises(ValueError, match="duplicate"):
        da.reductions.sum(x, axis=(0, -2))


# -- NumPy protocol and methods -----------------------------------------------------------

def test_numpy_functions_return_plait_arrays():
    x = da.from_array(F2, chunks=(3, 4))
    cases = [
        (np.sum, (), {}), (np.sum, (0,), {}), (np.sum, (), {"axis": 1, "keepdims": True}),
        (np.prod, (1,), {}), (np.mean, (), {"axis": (0, 1)}), (np.var, (0, None, None, 1), {}),
        (np.std, (), {"ddof": 1}), (np.var, (), {"correction": 1}), (np.min, (), {}),
        (np.amax, (0,), {}), (np.max, (), {"axis": -1}), (np.any, (), {}), (np.all, (0,), {}),
        (np.argmin, (), {}), (np.argmax, (1,), {}), (np.nansum, (), {}), (np.nanmean, (0,), {}),
        (np.nanvar, (), {}), (np.nanstd, (1,), {}), (np.nanmin, (), {}), (np.nanmax, (0,), {}),
        (np.nanargmin, (), {}), (np.nanargmax, (0,), {}), (np.cumsum, (1,), {}),
        (np.cumprod, (), {"axis": 0}), (np.nancumsum, (0,), {}), (np.nancumprod, (1,), {}),
        (np.count_nonzero, (), {"axis": 0}), (np.nanprod, (), {}),
    ]
    for func, args, kwargs in cases:
        got = func(x, *args, **kwargs)
        assert isinstance(got, da.Array), func
        check(got, func(F2, *args, **kwargs))
    with pytest.raises(TypeError, match="where="):
        np.sum(x, where=F2 > 0)


def test_methods():
    x = da.from_array(F2, chunks=(3, 4))
    check(x.sum(), F2.sum())
    check(x.sum(axis=0), F2.sum(axis=0))
    check(x.mean(1), F2.mean(1))
    check(x.var(ddof=1), F2.var(ddof=1))
    check(x.std(axis=0, keepdims=True), F2.std(axis=0, keepdims=True))
    check(x.max(axis=1), F2.max(axis=1))
    check(x.argmax(axis=0), F2.argmax(axis=0))
    check(x.cumsum(axis=1), F2.cumsum(axis=1))
    check(x.nanmean(), np.nanmean(F2))
    check(x.moment(2), F2.var())


# -- property-based -----------------------------------------------------------------------

@st.composite
def arrays_and_chunks(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(1, 7)) for _ in range(ndim))
    chunks = tuple(draw(st.integers(1, s)) for s in shape)
    seed = draw(st.integers(0, 2**16))
    data = np.random.default_rng(seed).standard_normal(shape) * 100
    axis = draw(st.one_of(
        st.none(), st.integers(-ndim, ndim - 1),
        st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)))
    keepdims = draw(st.booleans())
    split_every = draw(st.sampled_from([None, 2, 3]))
    return data, chunks, axis, keepdims, split_every


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arrays_and_chunks())
def test_random_shapes_chunks_axes(case):
    data, chunks, axis, keepdims, split_every = case
    x = da.from_array(data, chunks=chunks)
    for func in ("sum", "mean", "var", "max"):
        got = getattr(da.reductions, func)(x, axis=axis, keepdims=keepdims,
                                           split_every=split_every)
        expected = getattr(np, func)(data, axis=axis, keepdims=keepdims)
        assert got.shape == np.shape(expected)
        np.testing.assert_allclose(got.compute(scheduler="sync"), expected, rtol=1e-9,
                                   atol=1e-9)

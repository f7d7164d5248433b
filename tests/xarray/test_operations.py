"""xarray operations on plait-backed data equal the same on NumPy-backed data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

xr = pytest.importorskip("xarray")

import plait.array as pa  # noqa: E402


@pytest.fixture(scope="module")
def data() -> "xr.DataArray":
    rng = np.random.default_rng(42)
    time = pd.date_range("2000-01-01", periods=40, freq="MS")
    values = rng.normal(size=(2, 40, 3, 4)).astype("f8")
    values[0, 3, 1, 2] = np.nan
    return xr.DataArray(values, dims=("member", "time", "lat", "lon"),
                        coords={"time": time, "lat": [10.0, 20.0, 30.0],
                                "lon": [0.0, 90.0, 180.0, 270.0], "member": ["a", "b"]},
                        name="tos")


def chunked(x):
    return x.chunk({"time": 7, "lat": 2}, chunked_array_type="plait")


def whole_time(x):
    return x.chunk({"time": -1}) if x.chunks else x


def check(op, x, scheduler="sync"):
    expected = op(x)
    lazy = op(chunked(x))
    assert any(isinstance(v.data, pa.Array) for v in
               (lazy.variables.values() if isinstance(lazy, xr.Dataset) else [lazy.variable]))
    xr.testing.assert_allclose(lazy.compute(scheduler=scheduler), expected)


OPS = {
    "arith": lambda x: (x * 2 + 1) / x.max(),
    "broadcast": lambda x: x - x.mean("time"),
    "reduce_mean": lambda x: x.mean(("time", "lon")),
    "reduce_std": lambda x: x.std("time"),
    "reduce_sum_skipna": lambda x: x.sum("time", skipna=False),
    "median": lambda x: x.median("time"),
    # quantile needs the reduced dimension in one chunk (xarray's rule, as with Dask)
    "quantile": lambda x: whole_time(x).quantile([0.1, 0.9], dim="time"),
    "argmax": lambda x: x.fillna(0).argmax("time"),
    "groupby_mean": lambda x: x.groupby("time.month").mean("time"),
    "groupby_std": lambda x: x.groupby("time.month").std("time"),
    "groupby_max": lambda x: x.groupby("time.season").max("time"),
    "groupby_count": lambda x: x.groupby("time.month").count("time"),
    "groupby_anomaly": lambda x: (lambda g: g - g.mean("time"))(x.groupby("time.month")),
    "groupby_ratio": lambda x: (lambda g: g / g.std("time"))(x.groupby("time.season")),
    "groupby_map": lambda x: x.groupby("time.month").map(lambda g: g - g.min()),
    "groupby_cumsum": lambda x: x.fillna(0).groupby("time.year").cumsum("time"),
    "resample_mean": lambda x: x.resample(time="QS").mean(),
    "resample_max": lambda x: x.resample(time="YS").max(),
    "rolling_mean": lambda x: x.rolling(time=3).mean(),
    "rolling_center_sum": lambda x: x.rolling(time=4, center=True, min_periods=1).sum(),
    "coarsen": lambda x: x.coarsen(time=4).mean(),
    "weighted_mean": lambda x: x.weighted(np.cos(np.deg2rad(x.lat))).mean(("lat", "lon")),
    "where": lambda x: x.where(x > 0),
    "where_other": lambda x: x.where(x > 0, -1.0),
    "xr_where": lambda x: xr.where(x.isnull(), 0.0, x),
    "fillna": lambda x: x.fillna(x.mean()),
    "cumsum": lambda x: x.fillna(0).cumsum("time"),
    "cumprod": lambda x: (x.fillna(0) * 0.1 + 1).cumprod("time"),
    "diff": lambda x: x.diff("time"),
    "shift": lambda x: x.shift(time=2),
    "roll": lambda x: x.roll(time=3),
    "isel": lambda x: x.isel(time=slice(5, 30, 3), lat=[0, 2]),
    "sel": lambda x: x.sel(time="2001"),
    "transpose": lambda x: x.transpose("lon", "time", "lat", "member"),
    "stack": lambda x: x.stack(space=("lat", "lon")),
    "concat": lambda x: xr.concat([x, x + 1], dim="new"),
    "interp_unchunked_axis": lambda x: x.interp(lon=[45.0, 100.0]),
    "interp_chunked_axis": lambda x: x.interp(lat=[12.5, 25.0, 29.0]),
    "interp_two_axes": lambda x: x.interp(lat=[15.0, 22.0], lon=[45.0, 100.0]),
    "interp_time": lambda x: x.interp(time=pd.date_range("2000-02-10", periods=5, freq="35D")),
    "polyfit": lambda x: x.fillna(0).polyfit("lat", deg=1).polyfit_coefficients,
    "clip": lambda x: x.clip(-0.5, 0.5),
    "astype": lambda x: x.astype("f4"),
    "abs_ufunc": lambda x: np.abs(x) + np.sin(x),
    "dot": lambda x: xr.dot(x.fillna(0), x.fillna(0), dim="time"),
    "pad": lambda x: x.pad(time=(1, 2), constant_values=0.0),
    "isin": lambda x: x.round().isin([0.0, 1.0]),
    "differentiate": lambda x: x.differentiate("lat"),
    "integrate": lambda x: x.integrate("lat"),
    "full_like": lambda x: xr.full_like(x, 3.0),
    "zeros_like": lambda x: xr.zeros_like(x),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_operation_equals_numpy(data, name):
    check(OPS[name], data)

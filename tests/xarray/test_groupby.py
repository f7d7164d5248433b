"""Group-by on plait-backed data with and without flox (xarray sends chunked group-bys
to flox when it is installed; plait routes its arrays past flox's Dask-only paths)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

xr = pytest.importorskip("xarray")

import plait.array as pa  # noqa: E402

TIME = pd.date_range("2000-01-01", periods=30, freq="MS")


@pytest.fixture(scope="module")
def data() -> "xr.DataArray":
    rng = np.random.default_rng(7)
    values = rng.normal(size=(2, 30, 3)).astype("f4")
    values[1, 4, 2] = np.nan
    return xr.DataArray(values, dims=("member", "time", "x"), coords={"time": TIME},
                        name="tos")


FUNCS = ["mean", "sum", "count", "max", "min", "std", "var", "median", "first", "last",
         "prod", "any", "all"]


@pytest.mark.parametrize("use_flox", [True, False])
@pytest.mark.parametrize("func", FUNCS)
@pytest.mark.parametrize("skipna", [None, False])
def test_groupby_reduction(data, use_flox, func, skipna):
    if func in ("any", "all"):
        source = data > 0
        kwargs = {}
    else:
        source = data
        kwargs = {} if func == "count" else {"skipna": skipna}
    args = () if func in ("first", "last") else ("time",)
    with xr.set_options(use_flox=use_flox):
        expected = getattr(source.groupby("time.month"), func)(*args, **kwargs)
        lazy = getattr(source.chunk({"time": 7}, chunked_array_type="plait")
                       .groupby("time.month"), func)(*args, **kwargs)
        assert isinstance(lazy.data, pa.Array)
        xr.testing.assert_allclose(lazy.compute(scheduler="sync"), expected, rtol=1e-5,
                                   atol=1e-6)


@pytest.mark.parametrize("use_flox", [True, False])
@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_anomaly_each_scheduler(data, use_flox, scheduler):
    def anomaly(x):
        gb = x.groupby("time.month")
        return gb - gb.mean(dim="time")

    with xr.set_options(use_flox=use_flox):
        lazy = anomaly(data.chunk({"time": 9}, chunked_array_type="plait"))
        # float32 sums in another order: absolute tolerance for values near zero
        xr.testing.assert_allclose(lazy.compute(scheduler=scheduler), anomaly(data),
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("use_flox", [True, False])
def test_groupby_bins_and_multi_axis(data, use_flox):
    with xr.set_options(use_flox=use_flox):
        lazy = data.chunk({"time": 7}, chunked_array_type="plait")
        a = data.groupby_bins("x", [-1, 0.5, 3]).mean()
        xr.testing.assert_allclose(lazy.groupby_bins("x", [-1, 0.5, 3]).mean().compute(), a)
        b = data.groupby("time.season").mean(("time", "member"))
        xr.testing.assert_allclose(
            lazy.groupby("time.season").mean(("time", "member")).compute(), b, rtol=1e-5)
        c = data.groupby("time.month").quantile(0.5, dim="time")
        # Without flox xarray needs each group in one chunk (as with Dask).
        q = lazy if use_flox else lazy.chunk({"time": -1})
        xr.testing.assert_allclose(
            q.groupby("time.month").quantile(0.5, dim="time").compute(), c, rtol=1e-5)


def test_groupby_scan(data):
    filled = data.fillna(0)
    with xr.set_options(use_flox=True):
        lazy = filled.chunk({"time": 7}, chunked_array_type="plait").groupby("time.year")
        xr.testing.assert_allclose(lazy.cumsum("time").compute(),
                                   filled.groupby("time.year").cumsum("time"), rtol=1e-5)


def test_flox_still_serves_numpy(data):
    import flox.xarray

    assert hasattr(flox.xarray.groupby_reduce, "_plait_original")
    out, groups = flox.xarray.groupby_reduce(np.arange(6.0), np.array([0, 1, 0, 1, 0, 1]),
                                             func="sum")
    np.testing.assert_array_equal(out, [6.0, 9.0])


def test_without_flox_installed(tmp_path):
    # flox made unimportable in a fresh interpreter: xarray's own group-by path.
    script = tmp_path / "noflox.py"
    script.write_text(
        "import sys\n"
        "sys.modules['flox'] = None\n"
        "import numpy as np, pandas as pd, xarray as xr\n"
        "t = pd.date_range('2000-01-01', periods=30, freq='MS')\n"
        "x = xr.DataArray(np.random.default_rng(1).normal(size=(30, 4)), dims=('time', 'x'),\n"
        "                 coords={'time': t})\n"
        "def anom(a):\n"
        "    gb = a.groupby('time.month')\n"
        "    return gb - gb.mean('time')\n"
        "lazy = anom(x.chunk({'time': 7}, chunked_array_type='plait'))\n"
        "import plait.array as pa\n"
        "assert isinstance(lazy.data, pa.Array)\n"
        "xr.testing.assert_allclose(lazy.compute(scheduler='threads'), anom(x))\n"
        "xr.testing.assert_allclose(\n"
        "    x.chunk({'time': 7}, chunked_array_type='plait').groupby('time.season').max().compute(),\n"
        "    x.groupby('time.season').max())\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


@pytest.mark.parametrize("func", ["sum", "max", "min", "mean", "count"])
def test_groupby_integers_map_reduce(func):
    values = np.random.default_rng(3).integers(-50, 50, size=(30, 2))
    x = xr.DataArray(values, dims=("time", "x"), coords={"time": TIME})
    with xr.set_options(use_flox=True):
        lazy = x.chunk({"time": 4}, chunked_array_type="plait").groupby("time.season")
        xr.testing.assert_allclose(getattr(lazy, func)().compute(),
                                   getattr(x.groupby("time.season"), func)())

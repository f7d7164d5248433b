"""netCDF and zarr round trips of plait-backed xarray data, on real files in tmp_path,
read and written under each scheduler."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("netCDF4")

import plait  # noqa: E402
import plait.array as pa  # noqa: E402
from plait.array.xarray_open import open_mfdataset  # noqa: E402

MEMBERS = 3


def _member(i: int) -> "xr.Dataset":
    rng = np.random.default_rng(i)
    time = pd.date_range("2000-01-01", periods=24, freq="MS")
    tos = rng.normal(20, 3, size=(24, 4, 5)).astype("f4")
    return xr.Dataset({"tos": (("time", "lat", "lon"), tos)},
                      coords={"time": time, "lat": np.arange(4.0), "lon": np.arange(5.0)})


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list:
    d = tmp_path_factory.mktemp("sst")
    paths = []
    for i in range(MEMBERS):
        p = d / f"tos_{i}.nc"
        _member(i).to_netcdf(p, engine="netcdf4")
        paths.append(str(p))
    return paths


@pytest.fixture(scope="module")
def expected() -> "xr.Dataset":
    return xr.concat([_member(i) for i in range(MEMBERS)], dim="ensemble_member")


def _anomaly(ds):
    gb = ds.tos.groupby("time.month")
    return gb - gb.mean(dim="time")


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_open_mfdataset_lazy_read(files, expected, scheduler):
    ds = xr.open_mfdataset(files, concat_dim="ensemble_member", combine="nested",
                           data_vars=["tos"], engine="netcdf4", chunks={"time": 5},
                           chunked_array_type="plait")
    try:
        assert isinstance(ds.tos.data, pa.Array)
        assert ds.tos.chunks == ((1,) * MEMBERS, (5, 5, 5, 5, 4), (4,), (5,))
        got = _anomaly(ds).compute(scheduler=scheduler)
        xr.testing.assert_allclose(got, _anomaly(expected), rtol=1e-5)
    finally:
        ds.close()


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_parallel_open_through_plait(files, expected, scheduler):
    ds = open_mfdataset(files, concat_dim="ensemble_member", combine="nested",
                        data_vars=["tos"], engine="netcdf4", chunks={"time": 5},
                        scheduler=scheduler)
    try:
        assert isinstance(ds.tos.data, pa.Array)
        xr.testing.assert_allclose(ds.tos.compute(), expected.tos)
    finally:
        ds.close()
    with pytest.raises(OSError, match="matches nothing"):
        open_mfdataset(files[0] + "-missing*")


@pytest.mark.skipif("dask" in sys.modules, reason="Dask is importable here")
def test_xarray_parallel_true_needs_dask(files):
    with pytest.raises(ModuleNotFoundError, match="dask"):
        xr.open_mfdataset(files, concat_dim="ensemble_member", combine="nested",
                          chunks={"time": 5}, parallel=True, chunked_array_type="plait")


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_to_netcdf_round_trip(tmp_path, expected, scheduler):
    lazy = expected.chunk({"time": 5, "ensemble_member": 1}, chunked_array_type="plait")
    lazy = lazy.assign(anom=_anomaly(lazy))
    path = tmp_path / "out.nc"
    with plait.config.set(scheduler=scheduler):
        lazy.to_netcdf(path, engine="netcdf4")
    with xr.open_dataset(path, chunks={"time": 7}, chunked_array_type="plait") as back:
        assert isinstance(back.anom.data, pa.Array)
        xr.testing.assert_allclose(back.compute(), lazy.compute(scheduler="sync"), rtol=1e-5)


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_to_zarr_round_trip(tmp_path, expected, scheduler):
    pytest.importorskip("zarr")
    lazy = expected.chunk({"time": 6}, chunked_array_type="plait")
    path = tmp_path / "out.zarr"
    lazy.to_zarr(path, chunkmanager_store_kwargs={"scheduler": scheduler})
    back = xr.open_zarr(path, chunked_array_type="plait")
    assert isinstance(back.tos.data, pa.Array)
    assert back.tos.chunks[1] == (6, 6, 6, 6)
    xr.testing.assert_allclose(back.compute(scheduler=scheduler), expected)
    # Appending along time through plait's store.
    more = expected.isel(time=slice(0, 6)).assign_coords(
        time=pd.date_range("2002-01-01", periods=6, freq="MS"))
    more.chunk({"time": 6}, chunked_array_type="plait").to_zarr(path, append_dim="time")
    assert xr.open_zarr(path, chunked_array_type="plait").sizes["time"] == 30


def test_delayed_write_with_processes_is_refused(tmp_path, expected):
    lazy = expected.chunk({"time": 6}, chunked_array_type="plait")
    with plait.config.set(scheduler="processes"):
        with pytest.raises((NotImplementedError, ModuleNotFoundError)):
            lazy.to_netcdf(tmp_path / "x.nc", compute=False)


def test_parallel_open_uses_this_process_library_lock(files, tmp_path, monkeypatch):
    """Files opened through plait take a lock that unpickles to the receiving process's
    netCDF/HDF5 lock (datasets opened in workers otherwise bring back the workers' own
    locks, and reads in this process then run the libraries at once and crash)."""
    import pickle

    from plait.array import xarray_open
    from plait.array.xarray_open import ProcessLibraryLock

    seen = []
    real = xr.open_dataset

    def spy(path, **kwargs):
        seen.append((str(path), kwargs.get("lock")))
        return real(path, **kwargs)

    monkeypatch.setattr(xr, "open_dataset", spy)
    open_mfdataset(files[:2], combine="nested", concat_dim="ensemble_member",
                   scheduler="sync").close()
    assert all(isinstance(lock, ProcessLibraryLock) for _, lock in seen) and len(seen) == 2
    from xarray.backends.netCDF4_ import NETCDF4_PYTHON_LOCK

    assert pickle.loads(pickle.dumps(seen[0][1]))._lock is NETCDF4_PYTHON_LOCK
    pytest.importorskip("zarr")
    xr.Dataset({"v": ("t", np.arange(3.0))}).to_zarr(tmp_path / "a.zarr")
    seen.clear()
    open_mfdataset([str(tmp_path / "a.zarr")], combine="nested", concat_dim="t",
                   scheduler="sync").close()
    assert seen == [(str(tmp_path / "a.zarr"), None)]
    assert xarray_open._engine([str(tmp_path / "a.zarr")], {}) == "zarr"

"""to_netcdf and to_zarr of plait-backed data, written block by block from the tasks
under each scheduler (sync, threads, processes, an in-process Client and a Client with
worker processes), on real files, compared with NumPy-backed xarray."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("netCDF4")
zarr = pytest.importorskip("zarr")

import plait
from plait.array import file_targets


def _dataset() -> xr.Dataset:
    rng = np.random.default_rng(7)
    time = pd.date_range("2000-01-01", periods=12, freq="MS")
    tos = rng.normal(20, 3, size=(12, 3, 4)).astype("f4")
    tos[2, 1, 1] = np.nan
    return xr.Dataset({"tos": (("time", "lat", "lon"), tos),
                       "count": (("time",), np.arange(12, dtype="i8"))},
                      coords={"time": time, "lat": np.arange(3.0), "lon": np.arange(4.0)},
                      attrs={"title": "plait write test"})


@pytest.fixture(scope="module")
def client():
    from plait.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, processes=False, dashboard_address=None)
    with Client(cluster, set_as_default=False) as c:
        yield c
    cluster.close()


def _spy(monkeypatch) -> list:
    """Record the netCDF variables handed to block tasks as file targets."""
    made: list = []
    original = file_targets.NetCDFTarget.from_xarray.__func__

    def from_xarray(cls, target):
        out = original(cls, target)
        made.append(out)
        return out

    monkeypatch.setattr(file_targets.NetCDFTarget, "from_xarray", classmethod(from_xarray))
    return made


def _check(got: xr.Dataset, full: xr.Dataset) -> None:
    # The anomaly's mean is summed in another order over blocks: equal to rounding.
    xr.testing.assert_allclose(got.anom, full.anom, rtol=1e-5, atol=1e-5)
    xr.testing.assert_identical(got.drop_vars("anom"), full.drop_vars("anom"))


def _write_and_check(tmp_path, scheduler, monkeypatch) -> None:
    expected = _dataset()
    lazy = expected.chunk({"time": 4}, chunked_array_type="plait")
    lazy = lazy.assign(anom=lazy.tos - lazy.tos.mean("time"))
    made = _spy(monkeypatch)
    with plait.config.set(scheduler=scheduler):
        lazy.to_netcdf(tmp_path / "out.nc", engine="netcdf4")
        # safe_chunks=False with zarr chunks of 3 along time: blocks of 4 share chunks,
        # so the writes take the lock plait supplies.
        lazy.to_zarr(tmp_path / "out.zarr", encoding={"tos": {"chunks": (3, 3, 4)}},
                     safe_chunks=False, zarr_format=3, consolidated=False)
    full = expected.assign(anom=expected.tos - expected.tos.mean("time"))
    with xr.open_dataset(tmp_path / "out.nc") as back:
        _check(back.load(), full)
    with xr.open_zarr(tmp_path / "out.zarr", chunked_array_type="plait",
                      consolidated=False) as back:
        _check(back.compute(scheduler="sync"), full)
    shipped = [t for t in made if t is not None]
    if scheduler in ("sync", "threads"):
        assert not made  # xarray's own targets, in this process
    else:
        assert sorted(t.variable for t in shipped) == ["anom", "count", "tos"]


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_round_trips_local_schedulers(tmp_path, scheduler, monkeypatch):
    _write_and_check(tmp_path, scheduler, monkeypatch)


def test_round_trips_in_process_client(tmp_path, client, monkeypatch):
    _write_and_check(tmp_path, client, monkeypatch)


def test_round_trips_client_with_worker_processes(tmp_path, monkeypatch):
    from plait.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster:
        with Client(cluster, set_as_default=False) as c:
            _write_and_check(tmp_path, c, monkeypatch)


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_to_netcdf_unlimited_dimension(tmp_path, scheduler):
    """A variable along an unlimited dimension starts empty and grows as blocks land."""
    expected = _dataset()
    lazy = expected.chunk({"time": 5}, chunked_array_type="plait")
    with plait.config.set(scheduler=scheduler):
        lazy.to_netcdf(tmp_path / "u.nc", unlimited_dims=["time"])
    with xr.open_dataset(tmp_path / "u.nc") as back:
        assert back.encoding["unlimited_dims"] == {"time"}
        xr.testing.assert_identical(back.load(), expected)


def test_targets_that_cannot_travel_are_written_here(tmp_path):
    """An in-memory netCDF (no path) and the scipy backend's netCDF-3 file are written
    by this process from the computed values, under processes too."""
    expected = _dataset().drop_vars("count")
    lazy = expected.chunk({"time": 4}, chunked_array_type="plait")
    with plait.config.set(scheduler="processes"):
        data = lazy.to_netcdf()
        if pytest.importorskip("scipy"):
            lazy.to_netcdf(tmp_path / "v3.nc", engine="scipy")
    with xr.open_dataset(bytes(data)) as back:
        xr.testing.assert_identical(back.load(), expected)
    with xr.open_dataset(tmp_path / "v3.nc", engine="scipy") as back:
        xr.testing.assert_identical(back.load(), expected)

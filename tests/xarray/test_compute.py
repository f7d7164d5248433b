"""plait.compute / persist / visualize on xarray objects; scheduler choice reaching
plait's schedulers."""

from __future__ import annotations

import numpy as np
import pytest

xr = pytest.importorskip("xarray")

import plait  # noqa: E402
import plait.array as pa  # noqa: E402


@pytest.fixture
def pair():
    values = np.arange(24.0).reshape(4, 6)
    ds = xr.Dataset({"a": (("x", "y"), values), "b": ("x", values[:, 0])},
                    coords={"x": np.arange(4)})
    return ds, ds.chunk({"x": 2}, chunked_array_type="plait")


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_plait_compute_of_xarray_objects(pair, scheduler):
    ds, lazy = pair
    da_out, ds_out, var_out, plain = plait.compute(lazy.a * 2, lazy + 1, lazy.b.variable, 3,
                                                   scheduler=scheduler)
    xr.testing.assert_identical(da_out, ds.a * 2)
    xr.testing.assert_identical(ds_out, ds + 1)
    xr.testing.assert_identical(var_out, ds.b.variable)
    assert plain == 3
    assert isinstance(da_out.data, np.ndarray)


def test_plait_persist_keeps_plait_arrays(pair):
    ds, lazy = pair
    (p,) = plait.persist(lazy * 3, scheduler="sync")
    assert isinstance(p.a.data, pa.Array)
    assert len(p.a.data.__plait_graph__()) == p.a.data.npartitions
    xr.testing.assert_identical(p.compute(), ds * 3)


def test_numpy_backed_objects_pass_through(pair):
    ds, _ = pair
    (out,) = plait.compute(ds)
    assert out is ds


def test_visualize_xarray_object(pair):
    _, lazy = pair
    img = plait.visualize(lazy.a + 1, filename=None, format="dot")
    assert b"add" in img.data or b"->" in img.data
    with pytest.raises(TypeError, match="visualize needs plait collections"):
        plait.visualize(xr.DataArray([1.0]), filename=None, format="dot")


def test_config_scheduler_and_executor(pair):
    from concurrent.futures import ThreadPoolExecutor

    ds, lazy = pair
    with plait.config.set(scheduler="processes"):
        xr.testing.assert_identical((lazy.a - 1).compute(), ds.a - 1)
    with ThreadPoolExecutor(2) as pool:
        xr.testing.assert_identical(lazy.a.sum("y").compute(scheduler=pool), ds.a.sum("y"))
    with pytest.raises(ValueError, match="unknown scheduler"):
        lazy.a.compute(scheduler="nonsense")


def test_distributed_client_as_default(pair, tmp_path):
    distributed = pytest.importorskip("plait.distributed")
    Client = getattr(distributed, "Client", None)
    if Client is None:
        pytest.skip("plait.distributed has no Client yet")
    ds, lazy = pair
    with Client(processes=False, n_workers=1, threads_per_worker=2,
                dashboard_address=None) as client:
        xr.testing.assert_identical((lazy.a * 2).compute(scheduler=client), ds.a * 2)
        # A Client becomes the default scheduler.
        gb = lazy.a.groupby("x")
        xr.testing.assert_allclose((gb - gb.mean()).compute(),
                                   ds.a.groupby("x") - ds.a.groupby("x").mean())
        # Writes with the Client as default: both written block by block by the workers.
        if pytest.importorskip("zarr"):
            lazy.to_zarr(tmp_path / "c.zarr")
            xr.testing.assert_identical(xr.open_zarr(tmp_path / "c.zarr").compute(), ds)
        pytest.importorskip("netCDF4")
        lazy.to_netcdf(tmp_path / "c.nc")
        with xr.open_dataset(tmp_path / "c.nc") as back:
            xr.testing.assert_identical(back.compute(), ds)

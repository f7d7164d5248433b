"""Monthly sea-surface-temperature anomalies with xarray on plait, under each scheduler.

From the seed "Distributed: Dask Schedulers" (the Dask tutorial's xarray cells): four
CESM2 ``tos`` files (one ensemble member each) opened with ``xr.open_mfdataset(...,
chunks={"time": 90})``, ``gb = dset.tos.groupby("time.month")``,
``tos_anom = gb - gb.mean(dim="time")``, then ``tos_anom.compute(scheduler=sch)`` for
threads, processes and one thread, and ``visualize`` of the graph.

Here ``chunked_array_type="plait"`` makes the chunks plait arrays (plait is also
xarray's default when Dask is not installed), ``plait.visualize`` draws the graph
(when Graphviz is installed) and ``plait.compute`` takes the xarray object itself.

No download: ``examples/data/make_sst.py`` writes four small files shaped like the
tutorial's (240 months x 45 x 90 here, against 1,980 x 180 x 360 there) into a
temporary folder. Every result is compared with the same computation on NumPy-backed
xarray (the files loaded into memory); the script exits non-zero on a difference.

The tutorial writes ``parallel=True``; xarray implements it by importing Dask, so this
script opens the files with ``parallel=False`` (only metadata is read; the data stay
lazy), and once more in parallel through plait with
``plait.array.xarray_open.open_mfdataset``.

Run it with ``python examples/xarray_anomaly.py`` (a few seconds).
"""

import os
import shutil
import sys
import tempfile
import time

import numpy as np
import xarray as xr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "data"))

import plait  # noqa: E402
from make_sst import MEMBERS, make  # noqa: E402
from plait.array.xarray_open import open_mfdataset  # noqa: E402


def anomaly(dset):
    gb = dset.tos.groupby("time.month")
    return gb - gb.mean(dim="time")


def main() -> int:
    folder = tempfile.mkdtemp(prefix="plait-sst-")
    try:
        files = sorted(str(p) for p in make(folder, months=240, nlat=45, nlon=90))
        dset = xr.open_mfdataset(files, concat_dim="ensemble_member", combine="nested",
                                 parallel=False, data_vars=["tos"], engine="netcdf4",
                                 chunks={"time": 90}, chunked_array_type="plait")
        dset["ensemble_member"] = list(MEMBERS)
        print(dset)
        tos_anom = anomaly(dset)
        print(tos_anom)

        # The reference: the same files read into memory (NumPy-backed, no chunks).
        in_memory = [xr.open_dataset(f, engine="netcdf4").load() for f in files]
        reference = anomaly(xr.concat(in_memory, dim="ensemble_member", data_vars=["tos"]))
        assert isinstance(reference.data, np.ndarray)
        ok = True
        for sch in ["threading", "processes", "sync"]:
            t0 = time.time()
            r = tos_anom.compute(scheduler=sch)
            t1 = time.time()
            print(f"{sch:>10}, {t1 - t0:0.4f} s; "
                  f"{r.min().data, r.max().data, r.mean().data}")
            same = np.allclose(r.values, reference.values, rtol=1e-5, atol=1e-5,
                               equal_nan=True)
            ok &= bool(same)
            if not same:
                print(f"  {sch}: differs from NumPy-backed xarray")

        # plait.compute takes xarray objects and gives them back computed.
        (r,) = plait.compute(tos_anom, scheduler="threads")
        ok &= isinstance(r, xr.DataArray) and bool(np.allclose(
            r.values, reference.values, rtol=1e-5, atol=1e-5, equal_nan=True))

        # Opening the files in parallel through plait (the tutorial's parallel=True).
        par = open_mfdataset(files, concat_dim="ensemble_member", combine="nested",
                             data_vars=["tos"], engine="netcdf4", chunks={"time": 90})
        ok &= bool(np.allclose(anomaly(par).values, reference.values, rtol=1e-5, atol=1e-5,
                               equal_nan=True))
        par.close()

        if shutil.which("dot"):
            out = os.path.join(folder, "tos_anom")
            plait.visualize(tos_anom.data, filename=out + ".svg")
            print(f"graph of {len(dict(tos_anom.data.__plait_graph__()))} tasks drawn")
        dset.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not ok:
        print("Anomalies differ from NumPy-backed xarray.")
        return 1
    print("All anomalies match NumPy-backed xarray.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

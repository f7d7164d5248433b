"""xarray on plait against xarray on Dask: the tutorial's monthly SST anomaly.

The Dask tutorial's "Distributed" lesson opens four CESM2 sea-surface-temperature files
with ``xr.open_mfdataset(..., chunks={"time": 90})``, computes
``gb = dset.tos.groupby("time.month"); tos_anom = gb - gb.mean(dim="time")`` and times
``tos_anom.compute(scheduler=...)`` under threads, processes and one thread. This
benchmark does the same on locally generated files of the tutorial's shape
(``examples/data/make_sst.py``: 4 members x 1,980 months x 180 x 360 float32, 2 GB of
netCDF, written once under ``$PLAIT_BENCH_SST_DIR``, default ``/tmp/plait_sst_full``),
once with ``chunked_array_type="plait"`` and once with Dask, each run in a fresh
interpreter (Dask's from the peer environment, ``.peers``), libraries taking turns.

    python -m benchmarks.bench_xarray                         # full size, all schedulers
    python -m benchmarks.bench_xarray --months 240 --nlat 90 --nlon 180   # smaller
    python -m benchmarks.bench_xarray --scheduler threads --output benchmarks/results/xarray.jsonl

Each run prints one JSON line (``library``, ``scheduler``, ``seconds`` of open + build +
compute, ``compute_seconds``, ``peak_mib`` of the run's process, and the result's min,
max and mean, which must agree between the libraries); a ratio table (plait / Dask)
goes to stderr at the end. Both environments have flox installed, so both take
xarray's flox path for the group-by mean (for plait, through plait's own routing).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import time
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_DIR = os.environ.get("PLAIT_BENCH_SST_DIR", "/tmp/plait_sst_full")
SCHEDULERS = ("threads", "processes", "sync")


def run_one(library: str, scheduler: str, files: list[str]) -> dict[str, Any]:
    """Open, build and compute the anomaly with ``library`` under ``scheduler``."""
    import xarray as xr

    lib = __import__(library)
    import_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    dset = xr.open_mfdataset(sorted(files), concat_dim="ensemble_member", combine="nested",
                             data_vars=["tos"], engine="netcdf4", chunks={"time": 90},
                             chunked_array_type=library)
    gb = dset.tos.groupby("time.month")
    tos_anom = gb - gb.mean(dim="time")
    built = time.perf_counter()
    r = tos_anom.compute(scheduler=scheduler)
    done = time.perf_counter()
    values = r.values
    return {
        "name": "xarray_sst_anomaly", "library": library, "version": lib.__version__,
        "scheduler": scheduler, "shape": list(values.shape),
        "seconds": round(done - t0, 3), "compute_seconds": round(done - built, 3),
        "build_seconds": round(built - t0, 3),
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "import_mib": round(import_mib, 1),
        "min": float(r.min()), "max": float(r.max()), "mean": float(r.mean()),
    }


def _python_for(library: str) -> str:
    if library == "plait":
        return sys.executable
    return os.environ.get("PLAIT_PEERS_PYTHON", str(ROOT / ".peers" / "bin" / "python"))


def _child(library: str, scheduler: str, files: list[str], timeout: float) -> dict[str, Any]:
    code = ("import json, sys; from benchmarks.bench_xarray import run_one; "
            "print(json.dumps(run_one(sys.argv[1], sys.argv[2], sys.argv[3:])))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        proc = subprocess.run([_python_for(library), "-c", code, library, scheduler, *files],
                              capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=str(ROOT))
    except subprocess.TimeoutExpired:
        return {"name": "xarray_sst_anomaly", "library": library, "scheduler": scheduler,
                "error": f"timed out after {timeout} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"name": "xarray_sst_anomaly", "library": library, "scheduler": scheduler,
                "error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else
                f"exit {proc.returncode}"}
    return json.loads(lines[-1])


def _table(rows: list[dict]) -> str:
    out = ["scheduler    plait s   dask s   plait/dask   plait MiB   dask MiB"]
    for sch in SCHEDULERS:
        p = next((r for r in rows if r["library"] == "plait" and r["scheduler"] == sch), None)
        d = next((r for r in rows if r["library"] == "dask" and r["scheduler"] == sch), None)
        if p is None and d is None:
            continue
        ps = p.get("seconds") if p else None
        ds = d.get("seconds") if d else None
        ratio = f"{ps / ds:10.2f}" if ps and ds else "         -"
        out.append(f"{sch:<10} {ps if ps is not None else '-':>9} {ds if ds is not None else '-':>8} "
                   f"{ratio}   {p.get('peak_mib', '-') if p else '-':>9} "
                   f"{d.get('peak_mib', '-') if d else '-':>8}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", default=DEFAULT_DIR)
    p.add_argument("--months", type=int, default=1980)
    p.add_argument("--nlat", type=int, default=180)
    p.add_argument("--nlon", type=int, default=360)
    p.add_argument("--scheduler", action="append", choices=SCHEDULERS)
    p.add_argument("--library", choices=("plait", "dask", "all"), default="all")
    p.add_argument("--timeout", type=float, default=900)
    p.add_argument("--output")
    a = p.parse_args(argv)
    sys.path.insert(0, str(ROOT / "examples" / "data"))
    from make_sst import make

    files = [str(f) for f in make(a.dir, a.months, a.nlat, a.nlon)]
    libraries = ("plait", "dask") if a.library == "all" else (a.library,)
    rows = []
    for sch in a.scheduler or SCHEDULERS:
        for lib in libraries:
            row = _child(lib, sch, files, a.timeout)
            row["data"] = f"4x{a.months}x{a.nlat}x{a.nlon} float32"
            print(json.dumps(row), flush=True)
            rows.append(row)
    ok = [r for r in rows if "error" not in r]
    if len({(round(r["min"], 3), round(r["max"], 3), round(r["mean"], 4)) for r in ok}) > 1:
        print("results differ between runs: " + json.dumps(
            [(r["library"], r["scheduler"], r["min"], r["max"], r["mean"]) for r in ok]),
            file=sys.stderr)
        return 1
    if a.output:
        with open(a.output, "a") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    print(_table(rows), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

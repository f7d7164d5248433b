"""Shuffle benchmarks: set_index, sort_values and a merge, plait against Dask, and
the disk shuffle's peak memory against its budget.

The data is generated inside the tasks (``from_map`` over partition numbers, the same
generator for both libraries), so no library holds it whole before the shuffle:

- ``set_index``: ``df.set_index("id")`` on ``--gb`` GB of (id int64, x, y float64,
  z int64); ``sort_values``: ``df.sort_values("x")`` on the same data;
- ``merge``: 10M rows (key, x) joined with 1M rows (key unique, y) on ``key``
  (``--merge-scale`` scales both);
- ``disk_memory`` (plait only): ``set_index`` through the disk shuffle under the sync
  scheduler with config ``shuffling.memory-budget`` set to a quarter of the data;
  reports the peak RSS above the RSS before computing, against the budget.

Results are not concatenated (that would time pandas' concat, not the shuffle): each
output partition is reduced to its length, first and last key, and whether it is
sorted, and the answers are checked (row count, order across partitions). Every
(benchmark, library) runs in a fresh interpreter (the peers from ``.peers``), under the
threads scheduler; one JSON line each, then a ratio table.

``python -m benchmarks.bench_dataframe_shuffle [--gb 1.0] [--only NAME] [--library L]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from plait.utils.memory import peak_rss, reset_peak_rss

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.environ.get("PLAIT_PEERS_PYTHON", os.path.join(ROOT, ".peers", "bin", "python"))
NAMES = ["set_index", "sort_values", "merge", "disk_memory"]
BYTES_PER_ROW = 32  # id, x, y, z
NPARTS = 16


# -- run inside the child ----------------------------------------------------------------

def make_part(i: int, rows: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(i)
    return pd.DataFrame({"id": rng.integers(0, 1 << 40, rows), "x": rng.normal(size=rows),
                         "y": rng.random(rows), "z": rng.integers(0, 1000, rows)})


def make_left(i: int, rows: int, nkeys: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1000 + i)
    return pd.DataFrame({"key": rng.integers(0, nkeys, rows), "x": rng.normal(size=rows)})


def make_right(i: int, rows: int) -> Any:
    import numpy as np
    import pandas as pd

    keys = np.arange(i * rows, (i + 1) * rows)
    return pd.DataFrame({"key": keys, "y": keys * 0.5})


def summary(part: Any, column: Any) -> Any:
    import pandas as pd

    values = (part.index if column is None else part[column]).to_numpy()
    return pd.DataFrame({"n": [len(part)],
                         "first": [values[0] if len(part) else float("nan")],
                         "last": [values[-1] if len(part) else float("nan")],
                         "sorted": [bool(pd.Index(values).is_monotonic_increasing)]})


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _check_sorted(s: Any, rows: int) -> None:
    assert int(s.n.sum()) == rows, (int(s.n.sum()), rows)
    s = s[s.n > 0]
    assert s.sorted.all(), "a partition is not sorted"
    assert (s["first"].to_numpy()[1:] >= s["last"].to_numpy()[:-1]).all(), "partitions overlap"


def child(library: str, name: str, gb: float, merge_scale: float) -> dict:
    import functools

    import pandas as pd

    if library == "dask":
        import dask
        import dask.dataframe as dd

        version = dask.__version__
        dask.config.set(scheduler="threads")
    else:
        import plait
        import plait.dataframe as dd

        version = getattr(plait, "__version__", "dev")
        plait.config.set(scheduler="threads")
    rows = int(gb * 1e9 / BYTES_PER_ROW / NPARTS)
    meta = make_part(0, 0)
    smeta = summary(meta, "x").iloc[:0]
    record: dict = {"name": name, "library": library, "version": version, "gb": gb}
    baseline = _rss()
    reset_peak_rss()
    start = time.perf_counter()
    if name in ("set_index", "sort_values", "disk_memory"):
        df = dd.from_map(functools.partial(make_part, rows=rows), list(range(NPARTS)), meta=meta)
        if name == "sort_values":
            out = df.sort_values("x")
            s = out.map_partitions(summary, "x", meta=smeta).compute()
        elif name == "disk_memory":
            budget = int(gb * 1e9 / 4)
            record["budget_mib"] = budget / 2**20
            with plait.config.set({"scheduler": "sync", "shuffling.memory-budget": budget}):
                out = df.set_index("id")
                s = out.map_partitions(summary, None, meta=smeta).compute()
            record["npartitions"] = out.npartitions
        else:
            out = df.set_index("id")
            s = out.map_partitions(summary, None, meta=smeta).compute()
        _check_sorted(s, rows * NPARTS)
        record["rows"] = rows * NPARTS
    else:  # merge
        nleft, nright = int(10_000_000 * merge_scale), int(1_000_000 * merge_scale)
        left = dd.from_map(functools.partial(make_left, rows=nleft // 10, nkeys=nright),
                           list(range(10)), meta=make_left(0, 0, 1))
        right = dd.from_map(functools.partial(make_right, rows=nright // 4), list(range(4)),
                            meta=make_right(0, 0))
        joined = left.merge(right, on="key")
        n = joined.map_partitions(len).compute()
        total = int(pd.Series(n).sum())
        assert total == (nleft // 10) * 10, (total, nleft)  # every key has one match
        record["rows"] = total
    record["seconds"] = time.perf_counter() - start
    record["peak_over_start_mib"] = (peak_rss() - baseline) / 2**20
    return record


# -- the driver ------------------------------------------------------------------------------

def run_child(library: str, name: str, gb: float, merge_scale: float, timeout: float) -> dict:
    python = sys.executable if library == "plait" else PEERS
    if not os.path.exists(python):
        return {"name": name, "library": library, "error": f"no interpreter {python}"}
    code = ("import json, sys; from benchmarks.bench_dataframe_shuffle import child; "
            f"print(json.dumps(child({library!r}, {name!r}, {gb!r}, {merge_scale!r}), default=str))")
    env = dict(os.environ, PYTHONPATH=ROOT)
    try:
        proc = subprocess.run([python, "-c", code], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"name": name, "library": library, "error": f"timed out after {timeout} s"}
    if proc.returncode != 0:
        return {"name": name, "library": library, "error": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gb", type=float, default=1.0)
    p.add_argument("--merge-scale", type=float, default=1.0)
    p.add_argument("--only", action="append", choices=NAMES)
    p.add_argument("--library", action="append", choices=["plait", "dask"])
    p.add_argument("--timeout", type=float, default=1200)
    p.add_argument("--output")
    args = p.parse_args(argv)
    records = []
    for name in args.only or NAMES:
        for library in args.library or ["plait", "dask"]:
            if name == "disk_memory" and library != "plait":
                continue
            r = run_child(library, name, args.gb, args.merge_scale, args.timeout)
            print(json.dumps(r, default=str), flush=True)
            records.append(r)
            if args.output:
                with open(args.output, "a") as f:
                    f.write(json.dumps(r, default=str) + "\n")
    print("\nname          plait s   dask s   ratio   plait peak MiB   dask peak MiB")
    for name in args.only or NAMES:
        got = {r["library"]: r for r in records if r["name"] == name and "seconds" in r}
        if "plait" not in got:
            continue
        pl, dk = got["plait"], got.get("dask")
        ratio = f"{pl['seconds'] / dk['seconds']:.2f}" if dk else "-"
        print(f"{name:12s} {pl['seconds']:8.1f} {dk['seconds'] if dk else float('nan'):8.1f} "
              f"{ratio:>7s} {pl['peak_over_start_mib']:14.0f} "
              f"{dk['peak_over_start_mib'] if dk else float('nan'):15.0f}"
              + (f"   (budget {pl['budget_mib']:.0f} MiB)" if "budget_mib" in pl else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

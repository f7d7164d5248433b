"""Parquet pushdown: how many bytes ``read_parquet(path).query(...)[cols]`` reads.

Data: 8 Parquet files of 1,000,000 rows each (``id`` sorted across files, ``g`` a small
int, ``c0`` .. ``c7`` floats), row groups of 100,000 rows, written once into
``$PLAIT_BENCH_PARQUET_DIR`` (default ``/tmp/plait-bench-parquet``).

The query ``read_parquet(path).query("id >= 6_000_000 and g == 3")[["c1", "c2"]].sum()``
needs 4 of 10 columns and the row groups whose ``id`` statistics reach 6,000,000 (20 of
80). plait reads through a filesystem that counts the bytes handed out by its files, so
the figure is what was really read (footers included), not an estimate; it is printed
against the total size of the files, with the optimized plan, the time, and the time of
a full read (``read_parquet(path).sum()``). With ``--dask`` the same query runs under
Dask from the peers' environment (time only).

``python -m benchmarks.bench_parquet [--dask]``; prints one JSON line per measurement.

One run (2-core machine shared with other jobs, threads scheduler): the query read
53.6 MB of 693.5 MB (7.7%, footers included) in 0.34 s; the full read took 1.34 s and
read 100.1% (footers twice: planning and tasks); Dask ran the same query in 1.15 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

DATA_DIR = os.environ.get("PLAIT_BENCH_PARQUET_DIR", "/tmp/plait-bench-parquet")
NFILES, ROWS, GROUP = 8, 1_000_000, 100_000
QUERY = "id >= 6_000_000 and g == 3"
COLUMNS = ["c1", "c2"]


def make_files() -> str:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(DATA_DIR, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(NFILES):
        path = os.path.join(DATA_DIR, f"part.{i}.parquet")
        if os.path.exists(path):
            continue
        cols = {"id": np.arange(i * ROWS, (i + 1) * ROWS), "g": rng.integers(0, 8, ROWS)}
        cols.update({f"c{k}": rng.normal(size=ROWS) for k in range(8)})
        pq.write_table(pa.Table.from_pandas(pd.DataFrame(cols), preserve_index=False),
                       path + ".tmp", row_group_size=GROUP)
        os.replace(path + ".tmp", path)
    return DATA_DIR


def _counting_fs() -> tuple:
    """A local filesystem (protocol ``countfile``) that counts bytes read."""
    import fsspec
    from fsspec.implementations.local import LocalFileOpener, LocalFileSystem

    counter = {"bytes": 0}
    lock = threading.Lock()

    class CountingOpener(LocalFileOpener):
        def read(self, *args, **kwargs):
            data = super().read(*args, **kwargs)
            with lock:
                counter["bytes"] += len(data)
            return data

        def readinto(self, b):
            n = super().readinto(b)
            with lock:
                counter["bytes"] += n or 0
            return n

    class CountingFS(LocalFileSystem):
        protocol = ("countfile",)

        def _open(self, path, mode="rb", block_size=None, **kwargs):
            path = self._strip_protocol(path)
            return CountingOpener(path, mode, fs=self, **kwargs)

    fsspec.register_implementation("countfile", CountingFS, clobber=True)
    return counter


def run_plait() -> list:
    import pandas as pd

    import plait.dataframe as dd

    folder = make_files()
    counter = _counting_fs()
    total = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)
                if f.endswith(".parquet"))
    out = []

    counter["bytes"] = 0
    t = time.perf_counter()
    q = dd.read_parquet("countfile://" + folder).query(QUERY)[COLUMNS].sum()
    got = q.compute(scheduler="threads")
    seconds = time.perf_counter() - t
    plan = dd.read_parquet(folder).query(QUERY)[COLUMNS].optimize().expr.tree_repr()
    # check against pandas reading everything
    full = pd.read_parquet(folder)
    expected = full.query(QUERY)[COLUMNS].sum()
    pd.testing.assert_series_equal(got, expected, check_exact=False, rtol=1e-9)
    out.append({"name": "parquet_query_columns", "library": "plait", "seconds": seconds,
                "bytes_read": counter["bytes"], "bytes_total": total,
                "fraction_read": round(counter["bytes"] / total, 4), "plan": plan})

    counter["bytes"] = 0
    t = time.perf_counter()
    dd.read_parquet("countfile://" + folder).sum().compute(scheduler="threads")
    out.append({"name": "parquet_full_sum", "library": "plait",
                "seconds": time.perf_counter() - t, "bytes_read": counter["bytes"],
                "bytes_total": total, "fraction_read": round(counter["bytes"] / total, 4)})
    return out


_DASK = f"""
import time, dask.dataframe as dd
t = time.perf_counter()
dd.read_parquet({DATA_DIR!r}).query({QUERY!r})[{COLUMNS!r}].sum().compute(scheduler="threads")
print(time.perf_counter() - t)
"""


def run_dask() -> list:
    peers = os.environ.get("PLAIT_PEERS_PYTHON",
                           os.path.join(os.path.dirname(__file__), "..", ".peers", "bin",
                                        "python"))
    if not os.path.exists(peers):
        print("bench_parquet: no peers interpreter; Dask skipped", file=sys.stderr)
        return []
    res = subprocess.run([peers, "-c", _DASK], capture_output=True, text=True, timeout=600,
                         check=False)
    if res.returncode:
        return [{"name": "parquet_query_columns", "library": "dask", "error": res.stderr[-500:]}]
    return [{"name": "parquet_query_columns", "library": "dask",
             "seconds": float(res.stdout.split()[-1])}]


def main(argv: list | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dask", action="store_true", help="also time the query in Dask")
    args = parser.parse_args(argv)
    rows = run_plait() + (run_dask() if args.dask else [])
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()

"""Parquet pushdown: how many bytes ``read_parquet(path).query(...)[cols]`` reads.

Data: 8 Parquet files of 1,000,000 rows each (``id`` sorted across files, ``g`` a small
int, ``c0`` .. ``c7`` floats), row groups of 100,000 rows, written once into
``$PLAIT_BENCH_PARQUET_DIR`` (default ``/tmp/plait-bench-parquet``).

The query ``read_parquet(path).query("id >= 6_000_000 and g == 3")[["c1", "c2"]].sum()``
needs 4 of 10 columns and the row groups whose ``id`` statistics reach 6,000,000 (20 of
80). plait reads through a filesystem that counts the bytes handed out by its files, so
the figure is what was really read (footers included), not an estimate; it is printed
against the total size of the files, with the optimized plan, the time, and the time of
a full read (``read_parquet(path).sum()``). The same query then runs in Dask
(``dd.read_parquet(path).query(...)[cols].sum()``), DuckDB (SQL over ``read_parquet``,
2 threads) and Polars (``scan_parquet``, 2 threads), each in a fresh interpreter of the
peers' environment, their sums checked against pandas'; the ratios plait/peer go to
stderr.

``python -m benchmarks.bench_parquet [--peer dask] [--no-peers]``; prints one JSON line
per measurement.

One run (2-core machine shared with other jobs, threads scheduler): the query read
53.6 MB of 693.5 MB (7.7%, footers included) in 0.17 s; the full read read 100.1%
(footers twice: planning and tasks); Dask 1.17 s (plait/Dask 0.14), DuckDB 0.12 s
(plait/DuckDB 1.44), Polars 0.12 s (plait/Polars 1.38).
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
PEERS = ("dask", "duckdb", "polars")


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
                "fraction_read": round(counter["bytes"] / total, 4), "plan": plan,
                "sums": [float(expected[c]) for c in COLUMNS]})

    counter["bytes"] = 0
    t = time.perf_counter()
    dd.read_parquet("countfile://" + folder).sum().compute(scheduler="threads")
    out.append({"name": "parquet_full_sum", "library": "plait",
                "seconds": time.perf_counter() - t, "bytes_read": counter["bytes"],
                "bytes_total": total, "fraction_read": round(counter["bytes"] / total, 4)})
    return out


_PEER_CODE = {
    "dask": """
import dask.dataframe as dd
got = dd.read_parquet(FOLDER).query(QUERY)[COLUMNS].sum().compute(scheduler="threads")
out = [float(got[c]) for c in COLUMNS]
""",
    "duckdb": """
import duckdb
con = duckdb.connect()
con.execute("SET threads TO 2")
out = list(con.execute(
    "SELECT " + ", ".join(f"sum({c})" for c in COLUMNS) +
    f" FROM read_parquet('{FOLDER}/*.parquet') WHERE id >= 6000000 AND g = 3").fetchone())
""",
    "polars": """
import polars as pl
got = (pl.scan_parquet(FOLDER + "/*.parquet")
       .filter((pl.col("id") >= 6_000_000) & (pl.col("g") == 3))
       .select([pl.col(c).sum() for c in COLUMNS]).collect())
out = [float(got[c][0]) for c in COLUMNS]
""",
}


def _peer_script(library: str) -> str:
    return (f"import json, time\nimport pandas, pyarrow\nFOLDER = {DATA_DIR!r}\n"
            f"QUERY = {QUERY!r}\nCOLUMNS = {COLUMNS!r}\nt = time.perf_counter()\n"
            + _PEER_CODE[library] +
            "print(json.dumps({'seconds': time.perf_counter() - t, 'sums': out}))\n")


def run_peers(libraries: list, expected: list) -> list:
    """The query in each peer library, each in a fresh interpreter of the peers'
    environment (time, and a check of its sums against pandas')."""
    import math

    peers = os.environ.get("PLAIT_PEERS_PYTHON",
                           os.path.join(os.path.dirname(__file__), "..", ".peers", "bin",
                                        "python"))
    if not os.path.exists(peers):
        print("bench_parquet: no peers interpreter; peers skipped", file=sys.stderr)
        return []
    env = dict(os.environ, POLARS_MAX_THREADS="2")
    out = []
    for library in libraries:
        res = subprocess.run([peers, "-c", _peer_script(library)], capture_output=True,
                             text=True, timeout=600, check=False, env=env)
        row = {"name": "parquet_query_columns", "library": library}
        if res.returncode:
            row["error"] = res.stderr[-500:]
        else:
            got = json.loads(res.stdout.splitlines()[-1])
            row["seconds"] = got["seconds"]
            if not all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(got["sums"], expected)):
                row["error"] = f"sums {got['sums']} differ from pandas' {expected}"
        out.append(row)
    return out


def main(argv: list | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", action="append", choices=PEERS,
                        help="repeatable; default: all of " + ", ".join(PEERS))
    parser.add_argument("--no-peers", action="store_true", help="plait only")
    parser.add_argument("--dask", action="store_true", help=argparse.SUPPRESS)  # old flag
    args = parser.parse_args(argv)
    rows = run_plait()
    if not args.no_peers:
        rows += run_peers(args.peer or list(PEERS), rows[0]["sums"])
    for row in rows:
        print(json.dumps(row))
    mine = rows[0]["seconds"]
    print(f"read {rows[0]['bytes_read'] / 1e6:.1f} MB of {rows[0]['bytes_total'] / 1e6:.1f} MB "
          f"({100 * rows[0]['fraction_read']:.1f}%); plait {mine:.2f} s", file=sys.stderr)
    for row in rows[2:]:
        if "seconds" in row:
            print(f"  {row['library']:7} {row['seconds']:.2f} s   plait/{row['library']} "
                  f"{mine / row['seconds']:.2f}", file=sys.stderr)
        else:
            print(f"  {row['library']:7} failed: {row.get('error')}", file=sys.stderr)


if __name__ == "__main__":
    main()

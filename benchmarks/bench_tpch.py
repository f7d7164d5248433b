"""TPC-H-like queries over local Parquet: plait against Dask, DuckDB and Polars.

Six queries in the spirit of TPC-H Q1, Q3, Q5, Q6, Q10 and Q12 (filters, joins of up to
six tables, group-bys, sorts with ``head``) over the tables that
:mod:`benchmarks.tpch_data` writes (scale factor 1 by default: about 6 million
``lineitem`` rows in 8 files, 1.5 million ``orders`` in 4).

plait and Dask run the same code (``dd`` is ``plait.dataframe`` or
``dask.dataframe``), written as a user of either would write it: ``read_parquet`` of a
table's folder with no ``columns=``, so that choosing the columns and pushing the
filters into the reads is the library's job. DuckDB runs the SQL over ``read_parquet``
of the same files (2 threads) and Polars the same plan over ``scan_parquet``.

Every (library, query) runs in a fresh interpreter of its own (plait under this
interpreter, the peers under ``.peers/bin/python``), one after the other, so none shares
memory, threads or caches with another; the time covers planning, reading and
computing to a pandas result, not the import. Each answer is normalised (column
names, row order, dates as ISO strings) and checked against DuckDB's (floats to a
relative 1e-6). One JSON line per run goes to ``benchmarks/results/tpch.jsonl``
(``--output``), and a table of seconds and the ratios plait/Dask, plait/DuckDB,
plait/Polars to stderr. The figures are single runs on whatever machine ran them.

``python -m benchmarks.bench_tpch [--sf 1] [--only q3] [--library plait] [--repeat N]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.environ.get("PLAIT_PEERS_PYTHON", os.path.join(ROOT, ".peers", "bin", "python"))
DEFAULT_OUTPUT = os.path.join(ROOT, "benchmarks", "results", "tpch.jsonl")
LIBRARIES = ("plait", "dask", "duckdb", "polars")
QUERIES = ("q1", "q3", "q5", "q6", "q10", "q12")
REFERENCE = "duckdb"

# the columns of each answer, in order
COLUMNS = {
    "q1": ["l_returnflag", "l_linestatus", "sum_qty", "sum_base_price", "sum_disc_price",
           "sum_charge", "avg_qty", "avg_price", "avg_disc", "count_order"],
    "q3": ["l_orderkey", "revenue", "o_orderdate", "o_shippriority"],
    "q5": ["n_name", "revenue"],
    "q6": ["revenue"],
    "q10": ["c_custkey", "c_name", "revenue", "c_acctbal", "n_name", "c_address", "c_phone",
            "c_comment"],
    "q12": ["l_shipmode", "high_line_count", "low_line_count"],
}


# -- plait and Dask: one code path, ``dd`` is the library's dataframe module ------------

def _ts(text: str) -> Any:
    import pandas as pd

    return pd.Timestamp(text)


def dd_q1(dd: Any, root: str) -> Any:
    li = dd.read_parquet(f"{root}/lineitem")
    li = li[li.l_shipdate <= _ts("1998-09-02")]
    li = li.assign(disc_price=li.l_extendedprice * (1 - li.l_discount))
    li = li.assign(charge=li.disc_price * (1 + li.l_tax))
    out = li.groupby(["l_returnflag", "l_linestatus"]).agg(
        sum_qty=("l_quantity", "sum"), sum_base_price=("l_extendedprice", "sum"),
        sum_disc_price=("disc_price", "sum"), sum_charge=("charge", "sum"),
        avg_qty=("l_quantity", "mean"), avg_price=("l_extendedprice", "mean"),
        avg_disc=("l_discount", "mean"), count_order=("l_quantity", "size"))
    return out.compute().reset_index().sort_values(["l_returnflag", "l_linestatus"])


def dd_q3(dd: Any, root: str) -> Any:
    date = _ts("1995-03-15")
    c = dd.read_parquet(f"{root}/customer")
    o = dd.read_parquet(f"{root}/orders")
    li = dd.read_parquet(f"{root}/lineitem")
    c = c[c.c_mktsegment == "BUILDING"]
    o = o[o.o_orderdate < date]
    li = li[li.l_shipdate > date]
    j = c.merge(o, left_on="c_custkey", right_on="o_custkey")
    j = j.merge(li, left_on="o_orderkey", right_on="l_orderkey")
    j = j.assign(revenue=j.l_extendedprice * (1 - j.l_discount))
    out = j.groupby(["l_orderkey", "o_orderdate", "o_shippriority"]).revenue.sum()
    out = out.reset_index().sort_values(["revenue", "o_orderdate"], ascending=[False, True])
    return out.head(10)


def dd_q5(dd: Any, root: str) -> Any:
    start, end = _ts("1994-01-01"), _ts("1995-01-01")
    region = dd.read_parquet(f"{root}/region")
    nation = dd.read_parquet(f"{root}/nation")
    supplier = dd.read_parquet(f"{root}/supplier")
    c = dd.read_parquet(f"{root}/customer")
    o = dd.read_parquet(f"{root}/orders")
    li = dd.read_parquet(f"{root}/lineitem")
    o = o[(o.o_orderdate >= start) & (o.o_orderdate < end)]
    r = region[region.r_name == "ASIA"]
    n = nation.merge(r, left_on="n_regionkey", right_on="r_regionkey")
    s = supplier.merge(n, left_on="s_nationkey", right_on="n_nationkey")
    j = c.merge(o, left_on="c_custkey", right_on="o_custkey")
    j = j.merge(li, left_on="o_orderkey", right_on="l_orderkey")
    j = j.merge(s, left_on=["l_suppkey", "c_nationkey"], right_on=["s_suppkey", "s_nationkey"])
    j = j.assign(revenue=j.l_extendedprice * (1 - j.l_discount))
    out = j.groupby("n_name").revenue.sum().compute()
    return out.reset_index().sort_values("revenue", ascending=False)


def dd_q6(dd: Any, root: str) -> Any:
    import pandas as pd

    li = dd.read_parquet(f"{root}/lineitem")
    li = li[(li.l_shipdate >= _ts("1994-01-01")) & (li.l_shipdate < _ts("1995-01-01"))
            & (li.l_discount >= 0.05) & (li.l_discount <= 0.07) & (li.l_quantity < 24)]
    revenue = (li.l_extendedprice * li.l_discount).sum().compute()
    return pd.DataFrame({"revenue": [revenue]})


def dd_q10(dd: Any, root: str) -> Any:
    start, end = _ts("1993-10-01"), _ts("1994-01-01")
    c = dd.read_parquet(f"{root}/customer")
    o = dd.read_parquet(f"{root}/orders")
    li = dd.read_parquet(f"{root}/lineitem")
    nation = dd.read_parquet(f"{root}/nation")
    o = o[(o.o_orderdate >= start) & (o.o_orderdate < end)]
    li = li[li.l_returnflag == "R"]
    j = c.merge(o, left_on="c_custkey", right_on="o_custkey")
    j = j.merge(li, left_on="o_orderkey", right_on="l_orderkey")
    j = j.merge(nation, left_on="c_nationkey", right_on="n_nationkey")
    j = j.assign(revenue=j.l_extendedprice * (1 - j.l_discount))
    keys = ["c_custkey", "c_name", "c_acctbal", "c_phone", "n_name", "c_address", "c_comment"]
    out = j.groupby(keys).revenue.sum().reset_index()
    return out.sort_values(["revenue", "c_custkey"], ascending=[False, True]).head(20)


def dd_q12(dd: Any, root: str) -> Any:
    start, end = _ts("1994-01-01"), _ts("1995-01-01")
    o = dd.read_parquet(f"{root}/orders")
    li = dd.read_parquet(f"{root}/lineitem")
    li = li[li.l_shipmode.isin(["MAIL", "SHIP"]) & (li.l_commitdate < li.l_receiptdate)
            & (li.l_shipdate < li.l_commitdate) & (li.l_receiptdate >= start)
            & (li.l_receiptdate < end)]
    j = o.merge(li, left_on="o_orderkey", right_on="l_orderkey")
    high = j.o_orderpriority.isin(["1-URGENT", "2-HIGH"])
    j = j.assign(high_line_count=high.astype("int64"), low_line_count=(~high).astype("int64"))
    out = j.groupby("l_shipmode")[["high_line_count", "low_line_count"]].sum().compute()
    return out.reset_index().sort_values("l_shipmode")


# -- DuckDB -------------------------------------------------------------------------------

SQL = {
    "q1": """
        SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty,
               sum(l_extendedprice) AS sum_base_price,
               sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
               sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
               avg(l_quantity) AS avg_qty, avg(l_extendedprice) AS avg_price,
               avg(l_discount) AS avg_disc, count(*) AS count_order
        FROM lineitem WHERE l_shipdate <= TIMESTAMP '1998-09-02'
        GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus""",
    "q3": """
        SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue,
               o_orderdate, o_shippriority
        FROM customer, orders, lineitem
        WHERE c_mktsegment = 'BUILDING' AND c_custkey = o_custkey
          AND l_orderkey = o_orderkey AND o_orderdate < TIMESTAMP '1995-03-15'
          AND l_shipdate > TIMESTAMP '1995-03-15'
        GROUP BY l_orderkey, o_orderdate, o_shippriority
        ORDER BY revenue DESC, o_orderdate LIMIT 10""",
    "q5": """
        SELECT n_name, sum(l_extendedprice * (1 - l_discount)) AS revenue
        FROM customer, orders, lineitem, supplier, nation, region
        WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND l_suppkey = s_suppkey
          AND c_nationkey = s_nationkey AND s_nationkey = n_nationkey
          AND n_regionkey = r_regionkey AND r_name = 'ASIA'
          AND o_orderdate >= TIMESTAMP '1994-01-01' AND o_orderdate < TIMESTAMP '1995-01-01'
        GROUP BY n_name ORDER BY revenue DESC""",
    "q6": """
        SELECT sum(l_extendedprice * l_discount) AS revenue FROM lineitem
        WHERE l_shipdate >= TIMESTAMP '1994-01-01' AND l_shipdate < TIMESTAMP '1995-01-01'
          AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24""",
    "q10": """
        SELECT c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) AS revenue,
               c_acctbal, n_name, c_address, c_phone, c_comment
        FROM customer, orders, lineitem, nation
        WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey
          AND o_orderdate >= TIMESTAMP '1993-10-01' AND o_orderdate < TIMESTAMP '1994-01-01'
          AND l_returnflag = 'R' AND c_nationkey = n_nationkey
        GROUP BY c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment
        ORDER BY revenue DESC, c_custkey LIMIT 20""",
    "q12": """
        SELECT l_shipmode,
               sum(CASE WHEN o_orderpriority IN ('1-URGENT', '2-HIGH') THEN 1 ELSE 0 END)
                   AS high_line_count,
               sum(CASE WHEN o_orderpriority NOT IN ('1-URGENT', '2-HIGH') THEN 1 ELSE 0 END)
                   AS low_line_count
        FROM orders, lineitem
        WHERE o_orderkey = l_orderkey AND l_shipmode IN ('MAIL', 'SHIP')
          AND l_commitdate < l_receiptdate AND l_shipdate < l_commitdate
          AND l_receiptdate >= TIMESTAMP '1994-01-01'
          AND l_receiptdate < TIMESTAMP '1995-01-01'
        GROUP BY l_shipmode ORDER BY l_shipmode""",
}


def duckdb_query(name: str, root: str) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    for table in ("lineitem", "orders", "customer", "part", "supplier", "nation", "region"):
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{root}/{table}/*.parquet')")
    return con.execute(SQL[name]).df()


# -- Polars -------------------------------------------------------------------------------

def polars_query(name: str, root: str) -> Any:
    import datetime as dt

    import polars as pl

    def scan(table: str) -> Any:
        return pl.scan_parquet(f"{root}/{table}/*.parquet")

    def d(text: str) -> Any:
        return dt.datetime.fromisoformat(text)

    rev = (pl.col("l_extendedprice") * (1 - pl.col("l_discount"))).alias("revenue")
    if name == "q1":
        disc = pl.col("l_extendedprice") * (1 - pl.col("l_discount"))
        q = (scan("lineitem").filter(pl.col("l_shipdate") <= d("1998-09-02"))
             .group_by("l_returnflag", "l_linestatus")
             .agg(pl.col("l_quantity").sum().alias("sum_qty"),
                  pl.col("l_extendedprice").sum().alias("sum_base_price"),
                  disc.sum().alias("sum_disc_price"),
                  (disc * (1 + pl.col("l_tax"))).sum().alias("sum_charge"),
                  pl.col("l_quantity").mean().alias("avg_qty"),
                  pl.col("l_extendedprice").mean().alias("avg_price"),
                  pl.col("l_discount").mean().alias("avg_disc"),
                  pl.len().alias("count_order"))
             .sort("l_returnflag", "l_linestatus"))
    elif name == "q3":
        date = d("1995-03-15")
        q = (scan("customer").filter(pl.col("c_mktsegment") == "BUILDING")
             .join(scan("orders").filter(pl.col("o_orderdate") < date),
                   left_on="c_custkey", right_on="o_custkey")
             .join(scan("lineitem").filter(pl.col("l_shipdate") > date),
                   left_on="o_orderkey", right_on="l_orderkey")
             .group_by("o_orderkey", "o_orderdate", "o_shippriority")
             .agg(rev.sum())
             .rename({"o_orderkey": "l_orderkey"})
             .sort(["revenue", "o_orderdate"], descending=[True, False]).head(10))
    elif name == "q5":
        q = (scan("customer")
             .join(scan("orders").filter(pl.col("o_orderdate").is_between(
                 d("1994-01-01"), d("1995-01-01"), closed="left")),
                 left_on="c_custkey", right_on="o_custkey")
             .join(scan("lineitem"), left_on="o_orderkey", right_on="l_orderkey")
             .join(scan("supplier"), left_on=["l_suppkey", "c_nationkey"],
                   right_on=["s_suppkey", "s_nationkey"])
             .join(scan("nation"), left_on="c_nationkey", right_on="n_nationkey")
             .join(scan("region").filter(pl.col("r_name") == "ASIA"),
                   left_on="n_regionkey", right_on="r_regionkey")
             .group_by("n_name").agg(rev.sum()).sort("revenue", descending=True))
    elif name == "q6":
        q = (scan("lineitem")
             .filter(pl.col("l_shipdate").is_between(d("1994-01-01"), d("1995-01-01"),
                                                     closed="left")
                     & pl.col("l_discount").is_between(0.05, 0.07)
                     & (pl.col("l_quantity") < 24))
             .select((pl.col("l_extendedprice") * pl.col("l_discount")).sum().alias("revenue")))
    elif name == "q10":
        q = (scan("customer")
             .join(scan("orders").filter(pl.col("o_orderdate").is_between(
                 d("1993-10-01"), d("1994-01-01"), closed="left")),
                 left_on="c_custkey", right_on="o_custkey")
             .join(scan("lineitem").filter(pl.col("l_returnflag") == "R"),
                   left_on="o_orderkey", right_on="l_orderkey")
             .join(scan("nation"), left_on="c_nationkey", right_on="n_nationkey")
             .group_by("c_custkey", "c_name", "c_acctbal", "c_phone", "n_name", "c_address",
                       "c_comment")
             .agg(rev.sum())
             .sort(["revenue", "c_custkey"], descending=[True, False]).head(20))
    elif name == "q12":
        high = pl.col("o_orderpriority").is_in(["1-URGENT", "2-HIGH"])
        q = (scan("orders")
             .join(scan("lineitem").filter(
                 pl.col("l_shipmode").is_in(["MAIL", "SHIP"])
                 & (pl.col("l_commitdate") < pl.col("l_receiptdate"))
                 & (pl.col("l_shipdate") < pl.col("l_commitdate"))
                 & pl.col("l_receiptdate").is_between(d("1994-01-01"), d("1995-01-01"),
                                                      closed="left")),
                 left_on="o_orderkey", right_on="l_orderkey")
             .group_by("l_shipmode")
             .agg(high.cast(pl.Int64).sum().alias("high_line_count"),
                  (~high).cast(pl.Int64).sum().alias("low_line_count"))
             .sort("l_shipmode"))
    else:
        raise KeyError(name)
    return q.collect().to_pandas()


# -- one run, in a child process ----------------------------------------------------------

def _records(frame: Any, name: str) -> list:
    """The answer as JSON-ready rows: canonical columns, dates as ISO strings."""
    import pandas as pd

    frame = frame[COLUMNS[name]].reset_index(drop=True)
    rows = []
    for row in frame.itertuples(index=False):
        out = []
        for v in row:
            if isinstance(v, (pd.Timestamp,)) or hasattr(v, "isoformat"):
                out.append(pd.Timestamp(v).strftime("%Y-%m-%d"))
            elif hasattr(v, "item"):
                out.append(v.item())
            else:
                out.append(v)
        rows.append(out)
    return rows


def run_child(library: str, name: str, root: str) -> dict:
    """Import ``library``, run query ``name`` once, and describe the run."""
    # imported before the clock starts, for every library: DuckDB and Polars hand their
    # answers over through pandas and pyarrow, plait and Dask read through them (and
    # fsspec), each importing them on its first read otherwise
    import fsspec  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow
    import pyarrow.parquet  # noqa: F401

    record: dict = {"name": name, "library": library}
    if library in ("plait", "dask"):
        import importlib

        lib = importlib.import_module(library)
        dd = importlib.import_module(f"{library}.dataframe")
        record["version"] = getattr(lib, "__version__", None)
        func = globals()[f"dd_{name}"]
        with lib.config.set(scheduler="threads"):
            t0 = time.perf_counter()
            frame = func(dd, root)
            seconds = time.perf_counter() - t0
    else:
        import importlib

        record["version"] = importlib.import_module(library).__version__
        func = duckdb_query if library == "duckdb" else polars_query
        t0 = time.perf_counter()
        frame = func(name, root)
        seconds = time.perf_counter() - t0
    record["seconds"] = round(seconds, 4)
    record["peak_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    record["rows"] = len(frame)
    record["result"] = _records(frame, name)
    return record


# -- the parent: runs, checks, table --------------------------------------------------------

def _same(a: list, b: list) -> str | None:
    """None when two answers agree (floats to 1e-6 relative), else what differs."""
    if len(a) != len(b):
        return f"{len(a)} rows against {len(b)}"
    for i, (ra, rb) in enumerate(zip(a, b)):
        for va, vb in zip(ra, rb):
            if isinstance(va, float) or isinstance(vb, float):
                if not math.isclose(float(va), float(vb), rel_tol=1e-6, abs_tol=1e-9):
                    return f"row {i}: {ra} against {rb}"
            elif va != vb:
                return f"row {i}: {ra} against {rb}"
    return None


def _spawn(library: str, name: str, root: str, timeout: float) -> dict:
    python = sys.executable if library == "plait" else PEERS
    if library != "plait" and not os.path.exists(PEERS):
        return {"name": name, "library": library, "error": f"no peers interpreter {PEERS}"}
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([ROOT] + [p for p in env.get("PYTHONPATH", "").split(
        os.pathsep) if p])
    env.setdefault("POLARS_MAX_THREADS", "2")
    cmd = [python, "-m", "benchmarks.bench_tpch", "--child", library, "--only", name,
           "--root", root]
    try:
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"name": name, "library": library, "error": f"timed out after {timeout:g} s"}
    for line in reversed(res.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = " | ".join(res.stderr.strip().splitlines()[-4:])
    return {"name": name, "library": library, "error": f"exit {res.returncode}: {tail}"}


def table(records: list) -> str:
    """Median seconds per (query, library) and plait's time over each peer's."""
    runs: dict = {}
    peaks: dict = {}
    for r in records:
        if "error" not in r and r.get("seconds") is not None:
            runs.setdefault((r["name"], r["library"]), []).append(r["seconds"])
            peaks.setdefault((r["name"], r["library"]), []).append(r.get("peak_mib") or 0)
    med = {k: statistics.median(v) for k, v in runs.items()}
    peak = {k: statistics.median(v) for k, v in peaks.items()}
    peers = [lib for lib in LIBRARIES if lib != "plait"]
    head = "| query | " + " | ".join(LIBRARIES) + " | " + \
        " | ".join(f"plait/{p}" for p in peers) + " | peak MiB plait / dask |"
    lines = ["seconds (median of the runs) and plait's time over each peer's", head,
             "|" + " --- |" * (len(LIBRARIES) + len(peers) + 2)]
    names = list(dict.fromkeys(r["name"] for r in records))
    for n in names:
        cells = [f"{med[(n, lib)]:.2f}" if (n, lib) in med else "-" for lib in LIBRARIES]
        mine = med.get((n, "plait"))
        cells += [f"{mine / med[(n, p)]:.2f}" if mine and (n, p) in med else "-"
                  for p in peers]
        cells.append(" / ".join(f"{peak[(n, lib)]:.0f}" if (n, lib) in peak else "-"
                                for lib in ("plait", "dask")))
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_tpch",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--sf", type=float, default=1.0, help="scale factor (default 1)")
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--only", action="append", choices=QUERIES, metavar="QUERY")
    parser.add_argument("--library", action="append", choices=LIBRARIES)
    parser.add_argument("--repeat", type=int, default=1, metavar="N")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--output", default=DEFAULT_OUTPUT,
                        help="JSON lines file, rewritten each run ('-': none)")
    parser.add_argument("--child", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--table", metavar="JSONL", help="only print the table of a saved run")
    args = parser.parse_args(argv)
    if args.table:
        with open(args.table) as f:
            print(table([json.loads(line) for line in f if line.strip()]))
        return 0
    if args.child:
        print(json.dumps(run_child(args.child, args.only[0], args.root)), flush=True)
        return 0

    from benchmarks import tpch_data

    root = tpch_data.make(args.sf)  # written once, before anything is timed
    queries = args.only or list(QUERIES)
    libraries = args.library or list(LIBRARIES)
    records = []
    for name in queries:
        answers: dict = {}
        for _ in range(args.repeat):
            for library in libraries:
                record = _spawn(library, name, root, args.timeout)
                record["sf"] = args.sf
                if "result" in record:
                    answers.setdefault(library, record["result"])
                records.append(record)
                shown = {k: v for k, v in record.items() if k != "result"}
                print(json.dumps(shown), flush=True)
        reference = answers.get(REFERENCE) or next(iter(answers.values()), None)
        for r in records:
            if r["name"] == name and "result" in r and reference is not None:
                problem = _same(r["result"], reference)
                r["matches_reference"] = problem is None
                if problem:
                    r["mismatch"] = problem
                    print(f"{name}: {r['library']} disagrees with {REFERENCE}: {problem}",
                          file=sys.stderr)
    if args.output != "-":
        with open(args.output, "w") as f:
            for r in records:
                f.write(json.dumps({k: v for k, v in r.items() if k != "result"}) + "\n")
    print(table(records), file=sys.stderr)
    bad = [r for r in records if "error" in r or r.get("matches_reference") is False]
    for r in bad:
        print(f"{r['name']} {r['library']}: {r.get('error') or r.get('mismatch')}",
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""DataFrame benchmarks: queries over about 1 GB of CSV, and column projection.

The data (16 CSV files with columns timestamp, id, name, x, y; and 16 narrower files of
20 numeric columns for the projection figure) are written once into
``$PLAIT_BENCH_CSV_DIR`` (default ``/tmp/plait-bench-csv``) and reused.

Each query runs with plait, Dask, and the tools a user would pick instead: pandas (one
file at a time, reading only the columns the query needs), DuckDB (SQL over the glob,
2 threads) and Polars (a lazy scan). Each library runs in its own fresh interpreter
(the harness's rules; the peers from the ``.peers`` environment), and every answer is
checked against pandas.

``python -m benchmarks.bench_dataframe`` runs them all under the threads scheduler and
prints the plait/Dask ratio table and a table of every library's seconds;
``--only NAME``, ``--scheduler S`` and ``--library L`` (repeatable) narrow the run,
``--output FILE`` appends the JSON lines. To run them from ``benchmarks.run`` too, add
``BENCHMARKS`` from this module to the harness's list.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from benchmarks.bench_overhead import Benchmark, compute_kwargs

DATA_DIR = os.environ.get("PLAIT_BENCH_CSV_DIR", "/tmp/plait-bench-csv")
NFILES = 16
ROWS_PER_FILE = 1_050_000  # about 64 MB of CSV per file, 1 GB in all
WIDE_ROWS_PER_FILE = 120_000  # 20 columns: about 16 MB per file
NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
         "Ken", "Laura", "Mallory", "Nina", "Oscar", "Peggy", "Quentin", "Rupert", "Sybil",
         "Trent", "Ursula", "Victor", "Walter", "Xena", "Yusuf", "Zoe"]


# -- data -------------------------------------------------------------------------------------

def _write_file(path: str, make: Callable[[], Any]) -> None:
    if os.path.exists(path):
        return
    tmp = path + ".tmp"
    make().to_csv(tmp, index=False)
    os.replace(tmp, path)


def timeseries_files(rows_per_file: int = ROWS_PER_FILE, nfiles: int = NFILES) -> list[str]:
    """16 CSV files of (timestamp, id, name, x, y), made once."""
    import numpy as np
    import pandas as pd

    folder = os.path.join(DATA_DIR, f"ts-{rows_per_file}")
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(nfiles):
        path = os.path.join(folder, f"part-{i:02d}.csv")

        def make(i: int = i) -> Any:
            rng = np.random.default_rng(i)
            start = pd.Timestamp("2000-01-01") + pd.Timedelta(seconds=i * rows_per_file)
            return pd.DataFrame({
                "timestamp": pd.date_range(start, periods=rows_per_file, freq="1s"),
                "id": rng.poisson(1000, rows_per_file),
                "name": np.array(NAMES)[rng.integers(0, len(NAMES), rows_per_file)],
                "x": rng.random(rows_per_file) * 2 - 1,
                "y": rng.random(rows_per_file) * 2 - 1,
            })

        _write_file(path, make)
        paths.append(path)
    return paths


def wide_files(rows_per_file: int = WIDE_ROWS_PER_FILE, nfiles: int = NFILES) -> list[str]:
    """16 CSV files of 20 float columns c0..c19, made once."""
    import numpy as np
    import pandas as pd

    folder = os.path.join(DATA_DIR, f"wide-{rows_per_file}")
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(nfiles):
        path = os.path.join(folder, f"part-{i:02d}.csv")

        def make(i: int = i) -> Any:
            rng = np.random.default_rng(100 + i)
            return pd.DataFrame(np.round(rng.random((rows_per_file, 20)), 6),
                                columns=[f"c{j}" for j in range(20)])

        _write_file(path, make)
        paths.append(path)
    return paths


# -- the queries ------------------------------------------------------------------------------

def _dd(lib: ModuleType) -> ModuleType:
    return importlib.import_module(f"{lib.__name__}.dataframe")


def _glob(paths: list[str]) -> str:
    return os.path.join(os.path.dirname(paths[0]), "*.csv")


def _time(func: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = func()
    return out, time.perf_counter() - t0


def _pandas_frame(paths: list[str], columns: list | None = None) -> Any:
    import pandas as pd

    return pd.concat([pd.read_csv(p, usecols=columns) for p in paths], ignore_index=True)


def _pandas_answer(query: str, paths: list[str]) -> Any:
    """The query's answer by pandas, reading one file at a time and combining."""
    import pandas as pd

    pieces = []
    for p in paths:
        cols = {"filter_max": ["x", "y"], "groupby_name_mean": ["name", "x"],
                "groupby_id_agg": ["id", "x", "y"], "len": ["id"]}[query]
        df = pd.read_csv(p, usecols=cols)
        if query == "filter_max":
            pieces.append(df[df.x > 0].y.max())
        elif query == "groupby_name_mean":
            pieces.append(df.groupby("name").x.agg(["sum", "count"]))
        elif query == "groupby_id_agg":
            pieces.append(df.groupby("id").agg({"x": "sum", "y": "max"}))
        else:
            pieces.append(len(df))
    if query == "filter_max":
        return max(pieces)
    if query == "len":
        return sum(pieces)
    both = pd.concat(pieces)
    if query == "groupby_name_mean":
        total = both.groupby(level=0).sum()
        return total["sum"] / total["count"]
    return both.groupby(level=0).agg({"x": "sum", "y": "max"})


def _peer_answer(lib: ModuleType, query: str, paths: list[str]) -> Any:
    """The query in DuckDB or Polars, as a user of those would write it."""
    pattern = _glob(paths)
    if lib.__name__ == "duckdb":
        sql = {
            "filter_max": "SELECT max(y) FROM read_csv_auto('{p}') WHERE x > 0",
            "groupby_name_mean": "SELECT name, avg(x) FROM read_csv_auto('{p}') GROUP BY name",
            "groupby_id_agg": "SELECT id, sum(x), max(y) FROM read_csv_auto('{p}') GROUP BY id",
            "len": "SELECT count(*) FROM read_csv_auto('{p}')",
        }[query]
        con = lib.connect()
        con.execute("SET threads TO 2")
        return con.execute(sql.format(p=pattern)).fetchall()
    pl = lib
    lazy = pl.scan_csv(pattern)
    q = {
        "filter_max": lambda: lazy.filter(pl.col("x") > 0).select(pl.col("y").max()),
        "groupby_name_mean": lambda: lazy.group_by("name").agg(pl.col("x").mean()),
        "groupby_id_agg": lambda: lazy.group_by("id").agg(pl.col("x").sum(), pl.col("y").max()),
        "len": lambda: lazy.select(pl.len()),
    }[query]
    return q().collect()


def _peer_check(query: str, got: Any, expect: Any) -> bool:
    """Whether a DuckDB row list or a Polars frame holds the pandas answer."""
    import numpy as np
    import pandas as pd

    if isinstance(got, list):  # DuckDB rows
        if query in ("filter_max", "len"):
            return math.isclose(float(got[0][0]), float(expect))
        frame = pd.DataFrame(got).set_index(0).sort_index()
    else:  # Polars
        if query in ("filter_max", "len"):
            return math.isclose(float(got.item()), float(expect))
        frame = pd.DataFrame(got.to_dict(as_series=False))
        frame = frame.set_index(frame.columns[0]).sort_index()
    return bool(np.allclose(frame.to_numpy(dtype=float).squeeze(),
                            expect.sort_index().to_numpy(dtype=float)))


def _query(name: str) -> Callable[[ModuleType, str, int], dict[str, Any]]:
    def bench(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
        import numpy as np

        paths = timeseries_files(size)
        if lib.__name__ in ("pandas", "duckdb", "polars"):
            t0 = time.perf_counter()
            got = (_pandas_answer(name, paths) if lib.__name__ == "pandas"
                   else _peer_answer(lib, name, paths))
            seconds = time.perf_counter() - t0
            if lib.__name__ != "pandas" and not _peer_check(name, got,
                                                            _pandas_answer(name, paths)):
                raise AssertionError(f"{name}: {lib.__name__} disagrees with pandas: {got!r}")
            return {"tasks": len(paths), "build_seconds": 0.0, "seconds": seconds}
        dd = _dd(lib)
        kw = compute_kwargs(scheduler)
        t0 = time.perf_counter()
        df = dd.read_csv(paths)
        if name == "filter_max":
            expr = df[df.x > 0].y.max()
        elif name == "groupby_name_mean":
            expr = df.groupby("name").x.mean()
        elif name == "groupby_id_agg":
            expr = df.groupby("id").agg({"x": "sum", "y": "max"})
        else:
            expr = None
        build = time.perf_counter() - t0
        if expr is None:
            with lib.config.set(**kw):
                got = len(df)
        else:
            got = expr.compute(**kw)
        seconds = time.perf_counter() - t0
        # the check: pandas on the same files, a file at a time (so that its memory
        # stays small next to the run's peak)
        expect = _pandas_answer(name, paths)
        if name == "filter_max":
            ok = math.isclose(float(got), float(expect))
        elif name == "len":
            ok = got == expect
        else:
            ok = np.allclose(got.sort_index().to_numpy(), expect.sort_index().to_numpy())
        if not ok:
            raise AssertionError(f"{name}: {lib.__name__} gives {got!r}, pandas {expect!r}")
        return {"tasks": df.npartitions, "build_seconds": build, "seconds": seconds,
                "rows": len(paths) * size}

    bench.__name__ = f"bench_{name}"
    return bench


def projection(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """``df[["c3", "c17"]].sum()`` against ``df.sum()`` over 20-column files."""
    import numpy as np

    dd = _dd(lib)
    paths = wide_files(size)
    kw = compute_kwargs(scheduler)
    t0 = time.perf_counter()
    df = dd.read_csv(paths)
    two = df[["c3", "c17"]].sum()
    build = time.perf_counter() - t0
    got_two = two.compute(**kw)
    seconds = time.perf_counter() - t0
    got_all, all_seconds = _time(lambda: df.sum().compute(**kw))
    expect = _pandas_frame(paths, ["c3", "c17"]).sum()
    if not np.allclose(got_two.to_numpy(), expect.to_numpy()):
        raise AssertionError(f"projection: {lib.__name__} gives {got_two!r}, pandas {expect!r}")
    if not np.allclose(got_all[["c3", "c17"]].to_numpy(), expect.to_numpy()):
        raise AssertionError("projection: the sum over all columns disagrees with pandas")
    plan = ""
    try:
        optimized = two.optimize()
        plan = " | ".join(line.strip() for line in optimized.expr.tree_repr().splitlines()
                          if "read" in line.lower() or "FromParts" in line
                          or "ReadCSV" in line)
    except Exception as exc:  # the plan is a figure, not the benchmark
        plan = f"(no plan: {type(exc).__name__})"
    return {"tasks": len(paths), "build_seconds": build, "seconds": seconds,
            "all_columns_seconds": all_seconds, "speedup_vs_all": all_seconds / seconds,
            "plan": plan[:300]}


BENCHMARKS: list[Benchmark] = [
    Benchmark("df_filter_max", _query("filter_max"), ROWS_PER_FILE),
    Benchmark("df_groupby_name_mean", _query("groupby_name_mean"), ROWS_PER_FILE),
    Benchmark("df_groupby_id_agg", _query("groupby_id_agg"), ROWS_PER_FILE),
    Benchmark("df_len", _query("len"), ROWS_PER_FILE),
    Benchmark("df_projection_2_of_20", projection, WIDE_ROWS_PER_FILE),
]


OTHER_TOOLS = ("pandas", "duckdb", "polars")
TOOL_BENCHMARKS = ("df_filter_max", "df_groupby_name_mean", "df_groupby_id_agg", "df_len")


def tool_table(records: list[dict[str, Any]]) -> str:
    """Seconds per query for every library, and plait's time over each other's."""
    import statistics

    libs = ["plait", "dask", *OTHER_TOOLS]
    runs: dict = {}
    for r in records:
        if r.get("seconds") is not None and "error" not in r:
            runs.setdefault((r["name"], r["library"]), []).append(r["seconds"])
    best = {key: statistics.median(v) for key, v in runs.items()}
    names = list(dict.fromkeys(r["name"] for r in records))
    head = f"{'benchmark':24}" + "".join(f"{lib:>9}" for lib in libs) + \
        "".join(f"{'/' + lib:>9}" for lib in libs[1:])
    lines = ["median seconds, and plait's time divided by each library's", head,
             "-" * len(head)]
    for n in names:
        row = f"{n:24}"
        for lib in libs:
            v = best.get((n, lib))
            row += f"{v:9.2f}" if v is not None else f"{'-':>9}"
        mine = best.get((n, "plait"))
        for lib in libs[1:]:
            v = best.get((n, lib))
            row += f"{mine / v:9.2f}" if mine and v else f"{'-':>9}"
        lines.append(row)
    return "\n".join(lines)


# -- running: the harness's rules (a fresh child per run), for these benchmarks -----------

def _find(name: str) -> Benchmark:
    for b in BENCHMARKS:
        if b.name == name:
            return b
    raise SystemExit(f"no dataframe benchmark {name!r}; known: "
                     f"{', '.join(b.name for b in BENCHMARKS)}")


def _run_child(python: str, library: str, bench: Benchmark, scheduler: str,
               timeout: float) -> dict[str, Any]:
    import signal
    import subprocess

    from benchmarks import harness

    cmd = [python, "-m", "benchmarks.bench_dataframe", "--child", "--library", library,
           "--only", bench.name, "--scheduler", scheduler]
    proc = subprocess.Popen(cmd, cwd=harness.REPO_ROOT, env=harness._child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    sampler = harness.TreeMemorySampler(proc.pid)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return harness._failed_record(library, bench, scheduler, f"timed out after {timeout:g} s")
    finally:
        sampler.stopped.set()
        sampler.join()
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            record = json.loads(line)
            if sampler.saw_workers:
                record["tree_peak_mib"] = round(sampler.peak_bytes / 2**20, 1)
            return record
    tail = " | ".join(err.strip().splitlines()[-3:])
    return harness._failed_record(library, bench, scheduler,
                                  f"child exited {proc.returncode} without a result: {tail}")


def main(argv: list[str] | None = None) -> int:
    from benchmarks import harness, report

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_dataframe")
    parser.add_argument("--library", action="append",
                        choices=("plait", "dask") + OTHER_TOOLS,
                        help="repeatable; default: plait, dask and the other tools")
    parser.add_argument("--only", action="append", metavar="NAME")
    parser.add_argument("--scheduler", action="append", choices=harness.SCHEDULERS)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="rounds; the libraries take turns in every round")
    parser.add_argument("--output", metavar="PATH")
    parser.add_argument("--prepare", action="store_true", help="only write the data files")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.prepare:
        print(timeseries_files()[0], wide_files()[0])
        return 0
    if args.child:
        (name,), (scheduler,), (library,) = args.only, args.scheduler, args.library
        print(json.dumps(harness.run_in_this_process(library, _find(name), scheduler)),
              flush=True)
        return 0
    timeseries_files()  # write the data once, before anything is timed
    wide_files()
    benches = [_find(n) for n in args.only] if args.only else BENCHMARKS
    schedulers = args.scheduler or ["threads"]
    libraries = args.library or ["plait", "dask", *OTHER_TOOLS]
    records = []
    sink = open(args.output, "a") if args.output else None
    try:
        for bench in benches:
            for scheduler in schedulers:
                for library in [lib for _ in range(args.repeat) for lib in libraries]:
                    if library in OTHER_TOOLS and (bench.name not in TOOL_BENCHMARKS
                                                   or scheduler != schedulers[0]):
                        continue  # they have their own threads: one run is enough
                    python = harness.interpreter_for(library)
                    if python is None:
                        print(f"skipping {library}: no interpreter", file=sys.stderr)
                        continue
                    record = _run_child(python, library, bench, scheduler, args.timeout)
                    line = json.dumps(record)
                    print(line, flush=True)
                    if sink:
                        sink.write(line + "\n")
                        sink.flush()
                    records.append(record)
    finally:
        if sink:
            sink.close()
    if "plait" in libraries and "dask" in libraries:
        print(report.ratio_table(records, "plait", "dask"), file=sys.stderr)
    print(tool_table(records), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

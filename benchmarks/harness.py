"""Run benchmarks against plait and its peers, one fresh subprocess per run.

The parent process only plans runs and collects results: for every (benchmark,
scheduler, repeat) it starts a child interpreter per library, so that each run's
peak memory is its own and no warm caches or pools carry over. plait runs under the
current interpreter; peers (Dask) run under a separate virtualenv's interpreter, by
default ``<repo>/.peers/bin/python`` or ``$PLAIT_PEERS_PYTHON``, so that no peer is
ever importable from plait's own environment. Libraries alternate run by run, so
drift on a shared machine hits both alike.

Each child prints one JSON line; the parent re-prints it (or an error line if the
child failed, crashed or timed out) and keeps going.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.bench_array import BENCHMARKS as ARRAY_BENCHMARKS
from benchmarks.bench_bag import BENCHMARKS as BAG_BENCHMARKS
from benchmarks.bench_fractal import BENCHMARKS as FRACTAL_BENCHMARKS
from benchmarks.bench_overhead import BENCHMARKS as OVERHEAD_BENCHMARKS
from benchmarks.bench_overhead import Benchmark
from benchmarks.bench_rechunk import BENCHMARKS as RECHUNK_BENCHMARKS
from benchmarks.bench_slicing import BENCHMARKS as SLICING_BENCHMARKS

BENCHMARKS = (OVERHEAD_BENCHMARKS + BAG_BENCHMARKS + ARRAY_BENCHMARKS + FRACTAL_BENCHMARKS
              + SLICING_BENCHMARKS + RECHUNK_BENCHMARKS)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PEERS_PYTHON = REPO_ROOT / ".peers" / "bin" / "python"
PEERS_PYTHON_ENV = "PLAIT_PEERS_PYTHON"
SCHEDULERS = ("sync", "threads", "processes")
PEER_LIBRARIES = ("dask",)
DEFAULT_TIMEOUT_S = 300.0


def find_benchmark(name: str) -> Benchmark:
    for bench in BENCHMARKS:
        if bench.name == name:
            return bench
    known = ", ".join(b.name for b in BENCHMARKS)
    raise SystemExit(f"no benchmark named {name!r}; known benchmarks: {known}")


def library_version(lib: Any, library: str) -> str:
    version = getattr(lib, "__version__", None)
    if version:
        return str(version)
    try:
        return importlib.metadata.version(library)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _rss_mib(who: int) -> float:
    # ru_maxrss is in KiB on Linux.
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def run_in_this_process(library: str, bench: Benchmark, scheduler: str) -> dict[str, Any]:
    """Import ``library``, run ``bench`` once and describe the run as a dict."""
    size = bench.size_for(scheduler)
    record: dict[str, Any] = {
        "name": bench.label_for(scheduler),
        "library": library,
        "version": None,
        "scheduler": scheduler if bench.computes else "none",
        "tasks": None,
        "seconds": None,
        "us_per_task": None,
        "peak_mib": None,
        "build_seconds": None,
    }
    try:
        lib = importlib.import_module(library)
        record["version"] = library_version(lib, library)
        record["import_mib"] = _rss_mib(resource.RUSAGE_SELF)
        gc.collect()
        start = time.perf_counter()
        outcome = bench.func(lib, scheduler, size)
        seconds = time.perf_counter() - start
    except BaseException as exc:  # a failing library must not stop the run
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc(limit=8)
        record["peak_mib"] = _rss_mib(resource.RUSAGE_SELF)
        return record
    if not bench.computes:
        seconds = outcome["build_seconds"]
    # A benchmark that also times a plain-Python baseline reports its own seconds.
    seconds = outcome.pop("seconds", seconds)
    record.update({k: round(v, 6) if isinstance(v, float) else v for k, v in outcome.items()
                   if k not in ("tasks", "build_seconds")})
    record.update(
        tasks=outcome["tasks"],
        seconds=round(seconds, 6),
        us_per_task=round(seconds / outcome["tasks"] * 1e6, 3),
        peak_mib=_rss_mib(resource.RUSAGE_SELF),
        build_seconds=round(outcome["build_seconds"], 6),
    )
    return record


def peers_python() -> Path:
    return Path(os.environ.get(PEERS_PYTHON_ENV) or DEFAULT_PEERS_PYTHON)


def interpreter_for(library: str) -> str | None:
    """The interpreter that runs ``library``'s side, or None when there is none."""
    if library == "plait":
        return sys.executable
    peers = peers_python()
    if peers.exists():
        return str(peers)
    if importlib.util.find_spec(library) is not None:
        return sys.executable  # already running inside the peers' environment
    return None


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _failed_record(library: str, bench: Benchmark, scheduler: str, error: str) -> dict[str, Any]:
    return {
        "name": bench.label_for(scheduler),
        "library": library,
        "version": None,
        "scheduler": scheduler if bench.computes else "none",
        "tasks": None,
        "seconds": None,
        "us_per_task": None,
        "peak_mib": None,
        "build_seconds": None,
        "error": error,
    }


class TreeMemorySampler(threading.Thread):
    """Samples the summed RSS of a run process and its descendants from outside.

    ``ru_maxrss`` cannot be trusted for worker processes: Linux carries the parent's
    high-water mark into a forked or spawned child. Sampling from the parent costs
    the run itself nothing; pages shared between processes are counted once per
    process, so the figure is an upper bound.
    """

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_bytes = 0
        self.saw_workers = False
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            import psutil
            root = psutil.Process(self.pid)
        except Exception:  # no psutil here, or the run already ended
            return
        while not self.stopped.wait(self.interval):
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            self.saw_workers = self.saw_workers or len(procs) > 1
            total = 0
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_bytes = max(self.peak_bytes, total)


def run_in_child(
    python: str, library: str, bench: Benchmark, scheduler: str, timeout: float
) -> dict[str, Any]:
    """Run one benchmark in a fresh interpreter and return its JSON record."""
    cmd = [
        python, "-m", "benchmarks.run", "--child",
        "--library", library, "--only", bench.name, "--scheduler", scheduler,
    ]
    # A new session lets a timeout take down the child's worker processes too.
    proc = subprocess.Popen(
        cmd, cwd=REPO_ROOT, env=_child_env(), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    sampler = TreeMemorySampler(proc.pid)
    sampler.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return _failed_record(library, bench, scheduler, f"timed out after {timeout:g} s")
    finally:
        sampler.stopped.set()
        sampler.join()
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                break
            if sampler.saw_workers:
                record["tree_peak_mib"] = round(sampler.peak_bytes / 2**20, 1)
            return record
    tail = " | ".join(err.strip().splitlines()[-3:])
    return _failed_record(
        library, bench, scheduler, f"child exited {proc.returncode} without a result: {tail}"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmark plait side by side with Dask; one JSON line per run.",
    )
    parser.add_argument("--library", choices=("plait", *PEER_LIBRARIES, "all"), default="all")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this benchmark (repeatable); default: all")
    parser.add_argument("--scheduler", action="append", choices=SCHEDULERS,
                        help="run only under this scheduler (repeatable); default: all three")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="fresh-process runs per benchmark, scheduler and library")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"kill a run after this long (default {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--output", type=Path, metavar="PATH",
                        help="also append the JSON lines to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def plan(args: argparse.Namespace) -> list[tuple[Benchmark, str]]:
    """The (benchmark, scheduler) pairs to run, in order."""
    benches = [find_benchmark(n) for n in args.only] if args.only else list(BENCHMARKS)
    schedulers = args.scheduler or list(SCHEDULERS)
    pairs: list[tuple[Benchmark, str]] = []
    for bench in benches:
        if bench.computes:
            pairs.extend((bench, s) for s in schedulers)
        else:
            pairs.append((bench, "sync"))  # nothing is computed, so once is enough
    return pairs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        (name,) = args.only
        (scheduler,) = args.scheduler
        print(json.dumps(run_in_this_process(args.library, find_benchmark(name), scheduler)),
              flush=True)
        return 0

    libraries = ["plait", *PEER_LIBRARIES] if args.library == "all" else [args.library]
    interpreters: dict[str, str] = {}
    for library in libraries:
        python = interpreter_for(library)
        if python is None:
            print(f"skipping {library}: no interpreter at {peers_python()} "
                  f"(set {PEERS_PYTHON_ENV}, see benchmarks/README.md)", file=sys.stderr)
        else:
            interpreters[library] = python
    if not interpreters:
        return 1

    records: list[dict[str, Any]] = []
    sink = args.output.open("a") if args.output else None
    try:
        for bench, scheduler in plan(args):
            for _ in range(args.repeat):
                for library, python in interpreters.items():
                    record = run_in_child(python, library, bench, scheduler, args.timeout)
                    line = json.dumps(record)
                    print(line, flush=True)
                    if sink:
                        sink.write(line + "\n")
                        sink.flush()
                    records.append(record)
    finally:
        if sink:
            sink.close()

    if len(interpreters) > 1:
        print(report.ratio_table(records, "plait", "dask"), file=sys.stderr)
    return 0

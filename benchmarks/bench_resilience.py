"""Worker loss, side by side with Dask's distributed: the cost of SIGKILLing a worker in
the middle of a 10,000-task graph.

Each library runs in a fresh interpreter with a ``LocalCluster`` of 4 worker processes
x 1 thread under nannies on 127.0.0.1 (start-up not timed, a warm-up first). Then, for
each round, the same graph (3,000 roots, two mixing layers, 600 group sums held by the
client, 250 small tasks on them, a tree to one total: 10,000 tasks; a new salt per round
so nothing is cached):

``seconds_clean``
    submit and gather with no fault;
``seconds_killed``
    submit, SIGKILL the worker holding the most results once 35% of the tasks are in
    memory, gather;
``recomputed``
    tasks that reached memory more than once in the killed round (counted by a scheduler
    plugin: the price of the lost results, recomputed from the graph);
``correct``
    every result equals a plain-Python evaluation of the graph.

Run::

    python -m benchmarks.bench_resilience                  # plait and dask, 3 rounds
    python -m benchmarks.bench_resilience --library plait --rounds 5

One JSON line per library; a table on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

N_ROOTS, GROUP = 3000, 5


def make(i: int, salt: int) -> int:
    return (i * i + salt) % 997


def add(x: int, y: int) -> int:
    return x + y


def mul(x: int, y: int) -> int:
    return (x * y) % 1_000_003


def total(*xs: int) -> int:
    return sum(xs) % 1_000_003


def graph(salt: int) -> tuple[dict, list]:
    n, s = N_ROOTS, f"r{salt}"
    dsk: dict = {}
    for i in range(n):
        dsk[(f"a-{s}", i)] = (make, i, salt)
        dsk[(f"b-{s}", i)] = (add, (f"a-{s}", i), (f"a-{s}", (i + 1) % n))
        dsk[(f"c-{s}", i)] = (mul, (f"b-{s}", i), (f"b-{s}", (i + 7) % n))
    level = [(f"d-{s}", j) for j in range(n // GROUP)]
    for j, key in enumerate(level):
        dsk[key] = (total, *[(f"c-{s}", GROUP * j + k) for k in range(GROUP)])
    wanted = list(level)
    for k in range(250):
        dsk[(f"x-{s}", k)] = (add, level[k], 1)
        wanted.append((f"x-{s}", k))
    depth = 0
    while len(level) > 1:
        depth += 1
        level = [_tree_node(dsk, (f"t{depth}-{s}", j // GROUP), level[j:j + GROUP])
                 for j in range(0, len(level), GROUP)]
    wanted.append(level[0])
    return dsk, wanted


def _tree_node(dsk: dict, key: tuple, children: list) -> tuple:
    dsk[key] = (total, *children)
    return key


def evaluate(dsk: dict, keys: list) -> list:
    """Plain Python: the reference every result is checked against."""
    cache: dict = {}

    def value(key: Any) -> Any:
        if key in cache:
            return cache[key]
        func, *args = dsk[key]
        out = cache[key] = func(*[value(a) if isinstance(a, tuple) and a in dsk else a
                                  for a in args])
        return out

    for k in sorted(dsk, key=lambda k: (not k[0].startswith("a-"), k)):  # shallow first
        value(k)
    return [value(k) for k in keys]


class Counter:
    """Scheduler plugin: tasks reaching memory, and how often each did."""

    name = "bench-resilience-counter"

    def __init__(self) -> None:
        self.in_memory = 0
        self.times: dict = {}

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if finish == "memory":
            self.in_memory += 1
            if start == "processing":
                self.times[key] = self.times.get(key, 0) + 1

    def close(self) -> None:
        pass


def _wait(pred, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(0.002)


def run(library: str, rounds: int) -> dict:
    if library == "plait":
        from plait.distributed import Client, LocalCluster
    else:
        from distributed import Client, LocalCluster
    kwargs: dict = dict(n_workers=4, threads_per_worker=1, processes=True)
    if library == "dask":
        kwargs["dashboard_address"] = None
    cluster = LocalCluster(**kwargs)
    client = Client(cluster)
    try:
        client.gather(client.map(add, range(20), range(20)))  # warm up
        sched = cluster.scheduler
        clean, killed, recomputed, correct = [], [], [], True
        for r in range(rounds):
            _wait(lambda: len(client.nthreads()) == 4, 60)
            dsk, wanted = graph(2 * r)
            t0 = time.perf_counter()
            out = client.gather(client.get(dsk, wanted, sync=False))
            clean.append(time.perf_counter() - t0)
            correct &= list(out) == evaluate(dsk, wanted)
            del out
            dsk, wanted = graph(2 * r + 1)
            expected = evaluate(dsk, wanted)
            counter = Counter()
            if library == "plait":  # plait's add_plugin is a coroutine: use the state's
                sched.state.add_plugin(counter, name=counter.name)
            else:
                sched.add_plugin(counter, name=counter.name)
            pids = client.run(os.getpid)
            t0 = time.perf_counter()
            futures = client.get(dsk, wanted, sync=False)
            _wait(lambda: counter.in_memory >= 0.35 * len(dsk), 120)
            held = client.has_what()
            victim = max(held, key=lambda a: len(held[a]))
            os.kill(pids[victim], signal.SIGKILL)
            out = client.gather(futures)
            killed.append(time.perf_counter() - t0)
            correct &= list(out) == expected
            recomputed.append(sum(n - 1 for n in counter.times.values()))
            if library == "plait":
                sched.state.remove_plugin(counter.name)
            else:
                sched.remove_plugin(name=counter.name)
            del futures, out
        return {
            "rounds": rounds, "tasks": len(dsk),
            "seconds_clean": round(statistics.median(clean), 3),
            "seconds_killed": round(statistics.median(killed), 3),
            "recomputed_median": statistics.median(recomputed),
            "recomputed": recomputed, "correct": bool(correct),
        }
    finally:
        client.close()
        cluster.close()


def main(argv: list[str] | None = None) -> int:
    from benchmarks import harness

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_resilience")
    parser.add_argument("--library", choices=("plait", "dask", "all"), default="all")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mod = __import__("plait" if args.library == "plait" else "distributed")
        record = {"name": "kill_1_of_4_mid_10k", "library": args.library,
                  "version": getattr(mod, "__version__", None)}
        record.update(run(args.library, args.rounds))
        print(json.dumps(record), flush=True)
        return 0
    records = []
    for library in (["plait", "dask"] if args.library == "all" else [args.library]):
        python = harness.interpreter_for(library)
        if python is None:
            print(f"skipping {library}: not installed", file=sys.stderr)
            continue
        cmd = [python, "-m", "benchmarks.bench_resilience", "--child", "--library",
               library, "--rounds", str(args.rounds)]
        try:
            out = subprocess.run(cmd, cwd=harness.REPO_ROOT, env=harness._child_env(),
                                 capture_output=True, text=True, timeout=args.timeout)
            lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
            record = json.loads(lines[-1]) if lines else {
                "library": library, "error": out.stderr.strip()[-800:]}
        except subprocess.TimeoutExpired:
            record = {"library": library, "error": f"timed out after {args.timeout:g} s"}
        records.append(record)
        print(json.dumps(record), flush=True)
    print(f"{'library':8} {'clean s':>8} {'killed s':>9} {'recomputed':>11} correct",
          file=sys.stderr)
    for r in records:
        if "error" in r:
            print(f"{r['library']:8} error: {r['error'][:200]}", file=sys.stderr)
            continue
        print(f"{r['library']:8} {r['seconds_clean']:8.2f} {r['seconds_killed']:9.2f} "
              f"{r['recomputed_median']:11} {r['correct']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``plait demo``: a timed tour of what plait runs on this machine, on data it makes.

The tour is a list of sections (:data:`SECTIONS`), each a function of one :class:`Tour`.
A section prints what it runs and how long each scheduler took, and records every
result next to the value plain Python gives (:meth:`Tour.check`); the tour ends by
listing those checks and returns 1 if any differ, 0 otherwise.

Whatever a section starts is registered with :meth:`Tour.started`, which names it and
says how to stop it. Everything registered stays up while ``--keep-open`` waits for
Ctrl-C (so one can look at it) and is stopped, newest first, when the tour ends, however
it ends. The local-cluster section registers its cluster and client this way, and
prints the address of the scheduler's health check.

Sizes are chosen so that the full tour takes well under a minute on two cores and
``quick=True`` a few seconds; the pure-Python workload is calibrated on the machine
itself so that its timings mean the same thing everywhere.
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import signal
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from time import perf_counter
from typing import IO, Any, Callable

import click

import plait

__all__ = ["run_demo", "Tour", "Sizes", "FULL", "QUICK", "SECTIONS"]


@dataclass(frozen=True)
class Sizes:
    """How big each section's work is."""

    pause: float  # seconds that each inc/double/add call sleeps
    items: int  # numbers fed to inc/double/add
    fib_seconds: float  # target time of one fib call, calibrated on this machine
    fib_calls: int  # fib calls per scheduler
    tasks: int  # trivial tasks in the overhead section
    text_lines: int  # lines of generated text in the bag section
    array_side: int  # side of the square array in the array section
    frame_rows: int  # rows of generated CSV in the dataframe section


FULL = Sizes(pause=0.1, items=8, fib_seconds=0.25, fib_calls=8, tasks=20_000,
             text_lines=400_000, array_side=4000, frame_rows=2_000_000)
QUICK = Sizes(pause=0.01, items=8, fib_seconds=0.02, fib_calls=4, tasks=2_000,
              text_lines=4_000, array_side=400, frame_rows=20_000)


# -- the work: plain functions, importable so that process workers can load them ----------

def inc(x: int, pause: float = 0.0) -> int:
    if pause:
        time.sleep(pause)
    return x + 1


def double(x: int, pause: float = 0.0) -> int:
    if pause:
        time.sleep(pause)
    return 2 * x


def add(x: int, y: int, pause: float = 0.0) -> int:
    if pause:
        time.sleep(pause)
    return x + y


def fib(n: int) -> int:
    """The n-th Fibonacci number, slowly: pure Python that holds the GIL throughout."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def fib_fast(n: int) -> int:
    """The same number by iteration: the reference the slow one is checked against."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def _nothing() -> None:
    return None


# -- the tour's bookkeeping ------------------------------------------------------------------

@dataclass
class Check:
    """One result of plait set against what plain Python gives."""

    what: str
    got: Any
    expected: Any

    @property
    def ok(self) -> bool:
        return type(self.got) is type(self.expected) and self.got == self.expected


@dataclass
class Tour:
    """One run of the demo: its sizes, its output, its checks and what it started."""

    sizes: Sizes
    out: IO[str] | None = None
    color: bool | None = None
    workers: int = field(default_factory=lambda: min(os.cpu_count() or 1, 8))
    checks: list[Check] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    resources: ExitStack = field(default_factory=ExitStack)

    def say(self, text: str = "", **style: Any) -> None:
        if style:
            text = click.style(text, **style)
        click.echo(text, file=self.out, color=self.color)

    def heading(self, text: str) -> None:
        self.say()
        self.say(text, bold=True)

    def row(self, label: str, seconds: float, note: str = "") -> None:
        """One timing line: what ran, how long, and a remark."""
        line = f"  {label:<44} {seconds:8.3f} s"
        self.say(f"{line}   {note}" if note else line)

    def check(self, what: str, got: Any, expected: Any) -> None:
        self.checks.append(Check(what, got, expected))

    def started(self, description: str, stop: Callable[[], Any]) -> None:
        """Record something the tour started; ``stop()`` is called when the tour ends."""
        self.running.append(description)

        def stop_and_say() -> None:
            stop()
            self.running.remove(description)
            self.say(f"Stopped {description}.")

        self.resources.callback(stop_and_say)


def _timed(run: Callable[[], Any]) -> tuple[Any, float]:
    start = perf_counter()
    value = run()
    return value, perf_counter() - start


def _speedup(base: float, seconds: float) -> str:
    return f"{base / seconds:4.1f}x sync" if seconds > 0 else ""


def _ensure_process_pool(tour: Tour) -> None:
    """Start the shared process pool once, time it, and register its shutdown."""
    from .local.processes import discard_pool

    description = f"process pool ({tour.workers} worker processes)"
    if description in tour.running:
        return
    tour.started(description, discard_pool)
    _, seconds = _timed(lambda: plait.delayed(_nothing)().compute(
        scheduler="processes", num_workers=tour.workers))
    tour.row(f"starting {tour.workers} worker processes (once)", seconds,
             "not counted below")


# -- sections --------------------------------------------------------------------------------

def _linear_total(data: list[int], pause: float) -> plait.Delayed:
    total: Any = 0
    for x in data:
        total = plait.delayed(add)(total, plait.delayed(double)(
            plait.delayed(inc)(x, pause), pause), pause)
    return total


def _tree_total(data: list[int], pause: float) -> plait.Delayed:
    level = [plait.delayed(double)(plait.delayed(inc)(x, pause), pause) for x in data]
    while len(level) > 1:
        pairs = [plait.delayed(add)(level[i], level[i + 1], pause)
                 for i in range(0, len(level) - 1, 2)]
        level = pairs + level[len(pairs) * 2:]
    return level[0]


def sleeping_tasks(tour: Tour) -> None:
    """inc -> double -> add with sleeps: where the graph's shape sets the speed."""
    s = tour.sizes
    data = list(range(1, s.items + 1))
    expected = sum(2 * (x + 1) for x in data)
    threads = s.items
    levels = math.ceil(math.log2(s.items)) if s.items > 1 else 0
    tour.heading(f"1. Sleeping tasks: inc, double, then add over {s.items} numbers; "
                 f"every call sleeps {s.pause:g} s")

    def sequential() -> int:
        total = 0
        for x in data:
            total = add(total, double(inc(x, s.pause), s.pause), s.pause)
        return total

    value, base = _timed(sequential)
    tour.row("plain Python, one call after another", base)
    tour.check("sleeping tasks, plain Python", value, expected)

    runs = [
        ("delayed, linear sum, sync", _linear_total, "sync", None),
        (f"delayed, linear sum, threads ({threads})", _linear_total, "threads", threads),
        (f"delayed, tree reduction, threads ({threads})", _tree_total, "threads", threads),
    ]
    for label, build, scheduler, num_workers in runs:
        total = build(data, s.pause)
        (value,), seconds = _timed(lambda: plait.compute(
            total, scheduler=scheduler, num_workers=num_workers))
        tour.row(label, seconds, f"{base / seconds:4.1f}x plain" if seconds else "")
        tour.check(label, value, expected)
    tour.say(f"  A sleeping call releases the GIL, so {threads} threads overlap even on "
             f"{os.cpu_count() or 1} cores. The linear")
    tour.say(f"  sum still adds one number after another ({s.items} adds in a row); the "
             f"tree needs {levels} rounds.")


def gil_bound(tour: Tour) -> None:
    """Pure-Python work: threads take turns on the GIL, processes run side by side."""
    s = tour.sizes
    n = _calibrate_fib(s.fib_seconds)
    inputs = [n] * s.fib_calls
    expected = [fib_fast(n)] * s.fib_calls
    tour.heading(f"2. Pure-Python work: fib({n}) {s.fib_calls} times "
                 f"(about {s.fib_seconds:g} s per call here), {tour.workers} workers")
    _ensure_process_pool(tour)

    base = 0.0
    for scheduler in ("sync", "threads", "processes"):
        calls = [plait.delayed(fib)(i) for i in inputs]
        (values,), seconds = _timed(lambda: plait.compute(
            calls, scheduler=scheduler, num_workers=tour.workers))
        base = base or seconds
        tour.row(scheduler, seconds, _speedup(base, seconds) if scheduler != "sync" else "")
        tour.check(f"fib({n}) x {s.fib_calls}, {scheduler}", values, expected)
    tour.say("  fib holds the GIL the whole time: threads run it one at a time, no "
             "faster than sync.")
    tour.say("  Each process has its own interpreter and GIL, so processes use every "
             "core: the choice")
    tour.say("  for pure-Python code that holds the GIL.")
    if tour.workers == 1:
        tour.say("  (This machine has one core, so no scheduler can run faster than sync.)")


def task_overhead(tour: Tour) -> None:
    """Many trivial tasks: what each scheduler costs per task."""
    n = tour.sizes.tasks
    expected = [i + 1 for i in range(n)]
    tour.heading(f"3. Overhead: {n:,} independent trivial tasks (inc), "
                 f"{tour.workers} workers")
    _ensure_process_pool(tour)

    calls, seconds = _timed(lambda: [plait.delayed(inc)(i) for i in range(n)])
    tour.row("building the delayed calls", seconds, f"{seconds / n * 1e6:6.1f} us/task")
    for scheduler in ("sync", "threads", "processes"):
        (values,), seconds = _timed(lambda: plait.compute(
            calls, scheduler=scheduler, num_workers=tour.workers))
        tour.row(f"compute, {scheduler}", seconds, f"{seconds / n * 1e6:6.1f} us/task")
        tour.check(f"{n:,} x inc, {scheduler}", values, expected)
    tour.say("  Processes also pickle each task and result through a pipe: they pay off "
             "for tasks that")
    tour.say("  take far longer than this cost per task.")


def _write_text(folder: str, lines: int, files: int) -> list[str]:
    """Deterministic text files: words w0..w999, 10 to a line."""
    import random

    rng = random.Random(0)
    words = [f"w{i}" for i in range(1000)]
    paths = []
    for f in range(files):
        path = os.path.join(folder, f"part-{f}.txt")
        with open(path, "w") as out:
            for _ in range(lines // files):
                out.write(" ".join(rng.choices(words, k=10)) + "\n")
        paths.append(path)
    return paths


def _missing(tour: Tour, module: str, heading: str, why: str, extra: str) -> bool:
    """Say the section is skipped if ``module`` is not installed."""
    import importlib.util

    if importlib.util.find_spec(module) is not None:
        return False
    tour.heading(f"{heading}: skipped")
    tour.say(f"  {why}: pip install 'plait[{extra}]' (or plait[complete]).")
    return True


def bag_wordcount(tour: Tour) -> None:
    """A bag of text lines: word counts, the pure-Python work bags are made for."""
    import tempfile
    from collections import Counter

    if _missing(tour, "fsspec", "4. Bags", "Reading text needs fsspec", "bag"):
        return
    import plait.bag as db

    n = tour.sizes.text_lines
    folder = tempfile.mkdtemp(prefix="plait-demo-")
    tour.started(f"text files in {folder}", partial(shutil.rmtree, folder, True))
    paths = _write_text(folder, n, 8)
    tour.heading(f"4. Bags: word count over {n:,} lines of text in {len(paths)} files")
    _ensure_process_pool(tour)

    def plain() -> dict:
        counts: Counter = Counter()
        for path in paths:
            with open(path) as f:
                for line in f:
                    counts.update(line.split())
        return dict(counts)

    expected, base = _timed(plain)
    tour.row("plain Python, one process", base)
    counts = db.read_text(paths).str.split().flatten().frequencies()
    for scheduler in ("sync", "threads", "processes"):
        values, seconds = _timed(lambda: counts.compute(scheduler=scheduler,
                                                        num_workers=tour.workers))
        note = f"{base / seconds:4.1f}x plain" if seconds > 0 else ""
        tour.row(f"read_text -> split -> frequencies, {scheduler}", seconds, note)
        tour.check(f"word counts, {scheduler}", dict(values), expected)
    tour.say("  Reading, splitting and counting run fused, one task per file, streaming "
             "lines; the")
    tour.say("  per-file counts are then merged in a tree. Bags compute with processes "
             "by default.")


def arrays(tour: Tour) -> None:
    """Chunked arrays: NumPy expressions on blocks, run by threads."""
    if _missing(tour, "numpy", "5. Arrays", "Arrays need NumPy", "array"):
        return
    import numpy as np

    import plait.array as da

    n = tour.sizes.array_side
    block = max(n // 4, 1)
    tour.heading(f"5. Arrays: ({n}, {n}) random numbers in ({block}, {block}) blocks")
    data = np.random.default_rng(0).random((n, n))
    x = da.from_array(data, chunks=(block, block))
    expr = (x + x.T - x.mean(axis=0)).std()
    tour.say(f"  (x + x.T - x.mean(axis=0)).std(): {len(expr.dask)} tasks")
    expected, base = _timed(lambda: float((data + data.T - data.mean(axis=0)).std()))
    tour.row("NumPy, one call", base)
    for scheduler in ("sync", "threads"):
        value, seconds = _timed(lambda: float(expr.compute(scheduler=scheduler,
                                                           num_workers=tour.workers)))
        note = f"{base / seconds:4.1f}x NumPy" if seconds > 0 else ""
        tour.row(f"plait.array, {scheduler}", seconds, note)
        tour.check(f"array expression, {scheduler}", round(value, 9), round(expected, 9))
    tour.say("  NumPy releases the GIL inside each block, so threads run blocks side by "
             "side;")
    tour.say("  arrays compute with threads by default.")


def dataframes(tour: Tour) -> None:
    """Partitioned dataframes: CSV files read in blocks, pandas work per partition."""
    heading = "6. DataFrames"
    if _missing(tour, "pandas", heading, "DataFrames need pandas", "dataframe"):
        return
    import io
    import tempfile
    from contextlib import redirect_stdout

    import numpy as np
    import pandas as pd

    import plait.dataframe as dd

    n, files = tour.sizes.frame_rows, 8
    folder = tempfile.mkdtemp(prefix="plait-demo-csv-")
    tour.started(f"CSV files in {folder}", partial(shutil.rmtree, folder, True))
    rng = np.random.default_rng(0)
    names = np.array(["Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Grace", "Heidi"])
    for f in range(files):
        rows = n // files
        pd.DataFrame({"id": rng.integers(0, 1000, rows), "name": rng.choice(names, rows),
                      "x": rng.normal(size=rows).round(6), "y": rng.normal(size=rows).round(6)}
                     ).to_csv(os.path.join(folder, f"part-{f}.csv"), index=False)
    tour.heading(f"{heading}: {n:,} rows of CSV in {files} files (id, name, x, y)")
    pattern = os.path.join(folder, "*.csv")
    whole, base = _timed(lambda: pd.concat(pd.read_csv(os.path.join(folder, f"part-{f}.csv"))
                                           for f in range(files)))
    expected_max = float(whole[whole.x > 0].y.max())
    expected_means = whole.groupby("name").x.mean().round(9).to_dict()
    tour.row("pandas: read every file", base)
    df = dd.read_csv(pattern)
    query = df[df.x > 0].y.max()
    plan = io.StringIO()
    with redirect_stdout(plan):
        query.explain()
    tour.say("  df[df.x > 0].y.max(): the optimizer hands the column and the filter to "
             "the reader")
    for line in plan.getvalue().splitlines():
        if "FromParts" in line:
            tour.say(f"    {line.strip()}")
    for scheduler in ("sync", "threads"):
        value, seconds = _timed(lambda: float(query.compute(scheduler=scheduler)))
        tour.row(f"df[df.x > 0].y.max(), {scheduler}", seconds)
        tour.check(f"dataframe filter + max, {scheduler}", value, expected_max)
    means, seconds = _timed(lambda: df.groupby("name").x.mean().compute())
    tour.row('df.groupby("name").x.mean(), threads', seconds)
    tour.check("dataframe group-by mean", means.round(9).to_dict(), expected_means)


def local_cluster(tour: Tour) -> None:
    """A scheduler and worker processes on this machine: the same work, as futures."""
    heading = "7. A local cluster"
    if _missing(tour, "msgpack", heading, "the distributed scheduler needs msgpack",
                "pip install 'plait[distributed]'"):
        return
    from .distributed import Client, LocalCluster

    s = tour.sizes
    n = max(min(tour.workers, 4), 1)
    tour.heading(f"{heading}: a scheduler and {n} worker processes on 127.0.0.1")
    cluster, seconds = _timed(lambda: LocalCluster(
        n_workers=n, threads_per_worker=1, dashboard_address="127.0.0.1:0"))
    tour.started(f"local cluster (scheduler {cluster.scheduler_address})", cluster.close)
    client = Client(cluster, set_as_default=False)
    tour.started("its client", client.close)
    tour.row(f"starting the scheduler and {n} workers", seconds, "not counted below")
    tour.say(f"  scheduler at {client.scheduler_address}; dashboard at "
             f"{client.dashboard_link or 'none (pip install bokeh)'}")

    data = list(range(s.items))
    expected = sum(inc(x) + double(x) for x in data)

    def futures() -> int:
        incs = client.map(inc, data, pause=s.pause)
        doubles = client.map(double, data, pause=s.pause)
        adds = client.map(add, incs, doubles)   # futures as arguments: no round trip
        return client.submit(sum, adds).result()

    total, seconds = _timed(futures)
    tour.row("futures: map inc, map double, map add, sum", seconds)
    tour.check("futures on the cluster", total, expected)
    tree, seconds = _timed(lambda: _tree_total(data, s.pause).compute(scheduler=client))
    tour.row("the delayed tree total, scheduler=client", seconds)
    tour.check("delayed on the cluster", tree, sum(double(inc(x)) for x in data))

    n_tasks = s.tasks // 4
    values, seconds = _timed(lambda: client.gather(client.map(inc, range(n_tasks))))
    tour.row(f"client.map(inc, range({n_tasks:,})) + gather", seconds,
             f"{n_tasks / seconds:8,.0f} tasks/s" if seconds > 0 else "")
    tour.check(f"{n_tasks:,} x inc on the cluster", values, [i + 1 for i in range(n_tasks)])
    tour.say("  Workers fetch their inputs from each other; the client only sends graphs "
             "and gathers results.")
    if client.dashboard_link:
        workers, done = _dashboard_counts(client.dashboard_link)
        tour.check("the dashboard's /metrics: workers, all inc tasks done",
                   (workers, done >= n_tasks), (n, True))
        tour.say("  Open the dashboard link while the tour runs to watch the task stream, "
                 "progress and memory of each worker.")


def _dashboard_counts(link: str) -> tuple[int, int]:
    """Workers and finished ``inc`` tasks as the dashboard's ``/metrics`` reports them."""
    import re
    import urllib.request

    base = link.rsplit("/", 1)[0]
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    workers = re.search(r"^plait_scheduler_workers (\d+)", text, re.M)
    done = re.search(r'^plait_scheduler_tasks_completed_total\{prefix="inc"\} (\d+)',
                     text, re.M)
    return (int(workers.group(1)) if workers else -1, int(done.group(1)) if done else 0)


#: The tour, in order. Each section is ``section(tour) -> None``.
SECTIONS: list[Callable[[Tour], None]] = [sleeping_tasks, gil_bound, task_overhead,
                                          bag_wordcount, arrays, dataframes, local_cluster]


def _calibrate_fib(target: float) -> int:
    """The n for which fib(n) takes about ``target`` seconds on this machine."""
    n, seconds = 15, 0.0
    while seconds < 2e-3 and n < 40:
        n += 1
        _, seconds = _timed(lambda: fib(n))
    growth = (1 + 5 ** 0.5) / 2  # each step of n costs about phi times more
    return max(n, n + round(math.log(target / seconds, growth)))


def _brief(value: Any) -> str:
    if isinstance(value, list) and len(value) > 4:
        return f"[{value[0]!r}, {value[1]!r}, ..., {value[-1]!r}] ({len(value):,} items)"
    if isinstance(value, dict) and len(value) > 2:
        (k0, v0), (k1, v1) = list(value.items())[:2]
        return f"{{{k0!r}: {v0!r}, {k1!r}: {v1!r}, ...}} ({len(value):,} keys)"
    return repr(value)


def _report(tour: Tour) -> int:
    tour.heading("8. Results against plain Python")
    width = max(len(c.what) for c in tour.checks)
    for c in tour.checks:
        if c.ok:
            tour.say(f"  {c.what:<{width}}  {_brief(c.got)}  " + click.style("OK", fg="green"))
        else:
            tour.say(f"  {c.what:<{width}}  " + click.style("MISMATCH", fg="red", bold=True)
                     + f": got {_brief(c.got)}, expected {_brief(c.expected)}")
    bad = sum(not c.ok for c in tour.checks)
    if bad:
        tour.say(f"{bad} of {len(tour.checks)} results differ from plain Python.",
                 fg="red", bold=True)
        return 1
    tour.say(f"All {len(tour.checks)} results match plain Python: OK", fg="green")
    return 0


def _wait_for_ctrl_c(tour: Tour) -> None:
    tour.say()
    tour.say("--keep-open: waiting for Ctrl-C before stopping what the demo started, so "
             "that it can be looked at:")
    for description in tour.running or ["nothing but this process"]:
        tour.say(f"  - {description}")
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread: Ctrl-C still works there
        pass
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        tour.say("Interrupted: stopping.")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_demo(keep_open: bool = False, quick: bool = False, out: IO[str] | None = None,
             sections: list[Callable[[Tour], None]] | None = None) -> int:
    """Run the tour; return the exit status (0 when every result matched plain Python).

    ``quick`` shrinks every size (a few seconds in all). ``keep_open`` waits for Ctrl-C
    (or SIGTERM) before stopping what the tour started. ``out`` defaults to stdout;
    colour is used only on a terminal, and never when ``NO_COLOR`` is set.
    """
    tour = Tour(QUICK if quick else FULL, out=out,
                color=False if os.environ.get("NO_COLOR") else None)
    start = perf_counter()
    with tour.resources:
        tour.say(f"plait {plait.__version__} demo{' (quick sizes)' if quick else ''}: "
                 f"Python {platform.python_version()}, {os.cpu_count() or 1} cores; "
                 "all data is generated here.")
        for section in SECTIONS if sections is None else sections:
            section(tour)
        status = _report(tour)
        tour.say(f"The tour took {perf_counter() - start:.1f} s.")
        if keep_open:
            _wait_for_ctrl_c(tour)
    return status

"""Profiling: which tasks take the time, and how well the work runs in parallel.

From the seed "Schedulers" (the Dask tutorial's scheduler notebook, section
"Profiling"), with ``import plait as dask``. The tutorial profiles the largest departure
delay of non-cancelled flights two ways; the flights are made up here, one partition
per day, so no files are needed.

1. Python's own profiler on the sync scheduler. In IPython the tutorial writes::

       %prun -l 30 largest_delay.compute(scheduler="sync")

   which is ``cProfile.run(...)`` in a script. Under ``sync`` every task runs in the
   calling thread, so the task functions (``load_day``, ``largest_flown_delay``) show up
   in the profile; under ``threads`` they run in worker threads that cProfile does not
   see, and the profile shows mostly waiting. Use sync for profiling single tasks.

2. plait's diagnostics for the parallel run: ``Profiler`` records when each task ran and
   on which worker, ``ResourceProfiler`` samples CPU and memory, and ``visualize`` draws
   both on one interactive page (bokeh, written with ``show=False`` so no browser opens;
   BokehJS is inlined, so the page works offline).

Run it with ``python examples/profiling.py`` (a few seconds). The page goes to a new
temporary directory, whose path it prints.
"""

import cProfile
import importlib.util
import io
import os
import pstats
import random
import sys
import tempfile

import plait as dask
from plait.diagnostics import Profiler, ResourceProfiler, visualize

DAYS = 8
FLIGHTS_PER_DAY = 60_000


def load_day(day):
    """One day of made-up flights: (departure delay in minutes, cancelled?)."""
    rng = random.Random(day)
    return [(round(rng.gauss(10, 30), 1), rng.random() < 0.02) for _ in range(FLIGHTS_PER_DAY)]


def largest_flown_delay(flights):
    """The largest delay among the flights that were not cancelled."""
    return max(delay for delay, cancelled in flights if not cancelled)


def check(what, got, expected):
    if got != expected:
        sys.exit(f"{what}: got {got!r}, expected {expected!r}")


def profile_calls(statement, namespace):
    """cProfile ``statement``; return the report and the names of the functions seen."""
    profiler = cProfile.Profile()
    profiler.runctx(statement, namespace, namespace)
    report = io.StringIO()
    stats = pstats.Stats(profiler, stream=report).sort_stats("tottime")
    stats.print_stats(8)
    names = {func for (_, _, func) in stats.stats}
    return report.getvalue(), names


def main():
    expected = max(largest_flown_delay(load_day(d)) for d in range(DAYS))
    days = [dask.delayed(load_day)(d) for d in range(DAYS)]
    largest_delay = dask.delayed(max)([dask.delayed(largest_flown_delay)(f) for f in days])

    print('1. cProfile (IPython: %prun -l 30 largest_delay.compute(scheduler="sync"))')
    namespace = {"largest_delay": largest_delay, "result": None}
    report, sync_names = profile_calls(
        'result = largest_delay.compute(scheduler="sync")', namespace)
    check("sync result", namespace["result"], expected)
    print("\n".join("   " + line for line in report.strip().splitlines()[:18]))
    _, thread_names = profile_calls(
        'result = largest_delay.compute(scheduler="threads")', namespace)
    check("threads result", namespace["result"], expected)
    check("load_day seen by cProfile under sync", "load_day" in sync_names, True)
    check("load_day hidden from cProfile under threads", "load_day" in thread_names, False)
    print("   Under sync the task functions appear (load_day, largest_flown_delay); under "
          "threads\n   they run in worker threads and cProfile sees only the waiting.")

    print("\n2. Profiler and ResourceProfiler around a threaded compute")
    with Profiler() as prof, ResourceProfiler(dt=0.25) as rprof:
        result = largest_delay.compute(scheduler="threads")
    check("profiled result", result, expected)
    by_function = {}
    for task in prof.results:
        name = task.task.split("(")[0]
        by_function.setdefault(name, []).append(task.end_time - task.start_time)
    for name, times in sorted(by_function.items()):
        print(f"   {name:>20}: {len(times)} tasks, {sum(times):.3f} s in all")
    workers = {task.worker_id for task in prof.results}
    print(f"   {len(prof.results)} tasks on {len(workers)} worker threads in "
          f"{prof.end_time - prof.start_time:.3f} s; {len(rprof.results)} CPU/memory "
          f"samples, peak {max(r.mem for r in rprof.results):.0f} MiB")
    check("one entry per load_day task", len(by_function.get("load_day", [])), DAYS)
    check("samples taken", len(rprof.results) >= 1, True)

    if importlib.util.find_spec("bokeh") is None:
        print("   Not drawing the profile: bokeh is not installed (pip install bokeh).")
    else:
        folder = tempfile.mkdtemp(prefix="plait-profiling-")
        path = os.path.join(folder, "profile.html")
        visualize([prof, rprof], filename=path, show=False)
        print(f"   Wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB, works offline); "
              "open it in a browser.")
    print("\nProfiles recorded; results match plain Python.")


if __name__ == "__main__":
    main()

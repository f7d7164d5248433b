"""Schedulers: one task graph, run on a thread pool, a process pool and a single thread.

From the seeds "Schedulers" (the Dask tutorial's scheduler notebook, old and new
versions) and "Distributed: Dask Schedulers" (Pangeo-style tutorial), with
``import plait as dask``. The tutorials time a dataframe reduction (the largest
departure delay of non-cancelled flights); here the flights are made up in the script,
one partition per day, so the graph has the same shape without any files.

It shows every way to choose a scheduler:

- ``x.compute(scheduler=...)`` and ``dask.compute(a, b, scheduler=...)`` with a name
  (``"threads"``, ``"processes"``, ``"sync"``/``"single-threaded"``), and ``num_workers``;
- ``dask.config.set(scheduler=...)`` for a block (``with``) or from then on (no ``with``);
- the old get-functions ``dask.threaded.get``, ``dask.multiprocessing.get`` and
  ``dask.get``, passed as ``scheduler=``;
- the ``get=`` keyword of old tutorials, which is gone: it raises TypeError saying what
  to write instead.

Run it with ``python examples/schedulers.py`` (about 5 seconds). The process pool's
workers import this file, so the ``if __name__ == "__main__":`` guard is required.
"""

import os
import random
import sys
import threading
import time
from multiprocessing import cpu_count

import plait as dask

DAYS = 8
FLIGHTS_PER_DAY = 100_000


def load_day(day):
    """One day of made-up flights: (departure delay in minutes, cancelled?)."""
    rng = random.Random(day)
    return [(round(rng.gauss(10, 30), 1), rng.random() < 0.02) for _ in range(FLIGHTS_PER_DAY)]


def largest_flown_delay(flights):
    """The largest delay among the flights that were not cancelled."""
    return max(delay for delay, cancelled in flights if not cancelled)


def where():
    """Where this task ran: (process id, thread name)."""
    return os.getpid(), threading.current_thread().name


def describe(place):
    pid, thread = place
    if pid != os.getpid():
        return f"another process (pid {pid})"
    if thread == threading.main_thread().name:
        return "the main thread"
    return f"a worker thread ({thread})"


def check(what, got, expected):
    if got != expected:
        sys.exit(f"{what}: got {got!r}, expected {expected!r}")


def main():
    # Plain Python first: the answer every scheduler must give.
    expected = max(largest_flown_delay(load_day(d)) for d in range(DAYS))

    days = [dask.delayed(load_day)(d) for d in range(DAYS)]
    largest_delay = dask.delayed(max)([dask.delayed(largest_flown_delay)(f) for f in days])
    print(f"largest_delay = {largest_delay!r}: {DAYS} days of {FLIGHTS_PER_DAY:,} flights, "
          "not computed yet")
    print(f"This machine has {cpu_count()} cores; threads and processes use that many "
          "workers unless told otherwise.")

    print("\nBy name (each gives the same answer):")
    for name in ["threads", "processes", "sync"]:
        start = time.perf_counter()
        result = largest_delay.compute(scheduler=name)
        print(f"  {name:>10}: {time.perf_counter() - start:6.3f} s, largest delay {result}")
        check(name, result, expected)
    print("  load_day is pure Python and holds the GIL, so threads are no faster than "
          "sync; processes\n  run days side by side, but pay for starting their workers "
          "(on first use) and for\n  pickling each day's flights between processes.")

    print("\nWith num_workers (the same keyword for threads and processes):")
    for name in ["threads", "processes"]:
        start = time.perf_counter()
        result = largest_delay.compute(scheduler=name, num_workers=2)
        print(f"  {name:>10}, num_workers=2: {time.perf_counter() - start:6.3f} s")
        check(f"{name}, num_workers=2", result, expected)

    print("\nWhere does a task run?")
    probe = dask.delayed(where, pure=False)()
    print(f"  {'probe.compute()':<48} {describe(probe.compute())}")
    with dask.config.set(scheduler="processes"):  # only inside this block
        in_block = probe.compute()
        print(f"  {'inside with dask.config.set(scheduler=...)':<48} {describe(in_block)}")
    check("config.set(scheduler='processes') in a with block", in_block[0] != os.getpid(), True)
    after = probe.compute(scheduler="single-threaded")
    print(f"  {'after it, compute(scheduler=single-threaded)':<48} {describe(after)}")
    check("single-threaded", after, (os.getpid(), threading.main_thread().name))

    print("\nThe get-functions of older tutorials, passed as scheduler=:")
    for label, get in [("dask.threaded.get", dask.threaded.get),
                       ("dask.multiprocessing.get", dask.multiprocessing.get),
                       ("dask.get", dask.get)]:
        result = largest_delay.compute(scheduler=get)
        print(f"  compute(scheduler={label}) -> {result}")
        check(label, result, expected)
    first, last = days[0], days[-1]
    both = dask.compute(dask.delayed(len)(first), dask.delayed(len)(last),
                        scheduler=dask.multiprocessing.get)
    print(f"  dask.compute(a, b, scheduler=dask.multiprocessing.get) -> {both}")
    check("compute(a, b)", both, (FLIGHTS_PER_DAY, FLIGHTS_PER_DAY))

    print("\nThe get= keyword was removed; it raises TypeError with the fix:")
    try:
        largest_delay.compute(get=dask.multiprocessing.get)
    except TypeError as exc:
        print(f"  TypeError: {exc}")
    else:
        sys.exit("compute(get=...) should have raised TypeError")

    print("\nSetting the scheduler from now on (no `with`):")
    dask.config.set(scheduler="sync")
    now = probe.compute()
    print(f"  {'after dask.config.set(scheduler=sync)':<48} {describe(now)}")
    check("config.set(scheduler='sync')", now, (os.getpid(), threading.main_thread().name))
    check("largest delay under config sync", largest_delay.compute(), expected)
    print("\nAll schedulers agree with plain Python.")


if __name__ == "__main__":
    main()

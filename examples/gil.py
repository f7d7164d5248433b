"""Threads, processes and the GIL: why pure-Python work needs processes.

From the seed "Threads, Processes, and the Global Interpreter Lock" (the opening of the
older Dask tutorial's scheduler notebook), with ``import plait as dask``. The tutorial
times a slow recursive Fibonacci with ``concurrent.futures``, first on a thread pool,
then (the exercise) on a process pool; this script does both, then runs the same calls
as plait tasks under the sync, threads and processes schedulers.

The second half is the other side of the argument: work that releases the GIL (here
``hashlib`` digesting large buffers, which CPython does without the GIL) runs in
parallel on threads, while processes must first pickle every buffer across a pipe.

The size of ``fib(n)`` is chosen on the spot so that one call takes about 0.2 s on
this machine. Run it with ``python examples/gil.py`` (about 6 seconds on two cores).
"""

import concurrent.futures
import hashlib
import math
import multiprocessing
import os
import sys
import time

import plait as dask

CALLS = 4  # as in the tutorial: four identical calls
SECONDS_PER_CALL = 0.2
BUFFER_MIB = 16
ROUNDS = 8


def fib(n):
    """The n-th Fibonacci number, deliberately slow: pure Python, holding the GIL."""
    if n < 2:
        return n
    return fib(n - 2) + fib(n - 1)


def digest(buffer, rounds=ROUNDS):
    """SHA-256 of a large buffer fed ``rounds`` times: CPython hashes it without the GIL."""
    h = hashlib.sha256()
    for _ in range(rounds):
        h.update(buffer)
    return h.hexdigest()


def pick_n(target):
    """The n for which fib(n) takes about ``target`` seconds here."""
    n, took = 15, 0.0
    while took < 0.005:
        n += 1
        start = time.perf_counter()
        fib(n)
        took = time.perf_counter() - start
    return n + max(0, round(math.log(target / took, (1 + 5 ** 0.5) / 2)))


def timed(label, run, baseline=None):
    start = time.perf_counter()
    value = run()
    took = time.perf_counter() - start
    ratio = f"   speed-up {baseline / took:4.1f}x" if baseline else ""
    print(f"  {label:<34} {took:6.2f} s{ratio}")
    return value, took


def check(what, got, expected):
    if got != expected:
        sys.exit(f"{what}: got {got!r}, expected {expected!r}")


def processes_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def main():
    workers = min(os.cpu_count() or 1, CALLS)
    n = pick_n(SECONDS_PER_CALL)
    inputs = [n] * CALLS
    expected = [fib(n)] * CALLS
    print(f"fib({n}) x {CALLS}, about {SECONDS_PER_CALL} s per call; {workers} workers "
          f"on {os.cpu_count()} cores")

    print("\nconcurrent.futures, as in the tutorial:")
    values, one_at_a_time = timed("map(fib, ...), one at a time", lambda: list(map(fib, inputs)))
    check("map", values, expected)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        values, _ = timed("ThreadPoolExecutor", lambda: list(pool.map(fib, inputs)),
                          one_at_a_time)
    check("ThreadPoolExecutor", values, expected)
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers,
                                                mp_context=processes_context()) as pool:
        pool.submit(int).result()  # start the workers before timing
        values, _ = timed("ProcessPoolExecutor", lambda: list(pool.map(fib, inputs)),
                          one_at_a_time)
    check("ProcessPoolExecutor", values, expected)

    print("\nThe same calls as plait tasks:")
    calls = [dask.delayed(fib)(i) for i in inputs]
    dask.compute(dask.delayed(int)(), scheduler="processes", num_workers=workers)  # warm up
    for scheduler in ["sync", "threads", "processes"]:
        (values,), _ = timed(f"scheduler={scheduler!r}", lambda: dask.compute(
            calls, scheduler=scheduler, num_workers=workers), one_at_a_time)
        check(scheduler, values, expected)
    print("  Only one thread runs Python code at a time, so threads take turns on fib;")
    print("  each process has its own interpreter and lock, so processes use every core.")

    buffers = [bytes([i]) * (BUFFER_MIB << 20) for i in range(CALLS)]
    wanted = [digest(b) for b in buffers]
    print(f"\nWork that releases the GIL: SHA-256 over {CALLS} buffers of {BUFFER_MIB} MiB, "
          f"each hashed {ROUNDS} times")
    hashes = [dask.delayed(digest)(b) for b in buffers]
    _, base = timed("scheduler='sync'", lambda: dask.compute(hashes, scheduler="sync"))
    for scheduler in ["threads", "processes"]:
        (values,), _ = timed(f"scheduler={scheduler!r}", lambda: dask.compute(
            hashes, scheduler=scheduler, num_workers=workers), base)
        check(scheduler, values, wanted)
    print("  hashlib lets go of the GIL, so threads run in parallel too, sharing the buffers;")
    print(f"  processes must first pickle each {BUFFER_MIB} MiB buffer to a worker. NumPy and")
    print("  pandas also release the GIL: that is why threads are the default for arrays")
    print("  and dataframes, and processes are kept for GIL-holding Python code.")


if __name__ == "__main__":
    main()

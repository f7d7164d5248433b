"""The fractal on a cluster: ``client.compute(fractal, sync=True)``.

From the seed "Dask & multiprocessing" (seeds/002_7c4cf3d20c681f4a.txt): after a
``plait scheduler`` and a ``plait worker`` are started, ``Client("127.0.0.1:8786")``
connects to them and ``client.compute(fractal, sync=True)`` runs the chunked fractal
there and returns the NumPy array. Here a LocalCluster stands in for the two commands
(the same Scheduler and Worker classes, started for you), and the array is small. The
result must equal NumPy's, and the threads scheduler's.

Run with ``python examples/distributed_fractal.py``.
"""

from __future__ import annotations

import time

import numpy

import plait.array
from plait.distributed import Client, LocalCluster

HEIGHT, WIDTH, MAXITERATIONS, ROWS = 200, 300, 20, 25


def prepare(height, width):
    y, x = numpy.ogrid[-1:0:height*1j, -1.5:0:width*1j]
    c = x + y*1j
    fractal = numpy.zeros(c.shape, dtype=numpy.int32)
    return c, fractal


def run(c, fractal, maxiterations=20):
    fractal *= 0
    fractal += maxiterations
    z = c
    for i in range(maxiterations):
        z = z**2 + c
        diverge = numpy.absolute(z) > 2
        divnow = diverge & (fractal == maxiterations)
        fractal[divnow] = i
        z[diverge] = 2
    return fractal


def main() -> None:
    c, fractal = prepare(HEIGHT, WIDTH)
    expected = run(c, fractal, MAXITERATIONS)

    c, fractal = prepare(HEIGHT, WIDTH)
    c = plait.array.from_array(c, chunks=(ROWS, WIDTH))
    fractal = plait.array.from_array(fractal, chunks=(ROWS, WIDTH))
    fractal = run(c, fractal, MAXITERATIONS)
    threaded = fractal.compute(scheduler="threads")

    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster:
        client = Client(cluster.scheduler_address)   # as Client("127.0.0.1:8786")
        try:
            print(client)
            start = time.perf_counter()
            result = client.compute(fractal, sync=True)
            print(f"computed on the cluster in {time.perf_counter() - start:.3f} s")
        finally:
            client.close()

    for name, got in (("cluster", result), ("threads", threaded)):
        if got.dtype != expected.dtype or not numpy.array_equal(got, expected):
            raise SystemExit(f"the {name} fractal differs from NumPy's")
    print("Fractal on the cluster matches NumPy.")


if __name__ == "__main__":
    main()

"""A Mandelbrot-style fractal computed by plain NumPy code that runs unchanged on plait arrays.

From the seed "Dask & multiprocessing" (seeds/002_7c4cf3d20c681f4a.txt): the same
``run`` function, with its masks and piecemeal assignments (``fractal[divnow] = i``,
``z[diverge] = 2``), is first given NumPy arrays and then chunked plait arrays made with
``plait.array.from_array(c, chunks=(rows, width))``. plait turns every step into one task
per block of rows, so the blocks are computed in parallel and no block ever needs
another's data. The result must equal NumPy's exactly; timings are printed for chunks of
10 and of 100 rows. Sizes are small so that the example runs in seconds (the seed uses
8000 x 12000).

Run with ``python examples/fractal.py``.
"""

from __future__ import annotations

import time

import numpy

import plait.array

HEIGHT, WIDTH, MAXITERATIONS = 400, 600, 20


def prepare(height, width):
    y, x = numpy.ogrid[-1:0:height*1j, -1.5:0:width*1j]
    c = x + y*1j
    fractal = numpy.zeros(c.shape, dtype=numpy.int32)
    return c, fractal


def run(c, fractal, maxiterations=20):
    fractal *= 0                  # set fractal to maxiterations without replacing it
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
    start = time.perf_counter()
    expected = run(c, fractal, MAXITERATIONS)
    print(f"NumPy, {HEIGHT} x {WIDTH}, {MAXITERATIONS} iterations: "
          f"{time.perf_counter() - start:.3f} s")

    for rows in (10, 100):
        c, fractal = prepare(HEIGHT, WIDTH)
        c = plait.array.from_array(c, chunks=(rows, WIDTH))
        fractal = plait.array.from_array(fractal, chunks=(rows, WIDTH))

        start = time.perf_counter()
        fractal = run(c, fractal, MAXITERATIONS)  # builds the graph: nothing runs yet
        built = time.perf_counter() - start

        start = time.perf_counter()
        result = fractal.compute()                # runs it on a pool of threads
        computed = time.perf_counter() - start
        print(f"plait, chunks of {rows} rows ({fractal.npartitions} blocks): "
              f"graph built in {built:.3f} s, computed in {computed:.3f} s")

        if result.dtype != expected.dtype or not numpy.array_equal(result, expected):
            raise SystemExit(f"Fractal with chunks of {rows} rows differs from NumPy's")
    print("Fractal matches NumPy.")


if __name__ == "__main__":
    main()

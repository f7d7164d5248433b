"""The seed's fractal (NumPy code run unchanged on chunked arrays, with boolean-mask
item assignment), at 2000 x 3000 with chunks of 10 and of 100 rows."""

from __future__ import annotations

import importlib
import time
from types import ModuleType
from typing import Any

import numpy

from benchmarks.bench_overhead import Benchmark

HEIGHT, WIDTH, ITERATIONS = 2000, 3000, 20


def prepare(height: int, width: int) -> tuple:
    y, x = numpy.ogrid[-1:0:height * 1j, -1.5:0:width * 1j]
    c = x + y * 1j
    return c, numpy.zeros(c.shape, dtype=numpy.int32)


def run(c: Any, fractal: Any, maxiterations: int = ITERATIONS) -> Any:
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


def _fractal(rows: int) -> Any:
    def bench(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
        da = importlib.import_module(f"{lib.__name__}.array")
        c, fractal = prepare(HEIGHT, WIDTH)
        t0 = time.perf_counter()
        lazy = run(da.from_array(c, chunks=(rows, WIDTH)),
                   da.from_array(fractal, chunks=(rows, WIDTH)))
        build = time.perf_counter() - t0
        result = lazy.compute(scheduler=scheduler)
        seconds = time.perf_counter() - t0
        t1 = time.perf_counter()
        expected = run(*prepare(HEIGHT, WIDTH))
        numpy_seconds = time.perf_counter() - t1
        if not numpy.array_equal(result, expected):
            raise AssertionError("fractal: differs from NumPy's result")
        return {"tasks": (HEIGHT // rows) * ITERATIONS * 6, "build_seconds": build,
                "seconds": seconds, "numpy_seconds": numpy_seconds}

    bench.__name__ = f"fractal_rows_{rows}"
    return bench


BENCHMARKS: list[Benchmark] = [
    Benchmark("fractal_rows_10", _fractal(10), 0),
    Benchmark("fractal_rows_100", _fractal(100), 0),
]

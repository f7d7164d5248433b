"""Rechunk benchmarks: turning tall thin blocks into short wide ones, the case where a
direct plan makes every task read the whole array.

The array is made block by block (random numbers) and summed block by block after
the rechunk, so peak memory shows what the rechunk itself holds, not a copy of the
input or of the result.
"""

from __future__ import annotations

import importlib
import time
from types import ModuleType
from typing import Any

from benchmarks.bench_overhead import Benchmark


def _da(lib: ModuleType) -> ModuleType:
    return importlib.import_module(f"{lib.__name__}.array")


def _graph_size(lib: ModuleType, x: Any) -> int:
    return len(x.dask if lib.__name__ == "plait" else dict(x.__dask_graph__()))


def rechunk_transposed(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """(size, size) float64 from (size, 100) chunks to (100, size), then ``.sum()``."""
    da = _da(lib)
    x = da.random.random((size, size), chunks=(size, 100))
    t0 = time.perf_counter()
    y = x.rechunk((100, size))
    total = y.sum()
    tasks = _graph_size(lib, total)
    build = time.perf_counter() - t0
    if y.chunks != ((100,) * (size // 100) + ((size % 100,) if size % 100 else ()), (size,)):
        raise AssertionError(f"rechunk_transposed: chunks {y.chunks}")
    t1 = time.perf_counter()
    got = float(total.compute(scheduler=scheduler))
    seconds = time.perf_counter() - t1 + build
    expected = size * size / 2
    if abs(got - expected) / expected > 1e-3:
        raise AssertionError(f"rechunk_transposed: sum {got} is far from {expected}")
    return {"tasks": tasks, "build_seconds": build, "seconds": seconds}


BENCHMARKS: list[Benchmark] = [
    Benchmark("rechunk_transposed", rechunk_transposed, 8_000, processes_size=4_000),
]

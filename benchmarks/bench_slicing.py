"""Indexing benchmark: ``x[idx]`` with 1,000,000 unsorted random integer indices into a
(10**8,) array."""

from __future__ import annotations

import importlib
import time
from types import ModuleType
from typing import Any

import numpy as np

from benchmarks.bench_overhead import Benchmark


def unsorted_take(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    da = importlib.import_module(f"{lib.__name__}.array")
    data = np.arange(size, dtype=np.float64)
    idx = np.random.default_rng(0).integers(0, size, 1_000_000)
    x = da.from_array(data, chunks=size // 100)
    t0 = time.perf_counter()
    y = x[idx]
    build = time.perf_counter() - t0
    got = y.compute(scheduler=scheduler)
    seconds = time.perf_counter() - t0
    if not np.array_equal(got, data[idx]):
        raise AssertionError("unsorted_take: differs from NumPy")
    return {"tasks": 100, "build_seconds": build, "seconds": seconds}


BENCHMARKS: list[Benchmark] = [Benchmark("array_take_1m_unsorted", unsorted_take, 10**8)]

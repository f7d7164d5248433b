"""Array benchmarks: the tutorials' expressions on chunked arrays, side by side with one
NumPy call on the same data (``numpy_seconds``), graph construction for 100,000
chunks, and the peak memory of a sum over an array larger than the memory it may use.
"""

from __future__ import annotations

import importlib
import time
from types import ModuleType
from typing import Any

import numpy as np

from benchmarks.bench_overhead import Benchmark


def _da(lib: ModuleType) -> ModuleType:
    return importlib.import_module(f"{lib.__name__}.array")


def _timed(func: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = func()
    return out, time.perf_counter() - t0


def _numpy_timed(func: Any) -> tuple[Any, float]:
    """NumPy's result and its best time of two calls (the first pays page faults)."""
    out, first = _timed(func)
    _, second = _timed(func)
    return out, min(first, second)


def _compare(name: str, got: Any, expected: Any, rtol: float = 1e-6) -> None:
    if not np.allclose(got, expected, rtol=rtol):
        raise AssertionError(f"{name}: got {got!r}, NumPy gives {expected!r}")


def _data(n: int) -> np.ndarray:
    return np.random.default_rng(0).random((n, n))


def transpose_mean(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """``(x + x.T - x.mean(axis=0)).sum()`` on (size, size), (1000, 1000) chunks."""
    da = _da(lib)
    data = _data(size)
    x = da.from_array(data, chunks=(1000, 1000))
    got, seconds = _timed(lambda: (x + x.T - x.mean(axis=0)).sum().compute(scheduler=scheduler))
    expected, numpy_seconds = _numpy_timed(lambda: (data + data.T - data.mean(axis=0)).sum())
    _compare("transpose_mean", got, expected)
    return {"tasks": x.npartitions * 4, "build_seconds": 0.0, "seconds": seconds,
            "numpy_seconds": numpy_seconds, "speedup_vs_numpy": numpy_seconds / seconds}


def dot_sum(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """``x.dot(x.T).sum()`` on (size, size), (1000, 1000) chunks."""
    da = _da(lib)
    data = _data(size)
    x = da.from_array(data, chunks=(1000, 1000))
    got, seconds = _timed(lambda: x.dot(x.T).sum().compute(scheduler=scheduler))
    expected, numpy_seconds = _numpy_timed(lambda: data.dot(data.T).sum())
    _compare("dot_sum", got, expected)
    return {"tasks": x.npartitions ** 2, "build_seconds": 0.0, "seconds": seconds,
            "numpy_seconds": numpy_seconds, "speedup_vs_numpy": numpy_seconds / seconds}


def std(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """``x.std()`` on (size, size), (1000, 1000) chunks."""
    da = _da(lib)
    data = _data(size)
    x = da.from_array(data, chunks=(1000, 1000))
    got, seconds = _timed(lambda: x.std().compute(scheduler=scheduler))
    expected, numpy_seconds = _numpy_timed(lambda: data.std())
    _compare("std", got, expected)
    return {"tasks": x.npartitions * 2, "build_seconds": 0.0, "seconds": seconds,
            "numpy_seconds": numpy_seconds, "speedup_vs_numpy": numpy_seconds / seconds}


def build_100k_chunks(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """Build ``((x + 1) * 2).sum()`` over ``size`` chunks and materialise its graph."""
    da = _da(lib)
    t0 = time.perf_counter()
    x = da.ones((1000, size * 10), chunks=(1000, 10))
    y = ((x + 1) * 2).sum()
    graph = y.dask if lib.__name__ == "plait" else dict(y.__dask_graph__())
    build = time.perf_counter() - t0
    if len(graph) < 3 * size:
        raise AssertionError(f"build_100k_chunks: graph has only {len(graph)} tasks")
    return {"tasks": len(graph), "build_seconds": build}


def sum_larger_than_memory(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """``x.sum()`` of ``size`` GB of random numbers made chunk by chunk; peak memory
    shows whether chunks are released as they are summed."""
    da = _da(lib)
    rows = size * 1_000_000_000 // 8 // 10_000
    x = da.random.random((rows, 10_000), chunks=(2_500, 10_000))  # 200 MB chunks
    got, seconds = _timed(lambda: x.sum().compute(scheduler=scheduler))
    expected = rows * 10_000 / 2
    if abs(got - expected) / expected > 1e-3:
        raise AssertionError(f"sum_larger_than_memory: {got} is far from {expected}")
    return {"tasks": x.npartitions * 2, "build_seconds": 0.0, "seconds": seconds}


BENCHMARKS: list[Benchmark] = [
    Benchmark("array_transpose_mean", transpose_mean, 8_000),
    Benchmark("array_dot_sum", dot_sum, 4_000),
    Benchmark("array_std", std, 8_000),
    Benchmark("array_build_100k_chunks", build_100k_chunks, 100_000, computes=False),
    Benchmark("array_sum_8gb", sum_larger_than_memory, 8),
]

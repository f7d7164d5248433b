"""Rechunk benchmarks: turning tall thin blocks into short wide ones, the case where a
direct plan makes every task read the whole array.

The array is made block by block (random numbers) and summed block by block after
the rechunk, so peak memory shows what the rechunk itself holds, not a copy of the
input or of the result.

What the memory limit can and cannot bound: every new (100, 8000) block needs 100 rows
of *every* old (8000, 100) block, so before the first new block exists every old block
has been made and most of each is still needed: any schedule holds about the whole
array (488 MiB at size 8000) at its peak, whatever the limit, unless it recomputes or
spills. The limit bounds what one task reads, hence the peak *beyond* the array itself;
``peak_mib - import_mib - array_mib`` is that excess. The ``_limit64`` and ``_limit256``
variants set plait's ``array.rechunk.memory-limit`` and, for Dask, the setting its
rechunk planner bounds intermediate blocks by (``array.chunk-size``).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import time
from types import ModuleType
from typing import Any

from benchmarks.bench_overhead import Benchmark


def _da(lib: ModuleType) -> ModuleType:
    return importlib.import_module(f"{lib.__name__}.array")


def _graph_size(lib: ModuleType, x: Any) -> int:
    return len(x.dask if lib.__name__ == "plait" else dict(x.__dask_graph__()))


def _limit_config(lib: ModuleType, limit: str | None) -> Any:
    if limit is None:
        return contextlib.nullcontext()
    key = "array.rechunk.memory-limit" if lib.__name__ == "plait" else "array.chunk-size"
    return lib.config.set({key: limit})


def rechunk_transposed(lib: ModuleType, scheduler: str, size: int,
                       limit: str | None = None) -> dict[str, Any]:
    """(size, size) float64 from (size, 100) chunks to (100, size), then ``.sum()``."""
    with _limit_config(lib, limit):
        out = _transpose_chunks(lib, scheduler, size)
    out["array_mib"] = round(size * size * 8 / 2**20, 1)
    if limit is not None:
        out["limit_mib"] = round(_mib(limit), 1)
    return out


def _mib(text: str) -> float:
    units = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
    for unit, factor in units.items():
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor / 2**20
    raise ValueError(f"limit {text!r}: write it as e.g. '64MiB'")


def _transpose_chunks(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
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
    Benchmark("rechunk_transposed_limit64",
              functools.partial(rechunk_transposed, limit="64MiB"), 8_000,
              processes_size=4_000),
    Benchmark("rechunk_transposed_limit256",
              functools.partial(rechunk_transposed, limit="256MiB"), 8_000,
              processes_size=4_000),
]

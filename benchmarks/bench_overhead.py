"""Scheduling-overhead benchmarks: many tiny delayed tasks in common graph shapes.

Each benchmark is a function ``bench(lib, scheduler, size) -> dict`` that builds a
graph with ``lib.delayed`` and computes it with ``lib.compute``, where ``lib`` is the
library module under test (``plait`` or ``dask``). It times its own construction
phase and returns ``{"tasks": ..., "build_seconds": ...}``; the harness times the
whole call (construction plus compute) end to end. Each checks its result against
plain Python, so a wrong answer is reported as an error rather than as a fast time.

The task functions live at module level so that the processes scheduler can pickle
them by reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

BLOCK_BYTES = 1_000_000


def inc(x: int) -> int:
    return x + 1


def add(x: int, y: int) -> int:
    return x + y


def make_block(i: int) -> bytes:
    """A 1 MB leaf; ``i`` only keeps the calls distinct."""
    return bytes(BLOCK_BYTES)


def combine(a: bytes, b: bytes) -> bytes:
    """A new 1 MB object from two, so both inputs can be freed once it exists."""
    return bytes(len(a))


def compute_kwargs(scheduler: str) -> dict[str, Any]:
    """The keyword arguments given to ``lib.compute`` for a scheduler name."""
    if scheduler == "processes":
        return {"scheduler": "processes", "num_workers": 2}
    return {"scheduler": scheduler}


def _check(name: str, got: Any, expected: Any) -> None:
    if got != expected:
        raise AssertionError(f"{name}: computed {got!r}, plain Python gives {expected!r}")


def _pairwise(lib: ModuleType, func: Callable[[Any, Any], Any], level: list[Any]) -> list[Any]:
    """Reduce a list of delayed values to one by adding neighbours, level by level."""
    fn = lib.delayed(func)
    while len(level) > 1:
        pairs = [fn(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            pairs.append(level[-1])
        level = pairs
    return level


def independent(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """``size`` unrelated ``inc`` calls, computed together as one list."""
    start = time.perf_counter()
    tasks = [lib.delayed(inc)(i) for i in range(size)]
    build = time.perf_counter() - start
    (result,) = lib.compute(tasks, **compute_kwargs(scheduler))
    _check("independent", sum(result), sum(range(1, size + 1)))
    return {"tasks": size, "build_seconds": build}


def independent_progressbar(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """``independent`` with a ProgressBar drawing (to a buffer): compare its time with
    ``independent`` of the same run to see the bar's overhead."""
    import importlib
    import io

    diagnostics = importlib.import_module(f"{lib.__name__}.diagnostics")
    start = time.perf_counter()
    tasks = [lib.delayed(inc)(i) for i in range(size)]
    build = time.perf_counter() - start
    out = io.StringIO()
    with diagnostics.ProgressBar(minimum=0, dt=0.1, out=out):
        (result,) = lib.compute(tasks, **compute_kwargs(scheduler))
    _check("independent_progressbar", sum(result), sum(range(1, size + 1)))
    if "100%" not in out.getvalue():
        raise AssertionError("independent_progressbar: the bar never reached 100%")
    return {"tasks": size, "build_seconds": build}


def chain(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """``size`` ``inc`` calls, each depending on the one before."""
    start = time.perf_counter()
    x: Any = 0
    for _ in range(size):
        x = lib.delayed(inc)(x)
    build = time.perf_counter() - start
    (result,) = lib.compute(x, **compute_kwargs(scheduler))
    _check("chain", result, size)
    return {"tasks": size, "build_seconds": build}


def tree(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """Pairwise ``add`` reduction over ``size`` ``inc`` leaves."""
    start = time.perf_counter()
    leaves = [lib.delayed(inc)(i) for i in range(size)]
    (root,) = _pairwise(lib, add, leaves)
    build = time.perf_counter() - start
    (result,) = lib.compute(root, **compute_kwargs(scheduler))
    _check("tree", result, sum(range(1, size + 1)))
    return {"tasks": 2 * size - 1, "build_seconds": build}


def fanin(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """One ``sum`` task over a list of ``size`` ``inc`` results."""
    start = time.perf_counter()
    parts = [lib.delayed(inc)(i) for i in range(size)]
    total = lib.delayed(sum)(parts)
    build = time.perf_counter() - start
    (result,) = lib.compute(total, **compute_kwargs(scheduler))
    _check("fanin", result, sum(range(1, size + 1)))
    return {"tasks": size + 1, "build_seconds": build}


def build_only(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """Construct ``size`` delayed calls and compute nothing."""
    start = time.perf_counter()
    tasks = [lib.delayed(inc)(i) for i in range(size)]
    build = time.perf_counter() - start
    if len(tasks) != size:
        raise AssertionError(f"build_only: built {len(tasks)} calls, asked for {size}")
    return {"tasks": size, "build_seconds": build}


def tree_memory(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """Pairwise reduction of ``size`` 1 MB leaves; peak memory shows whether
    intermediates are released (holding all of them would need ``2 * size`` MB)."""
    start = time.perf_counter()
    leaves = [lib.delayed(make_block)(i) for i in range(size)]
    (root,) = _pairwise(lib, combine, leaves)
    build = time.perf_counter() - start
    (result,) = lib.compute(root, **compute_kwargs(scheduler))
    _check("tree_memory", len(result), BLOCK_BYTES)
    return {"tasks": 2 * size - 1, "build_seconds": build}


@dataclass(frozen=True)
class Benchmark:
    """One named benchmark and the sizes it runs at.

    ``processes_size``, when set, replaces ``size`` under the processes scheduler (for
    both libraries alike) and is shown in the reported name. ``computes`` is False for
    construction-only benchmarks, which run once per library, not once per scheduler.
    """

    name: str
    func: Callable[[ModuleType, str, int], dict[str, Any]]
    size: int
    processes_size: int | None = None
    computes: bool = True

    def size_for(self, scheduler: str) -> int:
        if scheduler == "processes" and self.processes_size is not None:
            return self.processes_size
        return self.size

    def label_for(self, scheduler: str) -> str:
        if scheduler == "processes" and self.processes_size is not None:
            return f"{self.name}[processes:{self.processes_size}]"
        return self.name


BENCHMARKS: list[Benchmark] = [
    Benchmark("independent", independent, 20_000),
    Benchmark("independent_progressbar", independent_progressbar, 20_000),
    Benchmark("chain", chain, 5_000),
    Benchmark("tree", tree, 16_384),
    Benchmark("fanin_1000", fanin, 1_000),
    Benchmark("fanin_16000", fanin, 16_000),
    Benchmark("build_100k", build_only, 100_000, computes=False),
    Benchmark("tree_memory", tree_memory, 1_024),
]

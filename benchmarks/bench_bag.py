"""Bag benchmarks: a numeric map/filter/sum and a word count over generated text.

Each returns, besides the task count, ``python_seconds``: the same computation in
plain single-process Python, timed in the same run, so the speedup over plain Python
can be read next to the ratio to the peer.
"""

from __future__ import annotations

import importlib
import os
import random
import time
from collections import Counter
from types import ModuleType
from typing import Any

from benchmarks.bench_overhead import Benchmark, compute_kwargs

TEXT_DIR = os.environ.get("PLAIT_BENCH_TEXT_DIR", "/tmp/plait-bench-text")
WORDS = [f"w{i}" for i in range(5000)]


def inc(x: int) -> int:
    return x + 1


def even(x: int) -> bool:
    return x % 2 == 0


def _bag(lib: ModuleType) -> ModuleType:
    return importlib.import_module(f"{lib.__name__}.bag")


def numeric(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """``from_sequence(range(size), npartitions=16).map(inc).filter(even).sum()``."""
    db = _bag(lib)
    t0 = time.perf_counter()
    result = db.from_sequence(range(size), npartitions=16).map(inc).filter(even).sum().compute(
        **compute_kwargs(scheduler))
    elapsed = time.perf_counter() - t0
    t1 = time.perf_counter()
    expect = sum(filter(even, map(inc, range(size))))
    python = time.perf_counter() - t1
    if result != expect:
        raise AssertionError(f"numeric: got {result}, plain Python gives {expect}")
    return {"tasks": 16 * 4, "build_seconds": 0.0, "seconds": elapsed, "python_seconds": python,
            "speedup_vs_python": python / elapsed}


def _text_files(total_bytes: int, nfiles: int = 16) -> list[str]:
    """Deterministic text files of about ``total_bytes`` (made once, then reused)."""
    folder = os.path.join(TEXT_DIR, str(total_bytes))
    paths = [os.path.join(folder, f"part-{i:03d}.txt") for i in range(nfiles)]
    if all(os.path.exists(p) for p in paths):
        return paths
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(0)
    per_file = total_bytes // nfiles
    for p in paths:
        tmp = p + ".tmp"
        with open(tmp, "w") as f:
            written = 0
            while written < per_file:
                line = " ".join(rng.choices(WORDS, k=12)) + "\n"
                f.write(line)
                written += len(line)
        os.replace(tmp, p)
    return paths


def wordcount(lib: ModuleType, scheduler: str, size: int) -> dict[str, Any]:
    """``read_text(files).str.split().flatten().frequencies()`` over ``size`` bytes."""
    db = _bag(lib)
    paths = _text_files(size)
    t0 = time.perf_counter()
    result = db.read_text(paths).str.split().flatten().frequencies().compute(
        **compute_kwargs(scheduler))
    elapsed = time.perf_counter() - t0
    t1 = time.perf_counter()
    expect: Counter = Counter()
    for p in paths:
        with open(p) as f:
            for line in f:
                expect.update(line.split())
    python = time.perf_counter() - t1
    if dict(result) != dict(expect):
        raise AssertionError("wordcount: counts differ from plain Python")
    return {"tasks": len(paths) * 2 + 1, "build_seconds": 0.0, "seconds": elapsed,
            "python_seconds": python,
            "speedup_vs_python": python / elapsed}


BENCHMARKS: list[Benchmark] = [
    Benchmark("bag_numeric", numeric, 1_000_000),
    Benchmark("bag_wordcount", wordcount, 200_000_000),
]

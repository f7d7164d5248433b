"""Results worth 3x the cluster's memory limit, on real worker processes: they spill to
disk and come back, no worker dies, and no worker's RSS ever reaches its limit.

The suite runs 2 workers x 256 MB with 96 chunks of 16 MiB (1.5 GiB); the stress tier
2 x 1 GB with 96 chunks of 64 MiB (6 GiB) after checking the free disk. Half the chunks
are constant (they compress), half random (they do not). Peaks are measured twice: by
polling each worker's RSS with psutil from the test, and with the worker's own
``VmHWM`` (the kernel's high-water mark, which no polling can miss). Measured
figures are printed (``pytest -s``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time

import numpy as np
import psutil
import pytest

from plait.distributed import Client, wait
from plait.distributed.cluster import LocalCluster
from plait.utils.sizes import parse_bytes


def chunk(i: int, n: int) -> np.ndarray:
    if i % 2:
        return np.random.default_rng(i).random(n)
    return np.full(n, float(i))


def chunk_sum(i: int, n: int) -> float:
    if i % 2:
        return float(np.random.default_rng(i).random(n).sum())
    return float(i) * n


class PeakRSS:
    """Poll processes' RSS on a thread every few milliseconds; keep each maximum."""

    def __init__(self, pids: dict) -> None:
        self.procs = {a: psutil.Process(p) for a, p in pids.items()}
        self.peak = dict.fromkeys(pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for a, p in self.procs.items():
                try:
                    self.peak[a] = max(self.peak[a], p.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(0.005)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def worker_max_rss() -> int:
    from plait.distributed.worker.memory import peak_rss

    return peak_rss()


def spill_round(limit: str, n_chunks: int, chunk_bytes: int) -> dict:
    n = chunk_bytes // 8
    limit_bytes = parse_bytes(limit)
    base = tempfile.mkdtemp(prefix="plait-spill-test-")
    try:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          memory_limit=limit, local_directory=base) as cluster, \
                Client(cluster) as c:
            pids = c.run(os.getpid)
            with PeakRSS(pids) as peaks:
                futures = c.map(chunk, range(n_chunks), n=n)
                wait(futures, timeout=600)
                sums = c.gather(c.map(np.sum, futures))
                total = c.submit(sum, sums).result(timeout=60)
            metrics = c.run(lambda plait_worker: plait_worker.metrics())
            max_rss = c.run(worker_max_rss)
            # Every worker is still the one that started: none was killed or restarted.
            assert c.run(os.getpid) == pids
            assert len(c.scheduler_info()["workers"]) == 2
            del futures
            dirs = os.listdir(base)
        # The workers removed their directories, spill files included.
        assert not os.listdir(base), os.listdir(base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    expected = [chunk_sum(i, n) for i in range(n_chunks)]
    np.testing.assert_allclose(sums, expected, rtol=1e-12)
    assert total == pytest.approx(sum(expected), rel=1e-12)
    spilled = sum(m["spilled_bytes"] for m in metrics.values())
    report = {
        "limit_MiB": limit_bytes >> 20,
        "data_MiB": (n_chunks * chunk_bytes) >> 20,
        "polled_peak_MiB": {a: v >> 20 for a, v in peaks.peak.items()},
        "peak_rss_MiB": {a: v >> 20 for a, v in max_rss.items()},
        "spilled_MiB": spilled >> 20,
        "unspill_count": sum(m["unspill_count"] for m in metrics.values()),
        "worker_dirs_while_running": len(dirs),
    }
    print("\nspill figures:", report)
    assert len(dirs) == 2
    # Results 3x the cluster's limit: most of them went to disk and came back.
    assert spilled >= n_chunks * chunk_bytes - 2 * limit_bytes
    assert report["unspill_count"] >= n_chunks // 2
    for address in pids:
        assert max_rss[address] < limit_bytes, (address, report)
        assert peaks.peak[address] < limit_bytes, (address, report)
        assert metrics[address]["status"] == "running"
    return report


def test_results_three_times_the_memory_limit_spill_and_complete():
    spill_round("256MB", n_chunks=96, chunk_bytes=16 << 20)


@pytest.mark.stress
@pytest.mark.timeout(600)
def test_stress_six_gigabytes_through_two_one_gigabyte_workers():
    free = shutil.disk_usage(tempfile.gettempdir()).free
    if free < 8 << 30:
        pytest.skip(f"needs 8 GiB free in {tempfile.gettempdir()} for 6 GiB of spill "
                    f"files, has {free >> 30} GiB")
    spill_round("1GB", n_chunks=96, chunk_bytes=64 << 20)

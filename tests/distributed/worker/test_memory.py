"""The worker's memory monitor (spill by RSS, pause, resume) and its metrics.

The process's RSS is replaced by a number the test controls (it follows the bytes the
worker holds in memory, as a real RSS would), so the thresholds are crossed exactly
when the test says; the real thing runs in test_spill_cluster.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

import numpy as np
import pytest

from plait.distributed.testing import FakeScheduler, async_wait_until, run_async
from plait.distributed.worker import Worker
from plait.distributed.worker.monitor import MemoryMonitor, fraction
from plait.distributed.worker.spill import SpillStore
from plait.distributed.worker.store import DataStore
from plait.graph.spec import Ref

MB = 1 << 20


def make(n_mb: int, value: int) -> np.ndarray:
    return np.full(n_mb * MB // 8, value, dtype="i8")


class FakeRSS:
    """RSS = ``base`` + the worker's results in memory (+ ``extra``, set by the test)."""

    def __init__(self, worker: Worker, base: int) -> None:
        self.worker = worker
        self.base = base
        self.extra = 0
        monitor = worker.memory.monitor
        self.real = monitor.rss

        def rss() -> int:
            data = worker.data
            value = self.base + self.extra + getattr(data, "memory_nbytes",
                                                     data.total_nbytes)
            monitor.last_rss = value
            monitor.max_rss = max(monitor.max_rss, value)
            return value

        monitor.rss = rss


@contextlib.asynccontextmanager
async def fake_cluster(base: int | None = 0, **kwargs):
    """A FakeScheduler and one worker whose RSS is a FakeRSS from the start (None:
    the real one); both closed at the end, also when the test fails."""
    s = FakeScheduler()
    await s.listen("inproc://")
    w = Worker(s.address, memory_monitor_interval=0.01, **kwargs)
    rss = FakeRSS(w, base) if base is not None else None
    try:
        await w.start()
        yield s, w, rss
    finally:
        await w.close()
        await s.close()


@run_async
async def test_rss_above_spill_evicts_until_under_target():
    # limit 100 MB: target 60, spill 70, pause 80.
    async with fake_cluster(memory_limit=100 * MB) as (s, w, rss):
        assert isinstance(w.data, SpillStore) and w.data.target == 60 * MB
        for i in range(5):
            s.compute(w.address, ("x", i), make, 8, i)
        await s.wait_for("task-finished", count=5)
        # 40 MB of results and nothing else: under spill (70), nothing moves.
        await asyncio.sleep(0.1)
        assert w.data.on_disk == [] and not w.paused
        rss.extra = 40 * MB  # the tasks' libraries now hold 40 MB: 80 MB in all
        await async_wait_until(lambda: w.data.memory_nbytes <= 20 * MB, timeout=10)
        assert w.memory.monitor.last_rss <= 60 * MB
        assert len(w.data.on_disk) >= 3
        # Oldest first: the earliest results went to disk.
        assert set(w.data.on_disk) >= {("x", 0), ("x", 1), ("x", 2)}
        # The store now keeps results under target minus the unmanaged 40 MB.
        assert w.data.target == 20 * MB
        for i in range(5):  # and every value still reads back right
            assert (w.data[("x", i)] == i).all()
        assert w.data.memory_nbytes <= 20 * MB


@run_async
async def test_unmanaged_memory_lowers_what_the_store_keeps():
    async with fake_cluster(memory_limit=100 * MB, base=50 * MB) as (s, w, rss):
        for i in range(3):
            s.compute(w.address, i, make, 4, i)
        await s.wait_for("task-finished", count=3)
        await async_wait_until(lambda: w.data.target == 10 * MB, timeout=10)
        s.compute(w.address, "more", make, 4, 9)
        await s.wait_for("task-finished", key="more")
        assert w.data.memory_nbytes <= 10 * MB and len(w.data.on_disk) >= 2
        rss.base = 0  # the unmanaged memory is gone: the full target again
        await async_wait_until(lambda: w.data.target == 60 * MB, timeout=10)


@run_async
async def test_pause_stops_new_tasks_and_resume_runs_them():
    # 85 MB that are not results: above pause (80), nothing to spill.
    async with fake_cluster(memory_limit=100 * MB, base=85 * MB) as (s, w, rss):
        (change,) = await s.wait_for("worker-status-change")
        assert change["status"] == "paused" and w.paused
        assert w.metrics()["status"] == "paused"
        s.compute(w.address, "later", make, 1, 7)
        await asyncio.sleep(0.2)
        assert w.state.tasks["later"].state == "ready" and not w.state.executing
        rss.base = 20 * MB
        changes = await s.wait_for("worker-status-change", count=2)
        assert changes[-1]["status"] == "running"
        await s.wait_for("task-finished", key="later")
        assert (w.data["later"] == 7).all() and w.metrics()["status"] == "running"


@run_async
async def test_a_paused_worker_fetches_nothing_new():
    async with fake_cluster(memory_limit=100 * MB) as (s, w, rss):
        peer = await Worker(s.address).start()
        try:
            s.compute(peer.address, "dep", make, 1, 3)
            await s.wait_for("task-finished", key="dep")
            rss.base = 85 * MB
            await s.wait_for("worker-status-change")
            s.compute(w.address, "use", np.sum, Ref("dep"),
                      who_has={"dep": [peer.address]})
            await asyncio.sleep(0.2)
            assert w.state.tasks["dep"].state == "fetch" and not w.state.in_flight_workers
            rss.base = 10 * MB
            await s.wait_for("task-finished", key="use")
            assert w.data["use"] == 3 * (MB // 8)
        finally:
            await peer.close()


@run_async
async def test_metrics_report_memory_status_cpu_and_spill_totals():
    async with fake_cluster(memory_limit=100 * MB, memory_target_fraction=0.1,
                            base=1 * MB) as (s, w, _):
        for i in range(3):
            s.compute(w.address, i, make, 4, i)  # 12 MB of results over a 10 MB target
        await s.wait_for("task-finished", count=3)
        m = w.metrics()
        mem = m["memory"]
        assert set(mem) == {"rss", "max_rss", "managed", "managed_in_memory", "spilled",
                            "spilled_disk", "unmanaged", "limit"}
        assert mem["limit"] == 100 * MB and mem["rss"] > 0
        assert mem["max_rss"] >= mem["rss"]
        assert mem["managed"] == mem["managed_in_memory"] + mem["spilled"] >= 12 * MB
        assert mem["managed_in_memory"] <= 10 * MB and mem["spilled"] >= 4 * MB
        assert mem["spilled_disk"] > 0
        assert mem["unmanaged"] == mem["rss"] - mem["managed_in_memory"] == 1 * MB
        assert m["status"] == "running" and isinstance(m["cpu"], float)
        assert m["spill_count"] >= 1 and m["spilled_bytes"] >= 4 * MB
        assert m["unspill_count"] == 0 and m["unspilled_bytes"] == 0
        assert m["in_memory"] == 3 and m["managed_bytes"] == mem["managed"]
        w.data[0]
        assert w.metrics()["unspill_count"] == 1


@run_async
async def test_no_limit_means_a_plain_store_and_no_pause():
    async with fake_cluster(memory_limit=None, base=None) as (s, w, _):
        assert type(w.data) is DataStore
        FakeRSS(w, base=1 << 50)
        s.compute(w.address, "x", make, 1, 1)
        await s.wait_for("task-finished", key="x")
        await asyncio.sleep(0.05)
        assert not w.paused
        m = w.metrics()["memory"]
        assert m["limit"] is None and m["spilled"] == 0


@run_async
async def test_fractions_switched_off():
    async with fake_cluster(memory_limit=100 * MB, memory_target_fraction=False,
                            memory_spill_fraction=False, memory_pause_fraction=False,
                            base=99 * MB) as (s, w, _):
        assert type(w.data) is DataStore  # nothing would ever spill
        s.compute(w.address, "x", make, 1, 1)
        await s.wait_for("task-finished", key="x")
        await asyncio.sleep(0.05)
        assert not w.paused


def test_fraction_validation():
    assert fraction(0.5, "target") == 0.5 and fraction(None, "x") is None
    for bad in (1.5, 0, -0.1, "lots", True):
        with pytest.raises(ValueError, match="fraction of the memory limit"):
            fraction(bad, "spill")


def test_workers_sharing_a_process_share_its_limit():
    a = MemoryMonitor(100)
    a.open()
    others = a.process_limit() - 100  # workers other tests left open (normally none)
    b = MemoryMonitor(300)
    b.open()
    assert a.process_limit() == others + 400
    spill_at = 0.7 * (others + 400)
    assert not a.above_spill(int(spill_at) - 1) and a.above_spill(int(spill_at) + 1)
    b.close()
    assert a.process_limit() == others + 100
    a.close()
    MemoryMonitor(50).close()  # never opened: closing is harmless


@run_async
async def test_spill_files_live_in_the_local_directory_and_leave_with_it(tmp_path):
    async with fake_cluster(memory_limit=100 * MB, memory_target_fraction=0.05,
                            local_directory=str(tmp_path)) as (s, w, _):
        for i in range(4):
            s.compute(w.address, i, make, 2, i)
        await s.wait_for("task-finished", count=4)
        directory = w.data.directory
        assert directory.startswith(w.local_directory) and len(w.data.on_disk) >= 1
        assert [p.name for p in tmp_path.iterdir()] == [os.path.basename(w.local_directory)]
    assert list(tmp_path.iterdir()) == []


def test_bad_memory_settings_are_named():
    from plait import config

    with config.set({"distributed.worker.memory.spill-compression": "lz4"}):
        with pytest.raises(ValueError, match="spill-compression must be"):
            Worker("inproc://nowhere", memory_limit="1GB")
    with config.set({"distributed.worker.memory.spill": 2}):
        with pytest.raises(ValueError, match="memory.spill must be a fraction"):
            Worker("inproc://nowhere", memory_limit="1GB")
    with pytest.raises(ValueError, match="interval must be positive"):
        Worker("inproc://nowhere", memory_limit="1GB", memory_monitor_interval=0)


@run_async
async def test_task_stream_shows_disk_reads_and_writes():
    # target 5% of 100 MB: every 4 MB result pushes older ones to disk.
    async with fake_cluster(memory_limit=100 * MB, memory_target_fraction=0.05) as (s, w, _):
        for i in range(3):
            s.compute(w.address, ("x", i), make, 4, i)
        done = await s.wait_for("task-finished", count=3)
        actions = [[a for a, *_ in m["startstops"]] for m in done]
        assert actions[0] == ["compute"]
        assert actions[2] == ["compute", "disk-write"]  # storing it spilled x1
        assert ("x", 0) in w.data.on_disk
        s.compute(w.address, "total", np.sum, Ref(("x", 0)), who_has={("x", 0): [w.address]})
        (m,) = await s.wait_for("task-finished", key="total")
        (read, compute) = m["startstops"][:2]
        assert read[0] == "disk-read" and compute[0] == "compute"
        assert read[1] <= read[2] <= compute[1] <= compute[2]
        assert w.data["total"] == 0

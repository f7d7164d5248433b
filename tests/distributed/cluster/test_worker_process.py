"""Worker processes: started in a fresh interpreter, stopped by pid, never left behind."""

from __future__ import annotations

import asyncio
import operator
import os
import signal

import pytest

from plait.distributed.cluster.local import default_sizing
from plait.distributed.cluster.worker_process import WorkerProcess, live_pids
from plait.distributed.testing import FakeScheduler, async_wait_until, run_async
from plait.distributed.worker.memory import parse_memory_limit


@run_async(timeout=60)
async def test_start_compute_then_close_sigterm_and_sigkill():
    # One batch of processes for all three ways a worker process ends (starting
    # interpreters is what these tests spend their time on).
    s = FakeScheduler()
    await s.listen("tcp://127.0.0.1:0")
    procs = [WorkerProcess(s.address, nthreads=1, name=f"w{i}") for i in range(3)]
    await asyncio.gather(*[p.start() for p in procs])
    closed, termed, killed = procs
    assert sorted(s.registered) == sorted(p.address for p in procs)
    assert {info["name"] for info in s.registered.values()} == {"w0", "w1", "w2"}
    assert {info["pid"] for info in s.registered.values()} == {p.pid for p in procs}
    assert all(p.pid != os.getpid() and p.is_alive() for p in procs)
    s.compute(closed.address, "x", operator.add, 1, 2)
    (done,) = await s.wait_for("task-finished", key="x")
    assert done["worker"] == closed.address
    await closed.close()
    assert closed.address in s.unregistered and closed.process.returncode == 0
    os.kill(termed.pid, signal.SIGTERM)  # a clean exit too
    await async_wait_until(lambda: not termed.is_alive(), timeout=10)
    assert termed.process.returncode == 0 and termed.address in s.unregistered
    os.kill(killed.pid, signal.SIGKILL)
    await async_wait_until(lambda: not killed.is_alive(), timeout=10)
    await asyncio.gather(*[p.close() for p in procs])  # reaps them; nothing left
    assert killed.address not in s.unregistered
    assert not set(live_pids()) & {p.pid for p in procs}
    await s.close()


@run_async(timeout=60)
async def test_worker_exits_when_the_scheduler_stays_away():
    # A worker whose scheduler went away tries to register again for
    # distributed.worker.reconnect-timeout, then exits (cleanly: code 0).
    s = FakeScheduler()
    await s.listen("tcp://127.0.0.1:0")
    os.environ["PLAIT_DISTRIBUTED__WORKER__RECONNECT_TIMEOUT"] = "0.5s"
    try:
        w = await WorkerProcess(s.address, name="orphan").start()
    finally:
        del os.environ["PLAIT_DISTRIBUTED__WORKER__RECONNECT_TIMEOUT"]
    await s.close()  # drops the worker's stream
    await async_wait_until(lambda: not w.is_alive(), timeout=20)
    assert w.returncode == 0
    await w.close()


@run_async(timeout=60)
async def test_bad_scheduler_address_fails_clearly():
    w = WorkerProcess("tcp://127.0.0.1:9", name="nowhere")
    os.environ["PLAIT_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"] = "0.3s"
    try:
        with pytest.raises(RuntimeError, match="failed to start"):
            await w.start(timeout=30)
    finally:
        del os.environ["PLAIT_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"]
    assert not w.is_alive()


def test_sizing_and_memory_limits():
    assert default_sizing(None, None, True, cores=2) == (2, 1)
    assert default_sizing(None, None, False, cores=2) == (1, 2)
    assert default_sizing(4, None, True, cores=2) == (4, 1)
    assert default_sizing(0, 2, True, cores=2) == (0, 2)
    with pytest.raises(ValueError, match="n_workers must be a non-negative int"):
        default_sizing(-1, None, True)
    with pytest.raises(ValueError, match="threads_per_worker must be a positive int"):
        default_sizing(1, 0, True)
    assert parse_memory_limit("4GB", 2) == 4_000_000_000
    assert parse_memory_limit("512MiB", 2) == 512 * 2**20
    assert parse_memory_limit("auto", 2, total=10) == 5
    assert parse_memory_limit(None, 2) is None
    with pytest.raises(ValueError, match="memory_limit='lots' is not a size"):
        parse_memory_limit("lots", 2)

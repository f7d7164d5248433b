"""A worker whose scheduler goes away drops its work, waits for it, and rejoins."""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from plait import config
from plait.distributed import Client
from plait.distributed.comm.core import parse_address
from plait.distributed.scheduler import Scheduler
from plait.distributed.testing import FakeScheduler, async_wait_until, run_async
from plait.distributed.worker import Worker


def inc(x: int) -> int:
    return x + 1


@run_async(timeout=50)
async def test_worker_rejoins_a_scheduler_restarted_on_the_same_address(caplog):
    caplog.set_level(logging.WARNING, "plait.distributed.worker")
    s = await Scheduler(protocol="tcp").start()
    address = s.address
    port = int(parse_address(address)[1].rsplit(":", 1)[1])
    w = await Worker(address, nthreads=2).start()
    async with Client(address, asynchronous=True) as c:
        x = c.submit(np.arange, 1000)
        assert int(await c.submit(np.sum, x)) == 499500
        assert x.key in w.data
        await s.close(close_workers=False)  # gone without telling the worker to close
        await async_wait_until(lambda: not w.state.tasks and not w.data, timeout=10)
    assert w.status == "running"
    assert f"lost the scheduler at {address}" in caplog.text
    assert "trying to register again" in caplog.text

    s2 = await Scheduler(protocol="tcp", port=port).start()
    try:
        assert s2.address == address
        await async_wait_until(lambda: w.address in s2.state.workers, timeout=20)
        assert w.reconnect_count == 1
        async with Client(address, asynchronous=True) as c:
            futures = c.map(inc, range(100))
            assert await c.gather(futures) == list(range(1, 101))
            total = c.submit(sum, futures)
            assert await total == sum(range(1, 101))
        assert "registered again with the scheduler" in caplog.text
    finally:
        await w.close()
        await s2.close()


@run_async
async def test_tasks_running_when_the_scheduler_goes_finish_into_nothing():
    import threading

    gate = threading.Event()
    s = FakeScheduler()
    await s.listen("inproc://")
    w = await Worker(s.address).start()
    s.compute(w.address, "slow", gate.wait, 10, raw=True)
    s.compute(w.address, "queued", inc, 1)
    await async_wait_until(lambda: "slow" in w.state.executing, timeout=10)
    s.streams[w.address].abort()  # the stream breaks; the fake scheduler stays
    await async_wait_until(lambda: w.reconnect_count == 1, timeout=10)
    assert w.state.tasks["slow"].state == "cancelled"  # still on its thread
    assert "queued" not in w.state.tasks
    gate.set()
    await async_wait_until(lambda: not w.state.tasks and not w.state.executing, timeout=10)
    assert not w.data
    # The new stream works and nothing about the old keys was sent on it.
    s.messages.clear()
    s.compute(w.address, "again", inc, 41)
    await s.wait_for("task-finished", key="again")
    assert w.data["again"] == 42
    assert {m["op"] for m in s.messages} == {"task-finished"}
    w.state.validate()
    await w.close()
    await s.close()


@run_async
async def test_a_paused_worker_says_so_again_after_registering_again():
    s = FakeScheduler()
    await s.listen("inproc://")
    w = await Worker(s.address).start()
    w._set_paused(True, 0)
    (first,) = await s.wait_for("worker-status-change")
    assert first["status"] == "paused"
    s.streams[w.address].abort()
    await async_wait_until(lambda: w.reconnect_count == 1, timeout=10)
    changes = await s.wait_for("worker-status-change", count=2)
    assert [m["status"] for m in changes] == ["paused", "paused"]
    await w.close()
    await s.close()


@run_async
async def test_reconnect_timeout_zero_closes_at_once():
    with config.set({"distributed.worker.reconnect-timeout": 0}):
        s = FakeScheduler()
        await s.listen("tcp://127.0.0.1:0")
        w = await Worker(s.address).start()
        await s.close()
        await asyncio.wait_for(w.finished(), 10)
    assert w.status == "closed" and w.reconnect_count == 0

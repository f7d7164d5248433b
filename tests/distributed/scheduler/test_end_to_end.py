"""The scheduler with real Workers and a real Client, all in one event loop (inproc)."""

from __future__ import annotations

import time

import pytest

from plait.distributed import Client
from plait.distributed.testing import async_wait_until, in_process_cluster, run_async
from plait.distributed.worker import Worker


def inc(x):
    return x + 1


def add(x, y):
    return x + y


def slow_inc(x):
    time.sleep(0.05)
    return x + 1


def div(x, y):
    return x / y


_attempts: dict = {}


def flaky(key):
    _attempts[key] = _attempts.get(key, 0) + 1
    if _attempts[key] < 3:
        raise RuntimeError(f"attempt {_attempts[key]}")
    return _attempts[key]


@run_async(timeout=60)
async def test_map_submit_gather_and_nothing_left_behind():
    async with in_process_cluster(2, scheduler_kwargs={"validate": True}) as (s, workers):
        async with Client(s.address, asynchronous=True) as c:
            incs = c.map(inc, range(50))
            decs = c.map(lambda x: x - 1, range(50))
            adds = c.map(add, incs, decs)
            total = c.submit(sum, adds)
            assert await total == sum(2 * i for i in range(50))
            assert await c.gather(incs) == [i + 1 for i in range(50)]
            del incs, decs, adds, total
            await async_wait_until(lambda: not s.state.tasks, timeout=10)
            await async_wait_until(lambda: all(not w.data for w in workers), timeout=10)


@run_async(timeout=60)
async def test_a_task_runs_where_its_input_is():
    async with in_process_cluster(3) as (s, workers):
        async with Client(s.address, asynchronous=True) as c:
            target = workers[2].address
            [big] = await c.scatter([bytes(5_000_000)], workers=[target])
            futs = [c.submit(len, big, key=f"len-{i}") for i in range(4)]
            assert await c.gather(futs) == [5_000_000] * 4
            who = s.state.who_has([f.key for f in futs])
            assert all(addrs == [target] for addrs in who.values())


@run_async(timeout=60)
async def test_errors_reach_dependents_and_retries_rerun():
    async with in_process_cluster(1, scheduler_kwargs={"validate": True}) as (s, workers):
        async with Client(s.address, asynchronous=True) as c:
            bad = c.submit(div, 1, 0)
            dependent = c.submit(inc, bad)
            with pytest.raises(ZeroDivisionError):
                await dependent
            with pytest.raises(ZeroDivisionError):
                await bad
            assert s.state.tasks[dependent.key].exception_blame.key == bad.key
            ok = c.submit(flaky, "k1", retries=2)
            assert await ok == 3
            fails = c.submit(flaky, "k2", retries=1)
            with pytest.raises(RuntimeError, match="attempt 2"):  # the last error
                await fails


@run_async(timeout=60)
async def test_resources_wait_for_a_matching_worker():
    async with in_process_cluster(1) as (s, workers):
        async with Client(s.address, asynchronous=True) as c:
            fut = c.submit(inc, 1, resources={"GPU": 1})
            await async_wait_until(lambda: fut.key in s.state.tasks
                                   and s.state.tasks[fut.key].state == "no-worker")
            w = await Worker(s.address, nthreads=1, resources={"GPU": 1}).start()
            try:
                assert await fut == 2
                assert s.state.who_has([fut.key])[fut.key] == [w.address]
            finally:
                fut = None  # release it before the worker goes
                await w.close()


@run_async(timeout=60)
async def test_a_new_worker_gets_work():
    async with in_process_cluster(1) as (s, workers):
        async with Client(s.address, asynchronous=True) as c:
            futs = c.map(slow_inc, range(12))
            await async_wait_until(lambda: len(s.state.tasks) == 12)
            w = await Worker(s.address, nthreads=1).start()
            try:
                assert await c.gather(futs) == list(range(1, 13))
                where = s.state.who_has([f.key for f in futs])
                assert any(addrs == [w.address] for addrs in where.values())
            finally:
                futs = None
                await w.close()


def slow_add(x, y):
    time.sleep(0.1)
    return x + y


@run_async(timeout=60)
async def test_a_new_worker_steals_tasks_placed_by_locality():
    async with in_process_cluster(1) as (s, workers):
        async with Client(s.address, asynchronous=True) as c:
            [data] = await c.scatter([10])
            futs = [c.submit(slow_add, data, i) for i in range(5)]
            await async_wait_until(lambda: all(
                f.key in s.state.tasks and s.state.tasks[f.key].state == "processing"
                for f in futs))
            assert all(s.state.tasks[f.key].processing_on.address == workers[0].address
                       for f in futs)
            w = await Worker(s.address, nthreads=2).start()
            try:
                assert await c.gather(futs) == [10 + i for i in range(5)]
                assert s.state.stealing.count >= 1
                where = s.state.who_has([f.key for f in futs])
                assert any(w.address in addrs for addrs in where.values())
            finally:
                futs = data = None
                await w.close()


@run_async(timeout=60)
async def test_losing_a_worker_loses_no_result():
    async with in_process_cluster(2, scheduler_kwargs={"validate": True}) as (s, workers):
        async with Client(s.address, asynchronous=True) as c:
            xs = c.map(slow_inc, range(6))
            total = c.submit(sum, xs)
            doomed = workers[0]
            await async_wait_until(lambda: any(
                ws.has_what or ws.processing for ws in s.state.workers.values()
                if ws.address == doomed.address))
            await doomed.close(report=False)  # no goodbye: the stream just closes
            assert await total == sum(range(1, 7))
            assert doomed.address not in s.state.workers
            assert await c.gather(xs) == list(range(1, 7))

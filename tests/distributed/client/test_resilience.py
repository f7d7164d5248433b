"""The Client when things go wrong: the scheduler goes away, the cluster is restarted,
tasks fail and are retried, work is cancelled, exceptions come back from worker
processes (their type, their own frames, every dependent, unpicklable ones)."""

from __future__ import annotations

import asyncio
import collections
import os
import re
import threading
import time
import traceback
from concurrent.futures import CancelledError

import numpy as np
import pytest

import plait
from plait.distributed import Client, wait
from plait.distributed.loop import sync
from plait.distributed.progress import futures_of
from plait.distributed.testing import async_wait_until, in_process_cluster, run_async


def inc(x):
    return x + 1


# -- the scheduler goes away ----------------------------------------------------------------

_gate = threading.Event()


def _blocked(x):
    _gate.wait(20)
    return x


@run_async(timeout=45)
async def test_scheduler_going_away_fails_pending_work_promptly():
    _gate.clear()
    async with in_process_cluster(n_workers=1, protocol="tcp") as (s, workers):
        address = s.address
        client = await Client(address, asynchronous=True, set_as_default=False)
        try:
            running = client.submit(_blocked, 1, pure=False)
            queued = client.submit(inc, running)
            await async_wait_until(lambda: any(
                ts.state == "processing" for ts in s.state.tasks.values()), 10)
            await s.close()
            # Bounded waits: a hang fails here with TimeoutError.
            for future in (running, queued):
                with pytest.raises(CancelledError, match=re.escape(address)):
                    await asyncio.wait_for(future.result(), 10)
            with pytest.raises(ConnectionError, match=re.escape(address)):
                client.submit(inc, 2)
            with pytest.raises(ConnectionError, match=re.escape(address)):
                await asyncio.wait_for(client.scheduler_info(), 10)
        finally:
            _gate.set()
            await client.close()


def test_a_sync_client_hears_of_it_too(cluster_inproc):
    # The cluster's scheduler closes under a synchronous client with work in flight.
    _gate.clear()
    client = Client(cluster_inproc, set_as_default=False)
    try:
        f = client.submit(_blocked, 2, pure=False)
        address = cluster_inproc.scheduler_address
        sync(cluster_inproc.loop, cluster_inproc.scheduler.close, timeout=10)
        with pytest.raises(CancelledError, match=re.escape(address)):
            f.result(timeout=10)
    finally:
        _gate.set()
        client.close()


# -- restart ----------------------------------------------------------------------------------


def test_restart_restarts_the_workers_and_cancels_every_future():
    from plait.distributed.cluster import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      memory_limit="512MB") as cluster, \
            Client(cluster, set_as_default=False) as client:
        done = client.submit(inc, 1)
        assert done.result(timeout=30) == 2
        pids_before = set(client.run(os.getpid).values())
        client.restart(timeout=60)
        assert done.cancelled()
        with pytest.raises(CancelledError, match="restarted"):
            done.result(timeout=5)
        pids_after = set(client.run(os.getpid).values())
        assert len(pids_after) == 1 and not pids_after & pids_before
        assert client.submit(inc, 1).result(timeout=30) == 2  # the same key runs anew
        assert client.submit(inc, 10).result(timeout=30) == 11


# -- retries ------------------------------------------------------------------------------------

_attempts: collections.Counter = collections.Counter()


def _flaky(name, succeed_on):
    _attempts[name] += 1
    n = _attempts[name]
    if n < succeed_on:
        raise ValueError(f"{name}: attempt {n}")
    return n


@pytest.fixture
def client(cluster_inproc):
    with Client(cluster_inproc, set_as_default=False) as c:
        yield c


def test_retries_keep_the_last_error_in_submit_map_compute_persist(client):
    token = f"t{time.monotonic_ns()}"
    with pytest.raises(ValueError, match=f"(?m){token}-s: attempt 3$"):
        client.submit(_flaky, f"{token}-s", 10, retries=2).result(timeout=30)
    assert client.submit(_flaky, f"{token}-ok", 3, retries=2).result(timeout=30) == 3
    [m] = client.map(_flaky, [f"{token}-m"], [10], retries=3)
    with pytest.raises(ValueError, match=f"(?m){token}-m: attempt 4$"):
        m.result(timeout=30)
    lazy = plait.delayed(_flaky)(f"{token}-c", 10)
    with pytest.raises(ValueError, match=f"(?m){token}-c: attempt 2$"):
        client.compute(lazy, retries=1).result(timeout=30)
    persisted = client.persist(plait.delayed(_flaky)(f"{token}-p", 10), retries=4)
    [p] = futures_of(persisted)
    with pytest.raises(ValueError, match=f"(?m){token}-p: attempt 5$"):
        p.result(timeout=30)
    assert _attempts[f"{token}-s"] == 3  # and no more than retries + 1 runs


# -- cancellation ---------------------------------------------------------------------------


def test_cancel_stops_queued_work_and_frees_memory(client, cluster_inproc):
    _gate.clear()
    ran = []
    first, _ = sorted(client.nthreads())

    def record(x):
        ran.append(x)
        return x

    blocker = client.submit(_blocked, 0, pure=False, workers=[first])
    queued = client.submit(record, 1, pure=False, workers=[first])  # behind the blocker
    queued.cancel()
    assert queued.cancelled()
    with pytest.raises(CancelledError):
        queued.result(timeout=5)
    _gate.set()
    assert blocker.result(timeout=30) == 0
    assert client.submit(inc, 1).result(timeout=30) == 2  # the worker went on past it
    assert ran == []  # the cancelled task never ran

    # A persisted collection: cancelling it frees its chunks on the workers.
    import plait.array as da

    x = client.persist(da.from_array(np.arange(1000.0), chunks=100) * 2)
    wait(list(futures_of(x)), timeout=30)
    keys = {f.key for f in futures_of(x)}
    workers = list(cluster_inproc.workers.values())

    def held():
        return keys & {k for w in workers for k in w.data}

    assert held() == keys
    client.cancel(x)
    deadline = time.monotonic() + 10
    while held() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not held()
    with pytest.raises(CancelledError):
        client.compute(x, sync=True)


# -- exceptions from worker processes -------------------------------------------------------


class TaskError(ValueError):
    pass


class Unpicklable(Exception):
    """Holds a lock: it cannot be pickled to travel back."""

    def __init__(self, message):
        super().__init__(message)
        self.lock = threading.Lock()


def _inner(x):
    raise TaskError(f"bad input {x}")


def _outer(x):
    return _inner(x) + 1


def _raise_unpicklable():
    raise Unpicklable("this message still arrives")


@pytest.fixture(scope="module")
def pclient(cluster_processes):
    with Client(cluster_processes, set_as_default=False) as c:
        yield c


def test_task_exception_keeps_type_and_only_its_own_frames(pclient):
    failing = pclient.submit(_outer, 7)
    middle = pclient.submit(inc, failing)
    last = pclient.submit(inc, middle)
    for f in (failing, middle, last):  # every dependent raises the task's exception
        with pytest.raises(TaskError, match="bad input 7") as info:
            f.result(timeout=30)
        notes = "\n".join(info.value.__notes__)
        assert failing.key in notes and f.key in notes
    tb = failing.traceback()
    assert isinstance(tb, traceback.StackSummary)
    assert [frame.name for frame in tb] == ["_outer", "_inner"]
    assert all(frame.filename == __file__ for frame in tb)
    text = str(failing.exception().__cause__)
    assert "_outer" in text and "_inner" in text
    assert "plait" + os.sep + "distributed" not in text  # no scheduler or worker frames


def test_unpicklable_exception_still_shows_its_message(pclient):
    f = pclient.submit(_raise_unpicklable)
    with pytest.raises(Exception, match="this message still arrives") as info:
        f.result(timeout=30)
    assert "Unpicklable" in type(info.value).__name__

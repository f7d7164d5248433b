"""LocalCluster with worker processes and with in-process workers."""

from __future__ import annotations

import operator
import os

import psutil
import pytest

from plait.distributed import Client
from plait.distributed.cluster import LocalCluster
from plait.distributed.testing import child_pids, run_async, wait_until


def test_processes_cluster(cluster_processes):
    cluster = cluster_processes
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    assert sorted(cluster.workers) == [0, 1]
    pids = {w.pid for w in cluster.workers.values()}
    assert os.getpid() not in pids and pids <= child_pids()
    state = cluster.scheduler.state
    assert sorted(ws.nthreads for ws in state.workers.values()) == [1, 1]
    assert {ws.memory_limit for ws in state.workers.values()} == {10**9}
    with Client(cluster) as c:
        assert c.gather(c.map(operator.mul, range(100), range(100))) == \
            [i * i for i in range(100)]
        where = c.run(os.getpid)
        assert set(where.values()) == pids
    text = repr(cluster)
    assert "workers=2" in text and "threads=2" in text and "1.86 GiB" in text
    html = cluster._repr_html_()
    assert "<table>" in html and "Workers" in html
    # the dashboard: 127.0.0.1:8787 by default, another free port when that is taken
    assert cluster.dashboard_link.startswith("http://127.0.0.1:")
    assert cluster.dashboard_link.endswith("/status") and cluster.dashboard_link in html


def test_processes_tasks_use_their_worker(cluster_processes):
    address = cluster_processes.scheduler_address

    def task_fib(n):  # local: pickled by value, so worker processes can load it
        from plait.distributed import get_worker, worker_client

        if n < 2:
            return n
        assert get_worker().scheduler_address == address
        with worker_client() as client:
            a, b = client.submit(task_fib, n - 1), client.submit(task_fib, n - 2)
            return a.result() + b.result()

    with Client(cluster_processes) as c:
        assert c.submit(task_fib, 5).result(timeout=30) == 5


def test_in_process_cluster_defaults():
    with LocalCluster(processes=False, n_workers=2, memory_limit="2GB") as cluster:
        assert cluster.scheduler_address.startswith("inproc://")
        assert all(w.memory_limit == 2 * 10**9 for w in cluster.workers.values())
        assert all(w.pid == os.getpid() for w in cluster.workers.values())
        with Client(cluster) as c:
            assert c.submit(sum, [1, 2, 3]).result(timeout=10) == 6
    assert all(w.status == "closed" for w in cluster.workers.values()) or not cluster.workers


@run_async(timeout=60)
async def test_asynchronous_cluster():
    async with LocalCluster(n_workers=2, processes=False, asynchronous=True) as cluster:
        assert len(cluster.workers) == 2
        await cluster.scale(3)
        assert len(cluster.scheduler.state.workers) == 3
        async with Client(cluster, asynchronous=True) as c:
            assert await c.submit(operator.add, 1, 2) == 3
    assert cluster.status == "closed"


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="memory_limit='much' is not a size"):
        LocalCluster(memory_limit="much", processes=False)
    with pytest.raises(ValueError, match="threads_per_worker must be a positive int"):
        LocalCluster(threads_per_worker=0, processes=False)
    with LocalCluster(n_workers=1, processes=False) as cluster:
        with pytest.raises(ValueError, match="scale"):
            cluster.scale(-1)


def test_client_without_address_starts_a_cluster_that_scales_and_closes():
    # One process cluster for both: Client() starting its own, and scale up/down.
    before = child_pids()
    with Client(n_workers=1, threads_per_worker=1, memory_limit=None) as c:
        cluster = c.cluster
        assert isinstance(cluster, LocalCluster) and cluster.processes
        assert c.submit(operator.neg, 5).result(timeout=10) == -5
        assert len(child_pids() - before) == 1
        (first,) = cluster.workers.values()
        cluster.scale(2)
        assert len(cluster.workers) == 2
        wait_until(lambda: len(cluster.scheduler.state.workers) == 2, timeout=10)
        assert len(child_pids() - before) == 2
        new = next(w for w in cluster.workers.values() if w is not first)
        cluster.scale(1)
        assert list(cluster.workers.values()) == [first]
        assert not psutil.pid_exists(new.pid) or \
            psutil.Process(new.pid).status() == psutil.STATUS_ZOMBIE
        wait_until(lambda: len(cluster.scheduler.state.workers) == 1, timeout=10)
        assert c.submit(operator.neg, 6).result(timeout=10) == -6
        pid = first.pid
    assert cluster.status == "closed"
    wait_until(lambda: not (child_pids() - before), timeout=10)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE

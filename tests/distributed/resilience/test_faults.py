"""Faults injected for real on local multi-process clusters (127.0.0.1, nannies):
a task that allocates past the memory limit, a stopped worker (heartbeats missed), a
killed worker (its directory removed, the worker restarted), retirement with data
copied, restart. Every wait is bounded; the conftest fails a test leaving a process."""

from __future__ import annotations

import os
import signal
import time

import pytest

from plait.distributed import Client
from plait.distributed.cluster import LocalCluster
from plait.distributed.scheduler.errors import KilledWorker, LostDataError
from plait.distributed.testing import wait_until


def inc(x):
    return x + 1


def hog(limit_bytes):
    """Allocate (and touch) memory 20 MB at a time until well past ``limit_bytes``."""
    import numpy as np

    chunks = []
    while sum(c.nbytes for c in chunks) < 3 * limit_bytes:
        chunks.append(np.ones(2_500_000))
        time.sleep(0.025)
    return "the nanny should have killed this worker"


def local_directory(dask_worker=None):
    return dask_worker.local_directory


def leave_a_file(dask_worker=None):
    # stands for a spill file: whatever a worker leaves in its directory goes with it
    path = os.path.join(dask_worker.local_directory, "spilled-value.bin")
    with open(path, "wb") as f:
        f.write(b"x" * 4096)
    return path


def worker_of(cluster, address):
    return next(w for w in cluster.workers.values() if w.worker_address == address)


def test_task_allocating_past_the_limit_fails_with_killed_worker_cluster_stays_usable():
    limit = 300 * 2**20
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=limit,
                      scheduler_kwargs={"allowed_failures": 1}) as cluster, \
            Client(cluster) as client:
        state = cluster.scheduler.state
        bad = client.submit(hog, limit, key="hog-1")
        after = client.submit(inc, bad, key="after-hog-1")
        exc = after.exception(timeout=120)
        assert isinstance(exc, KilledWorker), repr(exc)
        assert isinstance(bad.exception(timeout=10), KilledWorker)
        text = str(exc)
        assert "'hog-1'" in text and "allowed-failures is 1" in text
        # Both deaths are named, each with the nanny's reason.
        assert text.count("(memory: process memory") == 2, text
        assert "memory_limit" in text
        assert len(exc.workers) == 2 and all(w["reason"] == "memory" for w in exc.workers)
        # The nannies restarted both workers and the cluster still computes.
        wait_until(lambda: len(state.workers) == 2, timeout=60)
        assert client.submit(inc, 41).result(timeout=30) == 42
        assert sum(n.total_restarts for n in cluster.workers.values()) == 2
        assert state.loss_counts["killed_worker"] == 1


@pytest.mark.stress
def test_memory_hog_with_the_default_allowed_failures_kills_four_workers():
    # The default (3): the fourth death fails the task; 4 workers, so each death may
    # land on a different one while the others keep the cluster up.
    limit = 300 * 2**20
    with LocalCluster(n_workers=4, threads_per_worker=1, memory_limit=limit) as cluster, \
            Client(cluster) as client:
        assert cluster.scheduler.state.allowed_failures == 3
        bad = client.submit(hog, limit, key="hog-default")
        exc = bad.exception(timeout=240)
        assert isinstance(exc, KilledWorker) and len(exc.workers) == 4
        assert str(exc).count("(memory: process memory") == 4
        assert "allowed-failures is 3" in str(exc)
        wait_until(lambda: len(cluster.scheduler.state.workers) == 4, timeout=60)
        assert client.submit(inc, 1).result(timeout=30) == 2


def test_stopped_worker_is_removed_after_worker_ttl_and_its_data_recomputed():
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=None,
                      scheduler_kwargs={"worker_ttl": 3.0}) as cluster, \
            Client(cluster) as client:
        state = cluster.scheduler.state
        a, b = list(state.workers)
        assert cluster.scheduler.heartbeat_interval == pytest.approx(0.6)
        x = client.submit(inc, 1, workers=[a], allow_other_workers=True, key="x-ttl")
        assert x.result(timeout=30) == 2
        assert client.who_has([x])[x.key] == [a]
        pid = worker_of(cluster, a).pid
        os.kill(pid, signal.SIGSTOP)
        try:
            wait_until(lambda: a not in state.workers, timeout=30,
                       message="the stopped worker was not removed after worker-ttl")
            removed = [m for _, m in state.events["worker-removed"] if m["worker"] == a]
            assert removed[-1]["reason"] == "heartbeat"
            assert "no heartbeat for" in removed[-1]["detail"]
            # x was held only there: it is computed again on the other worker.
            wait_until(lambda: client.who_has([x])[x.key] == [b], timeout=30)
            assert x.result(timeout=30) == 2
            assert state.loss_counts["recomputed"] >= 1
        finally:
            os.kill(pid, signal.SIGCONT)


def test_killed_worker_directory_removed_worker_restarted_close_leaves_nothing():
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=None) as cluster, \
            Client(cluster) as client:
        state = cluster.scheduler.state
        dirs = client.run(local_directory)
        assert len(dirs) == 2 and all(os.path.isdir(d) for d in dirs.values())
        files = client.run(leave_a_file)
        assert all(os.path.exists(f) for f in files.values())
        victim_address = next(iter(dirs))
        victim = worker_of(cluster, victim_address)
        old_pid = victim.pid
        os.kill(old_pid, signal.SIGKILL)
        wait_until(lambda: victim.worker_address != victim_address
                   and victim.worker_address in state.workers, timeout=60)
        assert victim.pid != old_pid and victim.total_restarts == 1
        assert victim.deaths[-1][1:] == ("signal", "killed by SIGKILL")
        assert not os.path.exists(dirs[victim_address])  # the nanny removed it
        removed = [m for _, m in state.events["worker-removed"] if m["worker"] == victim_address]
        assert (removed[-1]["reason"], removed[-1]["detail"]) == ("signal", "killed by SIGKILL")
        assert client.submit(inc, 1).result(timeout=30) == 2
        dirs.update(client.run(local_directory))
        files.update(client.run(leave_a_file))
        pids = [w.pid for w in cluster.workers.values()]
    assert cluster.status == "closed"
    assert not any(os.path.exists(d) for d in dirs.values()), dirs
    assert not any(os.path.exists(f) for f in files.values())
    wait_until(lambda: not any(_alive(p) for p in pids), timeout=10)


def _alive(pid):
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_retire_workers_copies_unique_data_first():
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=None) as cluster, \
            Client(cluster) as client:
        state = cluster.scheduler.state
        futures = client.map(inc, range(40))
        assert client.gather(futures) == list(range(1, 41))
        holders = {a: len(ws.has_what) for a, ws in state.workers.items()}
        leaving = max(holders, key=holders.get)
        staying = next(a for a in holders if a != leaving)
        assert holders[leaving] > 0
        nanny = worker_of(cluster, leaving)
        recomputed = state.loss_counts["recomputed"]
        out = client.sync(client._rpc, "retire_workers", workers=[leaving])
        assert list(out) == [leaving]
        assert leaving not in state.workers
        # Every result moved to the remaining worker; nothing was computed again.
        assert all(state.tasks[f.key].who_has == {state.workers[staying]} for f in futures)
        assert state.loss_counts["recomputed"] == recomputed
        assert client.gather(futures) == list(range(1, 41))
        # The retired worker's process and nanny are gone, not restarted.
        wait_until(lambda: nanny.status == "closed" and not nanny.is_alive(), timeout=30)
        assert len(state.workers) == 1 and nanny.total_restarts == 0


def test_scheduler_restart_forgets_tasks_and_restarts_every_worker():
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=None) as cluster, \
            Client(cluster) as client:
        state = cluster.scheduler.state
        x = client.submit(inc, 1, key="x-restart")
        assert x.result(timeout=30) == 2
        slow = client.submit(time.sleep, 30, key="slow-restart")
        wait_until(lambda: "slow-restart" in state.tasks
                   and state.tasks["slow-restart"].state == "processing", timeout=30)
        pids = {w.pid for w in cluster.workers.values()}
        old = set(state.workers)
        client.restart(timeout=60)
        assert len(state.workers) == 2 and not (set(state.workers) & old)
        assert not ({w.pid for w in cluster.workers.values()} & pids)
        assert "x-restart" not in state.tasks and "slow-restart" not in state.tasks
        # The client heard that its keys are cancelled: the pending future says so.
        assert slow.status == "cancelled" and x.status == "cancelled"
        assert client.submit(inc, 2).result(timeout=30) == 3
        # A restart is not a worker death: nothing counts against any task.
        assert state.loss_counts["workers_lost"] == 0


def test_scattered_data_on_a_killed_worker_is_reported_lost_not_hung():
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=None) as cluster, \
            Client(cluster) as client:
        state = cluster.scheduler.state
        a, b = list(state.workers)
        [data] = client.scatter([41], workers=[a])
        kept = client.submit(inc, 1, workers=[b], key="kept")
        assert kept.result(timeout=30) == 2
        assert client.who_has([data])[data.key] == [a]
        os.kill(worker_of(cluster, a).pid, signal.SIGKILL)
        wait_until(lambda: data.status == "error", timeout=30,
                   message=f"the lost scattered future is {data.status}")
        exc = data.exception(timeout=30)
        assert isinstance(exc, LostDataError) and "scatter it again" in str(exc)
        after = client.submit(inc, data)
        assert isinstance(after.exception(timeout=30), LostDataError)
        assert kept.result(timeout=30) == 2  # what lived elsewhere is untouched
        [again] = client.scatter([41], hash=False)  # a new key (see the report on reuse)
        assert client.submit(inc, again).result(timeout=30) == 42

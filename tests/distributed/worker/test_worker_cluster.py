"""Workers with the real scheduler and client, in one process (inproc:// and tcp)."""

from __future__ import annotations

import asyncio
import operator
import threading

import numpy as np
import pytest

from plait.distributed import Client
from plait.distributed.cluster import LocalCluster
from plait.distributed.testing import in_process_cluster, run_async, wait_until
from plait.distributed.worker import Worker, get_worker


def inc(x):
    return x + 1


def where(_=None):
    return get_worker().address


class BadState(Exception):
    def __init__(self, a, b):  # pickle cannot rebuild it from args
        super().__init__(f"bad {a}/{b}")
        self.lock = threading.Lock()


def raises_bad():
    raise BadState(1, 2)


def test_map_gather_equals_python(cluster_inproc):
    with Client(cluster_inproc) as c:
        futures = c.map(inc, range(200))
        assert c.gather(futures) == [i + 1 for i in range(200)]
        total = c.submit(sum, futures)
        assert total.result(timeout=10) == sum(i + 1 for i in range(200))
        used = set(c.gather(c.map(where, range(20))))
        assert used <= {w.address for w in cluster_inproc.workers.values()}


def test_dependencies_move_between_workers(cluster_inproc):
    a, b = [w.address for w in cluster_inproc.workers.values()]
    with Client(cluster_inproc) as c:
        x = c.submit(np.arange, 100_000, workers=[a])
        y = c.submit(np.sum, x, workers=[b])
        assert y.result(timeout=10) == np.arange(100_000).sum()
        worker_b = next(w for w in cluster_inproc.workers.values() if w.address == b)
        assert y.key in worker_b.data


def test_errors_keep_type_message_and_traceback(cluster_inproc):
    with Client(cluster_inproc) as c:
        f = c.submit(operator.truediv, 1, 0)
        with pytest.raises(ZeroDivisionError):
            f.result(timeout=10)
        g = c.submit(raises_bad)
        with pytest.raises(Exception, match="bad 1/2") as info:
            g.result(timeout=10)
        assert type(info.value).__name__ == "BadState"


def test_get_worker_outside_a_task():
    with pytest.raises(ValueError, match="only work inside a task"):
        get_worker()


_gpu = {"lock": threading.Lock(), "active": [], "peak": []}


def use_gpu(i):
    import time

    with _gpu["lock"]:
        _gpu["active"].append(i)
        _gpu["peak"].append(len(_gpu["active"]))
    time.sleep(0.02)
    with _gpu["lock"]:
        _gpu["active"].remove(i)
    return i


def test_resources_limit_concurrency():
    # In-process workers share this module's globals, so the peak is observable.
    with LocalCluster(n_workers=1, threads_per_worker=3, processes=False,
                      resources={"GPU": 1}) as cluster, Client(cluster) as c:
        _gpu["peak"].clear()
        assert c.gather(c.map(use_gpu, range(6), resources={"GPU": 1})) == list(range(6))
        assert max(_gpu["peak"]) == 1
        _gpu["peak"].clear()
        assert c.gather(c.map(use_gpu, range(6, 12))) == list(range(6, 12))
        assert max(_gpu["peak"]) > 1  # without the constraint they do overlap


_gate = threading.Event()


def wait_for_gate():
    from plait.distributed import rejoin, secede

    secede()  # give the only thread slot back while waiting
    ok = _gate.wait(10)
    rejoin()
    return ok


def open_gate():
    _gate.set()
    return True


def test_seceded_task_frees_its_slot(cluster_inproc):
    worker = next(iter(cluster_inproc.workers.values()))
    a = worker.address
    _gate.clear()
    with Client(cluster_inproc) as c:
        waiting = c.submit(wait_for_gate, workers=[a], pure=False)
        wait_until(lambda: getattr(worker.state.tasks.get(waiting.key), "state", None)
                   == "long-running", timeout=10)
        # The single-threaded worker runs this although the first task never returned.
        opener = c.submit(open_gate, workers=[a], pure=False)
        assert opener.result(timeout=10) is True
        assert waiting.result(timeout=10) is True


def test_scatter_broadcast_and_run(cluster_inproc):
    with Client(cluster_inproc) as c:
        [data] = c.scatter([np.ones(10)], broadcast=True)
        assert c.submit(np.sum, data).result(timeout=10) == 10
        holders = c.who_has([data])[data.key]
        assert len(holders) == 2
        assert sorted(c.run(lambda plait_worker: plait_worker.nthreads).values()) == [1, 1]


@run_async
async def test_in_process_cluster_on_tcp():
    async with in_process_cluster(n_workers=2, protocol="tcp") as (s, workers):
        assert all(w.address.startswith("tcp://127.0.0.1:") for w in workers)
        assert set(s.state.workers) == {w.address for w in workers}
        async with Client(s.address, asynchronous=True) as c:
            futures = c.map(inc, range(50))
            assert await c.gather(futures) == list(range(1, 51))
    assert all(w.status == "closed" for w in workers)


@run_async
async def test_worker_leaving_unregisters():
    async with in_process_cluster(n_workers=1) as (s, workers):
        extra = await Worker(s.address, nthreads=2, name="extra").start()
        assert s.state.workers[extra.address].nthreads == 2
        await extra.close()
        assert extra.address not in s.state.workers
        assert extra.status == "closed"


@run_async
async def test_scheduler_close_closes_workers():
    from plait.distributed.scheduler import Scheduler

    s = await Scheduler(protocol="inproc").start()
    w = await Worker(s.address).start()
    await s.close()
    await w.finished()
    assert w.status == "closed"


def test_unserializable_dependency_error_names_key(cluster_inproc):
    a, b = [w.address for w in cluster_inproc.workers.values()]

    class Local:  # defined in a function: fine in-process, but no pickling
        def __reduce__(self):
            raise TypeError("not today")

    with Client(cluster_inproc) as c:
        x = c.submit(Local, workers=[a], pure=False)
        wait_until(lambda: x.status == "finished", timeout=10)
        y = c.submit(repr, x, workers=[b], allow_other_workers=False)
        with pytest.raises(Exception, match=r"cannot be serialized") as info:
            y.result(timeout=10)
        assert x.key in str(info.value) or repr(x.key) in str(info.value)


@run_async
async def test_heartbeats_carry_metrics():
    async with in_process_cluster(n_workers=1, scheduler_kwargs={"heartbeat_interval": 0.05}
                                  ) as (s, (w,)):
        ws = s.state.workers[w.address]
        for _ in range(200):
            if getattr(ws, "metrics", None):
                break
            await asyncio.sleep(0.01)
        assert ws.metrics["executing"] == 0 and "memory" in ws.metrics
        assert ws.metrics["in_memory"] == 0


_attempts: list = []


def resched():
    from plait.distributed.worker import Reschedule

    _attempts.append(get_worker().name)
    if len(_attempts) == 1:
        raise Reschedule()
    return len(_attempts)


def test_reschedule_runs_the_task_again(cluster_inproc):
    _attempts.clear()
    with Client(cluster_inproc) as c:
        assert c.submit(resched, pure=False).result(timeout=10) == 2


def fib_on_cluster(n):
    from plait.distributed import worker_client

    if n < 2:
        return n
    with worker_client() as client:  # secedes while it waits, rejoins after
        a, b = client.submit(fib_on_cluster, n - 1), client.submit(fib_on_cluster, n - 2)
        return a.result() + b.result()


def test_tasks_submitting_tasks(cluster_inproc):
    with Client(cluster_inproc) as c:
        # 2 single-threaded workers: without secede() this would deadlock.
        assert c.submit(fib_on_cluster, 6).result(timeout=30) == 8

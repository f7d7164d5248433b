"""The Client on a real in-process LocalCluster (the real Scheduler and Workers over
inproc:// comms): results equal the local schedulers'."""

from __future__ import annotations

import gc
import time
from operator import add

import pytest

import plait
from plait.distributed import (Client, Event, Lock, Queue, Semaphore, Variable,
                               as_completed, get_client, progress, wait, worker_client)


def inc(x):
    return x + 1


def dec(x):
    return x - 1


def fail(x):
    raise ZeroDivisionError(f"no {x}")


@pytest.fixture
def client(cluster_inproc):
    before = plait.config.get("scheduler", None)
    with Client(cluster_inproc) as c:
        yield c
    assert plait.config.get("scheduler", None) == before


def test_seed_incs_decs_adds_total(client):
    incs = client.map(inc, range(100))
    decs = client.map(dec, range(100))
    adds = client.map(add, incs, decs)
    total = client.submit(sum, adds)
    del incs, decs, adds
    assert total.result(timeout=30) == sum(inc(i) + dec(i) for i in range(100))


def test_collections_compute_on_cluster_by_default(client):
    d = plait.delayed
    values = [d(inc)(i) for i in range(20)]
    largest = d(max)(values)
    expected = largest.compute(scheduler="sync")
    assert largest.compute() == expected
    assert client.compute(largest, sync=True) == expected
    assert plait.compute(largest, scheduler="threads")[0] == expected


def test_array_compute_persist_and_fractal_style(client):
    np = pytest.importorskip("numpy")
    import plait.array as da

    x = da.from_array(np.arange(60.0).reshape(6, 10), chunks=(2, 5))
    y = (x * 2 + 1).sum(axis=1)
    expected = (np.arange(60.0).reshape(6, 10) * 2 + 1).sum(axis=1)
    assert np.array_equal(client.compute(y, sync=True), expected)
    p = client.persist(x)
    assert np.array_equal(p.sum(axis=0).compute(), np.arange(60.0).reshape(6, 10).sum(0))


def test_errors_keep_type_key_and_remote_traceback(client):
    f = client.submit(fail, 3)
    with pytest.raises(ZeroDivisionError, match="no 3") as info:
        f.result(timeout=30)
    assert any(f.key in n for n in info.value.__notes__)
    assert "fail" in str(info.value.__cause__)
    assert client.gather([f, client.submit(inc, 1)], errors="skip") == [2]


def test_gather_scatter_broadcast(client, cluster_inproc):
    futures = client.scatter(list(range(10)))
    assert client.gather(futures) == list(range(10))
    [b] = client.scatter([123], broadcast=True)
    b.result()
    holders = client.who_has([b])[b.key]
    assert len(holders) == 2
    assert client.submit(add, futures[3], b).result() == 126


def test_reference_counting_frees_worker_memory(client, cluster_inproc):
    fs = client.map(inc, range(30))
    wait(fs)
    keys = {f.key for f in fs}
    workers = list(cluster_inproc.workers.values())
    held = lambda: keys & {k for w in workers for k in w.data}  # noqa: E731
    assert held() == keys
    del fs
    gc.collect()
    deadline = time.monotonic() + 10
    while held() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not held()


def test_as_completed_wait_and_progress(client, capsys):
    fs = client.map(inc, range(10))
    assert sorted(f.result() for f in as_completed(fs)) == list(range(1, 11))
    done, not_done = wait(fs, timeout=30)
    assert len(done) == 10 and not not_done
    progress(fs, notebook=False)
    assert "100% Completed" in capsys.readouterr().out


def test_cancel_a_running_task(client):
    ev = Event("never-set")

    def block():
        ev.wait(timeout=20)
        return 1

    f = client.submit(block, pure=False)
    time.sleep(0.1)
    f.cancel()
    assert f.cancelled()
    ev.set()


def test_run_and_run_on_scheduler_and_info(client, cluster_inproc):
    result = client.run(inc, 1)
    assert sorted(result) == sorted(client.nthreads())
    assert set(result.values()) == {2}
    assert client.run_on_scheduler(add, 2, 3) == 5
    info = client.scheduler_info()
    assert len(info["workers"]) == 2
    assert "processes=2 threads=2" in repr(client)


def test_upload_file_makes_module_importable(client, tmp_path):
    mod = tmp_path / "plait_uploaded_mod.py"
    mod.write_text("def triple(x):\n    return 3 * x\n")
    client.upload_file(str(mod))

    def use(x):
        import plait_uploaded_mod

        return plait_uploaded_mod.triple(x)

    assert client.submit(use, 4).result(timeout=30) == 12


def fib(n):
    if n < 2:
        return n
    with worker_client() as c:
        a, b = c.submit(fib, n - 1), c.submit(fib, n - 2)
        return a.result() + b.result()


def test_worker_client_tasks_submit_tasks(client):
    assert client.submit(fib, 6).result(timeout=30) == 8


def test_get_client_inside_task(client):
    def outer(x):
        c = get_client()
        return c.submit(inc, x).result() * 10

    assert client.submit(outer, 1).result(timeout=30) == 20


def test_lock_serialises_tasks_that_share_a_resource(client):
    lock = Lock("file")
    log = Queue("log")

    def critical(i):
        with lock:
            log.put(("in", i))
            time.sleep(0.01)
            log.put(("out", i))
        return i

    assert client.gather(client.map(critical, range(4))) == [0, 1, 2, 3]
    events = log.get(batch=8)
    for a, b in zip(events[::2], events[1::2]):
        assert a[0] == "in" and b == ("out", a[1])


def test_semaphore_variable_queue_on_cluster(client):
    sem = Semaphore(2, "s")
    assert sem.acquire() and sem.acquire() and not sem.acquire(timeout=0.05)
    sem.release()
    sem.release()
    v = Variable("x")
    fut = client.submit(inc, 41)
    v.set(fut)
    del fut
    assert v.get().result(timeout=30) == 42
    q = Queue("q")
    client.submit(lambda: q.put(7), pure=False).result(timeout=30)
    assert q.get(timeout=10) == 7


def test_same_graph_again_right_after_release(client):
    # The first run's futures are released as the second run asks for the same keys:
    # the client must not wait for a report the scheduler has no reason to send again.
    total = plait.delayed(sum)([plait.delayed(inc)(i) for i in range(5)])
    for _ in range(20):
        assert total.compute() == 15
        assert plait.compute(total, scheduler=client)[0] == 15


def test_store_with_a_cluster_lock_into_zarr(client, tmp_path):
    np = pytest.importorskip("numpy")
    zarr = pytest.importorskip("zarr")
    import plait.array as da

    x = da.from_array(np.arange(40.0).reshape(4, 10), chunks=(2, 5))
    target = zarr.open(str(tmp_path / "out.zarr"), mode="w", shape=(4, 10),
                       chunks=(2, 5), dtype="f8")
    da.store(x, target, lock=Lock("zarr-writes"))  # runs on the cluster (default client)
    assert np.array_equal(zarr.open(str(tmp_path / "out.zarr"), mode="r")[:],
                          np.arange(40.0).reshape(4, 10))


def test_async_client_on_async_cluster():
    import asyncio

    from plait.distributed import LocalCluster

    async def main():
        async with LocalCluster(n_workers=2, processes=False, asynchronous=True) as cluster:
            async with Client(cluster, asynchronous=True, set_as_default=False) as c:
                assert await c.submit(inc, 1) == 2
                fs = c.map(inc, range(5))
                assert await c.gather(fs) == [1, 2, 3, 4, 5]
                seen = [await f async for f in as_completed(fs)]
                assert sorted(seen) == [1, 2, 3, 4, 5]
                assert await c.compute(plait.delayed(inc)(3)) == 4
                assert await c.get({"x": 1, "y": (inc, "x")}, ["y", ["x"]]) == [2, [1]]
                lock = Lock("async-lock", client=c)
                assert await lock.acquire() and await lock.locked()
                await lock.release()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_workers_restriction_priority_and_retries(client, cluster_inproc):
    first, second = sorted(client.nthreads())
    fs = client.map(inc, range(6), workers=[second])
    wait(fs, timeout=30)
    assert all(holders == [second] for holders in client.who_has(fs).values())
    attempts = Variable("attempts")
    attempts.set(0)

    def flaky():
        n = attempts.get() + 1
        attempts.set(n)
        if n < 3:
            raise RuntimeError(f"attempt {n}")
        return n

    assert client.submit(flaky, retries=2, pure=False, priority=10).result(timeout=30) == 3
    attempts.set(0)
    with pytest.raises(RuntimeError, match="attempt 2"):
        client.submit(flaky, retries=1, pure=False).result(timeout=30)


def test_bare_host_port_address(cluster_processes):
    address = cluster_processes.scheduler_address
    bare = address.split("://", 1)[1]
    with Client(bare, set_as_default=False) as c:
        assert c.submit(inc, 1).result(timeout=30) == 2

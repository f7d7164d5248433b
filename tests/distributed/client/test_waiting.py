"""wait, as_completed (sync and async), fire_and_forget, progress, and the async API."""

from __future__ import annotations

import asyncio
import io
import re
import threading

import pytest

from plait.distributed import Client, as_completed, fire_and_forget, progress, wait
from plait.distributed.progress import futures_of


def inc(x):
    return x + 1


def fail(x):
    raise KeyError(x)


def _pending(c, cluster, key):
    """A future that stays pending until ``release(key)`` is called."""
    from plait.distributed.comm import serialize
    from plait.graph import Ref, Task

    gate = f"gate-{key}"
    task = Task(key, inc, Ref(gate))

    async def put(s):
        s.deps[key] = [gate]
        s.tasks[key] = serialize(task)

    cluster.runner.run_sync(put, cluster.scheduler)
    from plait.distributed import Future

    return Future(key, c)


def _open_gate(cluster, key, value=0):
    async def go(s):
        s.data[f"gate-{key}"] = value
        s._run_ready()

    cluster.runner.run_sync(go, cluster.scheduler)


def test_wait_all_and_first(c, fake_cluster):
    done_f = c.submit(inc, 1)
    slow = _pending(c, fake_cluster, "slow")
    done, not_done = wait([done_f, slow], return_when="FIRST_COMPLETED")
    assert done == {done_f} and not_done == {slow}
    with pytest.raises(TimeoutError):
        wait([done_f, slow], timeout=0.05)
    _open_gate(fake_cluster, "slow")
    done, not_done = wait([done_f, slow])
    assert len(done) == 2 and not not_done
    with pytest.raises(ValueError, match="return_when"):
        wait([done_f], return_when="SOMETIMES")
    with pytest.raises(TypeError, match="futures"):
        wait([1])


def test_as_completed_order_add_count_and_results(c, fake_cluster):
    first = c.submit(inc, 1)
    later = _pending(c, fake_cluster, "later")
    ac = as_completed([first, later])
    assert ac.count() == 2
    assert next(ac) is first
    extra = c.submit(inc, 5)
    ac.add(extra)
    assert next(ac) is extra
    threading.Timer(0.05, _open_gate, (fake_cluster, "later")).start()
    assert next(ac) is later
    assert ac.count() == 0 and list(ac) == []
    pairs = list(as_completed(c.map(inc, range(5)), with_results=True))
    assert sorted(r for _, r in pairs) == [1, 2, 3, 4, 5]


def test_as_completed_errors(c):
    bad = c.submit(fail, "k")
    with pytest.raises(KeyError):
        list(as_completed([bad], with_results=True))
    [(f, exc)] = list(as_completed([bad], with_results=True, raise_errors=False))
    assert f is bad and isinstance(exc, KeyError)


def test_as_completed_update_and_batches(c):
    ac = as_completed()
    ac.update(c.map(inc, range(4)))
    got = [f for batch in ac.batches() for f in batch]
    assert sorted(f.result() for f in got) == [1, 2, 3, 4]


def test_fire_and_forget_holds_keys(c, fake_cluster):
    f = c.submit(inc, 100)
    key = f.key
    fire_and_forget(f)
    f.result()
    del f
    import gc
    import time

    gc.collect()
    time.sleep(0.05)
    assert ("desire", [key], "fire-and-forget") in fake_cluster.scheduler.log
    assert key in fake_cluster.scheduler.data


def test_progress_terminal_bar(c):
    out = io.StringIO()
    fs = c.map(inc, range(5))
    progress(fs, notebook=False, out=out, interval=0.01)
    text = out.getvalue()
    assert "100% Completed" in text and text.endswith("\n")


def test_futures_of_persisted_collection(c):
    import plait

    p = c.persist(plait.delayed(inc)(1))
    (f,) = futures_of(p)
    assert f.result() == 2


def test_async_client(fake_cluster):
    async def main():
        async with Client(fake_cluster.scheduler_address, asynchronous=True,
                          set_as_default=False) as client:
            f = client.submit(inc, 1)
            assert await f == 2
            fs = client.map(inc, range(3))
            assert await client.gather(fs) == [1, 2, 3]
            assert (await client.scatter([5]))[0].key.startswith("int-")
            results = []
            async for fut in as_completed(fs):
                results.append(await fut)
            assert sorted(results) == [1, 2, 3]
            done, _ = await wait(fs)
            assert len(done) == 3
            with pytest.raises(ValueError):
                await client.submit(fail2, 1)
            assert await client.run_on_scheduler(inc, 1) == 2
        assert client.status == "closed"

    asyncio.run(main())


def test_await_client_then_close(fake_cluster):
    async def main():
        client = await Client(fake_cluster.scheduler_address, asynchronous=True,
                              set_as_default=False)
        assert await client.submit(inc, 2).result() == 3  # result() is awaitable here
        assert await client.submit(inc, 2) == 3
        await client.close()

    asyncio.run(main())


def fail2(x):
    raise ValueError(x)


def test_progress_notebook_display_updates_until_done(c, fake_cluster, capsys):
    pytest.importorskip("IPython")
    slow = _pending(c, fake_cluster, "nb-slow")
    fs = c.map(inc, range(4)) + [slow]
    bar = progress(fs, notebook=True, interval=0.01)
    assert " / 5 done" in bar.last_html and bar.thread.is_alive()
    _open_gate(fake_cluster, "nb-slow")
    bar.thread.join(10)
    assert not bar.thread.is_alive()
    assert "5 / 5 done" in bar.last_html and "width:100.0%" in bar.last_html


def test_wait_first_exception(c, fake_cluster):
    slow = _pending(c, fake_cluster, "fe-slow")
    bad = c.submit(fail, "x")
    done, not_done = wait([slow, bad], return_when="FIRST_EXCEPTION", timeout=5)
    assert bad in done and slow in not_done


def test_scheduler_going_away_fails_pending_futures_and_close_returns():
    from fake_cluster import FakeCluster

    from plait.distributed import FutureCancelledError

    cluster = FakeCluster()
    # Its own loop (an address, not the cluster object): it outlives the scheduler.
    client = Client(cluster.scheduler_address, set_as_default=False)
    try:
        slow = _pending(client, cluster, "gone")
        address = cluster.scheduler_address
        cluster.close()
        with pytest.raises(FutureCancelledError,
                           match=f"scheduler at {re.escape(address)} (closed|went away)"):
            slow.result(timeout=10)
        assert client.status == "closed-by-scheduler"
    finally:
        client.close(timeout=10)
    assert client.status == "closed"


def test_client_sharing_a_closed_clusters_loop_still_closes():
    from fake_cluster import FakeCluster

    import plait

    cluster = FakeCluster()
    before = plait.config.get("scheduler", None)
    client = Client(cluster)
    cluster.close()
    client.close()
    assert client.status == "closed"
    assert plait.config.get("scheduler", None) == before

"""The rest of the issue's Client and Future API on a real in-process LocalCluster (the
real Scheduler and Workers): retry, get's shapes, Future.exception/traceback/
add_done_callback, wait/as_completed options, fire_and_forget, progress in a notebook,
map's batch_size and keys, has_what; and the failure paths: a result that cannot be
serialized, an erred future dropped after result() raised, a worker closing the client
its tasks shared."""

from __future__ import annotations

import gc
import threading
import time
from operator import add

import pytest

from plait.distributed import (
    Client,
    Variable,
    as_completed,
    fire_and_forget,
    get_client,
    progress,
    wait,
)
from plait.distributed.comm.serialize import SerializationError
from plait.distributed.testing import wait_until


def inc(x):
    return x + 1


def fail(x):
    raise ValueError(f"bad {x}")


def unpicklable():
    return threading.Lock()


@pytest.fixture
def client(cluster_inproc):
    with Client(cluster_inproc, timeout=10, name="api-tests") as c:
        yield c


def test_result_that_cannot_be_serialized_raises_the_workers_error(client):
    f = client.submit(unpicklable)
    with pytest.raises(SerializationError, match="cannot send the result of") as info:
        f.result(timeout=30)
    assert f.key in str(info.value) and "lock" in str(info.value)
    with pytest.raises(SerializationError):
        client.gather([f])


def test_erred_future_dropped_after_result_raised_is_released(client, cluster_inproc):
    tasks = cluster_inproc.scheduler.state.tasks
    f = client.submit(fail, 1)
    key = f.key
    with pytest.raises(ValueError, match="bad 1"):
        f.result(timeout=30)
    with pytest.raises(ValueError):
        client.gather([f])
    assert key in tasks
    del f
    gc.collect()
    wait_until(lambda: key not in tasks, timeout=10)


def test_retry_reruns_the_failed_task_and_its_dependents(client):
    tries = Variable("tries")
    tries.set(0)

    def flaky(x):
        n = tries.get() + 1
        tries.set(n)
        if n == 1:
            raise RuntimeError("first try")
        return x

    a = client.submit(flaky, 10, pure=False)
    b = client.submit(inc, a)
    c = client.submit(add, a, b)
    with pytest.raises(RuntimeError, match="first try"):
        c.result(timeout=30)
    assert b.status == "error"
    client.retry([c])
    assert c.status == "pending" or c.done()
    assert c.result(timeout=30) == 21
    b.retry()  # already recomputed: nothing to do
    assert b.result(timeout=30) == 11 and a.result(timeout=30) == 10
    assert tries.get() == 2


def test_get_returns_values_or_futures_in_the_keys_shape(client):
    dsk = {"x": 1, "y": (inc, "x"), "z": (add, "x", "y")}
    assert client.get(dsk, ["y", ["z", "x"]]) == [2, [3, 1]]
    assert client.get(dsk, "z") == 3
    futures = client.get(dsk, ["y", ["z"]], sync=False)
    assert [type(futures[0]).__name__, type(futures[1]).__name__] == ["Future", "list"]
    assert client.gather(futures) == [2, [3]]
    single = client.get(dsk, "z", sync=False)
    assert single.result(timeout=30) == 3


def test_future_exception_traceback_and_done_callback(client):
    f = client.submit(fail, 2)
    assert isinstance(f.exception(timeout=30), ValueError)
    tb = f.traceback()
    text = tb if isinstance(tb, str) else "".join(__import__("traceback").format_list(tb))
    assert "fail" in text
    seen = []
    done = threading.Event()

    def callback(fut):
        seen.append(fut.status)
        done.set()

    g = client.submit(inc, 1)
    g.add_done_callback(callback)
    assert done.wait(30) and seen == ["finished"]


def test_wait_return_when_and_as_completed_options(client):
    ev = Variable("go")

    def slow():
        while ev.get(timeout=20) != "go":
            time.sleep(0.01)
        return "slow"

    ev.set("wait")
    quick = client.submit(inc, 1)
    hold = client.submit(slow, pure=False)
    done, not_done = wait([quick, hold], return_when="FIRST_COMPLETED", timeout=30)
    assert quick in done and hold in not_done
    bad = client.submit(fail, 3)
    done, _ = wait([hold, bad], return_when="FIRST_EXCEPTION", timeout=30)
    assert bad in done
    ac = as_completed([quick], with_results=True)
    ac.add(hold)
    ev.set("go")
    assert {r for _, r in ac} == {2, "slow"}


def test_fire_and_forget_runs_without_a_future(client):
    q = Variable("fired")

    def note():
        q.set("ran")

    fire_and_forget(client.submit(note, pure=False))
    assert q.get(timeout=30) == "ran"


def test_map_batches_and_keys_has_what_and_name(client):
    fs = client.map(inc, range(12), batch_size=5)
    named = client.map(inc, [1, 2], key=["first-key", "second-key"])
    assert client.gather(fs) == list(range(1, 13))
    assert [f.key for f in named] == ["first-key", "second-key"]
    assert client.gather(named) == [2, 3]
    held = client.has_what()
    assert {f.key for f in named} <= {k for keys in held.values() for k in keys}
    assert "api-tests" == client.name
    assert "Workers" in client._repr_html_() and "api-tests" in repr(client.name)


def test_progress_in_a_notebook(client):
    pytest.importorskip("IPython")
    fs = client.map(inc, range(6))
    bar = progress(fs, notebook=True, interval=0.01)
    bar.thread.join(30)
    assert "6 / 6 done" in bar.last_html


def test_closing_a_worker_closes_the_client_its_tasks_shared(client, cluster_inproc):
    def make_client():
        return get_client().id

    made = client.submit(make_client, pure=False).result(timeout=30)
    (worker,) = [w for w in cluster_inproc.workers.values()
                 if getattr(w, "_plait_client", None) is not None]
    shared = worker._plait_client
    assert shared.id == made and shared.status == "running"

    async def close():
        await worker.close()

    cluster_inproc._call(close, timeout=30)
    assert shared.status == "closed"


def test_scattered_data_outlives_the_tasks_that_used_it(client):
    [x] = client.scatter([10])
    assert client.submit(inc, x).result(timeout=30) == 11
    assert client.gather(x) == 10
    assert client.submit(inc, x, pure=False).result(timeout=30) == 11

"""The Worker server against a stand-in scheduler and real peers (tcp and inproc)."""

from __future__ import annotations

import asyncio
import functools
import operator
import threading
from typing import Any

import numpy as np
import pytest

from plait import config
from plait.distributed.comm import deserialize
from plait.distributed.core import ConnectionPool
from plait.distributed.testing import FakeScheduler
from plait.distributed.worker import Worker, get_worker, rejoin, secede


def run_async(fn):
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        async def main() -> Any:
            return await asyncio.wait_for(fn(*args, **kwargs), 30)

        return asyncio.run(main())

    return wrapper


@pytest.fixture(params=["tcp://127.0.0.1:0", "inproc://"], ids=["tcp", "inproc"])
def listen_address(request):
    return request.param


async def cluster(listen_address: str, n: int = 1, **kwargs: Any):
    s = FakeScheduler()
    await s.listen(listen_address)
    workers = [await Worker(s.address, **kwargs).start() for _ in range(n)]
    return s, workers


async def shutdown(s: FakeScheduler, workers: list[Worker]) -> None:
    for w in workers:
        await w.close()
    await s.close()


def inc(x: int) -> int:
    return x + 1


class Unpicklable:
    def __reduce__(self):
        raise TypeError("no pickling for this object")


class OddError(Exception):
    def __init__(self, a, b):
        super().__init__(f"odd {a} {b}")


def raise_odd():
    raise OddError(1, 2)


@run_async
async def test_compute_and_report(listen_address):
    s, (w,) = await cluster(listen_address)
    assert s.registered[w.address]["nthreads"] == 1
    for i in range(50):
        s.compute(w.address, ("inc", i), inc, i)
    done = await s.wait_for("task-finished", count=50)
    assert {m["key"] for m in done} == {("inc", i) for i in range(50)}
    assert all(m["type"] == "int" and m["startstops"][0][0] == "compute" for m in done)
    assert {k: w.data[k] for k in w.data} == {("inc", i): i + 1 for i in range(50)}
    s.send(w.address, op="free-keys", keys=[("inc", i) for i in range(50)])
    for _ in range(100):
        if not w.data:
            break
        await asyncio.sleep(0.01)
    assert len(w.data) == 0 and not w.state.tasks
    await shutdown(s, [w])
    assert s.unregistered == [w.address]


@run_async
async def test_task_error_reaches_scheduler(listen_address):
    s, (w,) = await cluster(listen_address)
    s.compute(w.address, "div", operator.truediv, 1, 0)
    s.compute(w.address, "odd", raise_odd)
    (err,) = await s.wait_for("task-erred", key="div")
    exc = deserialize(err["exception"])
    assert isinstance(exc, ZeroDivisionError)
    assert err["exception_text"].startswith("ZeroDivisionError")
    assert "server.py" not in err["traceback_text"]
    (err,) = await s.wait_for("task-erred", key="odd")
    exc = deserialize(err["exception"])
    assert type(exc).__name__ == "OddError" and str(exc) == "odd 1 2"
    tb = deserialize(err["traceback"])
    assert tb[-1].name == "raise_odd" and "raise_odd" in err["traceback_text"]
    await shutdown(s, [w])


@run_async
async def test_dependencies_fetched_from_a_peer(listen_address):
    s, (a, b) = await cluster(listen_address, n=2)
    for i in range(5):
        s.compute(a.address, ("x", i), np.arange, 10 * (i + 1))
    await s.wait_for("task-finished", count=5)
    who_has = {("x", i): [a.address] for i in range(5)}
    s.compute(b.address, "total", lambda *xs: sum(int(x.sum()) for x in xs),
              *[_ref(("x", i)) for i in range(5)], who_has=who_has)
    (done,) = await s.wait_for("task-finished", key="total")
    expected = sum(int(np.arange(10 * (i + 1)).sum()) for i in range(5))
    assert b.data["total"] == expected
    adds = [k for m in s.messages if m["op"] == "add-keys" and m["worker"] == b.address
            for k in m["keys"]]
    assert sorted(adds) == sorted(who_has)
    released = await s.wait_for("release-worker-data", count=5)
    assert {m["key"] for m in released} == set(who_has)
    assert set(b.data) == {"total"}
    await shutdown(s, [a, b])


def _ref(key):
    from plait.graph.spec import Ref

    return Ref(key)


def test_dead_peer_then_missing_then_refreshed(monkeypatch):
    from plait.distributed.worker import link

    monkeypatch.setattr(link, "MISSING_REFRESH_INTERVAL", 0.05)  # ask again sooner
    _dead_peer_then_missing_then_refreshed()


@run_async
async def _dead_peer_then_missing_then_refreshed():
    s, (a, b) = await cluster("tcp://127.0.0.1:0", n=2, peer_connect_timeout=0.2)
    s.compute(a.address, "x", inc, 1)
    await s.wait_for("task-finished", key="x")
    dead = "tcp://127.0.0.1:9"  # nothing listens there
    s.compute(b.address, "y", inc, _ref("x"), who_has={"x": [dead]})
    (m,) = await s.wait_for("missing-data", key="x")
    assert m["errant_worker"] == dead
    assert b.state.tasks["x"].state == "missing"
    s.who_has_table["x"] = [a.address]  # the worker asks again and finds it
    await s.wait_for("task-finished", key="y")
    assert b.data["y"] == 3
    await shutdown(s, [a, b])


@run_async
async def test_unserializable_result_names_key_and_type(listen_address):
    s, (a, b) = await cluster(listen_address, n=2)
    s.compute(a.address, "u", Unpicklable)
    await s.wait_for("task-finished", key="u")
    s.compute(b.address, "v", repr, _ref("u"), who_has={"u": [a.address]})
    (err,) = await s.wait_for("task-erred", key="v")
    assert "'u'" in err["exception_text"] and "Unpicklable" in err["exception_text"]
    assert "cannot be serialized" in err["exception_text"]
    await shutdown(s, [a, b])


@run_async
async def test_get_data_and_update_data_rpc(listen_address):
    s, (w,) = await cluster(listen_address)
    pool = ConnectionPool()
    big = np.arange(1_000_000)
    reply = await pool.send_recv(w.address, "update_data",
                                 data={"big": _ser(big), "small": _ser([1, 2])},
                                 report=True)
    assert reply["nbytes"]["big"] == big.nbytes
    adds = await s.wait_for("add-keys")
    assert sorted(adds[0]["keys"]) == ["big", "small"]
    reply = await pool.send_recv(w.address, "get_data", keys=["big", "small", "nope"])
    assert set(reply["data"]) == {"big", "small"}
    np.testing.assert_array_equal(reply["data"]["big"], big)
    await pool.close()
    await shutdown(s, [w])


def _ser(x):
    from plait.distributed.comm import Serialize

    return Serialize(x)


@run_async
async def test_threads_run_concurrently_and_get_worker():
    s, (w,) = await cluster("inproc://", nthreads=2)
    barrier = threading.Barrier(2, timeout=5)

    def meet(i):
        barrier.wait()  # only passes if both tasks run at the same time
        return get_worker().address

    s.compute(w.address, "a", meet, 0, raw=True)
    s.compute(w.address, "b", meet, 1, raw=True)
    await s.wait_for("task-finished", count=2)
    assert w.data["a"] == w.data["b"] == w.address
    with pytest.raises(ValueError, match="only work inside a task"):
        get_worker()
    await shutdown(s, [w])


@run_async
async def test_secede_frees_the_slot():
    s, (w,) = await cluster("inproc://", nthreads=1)
    started = threading.Event()
    release = threading.Event()

    def long_task():
        secede()
        started.set()
        release.wait(5)
        rejoin()
        return "long"

    s.compute(w.address, "long", long_task, raw=True)
    await s.wait_for("long-running", key="long")
    s.compute(w.address, "short", inc, 1)  # runs although the only slot's task waits
    await s.wait_for("task-finished", key="short")
    assert w.state.tasks["long"].state == "long-running"
    release.set()
    await s.wait_for("task-finished", key="long")
    assert w.data["long"] == "long" and not w.state.executing
    await shutdown(s, [w])


@run_async
async def test_steal_and_close_from_scheduler():
    s, (w,) = await cluster("inproc://", nthreads=1)
    gate = threading.Event()
    s.compute(w.address, "block", gate.wait, 5, raw=True)
    s.compute(w.address, "queued", inc, 1, priority=(5,))
    await asyncio.sleep(0.05)
    s.send(w.address, op="steal-request", key="queued")
    s.send(w.address, op="steal-request", key="block")
    responses = await s.wait_for("steal-response", count=2)
    assert {m["key"]: m["state"] for m in responses} == {"queued": "ready",
                                                         "block": "executing"}
    gate.set()
    await s.wait_for("task-finished", key="block")
    assert "queued" not in w.state.tasks
    s.send(w.address, op="close")
    await asyncio.wait_for(w.finished(), 5)
    assert w.status == "closed"
    await s.close()


@run_async
async def test_run_and_upload_file(tmp_path):
    s, (w,) = await cluster("tcp://127.0.0.1:0")
    pool = ConnectionPool()

    def where(plait_worker=None):
        return plait_worker.address

    reply = await pool.send_recv(w.address, "run", function=_ser(where), args=_ser(()),
                                 kwargs=_ser({}))
    assert reply["result"] == w.address
    source = b"VALUE = 41\ndef plus(x):\n    return x + VALUE\n"
    reply = await pool.send_recv(w.address, "upload_file", filename="plait_upload_mod.py",
                                 data=source, load=True)
    assert reply["nbytes"] == len(source)
    import plait_upload_mod  # importable in this process: the worker's directory

    assert plait_upload_mod.plus(1) == 42
    directory = w.local_directory
    await pool.close()
    await shutdown(s, [w])
    import os
    import sys

    sys.modules.pop("plait_upload_mod", None)
    assert not os.path.exists(directory)


@run_async
async def test_worker_closes_when_the_scheduler_stays_away():
    # It tries to register again for reconnect-timeout, then gives up and closes.
    with config.set({"distributed.worker.reconnect-timeout": "0.5s"}):
        s, (w,) = await cluster("tcp://127.0.0.1:0")
        await s.close()
        await asyncio.wait_for(w.finished(), 10)
    assert w.status == "closed" and w.reconnect_count == 0


@run_async
async def test_worker_closes_when_the_scheduler_says_close():
    s, (w,) = await cluster("tcp://127.0.0.1:0")
    s.send(w.address, op="close")
    await asyncio.wait_for(w.finished(), 10)
    assert w.status == "closed"
    await s.close()


@run_async
async def test_close_does_not_wait_for_running_tasks():
    s, (w,) = await cluster("inproc://")
    gate = threading.Event()
    s.compute(w.address, "stuck", gate.wait, 30, raw=True)
    while "stuck" not in w.state.executing:
        await asyncio.sleep(0.01)
    await asyncio.wait_for(w.close(), 10)  # bounded although the task still runs
    assert w.status == "closed"
    gate.set()
    await s.close()


@run_async
async def test_run_spec_that_cannot_be_loaded_names_the_key(listen_address):
    from plait.distributed.comm import Serialized

    s, (w,) = await cluster(listen_address)
    bad = Serialized({"serializer": "pickle", "type": "plait.graph.spec.Task"},
                     [b"not a pickle"])
    s.send(w.address, op="compute-task", key=("bad", 3), run_spec=bad, priority=(0,),
           who_has={}, nbytes={}, resource_restrictions=None, duration=None)
    (err,) = await s.wait_for("task-erred", key=("bad", 3))
    assert "('bad', 3)" in err["exception_text"]
    assert "plait.graph.spec.Task" in err["exception_text"]
    await shutdown(s, [w])


@run_async
async def test_worker_the_scheduler_forgot_registers_again_without_its_data():
    s, (w,) = await cluster("inproc://")
    s.compute(w.address, "x", inc, 1)
    await s.wait_for("task-finished", key="x")
    assert w.data["x"] == 2
    answers = iter([{"status": "missing"}])
    s.handlers["heartbeat-worker"] = lambda comm, **kw: next(answers, {"status": "OK"})
    for _ in range(500):
        if w.reconnect_count:
            break
        await asyncio.sleep(0.01)
    assert w.reconnect_count == 1 and w.status == "running"
    assert "x" not in w.data and not w.state.tasks  # the scheduler no longer knows them
    s.compute(w.address, "y", inc, 10)
    (done,) = await s.wait_for("task-finished", key="y")
    assert w.data["y"] == 11
    await shutdown(s, [w])


@run_async
async def test_dashboard_address_serves_health_until_close():
    from tornado.httpclient import AsyncHTTPClient

    s, (w,) = await cluster("tcp://127.0.0.1:0", dashboard_address=":0")
    link = w.dashboard_link
    assert link.startswith("http://127.0.0.1:")
    reply = await AsyncHTTPClient().fetch(link + "/health")
    assert reply.body == b"ok"
    assert w.identity()["dashboard_link"] == link
    await shutdown(s, [w])
    with pytest.raises(OSError):
        await AsyncHTTPClient().fetch(link + "/health", connect_timeout=2, request_timeout=2)
    s2, (plain,) = await cluster("inproc://")
    assert plain.dashboard_link is None and plain.http is None
    await shutdown(s2, [plain])

"""Futures, submit, map, gather and their errors, on the fake scheduler."""

from __future__ import annotations

import gc
import pickle
import time
from operator import add

import pytest

import plait
from plait.distributed import Future, FutureCancelledError, wait
from plait.distributed.client import _seconds


def inc(x):
    return x + 1


def dec(x):
    return x - 1


def fail(x):
    raise ValueError(f"bad value {x}")


def until(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def test_submit_result_and_repr(c):
    f = c.submit(inc, 1)
    assert isinstance(f, Future)
    assert f.result(timeout=5) == 2
    assert f.done() and f.status == "finished" and not f.cancelled()
    assert f.key.startswith("inc-")
    assert "finished" in repr(f) and "int" in repr(f)
    assert f.exception() is None and f.traceback() is None


def test_pure_keys_repeat_and_impure_keys_differ(c):
    assert c.submit(inc, 1).key == c.submit(inc, 1).key
    assert c.submit(inc, 1, pure=False).key != c.submit(inc, 1, pure=False).key
    assert c.submit(inc, 1, key="mine").key == "mine"


def test_map_gather_and_futures_as_arguments(c):
    incs = c.map(inc, range(20))
    decs = c.map(dec, range(20))
    adds = c.map(add, incs, decs)
    total = c.submit(sum, adds)
    assert total.result() == sum(inc(i) + dec(i) for i in range(20))
    assert c.gather(incs) == [i + 1 for i in range(20)]
    assert c.gather({"a": incs[0], "b": [incs[1], 5]}) == {"a": 1, "b": [2, 5]}


def test_map_keys_batches_and_errors(c):
    fs = c.map(inc, range(10), batch_size=3)
    assert c.gather(fs) == list(range(1, 11))
    named = c.map(inc, [1, 2], key=["k1", "k2"])
    assert [f.key for f in named] == ["k1", "k2"]
    with pytest.raises(ValueError, match="2 keys for 3 calls"):
        c.map(inc, [1, 2, 3], key=["a", "b"])
    with pytest.raises(TypeError, match="callable"):
        c.submit(5)


def test_task_error_type_key_and_remote_traceback(c):
    f = c.submit(fail, 7)
    with pytest.raises(ValueError, match="bad value 7") as info:
        f.result()
    exc = info.value
    assert any(f.key in note for note in exc.__notes__)
    assert "fail" in str(exc.__cause__)  # the remote traceback names the function
    assert f.status == "error"
    assert isinstance(f.exception(), ValueError)
    assert "bad value 7" in f.traceback()


def test_gather_errors_raise_and_skip(c):
    good = c.submit(inc, 1)
    bad = c.submit(fail, 2)
    with pytest.raises(ValueError):
        c.gather([good, bad])
    assert c.gather([good, bad], errors="skip") == [2]
    with pytest.raises(ValueError, match="errors"):
        c.gather([good], errors="ignore")


def test_dependent_of_failed_task_fails(c):
    bad = c.submit(fail, 1)
    after = c.submit(inc, bad)
    with pytest.raises(ValueError, match="bad value 1"):
        after.result()


def test_result_timeout(c, fake_cluster):
    # A task whose dependency never arrives stays pending.
    from plait.graph import Ref, Task

    stuck = Task("stuck", inc, Ref("never"))
    fake_cluster.scheduler.deps["stuck"] = ["never"]
    f = Future("stuck", c)
    fake_cluster.runner.run_sync(_put_task, fake_cluster.scheduler, stuck)
    with pytest.raises(TimeoutError, match="stuck"):
        f.result(timeout=0.1)
    with pytest.raises(TimeoutError):
        wait([f], timeout=0.05)


async def _put_task(scheduler, task):
    from plait.distributed.comm import serialize

    scheduler.tasks[task.key] = serialize(task)


def test_releasing_futures_releases_their_keys(c, fake_cluster):
    fs = c.map(inc, range(5))
    keys = [f.key for f in fs]
    c.gather(fs)
    assert all(k in fake_cluster.scheduler.data for k in keys)
    del fs
    gc.collect()
    until(lambda: not any(k in fake_cluster.scheduler.data for k in keys))
    released = [k for entry in fake_cluster.scheduler.log if entry[0] == "release"
                for k in entry[1]]
    assert sorted(released) == sorted(keys)  # each once


def test_two_futures_of_one_key_share_state_and_count(c, fake_cluster):
    a = c.submit(inc, 10)
    b = c.submit(inc, 10)
    assert a._state is b._state
    a.result()
    del a
    gc.collect()
    time.sleep(0.05)
    assert b.key in fake_cluster.scheduler.data
    assert b.result() == 11


def test_cancel(c, fake_cluster):
    from plait.graph import Ref, Task

    fake_cluster.scheduler.deps["pending"] = ["never"]
    fake_cluster.runner.run_sync(_put_task, fake_cluster.scheduler,
                                 Task("pending", inc, Ref("never")))
    f = Future("pending", c)
    f.cancel()
    assert f.cancelled() and f.done()
    with pytest.raises(FutureCancelledError, match="pending"):
        f.result()


def test_add_done_callback(c):
    import threading

    seen = []
    done = threading.Event()

    def callback(fut):
        seen.append(fut.result())
        done.set()

    f = c.submit(inc, 41)
    f.add_done_callback(callback)
    assert done.wait(5)
    assert seen == [42]


def test_future_pickles_by_key(c):
    f = c.submit(inc, 1)
    f.result()
    g = pickle.loads(pickle.dumps(f))
    assert g.key == f.key and g.result() == 2


def test_future_in_task_arguments_nested(c):
    a, b = c.submit(inc, 1), c.submit(inc, 2)
    f = c.submit(lambda d: d["x"] + d["y"][0], {"x": a, "y": (b,)})
    assert f.result() == 5


def test_seconds_parsing():
    assert _seconds("30s") == 30.0 and _seconds("100ms") == 0.1


def test_closed_client_refuses_work(fake_cluster):
    client = plait.distributed.Client(fake_cluster, set_as_default=False)
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.submit(inc, 1)

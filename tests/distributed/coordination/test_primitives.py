"""Lock, Semaphore, Event, Variable and Queue through their scheduler extensions
(on the fake scheduler, which loads the same SCHEDULER_EXTENSIONS as the real one)."""

from __future__ import annotations

import pickle
import threading
import time

import pytest

from plait.distributed import Event, Future, Lock, Queue, Semaphore, Variable


def inc(x):
    return x + 1


def test_lock_excludes_and_times_out(c):
    a, b = Lock("L", client=c), Lock("L", client=c)
    assert a.acquire()
    assert a.locked() and b.locked()
    assert b.acquire(timeout=0.05) is False
    assert b.acquire(blocking=False) is False
    a.release()
    assert not a.locked()
    with b:
        assert a.locked()
    with pytest.raises(RuntimeError, match="not held"):
        a.release()
    with pytest.raises(ValueError, match="no timeout"):
        a.acquire(blocking=False, timeout=1)


def test_lock_waiter_gets_it_after_release(c):
    a, b = Lock("W", client=c), Lock("W", client=c)
    a.acquire()
    got = []
    t = threading.Thread(target=lambda: got.append(b.acquire(timeout=5)))
    t.start()
    time.sleep(0.05)
    a.release()
    t.join(5)
    assert got == [True]
    b.release()


def test_lock_pickles_by_name(c):
    lock = Lock(client=c)
    clone = pickle.loads(pickle.dumps(lock))
    assert clone.name == lock.name and clone.id != lock.id


def test_semaphore_leases(c):
    s = Semaphore(2, "S", client=c)
    assert s.acquire() and s.acquire()
    assert s.get_value() == 2
    assert s.acquire(timeout=0.05) is False
    s.release()
    assert s.get_value() == 1
    s.release()
    with pytest.raises(RuntimeError, match="without a lease"):
        s.release()
    with pytest.raises(ValueError, match="max_leases"):
        Semaphore(0)
    with pytest.raises(ValueError, match="exists with max_leases=2"):
        Semaphore(3, "S", client=c).acquire()
    assert pickle.loads(pickle.dumps(s)).max_leases == 2


def test_event(c):
    ev = Event("E", client=c)
    assert not ev.is_set()
    assert ev.wait(timeout=0.05) is False
    threading.Timer(0.05, ev.set).start()
    assert ev.wait(timeout=5) is True
    assert Event("E", client=c).is_set()
    ev.clear()
    assert not ev.is_set()


def test_variable_values_and_futures(c, fake_cluster):
    v = Variable("V", client=c)
    with pytest.raises(TimeoutError, match="not set"):
        v.get(timeout=0.05)
    v.set({"a": [1, 2]})
    assert v.get() == {"a": [1, 2]}
    f = c.submit(inc, 41)
    v.set(f)
    key = f.key
    del f
    import gc

    gc.collect()
    time.sleep(0.05)
    assert key in fake_cluster.scheduler.data  # the variable holds the data
    g = v.get()
    assert isinstance(g, Future) and g.result() == 42
    v.delete()
    with pytest.raises(TimeoutError):
        v.get(timeout=0.01)


def test_queue_fifo_batch_size_and_futures(c):
    q = Queue("Q", client=c)
    for i in range(3):
        q.put(i)
    assert q.qsize() == 3
    assert q.get() == 0
    assert q.get(batch=True) == [1, 2]
    assert q.get(batch=True) == []
    with pytest.raises(TimeoutError, match="empty"):
        q.get(timeout=0.05)
    q.put(c.submit(inc, 1))
    f = q.get()
    assert isinstance(f, Future) and f.result() == 2
    q.put("x")
    q.put("y")
    assert q.get(batch=2) == ["x", "y"]


def test_queue_maxsize(c):
    q = Queue("Qm", client=c, maxsize=1)
    q.put(1)
    with pytest.raises(TimeoutError, match="full"):
        q.put(2, timeout=0.05)
    assert q.get() == 1


def test_primitives_find_default_client(c):
    ev = Event("default")  # no client given: the default client
    ev.set()
    assert ev.is_set()

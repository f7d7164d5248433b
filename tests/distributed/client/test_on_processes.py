"""The Client on real worker processes over tcp://127.0.0.1 (one cluster per module),
and Client() starting its own local cluster."""

from __future__ import annotations

import pickle
from operator import add

import pytest

import plait
from plait.distributed import Client, Lock, get_client, wait


def inc(x):
    return x + 1


class Unloadable:
    """Pickles fine here; fails to unpickle on the client (the __reduce__ trick)."""

    def __reduce__(self):
        return (_refuse, ())


def _refuse():
    import os

    if os.environ.get("PLAIT_TEST_REFUSE_HERE") == str(os.getpid()):
        raise ImportError("module for Unloadable not available here")
    return Unloadable()


@pytest.fixture(scope="module")
def pclient(cluster_processes):
    with Client(cluster_processes, set_as_default=False) as c:
        yield c


def test_map_gather_and_dependencies_across_processes(pclient):
    incs = pclient.map(inc, range(50))
    adds = pclient.map(add, incs, incs)
    total = pclient.submit(sum, adds)
    assert total.result(timeout=30) == sum(2 * (i + 1) for i in range(50))
    pids = pclient.run(lambda: __import__("os").getpid())
    assert len(set(pids.values())) == 2


def test_collections_via_client_get(pclient):
    d = plait.delayed
    total = d(sum)([d(inc)(i) for i in range(10)])
    assert plait.compute(total, scheduler=pclient)[0] == total.compute(scheduler="sync")


def test_numpy_results_and_scatter(pclient):
    np = pytest.importorskip("numpy")
    big = np.arange(100_000, dtype="float64")
    [f] = pclient.scatter([big])
    doubled = pclient.submit(np.multiply, f, 2)
    assert np.array_equal(doubled.result(timeout=30), big * 2)


def test_exception_from_another_process(pclient):
    def fail():
        raise KeyError("missing-thing")

    f = pclient.submit(fail)
    with pytest.raises(KeyError, match="missing-thing") as info:
        f.result(timeout=30)
    assert any(f.key in n for n in info.value.__notes__)
    assert "fail" in str(info.value.__cause__)


def test_result_that_cannot_be_unpickled_names_key_and_type(pclient, monkeypatch):
    import os

    monkeypatch.setenv("PLAIT_TEST_REFUSE_HERE", str(os.getpid()))
    f = pclient.submit(Unloadable, pure=False)
    wait([f], timeout=30)
    with pytest.raises(Exception, match=f"{f.key}.*Unloadable|Unloadable.*{f.key}"):
        f.result(timeout=30)


def test_lock_pickled_into_tasks(pclient):
    lock = Lock("proc-lock", client=pclient)

    def locked_inc(x, lock):
        with lock:
            return x + 1

    assert pclient.gather(pclient.map(locked_inc, range(4), lock=lock)) == [1, 2, 3, 4]
    assert pickle.loads(pickle.dumps(lock)).name == "proc-lock"


def test_get_client_in_worker_process(pclient):
    def outer(x):
        return get_client().submit(inc, x).result() + 100

    assert pclient.submit(outer, 1).result(timeout=30) == 102


def test_client_without_address_starts_and_closes_its_cluster():
    before = plait.config.get("scheduler", None)
    with Client(n_workers=1, threads_per_worker=1, processes=False) as client:
        cluster = client.cluster
        assert client.submit(inc, 1).result(timeout=30) == 2
        assert plait.delayed(inc)(2).compute() == 3
    assert cluster.status == "closed"
    assert plait.config.get("scheduler", None) == before

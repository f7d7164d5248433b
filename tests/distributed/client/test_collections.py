"""compute, persist, get, scatter and the default-scheduler takeover, on the fake
scheduler; results compared with the local sync scheduler."""

from __future__ import annotations

from operator import add

import pytest

import plait
from plait.distributed import Client, Future


def inc(x):
    return x + 1


def _delayed_graph():
    d = plait.delayed
    parts = [d(inc)(i) for i in range(6)]
    return d(sum)([d(add)(p, 1) for p in parts])


def test_client_is_default_scheduler_until_closed(fake_cluster):
    before = plait.config.get("scheduler", None)
    client = Client(fake_cluster)
    try:
        assert plait.config.get("scheduler") is client
        total = _delayed_graph()
        assert total.compute() == total.compute(scheduler="sync")
        log = fake_cluster.scheduler.log
        assert any(e[0] == "update-graph" for e in log)
    finally:
        client.close()
    assert plait.config.get("scheduler", None) == before


def test_not_default_when_asked(fake_cluster):
    before = plait.config.get("scheduler", None)
    with Client(fake_cluster, set_as_default=False) as client:
        assert plait.config.get("scheduler", None) == before
        total = _delayed_graph()
        assert plait.compute(total, scheduler=client)[0] == total.compute(scheduler="sync")


def test_compute_sync_and_futures(c):
    total = _delayed_graph()
    expected = total.compute(scheduler="sync")
    f = c.compute(total)
    assert isinstance(f, Future) and f.result() == expected
    assert c.compute(total, sync=True) == expected
    fs = c.compute([total, total])
    assert [x.result() for x in fs] == [expected, expected]
    assert c.compute([total, 5], sync=True) == [expected, 5]


def test_persist_gives_futures_backed_collection(c, fake_cluster):
    total = _delayed_graph()
    p = c.persist(total)
    assert type(p) is type(total)
    (node,) = p.__plait_graph__().values()
    assert isinstance(node.value, Future)
    assert p.compute() == total.compute(scheduler="sync")
    # building on a persisted collection sends only the new task
    more = plait.delayed(inc)(p)
    assert more.compute() == total.compute(scheduler="sync") + 1
    last = [e for e in fake_cluster.scheduler.log if e[0] == "update-graph"][-1]
    # only the new task (and the finalize step of the compute), not the persisted graph
    assert more.key in last[1]
    assert not set(last[1]) & set(total.__plait_graph__())


def test_get_with_dict_graph(c):
    dsk = {"a": 1, "b": (inc, "a"), "c": (add, "a", "b")}
    assert c.get(dsk, "c") == 3
    assert c.get(dsk, ["b", ["c"]]) == [2, [3]]


def test_get_through_plait_get_scheduler(c):
    from plait.collection import get_scheduler

    run = get_scheduler(c)
    assert run({"x": plait.graph.Data("x", 4)}, ["x"]) == {"x": 4}


def test_array_compute_matches_numpy(c):
    np = pytest.importorskip("numpy")
    import plait.array as da

    x = da.arange(24, chunks=5).reshape(4, 6)
    y = (x + x.T.T * 2).sum(axis=0)
    assert np.array_equal(y.compute(), (np.arange(24).reshape(4, 6) * 3).sum(axis=0))
    assert np.array_equal(c.compute(y, sync=True), y.compute(scheduler="sync"))
    p = c.persist(x)
    assert np.array_equal(p.compute(), np.arange(24).reshape(4, 6))


def test_scatter_list_dict_single_and_hash(c, fake_cluster):
    [a, b] = c.scatter([1, 2])
    assert c.gather([a, b]) == [1, 2]
    d = c.scatter({"x": 10, "y": 20})
    assert set(d) == {"x", "y"} and d["y"].result() == 20
    one = c.scatter(5)
    assert isinstance(one, Future) and one.result() == 5
    assert c.scatter(5).key == one.key
    assert c.scatter(5, hash=False).key != one.key
    total = c.submit(add, a, b)
    assert total.result() == 3
    assert c.scatter([7], broadcast=True)[0].result() == 7
    with pytest.raises(ValueError, match="none of the workers"):
        c.scatter([1], workers=["tcp://10.0.0.1:1"])


def test_who_has_nthreads_info_run(c, fake_cluster):
    f = c.submit(inc, 1)
    f.result()
    addr = fake_cluster.scheduler_address
    assert c.who_has([f]) == {f.key: [addr]}
    assert f.key in c.has_what()[addr]
    assert c.nthreads() == {addr: 1} == c.ncores()
    assert c.scheduler_info()["workers"]
    assert c.run(inc, 1) == {addr: 2}
    assert c.run_on_scheduler(add, 1, 2) == 3
    assert "processes=1 threads=1" in repr(c)
    assert "Workers" in c._repr_html_()


def test_upload_file_checks_its_argument(c, tmp_path):
    with pytest.raises(FileNotFoundError):
        c.upload_file(str(tmp_path / "missing.py"))
    bad = tmp_path / "data.txt"
    bad.write_text("x")
    with pytest.raises(ValueError, match=".py, .zip or .egg"):
        c.upload_file(str(bad))


def test_context_manager_closes(fake_cluster):
    with Client(fake_cluster) as client:
        assert client.submit(inc, 1).result() == 2
    assert client.status == "closed"
    assert "closed" in repr(client)


def test_bad_address_type():
    with pytest.raises(TypeError, match="scheduler address"):
        Client(42)


def test_unreachable_scheduler_says_so():
    with pytest.raises(OSError, match="could not connect"):
        Client("tcp://127.0.0.1:1", timeout=0.5)


def test_method_persist_uses_the_default_client(c):
    # x.persist() with a default Client returns a collection backed by futures on the
    # cluster, as client.persist(x) does, rather than computing locally.
    total = _delayed_graph()
    p = total.persist()
    (node,) = p.__plait_graph__().values()
    assert isinstance(node.value, Future)
    assert p.compute() == total.compute(scheduler="sync")

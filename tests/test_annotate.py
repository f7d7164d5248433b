"""plait.annotate: the context, the side table, and how annotations survive fusion and
reach the scheduler in update-graph."""

from __future__ import annotations

import gc
import os
import sys
from operator import add

import pytest

import plait
from plait import annotations
from plait.annotations import annotate
from plait.distributed.packing import annotations_for, pack_graph
from plait.graph import Data, Ref, Task


def inc(x):
    return x + 1


class Owner:
    """Stands for a collection (collections are weak-referenceable)."""


def test_context_nests_and_restores():
    assert annotations.current() is None
    with annotate(priority=1, retries=2):
        with annotate(priority=5, resources={"GPU": 1}):
            assert annotations.current() == {"priority": 5, "retries": 2,
                                             "resources": {"GPU": 1}}
        assert annotations.current() == {"priority": 1, "retries": 2}
    assert annotations.current() is None


def test_bad_values_say_what_to_write():
    with pytest.raises(TypeError, match="annotate\\(priority=2\\)"):
        annotate(priority="high")
    with pytest.raises(ValueError, match="retries=-1"):
        annotate(retries=-1)
    with pytest.raises(TypeError, match="GPU"):
        annotate(resources=["GPU"])
    with pytest.raises(TypeError, match="True or False"):
        annotate(allow_other_workers="yes")
    assert annotate(workers="tcp://127.0.0.1:1").annotations == {
        "workers": ["tcp://127.0.0.1:1"]}


def test_note_records_only_inside_a_block_and_forgets_with_owner():
    owner = Owner()
    annotations.note(owner, ["outside"])
    assert annotations.for_keys(["outside"]) == {}
    with annotate(priority=3):
        annotations.note(owner, ["k1", "k2"])
    assert annotations.for_keys(["k1", "k2", "x"]) == {"k1": {"priority": 3},
                                                       "k2": {"priority": 3}}
    del owner
    gc.collect()
    assert annotations.for_keys(["k1", "k2"]) == {}


def test_fused_keys_hand_their_annotations_to_the_survivor():
    raw = {"a": Data("a", 1), "b": Task("b", inc, Ref("a")), "c": Task("c", inc, Ref("b"))}
    fused = {"a": raw["a"], "c": Task("c", inc, Ref("a"))}  # b folded into c
    table = {"b": {"retries": 3, "priority": 1}, "c": {"priority": 5}}
    assert annotations_for(fused, table, raw) == {"c": {"priority": 5, "retries": 3}}
    assert annotations_for(fused, table, None) == {"c": {"priority": 5}}
    packed = pack_graph(fused, ["c"], annotations=table, raw=raw)
    assert packed.annotations == {"c": {"priority": 5, "retries": 3}}


def _hooked() -> bool:
    with annotate(priority=1):
        d = plait.delayed(inc)(1)
    return bool(annotations.for_keys([d.key]))


needs_hook = pytest.mark.skipif(
    not _hooked(), reason="collection constructors do not call plait.annotations.note yet "
    "(the hook lines for plait/delayed.py, plait/array/core.py, plait/bag/core.py)")


@needs_hook
def test_delayed_built_inside_block_is_annotated():
    with annotate(retries=2):
        a = plait.delayed(inc)(1)
    b = plait.delayed(inc)(a)
    table = annotations.for_keys([a.key, b.key])
    assert table == {a.key: {"retries": 2}}
    assert b.compute(scheduler="sync") == 3  # local schedulers ignore them


@needs_hook
def test_annotations_reach_update_graph(tmp_path):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "distributed", "client"))
    from fake_cluster import FakeCluster

    from plait.distributed import Client

    with FakeCluster() as cluster, Client(cluster, set_as_default=False) as client:
        with annotate(priority=7, workers=["w1"]):
            a = plait.delayed(inc)(1)
        b = plait.delayed(add)(a, 1)
        assert client.compute(b, sync=True) == 3
        (entry,) = [e for e in cluster.scheduler.log if e[0] == "update-graph"]
        sent = entry[2]
        assert sent[a.key] == {"priority": 7, "workers": ["w1"]}
        assert b.key not in sent


@needs_hook
def test_array_annotations_survive_blockwise_fusion():
    np = pytest.importorskip("numpy")
    import plait.array as da

    with annotate(retries=4):
        x = da.ones((4,), chunks=2)
    y = (x + 1) * 2
    dsk = plait.collection.collections_to_graph([y], True)
    raw = plait.collection.collections_to_graph([y], False)
    table = annotations.for_keys(raw)
    out = annotations_for(dsk, table, raw)
    assert all(out.get(k, {}).get("retries") == 4 for k in plait.collection.flatten_keys(
        y.__plait_keys__()))
    assert np.array_equal(y.compute(scheduler="sync"), np.full(4, 4.0))


@needs_hook
def test_annotated_retries_and_workers_act_on_a_real_cluster():
    from plait.distributed import Client, LocalCluster, Variable

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster, \
            Client(cluster, set_as_default=False) as client:
        attempts = Variable("annotate-attempts", client=client)
        attempts.set(0)

        def flaky():
            n = attempts.get() + 1
            attempts.set(n)
            if n < 3:
                raise RuntimeError(f"attempt {n}")
            return n

        with annotate(retries=2):
            a = plait.delayed(flaky, pure=False)()
        assert client.compute(a, sync=True) == 3

        target = sorted(client.nthreads())[1]
        with annotate(workers=[target]):
            parts = [plait.delayed(inc)(i) for i in range(4)]
        persisted = client.persist(parts)  # futures of the parts' own keys
        assert [p.compute(scheduler=client) for p in persisted] == [1, 2, 3, 4]
        held = client.who_has()
        assert [held[p.key] for p in parts] == [[target]] * 4


def test_dataframe_annotations_act_on_a_real_cluster():
    pd = pytest.importorskip("pandas")
    import plait.dataframe as dd
    from plait.distributed import Client, LocalCluster, Variable

    pdf = pd.DataFrame({"x": range(8)})
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster, \
            Client(cluster, set_as_default=False) as client:
        attempts = Variable("annotate-df-attempts", client=client)
        attempts.set(0)

        def flaky(part):
            n = attempts.get() + 1
            attempts.set(n)
            if n < 2:
                raise RuntimeError(f"attempt {n}")
            return part + 1

        df = dd.from_pandas(pdf, npartitions=1)
        with annotate(retries=2):
            out = df.x.map_partitions(flaky, meta=df.x._meta)
        # .compute(scheduler=client) goes through the client, annotations included
        assert out.compute(scheduler=client).tolist() == list(range(1, 9))
        assert attempts.get() == 2

"""plait.dataframe.shuffle: hash shuffles by column, the method choice, and the disk
shuffle refused under a distributed Client."""

import numpy as np
import pandas as pd
import pytest

import plait
import plait.dataframe as dd
from plait.dataframe.shuffle import (
    HashPartitioner,
    RangePartitioner,
    hash_codes,
    split_frame,
)

from .keydata import KEY_KINDS, key_frame, partitioned


@pytest.mark.parametrize("kind", KEY_KINDS)
@pytest.mark.parametrize("method", ["tasks", "disk"])
@pytest.mark.parametrize("parts", ["four", "empty-parts"])
def test_shuffle_gathers_equal_keys(kind, method, parts):
    pdf = key_frame(kind)
    out = partitioned(pdf, parts).shuffle("k", npartitions=3, shuffle_method=method)
    assert out.npartitions == 3 and not out.known_divisions
    pieces = [out.get_partition(i).compute(scheduler="sync") for i in range(3)]
    seen = {}
    for i, p in enumerate(pieces):
        for key in p.k.astype(object).where(p.k.notna(), None).unique():
            assert seen.setdefault(key, i) == i, f"key {key!r} in two partitions"
    result = pd.concat(pieces).sort_values("i")
    pd.testing.assert_frame_equal(result, pdf.sort_values("i"))


def test_shuffle_keeps_input_order_within_keys():
    pdf = key_frame("skewed")
    out = dd.from_pandas(pdf, npartitions=5).shuffle("k").compute()
    for _, g in out.groupby("k"):
        assert g.i.is_monotonic_increasing


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_shuffle_under_schedulers(scheduler):
    pdf = key_frame("strings", n=80)
    out = dd.from_pandas(pdf, npartitions=3).shuffle("k", shuffle_method="disk")
    res = out.compute(scheduler=scheduler)
    pd.testing.assert_frame_equal(res.sort_values("i"), pdf)


def test_hash_agrees_across_dtypes():
    """Keys pandas calls equal go to the same partition whatever their dtype."""
    a = pd.DataFrame({"k": pd.array([1, 2, None], dtype="Int64")})
    b = pd.DataFrame({"k": [1.0, 2.0, np.nan]})
    c = pd.DataFrame({"k": pd.Categorical(["x", "y", None])})
    d = pd.DataFrame({"k": pd.array(["x", "y", None], dtype="str")})
    assert (hash_codes(a, ["k"], 7) == hash_codes(b, ["k"], 7)).all()
    assert (hash_codes(c, ["k"], 7) == hash_codes(d, ["k"], 7)).all()
    assert hash_codes(pd.DataFrame({"k": [-0.0]}), ["k"], 7)[0] == \
        hash_codes(pd.DataFrame({"k": [0.0]}), ["k"], 7)[0]



def test_hash_of_object_keys_mixing_bools_and_numbers():
    """pandas groups True, 1, 1.0 (and False, 0, -0.0) together in an object column:
    they must land in one partition, whatever the partition count."""
    from decimal import Decimal

    ones = [True, 1, 1.0, np.int64(1), np.True_, Decimal(1), complex(1, 0)]
    zeros = [False, 0, -0.0, np.float32(0), np.False_]
    k = pd.Series(ones + zeros + ["a", "1", None, 2], dtype=object)
    df = pd.DataFrame({"k": k, "x": range(len(k))})
    for n in (2, 3, 5, 16):
        codes = hash_codes(df, ["k"], n)
        assert len(set(codes[:len(ones)])) == 1 and len(set(codes[len(ones):12])) == 1
    mixed = pd.DataFrame({"k": pd.Series([True, 1, 1.0, "a", None, False, 0, 0.0] * 3,
                                         dtype=object), "x": range(24)})
    expected = mixed.groupby("k").x.sum()
    for scheduler in ("sync", "processes"):
        got = dd.from_pandas(mixed, npartitions=3).groupby("k").x.sum(split_out=3) \
            .compute(scheduler=scheduler)
        pd.testing.assert_series_equal(got.sort_values(), expected.sort_values(),
                                       check_index=False)
        assert sorted(map(str, got.index)) == sorted(map(str, expected.index))

def test_split_frame_pieces():
    pdf = pd.DataFrame({"k": [5, 1, 9, 1, None]})
    pieces = split_frame(RangePartitioner("k", (0, 3, 10)), pdf, 2)
    assert pieces[0].k.tolist() == [1.0, 1.0]
    assert pieces[1].k.tolist()[:2] == [5.0, 9.0] and np.isnan(pieces[1].k.iloc[2])
    assert split_frame(HashPartitioner(["k"]), pdf.iloc[:0], 3) == {}


def test_shuffle_bad_column():
    df = dd.from_pandas(key_frame("skewed"), npartitions=2)
    with pytest.raises(KeyError, match="no column"):
        df.shuffle("nope")


def test_unknown_method():
    df = dd.from_pandas(key_frame("skewed"), npartitions=2)
    with pytest.raises(ValueError, match="valid methods are 'tasks', 'disk'"):
        df.shuffle("k", shuffle_method="memory").compute()


def test_method_from_config():
    df = dd.from_pandas(key_frame("skewed"), npartitions=2)
    with plait.config.set({"dataframe.shuffle.method": "disk"}):
        graph = df.shuffle("k").__plait_graph__()
    assert any("shuffle-disk" in str(k) for k in graph)


def test_disk_refused_under_client():
    from plait.distributed import Client
    from plait.distributed.cluster import LocalCluster

    pdf = key_frame("nulls", n=60)
    df = dd.from_pandas(pdf, npartitions=3)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False) as cluster, \
            Client(cluster) as client:
        with pytest.raises(ValueError, match="shuffle_method='tasks'"):
            df.shuffle("k", shuffle_method="disk").compute()
        with pytest.raises(ValueError, match="cannot run on a distributed Client"):
            df.set_index("i", shuffle_method="disk").compute()
        # the automatic choice takes "tasks" there, and it works
        graph = df.shuffle("k").__plait_graph__()
        assert not any("shuffle-disk" in str(k) for k in graph)
        res = df.shuffle("k").compute(scheduler=client)
    pd.testing.assert_frame_equal(res.sort_values("i"), pdf)

"""plait.bag against plain Python, under every scheduler."""

import itertools
import math
import operator
import statistics
from collections import Counter

import pytest

import plait
import plait.bag as db
from plait.bag import Bag, Item

SCHEDULERS = ["sync", "threads", "processes"]
DATA = list(range(37))
RECORDS = [{"name": f"n{i % 7}", "age": 20 + (i * 7) % 40, "tags": ["x"] * (i % 3)}
           for i in range(50)]


def inc(x):
    return x + 1


def even(x):
    return x % 2 == 0


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


@pytest.mark.parametrize("npartitions", [1, 3, 37, 50])
def test_map_filter_sum(scheduler, npartitions):
    b = db.from_sequence(DATA, npartitions=npartitions)
    assert b.map(inc).filter(even).sum().compute(scheduler=scheduler) == sum(
        x + 1 for x in DATA if (x + 1) % 2 == 0)
    assert b.map(inc).compute(scheduler=scheduler) == [x + 1 for x in DATA]


def test_from_sequence_partitioning():
    b = db.from_sequence(range(10), partition_size=3)
    assert b.npartitions == 4
    assert db.from_sequence(range(10), npartitions=3).npartitions == 3
    assert db.from_sequence([]).compute() == []
    with pytest.raises(ValueError, match="not both"):
        db.from_sequence(range(3), partition_size=1, npartitions=1)


def test_record_pipeline(scheduler):
    b = db.from_sequence(RECORDS, npartitions=4)
    got = (b.filter(lambda r: r["age"] > 30).pluck("name").frequencies(sort=True)
           .topk(3, key=1).compute(scheduler=scheduler))
    counts = Counter(r["name"] for r in RECORDS if r["age"] > 30)
    assert [c for _, c in got] == sorted(counts.values(), reverse=True)[:3]
    assert all(counts[name] == c for name, c in got)


def test_map_with_other_bags_items_and_delayed(scheduler):
    a = db.from_sequence(DATA, npartitions=4)
    total = a.sum()
    offset = plait.delayed(lambda: 100)()
    got = a.map(lambda x, y, t, o, k=0: x + y + t + o + k, a.map(inc), total, offset, k=1)
    s = sum(DATA)
    assert got.compute(scheduler=scheduler) == [x + x + 1 + s + 100 + 1 for x in DATA]


def test_mismatched_bags_error():
    with pytest.raises(ValueError, match="same number of partitions"):
        db.from_sequence(DATA, npartitions=2).map(operator.add, db.from_sequence(DATA, npartitions=3))


def test_starmap_pluck_flatten_remove(scheduler):
    pairs = [(i, i * 2) for i in range(10)]
    b = db.from_sequence(pairs, npartitions=3)
    assert b.starmap(operator.add).compute(scheduler=scheduler) == [x + y for x, y in pairs]
    assert b.pluck(1).compute(scheduler=scheduler) == [y for _, y in pairs]
    assert b.pluck([1, 0]).compute(scheduler=scheduler) == [(y, x) for x, y in pairs]
    assert b.flatten().compute(scheduler=scheduler) == [v for p in pairs for v in p]
    assert b.remove(lambda p: p[0] % 3 == 0).compute(scheduler=scheduler) == [
        p for p in pairs if p[0] % 3]
    r = db.from_sequence(RECORDS, npartitions=5)
    assert r.pluck("missing", "d").compute(scheduler=scheduler) == ["d"] * len(RECORDS)
    assert r.pluck("tags").flatten().count().compute(scheduler=scheduler) == sum(
        len(x["tags"]) for x in RECORDS)


def test_aggregations(scheduler):
    b = db.from_sequence(DATA, npartitions=5)
    got = plait.compute(b.count(), b.sum(), b.min(), b.max(), b.mean(), b.std(), b.var(ddof=1),
                        b.all(), b.any(), b.map(lambda x: x > 100).any(), scheduler=scheduler)
    assert got == (len(DATA), sum(DATA), min(DATA), max(DATA), statistics.fmean(DATA),
                   pytest.approx(statistics.pstdev(DATA)), pytest.approx(statistics.variance(DATA)),
                   all(DATA), any(DATA), False)


def test_var_is_numerically_stable():
    data = [1e9 + x for x in (4, 7, 13, 16)]
    b = db.from_sequence(data, npartitions=3)
    assert b.var().compute(scheduler="sync") == pytest.approx(statistics.pvariance(data))


def test_empty_partitions_and_min_max_with_none_items(scheduler):
    b = db.from_sequence(DATA, npartitions=8).filter(lambda x: x > 33)
    assert b.min().compute(scheduler=scheduler) == 34
    assert b.max().compute(scheduler=scheduler) == 36
    assert b.fold(operator.add).compute(scheduler=scheduler) == 34 + 35 + 36
    with pytest.raises(ValueError, match="empty"):
        db.from_sequence(DATA).filter(lambda x: False).max().compute(scheduler="sync")


def test_fold_and_reduction(scheduler):
    b = db.from_sequence(DATA, npartitions=6)
    assert b.fold(operator.add, initial=0).compute(scheduler=scheduler) == sum(DATA)
    assert b.fold(lambda acc, x: acc + [x], lambda a, c: a + c, initial=[]).compute(
        scheduler=scheduler) == DATA
    assert b.reduction(len, sum, split_every=2).compute(scheduler=scheduler) == len(DATA)
    assert b.reduction(max, max).compute(scheduler=scheduler) == max(DATA)
    with pytest.raises(ValueError, match="split_every"):
        b.reduction(len, sum, split_every=1)


def test_foldby(scheduler):
    b = db.from_sequence(RECORDS, npartitions=7)
    got = b.foldby("name", lambda acc, r: acc + r["age"], 0, operator.add, 0).compute(
        scheduler=scheduler)
    expect = {}
    for r in RECORDS:
        expect[r["name"]] = expect.get(r["name"], 0) + r["age"]
    assert dict(got) == expect and len(got) == len(expect)
    got2 = db.from_sequence(DATA, npartitions=9).foldby(lambda x: x % 3, max).compute(
        scheduler=scheduler)
    assert dict(got2) == {k: max(x for x in DATA if x % 3 == k) for k in range(3)}


def test_frequencies_topk_distinct(scheduler):
    words = "the cat and the hat and the bat".split() * 3
    b = db.from_sequence(words, npartitions=4)
    assert dict(b.frequencies().compute(scheduler=scheduler)) == Counter(words)
    top = b.frequencies(sort=True).compute(scheduler=scheduler)
    assert top[0] == ("the", 9)
    assert b.distinct().compute(scheduler=scheduler) == list(dict.fromkeys(words))
    first_by_len = {}
    for w in words:
        first_by_len.setdefault(len(w), w)
    assert b.distinct(key=len).compute(scheduler=scheduler) == list(first_by_len.values())
    n = db.from_sequence(DATA, npartitions=4)
    assert n.topk(4).compute(scheduler=scheduler) == sorted(DATA, reverse=True)[:4]
    assert n.topk(2, key=lambda x: -x).compute(scheduler=scheduler) == [0, 1]


def test_accumulate(scheduler):
    b = db.from_sequence(DATA, npartitions=5)
    assert b.accumulate(operator.add).compute(scheduler=scheduler) == list(
        itertools.accumulate(DATA))
    assert b.accumulate(operator.add, initial=10).compute(scheduler=scheduler) == list(
        itertools.accumulate(DATA, initial=10))[1:]


def test_product_join_zip_concat_range(scheduler):
    a = db.from_sequence([1, 2, 3], npartitions=2)
    c = db.from_sequence("xy", npartitions=2)
    assert sorted(a.product(c).compute(scheduler=scheduler)) == list(
        itertools.product([1, 2, 3], "xy"))
    assert a.join([2, 3, 3, 4], lambda x: x).compute(scheduler=scheduler) == [(2, 2), (3, 3), (3, 3)]
    assert db.zip(a, a.map(str)).compute(scheduler=scheduler) == [(1, "1"), (2, "2"), (3, "3")]
    assert db.concat([a, c]).compute(scheduler=scheduler) == [1, 2, 3, "x", "y"]
    assert db.range(10, npartitions=3).compute(scheduler=scheduler) == list(range(10))


def test_random_sample_is_reproducible_across_schedulers():
    b = db.from_sequence(range(1000), npartitions=7)
    runs = [b.random_sample(0.2, random_state=3).compute(scheduler=s) for s in SCHEDULERS]
    assert runs[0] == runs[1] == runs[2]
    assert 100 < len(runs[0]) < 300 and set(runs[0]) <= set(range(1000))
    with pytest.raises(ValueError):
        b.random_sample(1.5)


@pytest.mark.parametrize("n", [1, 2, 5, 11, 40])
def test_repartition_keeps_order(n):
    b = db.from_sequence(DATA, npartitions=6)
    r = b.repartition(npartitions=n)
    assert r.npartitions == n and r.compute(scheduler="sync") == DATA
    s = b.repartition(partition_size=200)
    assert s.compute(scheduler="sync") == DATA and s.npartitions >= 1


def test_take():
    calls = []

    def record(x):
        calls.append(x)
        return x

    b = db.from_sequence(range(20), npartitions=5).map(record)
    with plait.config.set(scheduler="sync"):
        assert b.take(3) == (0, 1, 2)
    assert calls == [0, 1, 2]  # only the first partition ran, and only as far as needed
    with pytest.warns(UserWarning, match="npartitions=-1"):
        assert b.take(6) == (0, 1, 2, 3)
    assert b.take(6, npartitions=-1) == tuple(range(6))
    assert isinstance(b.take(2, compute=False), Bag)


def test_from_delayed_and_to_delayed(scheduler):
    parts = [plait.delayed(list)(range(i, i + 3)) for i in (0, 3, 6)]
    b = db.from_delayed(parts)
    assert b.npartitions == 3 and b.compute(scheduler=scheduler) == list(range(9))
    ds = b.map(inc).to_delayed()
    assert [d.compute(scheduler=scheduler) for d in ds] == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    assert b.sum().to_delayed().compute() == 36


def test_item_apply_and_compute_together(scheduler):
    b = db.from_sequence(DATA, npartitions=3)
    s = b.sum()
    assert isinstance(s, Item)
    assert s.apply(math.sqrt).compute(scheduler=scheduler) == math.sqrt(sum(DATA))
    assert plait.compute(b, s, scheduler=scheduler) == (DATA, sum(DATA))


def test_one_mapped_bag_feeding_two_aggregations(scheduler):
    """A partition with several consumers is materialised: nobody sees it empty."""
    b = db.from_sequence(DATA, npartitions=4).map(inc)
    assert plait.compute(b.sum(), b.count(), b.max(), scheduler=scheduler) == (
        sum(DATA) + len(DATA), len(DATA), max(DATA) + 1)


def test_chains_stream_inside_one_task():
    """After optimisation, map->filter->sum of a partition is one fused task."""
    b = db.from_sequence(DATA, npartitions=4).map(inc).filter(even).map(inc)
    total = b.sum()
    (opt,) = plait.optimize(total)
    graph = opt.dask
    assert len(graph) < len(total.dask)
    assert total.compute(scheduler="sync") == sum(x + 2 for x in DATA if (x + 1) % 2 == 0)


def test_streaming_consumes_iterators_lazily():
    seen = []

    def gen_part(n):
        for i in range(n):
            seen.append(i)
            yield i

    b = db.range(1, npartitions=1).map_partitions(lambda p: gen_part(5)).map(inc)
    total = b.sum()
    assert total.compute(scheduler="sync") == 15
    assert seen == [0, 1, 2, 3, 4]


def test_bag_default_scheduler_is_processes():
    import os

    pids = db.from_sequence(range(4), npartitions=2).map(lambda x: os.getpid()).compute()
    assert os.getpid() not in pids


def test_len_and_bool_errors():
    b = db.from_sequence(DATA)
    with pytest.raises(TypeError, match="count"):
        len(b)
    with pytest.raises(TypeError):
        bool(b.sum())
    with pytest.raises(TypeError, match="bags"):
        b.map(operator.add, 1).join(b, lambda x: x)


def test_persist(scheduler):
    b = db.from_sequence(DATA, npartitions=3).map(inc)
    p = b.persist(scheduler=scheduler)
    assert p.npartitions == 3 and p.compute(scheduler="sync") == [x + 1 for x in DATA]

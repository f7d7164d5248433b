"""Bag.groupby against plain Python, for both shuffle methods, under every scheduler."""

import itertools
import os
import subprocess
import sys

import pytest

import plait
import plait.bag as db
from plait.bag import Bag

SCHEDULERS = ["sync", "threads", "processes"]
METHODS = ["tasks", "disk"]
WORDS = ["apple", "banana", "cherry", "date", "elder", "fig", "grape"]
RECORDS = [{"name": WORDS[(i * 5) % 7], "n": i} for i in range(60)]


def mod7(x):
    return x % 7


def first_letter(w):
    return w[0]


def pair_key(t):
    return (t[0] % 3, WORDS[t[1] % 4])


def reference(items, key):
    """{key: [items]} in plain Python, items in their original order."""
    out: dict = {}
    for x in items:
        out.setdefault(key(x), []).append(x)
    return out


def by_itertools(items, key):
    """The same through itertools.groupby over data sorted by key (a stable sort)."""
    return {k: list(g) for k, g in itertools.groupby(sorted(items, key=key), key=key)}


def check(result, items, key):
    keys = [k for k, _ in result]
    assert len(keys) == len(set(keys)), "a key came out twice"
    assert dict(result) == reference(items, key) == by_itertools(items, key)
    assert all(isinstance(r, tuple) and isinstance(r[1], list) for r in result)


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


@pytest.fixture(params=METHODS)
def method(request, tmp_path):
    with plait.config.set({"temporary-directory": str(tmp_path)}):
        yield request.param
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("npartitions", [1, 4, 13])
def test_int_keys(scheduler, method, npartitions):
    data = [(i * 7919) % 211 for i in range(300)]
    b = db.from_sequence(data, npartitions=npartitions)
    g = b.groupby(mod7, method=method)
    assert g.npartitions == npartitions
    check(g.compute(scheduler=scheduler), data, mod7)


def test_string_keys(scheduler, method):
    data = [w * (i % 3 + 1) for i, w in enumerate(WORDS * 9)]
    b = db.from_sequence(data, npartitions=5)
    check(b.groupby(first_letter, shuffle=method).compute(scheduler=scheduler), data,
          first_letter)


def test_tuple_keys(scheduler, method):
    data = [(i, i * 3) for i in range(120)]
    b = db.from_sequence(data, npartitions=6)
    check(b.groupby(pair_key, method=method, npartitions=4).compute(scheduler=scheduler),
          data, pair_key)


def test_many_partitions_take_the_staged_path(scheduler, method):
    data = list(range(500))
    b = db.from_sequence(data, npartitions=50)
    assert b.npartitions == 50
    g = b.groupby(mod7, method=method)
    if method == "tasks":  # 50 x 50 pieces is above max_branch**2 = 1024
        assert any(isinstance(k, tuple) and k[0].startswith("shuffle-join-")
                   for k in g.dask)
    check(g.compute(scheduler=scheduler), data, mod7)


def test_empty_partitions(scheduler, method):
    data = list(range(40))
    b = db.from_sequence(data, npartitions=8).filter(lambda x: x < 10 or x > 33)
    kept = [x for x in data if x < 10 or x > 33]
    check(b.groupby(lambda x: x % 4, method=method, npartitions=6)
          .compute(scheduler=scheduler), kept, lambda x: x % 4)
    empty = db.from_sequence([], npartitions=1)
    assert empty.groupby(mod7, method=method).compute(scheduler=scheduler) == []


def test_grouper_as_index_or_key(method):
    records = db.from_sequence(RECORDS, npartitions=4)
    check(records.groupby("name", method=method).compute(scheduler="sync"), RECORDS,
          lambda r: r["name"])
    rows = [(r["name"], r["n"] % 2, r["n"]) for r in RECORDS]
    b = db.from_sequence(rows, npartitions=3)
    check(b.groupby(0, method=method).compute(scheduler="sync"), rows, lambda r: r[0])
    check(b.groupby([0, 1], method=method).compute(scheduler="processes"), rows,
          lambda r: (r[0], r[1]))


def test_equal_keys_of_different_types_are_one_group(method):
    data = [1, 1.0, True, 2, 2.0, 3]
    b = db.from_sequence(data, npartitions=3)
    got = b.groupby(lambda x: x, method=method, npartitions=2).compute(scheduler="sync")
    assert dict(got) == reference(data, lambda x: x)
    assert sorted(len(v) for _, v in got) == [1, 2, 3]


def test_groups_feed_further_steps(scheduler, method):
    data = list(range(100))
    b = db.from_sequence(data, npartitions=5).map(lambda x: x * 3)
    sums = b.groupby(mod7, method=method).map(lambda kv: (kv[0], sum(kv[1])))
    assert dict(sums.compute(scheduler=scheduler)) == {
        k: sum(v) for k, v in reference([x * 3 for x in data], mod7).items()}
    keys = b.groupby(mod7, method=method, npartitions=2).pluck(0)
    assert sorted(keys.compute(scheduler=scheduler)) == list(range(7))


def test_every_key_in_one_partition_only():
    data = [(i * 31) % 97 for i in range(400)]
    b = db.from_sequence(data, npartitions=9)
    for method in METHODS:
        parts = [d.compute(scheduler="sync") for d in b.groupby(mod7, method=method,
                                                               npartitions=3).to_delayed()]
        assert len(parts) == 3
        seen = [k for part in parts for k, _ in part]
        assert sorted(seen) == sorted(set(seen)) == sorted(set(x % 7 for x in data))


def test_method_spellings_and_errors():
    b = db.from_sequence(range(10), npartitions=2)
    assert isinstance(b.groupby(mod7), Bag)
    with pytest.raises(ValueError, match="'tasks', 'disk'"):
        b.groupby(mod7, method="nope")
    # shuffle= wins over method=
    assert b.groupby(mod7, method="nope", shuffle="tasks").npartitions == 2
    with pytest.raises(ValueError, match="npartitions"):
        b.groupby(mod7, npartitions=0)
    with plait.config.set({"shuffle": "disk"}):
        g = b.groupby(mod7)
    assert any("shuffle-disk-" in (k[0] if isinstance(k, tuple) else k) for k in g.dask)
    assert dict(g.compute(scheduler="sync")) == reference(range(10), mod7)
    with plait.config.set({"shuffle": "tasks"}):
        g = b.groupby(mod7, blocksize=1024, max_branch=2)
    assert not any("shuffle-disk-" in (k[0] if isinstance(k, tuple) else k) for k in g.dask)
    assert dict(g.compute(scheduler="sync")) == reference(range(10), mod7)


def test_keys_go_to_the_same_partition_in_every_process():
    # Worker processes may have other str hash salts than the caller (spawn start
    # method, remote workers): the partition of a key must not depend on it.
    from plait.bag.groupby import _split_groups

    code = ("from plait.bag.groupby import _split_groups\n"
            f"p = _split_groups({WORDS!r}, 5, key=str)\n"
            "print(sorted((i, [k for k, _ in piece]) for i, piece in p.items()))")
    mine = sorted((i, [k for k, _ in piece])
                  for i, piece in _split_groups(WORDS, 5, key=str).items())
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=dict(os.environ, PYTHONHASHSEED=seed), check=True,
                             timeout=60).stdout
        assert eval(out) == mine

"""Bag.str against the same str methods applied in plain Python."""

from __future__ import annotations

import fnmatch
import pickle
import re

import pytest

import plait.bag as db
from plait import delayed
from plait.bag.strings import StringAccessor

SCHEDULERS = ["sync", "threads", "processes"]

WORDS = ["  Alice,Smith ", "bob,brown", "Charlie ADAMS", "", "a,b,c,d", "alpha\tbeta\n",
         "ünïcödé Straße", "42", "x.y.z"]

CASES = [
    ("lower", (), {}),
    ("upper", (), {}),
    ("strip", (), {}),
    ("lstrip", (" A",), {}),
    ("rstrip", ("\n",), {}),
    ("split", (), {}),
    ("split", (",",), {}),
    ("split", (), {"sep": ",", "maxsplit": 1}),
    ("rsplit", (",", 1), {}),
    ("startswith", ("a",), {}),
    ("startswith", (("a", "b"),), {}),
    ("endswith", ("s",), {}),
    ("replace", (",", ";"), {}),
    ("replace", ("a", "A", 1), {}),
    ("count", ("a",), {}),
    ("find", (",",), {}),
    ("zfill", (5,), {}),
    ("center", (20, "*"), {}),
    ("casefold", (), {}),
    ("title", (), {}),
    ("isdigit", (), {}),
    ("partition", (",",), {}),
    ("join", ("<>",), {}),  # item.join("<>"): the item between "<" and ">"
    ("encode", ("utf-8",), {}),
    ("format", (), {}),
]


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


@pytest.mark.parametrize("method, args, kwargs", CASES, ids=[c[0] for c in CASES])
def test_str_method_matches_python(method, args, kwargs):
    b = db.from_sequence(WORDS, npartitions=4)
    got = getattr(b.str, method)(*args, **kwargs).compute(scheduler="sync")
    assert got == [getattr(w, method)(*args, **kwargs) for w in WORDS]


def test_chain_under_each_scheduler(scheduler):
    b = db.from_sequence(WORDS, npartitions=3)
    out = b.str.strip().str.lower().str.split(",").map(len)
    assert out.compute(scheduler=scheduler) == [len(w.strip().lower().split(",")) for w in WORDS]
    flags = b.str.startswith("a").compute(scheduler=scheduler)
    assert flags == [w.startswith("a") for w in WORDS]


def test_methods_stay_lazy_and_named():
    b = db.from_sequence(WORDS, npartitions=3)
    out = b.str.upper()
    assert isinstance(out, db.Bag) and out.npartitions == 3
    assert out.name.startswith("str-upper-")
    assert b.str.upper.__name__ == "upper"
    assert b.str.upper.__doc__ == str.upper.__doc__


def test_delayed_argument(scheduler):
    b = db.from_sequence(["ab", "ba", "aa"], npartitions=2)
    prefix = delayed(str.lower)("A")
    assert b.str.startswith(prefix).compute(scheduler=scheduler) == [True, False, True]


@pytest.mark.parametrize("pattern", ["a*", "*s*", "?ob*", "[abc]*", "*", "nothing", "x.y.*"])
def test_match_is_fnmatch_filter(pattern, scheduler):
    b = db.from_sequence(WORDS, npartitions=4)
    expected = [w for w in WORDS if fnmatch.fnmatch(w, pattern)]
    assert b.str.match(pattern).compute(scheduler=scheduler) == expected


def test_match_is_case_sensitive():
    b = db.from_sequence(["Alice", "alice"])
    assert b.str.match("a*").compute(scheduler="sync") == ["alice"]


def test_dir_lists_str_methods():
    names = dir(db.from_sequence(["a"]).str)
    public_str = {n for n in dir(str) if not n.startswith("_")}
    assert public_str <= set(names)
    assert "match" in names


@pytest.mark.parametrize("name", ["not_a_method", "lowercase", "__len__", "_bag_x"])
def test_unknown_names_raise_attribute_error(name):
    acc = db.from_sequence(["a"]).str
    with pytest.raises(AttributeError, match=re.escape(repr(name))):
        getattr(acc, name)
    assert not hasattr(acc, name)


def test_accessor_pickles_and_reprs():
    b = db.from_sequence(["Ab"], npartitions=1)
    acc = pickle.loads(pickle.dumps(b.str))
    assert isinstance(acc, StringAccessor)
    assert acc.lower().compute(scheduler="sync") == ["ab"]
    assert "StringAccessor" in repr(b.str)


def test_non_string_items_raise_at_compute():
    b = db.from_sequence([1, 2])
    out = b.str.lower()  # building is fine: items are only known when computed
    with pytest.raises(AttributeError, match="lower"):
        out.compute(scheduler="sync")

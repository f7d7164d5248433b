"""CacheProfiler: one entry per result, measured with the metric, with hold times."""

import sys
import warnings
from operator import add

import pytest

from plait.diagnostics import CacheProfiler
from plait.diagnostics.cache import CacheData
from plait.graph import convert_graph
from plait.local import execute


def make_list(n):
    return list(range(n))


def graph():
    return convert_graph({
        "a": (make_list, 3),
        "b": (make_list, 5),
        "c": (add, "a", "b"),
        "d": (sorted, "c"),
        "e": (len, "d"),
    })


def test_metric_len_measures_lists_and_times_follow_the_release_of_values():
    with CacheProfiler(metric=len) as cprof:
        out = execute(graph(), ["d"], "sync")
    assert out["d"] == [0, 0, 1, 1, 2, 2, 3, 4]
    by_key = {r.key: r for r in cprof.results}
    assert sorted(by_key) == ["a", "b", "c", "d"]
    assert {k: r.metric for k, r in by_key.items()} == {"a": 3, "b": 5, "c": 8, "d": 8}
    assert cprof._metric_name == "len"
    for r in cprof.results:
        assert isinstance(r, CacheData)
        assert r.cache_time <= r.free_time
    # a and b are freed when c (their last dependent) finishes; c when d finishes
    assert by_key["a"].free_time == by_key["b"].free_time == by_key["c"].cache_time
    assert by_key["c"].free_time == by_key["d"].cache_time
    # the output is held to the end of the compute
    assert by_key["d"].free_time == cprof.end_time
    assert "add(" in by_key["c"].task


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_default_metric_counts_every_result(scheduler):
    dsk = graph()
    with CacheProfiler() as cprof:
        execute(dsk, ["e"], scheduler, num_workers=2)
    assert sorted(r.key for r in cprof.results) == sorted(dsk)
    assert {r.metric for r in cprof.results} == {1}
    assert cprof._metric_name == "count"


def test_several_computes_accumulate_and_metric_name_defaults_to_the_function():
    with CacheProfiler(metric=sys.getsizeof) as cprof:
        execute(graph(), ["d"], "threads", num_workers=2)
        execute(graph(), ["a"], "sync")
    assert len(cprof.results) == 5
    assert cprof._metric_name == "getsizeof"
    assert all(r.metric > 0 for r in cprof.results)
    assert CacheProfiler(metric=len, metric_name="items")._metric_name == "items"


def test_a_metric_that_fails_leaves_the_value_out_with_one_warning():
    with CacheProfiler(metric=len) as cprof:
        with pytest.warns(RuntimeWarning, match=r"metric 'len' failed on 1 result.*'e'"):
            out = execute(graph(), ["e"], "sync")
    assert out["e"] == 8
    assert sorted(r.key for r in cprof.results) == ["a", "b", "c", "d"]


def test_sizeof_metric_when_available():
    sizeof = pytest.importorskip("plait.sizeof").sizeof
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with CacheProfiler(metric=sizeof) as cprof:
            execute(graph(), ["d"], "sync")
    assert all(r.metric > 0 for r in cprof.results)

"""set_index and sort_values against pandas' stable sorts."""

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd
from plait.dataframe.sorting import fast_order, quantile_divisions

from .keydata import key_frame, partitioned

SORTABLE = ["skewed", "all-equal", "nulls", "strings"]


def _divisions_hold(result: pd.DataFrame, df) -> None:
    """Every partition's non-missing index lies within its divisions."""
    d = df.divisions
    for i in range(df.npartitions):
        idx = df.get_partition(i).compute(scheduler="sync").index.dropna()
        if len(idx):
            assert idx.min() >= d[i] and idx.max() <= d[i + 1]


@pytest.mark.parametrize("kind", SORTABLE)
@pytest.mark.parametrize("method", ["tasks", "disk"])
@pytest.mark.parametrize("parts", ["four", "empty-parts"])
def test_set_index(kind, method, parts):
    pdf = key_frame(kind)
    out = partitioned(pdf, parts).set_index("k", shuffle_method=method)
    assert out.known_divisions
    expected = pdf.set_index("k").sort_index(kind="stable", na_position="last")
    pd.testing.assert_frame_equal(out.compute(scheduler="sync"), expected)
    _divisions_hold(expected, out)


def test_set_index_all_equal_is_one_partition():
    out = dd.from_pandas(key_frame("all-equal"), npartitions=4).set_index("k")
    assert out.divisions == (7, 7)


def test_set_index_given_divisions_and_npartitions():
    pdf = key_frame("skewed")
    df = dd.from_pandas(pdf, npartitions=3)
    out = df.set_index("k", divisions=(0, 3, 4, 39))
    assert out.divisions == (0, 3, 4, 39)
    pd.testing.assert_frame_equal(out.compute(), pdf.set_index("k").sort_index(kind="stable"))
    out = df.set_index("i", npartitions=6)
    assert out.npartitions == 6
    pd.testing.assert_frame_equal(out.compute(), pdf.set_index("i"))


def test_set_index_sorted():
    pdf = key_frame("skewed").sort_values("i")
    df = dd.from_pandas(pdf, npartitions=3)
    out = df.set_index("i", sorted=True)
    assert out.divisions == (0, 40, 80, 119)
    # nothing moves: no shuffle tasks in the graph
    assert not any("shuffle" in str(k) for k in out.__plait_graph__())
    pd.testing.assert_frame_equal(out.compute(), pdf.set_index("i"))
    out = df.set_index("i", sorted=True, divisions=(0, 40, 80, 119))
    pd.testing.assert_frame_equal(out.loc[50:60].compute(), pdf.set_index("i").loc[50:60])


def test_set_index_loc_after():
    pdf = key_frame("nulls")
    out = dd.from_pandas(pdf, npartitions=4).set_index("i")
    pd.testing.assert_frame_equal(out.loc[10:20].compute(), pdf.set_index("i").loc[10:20])


def test_set_index_series_and_errors():
    pdf = key_frame("skewed")
    df = dd.from_pandas(pdf, npartitions=3)
    out = df.set_index(df.i * 2)
    assert out.compute().index.tolist() == sorted((pdf.i * 2).tolist())
    with pytest.raises(KeyError, match="no column 'zz'"):
        df.set_index("zz")
    # a categorical key sorts by category order, as in pandas
    cat = key_frame("categorical")
    cat["k"] = cat.k.cat.reorder_categories(["d", "e", "b", "a", "c"])
    out = dd.from_pandas(cat, npartitions=3).set_index("k")
    assert not out.known_divisions  # category order is not the values' order
    pd.testing.assert_frame_equal(out.compute(), cat.set_index("k").sort_index(kind="stable"))
    out = dd.from_pandas(cat, npartitions=3).sort_values("k", ascending=False)
    pd.testing.assert_frame_equal(out.compute(scheduler="processes"),
                                  cat.sort_values("k", ascending=False, kind="stable"))
    lexical = dd.from_pandas(key_frame("categorical"), npartitions=3).set_index("k")
    assert lexical.known_divisions


@pytest.mark.parametrize("kind", SORTABLE)
@pytest.mark.parametrize("ascending", [True, False])
@pytest.mark.parametrize("na_position", ["last", "first"])
def test_sort_values_one_column(kind, ascending, na_position):
    pdf = key_frame(kind)
    out = partitioned(pdf, "empty-parts").sort_values("k", ascending=ascending,
                                                      na_position=na_position)
    expected = pdf.sort_values("k", ascending=ascending, na_position=na_position, kind="stable")
    pd.testing.assert_frame_equal(out.compute(scheduler="sync"), expected)


@pytest.mark.parametrize("method", ["tasks", "disk"])
def test_sort_values_several_columns(method):
    pdf = key_frame("strings")
    pdf["j"] = pdf.i % 4
    for asc in ([True, False, True], [False, True, False], True):
        out = dd.from_pandas(pdf, npartitions=4).sort_values(["j", "k", "x"], ascending=asc,
                                                             shuffle_method=method)
        pd.testing.assert_frame_equal(out.compute(scheduler="sync"),
                                      pdf.sort_values(["j", "k", "x"], ascending=asc, kind="stable"))


def test_sort_values_series_and_npartitions():
    pdf = key_frame("nulls")
    s = dd.from_pandas(pdf, npartitions=3).x
    pd.testing.assert_series_equal(s.sort_values(ascending=False).compute(),
                                   pdf.x.sort_values(ascending=False, kind="stable"))
    out = dd.from_pandas(pdf, npartitions=3).sort_values("x", npartitions=5)
    assert out.npartitions == 5
    with pytest.raises(ValueError, match="one per column"):
        dd.from_pandas(pdf, npartitions=3).sort_values(["x", "k"], ascending=[True])


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_sorting_under_schedulers(scheduler):
    pdf = key_frame("strings", n=90)
    df = dd.from_pandas(pdf, npartitions=3)
    pd.testing.assert_frame_equal(df.set_index("i").compute(scheduler=scheduler),
                                  pdf.set_index("i"))
    pd.testing.assert_frame_equal(df.sort_values("x").compute(scheduler=scheduler),
                                  pdf.sort_values("x", kind="stable"))


def test_quantile_divisions_weights():
    s = pd.DataFrame({"value": [0, 10, 20, 30], "weight": [1.0, 1.0, 1.0, 5.0]})
    assert quantile_divisions(s, 2) == (0, 30)
    s = pd.DataFrame({"value": np.arange(100), "weight": np.ones(100)})
    assert quantile_divisions(s, 4) == (0, 25, 50, 75, 99)


@pytest.mark.parametrize("case", ["few-ties", "many-ties", "datetime-nat", "bool", "float"])
def test_fast_order_is_the_stable_order(case):
    # the quicksort path must give exactly NumPy's stable order, however many ties
    rng = np.random.default_rng(7)
    n = 5000
    if case == "few-ties":
        v = rng.integers(0, 1 << 40, n)
        v[rng.integers(0, n, 30)] = v[rng.integers(0, n, 30)]  # a few repeated ids
    elif case == "many-ties":
        v = rng.integers(0, 20, n)
    elif case == "datetime-nat":
        v = rng.integers(0, 1 << 40, n).astype("datetime64[ns]")
        v[rng.integers(0, n, 40)] = np.datetime64("NaT")
        v[rng.integers(0, n, 40)] = v[0]
    elif case == "bool":
        v = rng.random(n) < 0.5
    else:
        v = rng.integers(0, 1000, n) / 4.0
    order = fast_order(v)
    np.testing.assert_array_equal(order, np.argsort(v, kind="stable"))


def test_fast_order_declines_nan_and_objects():
    assert fast_order(np.array([1.0, np.nan])) is None
    assert fast_order(np.array(["b", "a"], dtype=object)) is None


def test_set_index_random_ids_with_repeats_keeps_row_order():
    # random 40-bit ids with a few repeats: rows sharing an id stay in input order
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 1 << 40, 3000)
    ids[rng.integers(0, 3000, 50)] = ids[rng.integers(0, 3000, 50)]
    pdf = pd.DataFrame({"id": ids, "v": np.arange(3000)})
    got = dd.from_pandas(pdf, npartitions=4).set_index("id").compute()
    pd.testing.assert_frame_equal(got, pdf.set_index("id").sort_index(kind="stable"))


def test_set_index_unknown_keyword_is_named():
    # the `sorted=` parameter must not hide the builtin used by the error message
    df = dd.from_pandas(pd.DataFrame({"a": [2, 1]}), npartitions=1)
    with pytest.raises(TypeError, match=r"unexpected arguments \['sort'\]"):
        df.set_index("a", sort=False)

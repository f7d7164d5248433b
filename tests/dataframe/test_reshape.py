"""drop_duplicates, melt, get_dummies, pivot_table, concat and isin with a large
list, against pandas."""

import pickle

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd

from .keydata import KEY_KINDS, key_frame, partitioned


@pytest.mark.parametrize("kind", KEY_KINDS)
@pytest.mark.parametrize("keep", ["first", "last", False])
def test_drop_duplicates(kind, keep):
    pdf = key_frame(kind)
    pdf["j"] = pdf.i % 3
    out = partitioned(pdf, "empty-parts").drop_duplicates(subset=["k", "j"], keep=keep)
    pd.testing.assert_frame_equal(out.compute(scheduler="sync").sort_values("i"),
                                  pdf.drop_duplicates(["k", "j"], keep=keep))


def test_drop_duplicates_whole_rows_series_and_split_out():
    pdf = pd.DataFrame({"a": [1, 2, 1, 2, 3] * 8, "b": list("xyxyz") * 8})
    df = dd.from_pandas(pdf, npartitions=4)
    pd.testing.assert_frame_equal(df.drop_duplicates().compute().sort_index(),
                                  pdf.drop_duplicates())
    out = df.drop_duplicates(split_out=1)
    assert out.npartitions == 1
    pd.testing.assert_frame_equal(out.compute().sort_index(), pdf.drop_duplicates())
    pd.testing.assert_series_equal(df.b.drop_duplicates().compute().sort_index(),
                                   pdf.b.drop_duplicates())
    with pytest.raises(KeyError, match="no column"):
        df.drop_duplicates(subset="zz")


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_drop_duplicates_under_schedulers(scheduler):
    pdf = key_frame("strings", n=80)
    out = dd.from_pandas(pdf, npartitions=3).drop_duplicates("k", shuffle_method="disk")
    pd.testing.assert_frame_equal(out.compute(scheduler=scheduler).sort_values("i"),
                                  pdf.drop_duplicates("k"))


def test_melt():
    pdf = key_frame("strings", n=20)
    df = dd.from_pandas(pdf, npartitions=3)
    out = dd.melt(df, id_vars=["k"], value_vars=["x", "i"], var_name="col")
    expected = pd.melt(pdf, id_vars=["k"], value_vars=["x", "i"], var_name="col")
    res = out.compute()
    assert list(res.columns) == list(expected.columns)
    key = ["col", "k", "value"]
    pd.testing.assert_frame_equal(res.sort_values(key).reset_index(drop=True),
                                  expected.sort_values(key).reset_index(drop=True))
    pd.testing.assert_frame_equal(df.melt(id_vars="k").compute().reset_index(drop=True)
                                  .sort_values(["variable", "k", "value"]).reset_index(drop=True),
                                  pdf.melt(id_vars="k").sort_values(["variable", "k", "value"])
                                  .reset_index(drop=True))


def test_get_dummies():
    pdf = key_frame("categorical", n=30)
    df = partitioned(pdf, "empty-parts")
    pd.testing.assert_frame_equal(dd.get_dummies(df).compute(), pd.get_dummies(pdf))
    pd.testing.assert_frame_equal(dd.get_dummies(df.k, prefix="p", dtype=int).compute(),
                                  pd.get_dummies(pdf.k, prefix="p", dtype=int))
    # every category gets a column, even one no partition holds ("e")
    assert "k_e" in dd.get_dummies(df).columns
    with pytest.raises(NotImplementedError, match="categorize"):
        dd.get_dummies(dd.from_pandas(key_frame("strings"), npartitions=2), columns=["k"])


@pytest.mark.parametrize("aggfunc", ["mean", "sum", "count", "first", "last"])
def test_pivot_table(aggfunc):
    pdf = key_frame("skewed", n=200)
    pdf["c"] = pd.Categorical(np.where(pdf.i % 3 == 0, "u", np.where(pdf.i % 3 == 1, "v", "w")),
                              categories=["u", "v", "w", "z"])
    pdf.loc[::11, "x"] = np.nan
    out = dd.from_pandas(pdf, npartitions=4).pivot_table(index="k", columns="c", values="x",
                                                         aggfunc=aggfunc)
    expected = pdf.pivot_table(index="k", columns="c", values="x", aggfunc=aggfunc,
                               observed=False)
    # every category is a column (the columns are known before computing, as in Dask);
    # pandas drops the all-missing ones of an unobserved category for mean/first/last
    expected = expected.reindex(columns=pd.CategoricalIndex(pdf.c.cat.categories, name="c"))
    pd.testing.assert_frame_equal(out.compute(), expected, check_dtype=False,
                                  check_column_type=False)


def test_pivot_table_needs_categorical_columns():
    df = dd.from_pandas(key_frame("strings"), npartitions=2)
    with pytest.raises(ValueError, match="categorize"):
        dd.pivot_table(df, index="i", columns="k", values="x")


def test_concat_rows():
    pdf = key_frame("strings", n=60)
    a = dd.from_pandas(pdf.iloc[:20], npartitions=2)
    b = dd.from_pandas(pdf.iloc[20:], npartitions=3)
    out = dd.concat([a, b])
    assert out.known_divisions and out.npartitions == 5
    pd.testing.assert_frame_equal(out.compute(), pdf)
    # overlapping divisions: stacked with unknown divisions, or interleaved
    out = dd.concat([b, a])
    assert not out.known_divisions
    pd.testing.assert_frame_equal(out.compute(), pd.concat([pdf.iloc[20:], pdf.iloc[:20]]))
    out = dd.concat([b, a], interleave_partitions=True)
    assert out.known_divisions
    pd.testing.assert_frame_equal(out.compute(), pdf)


def test_concat_rows_different_columns_and_categoricals():
    p1 = pd.DataFrame({"x": [1, 2], "c": pd.Categorical(["a", "b"])})
    p2 = pd.DataFrame({"y": [0.5], "c": pd.Categorical(["z"])}, index=[5])
    out = dd.concat([dd.from_pandas(p1, npartitions=1), p2])
    expected = pd.concat([p1, p2])
    pd.testing.assert_frame_equal(out.compute(), expected, check_categorical=False)
    inner = dd.concat([dd.from_pandas(p1, npartitions=1), p2], join="inner")
    assert list(inner.columns) == ["c"]


def test_concat_columns_aligned():
    pdf = key_frame("nulls", n=40)
    a = dd.from_pandas(pdf[["k"]], npartitions=2)
    b = dd.from_pandas(pdf[["x", "i"]], npartitions=3)
    out = dd.concat([a, b], axis=1)
    pd.testing.assert_frame_equal(out.compute(), pdf)
    with pytest.raises(ValueError, match="cannot align"):
        dd.concat([a.reset_index(drop=True), b.reset_index(drop=True).repartition(npartitions=2)], axis=1)


@pytest.mark.parametrize("scheduler", ["sync", "processes"])
def test_isin_large_list(scheduler):
    pdf = key_frame("strings", n=200)
    values = [f"k{i}" for i in range(0, 100_000, 3)]
    df = dd.from_pandas(pdf, npartitions=4)
    out = df.k.isin(values)
    pd.testing.assert_series_equal(out.compute(scheduler=scheduler), pdf.k.isin(values))
    # the list is one node of the graph that the tasks depend on, not a copy per task
    from plait.graph import Data

    for obj in (out, df[df.k.isin(values)], df.isin(values), df.k.isin(pd.Series(values))):
        graph = obj.__plait_graph__()
        held = [k for k, node in graph.items() if isinstance(node, Data)
                and isinstance(node.value, list) and len(node.value) == len(values)]
        assert len(held) == 1
        users = [k for k, node in graph.items() if held[0] in node.dependencies]
        assert len(users) == 4  # one task per partition reads it
        assert len(pickle.dumps(graph)) < 2 * len(pickle.dumps(values))
    res = df[df.k.isin(values)].compute(scheduler=scheduler)
    pd.testing.assert_frame_equal(res, pdf[pdf.k.isin(values)])

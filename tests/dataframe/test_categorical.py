"""categorize() and known/unknown categories, against pandas' astype('category')."""

from __future__ import annotations

import pandas as pd
import pytest

import plait.dataframe as dd
from plait.dataframe.categorical import (
    UNKNOWN_CATEGORIES,
    clear_known_categories,
    has_known_categories,
)
from plait.dataframe.utils import assert_eq


def test_categorize_object_columns(ddf_pair):
    df, pdf = ddf_pair
    got = df.categorize()
    assert got.s.cat.known and got.c.cat.known
    expected = pdf.astype({"s": "category"})
    assert list(got.s.cat.categories) == list(expected.s.cat.categories)
    assert_eq(got, expected, check_divisions=False)


def test_categorize_columns_and_index(pdf):
    pdf = pdf.assign(k=pdf.s.fillna("none")).set_index("k")
    df = dd.from_pandas(pdf, npartitions=3, sort=False)
    got = df.categorize(columns=["s"], index=True)
    expected = pdf.astype({"s": "category"})
    expected.index = pd.CategoricalIndex(expected.index, name="k")
    assert_eq(got, expected, check_divisions=False)
    assert isinstance(got._meta.index, pd.CategoricalIndex)
    # index=None categorizes a string index too; index=False leaves it
    assert isinstance(df.categorize(columns=["s"])._meta.index, pd.CategoricalIndex)
    assert not isinstance(df.categorize(columns=["s"], index=False)._meta.index,
                          pd.CategoricalIndex)


def test_categorize_reads_the_data_once(pdf):
    reads = []

    def load(i):
        reads.append(i)
        return pdf.iloc[i * 10:(i + 1) * 10]

    df = dd.from_map(load, range(3), meta=pdf.iloc[:0])
    df.assign(u=df.s).categorize(columns=["s", "u"])
    assert sorted(reads) == [0, 1, 2]  # both columns' categories in one pass


def test_categorize_unknown_categories(pdf):
    df = dd.from_pandas(pdf, npartitions=3)
    unknown = df.assign(c=df.c.cat.as_unknown())
    assert not has_known_categories(unknown.c)
    got = unknown.categorize()
    assert has_known_categories(got.c)
    assert_eq(got, pdf.astype({"s": "category"}))


def test_categorize_noop_and_errors(pdf):
    df = dd.from_pandas(pdf[["x", "c"]], npartitions=2)
    assert df.categorize() is df  # nothing to do: no string or unknown columns
    with pytest.raises(KeyError, match="nope"):
        df.categorize(columns=["nope"])
    with pytest.raises(TypeError, match="DataFrame method"):
        from plait.dataframe.categorical import categorize
        categorize(df.x)


def test_known_category_helpers():
    meta = pd.DataFrame({"a": pd.Categorical(["x"]), "b": [1]}).iloc[:0]
    assert has_known_categories(meta.a)
    cleared = clear_known_categories(meta)
    assert not has_known_categories(cleared.a)
    assert list(cleared.a.cat.categories) == [UNKNOWN_CATEGORIES]
    with pytest.raises(TypeError, match="categorical"):
        has_known_categories(meta.b)


def test_categorize_under_schedulers(pdf, scheduler):
    df = dd.from_pandas(pdf, npartitions=3)
    assert_eq(df.categorize(scheduler=scheduler), pdf.astype({"s": "category"}),
              scheduler=scheduler)

"""Reductions against pandas: Series, column-wise, row-wise, custom tree reductions."""

import numpy as np
import pandas as pd
import pytest

import plait
import plait.dataframe as dd
from plait.dataframe.utils import assert_eq

SIMPLE = ["sum", "prod", "min", "max", "count", "mean", "var", "std", "sem"]


@pytest.mark.parametrize("name", SIMPLE)
def test_series_reductions(ddf_pair, name):
    df, pdf = ddf_pair
    for col in ["x", "y"]:
        assert_eq(getattr(df[col], name)(), getattr(pdf[col], name)())
    if name in ("var", "std", "sem"):
        assert_eq(getattr(df.y, name)(ddof=0), getattr(pdf.y, name)(ddof=0))
    if name not in ("prod", "count"):
        assert_eq(getattr(df.y, name)(skipna=False), getattr(pdf.y, name)(skipna=False))


@pytest.mark.parametrize("name", SIMPLE)
def test_frame_reductions_numeric(ddf_pair, name):
    df, pdf = ddf_pair
    # (prod of x overflows int64; pandas then returns the wrapped integer as a float)
    cols = ["y", "b"] if name == "prod" else ["x", "y", "b"]
    num, pnum = df[cols], pdf[cols]
    assert_eq(getattr(num, name)(), getattr(pnum, name)(), check_dtype=name != "count")
    if name != "prod":
        assert_eq(getattr(df, name)(numeric_only=True), getattr(pdf, name)(numeric_only=True))


@pytest.mark.parametrize("name", ["sum", "min", "max", "mean", "count", "prod", "std", "var"])
def test_axis1(ddf_pair, name):
    df, pdf = ddf_pair
    num, pnum = df[["x", "y"]], pdf[["x", "y"]]
    assert_eq(getattr(num, name)(axis=1), getattr(pnum, name)(axis=1))


def test_other_dtypes(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.s.min(), pdf.s.min())
    assert_eq(df.s.max(), pdf.s.max())
    assert_eq(df.s.count(), pdf.s.count())
    assert_eq(df.t.min(), pdf.t.min())
    assert_eq(df.t.max(), pdf.t.max())
    assert_eq(df.t.mean(), pdf.t.mean())
    assert_eq(df.b.any(), pdf.b.any())
    assert_eq(df.b.all(), pdf.b.all())
    assert_eq(df[["b"]].any(), pdf[["b"]].any())
    assert_eq(df.count(), pdf.count())
    assert_eq(df[["x", "s"]].max(), pdf[["x", "s"]].max())
    with pytest.raises(TypeError):
        df.mean()  # strings: the same error as pandas, at build time


def test_min_count(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.y.sum(min_count=1), pdf.y.sum(min_count=1))
    assert_eq(df.y.sum(min_count=1000), pdf.y.sum(min_count=1000))
    assert_eq(df[["x", "y"]].sum(min_count=25), pdf[["x", "y"]].sum(min_count=25))


def test_all_missing_and_empty():
    pdf = pd.DataFrame({"a": [np.nan] * 4, "b": [1.0, 2.0, 3.0, 4.0]})
    df = dd.from_pandas(pdf, npartitions=2)
    for name in SIMPLE:
        assert_eq(getattr(df, name)(), getattr(pdf, name)())
    full = dd.from_pandas(pdf, npartitions=2)
    e = full[full.b > 100]
    pe = pdf[pdf.b > 100]
    for name in ["sum", "count", "mean", "max", "min", "var"]:
        assert_eq(getattr(e.b, name)(), getattr(pe.b, name)())


@pytest.mark.parametrize("split_every", [2, 3, None])
def test_split_every(split_every):
    pdf = pd.DataFrame({"x": np.arange(100.0), "y": np.arange(100) % 7})
    df = dd.from_pandas(pdf, npartitions=13)
    for name in SIMPLE:
        assert_eq(getattr(df.x, name)(split_every=split_every), getattr(pdf.x, name)())
        assert_eq(getattr(df, name)(split_every=split_every), getattr(pdf, name)())
    with pytest.raises(ValueError, match="split_every"):
        df.x.sum(split_every=1)


def test_split_every_tree_shape():
    df = dd.from_pandas(pd.DataFrame({"x": np.arange(64)}), npartitions=16)
    graph = df.x.sum(split_every=4).dask
    combines = [k for k in graph if "combine" in k[0]]
    assert len(combines) == 4  # 16 chunks -> 4 combines -> 1 aggregate
    with plait.config.set({"array.split-every": 2}):  # dataframe.split-every first, if set
        graph = df.x.sum().dask
    assert len([k for k in graph if "combine" in k[0]]) == 8 + 4 + 2


def test_reduction_custom(ddf_pair):
    df, pdf = ddf_pair
    r = df.x.reduction(lambda s: s.count(), aggregate=lambda s: s.sum())
    assert_eq(r, pdf.x.count())
    r = df[["x", "y"]].reduction(lambda d: d.count(), aggregate=lambda d: d.sum())
    assert_eq(r, pdf[["x", "y"]].count())
    r = df.x.reduction(lambda s: s.max(), aggregate=lambda s: s.max(), split_every=2)
    assert_eq(r, pdf.x.max())
    r = df.y.reduction(lambda s, k: (s > k).sum(), aggregate=lambda s: s.sum(),
                       chunk_kwargs={"k": 0}, meta=("n", "i8"))
    assert r.compute() == (pdf.y > 0).sum()


def test_memory_usage(ddf_pair):
    df, pdf = ddf_pair
    num, pnum = df[["x", "y"]], pdf[["x", "y"]]
    got = num.memory_usage(index=False).compute()
    pd.testing.assert_series_equal(got, pnum.memory_usage(index=False), check_dtype=False)
    assert df.x.memory_usage(index=False).compute() == pdf.x.memory_usage(index=False)


def test_reductions_schedulers(pdf, scheduler):
    df = dd.from_pandas(pdf, npartitions=3)
    assert_eq(df[~df.b].y.max(), pdf[~pdf.b].y.max(), scheduler=scheduler)
    assert_eq(df[["x", "y"]].std(), pdf[["x", "y"]].std(), scheduler=scheduler)
    assert len(df[~df.b]) == len(pdf[~pdf.b])

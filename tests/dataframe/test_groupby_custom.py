"""User-defined group-by aggregations (dd.Aggregation) against pandas' equivalents."""

from __future__ import annotations

import pandas as pd
import pytest

import plait.dataframe as dd
from plait.dataframe.utils import assert_eq

custom_mean = dd.Aggregation(
    "custom_mean",
    chunk=lambda s: (s.count(), s.sum()),
    agg=lambda count, total: (count.sum(), total.sum()),
    finalize=lambda count, total: total / count)

spread = dd.Aggregation(
    "spread",
    chunk=lambda s: (s.max(), s.min()),
    agg=lambda hi, lo: (hi.max(), lo.min()),
    finalize=lambda hi, lo: hi - lo)

total = dd.Aggregation("total", chunk=lambda s: s.sum(), agg=lambda s: s.sum())


def test_custom_aggregations(ddf_pair):
    df, pdf = ddf_pair
    g, pg = df.groupby("s"), pdf.groupby("s")
    assert_eq(g.y.agg(custom_mean), pg.y.mean(), check_divisions=False)
    assert_eq(g.x.agg(total), pg.x.sum(), check_divisions=False)
    expected = pg.agg({"x": ["max", "sum"], "y": "mean"})
    expected.columns = pd.MultiIndex.from_tuples([("x", "spread"), ("x", "sum"),
                                                  ("y", "custom_mean")])
    expected[("x", "spread")] = pg.x.max() - pg.x.min()
    assert_eq(g.agg({"x": [spread, "sum"], "y": custom_mean}), expected,
              check_divisions=False)
    named = g.agg(m=("y", custom_mean), n=("x", "nunique"))
    assert_eq(named, pd.DataFrame({"m": pg.y.mean(), "n": pg.x.nunique()}),
              check_divisions=False)


def test_custom_with_split_every_and_keys(pdf):
    df = dd.from_pandas(pdf, npartitions=6)
    got = df.groupby(["b", df.t.dt.day_of_week]).y.agg(custom_mean, split_every=2)
    assert_eq(got, pdf.groupby(["b", pdf.t.dt.day_of_week]).y.mean(), check_divisions=False)


def test_custom_errors(pdf):
    df = dd.from_pandas(pdf, npartitions=2)
    two = dd.Aggregation("two", chunk=lambda s: (s.sum(), s.count()),
                         agg=lambda a, b: (a.sum(), b.sum()))
    with pytest.raises(ValueError, match="finalize"):
        df.groupby("s").x.agg(two)
    with pytest.raises(TypeError, match="name must be a str"):
        dd.Aggregation(1, chunk=len, agg=len)


def test_custom_under_schedulers(pdf, scheduler):
    # processes get copies of the Aggregation: partials must not be keyed by identity
    df = dd.from_pandas(pdf, npartitions=3)
    assert_eq(df.groupby("s").agg({"y": [custom_mean, "sum"]}),
              pdf.groupby("s").agg({"y": ["mean", "sum"]}).set_axis(
                  pd.MultiIndex.from_tuples([("y", "custom_mean"), ("y", "sum")]), axis=1),
              scheduler=scheduler, check_divisions=False)

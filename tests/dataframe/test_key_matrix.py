"""Issue 7's "done when" as one matrix: every operation that moves rows between
partitions, against pandas on the same data, for each awkward kind of key (skewed,
all-equal, missing, strings, categorical), with empty partitions, under the threads
and the processes schedulers.

Each case computes all operations in one ``plait.compute`` call (one graph, one run),
so the matrix stays cheap; the operations' own test files go deeper into each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import plait
import plait.dataframe as dd

from .keydata import KEY_KINDS, key_frame, partitioned, sort_rows

CUSTOM = dd.Aggregation("span", chunk=lambda g: (g.max(), g.min()),
                        agg=lambda mx, mn: (mx.max(), mn.min()),
                        finalize=lambda mx, mn: mx - mn)


def _frames(kind: str) -> tuple:
    pdf = key_frame(kind, n=96)
    pdf["c"] = pd.Categorical(np.array(["p", "q", "r"])[pdf.i.to_numpy() % 3])
    other = key_frame(kind, n=40, seed=1).rename(columns={"x": "y", "i": "j"})
    return pdf, partitioned(pdf, "empty-parts"), other, dd.from_pandas(other, npartitions=3)


def _cases(pdf, df, other, dother, kind) -> list:
    """``(name, plait collection, pandas answer, how to compare)``."""
    values = list(pdf.k.dropna().unique()[:3])
    cases = [
        ("shuffle", df.shuffle("k"), pdf, "rows"),
        ("merge-inner", df.merge(dother, on="k"), pdf.merge(other, on="k"), "rows"),
        ("merge-left", df.merge(dother, on="k", how="left"),
         pdf.merge(other, on="k", how="left"), "rows"),
        ("merge-outer", df.merge(dother, on="k", how="outer"),
         pdf.merge(other, on="k", how="outer"), "rows"),
        ("merge-right", df.merge(dother, on="k", how="right"),
         pdf.merge(other, on="k", how="right"), "rows"),
        ("merge-leftsemi", df.merge(dother, on="k", how="leftsemi"),
         pdf[pdf.k.isin(other.k)], "rows"),
        ("join", df.join(dd.from_pandas(other.set_index("k")[["y"]], npartitions=2,
                                        sort=False), on="k", how="inner"),
         pdf.join(other.set_index("k")[["y"]], on="k", how="inner"), "rows"),
        ("drop_duplicates", df.drop_duplicates(subset="k"),
         pdf.drop_duplicates(subset="k"), "rows"),
        ("isin", df[df.k.isin(values)], pdf[pdf.k.isin(values)], "exact"),
        ("concat", dd.concat([df, df[df.x > 0]]), pd.concat([pdf, pdf[pdf.x > 0]]), "exact"),
        ("melt", df.melt(id_vars=["k"], value_vars=["x"]),
         pdf.melt(id_vars=["k"], value_vars=["x"]), "rows"),
        ("nunique", df.k.nunique(), pdf.k.nunique(), "scalar"),
        ("value_counts", df.k.value_counts(split_out=2), pdf.k.value_counts(), "index"),
        ("pivot_table", df.pivot_table(index="i", columns="c", values="x", aggfunc="sum"),
         pdf.pivot_table(index="i", columns="c", values="x", aggfunc="sum", observed=False),
         "index"),
    ]
    right = other.assign(j=other.j * 2 + 1)  # sorted, between the left's i
    cases.append(("merge_asof-by", dd.merge_asof(df, dd.from_pandas(right, npartitions=3),
                                                 left_on="i", right_on="j", by="k"),
                  pd.merge_asof(pdf, right, left_on="i", right_on="j", by="k"), "rows"))
    g, gp = df.groupby("k"), pdf.groupby("k")
    cases += [
        ("groupby-split_out", g.x.sum(split_out=3), gp.x.sum(), "exact"),
        ("groupby-dropna-False", df.groupby("k", dropna=False).x.mean(split_out=2),
         pdf.groupby("k", dropna=False).x.mean(), "exact"),
        ("groupby-median", g.x.median(), gp.x.median(), "exact"),
        ("groupby-apply", g.apply(lambda d: d.x.max() - d.x.min(), meta=("x", "f8")),
         gp.apply(lambda d: d.x.max() - d.x.min()).rename("x"), "index"),
        ("groupby-transform", g.x.transform("sum"), gp.x.transform("sum"), "index"),
        ("groupby-shift", g.x.shift(1), gp.x.shift(1), "index"),
        ("groupby-cumsum", g.x.cumsum(), gp.x.cumsum(), "index"),
        ("groupby-cumcount", g.cumcount(), gp.cumcount(), "index"),
        ("groupby-rolling", g.x.rolling(2, min_periods=1).sum(),
         gp.x.rolling(2, min_periods=1).sum(), "index"),
        ("groupby-custom", g.x.agg(CUSTOM, split_out=2),
         gp.x.agg(lambda s: s.max() - s.min()), "exact"),
        ("groupby-nunique", g.i.nunique(split_out=2), gp.i.nunique(), "exact"),
    ]
    cases += [
        ("set_index", df.set_index("k"),
         pdf.set_index("k").sort_index(kind="stable", na_position="last"), "exact"),
        ("sort_values", df.sort_values(["k", "i"], ascending=[False, True]),
         pdf.sort_values(["k", "i"], ascending=[False, True]), "exact"),
    ]
    if kind == "categorical":
        cases.append(("get_dummies", dd.get_dummies(df[["k", "x"]]),
                      pd.get_dummies(pdf[["k", "x"]]), "exact"))
    return cases


def _compare(name, got, expected, how):
    if how == "scalar":
        assert got == expected, name
    elif how == "rows":
        pd.testing.assert_frame_equal(sort_rows(got), sort_rows(expected), obj=name)
    else:
        if how == "index":
            got, expected = got.sort_index(), expected.sort_index()
        if isinstance(expected, pd.Series):
            pd.testing.assert_series_equal(got, expected, obj=name)
        else:
            pd.testing.assert_frame_equal(got, expected, obj=name)


@pytest.mark.parametrize("scheduler,method", [("threads", "tasks"), ("processes", "tasks"),
                                              ("threads", "disk")])
@pytest.mark.parametrize("kind", KEY_KINDS)
def test_every_operation_on_awkward_keys(kind, scheduler, method):
    pdf, df, other, dother = _frames(kind)
    with plait.config.set({"dataframe.shuffle.method": method}):
        cases = _cases(pdf, df, other, dother, kind)
        results = plait.compute(*[c[1] for c in cases], scheduler=scheduler)
    for (name, _, expected, how), got in zip(cases, results):
        _compare(name, got, expected, how)


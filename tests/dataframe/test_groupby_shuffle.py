"""The shuffle-based group-by (split_out, median, apply, transform, shift, cum*,
rolling) against pandas on the same data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import plait
import plait.dataframe as dd

N = 120


def _frame(kind: str) -> pd.DataFrame:
    rng = np.random.default_rng(42)
    if kind == "skewed":
        a = np.where(rng.random(N) < 0.8, 0, rng.integers(1, 30, N)).astype(float)
    elif kind == "equal":
        a = np.full(N, 3.0)
    else:
        a = rng.integers(0, 40, N).astype(float)
    a[rng.random(N) < 0.1] = np.nan  # missing keys
    s = rng.choice(["u", "v", "w", "x"], N).astype(object)
    s[rng.random(N) < 0.1] = None
    return pd.DataFrame({
        "a": a,
        "s": pd.array(s, dtype="str"),
        "c": pd.Categorical(rng.choice(["p", "q", "r"], N), categories=["r", "q", "p", "z"]),
        "x": rng.random(N),
        "y": rng.integers(-3, 10, N),
        "keep": np.arange(N) % 60 < 40,
    }, index=pd.Index(rng.permutation(N) * 3, name="idx"))


def _sorted(obj):
    return obj.sort_index() if isinstance(obj, (pd.Series, pd.DataFrame)) else obj


def _check(got, expected, **kw):
    got = _sorted(got)
    expected = _sorted(expected)
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(got, expected, **kw)
    else:
        pd.testing.assert_series_equal(got, expected, **kw)


def _pair(kind="uniform", npartitions=4, empty=False):
    pdf = _frame(kind)
    df = dd.from_pandas(pdf, npartitions=npartitions, sort=False)
    if empty:  # whole partitions filtered away
        pdf, df = pdf[pdf.keep], df[df.keep]
    return pdf, df


AGGS = ["sum", "mean", "count", "min", "max", "std", "var", "size", "first", "last",
        "nunique", "prod", "median"]


@pytest.mark.parametrize("kind,nparts,empty", [("uniform", 4, False), ("skewed", 3, True),
                                              ("equal", 5, False), ("uniform", 1, False)])
def test_split_out_named_reductions(kind, nparts, empty):
    pdf, df = _pair(kind, nparts, empty)
    for how in AGGS:
        for key in ("a", ["s", "a"]):
            got = getattr(df.groupby(key, dropna=False)[["x", "y"]], how)(split_out=3)
            assert got.npartitions == 3
            _check(got.compute(), getattr(pdf.groupby(key, dropna=False)[["x", "y"]], how)())
        got = getattr(df.groupby("s").y, how)(split_out=2)
        _check(got.compute(), getattr(pdf.groupby("s").y, how)())


def test_split_out_agg_forms_and_keys():
    pdf, df = _pair("skewed", 4, True)
    cases = [
        (lambda g: g.agg({"x": ["sum", "median"], "y": "max"}), "a"),
        (lambda g: g[["x", "y"]].agg(["mean", "count"]), "c"),
        (lambda g: g.agg(total=("x", "sum"), top=("y", lambda s: s.max() - s.min())), "s"),
        (lambda g: g.x.agg(lambda s: s.sort_values().iloc[-1]), ["c", "s"]),
    ]
    for call, key in cases:
        gd = df.groupby(key, split_out=3)
        gp = pdf.groupby(key)
        got = call(gd)
        assert got.npartitions == 3
        _check(got.compute(), call(gp))
    # the tree reduction stays the default; median/callables alone shuffle to one
    assert df.groupby("a").x.sum().npartitions == 1
    _check(df.groupby("a").x.agg("median").compute(), pdf.groupby("a").x.agg("median"))
    _check(df.groupby("a").x.median().compute(), pdf.groupby("a").x.median())
    # as_index=False and sort=False keep pandas' layout
    got = df.groupby("s", as_index=False).x.sum(split_out=2).compute()
    exp = pdf.groupby("s", as_index=False).x.sum()
    pd.testing.assert_frame_equal(got.sort_values("s").reset_index(drop=True), exp)


def test_split_out_series_key_and_level():
    pdf, df = _pair("uniform", 4)
    got = df.groupby(df.y % 3).x.sum(split_out=3)
    _check(got.compute(), pdf.groupby(pdf.y % 3).x.sum())
    by_level = dd.from_pandas(pdf.set_index("s"), npartitions=3, sort=False)
    got = by_level.groupby(level="s").y.mean(split_out=2)
    _check(got.compute(), pdf.set_index("s").groupby(level="s").y.mean())
    got = by_level.groupby(level="s").y.cumsum()
    _check(got.compute(), pdf.set_index("s").groupby(level="s").y.cumsum())
    s, ps = df.x, pdf.x
    _check(s.groupby(df.s).max(split_out=2).compute(), ps.groupby(pdf.s).max())


@pytest.mark.parametrize("kind,nparts,empty", [("uniform", 5, True), ("skewed", 4, False),
                                              ("equal", 3, False)])
def test_per_row_methods_keep_order(kind, nparts, empty):
    pdf, df = _pair(kind, nparts, empty)
    for key in ("a", ["s", "c"]):
        gd, gp = df.groupby(key, dropna=False), pdf.groupby(key, dropna=False)
        _check(gd.x.cumsum().compute(), gp.x.cumsum())
        _check(gd[["x", "y"]].cumprod().compute(), gp[["x", "y"]].cumprod())
        _check(gd.y.cummin().compute(), gp.y.cummin())
        _check(gd.y.cummax().compute(), gp.y.cummax())
        _check(gd.cumcount().compute(), gp.cumcount())
        _check(gd.cumcount(ascending=False).compute(), gp.cumcount(ascending=False))
        _check(gd[["x", "y"]].shift(2).compute(), gp[["x", "y"]].shift(2))
        _check(gd.y.shift(-1, fill_value=0).compute(), gp.y.shift(-1, fill_value=0))
        _check(gd.x.transform("mean").compute(), gp.x.transform("mean"))
        got = gd.x.cumsum()
        assert got.npartitions == df.npartitions
        assert got.known_divisions is False


def test_order_across_input_partitions_disk_method():
    # one group spread over many input partitions: the shuffle must keep input order
    pdf = pd.DataFrame({"k": [1, 2] * 50, "v": np.arange(100.0)})
    df = dd.from_pandas(pdf, npartitions=10)
    for method in ("tasks", "disk"):
        got = df.groupby("k").v.cumsum(shuffle_method=method).compute()
        _check(got, pdf.groupby("k").v.cumsum())
        got = df.groupby("k").v.shift(1, shuffle_method=method).compute()
        _check(got, pdf.groupby("k").v.shift(1))


def test_apply_and_transform_meta():
    pdf, df = _pair("skewed", 4, True)

    def centre(g):
        return g[["x", "y"]] - g[["x", "y"]].mean()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = df.groupby("s").apply(centre, meta={"x": "f8", "y": "f8"})
    _check(got.compute(), pdf.groupby("s").apply(centre))
    with pytest.warns(UserWarning, match="meta"):
        got = df.groupby("a").x.apply(lambda s: s.max() - s.min())
    _check(got.compute(), pdf.groupby("a").x.apply(lambda s: s.max() - s.min()))
    got = df.groupby("c", group_keys=False).apply(lambda d: d.head(2),
                                                   meta=df.drop(columns="c")._meta)
    _check(got.compute(), pdf.groupby("c", group_keys=False).apply(lambda d: d.head(2)))
    with pytest.warns(UserWarning, match="meta"):
        got = df.groupby("s").x.transform(lambda s: s - s.mean())
    _check(got.compute(), pdf.groupby("s").x.transform(lambda s: s - s.mean()))
    with pytest.raises(ValueError, match="meta="):
        with pytest.warns(UserWarning):
            df.groupby("s").x.apply(lambda s: s["no-such-label"])


def test_rolling_within_groups():
    pdf, df = _pair("uniform", 4)
    for how in ("sum", "mean", "min", "max", "count", "std", "median"):
        got = getattr(df.groupby("s").x.rolling(3), how)().compute()
        exp = getattr(pdf.groupby("s").x.rolling(3), how)()
        _check(got, exp)
    got = df.groupby("s")[["x", "y"]].rolling(2, min_periods=1).sum().compute()
    _check(got, pdf.groupby("s")[["x", "y"]].rolling(2, min_periods=1).sum())

    # apply, quantile and agg on the windows
    g, gp = df.groupby("s").x.rolling(3, min_periods=1), pdf.groupby("s").x.rolling(3, min_periods=1)
    _check(g.apply(np.ptp, raw=True).compute(), gp.apply(np.ptp, raw=True))
    first = df.groupby("c").x.rolling(2).apply(lambda w: w.iloc[0])  # a Series per window
    _check(first.compute(), pdf.groupby("c").x.rolling(2).apply(lambda w: w.iloc[0]))
    _check(g.quantile(0.25).compute(), gp.quantile(0.25))
    _check(g.quantile(0.5, interpolation="lower").compute(),
           gp.quantile(0.5, interpolation="lower"))
    _check(g.agg(["sum", "max"]).compute(), gp.agg(["sum", "max"]))
    _check(g.aggregate("mean").compute(), gp.aggregate("mean"))
    gf = df.groupby("a", dropna=False)[["x", "y"]].rolling(2)
    gpf = pdf.groupby("a", dropna=False)[["x", "y"]].rolling(2)
    _check(gf.agg({"x": "sum", "y": "max"}).compute(), gpf.agg({"x": "sum", "y": "max"}))
    with pytest.raises(NotImplementedError, match="engine"):
        g.apply(np.sum, engine="numba")


@pytest.mark.parametrize("kind,nparts,empty", [("uniform", 4, False), ("skewed", 3, True),
                                              ("equal", 4, False)])
@pytest.mark.parametrize("key", ["a", "s", "c", ["s", "a"]])
def test_split_out_sort_is_global(kind, nparts, empty, key):
    """sort=True (the default) with split_out=n: the n partitions together hold
    pandas' sorted order, not n separately sorted runs."""
    pdf, df = _pair(kind, nparts, empty)
    for dropna in (True, False):
        got = df.groupby(key, dropna=dropna).x.sum(split_out=3)
        assert got.npartitions == 3
        expected = pdf.groupby(key, dropna=dropna).x.sum()
        pd.testing.assert_series_equal(got.compute(), expected)  # order and all
    got = df.groupby(key).agg({"x": ["sum", "max"], "y": "median"}, split_out=2).compute()
    pd.testing.assert_frame_equal(got, pdf.groupby(key).agg(
        {"x": ["sum", "max"], "y": "median"}))
    got = df.groupby(key, as_index=False).y.mean(split_out=2).compute()
    expected = pdf.groupby(key, as_index=False).y.mean()
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected)


def test_split_out_sort_under_processes_and_disk():
    pdf, df = _pair("skewed", 4, True)
    got = df.groupby(["s", "a"], dropna=False).x.mean(split_out=3, shuffle_method="disk")
    pd.testing.assert_series_equal(got.compute(scheduler="processes"),
                                   pdf.groupby(["s", "a"], dropna=False).x.mean())
    unsorted = df.groupby("a", sort=False).x.sum(split_out=3)
    assert "sort-index" not in str(unsorted.__plait_graph__().keys())
    _check(unsorted.compute(), pdf.groupby("a").x.sum())


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_schedulers(scheduler):
    pdf, df = _pair("skewed", 3, True)
    with plait.config.set(scheduler=scheduler):
        a, b, c, d = plait.compute(
            df.groupby("s").x.agg(["sum", "median"], split_out=2),
            df.groupby("a", dropna=False).y.cumsum(),
            df.groupby("c").apply(lambda d: d.x.sum(), meta=("x", "f8")),
            df.nunique(split_out=2))
    _check(a, pdf.groupby("s").x.agg(["sum", "median"]))
    _check(b, pdf.groupby("a", dropna=False).y.cumsum())
    _check(c, pdf.groupby("c").apply(lambda d: d.x.sum()).rename("x"))
    _check(d, pdf.nunique())


def test_errors():
    _, df = _pair()
    with pytest.raises(ValueError, match="split_out"):
        df.groupby("a").x.sum(split_out=0)
    with pytest.raises(NotImplementedError, match="split_out=True"):
        df.groupby("a", split_out=True)
    with pytest.raises(NotImplementedError, match="win_type"):
        df.groupby("a").x.rolling(3, win_type="triang")


@pytest.mark.parametrize("kind,nparts,empty", [("uniform", 4, True), ("equal", 3, False)])
def test_nunique_split_out(kind, nparts, empty):
    pdf, df = _pair(kind, nparts, empty)
    pdf = pdf.assign(big=np.arange(len(pdf)) // 2, t=pd.Timestamp("2020") +
                     pd.to_timedelta(np.arange(len(pdf)) % 7, unit="D"))
    df = dd.from_pandas(pdf, npartitions=nparts, sort=False)
    for dropna in (True, False):
        got = df.nunique(split_out=3, dropna=dropna)
        pd.testing.assert_series_equal(got.compute(), pdf.nunique(dropna=dropna))
        for col in ("a", "s", "c", "big", "t"):
            assert df[col].nunique(split_out=2, dropna=dropna).compute() == \
                pdf[col].nunique(dropna=dropna)
    with pytest.raises(ValueError, match="split_out"):
        df.nunique(split_out=0)


def test_custom_aggregation_split_out():
    from plait.dataframe.groupby.custom import Aggregation

    pdf, df = _pair("skewed", 4, True)
    total = Aggregation("total", chunk=lambda g: g.sum(), agg=lambda g: g.sum())
    got = df.groupby("s").x.agg(total, split_out=3)
    assert got.npartitions == 3
    _check(got.compute(), pdf.groupby("s").x.sum().rename("x"), check_names=False)
    got = df.groupby(["c", "a"]).agg({"x": total, "y": "sum"}, split_out=2)
    exp = pdf.groupby(["c", "a"]).agg({"x": "sum", "y": "sum"})
    _check(got.compute(), exp)


@pytest.mark.parametrize("scheduler", ["sync", "processes"])
def test_observed_false_categories_once(scheduler):
    """observed=False on n > 1 output partitions: every category (observed or not)
    comes out once, from the partition its rows hash to, as in pandas."""
    pdf, df = _pair("skewed", 4, True)
    pdf["d"] = pd.Categorical(np.where(pdf.y > 4, "m", "n"), categories=["n", "m", "o"])
    df = dd.from_pandas(pdf, npartitions=4, sort=False)
    for key in ("c", ["c", "d"]):
        for how in ("sum", "mean", "size", "median"):
            g, gp = df.groupby(key, observed=False), pdf.groupby(key, observed=False)
            got = (g.size if how == "size" else getattr(g.x, how))(split_out=3)
            expected = (gp.size if how == "size" else getattr(gp.x, how))()
            pd.testing.assert_series_equal(got.compute(scheduler=scheduler), expected)
        got = df.groupby(key, observed=False, as_index=False).y.sum(split_out=2)
        pd.testing.assert_frame_equal(got.compute(scheduler=scheduler).reset_index(drop=True),
                                      pdf.groupby(key, observed=False, as_index=False).y.sum())
    got = df.groupby("c", observed=False).x.apply(lambda s: s.sum(), meta=("x", "f8"))
    _check(got.compute(scheduler=scheduler),
           pdf.groupby("c", observed=False).x.apply(lambda s: s.sum()))
    with pytest.raises(NotImplementedError, match="observed=True"):
        df.groupby(["c", "s"], observed=False).x.sum(split_out=2)
    # one output partition holds every row: pandas' own answer
    _check(df.groupby(["c", "s"], observed=False).x.median().compute(scheduler=scheduler),
           pdf.groupby(["c", "s"], observed=False).x.median())

"""plait.dataframe.stats against pandas on the same data: quantile (exact cases and the
documented rank bound), describe, value_counts, nunique, unique, mode, idxmin/idxmax,
cumulative ops, corr/cov, nlargest/nsmallest; several partitionings, NaN, strings,
categoricals, datetimes; sync, threads and processes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd
from plait.dataframe.stats.quantile import QUANTILE_SAMPLES
from plait.dataframe.utils import assert_eq


def test_quantile_exact_on_small_partitions(ddf_pair):
    df, pdf = ddf_pair
    for q in [0.5, [0.1, 0.5, 0.9], [0.0, 1.0]]:
        assert_eq(df.y.quantile(q), pdf.y.quantile(q), check_divisions=False)
        assert_eq(df[["x", "y"]].quantile(q), pdf[["x", "y"]].quantile(q),
                  check_divisions=False)
    assert_eq(df.t.quantile(0.25), pdf.t.quantile(0.25))
    assert_eq(df[["x", "t"]].quantile([0.3]), pdf[["x", "t"]].quantile([0.3]),
              check_divisions=False)


def test_quantile_rank_bound_on_large_partitions():
    rng = np.random.default_rng(1)
    n = 12_000
    values = np.concatenate([rng.normal(size=n // 2), rng.exponential(5, size=n // 2)])
    pdf = pd.DataFrame({"v": values})
    df = dd.from_pandas(pdf, npartitions=5)  # 2400 values each: more than the samples
    qs = [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]
    got = df.v.quantile(qs).compute()
    ordered = np.sort(values)
    slack = n / QUANTILE_SAMPLES  # the documented bound, in ranks
    for q, v in zip(qs, got):
        rank = q * (n - 1)
        lo = ordered[max(int(np.floor(rank - slack)), 0)]
        hi = ordered[min(int(np.ceil(rank + slack)), n - 1)]
        assert lo <= v <= hi, (q, v, lo, hi)
    # one partition: exact whatever its size
    one = dd.from_pandas(pdf, npartitions=1)
    assert_eq(one.v.quantile(qs), pdf.v.quantile(qs), check_divisions=False)


def test_quantile_errors(pdf):
    df = dd.from_pandas(pdf, npartitions=2)
    with pytest.raises(TypeError, match="non-numeric"):
        df[["x", "s"]].quantile(0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        df.x.quantile(1.5)


@pytest.mark.parametrize("kwargs", [{}, {"include": "all"}, {"percentiles": [0.05, 0.5]},
                                    {"include": ["category"]}])
def test_describe(ddf_pair, kwargs):
    df, pdf = ddf_pair
    assert_eq(df.describe(**kwargs), pdf.describe(**kwargs), check_divisions=False)


def test_describe_series(ddf_pair):
    df, pdf = ddf_pair
    for col in ["x", "y", "s", "c", "t", "b"]:
        assert_eq(df[col].describe(), pdf[col].describe(), check_divisions=False)


@pytest.mark.parametrize("kwargs", [{}, {"normalize": True}, {"ascending": True},
                                    {"sort": False}, {"dropna": False}])
def test_value_counts(ddf_pair, kwargs):
    df, pdf = ddf_pair
    for col in ["s", "c", "x"]:
        assert_eq(df[col].value_counts(**kwargs), pdf[col].value_counts(**kwargs),
                  check_divisions=False)
    assert_eq(df[["s", "b"]].value_counts(**kwargs), pdf[["s", "b"]].value_counts(**kwargs),
              check_divisions=False)
    assert_eq(df.value_counts(["s"], **kwargs), pdf.value_counts(["s"], **kwargs),
              check_divisions=False)


def test_value_counts_positional(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.s.value_counts(True, False), pdf.s.value_counts(True, False),
              check_divisions=False)


def test_nunique_unique_mode(ddf_pair):
    df, pdf = ddf_pair
    for col in ["x", "s", "c", "t"]:
        assert_eq(df[col].nunique(), pdf[col].nunique())
        assert_eq(df[col].nunique(dropna=False), pdf[col].nunique(dropna=False))
        assert_eq(df[col].unique(), pd.Series(pdf[col].unique(), name=col),
                  check_divisions=False)
        assert_eq(df[col].mode(), pdf[col].mode(), check_divisions=False)
    assert_eq(df.nunique(), pdf.nunique(), check_divisions=False)
    # columns with fewer modes are NaN-padded: their dtype depends on the data
    assert_eq(df[["x", "s"]].mode(), pdf[["x", "s"]].mode(), check_divisions=False,
              check_meta=False)


@pytest.mark.parametrize("how", ["idxmin", "idxmax"])
def test_idxmin_idxmax(ddf_pair, how):
    df, pdf = ddf_pair
    cols = ["x", "y", "t"]
    assert_eq(getattr(df[cols], how)(), getattr(pdf[cols], how)(), check_divisions=False)
    assert_eq(getattr(df.y, how)(), getattr(pdf.y, how)())
    assert_eq(getattr(df.x, how)(skipna=False), getattr(pdf.x, how)(skipna=False))
    with pytest.raises(ValueError, match="NaN"):
        getattr(df.y, how)(skipna=False).compute()


@pytest.mark.parametrize("op", ["cumsum", "cumprod", "cummin", "cummax"])
@pytest.mark.parametrize("skipna", [True, False])
def test_cumulative(ddf_pair, op, skipna):
    df, pdf = ddf_pair
    cols = ["x", "y"] if op in ("cumsum", "cumprod") else ["x", "y", "t"]
    scale = 0.5 if op == "cumprod" else 1  # keep products finite
    assert_eq(getattr(df[cols] * scale if op == "cumprod" else df[cols], op)(skipna=skipna),
              getattr(pdf[cols] * scale if op == "cumprod" else pdf[cols], op)(skipna=skipna),
              check_divisions=False)
    assert_eq(getattr(df.y, op)(skipna=skipna), getattr(pdf.y, op)(skipna=skipna),
              check_divisions=False)
    assert_eq(getattr(df[["x", "y"]], op)(axis=1), getattr(pdf[["x", "y"]], op)(axis=1),
              check_divisions=False)


def test_corr_cov(ddf_pair):
    df, pdf = ddf_pair
    cols = ["x", "y"]
    assert_eq(df[cols].corr(), pdf[cols].corr(), check_divisions=False)
    assert_eq(df[cols].cov(), pdf[cols].cov(), check_divisions=False)
    assert_eq(df[cols].cov(min_periods=25), pdf[cols].cov(min_periods=25),
              check_divisions=False)
    # pandas honours ddof only without NaN (its NaN path always divides by n - 1)
    assert_eq(df[["x", "b"]].cov(ddof=0), pdf[["x", "b"]].cov(ddof=0),
              check_divisions=False)
    assert_eq(df.x.corr(df.y), pdf.x.corr(pdf.y))
    assert_eq(df.x.cov(df.y, min_periods=3), pdf.x.cov(pdf.y, min_periods=3))
    assert_eq(df.corr(numeric_only=True), pdf.corr(numeric_only=True),
              check_divisions=False)


def test_corr_numerically_careful():
    # a large offset with a small spread: raw sums of products would lose it all
    rng = np.random.default_rng(2)
    x = 1e9 + rng.normal(size=400)
    y = (x - 1e9) * 0.5 + rng.normal(scale=0.1, size=400)
    pdf = pd.DataFrame({"x": x, "y": y})
    pdf.loc[::9, "y"] = np.nan
    exact_x = x[pdf.y.notna()]
    exact_y = pdf.y.dropna().to_numpy()
    dx, dy = exact_x - exact_x.mean(), exact_y - exact_y.mean()
    exact = (dx * dy).sum() / np.sqrt((dx * dx).sum() * (dy * dy).sum())
    got = dd.from_pandas(pdf, npartitions=7).corr().compute().loc["x", "y"]
    assert got == pytest.approx(exact, rel=1e-12)


def test_corr_errors(pdf):
    df = dd.from_pandas(pdf, npartitions=2)
    with pytest.raises(NotImplementedError, match="pearson"):
        df[["x", "y"]].corr(method="spearman")
    with pytest.raises(TypeError, match="non-numeric"):
        df[["x", "s"]].corr()


@pytest.mark.parametrize("keep", ["first", "last", "all"])
def test_nlargest_nsmallest(ddf_pair, keep):
    df, pdf = ddf_pair
    for how in ["nlargest", "nsmallest"]:
        assert_eq(getattr(df.x, how)(4, keep=keep), getattr(pdf.x, how)(4, keep=keep),
                  check_divisions=False)
        assert_eq(getattr(df, how)(3, "x", keep=keep), getattr(pdf, how)(3, "x", keep=keep),
                  check_divisions=False)
        assert_eq(getattr(df, how)(5, ["x", "y"]), getattr(pdf, how)(5, ["x", "y"]),
                  check_divisions=False)


def test_schedulers(pdf, scheduler):
    df = dd.from_pandas(pdf, npartitions=3)
    assert_eq(df.y.cumsum(), pdf.y.cumsum(), scheduler=scheduler)
    assert_eq(df.describe(), pdf.describe(), scheduler=scheduler, check_divisions=False)
    assert_eq(df.s.value_counts(), pdf.s.value_counts(), scheduler=scheduler,
              check_divisions=False)
    assert_eq(df[["x", "y"]].corr(), pdf[["x", "y"]].corr(), scheduler=scheduler,
              check_divisions=False)


def test_column_dtypes_match_pandas():
    """Nullable ints, float32, uint8, bools, tz-aware datetimes, timedeltas and
    categoricals through the statistics: pandas' values, dtypes and refusals."""
    import plait

    rng = np.random.default_rng(3)
    n = 40
    pdf = pd.DataFrame({
        "b": rng.random(n) > 0.5, "f32": rng.random(n).astype("float32"),
        "I": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        "c": pd.Categorical(rng.choice(["u", "v"], n)),
        "t": pd.date_range("2020", periods=n, freq="D", tz="UTC"),
        "td": pd.to_timedelta(rng.integers(0, 100, n), unit="s"),
        "u8": rng.integers(0, 200, n).astype("uint8")})
    pdf.loc[::5, "I"] = pd.NA
    df = dd.from_pandas(pdf, npartitions=4)
    calls = {"quantile": lambda s: s.quantile(0.3), "describe": lambda s: s.describe(),
             "value_counts": lambda s: s.value_counts(), "nunique": lambda s: s.nunique(),
             "idxmin": lambda s: s.idxmin(), "idxmax": lambda s: s.idxmax(),
             "cumsum": lambda s: s.cumsum(), "cummax": lambda s: s.cummax(),
             "nlargest": lambda s: s.nlargest(3), "mode": lambda s: s.mode()}
    lazy, expected = [], []
    for col in pdf.columns:
        for name, call in calls.items():
            if col == "c" and name == "quantile":
                continue  # pandas 3 takes quantiles of category codes; we refuse
            try:
                want = call(pdf[col])
            except TypeError:
                with pytest.raises(TypeError):
                    call(df[col]).compute()
                continue
            lazy.append(call(df[col]))
            expected.append(want)
    for x, got, want in zip(lazy, plait.compute(*lazy), expected):
        if isinstance(want, pd.Series):
            pd.testing.assert_series_equal(got, want, rtol=1e-6)
            assert str(x._meta.dtype) == str(want.dtype)
        else:
            assert got == want or (pd.isna(got) and pd.isna(want))


@pytest.mark.parametrize("scheduler", ["sync", "processes"])
def test_value_counts_split_out(scheduler):
    """value_counts(split_out=n): counts hash-shuffled by value, each partition sorted
    by count; together pandas' counts."""
    rng = np.random.default_rng(3)
    pdf = pd.DataFrame({"a": rng.integers(0, 30, 200).astype(float),
                        "s": pd.array(rng.choice(["x", "y", None], 200), dtype="str"),
                        "o": pd.Series(np.array([True, 1, 1.0, "t", False, 0], dtype=object)[
                            rng.integers(0, 6, 200)], dtype=object)})
    pdf.loc[::7, "a"] = np.nan
    df = dd.from_pandas(pdf, npartitions=4)
    for col in ("a", "s", "o"):
        for kw in ({}, {"dropna": False}, {"normalize": True}, {"ascending": True}):
            got = df[col].value_counts(split_out=3, **kw)
            assert got.npartitions == 3
            res = got.compute(scheduler=scheduler)
            exp = pdf[col].value_counts(**kw)
            key = lambda i: i.map(str)
            pd.testing.assert_series_equal(res.sort_index(key=key), exp.sort_index(key=key))
            for part in got.partitions:  # each partition sorted by count
                counts = part.compute(scheduler="sync").to_numpy()
                assert (np.diff(counts) >= 0).all() if kw.get("ascending") else \
                    (np.diff(counts) <= 0).all()
    got = df[["a", "s"]].value_counts(split_out=2).compute(scheduler=scheduler)
    exp = pdf[["a", "s"]].value_counts()
    pd.testing.assert_series_equal(got.sort_index(), exp.sort_index())
    assert df.o.nunique(split_out=3).compute(scheduler=scheduler) == pdf.o.nunique()
    with pytest.raises(ValueError, match="split_out"):
        df.a.value_counts(split_out=0)

"""resample against pandas: bins across partitions, empty and uneven partitions, NaN."""

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd

HOWS = ["sum", "count", "size", "min", "max", "first", "last", "mean", "var", "std", "ohlc"]


def _eq(a, b):
    if isinstance(b, pd.Series):
        pd.testing.assert_series_equal(a, b, check_freq=False)
    else:
        pd.testing.assert_frame_equal(a, b, check_freq=False, check_exact=False, rtol=1e-9)


def _data(n=150):
    rng = np.random.default_rng(7)
    x = rng.normal(size=n)
    x[10:25] = np.nan  # whole bins of missing values
    return pd.DataFrame({"x": x, "y": rng.integers(0, 10, n), "k": np.arange(n)},
                        index=pd.date_range("2020-02-27 05:13", periods=n, freq="23min"))


@pytest.mark.parametrize("rule", ["h", "7h", "90min", "D", "W", "ME"])
@pytest.mark.parametrize("nparts", [1, 6, 50])
def test_resample_matches_pandas(rule, nparts):
    pdf = _data()
    df = dd.from_pandas(pdf, npartitions=nparts)  # 50 partitions: many inside one bin
    hows = HOWS if nparts < 50 else ["sum", "count", "first", "mean", "std", "ohlc"]
    for how in hows:
        _eq(getattr(df.resample(rule), how)().compute(), getattr(pdf.resample(rule), how)())
    _eq(df.x.resample(rule).mean().compute(), pdf.x.resample(rule).mean())
    _eq(df.y.resample(rule).ohlc().compute(), pdf.y.resample(rule).ohlc())


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_resample_empty_uneven_and_loose_divisions(scheduler):
    pdf = _data()
    df = dd.from_pandas(pdf, npartitions=10)
    # leading and middle rows gone: empty partitions, divisions wider than the data
    sub = df[(df.k >= 20) & ((df.k < 40) | (df.k >= 95)) & (df.y != 3)]
    psub = pdf[(pdf.k >= 20) & ((pdf.k < 40) | (pdf.k >= 95)) & (pdf.y != 3)]
    for how in ("sum", "count", "mean", "max", "last", "std"):
        _eq(getattr(sub.resample("2h"), how)().compute(scheduler=scheduler),
            getattr(psub.resample("2h"), how)())


def test_resample_closed_label_origin():
    pdf = _data()
    df = dd.from_pandas(pdf, npartitions=7)
    for kw in ({"closed": "right"}, {"label": "right"}, {"closed": "right", "label": "right"},
               {"origin": "start"}, {"origin": "epoch"}, {"offset": "10min"}):
        _eq(df.resample("5h", **kw).sum().compute(), pdf.resample("5h", **kw).sum())
        _eq(df.resample("5h", **kw).first().compute(), pdf.resample("5h", **kw).first())


def test_resample_agg():
    pdf = _data()
    df = dd.from_pandas(pdf, npartitions=5)
    _eq(df.resample("3h").agg("mean").compute(), pdf.resample("3h").agg("mean"))
    _eq(df.resample("3h").agg(["sum", "max"]).compute(), pdf.resample("3h").agg(["sum", "max"]))
    _eq(df.resample("3h").agg({"x": "sum", "y": ["min", "last"]}).compute(),
        pdf.resample("3h").agg({"x": "sum", "y": ["min", "last"]}))
    _eq(df.resample("3h").agg({"x": "sum", "y": "count"}).compute(),
        pdf.resample("3h").agg({"x": "sum", "y": "count"}))
    _eq(df.x.resample("3h").agg(["min", "mean"]).compute(),
        pdf.x.resample("3h").agg(["min", "mean"]))


def test_resample_divisions_and_errors():
    pdf = _data()
    df = dd.from_pandas(pdf, npartitions=4)
    out = df.resample("h").sum()
    assert out.known_divisions
    assert out.divisions[0] == pd.Timestamp("2020-02-27 05:00")
    with pytest.raises(NotImplementedError, match="sem"):
        df.resample("D").agg("sem")
    with pytest.raises(TypeError, match="datetime index"):
        dd.from_pandas(pd.DataFrame({"x": [1, 2]}), npartitions=1).resample("h")
    unknown = dd.map_partitions(lambda p: p, df, meta=df._meta, clear_divisions=True)
    assert not unknown.known_divisions
    with pytest.raises(ValueError, match="known divisions"):
        unknown.resample("h")


def test_resample_unsupported_named():
    df = dd.from_pandas(_data(), npartitions=2)
    with pytest.raises(NotImplementedError, match="interpolate is not supported"):
        df.resample("h").interpolate()
    with pytest.raises(NotImplementedError, match="one q"):
        df.resample("h").quantile([0.1, 0.9])
    with pytest.raises(AttributeError):
        _ = df.resample("h").not_a_method


HOLISTIC = [("median", {}), ("nunique", {}), ("quantile", {"q": 0.3}),
            ("quantile", {"q": 0.75, "interpolation": "nearest"})]


@pytest.mark.parametrize("rule,kw,nparts", [("h", {}, 6), ("7h", {"closed": "right"}, 50),
                                            ("D", {"label": "right"}, 6), ("ME", {}, 50),
                                            ("3h", {}, 1)])
def test_resample_median_nunique_quantile(rule, kw, nparts):
    """Aggregations that need every row of a bin: bins cut by partitions (50
    partitions: many inside one bin) give pandas' answers."""
    pdf = _data()
    pdf["y"] = pdf.y.where(pdf.k % 7 != 0)  # missing values are not counted
    df = dd.from_pandas(pdf, npartitions=nparts)
    for how, opts in HOLISTIC:
        _eq(getattr(df.resample(rule, **kw), how)(**opts).compute(),
            getattr(pdf.resample(rule, **kw), how)(**opts))
        _eq(getattr(df.y.resample(rule, **kw), how)(**opts).compute(),
            getattr(pdf.y.resample(rule, **kw), how)(**opts))
    _eq(df.resample(rule, **kw).agg({"x": "median", "y": ["nunique", "sum"]}).compute(),
        pdf.resample(rule, **kw).agg({"x": "median", "y": ["nunique", "sum"]}))


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_resample_holistic_empty_partitions_and_loose_divisions(scheduler):
    pdf = _data()
    df = dd.from_pandas(pdf, npartitions=10)
    sub = df[(df.k >= 20) & ((df.k < 40) | (df.k >= 95))]
    psub = pdf[(pdf.k >= 20) & ((pdf.k < 40) | (pdf.k >= 95))]
    # (not interpolation="nearest": pandas casts its empty bins' NaN to int64 garbage)
    for how, opts in HOLISTIC[:3]:
        _eq(getattr(sub.resample("2h"), how)(**opts).compute(scheduler=scheduler),
            getattr(psub.resample("2h"), how)(**opts))

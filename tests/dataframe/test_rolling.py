"""rolling against pandas: counts and time spans, windows over several partitions."""

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd


def _eq(a, b):
    if isinstance(b, pd.Series):
        pd.testing.assert_series_equal(a, b, check_freq=False)
    else:
        pd.testing.assert_frame_equal(a, b, check_freq=False)


def _data(n=60):
    rng = np.random.default_rng(5)
    x = rng.normal(size=n)
    x[[0, 7, 8, 30]] = np.nan
    # irregular times so time windows hold different numbers of rows
    t = pd.Timestamp("2022-01-01") + pd.to_timedelta(np.cumsum(rng.integers(1, 40, n)), "min")
    return pd.DataFrame({"x": x, "y": rng.integers(0, 9, n)}, index=t)


METHODS = ["sum", "mean", "count", "min", "max", "std", "var", "median"]


@pytest.mark.parametrize("window", [2, 5, 13, "45min", "3h"])
def test_rolling_spans_several_partitions(window):
    pdf = _data()
    df = dd.from_pandas(pdf, npartitions=12)  # 5 rows each: 13 rows / 3h reach far back
    for m in METHODS:
        _eq(getattr(df.rolling(window), m)().compute(), getattr(pdf.rolling(window), m)())
    _eq(df.x.rolling(window, min_periods=1).sum().compute(),
        pdf.x.rolling(window, min_periods=1).sum())


@pytest.mark.parametrize("window", [3, 6, "2h"])
def test_rolling_center(window):
    pdf = _data()
    df = dd.from_pandas(pdf, npartitions=9)
    _eq(df.rolling(window, center=True).mean().compute(),
        pdf.rolling(window, center=True).mean())
    _eq(df.x.rolling(window, center=True, min_periods=2).max().compute(),
        pdf.x.rolling(window, center=True, min_periods=2).max())


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_rolling_empty_and_uneven_partitions(scheduler):
    pdf = _data().assign(k=np.arange(60))
    df = dd.from_pandas(pdf, npartitions=10)
    # rows 12..29 gone (whole partitions empty), others thinned unevenly
    sub = df[df.y.isin([0, 1, 2, 3]) & ((df.k < 12) | (df.k >= 30))]
    psub = pdf[pdf.y.isin([0, 1, 2, 3]) & ((pdf.k < 12) | (pdf.k >= 30))]
    assert len(psub) < len(pdf)
    for w in (4, "2h"):
        _eq(sub.rolling(w).sum().compute(scheduler=scheduler), psub.rolling(w).sum())
        _eq(sub.x.rolling(w, min_periods=2).mean().compute(scheduler=scheduler),
            psub.x.rolling(w, min_periods=2).mean())


def test_rolling_apply_agg_quantile():
    pdf = _data()
    df = dd.from_pandas(pdf, npartitions=6)
    f = lambda a: float(np.nanmax(a) - np.nanmin(a)) if np.isfinite(a).any() else np.nan
    _eq(df.x.rolling(4).apply(f, raw=True).compute(), pdf.x.rolling(4).apply(f, raw=True))
    _eq(df.rolling("90min").agg(["sum", "max"]).compute(),
        pdf.rolling("90min").agg(["sum", "max"]))
    _eq(df.x.rolling(5).quantile(0.25).compute(), pdf.x.rolling(5).quantile(0.25))


def test_rolling_errors():
    df = dd.from_pandas(pd.DataFrame({"x": range(5)}), npartitions=2)
    with pytest.raises(ValueError, match="datetime index"):
        df.rolling("2h")
    with pytest.raises(ValueError, match="window must be"):
        df.rolling(-1)
    with pytest.raises(ValueError, match="row count or a time span"):
        df.rolling([1])


def test_rolling_plan_borrows_only_edges():
    df = dd.from_pandas(_data(), npartitions=4)
    graph = dict(df.rolling(3).sum().__plait_graph__())
    # one edge and one carry task per boundary, one output per partition
    names = [k[0].split("-")[0] for k in graph if isinstance(k, tuple)]
    assert names.count("edge") == 3 and names.count("carry") == 3


def test_column_selection_after_rolling_narrows_the_read(tmp_path):
    pdf = _data().rename_axis("t")
    dd.from_pandas(pdf, npartitions=4).to_parquet(tmp_path / "o")
    df = dd.read_parquet(tmp_path / "o", calculate_divisions=True)
    for q, e in [(df.rolling("2h").sum()[["x"]], pdf.rolling("2h").sum()[["x"]]),
                 (df.shift(2).y, pdf.shift(2).y), (df.diff()[["x"]], pdf.diff()[["x"]])]:
        readers = [n for n in _walk(q.optimize().expr) if type(n).__name__ == "FromParts"]
        assert len(readers) == 1 and len(readers[0].columns_) == 1
        _eq(q.compute(), e)


def _walk(e):
    from plait.dataframe.expr import walk

    return list(walk([e]))


@pytest.mark.parametrize("closed", ["both", "left", "neither", "right"])
def test_rolling_closed(closed):
    pdf = _data()
    df = dd.from_pandas(pdf, npartitions=15)  # 4 rows each: windows reach 2 back
    for w in (4, "70min"):
        _eq(df.rolling(w, closed=closed).sum().compute(), pdf.rolling(w, closed=closed).sum())

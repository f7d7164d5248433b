"""shift / diff across partitions, and loc by date strings, against pandas."""

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd


def _eq(a, b):
    if isinstance(b, pd.Series):
        pd.testing.assert_series_equal(a, b, check_freq=False)
    else:
        pd.testing.assert_frame_equal(a, b, check_freq=False)


def _data(n=40):
    rng = np.random.default_rng(3)
    x = rng.normal(size=n)
    x[[2, 3, 17]] = np.nan
    return pd.DataFrame({"x": x, "i": np.arange(n)},
                        index=pd.date_range("2021-03-01", periods=n, freq="53min"))


def _gappy(pdf, nparts=8):
    """Uneven partitions, two of them empty (a filter drops their rows)."""
    df = dd.from_pandas(pdf, npartitions=nparts)
    keep = (pdf.i < 5) | (pdf.i >= 16) & (pdf.i < 22) | (pdf.i >= 30)
    return df[df.i.isin(list(pdf.i[keep]))], pdf[keep]


@pytest.mark.parametrize("periods", [1, 3, 9, -1, -7])
def test_shift_diff_many_partitions(periods):
    pdf = _data()
    df = dd.from_pandas(pdf, npartitions=10)  # 4 rows each: 9 reaches 3 partitions back
    _eq(df.shift(periods).compute(), pdf.shift(periods))
    _eq(df.diff(periods).compute(), pdf.diff(periods))
    _eq(df.x.shift(periods).compute(), pdf.x.shift(periods))
    _eq(df.x.diff(periods).compute(), pdf.x.diff(periods))


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_shift_diff_empty_and_uneven(scheduler):
    df, pdf = _gappy(_data())
    assert df.npartitions == 8
    for p in (2, -3, 5):
        _eq(df.shift(p).compute(scheduler=scheduler), pdf.shift(p))
        _eq(df.x.diff(p).compute(scheduler=scheduler), pdf.x.diff(p))


def test_shift_freq_moves_index_and_divisions():
    pdf = _data()
    df = dd.from_pandas(pdf, npartitions=4)
    out = df.shift(2, freq="h")
    assert out.divisions == tuple(pd.Index(df.divisions).shift(2, freq="h"))
    _eq(out.compute(), pdf.shift(2, freq="h"))
    _eq(df.shift(0).compute(), pdf)


def test_shift_errors():
    df = dd.from_pandas(_data(), npartitions=2)
    with pytest.raises(TypeError, match="periods must be an int"):
        df.shift(1.5)
    with pytest.raises(NotImplementedError, match="axis=0"):
        df.diff(1, axis=1)


def test_loc_by_date_strings():
    pdf = _data(200)
    df = dd.from_pandas(pdf, npartitions=7)
    for key in ["2021-03-02", "2021-03-03 05", slice("2021-03-02", "2021-03-04"),
                slice(None, "2021-03-02 10:00"), slice("2021-03-05", None)]:
        _eq(df.loc[key].compute(), pdf.loc[key])
    _eq(df.x.loc["2021-03-04"].compute(), pdf.x.loc["2021-03-04"])

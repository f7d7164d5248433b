"""repartition (npartitions, divisions, partition_size) and reset_index."""

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd

from .keydata import key_frame, partitioned


@pytest.mark.parametrize("n", [1, 2, 3, 7, 20])
@pytest.mark.parametrize("parts", ["four", "empty-parts"])
def test_repartition_npartitions(n, parts):
    pdf = key_frame("strings", n=50)
    df = partitioned(pdf, parts)
    out = df.repartition(npartitions=n)
    assert out.npartitions == n or (df.known_divisions and out.npartitions <= n)
    pd.testing.assert_frame_equal(out.compute(scheduler="sync"), pdf)
    if df.known_divisions and n < df.npartitions:
        assert out.known_divisions and out.divisions[0] == 0 and out.divisions[-1] == 49


def test_repartition_more_keeps_known_divisions():
    pdf = key_frame("skewed", n=100)
    out = dd.from_pandas(pdf, npartitions=2).repartition(npartitions=5)
    assert out.npartitions == 5 and out.known_divisions
    pd.testing.assert_frame_equal(out.compute(), pdf)
    for i in range(5):
        part = out.get_partition(i).compute()
        assert part.index.min() >= out.divisions[i]


def test_repartition_more_datetime_index():
    pdf = pd.DataFrame({"x": range(48)}, index=pd.date_range("2024-01-01", periods=48, freq="h"))
    out = dd.from_pandas(pdf, npartitions=2).repartition(npartitions=4)
    assert out.npartitions == 4 and out.known_divisions
    pd.testing.assert_frame_equal(out.compute(), pdf)


def test_repartition_divisions():
    pdf = key_frame("nulls", n=60)
    df = dd.from_pandas(pdf, npartitions=3)
    out = df.repartition(divisions=(0, 5, 6, 30, 59))
    assert out.divisions == (0, 5, 6, 30, 59)
    pd.testing.assert_frame_equal(out.compute(), pdf)
    assert out.get_partition(1).compute().index.tolist() == [5]
    with pytest.raises(ValueError, match="force=True"):
        df.repartition(divisions=(0, 100))
    pd.testing.assert_frame_equal(df.repartition(divisions=(10, 20), force=True).compute(),
                                  pdf.loc[10:20])
    with pytest.raises(ValueError, match="known divisions"):
        df.reset_index().repartition(divisions=(0, 1))
    with pytest.raises(ValueError, match="exactly one of"):
        df.repartition(npartitions=2, divisions=(0, 59))


def test_repartition_partition_size():
    pdf = pd.DataFrame({"x": np.arange(1000), "y": np.arange(1000.0)})  # 16 kB + index
    df = dd.from_pandas(pdf, npartitions=2)
    out = df.repartition(partition_size="2kB")
    assert out.npartitions >= 8
    pd.testing.assert_frame_equal(out.compute(), pdf)
    sizes = [out.get_partition(i).compute().memory_usage(deep=True).sum()
             for i in range(out.npartitions)]
    assert max(sizes) <= 2000 + 200  # a row range never splits a row
    merged = dd.from_pandas(pdf, npartitions=10).repartition(partition_size="1MB")
    assert merged.npartitions == 1 and merged.known_divisions
    pd.testing.assert_frame_equal(merged.compute(), pdf)


@pytest.mark.parametrize("drop", [False, True])
def test_reset_index(drop):
    pdf = key_frame("skewed", n=30).set_index("i")
    df = dd.from_pandas(pdf, npartitions=3)
    out = df.reset_index(drop=drop)
    assert not out.known_divisions
    res = out.compute()
    expected = pdf.reset_index(drop=drop)
    # as in Dask, each partition's new index counts from 0
    pd.testing.assert_frame_equal(res.reset_index(drop=True), expected)
    assert res.index.tolist() == [j for p in (10, 10, 10) for j in range(p)]


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_repartition_under_schedulers(scheduler):
    pdf = key_frame("categorical", n=40)
    out = dd.from_pandas(pdf, npartitions=4).repartition(npartitions=3).repartition(npartitions=6)
    pd.testing.assert_frame_equal(out.compute(scheduler=scheduler), pdf)


@pytest.mark.parametrize("freq", ["1D", "12h", "W", "MS", "ME", "QE", "7D"])
@pytest.mark.parametrize("scheduler", ["sync", "processes"])
def test_repartition_freq(freq, scheduler):
    pdf = pd.DataFrame({"x": np.arange(300.0)},
                       index=pd.date_range("2024-01-01 03:00", periods=300, freq="9h"))
    df = dd.from_pandas(pdf, npartitions=4)
    out = df.repartition(freq=freq)
    d = out.divisions
    assert d[0] == pdf.index[0] and d[-1] == pdf.index[-1] and list(d) == sorted(set(d))
    inner = pd.DatetimeIndex(d[1:-1])
    offset = pd.tseries.frequencies.to_offset(freq.replace("ME", "MS").replace("QE", "QS-JAN"))
    if len(inner):
        assert all(offset.is_on_offset(t) for t in inner)
        assert (inner.normalize() == inner).all() or freq == "12h"
    if freq in ("1D", "12h"):
        expected = pd.date_range(pdf.index[0].ceil(freq), pdf.index[-1], freq=freq)
        assert list(inner) == [t for t in expected if t < pdf.index[-1]]
    pd.testing.assert_frame_equal(out.compute(scheduler=scheduler), pdf)
    for i, part in enumerate(out.partitions[i] for i in range(out.npartitions)):
        got = part.compute(scheduler="sync")
        if len(got):
            assert d[i] <= got.index.min() and got.index.max() <= d[i + 1]


def test_repartition_freq_errors():
    df = dd.from_pandas(pd.DataFrame({"x": range(10)}), npartitions=2)
    with pytest.raises(TypeError, match="datetime index"):
        df.repartition(freq="1D")
    ts = pd.DataFrame({"x": range(10)}, index=pd.date_range("2024", periods=10))
    unknown = dd.from_pandas(ts, npartitions=2, sort=False)
    with pytest.raises(ValueError, match="known divisions"):
        unknown.repartition(freq="1D")
    with pytest.raises(ValueError, match="exactly one"):
        dd.from_pandas(ts, npartitions=2).repartition(freq="1D", npartitions=2)

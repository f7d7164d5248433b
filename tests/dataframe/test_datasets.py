"""plait.datasets.timeseries: deterministic, lazy, known divisions."""

from __future__ import annotations

import pandas as pd
import pytest

import plait


def test_shape_columns_divisions():
    df = plait.datasets.timeseries(end="2000-01-04", freq="1min", seed=1)
    assert df.npartitions == 3
    assert list(df.columns) == ["name", "id", "x", "y"]
    assert df.known_divisions
    assert df.divisions[0] == pd.Timestamp("2000-01-01")
    assert df.divisions[-1] == pd.Timestamp("2000-01-04")
    pdf = df.compute(scheduler="sync")
    assert len(pdf) == 3 * 24 * 60
    assert pdf.index.name == "timestamp" and pdf.index.is_monotonic_increasing
    assert pdf.index[0] == pd.Timestamp("2000-01-01") and pdf.index[-1] < df.divisions[-1]
    assert pdf.x.between(-1, 1).all() and pdf.y.between(-1, 1).all()
    assert pdf.id.dtype == "int64" and pdf.name.dtype == df._meta.name.dtype
    pd.testing.assert_frame_equal(pdf.iloc[:0], df._meta, check_freq=False)


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_same_seed_same_data_under_every_scheduler(scheduler):
    a = plait.datasets.timeseries(end="2000-01-03", freq="10min", seed=42)
    b = plait.datasets.timeseries(end="2000-01-03", freq="10min", seed=42)
    pd.testing.assert_frame_equal(a.compute(scheduler="sync"), b.compute(scheduler=scheduler))
    c = plait.datasets.timeseries(end="2000-01-03", freq="10min", seed=43)
    assert not c.compute(scheduler="sync").x.equals(a.compute(scheduler="sync").x)


def test_column_selection_does_not_change_values_and_is_pushed_down():
    df = plait.datasets.timeseries(end="2000-01-03", freq="10min", seed=5)
    full = df.compute(scheduler="sync")
    pd.testing.assert_series_equal(df.x.compute(scheduler="sync"), full.x)
    got = df.groupby(df.id).x.sum().compute(scheduler="sync")
    pd.testing.assert_series_equal(got, full.groupby(full.id).x.sum())
    pd.testing.assert_frame_equal(df[df.x > 0.5][["id", "x"]].compute(scheduler="sync"),
                                  full[full.x > 0.5][["id", "x"]])
    # without a seed the frame is still the same every time it is computed
    free = plait.datasets.timeseries(end="2000-01-02", freq="1h")
    pd.testing.assert_frame_equal(free.compute(scheduler="sync"),
                                  free.compute(scheduler="sync"))


def test_defaults_and_dtypes():
    df = plait.datasets.timeseries()
    assert df.npartitions == 30
    assert len(df.head()) == 5
    custom = plait.datasets.timeseries(end="2000-01-02", freq="1h", seed=0,
                                       dtypes={"a": float, "b": int, "c": "category"})
    out = custom.compute(scheduler="sync")
    assert list(out.columns) == ["a", "b", "c"] and len(out) == 24
    with pytest.raises(ValueError, match="after start"):
        plait.datasets.timeseries(start="2000-01-02", end="2000-01-01")

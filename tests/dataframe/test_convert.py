"""Conversions: to plait arrays, NumPy, delayed; module-level helpers; visualize."""

import numpy as np
import pandas as pd
import pytest

import plait
import plait.dataframe as dd
from plait.dataframe.utils import assert_eq


def test_to_dask_array_lengths(ddf_pair):
    df, pdf = ddf_pair
    num, pnum = df[["x", "y"]], pdf[["x", "y"]]
    arr = num.to_dask_array(lengths=True)
    assert arr.shape == pnum.shape
    assert sum(arr.chunks[0]) == len(pdf)
    np.testing.assert_array_equal(arr.compute(), pnum.to_numpy())
    np.testing.assert_array_equal((arr * 2).sum(axis=0).compute(), (pnum.to_numpy() * 2).sum(axis=0))
    s = df.x.to_dask_array(lengths=True)
    np.testing.assert_array_equal(s.compute(), pdf.x.to_numpy())
    assert s.shape == (len(pdf),)


def test_values_unknown_chunks(ddf_pair):
    df, pdf = ddf_pair
    v = df.x.values
    assert np.isnan(v.shape[0])
    np.testing.assert_array_equal(v.compute(), pdf.x.to_numpy())
    np.testing.assert_array_equal(df[["x", "y"]].values.compute(), pdf[["x", "y"]].to_numpy())
    np.testing.assert_array_equal(np.asarray(df.x), pdf.x.to_numpy())
    with pytest.raises(ValueError, match="lengths"):
        df.x.to_dask_array(lengths=[1] * (df.npartitions + 1))


def test_module_helpers(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(dd.isna(df.y), pd.isna(pdf.y))
    assert dd.isna(np.nan)
    assert_eq(dd.to_timedelta(df.x, unit="s"), pd.to_timedelta(pdf.x, unit="s"))
    a, b = dd.compute(df.x.sum(), df.y.count())
    assert a == pdf.x.sum() and b == pdf.y.count()
    (p,) = dd.persist(df.x)
    assert_eq(p, pdf.x)


def test_visualize(pdf, tmp_path):
    pytest.importorskip("graphviz")
    import shutil

    if shutil.which("dot") is None:
        pytest.skip("the graphviz 'dot' program is not installed")
    df = dd.from_pandas(pdf, npartitions=2)
    out = tmp_path / "graph.png"
    df.x.sum().visualize(filename=str(out))
    assert out.exists() and out.stat().st_size > 0


def test_delayed_roundtrip_through_plait_delayed(pdf):
    df = dd.from_pandas(pdf, npartitions=3)
    parts = df.to_delayed()
    lengths = [plait.delayed(len)(p) for p in parts]
    assert sum(plait.compute(*lengths, scheduler="sync")) == len(pdf)
    back = dd.from_delayed(parts, meta=df._meta, divisions=df.divisions)
    assert back.known_divisions
    assert_eq(back, pdf)


def test_index_collection(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.index, pdf.index)
    assert df.index.max().compute() == pdf.index.max()
    assert df.index.min().compute() == pdf.index.min()
    assert len(df.index) == len(pdf)
    assert_eq(df.index.to_series(), pdf.index.to_series())

"""Collections: creation, structure, display, the collection protocol."""

import numpy as np
import pandas as pd
import pytest

import plait
import plait.array as da
import plait.dataframe as dd
from plait.dataframe.core import Scalar, new_collection
from plait.dataframe.expr import FromPandas
from plait.dataframe.utils import assert_eq


def test_from_pandas_divisions_and_roundtrip(pdf):
    df = dd.from_pandas(pdf, npartitions=4)
    assert df.npartitions == 4
    assert df.divisions[0] == pdf.index[0] and df.divisions[-1] == pdf.index[-1]
    assert list(df.columns) == list(pdf.columns)
    assert df.dtypes.equals(pdf.dtypes)
    assert_eq(df, pdf)
    assert_eq(dd.from_pandas(pdf, chunksize=8), pdf)
    assert dd.from_pandas(pdf, chunksize=8).npartitions == 4


def test_from_pandas_unsorted_and_sort_false():
    pdf = pd.DataFrame({"x": range(6)}, index=[5, 3, 1, 4, 2, 0])
    assert_eq(dd.from_pandas(pdf, npartitions=2), pdf.sort_index())
    df = dd.from_pandas(pdf, npartitions=2, sort=False)
    assert not df.known_divisions
    assert_eq(df, pdf)


def test_from_pandas_duplicate_index_never_split():
    pdf = pd.DataFrame({"x": range(8)}, index=[0, 1, 1, 1, 1, 2, 3, 3])
    df = dd.from_pandas(pdf, npartitions=4)
    parts = [df.get_partition(i).compute() for i in range(df.npartitions)]
    seen = [set(p.index) for p in parts]
    for i in range(len(seen)):
        for j in range(i + 1, len(seen)):
            assert not seen[i] & seen[j]
    assert_eq(df, pdf)


def test_from_pandas_errors(pdf):
    with pytest.raises(ValueError, match="exactly one of npartitions"):
        dd.from_pandas(pdf)
    with pytest.raises(TypeError, match="from_dict"):
        dd.from_pandas({"a": [1]}, npartitions=1)


def test_from_pandas_series_and_empty():
    s = pd.Series([1.0, 2.0, np.nan], name="v")
    assert_eq(dd.from_pandas(s, npartitions=2), s)
    empty = pd.DataFrame({"a": pd.Series([], dtype="i8")})
    de = dd.from_pandas(empty, npartitions=3)
    assert_eq(de, empty)
    assert len(de) == 0


def test_from_dict():
    data = {"a": [1, 2, 3, 4], "b": ["x", "y", "z", "w"]}
    assert_eq(dd.from_dict(data, npartitions=2), pd.DataFrame(data))


def test_from_array_numpy_and_plait():
    x = np.arange(12.0).reshape(6, 2)
    df = dd.from_array(x, chunksize=4, columns=["a", "b"])
    assert df.known_divisions and df.npartitions == 2
    assert_eq(df, pd.DataFrame(x, columns=["a", "b"]))
    s = dd.from_array(np.arange(5), chunksize=2)
    assert_eq(s, pd.Series(np.arange(5)))
    arr = da.from_array(x, chunks=(4, 1))
    df2 = dd.from_array(arr, columns=["a", "b"])
    assert df2.npartitions == 2 and df2.divisions == (0, 4, 5)
    assert_eq(df2, pd.DataFrame(x, columns=["a", "b"]))
    assert_eq(dd.from_array(da.arange(7, chunks=3)), pd.Series(np.arange(7)))


def test_from_delayed_and_to_delayed(pdf):
    pieces = [pdf.iloc[:10], pdf.iloc[10:]]
    values = [plait.delayed(lambda p: p)(p) for p in pieces]
    df = dd.from_delayed(values, meta=pdf.iloc[:0])
    assert df.npartitions == 2
    assert_eq(df, pdf, check_divisions=False)
    df2 = dd.from_delayed(values)  # meta from the first value
    assert_eq(df2.x.sum(), pdf.x.sum())
    parts = dd.from_pandas(pdf, npartitions=3).to_delayed()
    assert len(parts) == 3
    assert_eq(pd.concat(plait.compute(*parts, scheduler="sync")), pdf)
    assert len(dd.to_delayed(df)) == 2


def test_from_map(pdf):
    df = dd.from_map(lambda a, b: pdf.iloc[a:b], [0, 10, 20], [10, 20, 30])
    assert df.npartitions == 3 and not df.known_divisions
    assert_eq(df, pdf)
    df = dd.from_map(lambda i, k: pdf.iloc[i * k:(i + 1) * k], range(3), args=(10,),
                     divisions=(0, 20, 40, 58))
    assert df.known_divisions
    assert_eq(df.loc[20:30], pdf.loc[20:30])


def test_new_collection_types(pdf):
    df = dd.from_pandas(pdf, npartitions=2)
    assert type(new_collection(df.expr)).__name__ == "DataFrame"
    assert type(df.x).__name__ == "Series"
    assert type(df.index).__name__ == "Index"
    assert isinstance(df.x.sum(), Scalar)
    assert df.x.dtype == pdf.x.dtype and df.x.name == "x"
    assert df.x.sum().dtype == np.dtype("int64")
    assert df.expr is df.expr and df._meta.empty
    assert_eq(df.index, pdf.index)


def test_repr_does_not_compute(pdf):
    calls = []

    def reader(part, columns=None, filters=None):
        calls.append(part)
        return pdf

    from plait.dataframe.expr import FromParts

    df = new_collection(FromParts(reader, [0, 1], pdf.iloc[:0]))
    text = repr(df)
    html = df._repr_html_()
    assert "npartitions=2" in text and "float64" in text and "int64" in text
    assert "<table" in html and "npartitions=2" in html
    assert "float64" in repr(df.y) and "Scalar" in repr(df.y.sum())
    assert calls == []


def test_len_shape_size(ddf_pair):
    df, pdf = ddf_pair
    assert len(df) == len(pdf)
    rows, cols = df.shape
    assert isinstance(rows, Scalar) and cols == pdf.shape[1]
    assert rows.compute() == len(pdf)
    assert df.x.shape[0].compute() == len(pdf)
    assert_eq(df.size, pdf.size)
    assert_eq(df.x.size, pdf.x.size)


def test_compute_persist_schedulers(pdf, scheduler):
    df = dd.from_pandas(pdf, npartitions=3)
    q = df[df.x > 0].y
    assert_eq(q, pdf[pdf.x > 0].y, scheduler=scheduler)
    p = q.persist(scheduler=scheduler)
    assert p.npartitions == q.npartitions and p.divisions == q.divisions
    assert_eq(p + 1, pdf[pdf.x > 0].y + 1, scheduler=scheduler)
    a, b = plait.compute(df.x.sum(), df.y.max(), scheduler=scheduler)
    assert a == pdf.x.sum() and b == pdf.y.max()


def test_default_scheduler_is_threads():
    assert dd.DataFrame.__plait_scheduler__ == "threads"
    assert dd.Series.__plait_scheduler__ == "threads"


def test_tokenize_deterministic(pdf):
    a = dd.from_pandas(pdf, npartitions=2)
    b = dd.from_pandas(pdf.copy(), npartitions=2)
    assert plait.tokenize(a) == plait.tokenize(b)
    assert plait.tokenize(a.x + 1) == plait.tokenize(b.x + 1)
    assert plait.tokenize(a.x + 1) != plait.tokenize(a.x + 2)


def test_visualize_graph_available(pdf):
    df = dd.from_pandas(pdf, npartitions=2)
    graph = (df.x + 1).dask
    assert len(graph) == 2


def test_immutable(pdf):
    df = dd.from_pandas(pdf, npartitions=2)
    with pytest.raises(AttributeError, match="cannot set attribute"):
        df.foo = 1


def test_explain_and_pprint(pdf, capsys):
    df = dd.from_pandas(pdf, npartitions=2)
    df[df.x > 0][["y"]].explain()
    out = capsys.readouterr().out
    assert "FromPandas" in out and "Filter" in out
    df[df.x > 0][["y"]].pprint()
    assert "Projection" in capsys.readouterr().out
    _ = FromPandas


def test_public_names():
    for name in dd.__all__:
        assert hasattr(dd, name), name
    for name in ["from_pandas", "from_dict", "from_array", "from_delayed", "from_map",
                 "to_delayed", "to_datetime", "to_numeric", "map_partitions", "DataFrame",
                 "Series", "Index", "Scalar", "compute", "persist", "isna"]:
        assert name in dd.__all__, name

"""Columns and rows: selection, filters, loc/iloc, assignment, partitions, head/tail."""

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd
from plait.dataframe.utils import assert_eq


def test_column_selection(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.x, pdf.x)
    assert_eq(df["s"], pdf["s"])
    assert_eq(df[["y", "x"]], pdf[["y", "x"]])
    assert_eq(df[["t", "c"]], pdf[["t", "c"]])
    assert "x" in dir(df) and "x" in df
    with pytest.raises(KeyError, match="its columns are"):
        df["nope"]
    with pytest.raises(KeyError, match="not in the DataFrame"):
        df[["x", "nope"]]
    with pytest.raises(AttributeError):
        getattr(df, "nope")


def test_boolean_filter(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df[df.x > 0], pdf[pdf.x > 0])
    assert_eq(df[~df.b], pdf[~pdf.b])
    assert_eq(df[df.b], pdf[pdf.b])
    assert_eq(df[(df.x > 0) & df.y.notna()].y, pdf[(pdf.x > 0) & pdf.y.notna()].y)
    assert_eq(df.y[df.x < 0], pdf.y[pdf.x < 0])
    assert_eq(df[df.s == "s1"], pdf[pdf.s == "s1"])
    assert_eq(df[df.x > 100], pdf[pdf.x > 100])  # nothing left
    with pytest.raises(KeyError, match="boolean"):
        df[df.x]


def test_assign_setitem_drop_rename(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.assign(z=df.x * 2, w=1), pdf.assign(z=pdf.x * 2, w=1))
    assert_eq(df.assign(z=lambda d: d.x + d.y), pdf.assign(z=lambda d: d.x + d.y))
    assert_eq(df.assign(x=df.y), pdf.assign(x=pdf.y))
    d2, p2 = df.copy(), pdf.copy()
    d2["new"] = d2.x + 1
    p2["new"] = p2.x + 1
    d2["k"] = "const"
    p2["k"] = "const"
    assert_eq(d2, p2)
    assert_eq(df, pdf)  # the original is unchanged
    d2[["m", "n"]] = 0
    p2[["m", "n"]] = 0
    assert_eq(d2, p2)
    del d2["m"]
    del p2["m"]
    assert_eq(d2, p2)
    assert_eq(df.drop(columns=["s", "c"]), pdf.drop(columns=["s", "c"]))
    assert_eq(df.drop("y", axis=1), pdf.drop("y", axis=1))
    assert_eq(df.drop(columns=["nope"], errors="ignore"), pdf.drop(columns=["nope"], errors="ignore"))
    with pytest.raises(KeyError, match="errors='ignore'"):
        df.drop(columns=["nope"])
    with pytest.raises(NotImplementedError, match="drops columns"):
        df.drop([0])
    assert_eq(df.rename(columns={"x": "X"}), pdf.rename(columns={"x": "X"}))
    assert_eq(df.rename(columns=str.upper), pdf.rename(columns=str.upper))
    assert_eq(df.x.rename("xx"), pdf.x.rename("xx"))
    d3 = df.copy()
    d3.columns = list("abcdef")
    p3 = pdf.copy()
    p3.columns = list("abcdef")
    assert_eq(d3, p3)
    with pytest.raises(TypeError, match="lengths are unknown"):
        df.assign(z=np.arange(len(pdf)))


def test_assign_alignment_with_other_frame():
    pdf = pd.DataFrame({"x": range(10)})
    other = pd.Series(np.arange(20.0), index=range(-5, 15), name="o")
    df = dd.from_pandas(pdf, npartitions=3)
    so = dd.from_pandas(other, npartitions=2)
    assert_eq(df.assign(o=so), pdf.assign(o=other))


def test_loc_known_divisions(pdf):
    df = dd.from_pandas(pdf, npartitions=4)
    assert_eq(df.loc[10:30], pdf.loc[10:30])
    assert_eq(df.loc[:13], pdf.loc[:13])
    assert_eq(df.loc[41:], pdf.loc[41:])
    assert_eq(df.loc[20], pdf.loc[[20]])
    assert_eq(df.loc[[2, 20, 44]], pdf.loc[[2, 20, 44]])
    assert_eq(df.loc[10:30, ["x", "y"]], pdf.loc[10:30, ["x", "y"]])
    assert_eq(df.loc[10:30, "x"], pdf.loc[10:30, "x"])
    assert_eq(df.loc[df.x > 0, ["y"]], pdf.loc[pdf.x > 0, ["y"]])
    assert_eq(df.x.loc[4:12], pdf.x.loc[4:12])
    assert_eq(df[8:20], pdf.loc[8:20])
    # only the partitions that can hold the labels are read
    assert df.loc[10:14].npartitions == 1
    assert df.loc[20].npartitions == 1


def test_loc_unknown_divisions_error(pdf):
    df = dd.from_pandas(pdf, npartitions=3, sort=False)
    with pytest.raises(KeyError, match="known divisions"):
        df.loc[3:5]
    assert_eq(df.loc[df.x > 0], pdf[pdf.x > 0])


def test_iloc_columns(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.iloc[:, [0, 2]], pdf.iloc[:, [0, 2]])
    assert_eq(df.iloc[:, 1], pdf.iloc[:, 1])
    assert_eq(df.iloc[:, 1:3], pdf.iloc[:, 1:3])
    with pytest.raises(NotImplementedError, match="columns only"):
        df.iloc[3]


def test_head_tail(ddf_pair):
    df, pdf = ddf_pair
    got = df.head(3, npartitions=-1)
    pd.testing.assert_frame_equal(got, pdf.head(3))
    pd.testing.assert_frame_equal(df.head(100, npartitions=-1), pdf)
    assert_eq(df.x.head(2, npartitions=-1), pdf.x.head(2))
    assert df.tail(4, compute=False).npartitions == 1
    last = df.partitions[df.npartitions - 1].compute()
    pd.testing.assert_frame_equal(df.tail(4), last.tail(4))


def test_head_reads_only_first_partition(pdf):
    reads = []

    def reader(i, columns=None, filters=None):
        reads.append(i)
        part = pdf.iloc[i * 10:(i + 1) * 10]
        return part if columns is None else part[columns]

    from plait.dataframe.core import new_collection
    from plait.dataframe.expr import FromParts

    df = new_collection(FromParts(reader, [0, 1, 2], pdf.iloc[:0]))
    out = (df[df.x > -100].y + 1).head(3)
    pd.testing.assert_series_equal(out, (pdf.y + 1).head(3))
    assert reads == [0]
    reads.clear()
    with pytest.warns(UserWarning, match="npartitions=-1"):
        df.head(15)
    assert reads == [0]


def test_partitions(ddf_pair):
    df, pdf = ddf_pair
    n = df.npartitions
    parts = [df.partitions[i].compute() for i in range(n)]
    pd.testing.assert_frame_equal(pd.concat([p for p in parts]), pdf, check_index_type=False)
    assert df.partitions[0].npartitions == 1
    assert df.partitions[::1].npartitions == n
    assert df.get_partition(n - 1).npartitions == 1
    with pytest.raises(IndexError, match="out of range"):
        df.partitions[n]


def test_partitions_divisions(pdf):
    df = dd.from_pandas(pdf, npartitions=4)
    sub = df.partitions[1:3]
    assert sub.divisions == df.divisions[1:4]
    assert_eq(sub, pd.concat([df.get_partition(1).compute(), df.get_partition(2).compute()]))
    assert not df.partitions[[0, 2]].known_divisions


def test_sample(ddf_pair):
    df, pdf = ddf_pair
    s = df.sample(frac=0.5, random_state=1)
    got = s.compute()
    assert set(got.index) <= set(pdf.index)
    assert got.index.is_unique
    pd.testing.assert_frame_equal(got, df.sample(frac=0.5, random_state=1).compute())
    assert len(df.sample(frac=1.0).compute()) == len(pdf)
    with pytest.raises(ValueError, match="frac"):
        df.sample()


def test_query_eval(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.query("x > 0 and y < 0.5"), pdf.query("x > 0 and y < 0.5"))
    k = 2
    assert_eq(df.query("x > @k", local_dict={"k": k}), pdf.query("x > @k", local_dict={"k": k}))
    assert_eq(df.eval("x + y"), pdf.eval("x + y"))
    assert_eq(df.eval("z = x * 2"), pdf.eval("z = x * 2"))


def test_select_dtypes_and_items(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.select_dtypes("number"), pdf.select_dtypes("number"))
    assert [k for k, _ in df.items()] == list(pdf.columns)


def test_pipeline_under_each_scheduler(pdf, scheduler):
    df = dd.from_pandas(pdf, npartitions=3)
    d2 = df.assign(z=df.x * df.y.fillna(0)).drop(columns=["c"])
    d2 = d2[d2.s.notna()].rename(columns={"z": "zz"})
    p2 = pdf.assign(z=pdf.x * pdf.y.fillna(0)).drop(columns=["c"])
    p2 = p2[p2.s.notna()].rename(columns={"z": "zz"})
    assert_eq(d2, p2, scheduler=scheduler)
    assert_eq(d2.loc[10:40, ["zz", "t"]], p2.loc[10:40, ["zz", "t"]], scheduler=scheduler)
    assert_eq(d2.map_partitions(lambda p: p.zz.abs()), p2.zz.abs(), scheduler=scheduler)
    assert_eq(d2.zz.sum(), p2.zz.sum(), scheduler=scheduler)


def test_loc_date_strings():
    idx = pd.date_range("2024-01-01", periods=24 * 40, freq="h")
    pdf = pd.DataFrame({"v": np.arange(len(idx))}, index=idx)
    df = dd.from_pandas(pdf, npartitions=7)
    for key in ["2024-01-05", "2024-02", "2024-01-31 23:00"]:
        assert_eq(df.loc[key], pdf.loc[key:key])
    assert_eq(df.loc["2024-01-03":"2024-01-09"], pdf.loc["2024-01-03":"2024-01-09"])
    assert_eq(df.loc[:"2024-01-02"], pdf.loc[:"2024-01-02"])
    assert_eq(df.loc["2024-02-05":], pdf.loc["2024-02-05":])
    assert df.loc["2024-01-05"].npartitions == 1
    assert_eq(df.v.loc["2024-01-10":"2024-01-12"], pdf.v.loc["2024-01-10":"2024-01-12"])


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_filter_by_index_comparison(scheduler):
    # df.index < label is a boolean Series on the index, so it filters the frame and
    # combines with column masks, as in pandas.
    pdf = pd.DataFrame({"y": range(30)}, index=pd.date_range("2000", periods=30, freq="h"))
    ddf = dd.from_pandas(pdf, npartitions=4)
    cut = "2000-01-01 07:00"
    got = ddf[ddf.index < cut].compute(scheduler=scheduler)
    pd.testing.assert_frame_equal(got, pdf[pdf.index < cut])
    got = ddf[(ddf.y > 25) | (ddf.index <= cut)].compute(scheduler=scheduler)
    pd.testing.assert_frame_equal(got, pdf[(pdf.y > 25) | (pdf.index <= cut)])
    got = ddf[ddf.index != pdf.index[3]].compute(scheduler=scheduler)
    pd.testing.assert_frame_equal(got, pdf[pdf.index != pdf.index[3]])

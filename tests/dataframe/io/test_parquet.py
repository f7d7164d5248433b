"""read_parquet / to_parquet against pandas on real files in tmp_path."""

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import plait.dataframe as dd


def _pdf(n=60):
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    x[::7] = np.nan
    return pd.DataFrame({
        "a": np.arange(n),
        "x": x,
        "s": pd.array([None if i % 5 == 0 else f"k{i % 3}" for i in range(n)], dtype="str"),
        "n": pd.array([None if i % 4 == 0 else i for i in range(n)], dtype="Int64"),
    }, index=pd.date_range("2001-01-01", periods=n, freq="37min", name="t"))


def _eq(a, b, **kw):
    if isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_freq=False, **kw)
    else:
        pd.testing.assert_frame_equal(a, b, check_freq=False, **kw)


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_round_trip_with_divisions(tmp_path, scheduler):
    pdf = _pdf()
    df = dd.from_pandas(pdf, npartitions=4)
    df.to_parquet(tmp_path / "o", compute_kwargs={"scheduler": scheduler})
    r = dd.read_parquet(tmp_path / "o", calculate_divisions=True)
    assert r.npartitions == 4
    assert r.divisions == df.divisions
    _eq(r.compute(scheduler=scheduler), pdf)
    _eq(dd.read_parquet(tmp_path / "o").compute(scheduler=scheduler), pd.read_parquet(tmp_path / "o"))


def test_empty_partition_and_uneven(tmp_path):
    pdf = _pdf(30)
    df = dd.from_pandas(pdf, npartitions=3)
    df = df[df.a > 12]  # the first partition becomes empty
    df.to_parquet(tmp_path / "o")
    r = dd.read_parquet(tmp_path / "o")
    assert r.npartitions == 2  # the empty file is not planned
    _eq(r.compute(), pdf[pdf.a > 12])


def _fixture_files(tmp_path, n=1000, groups=10):
    pdf = pd.DataFrame({"x": np.arange(n), "y": np.arange(n) * 2.0,
                        "z": np.arange(n) % 7, "w": ["v"] * n})
    path = tmp_path / "f.parquet"
    pq.write_table(pa.Table.from_pandas(pdf, preserve_index=False), path,
                   row_group_size=n // groups)
    return pdf, path


def test_pushdown_plan_columns_and_filters(tmp_path, monkeypatch):
    pdf, path = _fixture_files(tmp_path)
    df = dd.read_parquet(path, split_row_groups=False)
    q = df[df.x >= 850][["y", "z"]]
    plan = q.optimize().expr
    # the whole query is one reader with the columns and the filter pushed into it
    assert type(plan).__name__ == "FromParts"
    assert plan.columns_ == ["y", "z"]  # the reader adds "x" for the filter itself
    assert plan.filters == [("x", ">=", 850)]
    read = []
    orig = pq.ParquetFile.read_row_groups

    def spy(self, row_groups, columns=None, **kw):
        read.append((list(row_groups), list(columns)))
        return orig(self, row_groups, columns=columns, **kw)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    out = q.compute(scheduler="sync")
    expected = pdf[pdf.x >= 850][["y", "z"]]
    np.testing.assert_array_equal(out.to_numpy(), expected.to_numpy())
    assert read == [([8, 9], ["x", "y", "z"])]  # 2 of 10 row groups, 3 of 4 columns


def test_filter_on_missing_values_and_ne(tmp_path):
    pdf = pd.DataFrame({"x": [np.nan] * 5 + [1.0, 2, 3, 4, 5], "y": range(10)})
    path = tmp_path / "f.parquet"
    pq.write_table(pa.Table.from_pandas(pdf, preserve_index=False), path, row_group_size=5)
    df = dd.read_parquet(path, split_row_groups=True)
    for q, e in [(df[df.x != 3], pdf[pdf.x != 3]), (df[df.x > 2], pdf[pdf.x > 2]),
                 (df[df.x.isin([1.0, 9.0])], pdf[pdf.x.isin([1.0, 9.0])])]:
        np.testing.assert_array_equal(q.compute().to_numpy(), e.to_numpy())


def test_read_filters_dnf_prunes_pieces(tmp_path):
    pdf, path = _fixture_files(tmp_path)
    df = dd.read_parquet(path, split_row_groups=True,
                         filters=[[("x", "<", 150)], [("x", ">=", 900), ("z", "==", 3)]])
    assert df.npartitions == 3  # row groups 0, 1 and 9
    out = df.compute()
    e = pdf[(pdf.x < 150) | ((pdf.x >= 900) & (pdf.z == 3))]
    np.testing.assert_array_equal(out.to_numpy(), e.to_numpy())
    with pytest.raises(ValueError, match="op one of"):
        dd.read_parquet(path, filters=[("x", "~", 1)])


def test_hive_partitioning_and_partition_filter(tmp_path):
    pdf = pd.DataFrame({"k": ["a", "b", "c"] * 10, "v": np.arange(30.0), "p": [1, 2] * 15})
    df = dd.from_pandas(pdf, npartitions=3)
    df.to_parquet(tmp_path / "h", partition_on=["k", "p"], write_index=False)
    assert sorted(os.listdir(tmp_path / "h")) == ["k=a", "k=b", "k=c"]
    r = dd.read_parquet(tmp_path / "h")
    expected = pd.read_parquet(tmp_path / "h")
    got = r.compute()
    assert got.dtypes.to_dict() == r.dtypes.to_dict()
    assert isinstance(got.k.dtype, pd.CategoricalDtype)
    key = ["k", "p", "v"]
    _eq(got.sort_values(key).reset_index(drop=True)[key],
        expected.sort_values(key).reset_index(drop=True)[key], check_categorical=False,
        check_dtype=False)
    sub = dd.read_parquet(tmp_path / "h", filters=[("k", "==", "b")])
    assert sub.npartitions < r.npartitions
    assert sorted(sub.compute().v) == sorted(pdf[pdf.k == "b"].v)
    q = r[r.k == "c"]  # pushed after the read: the rows of other folders are not read
    assert sorted(q.compute(scheduler="threads").v) == sorted(pdf[pdf.k == "c"].v)


def test_index_and_columns_options(tmp_path):
    pdf = _pdf(20)
    dd.from_pandas(pdf, npartitions=2).to_parquet(tmp_path / "o")
    r = dd.read_parquet(tmp_path / "o", index=False)
    # file column order; each partition numbers its rows from 0
    _eq(r.compute().reset_index(drop=True), pdf.reset_index()[["a", "x", "s", "n", "t"]])
    r = dd.read_parquet(tmp_path / "o", index="a", columns=["x"])
    _eq(r.compute(), pdf.reset_index().set_index("a")[["x"]])
    s = dd.read_parquet(tmp_path / "o", columns="x")
    _eq(s.compute(), pdf.x)
    with pytest.raises(ValueError, match="not in the files"):
        dd.read_parquet(tmp_path / "o", columns=["nope"])
    with pytest.raises(ValueError, match="index="):
        dd.read_parquet(tmp_path / "o", index="nope")


@pytest.mark.parametrize("split,n", [(False, 1), (True, 10), (3, 4)])
def test_split_row_groups(tmp_path, split, n):
    pdf, path = _fixture_files(tmp_path)
    df = dd.read_parquet(path, split_row_groups=split)
    assert df.npartitions == n
    np.testing.assert_array_equal(df.compute().to_numpy(), pdf.to_numpy())


def test_fsspec_memory_url():
    pdf = _pdf(12)
    dd.from_pandas(pdf, npartitions=2).to_parquet("memory://plait-pq-test/o", overwrite=True)
    _eq(dd.read_parquet("memory://plait-pq-test/o").compute(), pdf)


def test_append_overwrite_and_schema_check(tmp_path):
    pdf = _pdf(20)
    a = dd.from_pandas(pdf.iloc[:10], npartitions=2)
    b = dd.from_pandas(pdf.iloc[10:], npartitions=2)
    a.to_parquet(tmp_path / "o", write_metadata_file=True, compression="zstd")
    b.to_parquet(tmp_path / "o", append=True)
    assert pq.read_metadata(tmp_path / "o" / "_metadata").num_rows == 20
    assert pq.ParquetFile(tmp_path / "o" / "part.0.parquet").metadata.row_group(0) \
        .column(0).compression == "ZSTD"
    _eq(dd.read_parquet(tmp_path / "o", calculate_divisions=True).compute(), pdf)
    bad = dd.from_pandas(pdf.iloc[10:].astype({"a": "float64"}), npartitions=1)
    with pytest.raises(ValueError, match="a: existing int64, new double"):
        bad.to_parquet(tmp_path / "o", append=True)
    bad.to_parquet(tmp_path / "o", overwrite=True)
    _eq(dd.read_parquet(tmp_path / "o").compute(), pdf.iloc[10:].astype({"a": "float64"}))
    with pytest.raises(ValueError, match="cannot go together"):
        bad.to_parquet(tmp_path / "o", overwrite=True, append=True)


def test_missing_path_and_schema_mismatch(tmp_path):
    with pytest.raises(FileNotFoundError):
        dd.read_parquet(tmp_path / "nothing")
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame({"x": ["s"]}).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(ValueError, match="another schema"):
        dd.read_parquet(tmp_path)


def test_to_parquet_compute_false(tmp_path):
    df = dd.from_pandas(_pdf(10), npartitions=2)
    out = df.to_parquet(tmp_path / "o", compute=False)
    assert not (tmp_path / "o" / "part.0.parquet").exists()
    out.compute()
    assert (tmp_path / "o" / "part.1.parquet").exists()


def test_query_then_columns_pushed_into_read(tmp_path, monkeypatch):
    pdf, path = _fixture_files(tmp_path)
    q = dd.read_parquet(path, split_row_groups=False).query("x >= 850 and z != 3")[["y"]]
    plan = q.optimize().expr
    assert type(plan).__name__ == "FromParts"
    assert plan.columns_ == ["y"]
    assert plan.filters == [("x", ">=", 850), ("z", "!=", 3)]
    read = []
    orig = pq.ParquetFile.read_row_groups

    def spy(self, row_groups, columns=None, **kw):
        read.append((list(row_groups), list(columns)))
        return orig(self, row_groups, columns=columns, **kw)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    out = q.compute(scheduler="sync")
    e = pdf.query("x >= 850 and z != 3")[["y"]]
    np.testing.assert_array_equal(out.to_numpy(), e.to_numpy())
    assert read == [([8, 9], ["x", "y", "z"])]


@pytest.mark.parametrize("expr", ["x > 2", "x > 2 and s == 'k1'", "2 < x <= 5",
                                  "s in ['k0', 'k2'] or a == 5", "not (x > 0)", "x != 1",
                                  "s not in ['k1']", "x > 1 & a < 4", "x + 1 > 2", "a > x"])
def test_query_same_as_pandas(expr):
    pdf = _pdf(30).reset_index(drop=True)
    df = dd.from_pandas(pdf, npartitions=3)
    _eq(df.query(expr).compute(), pdf.query(expr))


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_tz_aware_index_divisions_and_pushdown(tmp_path, scheduler):
    pdf = pd.DataFrame({"x": np.arange(20.0)},
                       index=pd.date_range("2000", periods=20, freq="h", name="t",
                                           tz="Europe/Paris"))
    dd.from_pandas(pdf, npartitions=4).to_parquet(tmp_path / "o")
    df = dd.read_parquet(tmp_path / "o", calculate_divisions=True)
    assert df.divisions[1] == pdf.index[5]
    _eq(df.loc["2000-01-01 05":"2000-01-01 07"].compute(scheduler=scheduler),
        pdf.loc["2000-01-01 05":"2000-01-01 07"])
    _eq(df[df.x > 5].compute(scheduler=scheduler), pdf[pdf.x > 5])


def test_folder_file_extension(tmp_path):
    (tmp_path / "d").mkdir()
    pd.DataFrame({"x": [1, 2]}).to_parquet(tmp_path / "d" / "a.parquet")
    (tmp_path / "d" / "notes.txt").write_text("not parquet")
    (tmp_path / "d" / "_SUCCESS").write_text("")
    assert dd.read_parquet(tmp_path / "d").compute().x.tolist() == [1, 2]
    with pytest.raises(pa.ArrowInvalid):  # notes.txt is read too
        dd.read_parquet(tmp_path / "d", parquet_file_extension=None)


def test_append_refuses_overlapping_index(tmp_path):
    pdf = _pdf(20)
    dd.from_pandas(pdf.iloc[10:], npartitions=1).to_parquet(tmp_path / "o")
    early = dd.from_pandas(pdf.iloc[:10], npartitions=2)
    with pytest.raises(ValueError, match="ignore_divisions=True"):
        early.to_parquet(tmp_path / "o", append=True)
    early.to_parquet(tmp_path / "o", append=True, ignore_divisions=True)
    got = dd.read_parquet(tmp_path / "o").compute().sort_index()
    _eq(got, pdf)


def test_pushed_filter_keeps_the_row_labels(tmp_path):
    """A filter moved into the read (row groups skipped, rows dropped) leaves the labels
    a filter after the read would, so the result still aligns with the whole frame."""
    pdf = pd.DataFrame({"t": np.arange(60), "x": np.arange(60.0) * 1.5,
                        "s": np.array(["a", "b", "c"])[np.arange(60) % 3]})
    pdf.iloc[:30].to_parquet(tmp_path / "0.parquet", index=False, row_group_size=10)
    pdf.iloc[30:].to_parquet(tmp_path / "1.parquet", index=False, row_group_size=10)
    whole = pd.concat([pdf.iloc[:30], pdf.iloc[30:].reset_index(drop=True)])  # per file
    df = dd.read_parquet(str(tmp_path))
    for cond, pcond in (
            (lambda d: d.t >= 15, lambda p: p.t >= 15),
            (lambda d: (d.t >= 42) & (d.s == "b"), lambda p: (p.t >= 42) & (p.s == "b")),
            (lambda d: d.s != "a", lambda p: p.s != "a")):
        out = df[cond(df)].assign(y=df.x * 2, z=df.t)
        assert "filters=" in out.optimize().expr.tree_repr()
        sub = whole[pcond(whole)]
        expected = sub.assign(y=sub.x * 2, z=sub.t)
        pd.testing.assert_frame_equal(out.compute(), expected)


def test_simple_terms_of_a_mixed_predicate_reach_the_reader(tmp_path):
    """Of ``(t >= 42) & (x < y)`` the reader takes ``t >= 42`` (skipping row groups by
    its statistics) and the filter keeps ``x < y`` only; an OR is left whole."""
    rng = np.random.default_rng(1)
    pdf = pd.DataFrame({"t": np.arange(80), "x": rng.normal(size=80), "y": rng.normal(size=80),
                        "s": np.array(["a", "b"])[np.arange(80) % 2]})
    pdf.to_parquet(tmp_path / "0.parquet", index=False, row_group_size=10)
    df = dd.read_parquet(str(tmp_path))
    cases = [
        (lambda d: (d.t >= 42) & (d.x < d.y), ["('t', '>=', 42)"]),
        (lambda d: (d.x < d.y) & ((d.s == "b") & (d.t < 30)), ["('s', '==', 'b')", "('t', '<', 30)"]),
        (lambda d: ((d.x < d.y) | (d.t > 70)) & (d.t >= 10), ["('t', '>=', 10)"]),
        (lambda d: (d.x < d.y) | (d.t > 70), []),
    ]
    for cond, pushed in cases:
        out = df[cond(df)]
        plan = out.optimize().expr.tree_repr()
        reader = next(line for line in plan.splitlines() if "read-parquet" in line)
        for term in pushed:
            assert term in reader, plan
        if not pushed:
            assert "filters=" not in plan
        assert plan.lstrip().startswith("Filter")  # the other terms stay
        if pushed and cases.index((cond, pushed)) < 2:
            assert "other=" not in plan, plan  # pushed terms are not evaluated twice
        pd.testing.assert_frame_equal(out.compute(), pdf[cond(pdf)])
        pd.testing.assert_frame_equal(out[["x"]].assign(z=df.y).compute(),
                                      pdf[cond(pdf)][["x"]].assign(z=pdf.y))

"""read_csv / read_table / read_fwf against pandas on the same files."""

from __future__ import annotations

import gzip
import io
import os

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd
from plait.dataframe.expr.base import walk
from plait.dataframe.expr.io import FromParts
from plait.dataframe.io.csv import TextReader

SCHEDULERS = ["sync", "threads", "processes"]


def frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[::17] = np.nan
    return pd.DataFrame({
        "id": np.arange(n),
        "name": rng.choice(["alice", "bob", "carol", "dave"], n),
        "x": x,
        "flag": rng.random(n) < 0.3,
        "when": pd.date_range("2020-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M"),
    })


def write(tmp_path, df: pd.DataFrame, name: str = "data.csv", **kw) -> str:
    path = str(tmp_path / name)
    df.to_csv(path, index=False, **kw)
    return path


def collect(ddf, scheduler: str = "sync") -> pd.DataFrame:
    return ddf.compute(scheduler=scheduler).reset_index(drop=True)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_blocks_mid_line_match_pandas(tmp_path, scheduler):
    path = write(tmp_path, frame(300))
    size = os.path.getsize(path)
    # a block size that is no divisor of any line length: every boundary falls mid-line
    ddf = dd.read_csv(path, blocksize=997)
    assert ddf.npartitions == -(-size // 997)
    pd.testing.assert_frame_equal(collect(ddf, scheduler), pd.read_csv(path))


def test_every_blocksize_reads_each_row_once(tmp_path):
    path = write(tmp_path, frame(40))
    expect = pd.read_csv(path)
    size = os.path.getsize(path)
    for blocksize in (3, 7, 31, 32, 33, 100, size - 1, size, size + 1):
        got = collect(dd.read_csv(path, blocksize=blocksize))
        pd.testing.assert_frame_equal(got, expect, obj=f"blocksize={blocksize}")


def test_block_boundary_exactly_after_newline(tmp_path):
    path = str(tmp_path / "a.csv")
    with open(path, "w") as f:
        f.write("a,b\n1,2\n3,4\n5,6\n")
    # offsets 4, 8, 12 are line starts: the rows must each be read once
    got = collect(dd.read_csv(path, blocksize=4))
    pd.testing.assert_frame_equal(got, pd.read_csv(path))


def test_header_given_to_every_block_and_partitions_have_range_index(tmp_path):
    path = write(tmp_path, frame(100))
    ddf = dd.read_csv(path, blocksize=500)
    parts = [p.compute(scheduler="sync") for p in ddf.to_delayed()]
    assert len(parts) > 3
    for p in parts:
        assert list(p.columns) == list(ddf.columns)
        assert p.index.equals(pd.RangeIndex(len(p)))


def test_globs_lists_and_empty_files(tmp_path):
    a = frame(30, seed=1)
    b = frame(20, seed=2)
    write(tmp_path, a, "1.csv")
    write(tmp_path, b, "2.csv")
    (tmp_path / "3.csv").write_text("")  # an empty file contributes no rows
    write(tmp_path, a.iloc[:0], "4.csv")  # header only
    expect = pd.concat([a, b], ignore_index=True)
    expect = pd.read_csv(write(tmp_path, expect, "all.csv.txt"))
    ddf = dd.read_csv(str(tmp_path / "*.csv"))
    assert ddf.npartitions == 4
    pd.testing.assert_frame_equal(collect(ddf), expect)
    listed = dd.read_csv([str(tmp_path / "1.csv"), str(tmp_path / "2.csv")])
    pd.testing.assert_frame_equal(collect(listed), expect)
    assert len(ddf) == 50


def test_fsspec_url(tmp_path):
    path = write(tmp_path, frame(30))
    got = collect(dd.read_csv("file://" + path, blocksize=200))
    pd.testing.assert_frame_equal(got, pd.read_csv(path))


def test_missing_files_are_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        dd.read_csv(str(tmp_path / "nothing-*.csv"))
    with pytest.raises(FileNotFoundError):
        dd.read_csv(str(tmp_path / "missing.csv"))
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        dd.read_csv(str(tmp_path / "e.csv"))


@pytest.mark.parametrize("scheduler", ["sync", "processes"])
def test_gzip_whole_file_per_partition(tmp_path, scheduler):
    df = frame(120)
    paths = []
    for i in range(3):
        p = str(tmp_path / f"part{i}.csv.gz")
        df.iloc[i * 40:(i + 1) * 40].to_csv(p, index=False, compression="gzip")
        paths.append(p)
    ddf = dd.read_csv(str(tmp_path / "*.csv.gz"), blocksize=100)
    assert ddf.npartitions == 3  # gzip cannot be split: blocksize is ignored for it
    expect = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    pd.testing.assert_frame_equal(collect(ddf, scheduler), expect)
    # compression given explicitly, on a name without the extension
    plain = str(tmp_path / "zipped.data")
    with open(plain, "wb") as f:
        f.write(gzip.compress(df.to_csv(index=False).encode()))
    got = collect(dd.read_csv(plain, compression="gzip"))
    pd.testing.assert_frame_equal(got, pd.read_csv(plain, compression="gzip"))


def test_include_path_column(tmp_path):
    write(tmp_path, frame(10, 1), "a.csv")
    write(tmp_path, frame(5, 2), "b.csv")
    ddf = dd.read_csv(str(tmp_path / "*.csv"), include_path_column=True)
    assert isinstance(ddf._meta.path.dtype, pd.CategoricalDtype)
    got = collect(ddf)
    names = [os.path.basename(p) for p in got.path]
    assert names == ["a.csv"] * 10 + ["b.csv"] * 5
    assert len(got.path.cat.categories) == 2
    named = dd.read_csv(str(tmp_path / "*.csv"), include_path_column="src")
    assert "src" in named.columns
    # asking only for the path column still gives one value per row
    assert len(named.src.compute(scheduler="sync")) == 15


def test_usecols_dtype_parse_dates_converters(tmp_path):
    path = write(tmp_path, frame(150))
    kw = dict(usecols=["id", "x", "when"], dtype={"id": "float64"}, parse_dates=["when"])
    got = collect(dd.read_csv(path, blocksize=600, **kw))
    pd.testing.assert_frame_equal(got, pd.read_csv(path, **kw))
    conv = dict(converters={"name": str.upper})
    got = collect(dd.read_csv(path, blocksize=600, **conv))
    pd.testing.assert_frame_equal(got, pd.read_csv(path, **conv))


def test_combined_date_column(tmp_path):
    df = pd.DataFrame({"Year": [2000, 2000, 2001, 2001], "Month": [1, 12, 2, 7],
                       "DayofMonth": [5, 31, 28, 4], "v": [1.0, 2.0, np.nan, 4.0]})
    path = write(tmp_path, df)
    expect = df.assign(Date=pd.to_datetime(df[["Year", "Month", "DayofMonth"]].rename(
        columns={"DayofMonth": "day"})).astype("datetime64[ns]"))[["Date", "v"]]
    for spec in ({"Date": [0, 1, 2]}, {"Date": ["Year", "Month", "DayofMonth"]}):
        ddf = dd.read_csv(path, parse_dates=spec, blocksize=20)
        assert list(ddf.columns) == ["Date", "v"]
        got = collect(ddf)
        pd.testing.assert_series_equal(got.Date.astype("datetime64[ns]"), expect.Date,
                                       check_names=False)
        pd.testing.assert_series_equal(got.v, expect.v)
    kept = dd.read_csv(path, parse_dates={"Date": [0, 1, 2]}, keep_date_col=True)
    assert list(kept.columns) == ["Date", "Year", "Month", "DayofMonth", "v"]
    # the documented way without the convenience
    ddf = dd.read_csv(path)
    ddf = ddf.assign(Date=dd.to_datetime(ddf[["Year", "Month", "DayofMonth"]].rename(
        columns={"DayofMonth": "day"})))
    got = collect(ddf)
    pd.testing.assert_series_equal(got.Date.astype("datetime64[ns]"), expect.Date,
                                   check_names=False)


def test_dtype_mismatch_names_column_file_and_fix(tmp_path):
    n = 4000
    df = pd.DataFrame({"a": np.arange(n), "b": np.arange(n), "c": ["x"] * n})
    df["a"] = df["a"].astype(object)
    df.loc[n - 5, "a"] = 1.5  # an int-looking column holds a float far down the file
    df["b"] = df["b"].astype(object)
    df.loc[n - 3, "b"] = "oops"  # and another one a word
    path = write(tmp_path, df)
    ddf = dd.read_csv(path, blocksize=10_000, sample=1000)
    assert ddf._meta.a.dtype == np.int64 and ddf._meta.b.dtype == np.int64
    with pytest.raises(ValueError) as info:
        ddf.compute(scheduler="sync")
    msg = str(info.value)
    assert "'a'" in msg and "'b'" in msg and path in msg
    assert "dtype={'a': 'float64', 'b': 'str'}" in msg
    fixed = dd.read_csv(path, blocksize=10_000, sample=1000,
                        dtype={"a": "float64", "b": "str"})
    pd.testing.assert_frame_equal(collect(fixed),
                                  pd.read_csv(path, dtype={"a": "float64", "b": "str"}))
    # missing values where the sample showed integers
    hp = str(tmp_path / "holes.csv")
    with open(hp, "w") as f:
        f.write("a,b\n" + "1,x\n" * 3000 + ",y\n" * 10)
    with pytest.raises(ValueError, match="assume_missing=True"):
        dd.read_csv(hp, sample=200, blocksize=2000).compute(scheduler="sync")
    got = collect(dd.read_csv(hp, sample=200, blocksize=2000, assume_missing=True))
    pd.testing.assert_frame_equal(got, pd.read_csv(hp))


def test_text_column_of_digits_stays_text(tmp_path):
    df = pd.DataFrame({"code": ["a1"] * 50 + ["007"] * 50, "n": range(100)})
    path = write(tmp_path, df)
    got = collect(dd.read_csv(path, blocksize=300, sample=300))
    assert list(got.code) == list(df.code)


def test_projection_reads_only_the_columns_used(tmp_path):
    cols = [f"c{i}" for i in range(20)]
    df = pd.DataFrame(np.arange(20 * 50).reshape(50, 20), columns=cols)
    path = write(tmp_path, df)
    calls = []

    def spy(value):
        calls.append(value)
        return int(value)

    ddf = dd.read_csv(path, blocksize=800, converters={"c5": spy})
    assert ddf.npartitions > 3
    query = ddf[["c1", "c2"]].sum()
    reads = [e for e in walk([query.optimize().expr]) if isinstance(e, FromParts)]
    assert reads and all(r.columns_ == ["c1", "c2"] for r in reads)
    calls.clear()  # the sample was parsed while building; the query must not touch c5
    got = query.compute(scheduler="sync")
    pd.testing.assert_series_equal(got, df[["c1", "c2"]].sum())
    assert calls == []
    # the reader, asked for 2 of 20 columns, gives pandas usecols of just those 2
    reader = reads[0].reader
    assert isinstance(reader, TextReader)
    assert reader.pandas_kwargs(["c3", "c1"])["usecols"] == ["c1", "c3"]
    part = reader(reads[0].parts[1], columns=["c3", "c1"])
    assert list(part.columns) == ["c3", "c1"]
    ddf.c5.sum().compute(scheduler="sync")
    assert len(calls) == 50  # and reads c5 when asked


def test_filters_pushed_into_reader(tmp_path):
    path = write(tmp_path, frame(200))
    ddf = dd.read_csv(path, blocksize=1000)
    got = ddf[ddf.x > 0].compute(scheduler="sync")
    expect = pd.read_csv(path)
    expect = expect[expect.x > 0]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expect.reset_index(drop=True))
    reads = [e for e in walk([ddf[ddf.x > 0].optimize().expr]) if isinstance(e, FromParts)]
    assert reads and reads[0].filters == [("x", ">", 0)]
    reader = ddf.expr.reader
    part = ddf.expr.parts[0]
    direct = reader(part, columns=["id", "x"], filters=[("x", ">", 0), ("name", "in", ["bob"])])
    full = reader(part)
    pd.testing.assert_frame_equal(direct, full[(full.x > 0) & (full.name == "bob")][["id", "x"]])


def test_read_table_and_fwf(tmp_path):
    df = frame(80)
    tsv = str(tmp_path / "t.tsv")
    df.to_csv(tsv, sep="\t", index=False)
    got = collect(dd.read_table(tsv, blocksize=500))
    pd.testing.assert_frame_equal(got, pd.read_table(tsv))
    fwf = str(tmp_path / "f.txt")
    small = df[["id", "name", "x"]].fillna(0.0)
    with open(fwf, "w") as f:
        f.write(small.to_string(index=False))
        f.write("\n")
    expect = pd.read_fwf(fwf, infer_nrows=1000)
    got = collect(dd.read_fwf(fwf, blocksize=400))
    pd.testing.assert_frame_equal(got, expect)


def test_unsupported_options_are_clear_errors(tmp_path):
    path = write(tmp_path, frame(10))
    with pytest.raises(ValueError, match="set_index"):
        dd.read_csv(path, index_col="id")
    with pytest.raises(ValueError, match="blocksize=None"):
        dd.read_csv(path, nrows=3)
    got = collect(dd.read_csv(path, blocksize=None, nrows=3))
    pd.testing.assert_frame_equal(got, pd.read_csv(path, nrows=3))


def test_skiprows_and_no_header(tmp_path):
    path = str(tmp_path / "s.csv")
    body = "".join(f"{i},{i * 2}\n" for i in range(100))
    with open(path, "w") as f:
        f.write("# comment line\nA,B\n" + body)
    got = collect(dd.read_csv(path, skiprows=1, blocksize=97))
    pd.testing.assert_frame_equal(got, pd.read_csv(path, skiprows=1))
    nohead = str(tmp_path / "n.csv")
    with open(nohead, "w") as f:
        f.write(body)
    got = collect(dd.read_csv(nohead, header=None, names=["p", "q"], blocksize=50))
    pd.testing.assert_frame_equal(got, pd.read_csv(nohead, header=None, names=["p", "q"]))


def test_crlf_latin1_quoted_newlines_and_one_dtype_for_all(tmp_path):
    crlf = str(tmp_path / "crlf.csv")
    with open(crlf, "wb") as f:
        f.write(b"a,b\r\n" + b"".join(b"%d,x%d\r\n" % (i, i) for i in range(200)))
    pd.testing.assert_frame_equal(collect(dd.read_csv(crlf, blocksize=101)), pd.read_csv(crlf))
    latin = str(tmp_path / "latin.csv")
    with open(latin, "wb") as f:
        f.write(b"name,v\n" + "".join(f"café{i},{i}\n" for i in range(100))
                .encode("latin-1"))
    got = collect(dd.read_csv(latin, encoding="latin-1", blocksize=200))
    pd.testing.assert_frame_equal(got, pd.read_csv(latin, encoding="latin-1"))
    quoted = str(tmp_path / "quoted.csv")
    with open(quoted, "w") as f:
        f.write('a,note\n1,"two\nlines"\n2,plain\n')
    got = collect(dd.read_csv(quoted, blocksize=None))
    pd.testing.assert_frame_equal(got, pd.read_csv(quoted))
    everything = collect(dd.read_csv(crlf, dtype=str, blocksize=101))
    pd.testing.assert_frame_equal(everything, pd.read_csv(crlf, dtype=str))


def test_names_are_deterministic_and_change_with_the_file(tmp_path):
    path = write(tmp_path, frame(20))
    assert dd.read_csv(path)._name == dd.read_csv(path)._name
    before = dd.read_csv(path)
    write(tmp_path, frame(20, seed=9))
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    after = dd.read_csv(path)
    assert after._name != before._name
    pd.testing.assert_frame_equal(collect(after), pd.read_csv(path))


def test_any_fsspec_filesystem():
    import fsspec

    fs = fsspec.filesystem("memory")
    df = frame(60)
    for i in range(2):
        with fs.open(f"/plait-io-test/{i}.csv", "wb") as f:
            f.write(df.iloc[i * 30:(i + 1) * 30].to_csv(index=False).encode())
    try:
        got = collect(dd.read_csv("memory://plait-io-test/*.csv", blocksize=500))
        expect = pd.read_csv(io.BytesIO(df.to_csv(index=False).encode()))
        pd.testing.assert_frame_equal(got, expect)
    finally:
        fs.rm("/plait-io-test", recursive=True)


def test_usecols_callable_positions_and_path_filters(tmp_path):
    write(tmp_path, frame(40, 1), "a.csv")
    write(tmp_path, frame(40, 2), "b.csv")
    pattern = str(tmp_path / "*.csv")
    expect = pd.concat([pd.read_csv(tmp_path / n, usecols=lambda c: c != "flag",
                                    parse_dates=["when"]) for n in ("a.csv", "b.csv")],
                       ignore_index=True)
    got = collect(dd.read_csv(pattern, usecols=lambda c: c != "flag", parse_dates=[4],
                              blocksize=700))
    pd.testing.assert_frame_equal(got, expect)
    ddf = dd.read_csv(pattern, include_path_column=True, blocksize=700)
    only_b = ddf[ddf.path == str(tmp_path / "b.csv")].compute(scheduler="sync")
    assert len(only_b) == 40
    pd.testing.assert_frame_equal(only_b.drop(columns="path").reset_index(drop=True),
                                  pd.read_csv(tmp_path / "b.csv"))


@pytest.mark.parametrize("engine", ["c", "python", "pyarrow"])
def test_pandas_engines(tmp_path, engine):
    path = write(tmp_path, frame(120).drop(columns="when"))
    expect = pd.read_csv(path, engine=engine)
    ddf = dd.read_csv(path, blocksize=900, engine=engine)
    pd.testing.assert_frame_equal(collect(ddf), expect)
    pd.testing.assert_frame_equal(collect(ddf[["x", "id"]]), expect[["x", "id"]])


def test_comment_and_blank_lines_before_the_header(tmp_path):
    path = str(tmp_path / "c.csv")
    body = "".join(f"{i},{i * 3}\n" for i in range(120))
    with open(path, "w") as f:
        f.write("# made by a script\n\nA,B\n" + body)
    got = collect(dd.read_csv(path, comment="#", blocksize=150))
    pd.testing.assert_frame_equal(got, pd.read_csv(path, comment="#"))
    renamed = collect(dd.read_csv(path, comment="#", header=0, names=["p", "q"],
                                  blocksize=150))
    pd.testing.assert_frame_equal(renamed, pd.read_csv(path, comment="#", header=0,
                                                       names=["p", "q"]))

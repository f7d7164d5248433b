"""read_json / to_json against pandas on the same files."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd


def records(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[::11] = np.nan
    return pd.DataFrame({"id": np.arange(n), "name": rng.choice(["a", "bb", "ccc"], n),
                         "x": x, "ok": rng.random(n) < 0.5})


def write_lines(tmp_path, df: pd.DataFrame, name: str = "r.json", **kw) -> str:
    path = str(tmp_path / name)
    df.to_json(path, orient="records", lines=True, **kw)
    return path


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_lines_in_blocks_match_pandas(tmp_path, scheduler):
    path = write_lines(tmp_path, records())
    ddf = dd.read_json(path, blocksize=333)
    assert ddf.npartitions > 5
    got = ddf.compute(scheduler=scheduler).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, pd.read_json(path, lines=True))


def test_globs_gzip_and_path_column(tmp_path):
    a, b = records(30, 1), records(20, 2)
    pa = write_lines(tmp_path, a, "a.json")
    pb = write_lines(tmp_path, b, "b.json.gz", compression="gzip")
    ddf = dd.read_json(str(tmp_path / "*.json*"), include_path_column=True)
    got = ddf.compute(scheduler="sync").reset_index(drop=True)
    expect = pd.concat([pd.read_json(pa, lines=True), pd.read_json(pb, lines=True)],
                       ignore_index=True)
    pd.testing.assert_frame_equal(got.drop(columns="path"), expect)
    assert [os.path.basename(p) for p in got.path.unique()] == ["a.json", "b.json.gz"]
    conv = dd.read_json(str(tmp_path / "*.json*"), include_path_column="src",
                        path_converter=os.path.basename)
    assert list(conv.src.compute(scheduler="sync").unique()) == ["a.json", "b.json.gz"]


def test_other_orients_one_file_per_partition(tmp_path):
    df = records(15)
    path = str(tmp_path / "c.json")
    df.to_json(path, orient="columns")
    got = dd.read_json(path, orient="columns").compute(scheduler="sync")
    pd.testing.assert_frame_equal(got, pd.read_json(path, orient="columns"))
    with pytest.raises(ValueError, match="lines=True"):
        dd.read_json(path, orient="columns", blocksize=100)


def test_mismatch_and_meta(tmp_path):
    df = pd.DataFrame({"a": list(range(300)) + [None]})
    path = write_lines(tmp_path, df)
    with pytest.raises(ValueError, match="'a'"):
        dd.read_json(path, blocksize=500, sample=100).compute(scheduler="sync")
    got = dd.read_json(path, blocksize=500, meta={"a": "float64"}).compute(scheduler="sync")
    pd.testing.assert_frame_equal(got.reset_index(drop=True),
                                  pd.read_json(path, lines=True))


@pytest.mark.parametrize("scheduler", ["sync", "processes"])
def test_to_json_round_trip(tmp_path, scheduler):
    df = records(50)
    ddf = dd.from_pandas(df, npartitions=3)
    paths = dd.to_json(ddf, str(tmp_path / "out-*.json"),
                       compute_kwargs={"scheduler": scheduler})
    assert [os.path.basename(p) for p in paths] == ["out-0.json", "out-1.json", "out-2.json"]
    back = dd.read_json(str(tmp_path / "out-*.json")).compute(scheduler="sync")
    pd.testing.assert_frame_equal(back.reset_index(drop=True), df)
    lazy = dd.to_json(ddf, str(tmp_path / "lazy-*.json"), compute=False)
    assert len(lazy) == 3 and not os.path.exists(tmp_path / "lazy-0.json")


def test_missing_keys_and_all_null_blocks(tmp_path):
    path = str(tmp_path / "holes.json")
    with open(path, "w") as f:
        for i in range(60):
            f.write(f'{{"a": {i}.5, "s": "w{i}", "t": "x"}}\n')
        for i in range(60):
            f.write('{"a": null, "s": null}\n')  # no "t" at all, and nulls
    expect = pd.read_json(path, lines=True)
    ddf = dd.read_json(path, blocksize=800)
    assert ddf.npartitions > 3
    got = ddf.compute(scheduler="sync").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expect, check_dtype=False)
    assert got.a.dtype == "float64" and got.dtypes.tolist() == ddf._meta.dtypes.tolist()

"""to_csv: one file per partition, one file in all, compression; read back equals."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pandas as pd
import pytest

import plait
import plait.dataframe as dd


def frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"i": np.arange(n), "s": rng.choice(["p", "q"], n),
                         "x": rng.normal(size=n)})


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_one_file_per_partition(tmp_path, scheduler):
    df = frame()
    ddf = dd.from_pandas(df, npartitions=4)
    paths = dd.to_csv(ddf, str(tmp_path / "part-*.csv"), index=False, scheduler=scheduler)
    assert [os.path.basename(p) for p in paths] == [f"part-{i}.csv" for i in range(4)]
    back = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    pd.testing.assert_frame_equal(back, df)


def test_name_function_and_header_first_only(tmp_path):
    ddf = dd.from_pandas(frame(), npartitions=3)
    paths = dd.to_csv(ddf, str(tmp_path / "f-*.csv"), name_function=lambda i: f"{i:03d}",
                      index=False, header_first_partition_only=True, scheduler="sync")
    assert [os.path.basename(p) for p in paths] == ["f-000.csv", "f-001.csv", "f-002.csv"]
    assert open(paths[0]).readline().startswith("i,s,x")
    assert not open(paths[1]).readline().startswith("i,s,x")


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_single_file_in_order(tmp_path, scheduler):
    df = frame(100)
    ddf = dd.from_pandas(df, npartitions=5)
    out = str(tmp_path / "all.csv")
    assert dd.to_csv(ddf, out, single_file=True, index=False, scheduler=scheduler) == [out]
    pd.testing.assert_frame_equal(pd.read_csv(out), df)


def test_compression_and_compute_false(tmp_path):
    df = frame()
    ddf = dd.from_pandas(df, npartitions=2)
    paths = dd.to_csv(ddf, str(tmp_path / "z-*.csv.gz"), compression="gzip", index=False,
                      scheduler="sync")
    with gzip.open(paths[0], "rt") as f:
        assert f.readline().strip() == "i,s,x"
    back = dd.read_csv(str(tmp_path / "z-*.csv.gz")).compute(scheduler="sync")
    pd.testing.assert_frame_equal(back.reset_index(drop=True), df)
    one = str(tmp_path / "one.csv.gz")
    dd.to_csv(ddf, one, single_file=True, compression="gzip", index=False, scheduler="sync")
    pd.testing.assert_frame_equal(pd.read_csv(one), df)
    values = dd.to_csv(ddf, str(tmp_path / "lazy-*.csv"), compute=False, index=False)
    assert len(values) == 2 and not list(tmp_path.glob("lazy-*"))
    plait.compute(*values, scheduler="sync")
    assert len(list(tmp_path.glob("lazy-*.csv"))) == 2


def test_one_name_for_many_partitions_is_an_error(tmp_path):
    ddf = dd.from_pandas(frame(), npartitions=2)
    with pytest.raises(ValueError, match="single_file=True"):
        dd.to_csv(ddf, str(tmp_path / "one.csv"))


def test_method_spellings(tmp_path):
    df = frame(30)
    ddf = dd.from_pandas(df, npartitions=2)
    paths = ddf.to_csv(str(tmp_path / "m-*.csv"), index=False, scheduler="sync")
    back = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    pd.testing.assert_frame_equal(back, df)
    paths = ddf.x.to_csv(str(tmp_path / "s-*.csv"), index=False, scheduler="sync")
    back = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    pd.testing.assert_frame_equal(back, df[["x"]])
    jpaths = ddf.to_json(str(tmp_path / "j-*.json"), compute_kwargs={"scheduler": "sync"})
    back = pd.concat([pd.read_json(p, lines=True) for p in jpaths], ignore_index=True)
    pd.testing.assert_frame_equal(back, df)

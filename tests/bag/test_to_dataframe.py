"""Bag.to_dataframe against pandas on the same records."""

from __future__ import annotations

import pandas as pd
import pytest

import plait.bag as db

RECORDS = [{"name": n, "amount": i * 10, "score": i / 4} for i, n in
           enumerate(["alice", "bob", "carol", "dave", "erin", "frank", "grace"])]


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_dicts(scheduler):
    b = db.from_sequence(RECORDS, npartitions=3)
    ddf = b.to_dataframe()
    assert list(ddf.columns) == ["name", "amount", "score"]
    assert ddf.npartitions == 3
    got = ddf.compute(scheduler=scheduler).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, pd.DataFrame(RECORDS))


@pytest.mark.parametrize("scheduler", ["sync", "processes"])
def test_tuples_with_columns_and_meta(scheduler):
    rows = [(r["name"], r["amount"]) for r in RECORDS]
    b = db.from_sequence(rows, npartitions=2)
    got = b.to_dataframe(columns=["who", "n"]).compute(scheduler=scheduler)
    pd.testing.assert_frame_equal(got.reset_index(drop=True),
                                  pd.DataFrame(rows, columns=["who", "n"]))
    meta = pd.DataFrame({"who": pd.Series([], dtype="str"), "n": pd.Series([], dtype="f8")})
    typed = b.to_dataframe(meta=meta)
    assert typed._meta.n.dtype == "float64"
    out = typed.compute(scheduler=scheduler).reset_index(drop=True)
    pd.testing.assert_frame_equal(out, pd.DataFrame(rows, columns=["who", "n"]).astype(
        {"n": "float64"}))


def test_empty_partitions_and_mismatch():
    b = db.from_sequence(RECORDS[:2], npartitions=2).filter(lambda r: r["amount"] > 0)
    got = b.to_dataframe(meta={"name": "str", "amount": "int64", "score": "float64"})
    pd.testing.assert_frame_equal(got.compute(scheduler="sync").reset_index(drop=True),
                                  pd.DataFrame(RECORDS[1:2]))
    holes = db.from_sequence([{"a": 1}, {"a": None}], npartitions=2)
    with pytest.raises(ValueError, match="meta="):
        holes.to_dataframe().compute(scheduler="sync")
    with pytest.raises(ValueError, match="empty"):
        db.from_sequence([], npartitions=1).to_dataframe()

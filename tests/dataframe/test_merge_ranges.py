"""Joins planned from Parquet key ranges (no shuffle) against pandas' merge."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd
from plait.dataframe.merge_ranges import key_ranges, overlap_plan

from .keydata import sort_rows


def _write(folder, frame, nfiles):
    folder.mkdir()
    for i, piece in enumerate(np.array_split(np.arange(len(frame)), nfiles)):
        frame.iloc[piece].to_parquet(folder / f"part.{i}.parquet", index=False)
    return str(folder)


@pytest.fixture
def tables(tmp_path):
    """orders-like (unique sorted keys, some missing from lines) and lines-like (1-3
    rows per key, sorted by key), written in key order across files."""
    rng = np.random.default_rng(5)
    keys = np.arange(1, 201) * 3
    orders = pd.DataFrame({"ok": keys, "cust": rng.integers(0, 10, len(keys)),
                           "when": pd.date_range("2020-01-01", periods=len(keys), freq="D")})
    lk = np.sort(rng.choice(np.arange(0, 640), 450))  # keys absent and extra on both sides
    lines = pd.DataFrame({"lk": lk, "qty": rng.integers(1, 50, len(lk)),
                          "price": rng.normal(size=len(lk)),
                          "mode": rng.choice(["AIR", "SHIP"], len(lk))})
    return (orders, _write(tmp_path / "orders", orders, 3),
            lines, _write(tmp_path / "lines", lines, 5))


def _plan(obj) -> str:
    return obj.optimize().expr.tree_repr()


@pytest.mark.parametrize("how", ["inner", "left", "right", "leftsemi"])
@pytest.mark.parametrize("scheduler", ["sync", "processes"])
def test_range_join_matches_pandas(tables, how, scheduler):
    orders, opath, lines, lpath = tables
    o, li = dd.read_parquet(opath), dd.read_parquet(lpath)
    out = o.merge(li, left_on="ok", right_on="lk", how=how)
    assert "RangeMerge" in _plan(out) and "Shuffle" not in _plan(out)
    got = out.compute(scheduler=scheduler)
    if how == "leftsemi":
        expected = orders[orders.ok.isin(lines.lk)]
    else:
        expected = orders.merge(lines, left_on="ok", right_on="lk", how=how)
    pd.testing.assert_frame_equal(sort_rows(got), sort_rows(expected))


def test_ranges_survive_filters_selections_and_broadcast_joins(tables):
    orders, opath, lines, lpath = tables
    cust = pd.DataFrame({"cust": range(10), "seg": list("ababababab")})
    o = dd.read_parquet(opath)
    o = o[o.when < pd.Timestamp("2020-05-01")].merge(cust[cust.seg == "a"], on="cust")
    li = dd.read_parquet(lpath)
    li = li[li["mode"] == "AIR"].assign(value=li.qty * li.price)
    out = li.merge(o, left_on="lk", right_on="ok")[["ok", "value", "seg"]]
    assert "RangeMerge" in _plan(out)
    po = orders[orders.when < pd.Timestamp("2020-05-01")].merge(cust[cust.seg == "a"],
                                                                on="cust")
    pl = lines[lines["mode"] == "AIR"].assign(value=lines.qty * lines.price)
    expected = pl.merge(po, left_on="lk", right_on="ok")[["ok", "value", "seg"]]
    pd.testing.assert_frame_equal(sort_rows(out.compute()), sort_rows(expected))
    # the reads were narrowed through the join
    assert "'cust'" in _plan(out) and "'price'" in _plan(out) and "'when'" in _plan(out)


def test_no_range_plan_where_ranges_do_not_hold(tmp_path, tables):
    orders, opath, lines, lpath = tables
    o, li = dd.read_parquet(opath), dd.read_parquet(lpath)
    # outer joins, a replaced key column, missing keys, string keys: hash join
    assert "RangeMerge" not in _plan(o.merge(li, left_on="ok", right_on="lk", how="outer"))
    moved = o.assign(ok=o.ok + 1)
    assert key_ranges(moved.expr, "ok") is None
    got = moved.merge(li, left_on="ok", right_on="lk").compute()
    expected = orders.assign(ok=orders.ok + 1).merge(lines, left_on="ok", right_on="lk")
    pd.testing.assert_frame_equal(sort_rows(got), sort_rows(expected))
    holes = lines.assign(lk=lines.lk.astype("float64").where(lines.index % 9 != 0))
    hpath = _write(tmp_path / "holes", holes, 3)
    assert key_ranges(dd.read_parquet(hpath).expr, "lk") is None
    got = o.merge(dd.read_parquet(hpath), left_on="ok", right_on="lk").compute()
    pd.testing.assert_frame_equal(sort_rows(got),
                                  sort_rows(orders.merge(holes, left_on="ok", right_on="lk")))
    assert key_ranges(li.expr, "mode") is None


def test_shuffled_files_fall_back_to_the_hash_join(tmp_path, tables):
    orders, opath, lines, _ = tables
    mixed = lines.sample(frac=1, random_state=0)  # every file spans every key
    mpath = _write(tmp_path / "mixed", mixed, 5)
    out = dd.read_parquet(opath).merge(dd.read_parquet(mpath), left_on="ok", right_on="lk")
    assert "RangeMerge" not in _plan(out)
    pd.testing.assert_frame_equal(sort_rows(out.compute()),
                                  sort_rows(orders.merge(mixed, left_on="ok", right_on="lk")))


def test_overlap_plan():
    assert overlap_plan([(0, 4), (5, 9)], [(0, 2), (3, 6), (7, 9)]) == [(0, 1), (1, 2)]
    assert overlap_plan([(0, 4)], [(10, 12)]) == [()]
    assert overlap_plan([(0, 9)] * 2, [(0, 9)] * 4) is None  # too many overlaps
    assert overlap_plan([(0, 4)], [("a", "b")]) is None

"""merge, join and merge_asof against pandas, for each plan (hash, broadcast,
aligned) and awkward keys."""

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd

from .keydata import KEY_KINDS, key_frame, partitioned, sort_rows

HOWS = ["inner", "left", "right", "outer"]


def _right_for(kind: str) -> pd.DataFrame:
    other = key_frame(kind, n=50, seed=1).rename(columns={"x": "y"})
    return other


@pytest.mark.parametrize("kind", KEY_KINDS)
@pytest.mark.parametrize("how", HOWS + ["leftsemi"])
def test_hash_merge(kind, how):
    a, b = key_frame(kind, n=60), _right_for(kind)
    out = dd.merge(partitioned(a, "empty-parts"), dd.from_pandas(b, npartitions=3),
                   on="k", how=how, shuffle_method="tasks")
    assert "shuffle" in str(out.__plait_graph__().keys())
    res = out.compute(scheduler="sync")
    if how == "leftsemi":
        expected = a[a.k.isin(b.k)]  # pandas' isin matches missing with missing
        pd.testing.assert_frame_equal(res.sort_values("i"), expected.sort_values("i"))
        return
    expected = pd.merge(a, b, on="k", how=how)
    pd.testing.assert_frame_equal(sort_rows(res), sort_rows(expected))


@pytest.mark.parametrize("how", ["inner", "left", "leftsemi"])
def test_broadcast_merge_right_small(how):
    a, b = key_frame("nulls", n=80), _right_for("nulls")
    out = dd.from_pandas(a, npartitions=4).merge(b, on="k", how=how)  # pandas: 1 partition
    assert "shuffle" not in str(out.__plait_graph__().keys())
    res = out.compute()
    if how == "leftsemi":
        pd.testing.assert_frame_equal(res.sort_values("i"),
                                      a[a.k.isin(b.k)].sort_values("i"))
    else:
        pd.testing.assert_frame_equal(sort_rows(res), sort_rows(pd.merge(a, b, on="k", how=how)))


@pytest.mark.parametrize("how", ["inner", "right"])
def test_broadcast_merge_left_small(how):
    a, b = key_frame("strings", n=40), _right_for("strings")
    out = dd.merge(dd.from_pandas(a, npartitions=1), dd.from_pandas(b, npartitions=3),
                   on="k", how=how)
    assert "shuffle" not in str(out.__plait_graph__().keys())
    pd.testing.assert_frame_equal(sort_rows(out.compute()), sort_rows(pd.merge(a, b, on="k", how=how)))


def test_outer_with_small_side_still_hashes():
    a, b = key_frame("skewed", n=40), _right_for("skewed")
    out = dd.from_pandas(a, npartitions=3).merge(b, on="k", how="outer")
    assert "shuffle" in str(out.__plait_graph__().keys())
    pd.testing.assert_frame_equal(sort_rows(out.compute()), sort_rows(pd.merge(a, b, on="k", how="outer")))


@pytest.mark.parametrize("how", HOWS)
def test_aligned_index_merge_and_join(how):
    a = key_frame("skewed", n=90).set_index("i")
    b = _right_for("skewed").assign(i=np.arange(0, 150, 3)).set_index("i")
    da, db = dd.from_pandas(a, npartitions=4), dd.from_pandas(b, npartitions=3)
    out = dd.merge(da, db, left_index=True, right_index=True, how=how)
    assert "shuffle" not in str(out.__plait_graph__().keys()) and out.known_divisions
    pd.testing.assert_frame_equal(out.compute(), pd.merge(a, b, left_index=True,
                                                          right_index=True, how=how).sort_index())
    out = da.join(db, how=how, lsuffix="_l", rsuffix="_r")
    pd.testing.assert_frame_equal(out.compute(), a.join(db.compute(), how=how,
                                                        suffixes=("_l", "_r")).sort_index())


def test_left_on_right_on_and_suffixes():
    a = key_frame("strings", n=60)
    b = _right_for("strings").rename(columns={"k": "key"}).assign(x=1.5)
    out = dd.from_pandas(a, npartitions=3).merge(dd.from_pandas(b, npartitions=2),
                                                 left_on="k", right_on="key",
                                                 suffixes=("_a", "_b"), how="outer")
    expected = pd.merge(a, b, left_on="k", right_on="key", suffixes=("_a", "_b"), how="outer")
    assert list(out.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(sort_rows(out.compute()), sort_rows(expected))


def test_multi_column_keys_and_mixed_dtypes():
    a = pd.DataFrame({"k1": [1, 2, 2, 3] * 10, "k2": list("abab") * 10, "x": range(40)})
    b = pd.DataFrame({"k1": [1.0, 2.0, 3.0, 3.0], "k2": list("abba"), "y": range(4)})
    out = dd.from_pandas(a, npartitions=4).merge(dd.from_pandas(b, npartitions=2),
                                                 on=["k1", "k2"], broadcast=False)
    pd.testing.assert_frame_equal(sort_rows(out.compute()), sort_rows(pd.merge(a, b, on=["k1", "k2"])))


def test_join_on_column():
    a = key_frame("skewed", n=50)
    b = _right_for("skewed").drop_duplicates("k").set_index("k")
    out = dd.from_pandas(a, npartitions=3).join(dd.from_pandas(b, npartitions=2), on="k",
                                                rsuffix="_r")
    expected = a.join(b, on="k", suffixes=("", "_r"))
    pd.testing.assert_frame_equal(sort_rows(out.compute()), sort_rows(expected))


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_merge_under_schedulers(scheduler):
    a, b = key_frame("categorical", n=60), _right_for("categorical")
    out = dd.merge(dd.from_pandas(a, npartitions=3), dd.from_pandas(b, npartitions=2),
                   on="k", how="left", shuffle_method="disk")
    pd.testing.assert_frame_equal(sort_rows(out.compute(scheduler=scheduler)),
                                  sort_rows(pd.merge(a, b, on="k", how="left")),
                                  check_categorical=False)


def test_merge_errors():
    df = dd.from_pandas(key_frame("skewed"), npartitions=2)
    with pytest.raises(ValueError, match="how must be one of"):
        df.merge(df, on="k", how="cross")
    with pytest.raises(KeyError, match="right frame has no column"):
        df.merge(df[["x"]], left_on="k", right_on="k")
    with pytest.raises(ValueError, match="no common columns"):
        df[["k"]].merge(df[["x"]].rename(columns={"x": "z"}))


# -- merge_asof ------------------------------------------------------------------------

def _asof_frames(seed=3):
    rng = np.random.default_rng(seed)
    left = pd.DataFrame({"t": np.sort(rng.integers(0, 500, 120)), "g": rng.choice(list("ab"), 120),
                         "x": np.arange(120)})
    right = pd.DataFrame({"t": np.sort(rng.integers(0, 500, 90)), "g": rng.choice(list("ab"), 90),
                          "y": np.arange(90)})
    return left, right


@pytest.mark.parametrize("direction", ["backward", "forward", "nearest"])
@pytest.mark.parametrize("by", [None, "g"])
def test_merge_asof_on_column(direction, by):
    left, right = _asof_frames()
    out = dd.merge_asof(dd.from_pandas(left, npartitions=4), dd.from_pandas(right, npartitions=5),
                        on="t", by=by, direction=direction)
    pd.testing.assert_frame_equal(out.compute().reset_index(drop=True),
                                  pd.merge_asof(left, right, on="t", by=by, direction=direction))


def test_merge_asof_on_index_with_tolerance():
    left, right = _asof_frames(4)
    li, ri = left.set_index("t"), right.set_index("t")
    out = dd.merge_asof(dd.from_pandas(li, npartitions=3, sort=False),
                        dd.from_pandas(ri, npartitions=4, sort=False), left_index=True,
                        right_index=True, by="g", tolerance=10, allow_exact_matches=False)
    pd.testing.assert_frame_equal(out.compute(scheduler="processes"),
                                  pd.merge_asof(li, ri, left_index=True, right_index=True, by="g",
                                                tolerance=10, allow_exact_matches=False))


@pytest.mark.parametrize("how", ["inner", "left", "outer", "leftsemi"])
@pytest.mark.parametrize("select", [["x_x"], ["y"], ["k", "b"], ["x_y", "a"]])
def test_column_selection_after_merge_reaches_the_readers(tmp_path, how, select):
    # overlapping "x" gets suffixes: keeping one of the pair must keep the other, or
    # the kept one would lose its suffix
    rng = np.random.default_rng(0)
    left = pd.DataFrame({"k": rng.integers(0, 20, 60), "x": rng.normal(size=60),
                         "a": rng.normal(size=60), "w": ["w"] * 60})
    right = pd.DataFrame({"k": np.arange(25), "x": np.arange(25.0), "y": np.arange(25) * 2,
                          "b": ["b"] * 25, "z": np.ones(25)})
    for name, frame in (("l", left), ("r", right)):
        (tmp_path / name).mkdir()
        for i in range(2):
            frame.iloc[i::2].to_parquet(tmp_path / name / f"{i}.parquet", index=False)
    a, b = dd.read_parquet(str(tmp_path / "l")), dd.read_parquet(str(tmp_path / "r"))
    if how == "leftsemi":
        select = [c.replace("_x", "") for c in select if c in ("x_x", "k", "a")] or ["k"]
        expected = left[left.k.isin(right.k)][select]
    else:
        expected = pd.merge(left, right, on="k", how=how)[select]
    out = a.merge(b, on="k", how=how)[select]
    plan = out.optimize().expr.tree_repr()
    # both readers narrowed, and never to a column nobody uses
    assert plan.count("read-parquet npartitions=2 columns=[") == 2 and "'w'" not in plan and "'z'" not in plan, plan
    res = out.compute(scheduler="sync")
    pd.testing.assert_frame_equal(sort_rows(res.reset_index(drop=True)),
                                  sort_rows(expected.reset_index(drop=True)))

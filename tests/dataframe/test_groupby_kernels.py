"""The group-by kernels alone: chunk -> combine tree -> aggregate on lists of pandas
partitions, compared with pandas on the concatenated data."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from plait.dataframe.groupby.kernels import GroupKeys, aggregate, chunk, combine
from plait.dataframe.groupby.spec import parse_agg
from plait.dataframe.groupby.value_counts import vc_aggregate, vc_chunk, vc_combine


def _data(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "a": rng.integers(0, 4, n).astype(float),
        "b": rng.choice(["u", "v"], n),
        "x": rng.normal(1e6, 1.0, n),   # large mean, small spread: stresses variance
        "y": rng.integers(0, 10, n),
        "s": rng.choice(["p", "q", "r"], n),
    })
    df.loc[[3, 17], "a"] = np.nan
    df.loc[[5, 6], "x"] = np.nan
    return df


def _splits(df: pd.DataFrame) -> list[list[pd.DataFrame]]:
    n = len(df)
    return [[df],
            [df.iloc[:10], df.iloc[10:10], df.iloc[10:25], df.iloc[25:]],
            [df.iloc[i:i + 7] for i in range(0, n, 7)] + [df.iloc[:0]]]


def _run(parts, keys, plan, split_every=2, meta=None):
    partials = [chunk(p, keys=keys, plan=plan) for p in parts]
    while len(partials) > split_every:
        partials = [combine(partials[i:i + split_every], plan=plan)
                    for i in range(0, len(partials), split_every)]
    return aggregate(partials, keys=keys, plan=plan, meta=meta)


FUNCS = ["sum", "mean", "count", "min", "max", "std", "var", "sem", "first", "last",
         "nunique", "prod", "size", ["sum", "mean", "std"], {"x": "sum", "y": ["max", "min"]}]


@pytest.mark.parametrize("func", FUNCS, ids=str)
@pytest.mark.parametrize("dropna", [True, False])
@pytest.mark.parametrize("by", [("a",), ("a", "b")])
def test_kernels_match_pandas(func, dropna, by):
    df = _data()
    text = func in ("first", "last", "nunique", "min", "max", "count", "size")
    cols = ["x", "y", "s"] if text else ["x", "y"]
    key = by[0] if len(by) == 1 else list(by)
    expected = df.groupby(key, dropna=dropna)[cols].agg(func)
    meta = df.iloc[:0].groupby(key, dropna=dropna)[cols].agg(func)
    keys = GroupKeys(by, dropna=dropna, names=by)
    plan = parse_agg(func, {}, cols)
    for parts in _splits(df)[1:]:
        got = _run(parts, keys, plan, meta=meta)
        if isinstance(expected, pd.Series):
            pd.testing.assert_series_equal(got, expected, check_exact=False, rtol=1e-9)
        else:
            pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)


def test_variance_is_numerically_sound():
    # values 1e9 + {0, 1, 2}: a sum of squares loses all digits here, Chan's merge not.
    df = pd.DataFrame({"k": [0] * 9, "x": 1e9 + np.tile([0.0, 1.0, 2.0], 3)})
    keys = GroupKeys(("k",), names=("k",))
    plan = parse_agg("var", {}, ["x"])
    parts = [df.iloc[i:i + 2] for i in range(0, 9, 2)]
    got = _run(parts, keys, plan)
    assert got["x"].iloc[0] == pytest.approx(df.x.var(), rel=1e-12)


def test_sort_false_keeps_first_appearance_order():
    df = _data(seed=3)
    keys = GroupKeys(("s",), sort=False, names=("s",))
    plan = parse_agg("sum", {}, ["y"])
    got = _run(_splits(df)[2], keys, plan)
    expected = df.groupby("s", sort=False)[["y"]].sum()
    pd.testing.assert_frame_equal(got, expected, check_column_type=False)


def test_observed_false_keeps_empty_categories():
    df = pd.DataFrame({"c": pd.Categorical(["a", "b", "a"], categories=["a", "b", "z"]),
                       "x": [1, 2, 3]})
    keys = GroupKeys(("c",), observed=False, names=("c",))
    for func in ["sum", "mean", "count", "nunique"]:
        plan = parse_agg(func, {}, ["x"])
        expected = df.groupby("c", observed=False)[["x"]].agg(func)
        meta = df.iloc[:0].groupby("c", observed=False)[["x"]].agg(func).iloc[:0]
        got = _run([df.iloc[:1], df.iloc[1:]], keys, plan, meta=meta)
        pd.testing.assert_frame_equal(got, expected)


def test_min_count_and_skipna():
    df = pd.DataFrame({"k": [1, 1, 2, 2, 3], "x": [1.0, np.nan, np.nan, np.nan, 5.0]})
    keys = GroupKeys(("k",), names=("k",))
    parts = [df.iloc[:2], df.iloc[2:]]
    for how, kw in [("sum", {"min_count": 1}), ("sum", {"skipna": False}),
                    ("max", {"skipna": False}), ("mean", {"skipna": False}),
                    ("var", {"skipna": False}), ("prod", {"min_count": 2})]:
        from plait.dataframe.groupby.spec import Output, make_plan
        plan = make_plan([Output("x", "x", how, **kw)], "series", "x")
        got = _run(parts, keys, plan)
        expected = getattr(df.groupby("k").x, how)(**kw)
        pd.testing.assert_series_equal(got, expected, check_exact=False)


@pytest.mark.parametrize("by", [("a",), ("a", "b")])
def test_value_counts_kernels_match_pandas(by):
    df = _data(seed=1)
    df.loc[[0, 9], "s"] = None
    key = list(by)
    for gsort, dropna, vdrop, sort, (asc, norm) in itertools.product(
            [True, False], [True, False], [True, False], [True, False],
            [(False, False), (True, True)]):
        keys = GroupKeys(by, dropna=dropna, sort=gsort, names=by)
        for parts in _splits(df)[2:]:
            counts = [vc_chunk(p, keys=keys, column="s", dropna=vdrop) for p in parts]
            counts = [vc_combine(counts[i:i + 3]) for i in range(0, len(counts), 3)]
            got = vc_aggregate(counts, keys=keys, normalize=norm, sort=sort,
                               ascending=asc, name="s")
            expected = df.groupby(key, sort=gsort, dropna=dropna).s.value_counts(
                normalize=norm, sort=sort, ascending=asc, dropna=vdrop)
            if gsort:
                # pandas orders ties inside a group by an unstable sort: compare the
                # rows as sets, then check the ordering rules on our result.
                pd.testing.assert_frame_equal(_rows(got), _rows(expected))
                _check_group_order(got, len(by), sort, asc)
            else:
                pd.testing.assert_series_equal(got, expected)


def _check_group_order(got: pd.Series, nk: int, sort: bool, ascending: bool) -> None:
    frame = got.reset_index()
    keys = frame.iloc[:, :nk]
    codes = keys.groupby(list(keys.columns), sort=True, dropna=False).ngroup()
    assert codes.is_monotonic_increasing
    if sort:
        values = frame.iloc[:, -1].to_numpy() * (1 if ascending else -1)
        same_group = codes.to_numpy()[1:] == codes.to_numpy()[:-1]
        assert (np.diff(values)[same_group] >= 0).all()


def _rows(s: pd.Series) -> pd.DataFrame:
    frame = s.reset_index()
    return frame.sort_values(list(frame.columns), na_position="last", ignore_index=True)


def test_parse_agg_errors():
    with pytest.raises(TypeError, match="not supported"):
        parse_agg(lambda s: s.sum(), {}, ["x"])
    with pytest.raises(NotImplementedError, match="median"):
        parse_agg("median", {}, ["x"])
    with pytest.raises(KeyError, match="'z'"):
        parse_agg({"z": "sum"}, {}, ["x"])
    with pytest.raises(TypeError, match="pair"):
        parse_agg(None, {"t": "sum"}, ["x"])
    with pytest.raises(TypeError, match="dict"):
        parse_agg({"x": "sum"}, {}, None)

"""Element-wise operations against pandas: operators, alignment, missing values."""

import operator

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd
from plait.dataframe.utils import assert_eq


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv,
                                operator.floordiv, operator.mod, operator.pow,
                                operator.lt, operator.le, operator.gt, operator.ge,
                                operator.eq, operator.ne])
def test_series_scalar_and_series_series(ddf_pair, op):
    df, pdf = ddf_pair
    assert_eq(op(df.x, 3), op(pdf.x, 3))
    assert_eq(op(3, df.y), op(3, pdf.y))
    assert_eq(op(df.x, df.y), op(pdf.x, pdf.y))


def test_frame_ops_and_unary(ddf_pair):
    df, pdf = ddf_pair
    num, pnum = df[["x", "y"]], pdf[["x", "y"]]
    assert_eq(num + num, pnum + pnum)
    assert_eq(num * 2 - 1, pnum * 2 - 1)
    assert_eq(-num, -pnum)
    assert_eq(abs(df.x), abs(pdf.x))
    assert_eq(~df.b, ~pdf.b)
    assert_eq((df.x > 0) & (df.y < 0), (pdf.x > 0) & (pdf.y < 0))
    assert_eq((df.x > 0) | df.b, (pdf.x > 0) | pdf.b)
    assert_eq(df.s == "s1", pdf.s == "s1")
    assert_eq(df.t > pd.Timestamp("2024-01-03"), pdf.t > pd.Timestamp("2024-01-03"))
    assert_eq(df.c == "a", pdf.c == "a")


def test_series_with_scalar_result(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.y - df.y.mean(), pdf.y - pdf.y.mean())
    assert_eq(df[["x", "y"]] - df[["x", "y"]].mean(), pdf[["x", "y"]] - pdf[["x", "y"]].mean())
    assert_eq(df.x.sum() + 1, pdf.x.sum() + 1)
    assert_eq(2 * df.x.max(), 2 * pdf.x.max())


def test_alignment_on_known_divisions():
    a = pd.Series(np.arange(10.0), index=np.arange(10))
    b = pd.Series(np.arange(6.0), index=np.arange(2, 14, 2))
    da_ = dd.from_pandas(a, npartitions=3)
    db = dd.from_pandas(b, npartitions=2)
    assert da_.divisions != db.divisions
    assert_eq(da_ + db, a + b)
    pdf = pd.DataFrame({"v": np.arange(10)})
    df1 = dd.from_pandas(pdf, npartitions=4)
    assert_eq(df1.v + da_, pdf.v + a)


def test_alignment_unknown_divisions_error():
    a = dd.from_pandas(pd.Series(range(10)), npartitions=2, sort=False)
    b = dd.from_pandas(pd.Series(range(10, 20)), npartitions=3, sort=False)
    with pytest.raises(ValueError, match="divisions are unknown"):
        a + b
    # the same source is fine: partition i matches partition i
    assert_eq(a + a * 2, pd.Series(range(10)) * 3, check_divisions=False)


def test_missing_values(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.isna(), pdf.isna())
    assert_eq(df.isnull(), pdf.isnull())
    assert_eq(df.notna(), pdf.notna())
    assert_eq(df.y.fillna(0), pdf.y.fillna(0))
    assert_eq(df.fillna({"y": -1.0, "s": "?"}), pdf.fillna({"y": -1.0, "s": "?"}))
    assert_eq(df.dropna(), pdf.dropna())
    assert_eq(df.dropna(subset=["y"]), pdf.dropna(subset=["y"]))
    assert_eq(df.y.dropna(), pdf.y.dropna())
    assert_eq(df.y.fillna(df.y.mean()), pdf.y.fillna(pdf.y.mean()))


def test_where_mask_replace_clip_abs_round(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.y.where(df.x > 0), pdf.y.where(pdf.x > 0))
    assert_eq(df.y.where(df.x > 0, 0.5), pdf.y.where(pdf.x > 0, 0.5))
    assert_eq(df.y.mask(df.x > 0, -1.0), pdf.y.mask(pdf.x > 0, -1.0))
    num, pnum = df[["x", "y"]], pdf[["x", "y"]]
    assert_eq(num.where(num > 0, 0), pnum.where(pnum > 0, 0))
    assert_eq(df.x.replace(3, 100), pdf.x.replace(3, 100))
    assert_eq(df.replace({"s": {"s1": "one"}}), pdf.replace({"s": {"s1": "one"}}))
    assert_eq(df.x.clip(-2, 2), pdf.x.clip(-2, 2))
    assert_eq(num.clip(lower=0), pnum.clip(lower=0))
    assert_eq(num.abs(), pnum.abs())
    assert_eq(df.y.round(1), pdf.y.round(1))


def test_isin_between_map(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.x.isin([1, 2, 3]), pdf.x.isin([1, 2, 3]))
    assert_eq(df.s.isin({"s1", "s2"}), pdf.s.isin({"s1", "s2"}))
    assert_eq(df[["x", "s"]].isin([1, "s1"]), pdf[["x", "s"]].isin([1, "s1"]))
    assert_eq(df.x.between(-3, 3), pdf.x.between(-3, 3))
    assert_eq(df.x.between(-3, 3, inclusive="left"), pdf.x.between(-3, 3, inclusive="left"))
    assert_eq(df.x.map(lambda v: v * 2), pdf.x.map(lambda v: v * 2))
    mapping = {i: str(i) for i in range(-10, 10)}
    assert_eq(df.x.map(mapping, meta=("x", "str")), pdf.x.map(mapping))
    assert_eq(df.x.map(pd.Series(mapping)), pdf.x.map(pd.Series(mapping)))


def test_astype(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.x.astype("f8"), pdf.x.astype("f8"))
    assert_eq(df.astype({"x": "f4", "s": "category"}), pdf.astype({"x": "f4", "s": "category"}))
    assert_eq(df.x.astype(str), pdf.x.astype(str))
    with pytest.raises(KeyError, match="not in the frame"):
        df.astype({"nope": int})


def test_apply_rows_and_map_partitions(ddf_pair):
    df, pdf = ddf_pair
    f = lambda row: row.x + (0 if np.isnan(row.y) else row.y)
    assert_eq(df.apply(f, axis=1, meta=("r", "f8")), pdf.apply(f, axis=1).rename("r"),
              check_names=False)
    with pytest.warns(UserWarning, match="meta"):
        df.apply(f, axis=1)
    with pytest.raises(NotImplementedError, match="axis=1"):
        df.apply(f)
    assert_eq(df.map_partitions(lambda p: p.x * 2), pdf.x * 2)
    assert_eq(df.map_partitions(lambda p, k: p.assign(z=p.x + k), 5), pdf.assign(z=pdf.x + 5))
    assert_eq(dd.map_partitions(len, df).sum(), len(pdf))
    assert_eq(df.x.apply(lambda v: v + 1, meta=("x", "i8")), pdf.x + 1)


def test_map_partitions_meta_error():
    df = dd.from_pandas(pd.DataFrame({"x": [1, 2]}), npartitions=1)

    def bad(p):
        raise RuntimeError("boom")

    with pytest.raises(ValueError, match="meta="):
        df.map_partitions(bad)
    assert df.map_partitions(bad, meta={"x": "i8"}).columns.tolist() == ["x"]


def test_to_datetime_to_numeric(ddf_pair):
    df, pdf = ddf_pair
    strings = df.t.astype(str)
    pstrings = pdf.t.astype(str)
    assert_eq(dd.to_datetime(strings), pd.to_datetime(pstrings))
    text = df.x.astype(str)
    assert_eq(dd.to_numeric(text), pd.to_numeric(pdf.x.astype(str)).astype("f8"))
    assert_eq(dd.to_numeric(df.y), pd.to_numeric(pdf.y))
    assert dd.to_datetime("2024-01-01") == pd.Timestamp("2024-01-01")
    frame = dd.from_pandas(pd.DataFrame({"year": [2020, 2021], "month": [1, 2],
                                         "day": [3, 4]}), npartitions=2)
    assert_eq(dd.to_datetime(frame), pd.to_datetime(frame.compute()))


@pytest.mark.parametrize("name", ["add", "sub", "div", "floordiv", "mod", "pow", "radd",
                                  "rdiv", "lt", "ge", "eq"])
def test_named_operators(ddf_pair, name):
    df, pdf = ddf_pair
    num, pnum = df[["x", "y"]], pdf[["x", "y"]]
    assert_eq(getattr(num, name)(2), getattr(pnum, name)(2))
    assert_eq(getattr(df.y, name)(df.x), getattr(pdf.y, name)(pdf.x))
    if name in ("add", "sub", "mul", "div", "radd"):
        assert_eq(getattr(df.y, name)(df.x, fill_value=0),
                  getattr(pdf.y, name)(pdf.x, fill_value=0))
        assert_eq(getattr(num, name)(num, fill_value=1), getattr(pnum, name)(pnum, fill_value=1))


def test_numpy_ufuncs_stay_lazy(ddf_pair):
    df, pdf = ddf_pair
    out = np.sqrt(df.y.abs())
    assert type(out).__name__ == "Series"
    assert_eq(out, np.sqrt(pdf.y.abs()))
    assert_eq(np.add(df.x, df.y), np.add(pdf.x, pdf.y))
    assert_eq(np.log1p(df[["y"]].abs()), np.log1p(pdf[["y"]].abs()))
    assert_eq(np.maximum(df.x, 2), np.maximum(pdf.x, 2))


def test_scalar_truth_value_is_an_error(ddf_pair):
    df, _ = ddf_pair
    with pytest.raises(TypeError, match="compute"):
        bool(df.x.sum() > 0)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(df.x)

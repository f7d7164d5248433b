"""The .dt, .str and .cat accessors against pandas on the same data (partition-wise
results, meta from pandas, clear errors for the wrong dtype or whole-column members)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import plait.dataframe as dd
from plait.dataframe.utils import assert_eq

DT_PROPS = ["year", "month", "day", "hour", "day_of_week", "day_of_year", "quarter",
            "is_month_start", "date", "time", "days_in_month"]


def test_dt_properties(ddf_pair):
    df, pdf = ddf_pair
    for prop in DT_PROPS:
        assert_eq(getattr(df.t.dt, prop), getattr(pdf.t.dt, prop), check_divisions=False)


def test_dt_methods(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.t.dt.floor("D"), pdf.t.dt.floor("D"), check_divisions=False)
    assert_eq(df.t.dt.strftime("%Y-%m"), pdf.t.dt.strftime("%Y-%m"), check_divisions=False)
    assert_eq(df.t.dt.day_name(), pdf.t.dt.day_name(), check_divisions=False)
    assert_eq(df.t.dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo").dt.hour,
              pdf.t.dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo").dt.hour,
              check_divisions=False)
    assert_eq(df.t.dt.isocalendar(), pdf.t.dt.isocalendar(), check_divisions=False)
    assert df.t.dt.tz_localize("UTC").dt.tz is not None  # a dtype property, no compute
    delta = df.t - df.t.min()
    assert_eq(delta.dt.total_seconds(), (pdf.t - pdf.t.min()).dt.total_seconds(),
              check_divisions=False)


def test_dt_dayofweek_deprecated_alias_still_works(pdf):
    # the seeds use .dt.dayofweek, which pandas 3 deprecates in favour of day_of_week
    df = dd.from_pandas(pdf, npartitions=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_eq(df.t.dt.dayofweek, pdf.t.dt.dayofweek)


def test_dt_errors(pdf):
    df = dd.from_pandas(pdf, npartitions=2)
    with pytest.raises(AttributeError, match="dtype int64.*to_datetime"):
        _ = df.x.dt
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = df.t.dt.nope
    with pytest.raises(NotImplementedError, match="freq"):
        _ = df.t.dt.freq


STR_CALLS = [
    ("upper", (), {}), ("lower", (), {}), ("len", (), {}), ("strip", ("s",), {}),
    ("contains", ("1",), {}), ("startswith", ("s",), {}), ("replace", ("s", "S"), {}),
    ("slice", (0, 1), {}), ("zfill", (4,), {}), ("find", ("2",), {}),
    ("extract", (r"s(\d)",), {"expand": True}), ("split", ("s",), {}),
    ("split", ("s",), {"n": 1, "expand": True}), ("pad", (5,), {"fillchar": "-"}),
    ("match", (r"s[0-2]",), {}), ("count", ("s",), {}), ("isdigit", (), {}),
]


@pytest.mark.parametrize("name,args,kwargs", STR_CALLS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(STR_CALLS)])
def test_str_methods(ddf_pair, name, args, kwargs):
    df, pdf = ddf_pair
    got = getattr(df.s.str, name)(*args, **kwargs)
    expected = getattr(pdf.s.str, name)(*args, **kwargs)
    # len/find/count are int64 without NaN and float64 with: per partition, like
    # pandas on each piece; the concatenation equals pandas' answer on the whole
    data_dependent = name in ("len", "find", "count")
    assert_eq(got, expected, check_divisions=False, check_meta=not data_dependent)


def test_str_getitem_and_cat_with_others(ddf_pair):
    df, pdf = ddf_pair
    assert_eq(df.s.str[1], pdf.s.str[1], check_divisions=False)
    assert_eq(df.s.str[:2], pdf.s.str[:2], check_divisions=False)
    other = df.c.astype(str)
    assert_eq(df.s.str.cat(other, sep="/"), pdf.s.str.cat(pdf.c.astype(str), sep="/"),
              check_divisions=False)


def test_str_split_expand_pads_partitions_and_index_str():
    pdf = pd.DataFrame({"s": ["u-v", "w", None, "x-y-z"]}, index=["a-1", "b-2", "c-3", "d-4"])
    df = dd.from_pandas(pdf, npartitions=2)
    first = df.s.str.split("-", n=2, expand=True).partitions[0].compute()
    assert list(first.columns) == [0, 1, 2]  # this partition splits at most once
    assert_eq(df.s.str.split("-", n=2, expand=True), pdf.s.str.split("-", n=2, expand=True))
    assert_eq(df.index.str.upper(), pdf.index.str.upper())
    assert_eq(df.index.str.split("-", n=1, expand=True),
              pdf.index.str.split("-", n=1, expand=True), check_divisions=False)


def test_str_errors(pdf):
    df = dd.from_pandas(pdf, npartitions=2)
    with pytest.raises(AttributeError, match="string"):
        _ = df.x.str
    with pytest.raises(NotImplementedError, match="others="):
        df.s.str.cat(sep=",")
    with pytest.raises(NotImplementedError, match="pass n="):
        df.s.str.split("s", expand=True)
    with pytest.raises(NotImplementedError, match="get_dummies"):
        df.s.str.get_dummies()


def test_cat_known(ddf_pair):
    df, pdf = ddf_pair
    assert df.c.cat.known
    assert list(df.c.cat.categories) == list(pdf.c.cat.categories)
    assert df.c.cat.ordered == pdf.c.cat.ordered
    assert_eq(df.c.cat.codes, pdf.c.cat.codes, check_divisions=False)
    assert_eq(df.c.cat.add_categories(["z"]), pdf.c.cat.add_categories(["z"]),
              check_divisions=False)
    assert_eq(df.c.cat.rename_categories({"a": "A"}),
              pdf.c.cat.rename_categories({"a": "A"}), check_divisions=False)
    assert_eq(df.c.cat.set_categories(["c", "b"]), pdf.c.cat.set_categories(["c", "b"]),
              check_divisions=False)
    assert_eq(df.c.cat.as_ordered(), pdf.c.cat.as_ordered(), check_divisions=False)
    assert_eq(df.c.cat.reorder_categories(["c", "a", "b"]),
              pdf.c.cat.reorder_categories(["c", "a", "b"]), check_divisions=False)


def test_cat_remove_unused(ddf_pair):
    df, pdf = ddf_pair
    s, ps = df.c[df.c != "b"], pdf.c[pdf.c != "b"]
    assert_eq(s.cat.remove_unused_categories(), ps.cat.remove_unused_categories(),
              check_divisions=False)


def test_cat_unknown(pdf):
    df = dd.from_pandas(pdf, npartitions=3)
    unknown = df.c.cat.as_unknown()
    assert not unknown.cat.known
    with pytest.raises(NotImplementedError, match="as_known"):
        _ = unknown.cat.categories
    with pytest.raises(NotImplementedError, match="as_known"):
        _ = unknown.cat.codes
    with pytest.raises(NotImplementedError, match="known categories"):
        unknown.cat.rename_categories({"a": "A"})
    known = unknown.cat.as_known()
    assert known.cat.known
    assert list(known.cat.categories) == ["a", "b", "c"]
    assert_eq(known, pdf.c)
    # a step that keeps categories unknown
    assert not unknown.cat.add_categories(["z"]).cat.known
    assert unknown.cat.set_categories(["a", "b"]).cat.known
    # categories computed from the data, sorted like astype("category") sorts them
    s = df.s.map_partitions(lambda p: p.astype("category"),
                            meta=pdf.s.iloc[:0].astype("category"))
    assert not s.cat.known
    assert list(s.cat.as_known().cat.categories) == sorted(pdf.s.dropna().unique())
    t = df.s.astype("category")  # astype gives unknown categories too
    assert not t.cat.known
    assert_eq(t.cat.as_known(), pdf.s.astype("category"))


def test_cat_errors(pdf):
    df = dd.from_pandas(pdf, npartitions=2)
    with pytest.raises(AttributeError, match="categorical.*categorize"):
        _ = df.s.cat


def test_accessors_under_schedulers(pdf, scheduler):
    df = dd.from_pandas(pdf, npartitions=3)
    assert_eq(df.t.dt.day_of_week, pdf.t.dt.day_of_week, scheduler=scheduler)
    assert_eq(df.s.str.upper(), pdf.s.str.upper(), scheduler=scheduler)
    assert_eq(df.c.cat.codes, pdf.c.cat.codes, scheduler=scheduler)

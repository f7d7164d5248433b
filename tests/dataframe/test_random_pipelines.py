"""Random chains of operations, compared with pandas: the optimizer's rewrites
(projection and predicate pushdown, no-op removal, fusion) must never change a result.
Seeds are fixed, so failures reproduce."""

import random

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd
from plait.dataframe.core import new_collection
from plait.dataframe.expr import FromParts, apply_filters
from plait.dataframe.utils import assert_eq


def _reader(frames):
    def read(i, columns=None, filters=None):
        df = apply_filters(frames[i], filters)
        return df if columns is None else df[columns]

    read.supports_filters = True
    return read


def _source(kind, pdf):
    if kind == "pandas":
        return dd.from_pandas(pdf, npartitions=3)
    pieces = [pdf.iloc[:9], pdf.iloc[9:9], pdf.iloc[9:]]
    return new_collection(FromParts(_reader(pieces), [0, 1, 2], pdf.iloc[:0]))


def _step(rng, d, p):
    """One random operation applied to both (plait, pandas) frames."""
    num = [c for c in p.columns if p[c].dtype.kind in "if"]
    choice = rng.choice(["filter", "project", "assign", "arith", "fillna", "rename",
                         "astype", "drop", "where", "isin", "noop", "centre", "branch",
                         "query"])
    if choice == "filter" and num:
        c = rng.choice(num)
        k = rng.choice([-3, 0, 2])
        op = rng.choice([">", "<=", "!="])
        f = {">": lambda s: s > k, "<=": lambda s: s <= k, "!=": lambda s: s != k}[op]
        return d[f(d[c])], p[f(p[c])]
    if choice == "project" and len(p.columns) > 1:
        cols = rng.sample(list(p.columns), rng.randint(1, len(p.columns)))
        return d[cols], p[cols]
    if choice == "assign" and num:
        a, b = rng.choice(num), rng.choice(num)
        name = rng.choice(["n1", "n2", a])
        return d.assign(**{name: d[a] * 2 + d[b]}), p.assign(**{name: p[a] * 2 + p[b]})
    if choice == "arith" and num:
        return d[num] + 1, p[num] + 1
    if choice == "fillna" and num:
        return d.fillna({c: 0 for c in num}), p.fillna({c: 0 for c in num})
    if choice == "rename":
        c = rng.choice(list(p.columns))
        return d.rename(columns={c: f"{c}_r"}), p.rename(columns={c: f"{c}_r"})
    if choice == "astype" and num:
        c = rng.choice(num)
        return d.astype({c: "f8"}), p.astype({c: "f8"})
    if choice == "drop" and len(p.columns) > 1:
        c = rng.choice(list(p.columns))
        return d.drop(columns=[c]), p.drop(columns=[c])
    if choice == "where" and num:
        c = rng.choice(num)
        return d[num].where(d[c] > 0, -1), p[num].where(p[c] > 0, -1)
    if choice == "isin" and "s" in p.columns:
        return d[d.s.isin(["s1", "s3"])], p[p.s.isin(["s1", "s3"])]
    if choice == "centre" and num:
        c = rng.choice(num)
        return d.assign(m=d[c] - d[c].mean()), p.assign(m=p[c] - p[c].mean())
    if choice == "branch" and len(num) >= 2:
        a, b = num[:2]
        db, pb = d[d[a] > 0], p[p[a] > 0]
        return d.assign(j=db[b] + d[a]), p.assign(j=pb[b] + p[a])
    if choice == "query" and "a" in p.columns and p["a"].dtype.kind in "if":
        return d.query("a > -2"), p.query("a > -2")
    return d[list(d.columns)], p[list(p.columns)]


def _finish(rng, d, p):
    num = [c for c in p.columns if p[c].dtype.kind in "if"]
    choice = rng.choice(["frame", "len", "sum", "col", "head"])
    if choice == "len":
        assert len(d) == len(p)
        return
    if choice == "sum" and num:
        assert_eq(d[num].sum(), p[num].sum())
        return
    if choice == "col":
        c = rng.choice(list(p.columns))
        assert_eq(d[c], p[c])
        return
    if choice == "head":
        pd.testing.assert_frame_equal(d.head(4, npartitions=-1), p.head(4))
        return
    assert_eq(d, p)


@pytest.mark.parametrize("seed", range(50))
def test_random_pipeline(seed):
    rng = random.Random(seed)
    n = 24
    r = np.random.RandomState(seed)
    pdf = pd.DataFrame({"a": r.randint(-5, 5, n), "b": r.normal(size=n),
                        "c": r.randint(0, 3, n).astype(float),
                        "s": pd.array([f"s{i % 4}" for i in range(n)], dtype="str")})
    pdf.loc[pdf.index[::5], "b"] = np.nan
    d = _source(rng.choice(["pandas", "parts"]), pdf)
    p = pdf
    for _ in range(rng.randint(1, 6)):
        d, p = _step(rng, d, p)
    _finish(rng, d, p)

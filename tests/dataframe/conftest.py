"""Shared data for the dataframe tests: one pandas frame with the awkward kinds of
columns (missing values, strings, categoricals, datetimes, booleans), partitioned in
several ways, including with empty partitions."""

import numpy as np
import pandas as pd
import pytest

import plait.dataframe as dd


def make_pdf(n: int = 30) -> pd.DataFrame:
    rng = np.random.RandomState(0)
    x = rng.randint(-10, 10, size=n)
    y = rng.normal(size=n)
    y[::7] = np.nan
    s = pd.array([f"s{i % 5}" if i % 6 else None for i in range(n)], dtype="str")
    return pd.DataFrame({
        "x": x,
        "y": y,
        "s": s,
        "c": pd.Categorical([["a", "b", "c"][i % 3] for i in range(n)]),
        "t": pd.date_range("2024-01-01", periods=n, freq="6h"),
        "b": x > 0,
    }, index=pd.RangeIndex(n) * 2)


@pytest.fixture
def pdf() -> pd.DataFrame:
    return make_pdf()


def _with_empty(pdf: pd.DataFrame):
    """Four partitions, two of them empty, divisions unknown."""
    pieces = [pdf.iloc[:0], pdf.iloc[:12], pdf.iloc[12:12], pdf.iloc[12:]]
    return dd.from_map(lambda i: pieces[i], range(4), meta=pdf.iloc[:0])


PARTITIONINGS = ["one", "four", "chunks7", "empty-parts"]


@pytest.fixture(params=PARTITIONINGS)
def ddf_pair(request, pdf):
    """(plait DataFrame, pandas DataFrame) over several partitionings."""
    kind = request.param
    if kind == "one":
        return dd.from_pandas(pdf, npartitions=1), pdf
    if kind == "four":
        return dd.from_pandas(pdf, npartitions=4), pdf
    if kind == "chunks7":
        return dd.from_pandas(pdf, chunksize=7), pdf
    return _with_empty(pdf), pdf


@pytest.fixture(params=["sync", "threads", "processes"])
def scheduler(request):
    return request.param

"""DataFrames in a few lines: a made-up time series, and selecting columns of a CSV file.

From the seeds "GSFC Python Bootcamp: What is Dask?" (``dask.datasets.timeseries()``,
``len(df)``, ``df.head()``, ``df.groupby(df.id).x.sum()`` then ``compute``) and
"Parallel programming in Python" (``read_csv("data/nasa-exoplanets.csv")`` and
``df[["pl_hostname", "pl_pnum"]].compute()``), with ``import plait as dask``.

The time series is generated lazily, one partition per day, each from a seed and the
partition's number, so it is the same under every scheduler. The exoplanet file is made
up by ``examples/data/make_flights.py`` (no download). Every answer is checked against
pandas on the same data, and the script exits non-zero on a difference.

Run it with ``python examples/dataframe_basics.py`` (a few seconds).
"""

import os
import sys
import tempfile

import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "data"))

from make_flights import make_exoplanets

import plait as dask
import plait.dataframe  # so that dask.dataframe.read_csv works, as in the seed


def main():
    # Dataframes implement the Pandas API
    df = dask.datasets.timeseries(seed=0)
    print(df)
    n = len(df)
    print("rows:", n)
    assert n == 30 * 24 * 60 * 60, n
    print(df.head())
    df2 = df.groupby(df.id).x.sum()
    print(df2)  # not computed yet: the structure only
    total = df2.compute()
    whole = df.compute()
    pd.testing.assert_series_equal(total.sort_index(), whole.groupby(whole.id).x.sum(),
                                   check_names=False)
    pd.testing.assert_frame_equal(df.head(), whole.head())
    print("timeseries: len, head and groupby(id).x.sum() match pandas")

    path = make_exoplanets(os.path.join(tempfile.mkdtemp(prefix="plait-exo-"), "data"))
    df = dask.dataframe.read_csv(path)
    print(df)
    got = df[["pl_hostname", "pl_pnum"]].compute()
    pd.testing.assert_frame_equal(got, pd.read_csv(path)[["pl_hostname", "pl_pnum"]])
    print(got.head())
    print("All dataframe results match pandas.")


if __name__ == "__main__":
    main()

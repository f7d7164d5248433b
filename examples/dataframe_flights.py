"""NYC flights: read a folder of CSV files as one DataFrame and ask it questions.

From the seeds "Schedulers" (the Dask tutorial's scheduler notebook, old and new
versions) and "Distributed: Dask Schedulers": ``dd.read_csv("data/nycflights/*.csv",
parse_dates={"Date": [0, 1, 2]}, dtype={...})``, the largest departure delay of the
flights that were not cancelled under threads, processes and one thread, the number of
flights, and the group-by questions of the exercise (flights per airport, mean delay
per airport, mean delay per day of the week).

No download: ``examples/data/make_flights.py`` writes ten small CSV files in the
tutorials' column layout into a temporary folder. Every answer is checked against
pandas reading the same files, and the script exits non-zero on a difference.

``parse_dates={"Date": [0, 1, 2]}`` (Year, Month, DayofMonth joined into one datetime
column) is a form pandas 3 no longer accepts; plait's readers keep it. The same column
can be built without it::

    df = dd.read_csv(...)
    df["Date"] = dd.to_datetime(df[["Year", "Month", "DayofMonth"]]
                                .rename(columns={"DayofMonth": "day"}))

Run it with ``python examples/dataframe_flights.py`` (a few seconds). The processes
scheduler's workers import this file, so the ``if __name__ == "__main__":`` guard is
required.
"""

import glob
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "data"))

from make_flights import make_flights

import plait.dataframe as dd

DTYPES = {"TailNum": object, "CRSElapsedTime": float, "Cancelled": bool}


def pandas_flights(folder):
    """The same files read by pandas alone, with the same Date column."""
    frames = [pd.read_csv(p, dtype=DTYPES) for p in sorted(glob.glob(os.path.join(folder, "*.csv")))]
    df = pd.concat(frames, ignore_index=True)
    date = pd.to_datetime(df[["Year", "Month", "DayofMonth"]].rename(
        columns={"Year": "year", "Month": "month", "DayofMonth": "day"}))
    return pd.concat([date.rename("Date"), df.drop(columns=["Year", "Month", "DayofMonth"])],
                     axis=1)


def check(what, got, expected):
    if isinstance(expected, pd.Series):
        pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(),
                                       check_names=False, check_dtype=False)
    elif isinstance(expected, float):
        assert np.isclose(got, expected), (got, expected)
    else:
        assert got == expected, (got, expected)
    print(f"  {what}: matches pandas")


def main():
    folder = make_flights(os.path.join(tempfile.mkdtemp(prefix="plait-flights-"), "data"))
    print(f"Made {len(os.listdir(folder))} CSV files in {folder}")

    df = dd.read_csv(os.path.join(folder, "*.csv"),
                     parse_dates={"Date": [0, 1, 2]},
                     dtype={"TailNum": object,
                            "CRSElapsedTime": float,
                            "Cancelled": bool})
    pdf = pandas_flights(folder)
    print(df)

    # Maximum non-cancelled delay
    largest_delay = df[~df.Cancelled].DepDelay.max()
    print(largest_delay)  # lazy: nothing is read until compute
    largest_delay.explain()  # the plan: the read parses two columns and drops cancelled rows
    expected = pdf[~pdf.Cancelled].DepDelay.max()
    for scheduler in ("threads", "processes", "single-threaded"):
        start = time.perf_counter()
        got = largest_delay.compute(scheduler=scheduler)
        print(f"largest delay with {scheduler}: {got} ({time.perf_counter() - start:.2f} s)")
        check(f"largest_delay.compute(scheduler={scheduler!r})", float(got), float(expected))

    # Number of flights
    check("len(df)", len(df), len(pdf))
    # Number of non-cancelled flights
    check("len(df[~df.Cancelled])", len(df[~df.Cancelled]), int((~pdf.Cancelled).sum()))
    # Number of non-cancelled flights per-airport
    got = df[~df.Cancelled].groupby("Origin").Origin.count().compute()
    check("flights per airport", got, pdf[~pdf.Cancelled].groupby("Origin").Origin.count())
    # Average departure delay from each airport
    got = df[~df.Cancelled].groupby("Origin").DepDelay.mean().compute()
    check("mean delay per airport", got, pdf[~pdf.Cancelled].groupby("Origin").DepDelay.mean())
    # Average departure delay per day-of-week (the tutorials write .dt.dayofweek, which
    # pandas 3.1 deprecates in favour of .dt.day_of_week; both give the same numbers)
    got = df.groupby(df.Date.dt.day_of_week).DepDelay.mean().compute()
    check("mean delay per day of the week", got,
          pdf.groupby(pdf.Date.dt.day_of_week).DepDelay.mean())
    print(got)
    print("All flight answers match pandas.")


if __name__ == "__main__":
    main()

"""Write a small, made-up NYC-flights CSV data set in the tutorials' column layout.

The Dask tutorials read ``data/nycflights/*.csv``: one file per year of flights out of
the New York airports (EWR, JFK, LGA), with the columns of the US airline on-time data
(Year, Month, DayofMonth, DayOfWeek, DepTime, ..., Cancelled, Diverted). Nothing is
downloaded here: the rows are generated from a fixed seed, with the quirks the
tutorials rely on:

- cancelled flights (about 2%) have no departure or arrival times and no delays (NaN);
  diverted ones have no arrival;
- ``TailNum`` is empty in the first rows of every file and filled in later, so it must
  be read with ``dtype={"TailNum": object}``;
- ``CRSElapsedTime`` holds whole minutes but is missing here and there far into a file,
  so it must be read as float;
- ``Cancelled`` is 0/1, read as bool.

It also writes ``nasa-exoplanets.csv`` (``pl_hostname``, ``pl_pnum``, ...), the file of
the "Parallel programming in Python" tutorial's dataframe cell.

Run ``python examples/data/make_flights.py [FOLDER]`` (default ``./data``), or call
:func:`make_flights` / :func:`make_exoplanets`.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd

COLUMNS = ["Year", "Month", "DayofMonth", "DayOfWeek", "DepTime", "CRSDepTime", "ArrTime",
           "CRSArrTime", "UniqueCarrier", "FlightNum", "TailNum", "ActualElapsedTime",
           "CRSElapsedTime", "AirTime", "ArrDelay", "DepDelay", "Origin", "Dest", "Distance",
           "TaxiIn", "TaxiOut", "Cancelled", "Diverted"]

ORIGINS = ["EWR", "JFK", "LGA"]
# destination: miles from New York (roughly)
DESTS = {"ATL": 760, "BOS": 190, "ORD": 730, "DFW": 1380, "LAX": 2470, "SFO": 2580,
         "MIA": 1090, "DCA": 215, "DTW": 500, "MSP": 1020, "PIT": 335, "CLT": 540,
         "DEN": 1620, "IAH": 1410, "SEA": 2420, "RDU": 430}
CARRIERS = ["AA", "UA", "DL", "US", "CO", "TW", "NW", "EA", "PA (1)"]


def _hhmm(minutes: np.ndarray) -> np.ndarray:
    """Minutes after midnight as hhmm clock times (wrapping past midnight)."""
    m = np.mod(minutes, 24 * 60)
    return (m // 60) * 100 + m % 60


def flights_for_year(year: int, rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` made-up flights from New York in ``year``, sorted by date and time."""
    rng = np.random.default_rng([seed, year])
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    date = np.sort(rng.choice(days.values, rows))
    date = pd.DatetimeIndex(date)
    crs_dep_min = rng.integers(6 * 60, 22 * 60, rows) // 5 * 5
    order = np.lexsort((crs_dep_min, date.values))
    date, crs_dep_min = date[order], crs_dep_min[order]

    dest = rng.choice(list(DESTS), rows)
    distance = np.array([DESTS[d] for d in dest]) + rng.integers(-15, 16, rows)
    crs_elapsed = (distance / 8.0 + 35 + rng.integers(-5, 6, rows)).round()
    dep_delay = np.round(rng.exponential(18, rows) - rng.uniform(0, 12, rows))
    taxi_out = rng.integers(8, 35, rows).astype(float)
    taxi_in = rng.integers(3, 15, rows).astype(float)
    air_time = np.round(crs_elapsed - taxi_out - taxi_in + rng.normal(0, 6, rows))
    actual = air_time + taxi_out + taxi_in
    arr_delay = dep_delay + (actual - crs_elapsed)
    dep_min = crs_dep_min + dep_delay
    cancelled = rng.random(rows) < 0.02
    diverted = (~cancelled) & (rng.random(rows) < 0.003)

    df = pd.DataFrame({
        "Year": date.year,
        "Month": date.month,
        "DayofMonth": date.day,
        "DayOfWeek": date.day_of_week + 1,  # 1 = Monday, as in the on-time data
        "DepTime": _hhmm(dep_min).astype(float),
        "CRSDepTime": _hhmm(crs_dep_min),
        "ArrTime": _hhmm(dep_min + actual).astype(float),
        "CRSArrTime": _hhmm(crs_dep_min + crs_elapsed).astype(int),
        "UniqueCarrier": rng.choice(CARRIERS, rows),
        "FlightNum": rng.integers(1, 2000, rows),
        "TailNum": [f"N{n}{c}" for n, c in zip(rng.integers(100, 999, rows),
                                                rng.choice(list("ABCDEFGHJK"), rows))],
        "ActualElapsedTime": actual,
        "CRSElapsedTime": crs_elapsed,
        "AirTime": air_time,
        "ArrDelay": arr_delay,
        "DepDelay": dep_delay,
        "Origin": rng.choice(ORIGINS, rows, p=[0.35, 0.3, 0.35]),
        "Dest": dest,
        "Distance": distance,
        "TaxiIn": taxi_in,
        "TaxiOut": taxi_out,
        "Cancelled": cancelled.astype(int),
        "Diverted": diverted.astype(int),
    })
    no_departure = ["DepTime", "ArrTime", "ActualElapsedTime", "AirTime", "ArrDelay",
                    "DepDelay", "TaxiIn", "TaxiOut"]
    df.loc[cancelled, no_departure] = np.nan
    df.loc[diverted, ["ArrTime", "ActualElapsedTime", "AirTime", "ArrDelay", "TaxiIn"]] = np.nan
    # tail numbers were not recorded at first; scheduled times go missing later on
    df.loc[: rows // 3, "TailNum"] = None
    missing_crs = rng.random(rows) < 0.002
    missing_crs[: rows // 2] = False
    df.loc[missing_crs, "CRSElapsedTime"] = np.nan
    df.loc[missing_crs, "CRSArrTime"] = df.loc[missing_crs, "CRSDepTime"]
    return df[COLUMNS]


def make_flights(folder: str = "data", years: range = range(1990, 2000),
                 rows_per_year: int = 3000, seed: int = 0) -> str:
    """Write ``<folder>/nycflights/<year>.csv`` for each year; returns that directory.

    Files that already exist are left alone, so calling it again is cheap.
    """
    out = os.path.join(folder, "nycflights")
    os.makedirs(out, exist_ok=True)
    for year in years:
        path = os.path.join(out, f"{year}.csv")
        if os.path.exists(path):
            continue
        df = flights_for_year(year, rows_per_year, seed)
        tmp = path + ".tmp"
        # whole minutes print as integers where a column has no gaps in a row, as in
        # the original files: floats are written without a trailing ".0"
        df.to_csv(tmp, index=False, float_format="%.0f")
        os.replace(tmp, path)
    return out


def make_exoplanets(folder: str = "data", rows: int = 500, seed: int = 0) -> str:
    """Write ``<folder>/nasa-exoplanets.csv``: host star, planet count, orbit, mass."""
    rng = np.random.default_rng([seed, 7])
    hosts = [f"HD {n}" for n in rng.integers(1000, 99999, rows // 2)]
    host = rng.choice(hosts, rows)
    counts = pd.Series(host).map(pd.Series(host).value_counts())
    letters = pd.Series(host).groupby(host).cumcount().map(lambda i: "bcdefgh"[i % 7])
    df = pd.DataFrame({
        "pl_hostname": host,
        "pl_letter": letters,
        "pl_name": [f"{h} {c}" for h, c in zip(host, letters)],
        "pl_discmethod": rng.choice(["Radial Velocity", "Transit", "Imaging"], rows,
                                    p=[0.4, 0.55, 0.05]),
        "pl_pnum": counts.to_numpy(),
        "pl_orbper": np.round(10 ** rng.uniform(0, 4, rows), 3),
        "pl_bmassj": np.where(rng.random(rows) < 0.3, np.nan,
                              np.round(10 ** rng.uniform(-2, 1.3, rows), 3)),
        "st_dist": np.round(10 ** rng.uniform(0.5, 3, rows), 2),
    })
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "nasa-exoplanets.csv")
    df.to_csv(path, index=False)
    return path


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "data"
    print("wrote", make_flights(target))
    print("wrote", make_exoplanets(target))

"""Write sea-surface-temperature-like netCDF files shaped like the tutorial's CESM2 data.

The Dask tutorial's "Distributed" lesson opens four files ``tos_Omon_CESM2*.nc`` (one
ensemble member each; variable ``tos`` over ``time x lat x lon``, monthly, float32).
This script writes files with that layout: a seasonal cycle that depends on latitude,
a slow trend, and noise, with land points as NaN, so monthly anomalies are meaningful.

    python examples/data/make_sst.py                      # small: 4 x 240 x 45 x 90
    python examples/data/make_sst.py --months 1980 --nlat 180 --nlon 360 --out /tmp/sst
                                                          # the tutorial's size, ~2 GB
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np

MEMBERS = ("r11i1p1f1", "r7i1p1f1", "r8i1p1f1", "r9i1p1f1")


def write_member(path: pathlib.Path, member: int, months: int, nlat: int, nlon: int) -> None:
    import netCDF4
    import pandas as pd

    rng = np.random.default_rng(member)
    lat = np.linspace(-89.5, 89.5, nlat)
    lon = np.linspace(0.5, 359.5, nlon)
    time = pd.date_range("1850-01-15", periods=months, freq="MS") + pd.Timedelta(days=14)
    land = (np.abs(np.sin(np.deg2rad(lon))[None, :] * np.cos(np.deg2rad(lat))[:, None]) > 0.9)
    base = 28.0 * np.cos(np.deg2rad(lat))[:, None] - 1.5 + 0 * lon[None, :]
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("time", None)
        nc.createDimension("lat", nlat)
        nc.createDimension("lon", nlon)
        t = nc.createVariable("time", "f8", ("time",))
        t.units = "days since 1850-01-01"
        t.calendar = "standard"
        t[:] = (time - pd.Timestamp("1850-01-01")).days.to_numpy()
        nc.createVariable("lat", "f8", ("lat",))[:] = lat
        nc.createVariable("lon", "f8", ("lon",))[:] = lon
        tos = nc.createVariable("tos", "f4", ("time", "lat", "lon"), fill_value=np.float32(1e20),
                                chunksizes=(1, nlat, nlon))
        tos.units = "degC"
        tos.long_name = "Sea Surface Temperature"
        step = 60  # months written at a time: bounded memory at any size
        for start in range(0, months, step):
            n = min(step, months - start)
            m = np.arange(start, start + n)
            season = 3.0 * np.sin(2 * np.pi * (m % 12) / 12.0)[:, None, None] * np.sign(lat)[None, :, None]
            trend = (0.01 * m / 12.0)[:, None, None]
            noise = rng.normal(0.0, 0.5, size=(n, nlat, nlon))
            block = (base[None] + season + trend + noise).astype("f4")
            block[:, land] = np.nan
            tos[start:start + n] = np.where(np.isnan(block), np.float32(1e20), block)


def make(out: str | pathlib.Path, months: int = 240, nlat: int = 45, nlon: int = 90) -> list:
    """Write the four member files into ``out`` (if not already there); their paths."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, member in enumerate(MEMBERS):
        path = out / f"tos_Omon_CESM2_historical_{member}_gn_{months}x{nlat}x{nlon}.nc"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            write_member(tmp, i, months, nlat, nlon)
            tmp.rename(path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(pathlib.Path(__file__).parent / "sst"))
    p.add_argument("--months", type=int, default=240)
    p.add_argument("--nlat", type=int, default=45)
    p.add_argument("--nlon", type=int, default=90)
    a = p.parse_args()
    for path in make(a.out, a.months, a.nlat, a.nlon):
        print(path)

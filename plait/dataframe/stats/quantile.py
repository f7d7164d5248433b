"""Approximate quantiles from weighted per-partition samples.

Method. Each partition sorts its non-null values. A partition with at most ``m`` values
(``m = QUANTILE_SAMPLES``, 1000) sends them all, each with weight 1; a larger one sends
``m`` evenly spaced order statistics (the values at ranks ``(k + 1/2) n / m``), each
with weight ``n / m``. The final step sorts every sample, places each at the centre of
the block of ranks it stands for (cumulative weight before it plus ``(w - 1) / 2``)
and interpolates linearly at rank ``q (N - 1)``, which is pandas' ``linear``
interpolation.

Accuracy. When every partition has at most ``m`` values (so also with one partition
of at most ``m``), the samples are the data and the result is pandas' exactly; a single
partition of any size is answered exactly by pandas itself. Otherwise each sample's
assumed rank is off by at most half its block, so the returned value lies between the
true order statistics at ranks ``q (N - 1) +- N / m`` (for N values in all): with the
default, within 0.1% of the data in rank.

>>> import pandas as pd
>>> parts = [pd.Series([1.0, 5.0, 3.0]), pd.Series([2.0, 4.0])]
>>> merged = merge_samples([sample_chunk(p) for p in parts])
>>> float(quantile_from_samples(merged, [0.5])[0]), float(pd.concat(parts).median())
(3.0, 3.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._tree import is_frame, tree

__all__ = [
    "QUANTILE_SAMPLES",
    "merge_samples",
    "quantile",
    "quantile_from_samples",
    "sample_chunk",
]

QUANTILE_SAMPLES = 1000


def _as_numbers(values: pd.Series) -> tuple[np.ndarray, Any]:
    """Sorted non-null values as float64 (datetimes/timedeltas as int64 nanoseconds
    first) and the dtype to convert results back to."""
    values = values.dropna()
    dtype = values.dtype
    if dtype.kind in "mM":
        arr = np.asarray(values.array.asi8).astype("float64")  # UTC, in the dtype's unit
    else:
        arr = values.to_numpy(dtype="float64")
    return np.sort(arr), dtype


def sample_chunk(values: pd.Series, m: int = QUANTILE_SAMPLES) -> tuple:
    """``(values, weights)`` summarising one partition's non-null values."""
    arr, _ = _as_numbers(values)
    n = len(arr)
    if n <= m:
        return arr, np.ones(n)
    picks = ((np.arange(m) + 0.5) * n / m).astype(np.int64)
    return arr[picks], np.full(m, n / m)


def merge_samples(samples: list[tuple]) -> tuple:
    """Concatenate weighted samples (kept whole: the final step sorts them once)."""
    if len(samples) == 1:
        return samples[0]
    return (np.concatenate([s[0] for s in samples]),
            np.concatenate([s[1] for s in samples]))


def quantile_from_samples(merged: tuple, qs: Any) -> np.ndarray:
    """Linear-interpolated quantiles ``qs`` of the weighted samples."""
    values, weights = merged
    qs = np.asarray(qs, dtype="float64")
    if len(values) == 0:
        return np.full(qs.shape, np.nan)
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    before = np.cumsum(weights) - weights
    centres = before + (weights - 1) / 2
    total = weights.sum()
    return np.interp(qs * (total - 1), centres, values)


# -- collections --------------------------------------------------------------------------

def _chunk(part: Any, columns: tuple | None) -> dict:
    if columns is None:
        return {None: sample_chunk(part)}
    return {c: sample_chunk(part[c]) for c in columns}


def _combine(parts: list[dict]) -> dict:
    return {k: merge_samples([p[k] for p in parts]) for k in parts[0]}


def _to_dtype(values: np.ndarray, dtype: Any) -> Any:
    kind = getattr(dtype, "kind", "f")
    if kind not in "mM":
        return values
    unit = getattr(dtype, "unit", None) or np.datetime_data(dtype)[0]
    ints = np.where(np.isnan(values), np.iinfo("int64").min,
                    np.trunc(np.nan_to_num(values))).astype("int64")
    # int64 min is NaT; fractional nanoseconds are truncated, as pandas does
    out = pd.array(ints.view(f"{kind}8[{unit}]"))
    tz = getattr(dtype, "tz", None)
    if tz is not None:
        out = pd.DatetimeIndex(out).tz_localize("UTC").tz_convert(tz).array
    return out


def _aggregate(parts: list[dict], qs: list, scalar_q: bool, meta: Any,
               dtypes: dict) -> Any:
    merged = _combine(parts)
    if None in merged:  # a Series
        values = _to_dtype(quantile_from_samples(merged[None], qs), dtypes[None])
        if scalar_q:
            return values[0]
        return pd.Series(values, index=meta.index if len(meta.index) else qs,
                         name=meta.name).astype(meta.dtype)
    cols = {c: _to_dtype(quantile_from_samples(merged[c], qs), dtypes[c]) for c in merged}
    if scalar_q:
        return pd.Series([cols[c][0] for c in merged], index=list(merged),
                         name=qs[0]).astype(meta.dtype)
    out = pd.DataFrame(cols, index=pd.Index(qs, dtype="float64"))
    return out.astype(meta.dtypes.to_dict())


def _exact(part: Any, q: Any, kwargs: dict) -> Any:
    return part.quantile(q, **kwargs)


def quantile(obj: Any, q: Any = 0.5, axis: Any = 0, numeric_only: bool = False,
             interpolation: str = "linear", method: str = "default",
             split_every: int | None = None) -> Any:
    """Approximate quantile(s) of a Series, or of each column of a DataFrame.

    See the module docstring for the method and its accuracy: exact for one partition
    or partitions of at most 1000 values each, otherwise within ``N / 1000`` ranks.
    """
    if axis not in (0, "index", None):
        raise NotImplementedError("quantile(axis=1) is not supported; use "
                                  "map_partitions(lambda df: df.quantile(q, axis=1))")
    if interpolation != "linear":
        raise NotImplementedError(f"quantile(interpolation={interpolation!r}): only "
                                  f"'linear' is supported")
    if method not in ("default", "dask", "tdigest"):
        raise ValueError(f"quantile method {method!r} is not one of 'default'")
    frame = is_frame(obj)
    scalar_q = np.ndim(q) == 0
    qs = [float(q)] if scalar_q else [float(v) for v in q]
    if any(not 0 <= v <= 1 for v in qs):
        raise ValueError(f"quantiles must be between 0 and 1, got {q!r}")
    meta_obj = obj._meta
    if frame:
        cols = list(meta_obj.columns)
        if numeric_only:
            cols = [c for c in cols if meta_obj.dtypes[c].kind in "biufc"]
        bad = [c for c in cols if getattr(meta_obj.dtypes[c], "kind", "O") not in "iufcmM"]
        if bad:
            raise TypeError(f"quantile of the non-numeric columns {bad}; select numeric "
                            f"columns or pass numeric_only=True")
        obj = obj[cols] if cols != list(meta_obj.columns) else obj
        meta_obj = meta_obj[cols]
        dtypes = {c: meta_obj.dtypes[c] for c in cols}
    else:
        if getattr(meta_obj.dtype, "kind", "O") not in "iufcmM":
            raise TypeError(f"quantile of a series of dtype {meta_obj.dtype}; it needs "
                            f"numbers, datetimes or timedeltas")
        dtypes = {None: meta_obj.dtype}
    # pandas on the empty meta gives the right layout and dtypes (NaN/NaT values)
    meta = meta_obj.quantile(q if not scalar_q else qs[0])
    if isinstance(meta, (pd.Series, pd.DataFrame)):
        meta = meta.iloc[:0]
    if obj.npartitions == 1:
        # exact: pandas on the one partition
        return tree(obj, _exact, None, _first, meta,
                    chunk_kwargs={"q": q, "kwargs": {}}, label="quantile")
    columns = tuple(dtypes) if frame else None
    return tree(obj, _chunk, _combine, _aggregate, meta, split_every,
                chunk_kwargs={"columns": columns},
                aggregate_kwargs={"qs": qs, "scalar_q": scalar_q, "meta": meta,
                                  "dtypes": dtypes}, label="quantile")


def _first(parts: list) -> Any:
    return parts[0]


"""``describe`` in one pass: per-column summaries merged up a tree.

Numeric (and timedelta) columns: count, mean and std (count/mean/M2 merged with Chan's
formula), min, max and the percentiles (approximate, see :mod:`.quantile`).
Datetimes: count, mean (exact integer sum of nanoseconds), min, max, percentiles.
Strings, objects, booleans and categoricals: count, number of distinct values, the
most frequent value and its frequency (ties go to the value seen first, as in pandas).
The layout (which columns, which rows, dtypes) is pandas' own answer on the empty meta,
so it is known before computing.

>>> import pandas as pd
>>> s = pd.Series([1.0, 2.0, 4.0])
>>> merged = _merge([_summarise(s.iloc[:1], "num"), _summarise(s.iloc[1:], "num")])
>>> bool(round(float(_std(merged)), 6) == round(s.std(), 6))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._tree import is_frame, tree
from .counts import _vc_combine
from .quantile import merge_samples, quantile_from_samples, sample_chunk

__all__ = ["describe"]


def _kind(dtype: Any) -> str:
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return "obj"
    k = getattr(dtype, "kind", "O")
    if k in "iuf":
        return "num"
    if k == "m":
        return "td"
    if k == "M":
        return "dt"
    return "obj"


def _summarise(values: pd.Series, kind: str) -> dict:
    if kind == "obj":
        return {"kind": kind, "n": int(values.count()),
                "vc": values.value_counts(sort=False, dropna=True)}
    valid = values.dropna()
    n = len(valid)
    out: dict = {"kind": kind, "n": n, "samples": sample_chunk(valid)}
    if n == 0:
        out.update(min=None, max=None, mean=0.0, m2=0.0, isum=0)
        return out
    out["min"], out["max"] = valid.min(), valid.max()
    if kind == "dt":
        ints = np.asarray(valid.array.asi8)
        base = int(ints.min())
        out["isum"] = base * n + int((ints - base).sum())  # exact, no int64 overflow
        return out
    x = np.asarray(valid.array.asi8, dtype="float64") if kind == "td" else \
        valid.to_numpy(dtype="float64")
    mean = x.mean()
    out["mean"], out["m2"] = mean, float(((x - mean) ** 2).sum())
    return out


def _merge(parts: list[dict]) -> dict:
    parts = [p for p in parts if p is not None]
    acc = dict(parts[0])
    for b in parts[1:]:
        if acc["kind"] == "obj":
            acc["n"] += b["n"]
            acc["vc"] = _vc_combine([acc["vc"], b["vc"]])
            continue
        na, nb = acc["n"], b["n"]
        acc["samples"] = merge_samples([acc["samples"], b["samples"]])
        if nb == 0:
            continue
        if na == 0:
            acc.update({k: b[k] for k in ("n", "min", "max", "mean", "m2", "isum")
                        if k in b})
            continue
        acc["min"], acc["max"] = min(acc["min"], b["min"]), max(acc["max"], b["max"])
        n = na + nb
        if acc["kind"] == "dt":
            acc["isum"] += b["isum"]
        else:
            d = b["mean"] - acc["mean"]
            acc["mean"] = acc["mean"] + d * nb / n
            acc["m2"] = acc["m2"] + b["m2"] + d * d * na * nb / n
        acc["n"] = n
    return acc


def _std(m: dict) -> float:
    return float(np.sqrt(m["m2"] / (m["n"] - 1))) if m["n"] > 1 else np.nan


def _chunk(part: Any, columns: tuple, kinds: dict) -> dict:
    if columns == (None,):
        return {None: _summarise(part, kinds[None])}
    return {c: _summarise(part[c], kinds[c]) for c in columns}


def _combine(parts: list[dict]) -> dict:
    return {c: _merge([p[c] for p in parts]) for c in parts[0]}


def _column_result(m: dict, dtype: Any, percentiles: list, index: pd.Index) -> dict:
    """The describe values of one column, by row label."""
    if m["kind"] == "obj":
        vc = m["vc"]
        vc = vc[vc > 0]
        if len(vc):
            top_pos = int(np.argmax(vc.to_numpy()))  # first of the most frequent
            top, freq = vc.index[top_pos], int(vc.iloc[top_pos])
        else:
            top, freq = np.nan, np.nan
        return {"count": m["n"], "unique": len(vc), "top": top, "freq": freq}
    labels = [i for i in index if i.endswith("%")]
    qs = quantile_from_samples(m["samples"], percentiles) if m["n"] else \
        np.full(len(percentiles), np.nan)
    out: dict = {"count": m["n"]}
    if m["kind"] == "num":
        out.update(mean=m["mean"] if m["n"] else np.nan, std=_std(m),
                   min=m["min"] if m["n"] else np.nan, max=m["max"] if m["n"] else np.nan)
        out.update(dict(zip(labels, qs)))
        return out
    unit = getattr(dtype, "unit", None) or np.datetime_data(dtype)[0]
    # pandas truncates fractional nanoseconds (astype to int64) for means and stds
    box = (lambda v: pd.Timedelta(int(v), unit=unit)) if m["kind"] == "td" else \
        (lambda v: pd.Timestamp(int(v), unit=unit, tz=getattr(dtype, "tz", None)))
    if m["n"] == 0:
        out.update(mean=pd.NaT, min=pd.NaT, max=pd.NaT, std=pd.NaT)
        out.update({lab: pd.NaT for lab in labels})
        return out
    if m["kind"] == "dt":
        out["mean"] = box(m["isum"] / m["n"])
    else:
        out["mean"] = box(m["mean"])
        out["std"] = box(_std(m)) if m["n"] > 1 else pd.NaT
    out.update(min=m["min"], max=m["max"])
    out.update({lab: box(v) for lab, v in zip(labels, qs)})
    return out


def _aggregate(parts: list[dict], percentiles: list, meta: Any, dtypes: dict) -> Any:
    merged = _combine(parts)
    index = meta.index
    if None in merged:
        values = _column_result(merged[None], dtypes[None], percentiles, index)
        return pd.Series([values.get(i, np.nan) for i in index], index=index,
                         name=meta.name, dtype=meta.dtype)
    data = {}
    for c in meta.columns:
        values = _column_result(merged[c], dtypes[c], percentiles, index)
        data[c] = pd.Series([values.get(i, np.nan) for i in index], index=index,
                            dtype=meta.dtypes[c])
    return pd.DataFrame(data, index=index, columns=meta.columns)


def describe(obj: Any, percentiles: Any = None, include: Any = None, exclude: Any = None,
             split_every: int | None = None) -> Any:
    """Summary statistics with pandas' layout (percentiles approximate on large
    partitions, see :mod:`.quantile`)."""
    meta_obj = obj._meta
    if is_frame(obj):
        meta = meta_obj.describe(percentiles=percentiles, include=include, exclude=exclude)
        cols = list(meta.columns)
        dtypes = {c: meta_obj.dtypes[c] for c in cols}
        if cols != list(meta_obj.columns):
            obj = obj[cols]
        columns = tuple(cols)
    else:
        meta = meta_obj.describe(percentiles=percentiles)
        dtypes = {None: meta_obj.dtype}
        columns = (None,)
    kinds = {c: _kind(d) for c, d in dtypes.items()}
    pct = [float(i[:-1]) / 100 for i in meta.index if isinstance(i, str) and i.endswith("%")]
    return tree(obj, _chunk, _combine, _aggregate, meta.iloc[:0], split_every,
                chunk_kwargs={"columns": columns, "kinds": kinds},
                aggregate_kwargs={"percentiles": pct, "meta": meta, "dtypes": dtypes},
                label="describe")

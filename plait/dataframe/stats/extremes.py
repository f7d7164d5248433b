"""Where the extremes are: ``idxmin``/``idxmax`` and ``nlargest``/``nsmallest``.

``idxmin``: each partition reports, per column, its best value and that value's index
label (skipping NaN unless ``skipna=False``); the merge keeps the best, the earliest
partition winning ties, as pandas returns the first occurrence. ``nlargest``: each
partition keeps its own top ``n`` rows; the concatenation (in partition order, so
``keep=`` ties resolve as in pandas) is cut to ``n`` again.

>>> import pandas as pd
>>> parts = [pd.DataFrame({"x": [3, 1]}, index=[0, 1]),
...          pd.DataFrame({"x": [1, 0]}, index=[2, 3])]
>>> _idx_aggregate([_idx_chunk(p, "min", True, ("x",)) for p in parts], "min", True,
...                ("x",), None).tolist()
[3]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._tree import is_frame, tree

__all__ = ["idxmax", "idxmin", "nlargest", "nsmallest"]


def _best(values: pd.Series, how: str, skipna: bool) -> tuple:
    """``(value, label, saw_nan)`` of one column of one partition."""
    nan = bool(values.isna().any())
    valid = values.dropna()
    if len(valid) == 0:
        return (None, None, nan)
    pos = int(np.argmin(valid.to_numpy()) if how == "min" else np.argmax(valid.to_numpy()))
    return (valid.iloc[pos], valid.index[pos], nan)


def _idx_chunk(part: Any, how: str, skipna: bool, columns: tuple | None) -> dict:
    if columns is None:
        return {None: _best(part, how, skipna)}
    return {c: _best(part[c], how, skipna) for c in columns}


def _idx_combine(parts: list[dict], how: str, skipna: bool, columns: tuple | None) -> dict:
    out = {}
    for c in parts[0]:
        best, nan = (None, None), False
        for p in parts:
            value, label, saw = p[c]
            nan = nan or saw
            if value is None:
                continue
            if best[0] is None or (value < best[0] if how == "min" else value > best[0]):
                best = (value, label)
        out[c] = (best[0], best[1], nan)
    return out


def _idx_aggregate(parts: list[dict], how: str, skipna: bool, columns: tuple | None,
                   meta: Any) -> Any:
    merged = _idx_combine(parts, how, skipna, columns)
    labels = {}
    for c, (value, label, nan) in merged.items():
        name = "the series" if c is None else f"column {c!r}"
        if nan and not skipna:
            raise ValueError(f"idx{how} with skipna=False: {name} holds NaN "
                             f"(pandas raises here too); pass skipna=True")
        if value is None:
            raise ValueError(f"idx{how}: {name} has no non-NaN values (pandas raises "
                             f"here too)")
        labels[c] = label
    if columns is None:
        return labels[None]
    return pd.Series([labels[c] for c in columns], index=list(columns),
                     dtype=meta.dtype if meta is not None else None)


def _idx(obj: Any, how: str, axis: Any, skipna: bool, numeric_only: bool,
         split_every: int | None) -> Any:
    if axis not in (0, "index", None):
        raise NotImplementedError(f"idx{how}(axis=1) is not supported; use "
                                  f"map_partitions(lambda df: df.idx{how}(axis=1))")
    meta_obj = obj._meta
    if is_frame(obj):
        cols = list(meta_obj.columns)
        if numeric_only:
            cols = [c for c in cols if meta_obj.dtypes[c].kind in "biufc"]
            obj, meta_obj = obj[cols], meta_obj[cols]
        meta = pd.Series([], index=pd.Index([]), dtype=meta_obj.index.dtype)
        columns = tuple(cols)
    else:
        meta = None
        columns = None
    kwargs = {"how": how, "skipna": skipna, "columns": columns}
    return tree(obj, _idx_chunk, _idx_combine, _idx_aggregate,
                meta if columns is not None else _label_meta(meta_obj), split_every,
                chunk_kwargs=kwargs, combine_kwargs=kwargs,
                aggregate_kwargs={**kwargs, "meta": meta}, label=f"idx{how}")


def _label_meta(meta_obj: Any) -> Any:
    """A typed scalar standing for one index label."""
    dtype = meta_obj.index.dtype
    try:
        return np.dtype(dtype).type(0) if np.dtype(dtype).kind in "iuf" else None
    except TypeError:
        return None


def idxmin(obj: Any, axis: Any = 0, skipna: bool = True, numeric_only: bool = False,
           split_every: int | None = None) -> Any:
    """Index label of the first minimum (per column for a DataFrame)."""
    return _idx(obj, "min", axis, skipna, numeric_only, split_every)


def idxmax(obj: Any, axis: Any = 0, skipna: bool = True, numeric_only: bool = False,
           split_every: int | None = None) -> Any:
    """Index label of the first maximum (per column for a DataFrame)."""
    return _idx(obj, "max", axis, skipna, numeric_only, split_every)


# -- nlargest / nsmallest ------------------------------------------------------------------

def _top(part: Any, how: str, n: int, columns: Any, keep: str) -> Any:
    if keep == "last":
        # pandas' keep="last" is keep="first" on the reversed rows; work in that
        # reversed order throughout (combines concatenate partitions back to front)
        part, keep = part.iloc[::-1], "first"
    if isinstance(part, pd.DataFrame):
        return getattr(part, how)(n, columns, keep=keep)
    return getattr(part, how)(n, keep=keep)


def _top_combine(parts: list, how: str, n: int, columns: Any, keep: str) -> Any:
    kept = [p for p in parts if len(p)] or parts[:1]
    if keep == "last":
        kept, keep = kept[::-1], "first"
    cat = pd.concat(kept) if len(kept) > 1 else kept[0]
    if isinstance(cat, pd.DataFrame):
        return getattr(cat, how)(n, columns, keep=keep)
    return getattr(cat, how)(n, keep=keep)


def _nextreme(obj: Any, how: str, n: int, columns: Any, keep: str,
              split_every: int | None) -> Any:
    if keep not in ("first", "last", "all"):
        raise ValueError(f"keep must be 'first', 'last' or 'all', got {keep!r}")
    frame = is_frame(obj)
    if frame and columns is None:
        raise TypeError(f"DataFrame.{how}() needs columns= (the column(s) to order by)")
    meta = _top(obj._meta, how, n, columns, keep)
    kwargs = {"how": how, "n": n, "columns": columns, "keep": keep}
    return tree(obj, _top, _top_combine, _top_combine, meta, split_every,
                chunk_kwargs=kwargs, combine_kwargs=kwargs, aggregate_kwargs=kwargs,
                label=how)


def nlargest(obj: Any, n: int = 5, columns: Any = None, keep: str = "first",
             split_every: int | None = None) -> Any:
    """The ``n`` rows with the largest values (of ``columns`` for a DataFrame)."""
    return _nextreme(obj, "nlargest", n, columns, keep, split_every)


def nsmallest(obj: Any, n: int = 5, columns: Any = None, keep: str = "first",
              split_every: int | None = None) -> Any:
    """The ``n`` rows with the smallest values (of ``columns`` for a DataFrame)."""
    return _nextreme(obj, "nsmallest", n, columns, keep, split_every)

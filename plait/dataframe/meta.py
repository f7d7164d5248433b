"""Metadata: the empty pandas objects that stand for a partition's structure.

Every dataframe expression knows its ``_meta``, an empty DataFrame, Series or Index
with the right columns, dtypes, index type and names, so most errors surface when an
expression is built, not when it runs. Operations find their output's meta by running
the same pandas call on their inputs' metas, or, when pandas cannot infer the result
from empty input (``apply``, ``map``, reductions), on a tiny made-up sample
(:func:`meta_nonempty`), then keeping only the structure of the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "emulate",
    "is_frame_like",
    "is_index_like",
    "is_pandas",
    "is_series_like",
    "make_meta",
    "meta_nonempty",
    "scalar_meta",
]

_PANDAS = (pd.DataFrame, pd.Series, pd.Index)


def is_pandas(x: Any) -> bool:
    return isinstance(x, _PANDAS)


def is_frame_like(x: Any) -> bool:
    return isinstance(x, pd.DataFrame)


def is_series_like(x: Any) -> bool:
    return isinstance(x, pd.Series)


def is_index_like(x: Any) -> bool:
    return isinstance(x, pd.Index)


def make_meta(x: Any, index: Any = None) -> Any:
    """The empty pandas object (or typed scalar) describing ``x``.

    ``x`` may be a pandas object, a dict ``{column: dtype}``, a list of
    ``(column, dtype)`` pairs, a ``(name, dtype)`` pair for a Series, or a dtype for a
    scalar.

    >>> make_meta({"a": "i8", "b": "f8"}).dtypes.tolist()
    [dtype('int64'), dtype('float64')]
    >>> make_meta(("x", "f8"))
    Series([], Name: x, dtype: float64)
    """
    if is_pandas(x):
        return x.iloc[:0] if not isinstance(x, pd.Index) else x[:0]
    idx = index[:0] if index is not None else pd.RangeIndex(0)
    if isinstance(x, dict):
        return pd.DataFrame({c: pd.Series([], dtype=d, index=idx) for c, d in x.items()},
                            index=idx)
    if isinstance(x, list) and all(isinstance(i, tuple) and len(i) == 2 for i in x):
        return pd.DataFrame({c: pd.Series([], dtype=d, index=idx) for c, d in x}, index=idx)
    if isinstance(x, tuple) and len(x) == 2:
        return pd.Series([], dtype=x[1], name=x[0], index=idx)
    if isinstance(x, (str, np.dtype, type)) and not isinstance(x, type(pd.NA)):
        try:
            return np.dtype(x).type(0) if np.dtype(x).kind not in "OUSMm" else np.dtype(x).type()
        except TypeError:
            pass
    return x


def scalar_meta(value: Any) -> Any:
    """Meta for a scalar result: a value of the same type (NumPy scalars stay typed)."""
    return value


# -- made-up samples ------------------------------------------------------------------

def _sample_values(dtype: Any, n: int = 2) -> Any:
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        if len(cats) == 0:
            values = pd.Categorical(["a"] * n, categories=["a"], ordered=dtype.ordered)
        else:
            values = pd.Categorical([cats[0]] * n, categories=cats, ordered=dtype.ordered)
        return values
    if isinstance(dtype, pd.DatetimeTZDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "M"):
        stamps = pd.to_datetime(["2000-01-01", "2000-01-02"][:n] * n)[:n]
        if isinstance(dtype, pd.DatetimeTZDtype):  # naive -> aware needs tz_localize
            return pd.array(stamps.tz_localize(dtype.tz).as_unit(dtype.unit))
        return pd.array(stamps).astype(dtype)
    if isinstance(dtype, np.dtype) and dtype.kind == "m":
        return pd.array(pd.to_timedelta([1, 2][:n] * n, unit="D")[:n]).astype(dtype)
    if isinstance(dtype, pd.StringDtype) or dtype is str:
        return pd.array(["foo", "bar"][:n] * n, dtype=dtype)[:n]
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        try:
            return pd.array([1, 1][:n] * n, dtype=dtype)[:n]
        except (TypeError, ValueError):
            try:
                return pd.array([True, False][:n] * n, dtype=dtype)[:n]
            except (TypeError, ValueError):
                return pd.array(["foo", "bar"][:n] * n, dtype=dtype)[:n]
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.array([True, False][:n] * n)[:n]
    if dtype.kind in "iu":
        return np.array([1, 2][:n] * n, dtype=dtype)[:n]
    if dtype.kind in "fc":
        return np.array([1.0, 2.0][:n] * n, dtype=dtype)[:n]
    if dtype.kind in "US":
        return np.array(["foo", "bar"][:n] * n, dtype=dtype)[:n]
    return np.array(["foo", "bar"][:n] * n, dtype=object)[:n]


def _nonempty_index(idx: pd.Index, n: int = 2) -> pd.Index:
    if isinstance(idx, pd.RangeIndex):
        return pd.RangeIndex(n, name=idx.name)
    if isinstance(idx, pd.MultiIndex):
        levels = [_nonempty_index(lvl, 1) for lvl in idx.levels]
        return pd.MultiIndex.from_arrays([list(lvl) * n for lvl in levels], names=idx.names)
    if isinstance(idx, pd.DatetimeIndex):
        out = pd.date_range("2000-01-01", periods=n, tz=idx.tz, name=idx.name)
        return out.as_unit(idx.unit) if hasattr(idx, "unit") else out
    if isinstance(idx, pd.CategoricalIndex):
        return pd.CategoricalIndex(_sample_values(idx.dtype, n), name=idx.name)
    values = _sample_values(idx.dtype, n)
    if isinstance(idx.dtype, np.dtype) and idx.dtype.kind in "iuf":
        values = np.arange(n).astype(idx.dtype)
    return pd.Index(values, name=idx.name, dtype=idx.dtype)


def meta_nonempty(meta: Any) -> Any:
    """A two-row stand-in for ``meta`` with the same columns, dtypes and index type.

    >>> meta_nonempty(pd.DataFrame({"a": pd.Series([], dtype="i8")})).shape
    (2, 1)

    Objects that already hold rows are returned as they are.
    """
    if is_pandas(meta) and len(meta):
        return meta
    if isinstance(meta, pd.DataFrame):
        idx = _nonempty_index(meta.index)
        data = {i: pd.Series(_sample_values(dt), index=idx)
                for i, dt in enumerate(meta.dtypes)}
        out = pd.DataFrame(data, index=idx)
        out.columns = meta.columns
        return out
    if isinstance(meta, pd.Series):
        idx = _nonempty_index(meta.index)
        return pd.Series(_sample_values(meta.dtype), index=idx, name=meta.name)
    if isinstance(meta, pd.Index):
        return _nonempty_index(meta)
    return meta


def emulate(func: Callable, *args: Any, udf: bool = False, **kwargs: Any) -> Any:
    """The meta of ``func(*args, **kwargs)``: run it on made-up samples of the
    (meta) arguments and keep the structure of the answer.

    ``udf=True`` marks a user function: its errors are re-raised with a hint to
    pass ``meta=``.
    """
    sample_args = [meta_nonempty(a) for a in args]
    sample_kwargs = {k: meta_nonempty(v) for k, v in kwargs.items()}
    try:
        out = func(*sample_args, **sample_kwargs)
    except Exception as err:
        if udf:
            name = getattr(func, "__name__", repr(func))
            raise ValueError(
                f"could not infer the output structure (meta) of {name} by running it on "
                f"a sample partition: {type(err).__name__}: {err}. Pass meta= describing "
                "the output, e.g. meta={'x': 'f8'} for a DataFrame, meta=('x', 'f8') for "
                "a Series, or an empty pandas object"
            ) from err
        raise
    if not is_pandas(out):
        return out
    return _unknown_new_categories(make_meta(out), args)


def _unknown_new_categories(meta: Any, inputs: tuple) -> Any:
    """Categorical columns made from non-categorical input (``astype("category")``)
    got their categories from the made-up sample: mark them unknown (no categories),
    as they are until computed."""
    before: dict = {}
    for a in inputs:
        if isinstance(a, pd.DataFrame):
            before.update({c: t for c, t in a.dtypes.items()})
        elif isinstance(a, pd.Series):
            before.setdefault(a.name, a.dtype)

    def fresh(name: Any, dtype: Any) -> bool:
        return isinstance(dtype, pd.CategoricalDtype) and name in before and \
            not isinstance(before[name], pd.CategoricalDtype)

    if isinstance(meta, pd.DataFrame):
        cols = [c for c, t in meta.dtypes.items() if fresh(c, t)]
        if cols:
            meta = meta.copy()
            for c in cols:
                meta[c] = meta[c].cat.set_categories([])
    elif isinstance(meta, pd.Series) and fresh(meta.name, meta.dtype):
        meta = meta.cat.set_categories([])
    return meta

"""Known and unknown categories, and ``categorize``.

A categorical column's meta either lists the real categories (*known*: every partition
uses exactly these, so codes and the result of a concatenation agree) or does not
(*unknown*: each partition may carry its own). Unknown categories are marked by the
placeholder :data:`UNKNOWN_CATEGORIES` as the meta's only category (or by an empty
category list, which is what ``astype("category")`` gives on an empty meta).

:func:`categorize` finds the categories of several columns (and the index) in one pass
over the data: a tree reduction of per-partition distinct values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

__all__ = [
    "UNKNOWN_CATEGORIES",
    "categorize",
    "clear_known_categories",
    "has_known_categories",
    "present_categories",
    "with_categories",
]

UNKNOWN_CATEGORIES = "__UNKNOWN_CATEGORIES__"


def has_known_categories(x: Any) -> bool:
    """Whether the categorical ``x`` (a pandas meta or a plait collection) has known
    categories.

    >>> has_known_categories(pd.Series(["a"], dtype="category"))
    True
    >>> has_known_categories(pd.Series([], dtype="category"))
    False
    """
    meta = getattr(x, "_meta", x)
    dtype = meta.dtype if not isinstance(meta, pd.CategoricalDtype) else meta
    if not isinstance(dtype, pd.CategoricalDtype):
        raise TypeError(f"expected a categorical, got dtype {dtype}")
    cats = dtype.categories
    return len(cats) > 0 and UNKNOWN_CATEGORIES not in cats


def with_categories(obj: Any, categories: Iterable[Any], ordered: Any = None) -> Any:
    """``obj`` (categorical Series or CategoricalIndex) with exactly ``categories``;
    values outside them become NaN, as in pandas' ``set_categories``."""
    ordered = obj.dtype.ordered if ordered is None else ordered
    dtype = pd.CategoricalDtype(pd.Index(list(categories)) if not isinstance(
        categories, pd.Index) else categories, ordered=ordered)
    if isinstance(obj, pd.Index):
        return pd.CategoricalIndex(obj, dtype=dtype, name=obj.name) if not isinstance(
            obj.dtype, pd.CategoricalDtype) else obj.set_categories(dtype.categories,
                                                                    ordered=ordered)
    if isinstance(obj.dtype, pd.CategoricalDtype):
        return obj.cat.set_categories(dtype.categories, ordered=ordered)
    return obj.astype(dtype)


def clear_known_categories(meta: Any, columns: Iterable[Any] | None = None,
                           index: bool = False) -> Any:
    """``meta`` with the categories of ``columns`` (all categorical ones when None) and,
    with ``index=True``, of a categorical index marked unknown."""
    unknown = [UNKNOWN_CATEGORIES]
    if isinstance(meta, pd.DataFrame):
        meta = meta.copy()
        cols = [c for c in meta.columns
                if isinstance(meta.dtypes[c], pd.CategoricalDtype)] \
            if columns is None else list(columns)
        for c in cols:
            meta[c] = with_categories(meta[c], unknown)
    elif isinstance(meta, pd.Series) and isinstance(meta.dtype, pd.CategoricalDtype):
        meta = with_categories(meta, unknown)
    if index and isinstance(meta.index, pd.CategoricalIndex):
        meta = meta.set_axis(with_categories(meta.index, unknown))
    return meta


# -- finding categories ---------------------------------------------------------------

def _distinct(part: Any, columns: tuple, index: bool) -> dict[Any, pd.Index]:
    """Distinct non-null values per column (and ``None`` -> the index) in appearance
    order."""
    out: dict[Any, pd.Index] = {}
    for c in columns:
        values = part[c] if isinstance(part, pd.DataFrame) else part
        if isinstance(values.dtype, pd.CategoricalDtype):
            # categories of a partition may list values its rows do not use
            values = values.dropna()
            out[c] = pd.Index(values.cat.remove_unused_categories().cat.categories)
        else:
            out[c] = pd.Index(values.dropna().unique())
    if index:
        out[None] = pd.Index(part.index.dropna().unique())
    return out


def _merge_distinct(parts: list[dict]) -> dict[Any, pd.Index]:
    merged: dict[Any, pd.Index] = {}
    for p in parts:
        for k, v in p.items():
            merged[k] = v if k not in merged else merged[k].append(v).unique()
    return merged


def _final_categories(parts: list[dict], sort: bool = True) -> dict[Any, pd.Index]:
    merged = {k: v.rename(None) for k, v in _merge_distinct(parts).items()}
    if sort:
        for k, v in merged.items():
            try:
                merged[k] = v.sort_values()
            except TypeError:  # unorderable mix: keep first-appearance order
                pass
    return merged


def _categories_expr(obj: Any, columns: tuple, index: bool, sort: bool,
                     split_every: int | None) -> Any:
    from .core import new_collection
    from .expr import TreeReduce

    meta = pd.Series([], dtype=object)  # a scalar-like result: the dict of categories
    expr = TreeReduce([obj.expr], _distinct, _merge_distinct, _final_categories,
                      meta=meta.dtype, split_every=split_every,
                      chunk_kwargs={"columns": columns, "index": index},
                      aggregate_kwargs={"sort": sort}, label="categories")
    return new_collection(expr)


def present_categories(series: Any, sort: bool = True, split_every: int | None = None,
                       **compute_kwargs: Any) -> pd.Index:
    """Compute the distinct non-null values of ``series`` (sorted where orderable)."""
    result = _categories_expr(series, ("values",), False, sort, split_every)
    return result.compute(**compute_kwargs)["values"]


def _astype_categories(part: Any, dtypes: dict, index_dtype: Any) -> Any:
    if dtypes:
        part = part.astype(dtypes)
    if index_dtype is not None:
        part = part.set_axis(pd.CategoricalIndex(part.index, dtype=index_dtype,
                                                 name=part.index.name))
    return part


def categorize(frame: Any, columns: Any = None, index: Any = None,
               split_every: int | None = None, **compute_kwargs: Any) -> Any:
    """Give ``frame``'s object/string columns (or ``columns``) known categories.

    The distinct values of every chosen column (and of the index when ``index`` is
    True, or None and the index holds strings) are found in one pass over the data;
    categories are sorted like ``astype("category")`` sorts them. Columns that are
    already categorical with known categories are left alone.

    >>> import pandas as pd
    >>> import plait.dataframe as dd
    >>> df = dd.from_pandas(pd.DataFrame({"s": ["b", "a", "b"], "x": [1, 2, 3]}),
    ...                     npartitions=2)
    >>> list(categorize(df).s.cat.categories)
    ['a', 'b']
    """
    from .core import new_collection
    from .expr import MapPartitions

    meta = frame._meta
    if isinstance(meta, pd.Series):
        raise TypeError("categorize() is a DataFrame method; for a Series use "
                        "s.astype('category').cat.as_known()")
    if columns is None:
        columns = [c for c, d in meta.dtypes.items()
                   if d == object or pd.api.types.is_string_dtype(d)
                   or (isinstance(d, pd.CategoricalDtype) and not has_known_categories(d))]
    elif not isinstance(columns, list):
        columns = [columns]
    missing = [c for c in columns if c not in meta.columns]
    if missing:
        raise KeyError(f"categorize columns {missing} not found; the columns are "
                       f"{list(meta.columns)}")
    columns = [c for c in columns if not (isinstance(meta.dtypes[c], pd.CategoricalDtype)
                                          and has_known_categories(meta.dtypes[c]))]
    idx = meta.index
    if index is None:
        index = (idx.dtype == object or pd.api.types.is_string_dtype(idx.dtype)) and \
            not isinstance(idx, pd.MultiIndex)
    if isinstance(idx, pd.CategoricalIndex) and has_known_categories(idx.dtype):
        index = False
    if not columns and not index:
        return frame
    found = _categories_expr(frame, tuple(columns), bool(index), True,
                             split_every).compute(**compute_kwargs)
    dtypes = {c: pd.CategoricalDtype(found[c], ordered=_ordered(meta.dtypes[c]))
              for c in columns}
    index_dtype = pd.CategoricalDtype(found[None]) if index else None
    new_meta = _astype_categories(meta, dtypes, index_dtype)
    return new_collection(MapPartitions(_astype_categories, frame.expr, dtypes,
                                        index_dtype, meta=new_meta, label="categorize"))


def _ordered(dtype: Any) -> bool:
    return bool(getattr(dtype, "ordered", False))


# -- concatenating pieces whose categories differ ---------------------------------------

def _union(dtypes: list) -> pd.Index:
    cats = dtypes[0].categories
    for d in dtypes[1:]:
        cats = cats.append(d.categories).unique()
    try:
        return cats.sort_values()
    except TypeError:
        return cats


def _unify_index(objs: list, union: dict) -> list:
    out = []
    for o in objs:
        idx = o.index
        if isinstance(idx, pd.MultiIndex):
            for i, cats in union.items():
                idx = idx.set_levels(idx.levels[i].set_categories(cats), level=i)
        else:
            idx = idx.set_categories(union[0])
        out.append(o.set_axis(idx))
    return out


def concat_unifying_categories(objs: list) -> Any:
    """``pd.concat(objs)`` where categorical columns and index levels whose categories
    differ between pieces (unknown categories) keep a categorical dtype over the sorted
    union of categories, instead of falling back to object as pandas does."""
    if len(objs) == 1:
        return objs[0]
    first = objs[0]
    # index levels
    nlevels = first.index.nlevels
    levels = (lambda o, i: o.index.levels[i]) if nlevels > 1 else (lambda o, i: o.index)
    union = {}
    for i in range(nlevels):
        dts = [levels(o, i).dtype for o in objs]
        if all(isinstance(d, pd.CategoricalDtype) for d in dts) and len(set(dts)) > 1:
            union[i] = _union(dts)
    if union:
        objs = _unify_index(objs, union)
    # columns
    if isinstance(first, pd.DataFrame):
        changed = {}
        for c in first.columns:
            dts = [o.dtypes[c] for o in objs]
            if all(isinstance(d, pd.CategoricalDtype) for d in dts) and len(set(dts)) > 1:
                changed[c] = pd.CategoricalDtype(_union(dts), ordered=dts[0].ordered)
        if changed:
            objs = [o.astype(changed) for o in objs]
    elif isinstance(first, pd.Series) and isinstance(first.dtype, pd.CategoricalDtype):
        dts = [o.dtype for o in objs]
        if len(set(dts)) > 1:
            dtype = pd.CategoricalDtype(_union(dts), ordered=dts[0].ordered)
            objs = [o.astype(dtype) for o in objs]
    return pd.concat(objs)

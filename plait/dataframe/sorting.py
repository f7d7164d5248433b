"""Sorting a partitioned frame: ``set_index`` and ``sort_values``.

Both cut the key's range into ``npartitions`` intervals, move each row to its
interval's partition with a range shuffle (:mod:`plait.dataframe.shuffle`), and sort
each partition. The interval boundaries come from approximate quantiles of the key:
each partition contributes an evenly spaced sample of its sorted values (each sample
value standing for ``rows / samples`` rows) plus its exact minimum and maximum; the
weighted samples are merged and cut at equal weights. That pass reads the data once
before the shuffle (as Dask's does); pass ``divisions=`` to skip it, or
``sorted=True`` when the data is already sorted by the key (then only per-partition
minimum and maximum are computed and nothing moves).

Repeated boundary values collapse, so a key with few distinct values yields fewer
partitions (a single value: one partition). Missing keys go to the last partition.
A categorical key sorts by category order, as in pandas (its codes are sampled); after
``set_index`` its divisions are known only when that order is also the values' order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .expr.blockwise import MapPartitions
from .shuffle import RangePartitioner, Shuffle, budget_plan

__all__ = ["quantile_divisions", "set_index", "sort_values"]

#: sample values per partition and per output partition for the boundaries
_SAMPLES_PER_OUTPUT = 20
_MAX_SAMPLES = 1000


def _sample(part: Any, column: Any, k: int) -> pd.DataFrame:
    """An evenly spaced sample of the sorted non-missing keys, with weights, and the
    partition's size in bytes spread over the sample's rows."""
    s = part.index.to_series() if column is None else (
        part if isinstance(part, pd.Series) else part[column])
    nbytes = float(part.memory_usage(deep=True, index=True).sum()
                   if isinstance(part, pd.DataFrame) else part.memory_usage(deep=True))
    if isinstance(s.dtype, pd.CategoricalDtype):
        # sorted by category order: sample the codes (-1 is missing)
        codes = s.cat.codes.to_numpy()
        s = pd.Series(codes[codes >= 0].astype("int64"))
    s = s.dropna()
    n = len(s)
    if n == 0:
        # a partition of only missing keys still has a size
        return pd.DataFrame({"value": s.iloc[:0].to_numpy(), "weight": np.zeros(0),
                             "nbytes": np.zeros(0)})
    values = s.to_numpy()
    # Sorting a strided subsample (a few times more values than the sample needs) is
    # much cheaper than sorting the partition and as good for boundaries; the exact
    # minimum and maximum are added so that the divisions cover every key.
    step = max(1, n // (8 * k))
    sub = values[::step]
    if step > 1 and values.dtype != object:
        sub = np.concatenate([sub, [values.min(), values.max()]])
    elif step > 1:
        sub = np.concatenate([sub, np.array([min(values), max(values)], dtype=object)])
    values = np.sort(sub, kind="stable")
    m = len(values)
    take = np.unique(np.linspace(0, m - 1, min(k, m)).round().astype("int64"))
    take = np.union1d(take, [0, m - 1])
    w = np.full(len(take), n / len(take))
    return pd.DataFrame({"value": values[take], "weight": w,
                         "nbytes": np.full(len(take), nbytes / len(take))})


def quantile_divisions(samples: pd.DataFrame, npartitions: int) -> tuple:
    """Boundaries cutting the weighted samples into ``npartitions`` equal weights,
    with the exact minimum and maximum at the ends; repeated values collapse.

    >>> s = pd.DataFrame({"value": [1, 2, 3, 4, 5, 6], "weight": [1.0] * 6})
    >>> quantile_divisions(s, 2)
    (1, 4, 6)
    >>> quantile_divisions(pd.DataFrame({"value": [7, 7], "weight": [1.0, 1.0]}), 3)
    (7, 7)
    """
    if len(samples) == 0:
        return (None, None)
    order = np.argsort(samples["value"].to_numpy(), kind="stable")
    values = samples["value"].to_numpy()[order]
    cum = np.cumsum(samples["weight"].to_numpy()[order])
    total = cum[-1]
    targets = total * np.arange(1, npartitions) / npartitions
    inner = values[np.minimum(np.searchsorted(cum, targets, side="right"), len(values) - 1)]
    bounds = [values[0], *inner, values[-1]]
    out = [bounds[0]]
    for b in bounds[1:]:
        if b > out[-1]:
            out.append(b)
    if len(out) == 1:
        out.append(out[0])
    return tuple(_plain(b) for b in out)


def _plain(x: Any) -> Any:
    if isinstance(x, np.generic) and not isinstance(x, (np.datetime64, np.timedelta64)):
        return x.item()
    if isinstance(x, np.datetime64):
        return pd.Timestamp(x)
    if isinstance(x, np.timedelta64):
        return pd.Timedelta(x)
    return x


def _plan(expr: Any, column: Any, npartitions: int, method: str | None) -> tuple:
    """``(divisions, method)``: boundaries from one sampling pass, and the shuffle
    method with the number of partitions the memory budget asks for
    (:func:`plait.dataframe.shuffle.budget_plan`)."""
    samples = _samples(expr, column, npartitions)
    method, npartitions = budget_plan(method, float(samples["nbytes"].sum()),
                                      expr.npartitions, npartitions)
    divisions = quantile_divisions(samples, npartitions)
    cats = _categories(expr._meta, column)
    if cats is not None and divisions != (None, None):
        divisions = tuple(_plain(cats[int(c)]) for c in divisions)  # codes to values
    return divisions, method


def _categories(meta: Any, column: Any) -> Any:
    """The categories of the key when it is categorical (its sort order), else None."""
    s = meta.index if column is None else (meta if isinstance(meta, pd.Series)
                                            or column == "__value__" else meta[column])
    dtype = s.dtype
    return dtype.categories if isinstance(dtype, pd.CategoricalDtype) else None


def _samples(expr: Any, column: Any, npartitions: int) -> pd.DataFrame:
    from .core import new_collection

    k = min(_MAX_SAMPLES, _SAMPLES_PER_OUTPUT * max(npartitions, 1))
    dtype = (expr._meta.index.dtype if column is None else
             (expr._meta.dtype if isinstance(expr._meta, pd.Series) else expr._meta[column].dtype))
    meta = pd.DataFrame({"value": pd.Series([], dtype=dtype), "weight": pd.Series([], dtype="f8"),
                         "nbytes": pd.Series([], dtype="f8")})
    if isinstance(dtype, pd.CategoricalDtype):
        meta = meta.assign(value=pd.Series([], dtype="int64"))  # sampled as codes
    return new_collection(MapPartitions(_sample, expr, meta=meta, clear_divisions=True,
                                        kwargs={"column": column, "k": k},
                                        label="quantile-sample")).compute()


def _check_key(meta: Any, column: Any, what: str) -> None:
    if isinstance(meta, pd.DataFrame) and column not in meta.columns:
        raise KeyError(f"{what}: no column {column!r}; the columns are {list(meta.columns)}")


# -- set_index -------------------------------------------------------------------------

def fast_order(values: np.ndarray) -> np.ndarray | None:
    """The stable ascending order of ``values`` through NumPy's quicksort, which is
    several times faster than its stable sort on 64-bit keys. Any sort gives the stable
    order where the sorted keys hold no ties; a few ties (random 64-bit ids have some)
    are put right by re-sorting only the tied rows by their position, and only when
    ties are common does this fall back to NumPy's stable sort. None for keys this does
    not cover (objects, NaN); the caller then uses pandas' stable sort.

    >>> fast_order(np.array([3, 1, 2])).tolist()
    [1, 2, 0]
    >>> fast_order(np.array([2, 1, 2, 0, 2])).tolist()  # ties: the stable order
    [3, 1, 0, 2, 4]
    """
    if values.dtype.kind not in "iumMfb":
        return None
    if values.dtype.kind == "f" and np.isnan(values).any():
        return None
    order = np.argsort(values)
    if len(order) < 2:
        return order
    # NaT compares unequal to itself: compare datetimes by their integer view so that
    # missing values count as ties too
    ordered = values[order]
    if values.dtype.kind in "mM":
        ordered = ordered.view("int64")
    eq = ordered[1:] == ordered[:-1]
    if not eq.any():
        return order
    tied = np.zeros(len(order), dtype=bool)
    tied[1:] = eq
    tied[:-1] |= eq
    idx = np.flatnonzero(tied)
    if len(idx) * 8 > len(order):
        return np.argsort(values, kind="stable")
    # the tied rows keep their slots (their keys are already in order); within each
    # run of equal keys their positions are put in ascending order
    # (by run number, not key: NaT's integer view would not sort last)
    starts = np.ones(len(idx), dtype=bool)
    starts[1:] = ~eq[idx[1:] - 1]
    run = np.cumsum(starts)
    pos = order[idx]
    order[idx] = pos[np.lexsort((pos, run))]
    return order


def _set_index_part(part: pd.DataFrame, column: Any, drop: bool, sort: bool) -> pd.DataFrame:
    if sort:
        order = fast_order(part[column].to_numpy())
        if order is not None:
            return part.take(order).set_index(column, drop=drop)
    out = part.set_index(column, drop=drop)
    if sort:
        out = out.sort_index(kind="stable", na_position="last")
    return out


def _minmax(part: Any, column: Any) -> pd.DataFrame:
    s = part[column].dropna()
    if len(s) == 0:
        return pd.DataFrame({"lo": part[column].iloc[:0], "hi": part[column].iloc[:0]})
    return pd.DataFrame({"lo": [s.min()], "hi": [s.max()]})


def set_index(df: Any, other: Any, drop: bool = True, sorted: bool = False,
              npartitions: int | None = None, divisions: Any = None,
              shuffle_method: str | None = None, **kwargs: Any) -> Any:
    """``df`` indexed by column ``other``, sorted, with known divisions.

    Examples
    --------
    >>> import plait.dataframe as dd
    >>> pdf = pd.DataFrame({"k": [3, 1, 2, 5, 4], "v": list("abcde")})
    >>> out = dd.from_pandas(pdf, npartitions=2).set_index("k")
    >>> out.compute().v.tolist(), out.known_divisions
    (['b', 'c', 'a', 'e', 'd'], True)
    """
    from .core import new_collection, to_expr

    method = kwargs.pop("shuffle", None) or kwargs.pop("method", None) or shuffle_method
    kwargs.pop("compute", None)
    kwargs.pop("partition_size", None)
    if kwargs:
        raise TypeError(f"set_index got unexpected arguments {sorted_list(kwargs)}")
    expr = to_expr(df)
    if hasattr(other, "_expr") or isinstance(other, pd.Series):
        name = getattr(other, "name", None) or "__index__"
        df = df.assign(**{name: other})
        return set_index(df, name, drop=True, sorted=sorted, npartitions=npartitions,
                         divisions=divisions, shuffle_method=method)
    if isinstance(other, (list, tuple)):
        if len(other) != 1:
            raise NotImplementedError("set_index takes one column; a MultiIndex is not "
                                      "supported on partitioned frames")
        other = other[0]
    _check_key(expr._meta, other, "set_index")
    meta = _set_index_part(expr._meta, other, drop, False)
    if sorted:
        if divisions is None:
            mm = new_collection(MapPartitions(
                _minmax, expr, meta=_minmax(expr._meta, other), clear_divisions=True,
                kwargs={"column": other}, label="minmax")).compute()
            if len(mm) != expr.npartitions or (mm.lo.iloc[1:].to_numpy() < mm.hi.iloc[:-1].to_numpy()).any():
                divisions = (None,) * (expr.npartitions + 1)
            else:
                divisions = tuple(_plain(x) for x in [*mm.lo.tolist(), mm.hi.iloc[-1]])
        return new_collection(MapPartitions(
            _set_index_part, expr, meta=meta, divisions=tuple(divisions),
            kwargs={"column": other, "drop": drop, "sort": False}, label="set-index"))
    if divisions is None:
        divisions, method = _plan(expr, other, npartitions or expr.npartitions, method)
        if divisions == (None, None):  # no keys at all
            return new_collection(MapPartitions(
                _set_index_part, expr, meta=meta, clear_divisions=True,
                kwargs={"column": other, "drop": drop, "sort": True}, label="set-index"))
    divisions = tuple(divisions)
    cats = _categories(expr._meta, other)
    order = sorted_list(divisions) if cats is None else \
        [cats[i] for i in sorted_list(cats.get_indexer(list(divisions)))]
    if list(divisions) != order:
        raise ValueError(f"set_index: divisions must be sorted, got {divisions}")
    shuffled = Shuffle(expr, RangePartitioner(other, divisions), len(divisions) - 1, method)
    # divisions are compared as values: known only where category order is value order
    known = cats is None or list(cats) == sorted_list(cats)
    return new_collection(MapPartitions(
        _set_index_part, shuffled, meta=meta, divisions=divisions if known else None,
        clear_divisions=not known,
        kwargs={"column": other, "drop": drop, "sort": True}, label="set-index"))


def sorted_list(values: Any) -> list:
    import builtins

    return builtins.sorted(values)


# -- sort_values -----------------------------------------------------------------------

def _sort_part(part: Any, by: Any, ascending: Any, na_position: str) -> Any:
    if (by is None or len(by) == 1) and ascending in (True, [True]):
        values = part if isinstance(part, pd.Series) else part[by[0]]
        order = fast_order(values.to_numpy()) if isinstance(values.dtype, np.dtype) else None
        if order is not None:
            return part.take(order)
    if isinstance(part, pd.Series):
        return part.sort_values(ascending=ascending, na_position=na_position, kind="stable")
    return part.sort_values(by, ascending=ascending, na_position=na_position, kind="stable")


def sort_values(df: Any, by: Any = None, ascending: Any = True, na_position: str = "last",
                npartitions: int | None = None, shuffle_method: str | None = None,
                **kwargs: Any) -> Any:
    """``df`` sorted by ``by`` (one column or a list), in the order pandas' stable sort
    gives; the rows are range-partitioned on the first column.

    Examples
    --------
    >>> import plait.dataframe as dd
    >>> pdf = pd.DataFrame({"x": [3, 1, 2, 1], "y": [1, 2, 3, 4]})
    >>> dd.from_pandas(pdf, npartitions=2).sort_values(["x", "y"], ascending=[True, False]).compute().y.tolist()
    [4, 2, 3, 1]
    """
    from .core import new_collection, to_expr

    method = kwargs.pop("shuffle", None) or kwargs.pop("method", None) or shuffle_method
    if kwargs:
        raise TypeError(f"sort_values got unexpected arguments {sorted(kwargs)}")
    if na_position not in ("first", "last"):
        raise ValueError(f"na_position must be 'first' or 'last', got {na_position!r}")
    expr = to_expr(df)
    series = isinstance(expr._meta, pd.Series)
    by_list = [expr._meta.name] if series else ([by] if not isinstance(by, (list, tuple)) else list(by))
    asc = list(ascending) if isinstance(ascending, (list, tuple)) else [bool(ascending)] * len(by_list)
    if len(asc) != len(by_list):
        raise ValueError(f"sort_values: ascending has {len(asc)} values for {len(by_list)} "
                         "columns; give one per column")
    if not series:
        for b in by_list:
            _check_key(expr._meta, b, "sort_values")
    first = "__value__" if series else by_list[0]
    n = npartitions or expr.npartitions
    sort_kw = {"by": None if series else by_list,
               "ascending": asc[0] if series else asc, "na_position": na_position}
    if expr.npartitions == 1 and n == 1:
        return new_collection(MapPartitions(_sort_part, expr, meta=expr._meta,
                                            clear_divisions=True, kwargs=sort_kw,
                                            label="sort-values"))
    divisions, method = _plan(expr, first, n, method)
    if divisions == (None, None):
        divisions = (0, 0)
    part = RangePartitioner(first, divisions, asc[0], na_position)
    shuffled = Shuffle(expr, part, len(divisions) - 1, method)
    return new_collection(MapPartitions(_sort_part, shuffled, meta=expr._meta,
                                        clear_divisions=True, kwargs=sort_kw,
                                        label="sort-values"))

"""Counting values: ``value_counts``, ``nunique`` (exact), ``unique`` and ``mode``.

All are tree reductions over per-partition distinct values: counts of each value (or
row, for ``DataFrame.value_counts``) are added where equal, in first-appearance order,
so the final ordering rules (stable sort by count) break ties the way pandas does.

>>> import pandas as pd
>>> parts = [pd.Series(["a", "b", "a"]), pd.Series(["b", "b"])]
>>> _vc_aggregate([_vc_chunk(p, dropna=True) for p in parts], sort=True,
...               ascending=False, normalize=False, name=None).to_dict()
{'b': 3, 'a': 2}
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..categorical import concat_unifying_categories
from ._tree import is_frame, tree

__all__ = ["mode", "nunique", "unique", "value_counts"]


# -- value_counts -------------------------------------------------------------------------

def _vc_chunk(part: Any, dropna: bool, subset: Any = None) -> pd.Series:
    if isinstance(part, pd.DataFrame):
        return part.value_counts(subset=subset, sort=False, dropna=dropna)
    return part.value_counts(sort=False, dropna=dropna)


def _vc_combine(parts: list[pd.Series]) -> pd.Series:
    kept = [p for p in parts if len(p)] or parts[:1]
    if len(kept) == 1:
        return kept[0]
    cat = concat_unifying_categories(kept)
    levels = list(range(cat.index.nlevels))
    return cat.groupby(level=levels if len(levels) > 1 else 0, sort=False, dropna=False,
                       observed=False).sum()


def _vc_aggregate(parts: list[pd.Series], sort: bool, ascending: bool, normalize: bool,
                  name: Any, meta: Any = None) -> pd.Series:
    counts = _vc_combine(parts)
    if sort:
        counts = counts.sort_values(ascending=ascending, kind="stable")
    if normalize:
        total = counts.sum()
        counts = counts / total if total else counts.astype("float64")
        counts.name = "proportion"
    else:
        # int64, or Int64 for nullable columns, as pandas says in the meta
        counts = counts.astype(meta.dtype if meta is not None else "int64")
        counts.name = "count"
    if meta is not None:
        if isinstance(meta.index, pd.MultiIndex) and not isinstance(counts.index,
                                                                     pd.MultiIndex):
            # grouping a one-level MultiIndex flattens it; pandas keeps the MultiIndex
            counts.index = pd.MultiIndex.from_arrays([counts.index])
        counts.index.names = meta.index.names
    return counts


def value_counts(obj: Any, *args: Any, normalize: bool = False, sort: bool = True,
                 ascending: bool = False, bins: Any = None, dropna: bool = True,
                 subset: Any = None, split_every: int | None = None,
                 split_out: Any = None) -> Any:
    """Counts of each distinct value (Series) or row (DataFrame), like pandas."""
    if args:
        # pandas' positional order: Series (normalize, sort, ascending, bins, dropna),
        # DataFrame (subset, normalize, sort, ascending, dropna)
        names = (["subset", "normalize", "sort", "ascending", "dropna"] if is_frame(obj)
                 else ["normalize", "sort", "ascending", "bins", "dropna"])
        if len(args) > len(names):
            raise TypeError(f"value_counts takes at most {len(names)} positional "
                            f"arguments ({', '.join(names)})")
        given = dict(zip(names, args))
        return value_counts(obj, **{"normalize": normalize, "sort": sort,
                                    "ascending": ascending, "bins": bins,
                                    "dropna": dropna, "subset": subset,
                                    "split_every": split_every,
                                    "split_out": split_out, **given})
    if bins is not None:
        raise NotImplementedError("value_counts(bins=...) is not supported; cut the values "
                                  "first (map_partitions(pd.cut, ...))")
    if isinstance(split_out, bool) or not isinstance(split_out, (int, np.integer, type(None))) \
            or (split_out is not None and split_out < 1):
        raise ValueError(f"value_counts(split_out={split_out!r}): pass a positive number "
                         f"of partitions")
    meta_obj = obj._meta
    if is_frame(obj):
        meta = meta_obj.value_counts(subset=subset, normalize=normalize, sort=sort,
                                     ascending=ascending, dropna=dropna)
    else:
        meta = meta_obj.value_counts(normalize=normalize, sort=sort, ascending=ascending,
                                     dropna=dropna)
    meta = meta.iloc[:0]
    if split_out is not None and split_out > 1:
        return _value_counts_shuffled(obj, int(split_out), dropna, subset, sort, ascending,
                                      normalize, meta)
    return tree(obj, _vc_chunk, _vc_combine, _vc_aggregate, meta, split_every,
                chunk_kwargs={"dropna": dropna, **({"subset": subset} if is_frame(obj)
                                                   else {})},
                aggregate_kwargs={"sort": sort, "ascending": ascending,
                                  "normalize": normalize, "name": meta.name, "meta": meta},
                label="value-counts")


def _vc_finish(part: pd.Series, sort: bool, ascending: bool, meta: Any) -> pd.Series:
    """The counts of one shuffled partition: every copy of a value is here, from
    several input partitions, so add them up first."""
    levels = list(range(part.index.nlevels))
    if len(part):
        # observed: a category belongs to one partition only (every input partition
        # counts every category, zeros too, so each arrives where it hashes)
        part = part.groupby(level=levels if len(levels) > 1 else 0, sort=False,
                            dropna=False, observed=True).sum()
    out = _vc_aggregate([part], sort=sort, ascending=ascending, normalize=False,
                        name=meta.name, meta=meta)
    if not isinstance(out.index, pd.MultiIndex) and out.index.dtype != meta.index.dtype:
        try:  # the shuffle's concat may infer a narrower dtype (str from objects)
            out.index = out.index.astype(meta.index.dtype)
        except (TypeError, ValueError):
            pass
    return out


def _value_counts_shuffled(obj: Any, n: int, dropna: bool, subset: Any, sort: bool,
                           ascending: bool, normalize: bool, meta: Any) -> Any:
    """``value_counts(split_out=n)``: per-partition counts hash-shuffled by value into
    ``n`` partitions and added there; with ``sort`` each partition is sorted by count
    (as in Dask, not across partitions)."""
    from ..core import new_collection
    from ..expr import MapPartitions
    from ..shuffle import HashPartitioner, Shuffle

    kw = {"dropna": dropna, **({"subset": subset} if is_frame(obj) else {})}
    count_meta = meta.astype("int64") if normalize else meta
    counts = MapPartitions(_vc_chunk, obj.expr, meta=_vc_chunk(obj._meta, **kw),
                           kwargs=kw, clear_divisions=True, label="value-counts-chunk")
    moved = Shuffle(counts, HashPartitioner(None), n, None)
    out = new_collection(MapPartitions(
        _vc_finish, moved, meta=count_meta.rename("count"), clear_divisions=True,
        kwargs={"sort": sort, "ascending": ascending, "meta": count_meta.rename("count")},
        label="value-counts"))
    if normalize:
        out = (out / out.sum()).rename("proportion")
    return out


# -- distinct values ----------------------------------------------------------------------

def _distinct_chunk(part: Any, columns: tuple | None) -> Any:
    if columns is None:
        return part.drop_duplicates() if not isinstance(part, pd.Index) else part.unique()
    return {c: part[c].drop_duplicates() for c in columns}


def _distinct_combine(parts: list) -> Any:
    if isinstance(parts[0], dict):
        return {c: _distinct_combine([p[c] for p in parts]) for c in parts[0]}
    kept = [p for p in parts if len(p)] or parts[:1]
    if len(kept) == 1:
        return kept[0]
    if isinstance(kept[0], pd.Index):
        return kept[0].append(kept[1:]).unique()
    return pd.concat(kept).drop_duplicates()


def _nunique_aggregate(parts: list, dropna: bool, meta: Any) -> Any:
    merged = _distinct_combine(parts)
    if isinstance(merged, dict):
        return pd.Series({c: int(v.nunique(dropna=dropna)) for c, v in merged.items()},
                         index=meta.index, dtype="int64", name=meta.name)
    return int(pd.Series(merged).nunique(dropna=dropna))


def nunique(obj: Any, axis: Any = 0, dropna: bool = True,
            split_every: int | None = None, split_out: int | None = None,
            shuffle_method: Any = None) -> Any:
    """Exact number of distinct values (per column for a DataFrame).

    By default the distinct values of every partition meet in one task. With
    ``split_out=n`` (for columns with many distinct values) they are spread by a hash
    shuffle over ``n`` partitions instead, each counts its own share, and only the
    counts meet.
    """
    if axis not in (0, "index"):
        raise NotImplementedError("nunique(axis=1) is not supported; use "
                                  "map_partitions(lambda df: df.nunique(axis=1))")
    frame = is_frame(obj)
    meta = obj._meta.nunique(dropna=dropna)
    if frame:
        meta = meta.astype("int64")
    if isinstance(split_out, bool) or not isinstance(split_out, (int, np.integer, type(None))) \
            or (split_out is not None and split_out < 1):
        raise ValueError(f"nunique(split_out={split_out!r}): pass a positive number of "
                         f"partitions")
    if split_out is not None and split_out > 1:
        return _nunique_shuffled(obj, frame, dropna, int(split_out), shuffle_method,
                                 meta, split_every)
    columns = tuple(obj._meta.columns) if frame else None
    return tree(obj, _distinct_chunk, _distinct_combine, _nunique_aggregate,
                meta if frame else np.int64(0), split_every,
                chunk_kwargs={"columns": columns},
                aggregate_kwargs={"dropna": dropna, "meta": meta}, label="nunique")


_COL, _HASH, _VAL = "__plait_col", "__plait_hash", "__plait_val"


def _long_distinct(part: Any, frame: bool) -> pd.DataFrame:
    """The distinct values of each column of ``part`` as rows (column number, value);
    values become objects so that columns of any dtypes share one frame."""
    series = [part[c] for c in part.columns] if frame else [part]
    # Rows are shuffled by a hash taken on each column in its own dtype: hashing the
    # mixed object column would let pandas' factorize merge True with 1 and pick a
    # different representative in different partitions.
    pieces = [pd.DataFrame({_COL: np.full(len(u), i, dtype="int64"),
                            _HASH: _value_hash(u),
                            _VAL: pd.array(np.asarray(u.astype(object)), dtype=object)})
              for i, u in ((i, s.drop_duplicates()) for i, s in enumerate(series))]
    return pd.concat(pieces, ignore_index=True) if pieces else \
        pd.DataFrame({_COL: np.array([], dtype="int64"), _HASH: np.array([], dtype="uint64"),
                      _VAL: np.array([], dtype=object)})


def _value_hash(s: pd.Series) -> np.ndarray:
    """A hash per value that agrees with pandas' equality within one column (True, 1
    and 1.0 in an object column hash alike)."""
    from ..shuffle import _normalised

    return pd.util.hash_pandas_object(pd.Series(_normalised(s)), index=False).to_numpy()


def _count_distinct(part: pd.DataFrame, ncols: int, dropna: bool) -> pd.Series:
    """Distinct values per column number in one shuffled partition (all copies of a
    value are here, so the counts of the partitions add up)."""
    part = part[[_COL, _VAL]].drop_duplicates()
    if dropna:
        part = part[part[_VAL].notna().to_numpy()]
    counts = part.groupby(_COL).size() if len(part) else pd.Series(dtype="int64")
    return counts.reindex(range(ncols), fill_value=0).astype("int64")


def _sum_counts(parts: list) -> pd.Series:
    return sum(parts[1:], parts[0])


def _counts_result(parts: list, meta: Any, frame: bool) -> Any:
    total = _sum_counts(parts)
    if frame:
        return pd.Series(total.to_numpy(), index=meta.index, dtype="int64", name=meta.name)
    return int(total.iloc[0])


def _nunique_shuffled(obj: Any, frame: bool, dropna: bool, n: int, shuffle_method: Any,
                      meta: Any, split_every: int | None) -> Any:
    from ..core import new_collection
    from ..expr import MapPartitions
    from ..shuffle import HashPartitioner, Shuffle

    ncols = len(obj._meta.columns) if frame else 1
    long_meta = _long_distinct(obj._meta, frame)
    long = MapPartitions(_long_distinct, obj.expr, meta=long_meta,
                         kwargs={"frame": frame}, clear_divisions=True,
                         label="nunique-distinct")
    moved = new_collection(Shuffle(long, HashPartitioner([_COL, _HASH]), n, shuffle_method))
    return tree(moved, _count_distinct, _sum_counts, _counts_result,
                meta if frame else np.int64(0), split_every,
                chunk_kwargs={"ncols": ncols, "dropna": dropna},
                aggregate_kwargs={"meta": meta, "frame": frame}, label="nunique-shuffle")


def _unique_aggregate(parts: list, name: Any) -> pd.Series:
    merged = _distinct_combine(parts)  # a Series, or an Index for Index.unique()
    return pd.Series(merged.array, name=name)


def unique(obj: Any, split_every: int | None = None, split_out: Any = None) -> Any:
    """The distinct values in first-appearance order, as a Series (like Dask).

    ``Series.unique`` in pandas gives an array; here the result is a one-partition
    Series named like the input with a fresh 0..n-1 index.
    """
    if split_out not in (None, 1, False, True):
        raise NotImplementedError("unique(split_out>1) needs a shuffle, which is not "
                                  "available yet")
    meta_obj = obj._meta
    meta = pd.Series(meta_obj.array, name=meta_obj.name).iloc[:0]
    return tree(obj, _distinct_chunk, _distinct_combine, _unique_aggregate, meta,
                split_every, chunk_kwargs={"columns": None},
                aggregate_kwargs={"name": meta_obj.name}, label="unique")


# -- mode ---------------------------------------------------------------------------------

def _mode_chunk(part: Any, dropna: bool, columns: tuple | None) -> Any:
    if columns is None:
        return part.value_counts(sort=False, dropna=dropna)
    return {c: part[c].value_counts(sort=False, dropna=dropna) for c in columns}


def _mode_combine(parts: list) -> Any:
    if isinstance(parts[0], dict):
        return {c: _vc_combine([p[c] for p in parts]) for c in parts[0]}
    return _vc_combine(parts)


def _modes(counts: pd.Series, meta: pd.Series) -> pd.Series:
    if len(counts) == 0:
        return meta.iloc[:0].reset_index(drop=True)
    top = counts[counts == counts.max()].index
    try:
        top = top.sort_values()
    except TypeError:
        pass
    return pd.Series(top, name=meta.name).astype(meta.dtype)


def _mode_aggregate(parts: list, meta: Any) -> Any:
    merged = _mode_combine(parts)
    if isinstance(merged, dict):
        cols = {c: _modes(v, meta[c]) for c, v in merged.items()}
        out = pd.concat(cols, axis=1) if cols else meta
        out.columns = meta.columns
        return out.astype({c: meta.dtypes[c] for c in meta.columns
                           if not out[c].isna().any()})
    return _modes(merged, meta)


def mode(obj: Any, dropna: bool = True, axis: Any = 0, numeric_only: bool = False,
         split_every: int | None = None) -> Any:
    """The most frequent value(s), sorted (per column for a DataFrame, NaN-padded).

    A DataFrame's columns with fewer modes than others are padded with NaN, so their
    dtype (an int column becoming float) depends on the data; the meta shows the
    unpadded dtypes.
    """
    if axis not in (0, "index"):
        raise NotImplementedError("mode(axis=1) is not supported")
    frame = is_frame(obj)
    if frame:
        meta_obj = obj._meta
        if numeric_only:
            cols = [c for c in meta_obj.columns if meta_obj.dtypes[c].kind in "biufc"]
            obj, meta_obj = obj[cols], meta_obj[cols]
        meta = meta_obj.mode(dropna=dropna).iloc[:0]
        columns = tuple(meta_obj.columns)
    else:
        meta = obj._meta.mode(dropna=dropna).iloc[:0]
        columns = None
    return tree(obj, _mode_chunk, _mode_combine, _mode_aggregate, meta, split_every,
                chunk_kwargs={"dropna": dropna, "columns": columns},
                aggregate_kwargs={"meta": meta}, label="mode")

"""Reshaping partitioned frames: ``drop_duplicates``, ``melt``, ``get_dummies``,
``pivot_table`` and ``concat``.

- ``drop_duplicates`` hash-shuffles rows by the compared columns so duplicates meet,
  then drops them per partition; pieces keep input order, so ``keep="first"`` and
  ``"last"`` pick pandas' rows.
- ``melt`` and ``get_dummies`` work partition by partition; ``get_dummies`` needs
  categorical columns with known categories (``categorize()`` first), so that every
  partition makes the same columns.
- ``pivot_table`` is a tree reduction of per-partition pivot tables (sum and count;
  mean from them); its ``columns`` must be categorical with known categories.
- ``concat`` stacks partitions (axis 0; divisions stay known when they do not
  overlap, or ``interleave_partitions=True`` cuts them to a common set) or joins
  aligned partitions side by side (axis 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .categorical import has_known_categories
from .expr.base import Expr
from .expr.blockwise import ALL, MapPartitions
from .expr.reductions import TreeReduce
from .meta import make_meta
from .shuffle import HashPartitioner, Shuffle

__all__ = ["concat", "drop_duplicates", "get_dummies", "melt", "pivot_table"]


# -- drop_duplicates -------------------------------------------------------------------

def _drop_dups(part: Any, subset: Any, keep: Any, ignore_index: bool) -> Any:
    if isinstance(part, pd.Series):
        return part.drop_duplicates(keep=keep, ignore_index=ignore_index)
    return part.drop_duplicates(subset=subset, keep=keep, ignore_index=ignore_index)


def drop_duplicates(df: Any, subset: Any = None, keep: Any = "first",
                    split_out: Any = True, shuffle_method: str | None = None,
                    ignore_index: bool = False, **kwargs: Any) -> Any:
    """Rows with distinct values of ``subset`` (default: all columns).

    ``split_out``: number of output partitions (True, the default: as many as the
    input; 1: one partition).

    >>> import plait.dataframe as dd
    >>> df = dd.from_pandas(pd.DataFrame({"k": [1, 2, 1, 3, 2]}), npartitions=2)
    >>> sorted(df.drop_duplicates().compute().k.tolist())
    [1, 2, 3]
    """
    from .core import new_collection, to_expr

    method = kwargs.pop("shuffle", None) or kwargs.pop("method", None) or shuffle_method
    kwargs.pop("split_every", None)
    if kwargs:
        raise TypeError(f"drop_duplicates got unexpected arguments {sorted(kwargs)}")
    if keep not in ("first", "last", False):
        raise ValueError(f"keep must be 'first', 'last' or False, got {keep!r}")
    expr = to_expr(df)
    meta = expr._meta
    if isinstance(meta, pd.DataFrame):
        cols = list(meta.columns) if subset is None else (
            [subset] if not isinstance(subset, (list, tuple)) else list(subset))
        missing = [c for c in cols if c not in meta.columns]
        if missing:
            raise KeyError(f"drop_duplicates: no column(s) {missing}; the columns are "
                           f"{list(meta.columns)}")
    else:
        cols = [meta.name]
    n = expr.npartitions if split_out is True or split_out is None else int(split_out)
    kw = {"subset": None if subset is None else cols, "keep": keep, "ignore_index": ignore_index}
    src: Expr = expr
    if expr.npartitions > 1 or n > 1:
        src = Shuffle(expr, HashPartitioner(cols), n, method)
    return new_collection(MapPartitions(_drop_dups, src, meta=meta, kwargs=kw,
                                        clear_divisions=True, label="drop-duplicates"))


# -- melt ------------------------------------------------------------------------------

def melt(frame: Any, id_vars: Any = None, value_vars: Any = None, var_name: Any = None,
         value_name: str = "value", col_level: Any = None) -> Any:
    """:func:`pandas.melt` on each partition (each partition's index restarts at 0).

    >>> import plait.dataframe as dd
    >>> df = dd.from_pandas(pd.DataFrame({"a": [1, 2], "b": [3, 4]}), npartitions=1)
    >>> melt(df, id_vars="a").compute().value.tolist()
    [3, 4]
    """
    from .core import new_collection, to_expr

    expr = to_expr(frame)
    kw = dict(id_vars=id_vars, value_vars=value_vars, var_name=var_name,
              value_name=value_name, col_level=col_level)
    meta = pd.melt(expr._meta, **kw)
    return new_collection(MapPartitions(pd.melt, expr, meta=meta, kwargs=kw,
                                        clear_divisions=True, label="melt"))


# -- get_dummies -----------------------------------------------------------------------

def get_dummies(data: Any, prefix: Any = None, prefix_sep: str = "_", dummy_na: bool = False,
                columns: Any = None, sparse: bool = False, drop_first: bool = False,
                dtype: Any = bool) -> Any:
    """:func:`pandas.get_dummies` of categorical columns with known categories.

    >>> import plait.dataframe as dd
    >>> s = pd.Series(["a", "b", "a"], dtype="category")
    >>> get_dummies(dd.from_pandas(s, npartitions=2)).compute().a.tolist()
    [True, False, True]
    """
    from .core import new_collection, to_expr

    if isinstance(data, (pd.DataFrame, pd.Series)):
        return pd.get_dummies(data, prefix=prefix, prefix_sep=prefix_sep, dummy_na=dummy_na,
                              columns=columns, sparse=sparse, drop_first=drop_first, dtype=dtype)
    if sparse:
        raise NotImplementedError("get_dummies(sparse=True) is not supported on partitioned "
                                  "frames")
    expr = to_expr(data)
    meta = expr._meta
    if isinstance(meta, pd.Series):
        targets = [meta]
    elif columns is None:
        targets = [meta[c] for c in meta.columns if isinstance(meta[c].dtype, pd.CategoricalDtype)]
        if not targets:
            raise NotImplementedError(
                "get_dummies needs categorical columns with known categories; convert "
                "them with df.categorize(columns=[...]) or astype('category') with the "
                "categories given")
    else:
        targets = [meta[c] for c in columns]
    for s in targets:
        if not isinstance(s.dtype, pd.CategoricalDtype) or not has_known_categories(s):
            raise NotImplementedError(
                f"get_dummies: the column {s.name!r} is not categorical with known "
                "categories, so partitions could make different columns; call "
                f"df.categorize(columns=[{s.name!r}]) first")
    kw = dict(prefix=prefix, prefix_sep=prefix_sep, dummy_na=dummy_na, columns=columns,
              drop_first=drop_first, dtype=dtype)
    out_meta = pd.get_dummies(meta, **kw)
    return new_collection(MapPartitions(pd.get_dummies, expr, meta=out_meta, kwargs=kw,
                                        label="get-dummies"))


# -- pivot_table -----------------------------------------------------------------------

def _pivot_chunk(part: pd.DataFrame, index: Any, columns: Any, values: Any,
                 cats: Any) -> pd.DataFrame:
    p = part[[index, columns, values]]
    g = p.groupby([index, columns], observed=False, dropna=True)[values]
    out = pd.DataFrame({"sum": g.sum(min_count=1), "count": g.count(), "size": g.size(),
                        "first": g.first(), "last": g.last()})
    return out


def _pivot_combine(parts: list) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return None
    allp = pd.concat(parts)
    g = allp.groupby(level=[0, 1], observed=False, sort=False)
    return pd.DataFrame({"sum": g["sum"].sum(min_count=1), "count": g["count"].sum(),
                         "size": g["size"].sum(), "first": g["first"].first(), "last": g["last"].last()})


def _pivot_aggregate(parts: list, aggfunc: str, meta: pd.DataFrame) -> pd.DataFrame:
    combined = _pivot_combine([p for p in parts if p is not None])
    if combined is None:
        return meta
    if aggfunc == "mean":
        values = combined["sum"] / combined["count"].where(combined["count"] > 0)
    elif aggfunc == "sum":
        values = combined["sum"]
    elif aggfunc == "count":
        values = combined["count"]
    else:
        values = combined[aggfunc]
    table = values.unstack(level=1).reindex(columns=meta.columns)
    # pandas keeps the rows with any value (mean, first, last), or any row at all (sum
    # and count, whose empty cells are 0)
    kept = "size" if aggfunc in ("sum", "count") else "count"
    counts = combined[kept].unstack(level=1).reindex(columns=meta.columns)
    table = table.loc[(counts.fillna(0) > 0).any(axis=1).to_numpy()]
    if aggfunc in ("sum", "count"):
        table = table.fillna(0)
    table = table.sort_index()
    return table.astype(meta.dtypes.iloc[0]) if len(meta.columns) else table


def _pivot_combine_list(parts: list) -> Any:
    return _pivot_combine([p for p in parts if p is not None])


def pivot_table(df: Any, index: Any = None, columns: Any = None, values: Any = None,
                aggfunc: str = "mean") -> Any:
    """A spreadsheet-style pivot table: one row per ``index`` value, one column per
    category of ``columns`` (which must be categorical with known categories), cells
    aggregated from ``values`` by ``aggfunc`` ("mean", "sum", "count", "first",
    "last").

    Every category of ``columns`` is a column of the result, observed or not (the
    columns are known before computing); pandas drops the all-missing column of an
    unobserved category for "mean", "first" and "last", plait keeps it (all NaN).

    >>> import plait.dataframe as dd
    >>> pdf = pd.DataFrame({"i": [1, 1, 2], "c": pd.Categorical(["x", "y", "x"]), "v": [1.0, 2.0, 3.0]})
    >>> pivot_table(dd.from_pandas(pdf, npartitions=2), "i", "c", "v", "sum").compute().x.tolist()
    [1.0, 3.0]
    """
    from .core import new_collection, to_expr

    expr = to_expr(df)
    meta = expr._meta
    for name, what in ((index, "index"), (columns, "columns"), (values, "values")):
        if not isinstance(name, str) and not np.isscalar(name) or name not in meta.columns:
            raise ValueError(f"pivot_table: {what}= must name one column, got {name!r}")
    if not isinstance(meta[columns].dtype, pd.CategoricalDtype) or not has_known_categories(meta[columns]):
        raise ValueError(f"pivot_table: columns={columns!r} must be categorical with known "
                         f"categories; call df.categorize(columns=[{columns!r}]) first")
    if aggfunc not in ("mean", "sum", "count", "first", "last"):
        raise ValueError(f"pivot_table: aggfunc must be 'mean', 'sum', 'count', 'first' or "
                         f"'last', got {aggfunc!r}")
    cats = meta[columns].cat.categories
    if aggfunc == "count":
        dtype = np.dtype("float64")
    elif aggfunc in ("first", "last"):
        dtype = meta[values].dtype
    else:
        dtype = np.dtype("float64")
    out_meta = pd.DataFrame({c: pd.Series([], dtype=dtype) for c in cats},
                            index=pd.Index([], dtype=meta[index].dtype, name=index))
    out_meta.columns = pd.CategoricalIndex(cats, name=columns)
    return new_collection(TreeReduce(
        [expr], _pivot_chunk, _pivot_combine_list, _pivot_aggregate, make_meta(out_meta),
        chunk_kwargs={"index": index, "columns": columns, "values": values, "cats": None},
        aggregate_kwargs={"aggfunc": aggfunc, "meta": out_meta}, label="pivot-table"))


# -- concat ----------------------------------------------------------------------------

def _conform(part: Any, meta: Any) -> Any:
    """``part`` with ``meta``'s columns (missing ones filled with NA) and dtypes."""
    from .core import _unify_categories

    if isinstance(meta, pd.DataFrame):
        if list(part.columns) != list(meta.columns):
            part = part.reindex(columns=meta.columns)
        out = {}
        for c in meta.columns:
            if part[c].dtype != meta[c].dtype:
                out[c] = part[c].astype(meta[c].dtype)
        if out:
            part = part.assign(**out)
        return part
    if part.dtype != meta.dtype:
        part = part.astype(meta.dtype)
    return _unify_categories([part])[0]


class ConcatRows(Expr):
    """The partitions of ``frames`` one after another, each made to fit ``meta``."""

    _parameters = ("frames", "meta", "new_divisions")

    @property
    def label(self) -> str:
        return "concat"

    def _compute_meta(self) -> Any:
        return self.meta

    def _compute_divisions(self) -> tuple:
        if self.new_divisions is not None:
            return tuple(self.new_divisions)
        return (None,) * (sum(f.npartitions for f in self.frames) + 1)

    def _child_needs(self, needed: Any) -> dict:
        return {f._name: ALL for f in self.frames}

    def _layer(self) -> dict:
        from ..graph import Ref, Task

        layer = {}
        j = 0
        for f in self.frames:
            for i in range(f.npartitions):
                key = (self._name, j)
                layer[key] = Task(key, _conform, Ref((f._name, i)), self.meta)
                j += 1
        return layer


def _concat_parts(axis: int, join: str, meta: Any, *parts: Any) -> Any:
    from .core import _unify_categories

    nonempty = [p for p in parts if len(p)] or list(parts[:1])
    out = pd.concat(_unify_categories(nonempty) if len(nonempty) > 1 else nonempty, join=join)
    return _conform(out, meta).sort_index(kind="stable")


def concat(dfs: list, axis: Any = 0, join: str = "outer", interleave_partitions: bool = False,
           ignore_unknown_divisions: bool = False, ignore_order: bool = False,
           **kwargs: Any) -> Any:
    """Stack frames (``axis=0``) or put aligned frames side by side (``axis=1``).

    >>> import plait.dataframe as dd
    >>> a = dd.from_pandas(pd.DataFrame({"x": [1, 2]}), npartitions=1)
    >>> b = dd.from_pandas(pd.DataFrame({"x": [3], "y": [0.5]}, index=[2]), npartitions=1)
    >>> concat([a, b]).compute().x.tolist(), concat([a, b]).divisions
    ([1, 2, 3], (0, 2, 2))
    """
    from .core import check_aligned, new_collection, to_expr
    from .creation import from_pandas

    if not isinstance(dfs, (list, tuple)) or not dfs:
        raise TypeError("concat takes a non-empty list of frames, e.g. dd.concat([a, b])")
    if join not in ("inner", "outer"):
        raise ValueError(f"join must be 'inner' or 'outer', got {join!r}")
    exprs = [to_expr(from_pandas(d, npartitions=1) if isinstance(d, (pd.DataFrame, pd.Series))
                     else d) for d in dfs]
    metas = [e._meta for e in exprs]
    if axis in (1, "columns"):
        meta = make_meta(pd.concat(metas, axis=1, join=join))
        aligned = check_aligned(exprs, "concat(axis=1)")
        return new_collection(MapPartitions(_concat_columns, *aligned, meta=meta,
                                            kwargs={"join": join}, label="concat-columns"))
    if axis not in (0, "index"):
        raise ValueError(f"axis must be 0 or 1, got {axis!r}")
    if len(exprs) == 1:
        return dfs[0]
    meta = make_meta(pd.concat(metas, join=join))
    known = all(e.known_divisions for e in exprs)
    if known and all(a.divisions[-1] < b.divisions[0] for a, b in zip(exprs, exprs[1:])):
        divisions: Any = [d for e in exprs for d in e.divisions[:-1]] + [exprs[-1].divisions[-1]]
        return new_collection(ConcatRows(exprs, meta, tuple(divisions)))
    if known and interleave_partitions:
        aligned = check_aligned(exprs, "concat(interleave_partitions=True)")
        return new_collection(MapPartitions(_concat_rows_aligned, *aligned, meta=meta,
                                            kwargs={"join": join, "meta_": meta},
                                            label="concat-interleaved"))
    return new_collection(ConcatRows(exprs, meta, None))


def _concat_columns(*parts: Any, join: str) -> Any:
    return pd.concat(list(parts), axis=1, join=join)


def _concat_rows_aligned(*parts: Any, join: str, meta_: Any) -> Any:
    return _concat_parts(0, join, meta_, *parts)

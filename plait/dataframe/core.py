"""The dataframe collections: DataFrame, Series, Index and Scalar over expressions.

A collection is a thin handle on an expression (``.expr``): building one computes
nothing; it knows its structure (``_meta``) and its partitions' index bounds
(``divisions``). Computing it optimizes the expression (see ``expr/optimize.py``),
lowers it to tasks and runs them; several collections computed together are optimized
and lowered together, so their common work is done once.

:func:`new_collection` picks the class from the type of the expression's meta.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .. import annotations as _annotations
from ..collection import CollectionMethods
from ..graph import cull
from .expr import Elemwise, Expr, FromGraph, MapPartitions, optimize, to_graph
from .expr.base import walk
from .expr.blockwise import no_default
from .expr.io import FromPandas, FromParts
from .meta import emulate, is_pandas, make_meta

__all__ = [
    "DataFrame",
    "FrameBase",
    "Index",
    "Scalar",
    "Series",
    "elemwise",
    "map_partitions",
    "new_collection",
    "to_expr",
]


def new_collection(expr: Expr) -> Any:
    """The collection for ``expr``: DataFrame, Series, Index or Scalar by its meta.

    >>> import pandas as pd
    >>> from plait.dataframe.expr import FromPandas
    >>> pdf = pd.DataFrame({"x": [1, 2]})
    >>> type(new_collection(FromPandas(pdf, (0, 2), (0, 1)))).__name__
    'DataFrame'
    """
    from .frame import DataFrame
    from .series import Index, Series

    meta = expr._meta
    if isinstance(meta, pd.DataFrame):
        return DataFrame(expr)
    if isinstance(meta, pd.Series):
        return Series(expr)
    if isinstance(meta, pd.Index):
        return Index(expr)
    return Scalar(expr)


def to_expr(obj: Any) -> Any:
    """The expression behind a collection; other values are returned as they are."""
    e = getattr(obj, "_expr", None) if hasattr(type(obj), "__plait_graph__") else None
    return e if isinstance(e, Expr) else obj


# -- finalizing --------------------------------------------------------------------------

def _concat(parts: list) -> Any:
    if not parts:
        return parts
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if isinstance(first, pd.Index):
        return first.append(list(parts[1:]))
    if isinstance(first, (pd.DataFrame, pd.Series)):
        nonempty = [p for p in parts if len(p)]
        if not nonempty:
            return first
        if len(nonempty) == 1:
            return nonempty[0]
        return pd.concat(_unify_categories(nonempty))
    return parts


def _unify_categories(parts: list) -> list:
    """Give categorical columns the union of their categories in every part, so
    concatenating keeps them categorical (partitions may each have seen only some)."""
    first = parts[0]
    if isinstance(first, pd.Series):
        if not isinstance(first.dtype, pd.CategoricalDtype):
            return parts
        cats = _union([p.dtype.categories for p in parts])
        return [p.cat.set_categories(cats) for p in parts]
    cat_cols = [c for c, t in first.dtypes.items() if isinstance(t, pd.CategoricalDtype)]
    if not cat_cols:
        return parts
    out = []
    unions = {c: _union([p[c].dtype.categories for p in parts if c in p]) for c in cat_cols}
    for p in parts:
        p = p.copy(deep=False)
        for c, cats in unions.items():
            if isinstance(p[c].dtype, pd.CategoricalDtype) and not p[c].dtype.categories.equals(cats):
                p[c] = p[c].cat.set_categories(cats)
        out.append(p)
    return out


def _union(indexes: list) -> pd.Index:
    out = indexes[0]
    for idx in indexes[1:]:
        if not idx.equals(out):
            out = out.append(idx[~idx.isin(out)])
    return out


def _first(results: list) -> Any:
    return results[0]


def _rebuild(graph: dict, name: str, meta: Any, divisions: tuple) -> Any:
    keys = [(name, i) for i in range(len(divisions) - 1)]
    return new_collection(FromGraph(graph, keys, meta, divisions, name))


def _cull(dsk: dict, keys: list, **kwargs: Any) -> dict:
    return cull(dsk, keys)[0]


class _Base(CollectionMethods):
    """What DataFrame, Series, Index and Scalar share: the expression and protocol."""

    __plait_scheduler__ = "threads"
    __slots__ = ("__weakref__", "_expr", "_opt")

    # DataFrame, Series, Index and Scalar lower together (collection.collections_to_graph)
    # so work they share runs once.
    __plait_graph_group__ = "plait.dataframe"

    def __init__(self, expr: Expr):
        if not isinstance(expr, Expr):
            raise TypeError(f"{type(self).__name__} wraps an expression; got "
                            f"{type(expr).__name__}. Use plait.dataframe.from_pandas to "
                            "make a collection from a pandas object")
        object.__setattr__(self, "_expr", expr)
        object.__setattr__(self, "_opt", None)
        if _annotations._current is not None:  # inside plait.annotate(...)
            # The output tasks of this collection carry its steps (partition-wise steps
            # fuse into them), so they take the annotations.
            _annotations.note(self, self.__plait_keys__())

    @property
    def expr(self) -> Expr:
        return self._expr

    @property
    def _meta(self) -> Any:
        return self._expr._meta

    @property
    def _name(self) -> str:
        return self._expr._name

    @property
    def divisions(self) -> tuple:
        return self._expr.divisions

    @property
    def npartitions(self) -> int:
        return self._expr.npartitions

    @property
    def known_divisions(self) -> bool:
        return self._expr.known_divisions

    # -- optimization and the collection protocol --------------------------------------
    def _optimized(self) -> Expr:
        if self._opt is None:
            object.__setattr__(self, "_opt", optimize(self._expr))
        return self._opt

    def optimize(self, fuse: bool = True) -> Any:
        """The same collection over its optimized expression."""
        return new_collection(self._optimized())

    def simplify(self) -> Any:
        return self.optimize()

    def __plait_graph__(self) -> dict:
        return to_graph([self._optimized()])

    @classmethod
    def _plait_merged_graph(cls, collections: list) -> dict:
        return to_graph([c._optimized() for c in collections])

    def __plait_keys__(self) -> list:
        opt = self._optimized()
        return [(opt._name, i) for i in range(opt.npartitions)]

    def __plait_postcompute__(self) -> tuple:
        return _concat, ()

    def __plait_postpersist__(self) -> tuple:
        opt = self._optimized()
        return _rebuild, (opt._name, opt._meta, opt.divisions)

    def __plait_tokenize__(self) -> str:
        return self._expr._name

    __plait_optimize__ = staticmethod(_cull)

    def explain(self, stage: str = "optimized") -> None:
        """Print the plan: the optimized expression tree; ``stage="raw"``: as written;
        ``stage="fused"``: the tasks it lowers to (fused groups of partition-wise steps,
        one task per partition each)."""
        if stage == "fused":
            from .expr.lower import fused_plan

            print(fused_plan([self._optimized()]))
            return
        if stage not in ("optimized", "raw", "simplified"):
            raise ValueError(f"explain: stage must be 'raw', 'optimized' or 'fused', "
                             f"got {stage!r}")
        expr = self._expr if stage == "raw" else self._optimized()
        print(expr.tree_repr())

    def pprint(self) -> None:
        """Print the expression tree as written (before optimization)."""
        self._expr.pprint()

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"cannot set attribute {key!r} of a {type(self).__name__}; "
                             "to add a column write df[name] = value or df.assign(...)")

    def __reduce__(self):
        return (new_collection, (self._expr,))

    def __bool__(self) -> bool:
        raise ValueError(f"the truth value of a {type(self).__name__} is ambiguous; "
                         "use a.any() or a.all(), or compute it first")


class Scalar(_Base):
    """A lazy single value, such as the result of ``df.x.sum()``."""

    __slots__ = ()

    def __plait_postcompute__(self) -> tuple:
        return _first, ()

    def __plait_keys__(self) -> list:
        return [(self._optimized()._name, 0)]

    @property
    def dtype(self) -> Any:
        meta = self._meta
        return getattr(meta, "dtype", np.asarray(meta).dtype if meta is not None else None)

    def __repr__(self) -> str:
        return f"plait.dataframe.Scalar<{self._expr.label}, dtype={self.dtype}>"

    def to_delayed(self, optimize_graph: bool = True) -> Any:
        from ..delayed import Delayed

        graph = self.__plait_graph__()
        key = self.__plait_keys__()[0]
        return Delayed(key, _cull(graph, [key]) if optimize_graph else graph)

    def __float__(self) -> float:
        return float(self.compute())

    def __int__(self) -> int:
        return int(self.compute())

    def __bool__(self) -> bool:
        raise TypeError(
            f"cannot use the lazy {self!r} as a boolean (in an if statement or with "
            "and/or): its value is not computed yet. Call .compute() first, e.g. "
            "`if total.compute() > 0:`")

    # arithmetic between scalars and with other collections
    def _binop(self, op: Callable, other: Any, reflected: bool = False) -> Any:
        if isinstance(other, FrameBase):
            return NotImplemented
        return elemwise(op, other, self) if reflected else elemwise(op, self, other)

    def _unary(self, op: Callable) -> Any:
        return elemwise(op, self)


# -- element-wise building -------------------------------------------------------------

def _roots(e: Expr) -> frozenset:
    """Names of the partitioned sources under ``e``: co-aligned operands share them."""
    out = set()
    for n in walk([e]):
        deps = n.dependencies()
        if not deps or isinstance(n, (FromParts, FromPandas, FromGraph)):
            out.add(n._name)
    return frozenset(out)


def check_aligned(exprs: list, what: str = "operation") -> list:
    """Check that partitioned ``exprs`` line up partition by partition; realign those
    with known but different divisions. Returns the (possibly realigned) expressions.
    """
    parts = [e for e in exprs if isinstance(e, Expr) and is_pandas(e._meta)]
    if len(parts) < 2:
        return exprs
    multi = [e for e in parts if e.npartitions > 1 or e.known_divisions]
    if not multi:
        return exprs
    divs = {e.divisions for e in multi}
    if len(divs) == 1 and multi[0].known_divisions:
        return exprs
    if all(e.known_divisions for e in multi):
        from .align import align_partitions

        return align_partitions(exprs)
    nparts = {e.npartitions for e in multi}
    roots = {_roots(e) for e in multi}
    if len(nparts) == 1 and len(roots) == 1:
        return exprs  # partitioned the same way by construction: partition i matches i
    raise ValueError(
        f"cannot align the operands of {what}: their divisions are unknown "
        f"(npartitions {sorted(e.npartitions for e in multi)}) and they do not come from "
        "the same source, so rows of partition i need not match. Give them known "
        "divisions (from_pandas(..., sort=True), or read with known divisions), or "
        "compute one side first (e.g. pass a pandas object)"
    )


def elemwise(op: Callable, *args: Any) -> Any:
    """``op(*args)`` partition by partition, aligned on the index.

    >>> import pandas as pd, plait.dataframe as dd, operator
    >>> s = dd.from_pandas(pd.Series([1, 2, 3]), npartitions=2)
    >>> elemwise(operator.add, s, 1).compute().tolist()
    [2, 3, 4]
    """
    exprs = [to_expr(a) for a in args]
    exprs = check_aligned(exprs, getattr(op, "__name__", "operation"))
    return new_collection(Elemwise(op, *exprs))


def map_partitions(func: Callable, *args: Any, meta: Any = no_default,
                   enforce_metadata: bool = True, transform_divisions: bool = True,
                   clear_divisions: bool = False, align_dataframes: bool = True,
                   parent_meta: Any = None, **kwargs: Any) -> Any:
    """Apply ``func`` to each partition (see :meth:`DataFrame.map_partitions`).

    >>> import pandas as pd, plait.dataframe as dd
    >>> df = dd.from_pandas(pd.DataFrame({"x": range(4)}), npartitions=2)
    >>> map_partitions(len, df).compute().tolist()
    [2, 2]
    """
    exprs = [to_expr(a) for a in args]
    if align_dataframes:
        exprs = check_aligned(exprs, getattr(func, "__name__", "map_partitions"))
    kw = {k: to_expr(v) for k, v in kwargs.items()}
    if meta is no_default or meta is None:
        metas = [e._meta if isinstance(e, Expr) else e for e in exprs]
        kmetas = {k: v._meta if isinstance(v, Expr) else v for k, v in kw.items()}
        meta = emulate(func, *metas, udf=True, **kmetas)
        scalar_result = not is_pandas(meta)
        if scalar_result:
            # a scalar per partition: the result is a Series with one value per partition
            meta = pd.Series([], dtype=np.asarray(meta).dtype if meta is not None else object)
    else:
        meta = make_meta(meta)
        scalar_result = not is_pandas(meta)
        if scalar_result:
            meta = pd.Series([], dtype=np.asarray(meta).dtype)
    if not scalar_result:
        return new_collection(MapPartitions(func, *exprs, meta=meta, kwargs=kw,
                                            clear_divisions=clear_divisions))
    # ``map_partitions(len, df)``: each partition's value becomes a one-row Series
    return new_collection(MapPartitions(
        _as_series, *exprs, meta=meta, kwargs={"__func": func, **kw},
        clear_divisions=True,
        label=getattr(func, "__name__", "map-partitions").strip("_<>").replace("_", "-")))


def _as_series(*args: Any, **kwargs: Any) -> Any:
    func = kwargs.pop("__func")
    out = func(*args, **kwargs)
    if is_pandas(out):
        return out
    return pd.Series([out])


from .frame import DataFrame
from .frame_base import FrameBase
from .series import Index, Series


"""The DataFrame collection: column selection, filtering, assignment and the
DataFrame-only methods. Shared behaviour lives in ``frame_base.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .core import Scalar, check_aligned, new_collection, to_expr
from .expr import Assign, Filter, Projection, Rename, no_default
from .frame_base import FrameBase

__all__ = ["DataFrame"]


class DataFrame(FrameBase):
    """A table split along its index into pandas DataFrames (partitions).

    >>> import pandas as pd, plait.dataframe as dd
    >>> df = dd.from_pandas(pd.DataFrame({"x": [1, 2, 3], "y": [1.0, 2.0, 3.0]}),
    ...                     npartitions=2)
    >>> df[df.x > 1].y.sum().compute()
    np.float64(5.0)
    """

    __slots__ = ()

    # -- structure -----------------------------------------------------------------------
    @property
    def columns(self) -> pd.Index:
        return self._meta.columns

    @columns.setter
    def columns(self, names: Any) -> None:  # pragma: no cover - blocked by __setattr__
        raise AttributeError

    @property
    def dtypes(self) -> pd.Series:
        return self._meta.dtypes

    @property
    def dtype(self) -> Any:
        raise AttributeError("a DataFrame has dtypes (one per column), not one dtype")

    @property
    def name(self) -> Any:
        raise AttributeError("a DataFrame has columns, not a name")

    @property
    def ndim(self) -> int:
        return 2

    @property
    def shape(self) -> tuple:
        """``(rows, columns)``; the row count is a lazy Scalar."""
        from .reductions import length

        return (length(self), len(self.columns))

    @property
    def empty(self) -> bool:
        raise NotImplementedError("whether a plait DataFrame is empty is not known without "
                                  "computing; use len(df) == 0")

    def __setattr__(self, key: str, value: Any) -> None:
        if key == "columns":
            new = self.rename(columns=dict(zip(self.columns, value)))
            if len(list(value)) != len(self.columns):
                raise ValueError(f"columns: {len(self.columns)} columns need "
                                 f"{len(self.columns)} names, got {len(list(value))}")
            object.__setattr__(self, "_expr", new.expr)
            object.__setattr__(self, "_opt", None)
            return
        if key in self.columns:
            self[key] = value
            return
        super().__setattr__(key, value)

    def __getattr__(self, key: str) -> Any:
        if not key.startswith("_"):
            try:
                meta = object.__getattribute__(self, "_expr")._meta
            except AttributeError:
                meta = None
            if meta is not None and key in meta.columns:
                return self[key]
        raise AttributeError(f"'DataFrame' object has no attribute {key!r}")

    def __dir__(self) -> list:
        cols = [c for c in self.columns if isinstance(c, str) and c.isidentifier()]
        return sorted(set(super().__dir__()) | set(cols))

    def __contains__(self, key: Any) -> bool:
        return key in self.columns

    # -- selection -----------------------------------------------------------------------
    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, FrameBase):
            meta = key._meta
            if isinstance(meta, pd.Series) and meta.dtype == bool or \
                    isinstance(meta, pd.Series) and str(meta.dtype) == "boolean":
                exprs = check_aligned([self.expr, key.expr], "boolean filtering")
                return new_collection(Filter(exprs[0], exprs[1]))
            if isinstance(meta, pd.Series):
                raise KeyError(f"indexing a DataFrame with a Series needs a boolean "
                               f"Series (a row mask); got dtype {meta.dtype}")
            raise KeyError("indexing a DataFrame with a DataFrame is not supported; use "
                           "df.where(mask) to mask values")
        if isinstance(key, slice):
            return self.loc[key]
        if isinstance(key, (list, pd.Index, np.ndarray, tuple)) and not (
                isinstance(key, tuple) and key in self.columns):
            cols = list(key)
            missing = [c for c in cols if c not in self.columns]
            if missing:
                raise KeyError(f"columns {missing} are not in the DataFrame; its columns "
                               f"are {list(self.columns)}")
            return new_collection(Projection(self.expr, cols))
        if key not in self.columns:
            raise KeyError(f"column {key!r} is not in the DataFrame; its columns are "
                           f"{list(self.columns)}")
        return new_collection(Projection(self.expr, key))

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, list):
            if isinstance(value, DataFrame):
                new = self.assign(**{k: value[c] for k, c in zip(key, value.columns)})
            else:
                new = self.assign(**{k: value for k in key})
        elif isinstance(key, FrameBase):
            new = self.where(~key, value)
        else:
            new = self.assign(**{key: value}) if isinstance(key, str) else \
                self._assign_pairs([(key, value)])
        object.__setattr__(self, "_expr", new.expr)
        object.__setattr__(self, "_opt", None)

    def __delitem__(self, key: Any) -> None:
        new = self.drop(columns=[key])
        object.__setattr__(self, "_expr", new.expr)
        object.__setattr__(self, "_opt", None)

    def assign(self, **kwargs: Any) -> DataFrame:
        """New columns (or replaced ones): values are Series, scalars, arrays, or
        callables of the frame (evaluated now, as pandas does)."""
        return self._assign_pairs(list(kwargs.items()))

    def _assign_pairs(self, pairs: list) -> DataFrame:
        frame = self
        for k, v in pairs:
            if callable(v) and not isinstance(v, (FrameBase, Scalar)):
                v = v(frame)
            if isinstance(v, DataFrame):
                raise TypeError(f"cannot assign a DataFrame to the column {k!r}; assign "
                                "one of its columns")
            e = to_expr(v)
            if isinstance(v, FrameBase):
                base, e = check_aligned([frame.expr, e], f"assigning column {k!r}")
                frame = new_collection(Assign(base, k, e))
            else:
                if isinstance(v, (list, np.ndarray, pd.Series)) and not isinstance(v, Scalar):
                    raise TypeError(
                        f"cannot assign a {type(v).__name__} of values to column {k!r} of a "
                        "partitioned DataFrame: its partitions' lengths are unknown. Assign "
                        "a plait Series, or convert the values with from_array/from_pandas")
                frame = new_collection(Assign(frame.expr, k, e))
        return frame

    def drop(self, labels: Any = None, axis: int = 0, columns: Any = None,
             errors: str = "raise") -> DataFrame:
        """Drop columns (``columns=`` or ``axis=1``); dropping rows is not supported."""
        if columns is None:
            if axis not in (1, "columns"):
                raise NotImplementedError("drop only drops columns: pass columns=[...] or "
                                          "axis=1; to drop rows filter with a mask")
            columns = labels
        cols = [columns] if not isinstance(columns, (list, tuple, pd.Index, set)) else list(columns)
        missing = [c for c in cols if c not in self.columns]
        if missing and errors == "raise":
            raise KeyError(f"drop: columns {missing} are not in the DataFrame; its columns "
                           f"are {list(self.columns)} (pass errors='ignore' to skip them)")
        return self[[c for c in self.columns if c not in cols]]

    def rename(self, index: Any = None, columns: Any = None) -> DataFrame:
        """Rename columns with a dict or a function; ``index`` as in pandas
        (a function or dict applied to the index labels, partition by partition)."""
        out = self
        if columns is not None:
            mapping = columns if isinstance(columns, dict) else {c: columns(c) for c in self.columns}
            mapping = {k: v for k, v in mapping.items() if k in self.columns}
            out = new_collection(Rename(out.expr, mapping))
        if index is not None:
            out = out.map_partitions(pd.DataFrame.rename, index=index, clear_divisions=True)
        return out

    def dropna(self, how: Any = no_default, subset: Any = None, thresh: Any = no_default) -> DataFrame:
        kwargs: dict = {}
        if how is not no_default:
            kwargs["how"] = how
        if subset is not None:
            kwargs["subset"] = subset
        if thresh is not no_default:
            kwargs["thresh"] = thresh
        return self._method("dropna", **kwargs)

    def select_dtypes(self, include: Any = None, exclude: Any = None) -> DataFrame:
        cols = self._meta.select_dtypes(include=include, exclude=exclude).columns
        return self[list(cols)]

    def apply(self, func: Callable, axis: Any = 0, args: tuple = (), meta: Any = no_default,
              result_type: Any = None, **kwargs: Any) -> Any:
        """``func`` on each row (``axis=1`` only), partition by partition."""
        if axis not in (1, "columns"):
            raise NotImplementedError(
                "DataFrame.apply works row by row only: pass axis=1 (applying to whole "
                "columns would need all partitions at once)")
        from .core import map_partitions

        if meta is no_default:
            import warnings

            warnings.warn("apply: no meta= given, so plait runs func on a small sample "
                          "to guess the output; pass meta= to avoid this", UserWarning,
                          stacklevel=2)
        return map_partitions(pd.DataFrame.apply, self, func, axis=1, args=args,
                              result_type=result_type, meta=meta, **kwargs)

    def query(self, expr: str, **kwargs: Any) -> DataFrame:
        """Rows where the boolean expression ``expr`` holds (``pandas.DataFrame.query``)."""
        from .expr.query import query_mask

        mask = query_mask(self, expr, kwargs)  # plain comparisons: a mask readers can take
        if mask is not None:
            return self[mask]
        return self._method("query", expr, **kwargs)

    def eval(self, expr: str, **kwargs: Any) -> Any:
        """Evaluate a column expression (``pandas.DataFrame.eval``) per partition."""
        if kwargs.get("inplace"):
            raise NotImplementedError("eval(inplace=True) is not supported; assign the result")
        return self._method("eval", expr, **kwargs)

    def items(self):
        for c in self.columns:
            yield c, self[c]

    iteritems = items

    # -- element-wise methods with DataFrame-only arguments ----------------------------
    def to_html(self, max_rows: int = 5) -> str:
        return self.head(max_rows).to_html()

    def categorize(self, columns: Any = None, index: Any = None, **kwargs: Any) -> DataFrame:
        from . import categorical

        return categorical.categorize(self, columns=columns, index=index, **kwargs)

    def corr(self, method: str = "pearson", min_periods: Any = None, **kwargs: Any) -> Any:
        from . import stats

        return stats.corr(self, method=method, min_periods=min_periods, **kwargs)

    def cov(self, min_periods: Any = None, ddof: int = 1, **kwargs: Any) -> Any:
        from . import stats

        return stats.cov(self, min_periods=min_periods, ddof=ddof, **kwargs)

    def value_counts(self, *args: Any, **kwargs: Any) -> Any:
        from . import stats

        return stats.value_counts(self, *args, **kwargs)

    # -- sorting, joins, reshaping (sorting.py, merge.py, reshape.py) -----------------
    def set_index(self, other: Any, drop: bool = True, sorted: bool = False,
                  npartitions: int | None = None, divisions: Any = None,
                  shuffle_method: str | None = None, **kwargs: Any) -> DataFrame:
        """Indexed and sorted by ``other`` (see :mod:`plait.dataframe.sorting`)."""
        from .sorting import set_index

        return set_index(self, other, drop=drop, sorted=sorted, npartitions=npartitions,
                         divisions=divisions, shuffle_method=shuffle_method, **kwargs)

    def merge(self, right: Any, how: str = "inner", **kwargs: Any) -> DataFrame:
        """Join with ``right`` like pandas (see :mod:`plait.dataframe.merge`)."""
        from .merge import merge

        return merge(self, right, how=how, **kwargs)

    def join(self, other: Any, on: Any = None, how: str = "left", lsuffix: str = "",
             rsuffix: str = "", **kwargs: Any) -> DataFrame:
        """Join ``other`` on its index (see :mod:`plait.dataframe.merge`)."""
        from .merge import join

        return join(self, other, on=on, how=how, lsuffix=lsuffix, rsuffix=rsuffix, **kwargs)

    def melt(self, id_vars: Any = None, value_vars: Any = None, var_name: Any = None,
             value_name: str = "value", col_level: Any = None) -> DataFrame:
        from .reshape import melt

        return melt(self, id_vars=id_vars, value_vars=value_vars, var_name=var_name,
                    value_name=value_name, col_level=col_level)

    def pivot_table(self, index: Any = None, columns: Any = None, values: Any = None,
                    aggfunc: str = "mean") -> DataFrame:
        from .reshape import pivot_table

        return pivot_table(self, index=index, columns=columns, values=values, aggfunc=aggfunc)

    @property
    def loc(self) -> Any:
        from .indexing import LocIndexer

        return LocIndexer(self)

    @property
    def iloc(self) -> Any:
        from .indexing import ILocIndexer

        return ILocIndexer(self)

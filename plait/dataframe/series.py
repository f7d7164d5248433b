"""The Series and Index collections. Shared behaviour lives in ``frame_base.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .core import check_aligned, new_collection
from .expr import Filter, no_default
from .frame_base import FrameBase

__all__ = ["Index", "Series"]


def _map(part: Any, arg: Any, na_action: Any = None) -> Any:
    return part.map(arg, na_action=na_action)


def _between(part: Any, left: Any, right: Any, inclusive: str) -> Any:
    return part.between(left, right, inclusive=inclusive)


class Series(FrameBase):
    """A column split along its index into pandas Series (partitions).

    >>> import pandas as pd, plait.dataframe as dd
    >>> s = dd.from_pandas(pd.Series([1, 2, 3], name="x"), npartitions=2)
    >>> (s * 2).max().compute()
    np.int64(6)
    """

    __slots__ = ()

    @property
    def name(self) -> Any:
        return self._meta.name

    @property
    def dtype(self) -> Any:
        return self._meta.dtype

    @property
    def dtypes(self) -> Any:
        return self._meta.dtype

    @property
    def ndim(self) -> int:
        return 1

    @property
    def shape(self) -> tuple:
        from .reductions import length

        return (length(self),)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, Series) and (key.dtype == bool or str(key.dtype) == "boolean"):
            exprs = check_aligned([self.expr, key.expr], "boolean filtering")
            return new_collection(Filter(exprs[0], exprs[1]))
        return self.loc[key]

    @property
    def loc(self) -> Any:
        from .indexing import LocIndexer

        return LocIndexer(self)

    def rename(self, index: Any = None) -> Series:
        """A new name (a scalar) or new index labels (a function or dict)."""
        if index is None or np.isscalar(index) or isinstance(index, tuple):
            meta = self._meta.rename(index)
            return self.map_partitions(pd.Series.rename, index, meta=meta)
        return self.map_partitions(pd.Series.rename, index, clear_divisions=True)

    def to_frame(self, name: Any = no_default) -> Any:
        kwargs = {} if name is no_default else {"name": name}
        return self._method("to_frame", **kwargs)

    def map(self, arg: Any, na_action: Any = None, meta: Any = no_default) -> Series:
        """Map values through a dict, a Series or a function, partition by partition."""
        if isinstance(arg, FrameBase):
            raise NotImplementedError("Series.map with a plait Series is not supported; "
                                      "compute the mapping first (a pandas Series or dict)")
        from .core import map_partitions

        return map_partitions(_map, self, arg, na_action=na_action, meta=meta)

    def apply(self, func: Callable, args: tuple = (), meta: Any = no_default,
              **kwargs: Any) -> Series:
        from .core import map_partitions

        return map_partitions(pd.Series.apply, self, func, args=args, meta=meta, **kwargs)

    def between(self, left: Any, right: Any, inclusive: str = "both") -> Series:
        return self.map_partitions(_between, left, right, inclusive)

    def dropna(self) -> Series:
        return self._method("dropna")

    def astype(self, dtype: Any) -> Series:
        return super().astype(dtype)

    def unique(self, **kwargs: Any) -> Any:
        from . import stats

        return stats.unique(self, **kwargs)

    def value_counts(self, *args: Any, **kwargs: Any) -> Any:
        from . import stats

        return stats.value_counts(self, *args, **kwargs)

    def corr(self, other: Series, method: str = "pearson", **kwargs: Any) -> Any:
        from . import stats

        return stats.corr(self, other, method=method, **kwargs)

    def cov(self, other: Series, **kwargs: Any) -> Any:
        from . import stats

        return stats.cov(self, other, **kwargs)

    def to_list(self) -> list:
        return self.compute().tolist()

    @property
    def dt(self) -> Any:
        from .accessors import DatetimeAccessor

        return DatetimeAccessor(self)

    @property
    def str(self) -> Any:
        from .accessors import StringAccessor

        return StringAccessor(self)

    @property
    def cat(self) -> Any:
        from .accessors import CategoricalAccessor

        return CategoricalAccessor(self)


class Index(Series):
    """The index of a partitioned DataFrame or Series, as partitioned pandas Indexes."""

    __slots__ = ()

    @property
    def index(self) -> Any:
        raise AttributeError("an Index has no index")

    def to_series(self) -> Series:
        return self.map_partitions(_index_to_series, meta=self._meta.to_series())

    def to_frame(self, name: Any = no_default) -> Any:
        kwargs = {} if name is no_default else {"name": name}
        return self.map_partitions(pd.Index.to_frame, **kwargs)

    def __getattr__(self, key: str) -> Any:
        raise AttributeError(f"'Index' object has no attribute {key!r}")

    # pandas compares an Index into a bare NumPy array, which has no index to align on;
    # comparing the index as a Series keeps each partition's labels, so the mask can
    # filter its frame (df[df.index < "2000-01-02"]) and combine with column masks.
    def __lt__(self, other: Any) -> Series:
        return self.to_series() < other

    def __le__(self, other: Any) -> Series:
        return self.to_series() <= other

    def __gt__(self, other: Any) -> Series:
        return self.to_series() > other

    def __ge__(self, other: Any) -> Series:
        return self.to_series() >= other

    def __eq__(self, other: Any) -> Series:  # type: ignore[override]
        return self.to_series() == other

    def __ne__(self, other: Any) -> Series:  # type: ignore[override]
        return self.to_series() != other

    __hash__ = Series.__hash__


def _index_to_series(idx: pd.Index) -> pd.Series:
    return idx.to_series()

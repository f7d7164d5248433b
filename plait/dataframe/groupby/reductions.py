"""The named group-by reductions (``sum``, ``mean``, ``std``, ...), each pandas' signature
over :meth:`~.core._GroupBy._simple`: pandas on the metas gives the result's structure,
one output per selected column goes into the plan."""

from __future__ import annotations

from typing import Any

__all__ = ["ReductionMethods"]


class ReductionMethods:
    """Mixed into the group-by classes; ``_simple(how, pandas_call, ...)`` does the work."""

    _simple: Any

    def sum(self, numeric_only: bool = False, min_count: int = 0, skipna: bool = True,
            split_every: int | None = None,
            split_out: int | None = None, shuffle_method: Any = None, **kwargs: Any) -> Any:
        _no_engine(kwargs)
        return self._simple("sum", lambda g: g.sum(numeric_only=numeric_only,
                                                    min_count=min_count, skipna=skipna),
                            numeric_only, split_every, split_out=split_out,
                            shuffle_method=shuffle_method, min_count=min_count, skipna=skipna)

    def prod(self, numeric_only: bool = False, min_count: int = 0, skipna: bool = True,
             split_every: int | None = None,
            split_out: int | None = None, shuffle_method: Any = None) -> Any:
        return self._simple("prod", lambda g: g.prod(numeric_only=numeric_only,
                                                      min_count=min_count, skipna=skipna),
                            numeric_only, split_every, split_out=split_out,
                            shuffle_method=shuffle_method, min_count=min_count, skipna=skipna)

    def mean(self, numeric_only: bool = False, skipna: bool = True,
             split_every: int | None = None,
            split_out: int | None = None, shuffle_method: Any = None, **kwargs: Any) -> Any:
        _no_engine(kwargs)
        return self._simple("mean", lambda g: g.mean(numeric_only=numeric_only,
                                                      skipna=skipna),
                            numeric_only, split_every, split_out=split_out,
                            shuffle_method=shuffle_method, skipna=skipna)

    def min(self, numeric_only: bool = False, min_count: int = -1, skipna: bool = True,
            split_every: int | None = None,
            split_out: int | None = None, shuffle_method: Any = None, **kwargs: Any) -> Any:
        _no_engine(kwargs)
        return self._simple("min", lambda g: g.min(numeric_only=numeric_only,
                                                    min_count=min_count, skipna=skipna),
                            numeric_only, split_every, split_out=split_out,
                            shuffle_method=shuffle_method, min_count=min_count, skipna=skipna)

    def max(self, numeric_only: bool = False, min_count: int = -1, skipna: bool = True,
            split_every: int | None = None,
            split_out: int | None = None, shuffle_method: Any = None, **kwargs: Any) -> Any:
        _no_engine(kwargs)
        return self._simple("max", lambda g: g.max(numeric_only=numeric_only,
                                                    min_count=min_count, skipna=skipna),
                            numeric_only, split_every, split_out=split_out,
                            shuffle_method=shuffle_method, min_count=min_count, skipna=skipna)

    def first(self, numeric_only: bool = False, min_count: int = -1, skipna: bool = True,
              split_every: int | None = None,
            split_out: int | None = None, shuffle_method: Any = None) -> Any:
        return self._simple("first", lambda g: g.first(numeric_only=numeric_only,
                                                        min_count=min_count, skipna=skipna),
                            numeric_only, split_every, split_out=split_out,
                            shuffle_method=shuffle_method, min_count=min_count, skipna=skipna)

    def last(self, numeric_only: bool = False, min_count: int = -1, skipna: bool = True,
             split_every: int | None = None,
            split_out: int | None = None, shuffle_method: Any = None) -> Any:
        return self._simple("last", lambda g: g.last(numeric_only=numeric_only,
                                                      min_count=min_count, skipna=skipna),
                            numeric_only, split_every, split_out=split_out,
                            shuffle_method=shuffle_method, min_count=min_count, skipna=skipna)

    def count(self, split_every: int | None = None,
            split_out: int | None = None, shuffle_method: Any = None) -> Any:
        return self._simple("count", lambda g: g.count(), split_every=split_every,
                            split_out=split_out, shuffle_method=shuffle_method)

    def size(self, split_every: int | None = None,
            split_out: int | None = None, shuffle_method: Any = None) -> Any:
        return self._simple("size", lambda g: g.size(), split_every=split_every,
                            split_out=split_out, shuffle_method=shuffle_method)

    def var(self, ddof: int = 1, numeric_only: bool = False, skipna: bool = True,
            split_every: int | None = None,
            split_out: int | None = None, shuffle_method: Any = None, **kwargs: Any) -> Any:
        _no_engine(kwargs)
        return self._simple("var", lambda g: g.var(ddof=ddof, numeric_only=numeric_only,
                                                    skipna=skipna),
                            numeric_only, split_every, split_out=split_out,
                            shuffle_method=shuffle_method, ddof=ddof, skipna=skipna)

    def std(self, ddof: int = 1, numeric_only: bool = False, skipna: bool = True,
            split_every: int | None = None,
            split_out: int | None = None, shuffle_method: Any = None, **kwargs: Any) -> Any:
        _no_engine(kwargs)
        return self._simple("std", lambda g: g.std(ddof=ddof, numeric_only=numeric_only,
                                                    skipna=skipna),
                            numeric_only, split_every, split_out=split_out,
                            shuffle_method=shuffle_method, ddof=ddof, skipna=skipna)

    def sem(self, ddof: int = 1, numeric_only: bool = False, skipna: bool = True,
            split_every: int | None = None,
            split_out: int | None = None, shuffle_method: Any = None) -> Any:
        return self._simple("sem", lambda g: g.sem(ddof=ddof, numeric_only=numeric_only,
                                                    skipna=skipna),
                            numeric_only, split_every, split_out=split_out,
                            shuffle_method=shuffle_method, ddof=ddof, skipna=skipna)

    def nunique(self, dropna: bool = True, split_every: int | None = None,
            split_out: int | None = None, shuffle_method: Any = None) -> Any:
        return self._simple("nunique", lambda g: g.nunique(dropna=dropna),
                            split_every=split_every, dropna=dropna,
                            split_out=split_out, shuffle_method=shuffle_method)


def _no_engine(kwargs: dict) -> None:
    engine = kwargs.pop("engine", None)
    kwargs.pop("engine_kwargs", None)
    if engine not in (None, "cython"):
        raise NotImplementedError(f"engine={engine!r} is not supported")
    if kwargs:
        raise TypeError(f"unexpected keyword arguments {sorted(kwargs)}")

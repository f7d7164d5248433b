"""The ``.dt``, ``.str`` and ``.cat`` accessors of plait Series, partition by partition.

Each accessor forwards pandas' own accessor: ``s.dt.dayofweek`` is
``s.map_partitions(lambda p: p.dt.dayofweek)`` with the meta taken from pandas on the
empty meta, so every pandas method and property is there, with pandas' signature and
its errors. A dtype that does not support the accessor fails when the accessor is
asked for, naming the dtype. The few members that need the whole column (``str.cat``
without ``others``, ``str.split(expand=True)`` without ``n``, ``dt.freq``,
``str.get_dummies``) say so instead of giving per-partition answers.

Categoricals carry *known* categories (the meta's categories are the real, global ones)
or *unknown* ones (each partition may have its own; see :mod:`.categorical`).
``cat.categories`` and ``cat.codes`` need known categories; ``cat.as_known()`` computes
them.

>>> import pandas as pd
>>> import plait.dataframe as dd
>>> s = dd.from_pandas(pd.Series(pd.date_range("2024-01-01", periods=4)), npartitions=2)
>>> s.dt.day_of_week.compute().tolist()
[0, 1, 2, 3]
>>> s.dt.year.dtype
dtype('int32')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pandas as pd

from .categorical import (
    UNKNOWN_CATEGORIES,
    has_known_categories,
    present_categories,
    with_categories,
)

__all__ = ["Accessor", "CategoricalAccessor", "DatetimeAccessor", "StringAccessor"]


def _call_member(part: Any, accessor: str, member: str, args: tuple = (),
                 kwargs: dict | None = None) -> Any:
    """``getattr(part.<accessor>, member)(*args, **kwargs)`` on one partition."""
    value = getattr(getattr(part, accessor), member)
    out = value(*args, **(kwargs or {}))
    if member in ("split", "rsplit") and isinstance(out, pd.DataFrame):
        # a partition whose strings split fewer times still gets all n + 1 columns
        n = (kwargs or {}).get("n", args[1] if len(args) > 1 else -1)
        for c in range(n + 1):
            if c not in out.columns:
                out[c] = pd.Series(None, index=out.index, dtype=part.dtype)
        out = out[list(range(n + 1))]
    return out


def _get_member(part: Any, accessor: str, member: str) -> Any:
    return getattr(getattr(part, accessor), member)


def _to_exprs(obj: Any) -> Any:
    """Collections among the arguments become expressions (aligned by partition)."""
    from .core import to_expr

    if isinstance(obj, (list, tuple)):
        return type(obj)(to_expr(o) for o in obj)
    if isinstance(obj, dict):
        return {k: to_expr(v) for k, v in obj.items()}
    return to_expr(obj)


def _metas_of(obj: Any) -> Any:
    if isinstance(obj, (list, tuple)):
        return type(obj)(_metas_of(o) for o in obj)
    if isinstance(obj, dict):
        return {k: _metas_of(v) for k, v in obj.items()}
    return obj._meta if hasattr(obj, "expr") and hasattr(obj, "_meta") else obj


class Accessor:
    """Forward one pandas accessor partition-wise; subclasses name it and its limits."""

    _accessor: str = ""
    _kind: str = ""               # for the error message: "datetime-like", ...
    _fix: str = ""                # how to get a dtype that works
    _whole_column: ClassVar[dict[str, str]] = {}  # member -> why not partition-wise

    def __init__(self, obj: Any):
        self._obj = obj
        meta = obj._meta
        try:
            self._meta_accessor = getattr(meta, self._accessor)
        except AttributeError:
            dtype = getattr(meta, "dtype", type(meta).__name__)
            name = getattr(meta, "name", None)
            raise AttributeError(
                f"the .{self._accessor} accessor needs {self._kind} values, but "
                f"{'column ' + repr(name) if name is not None else 'this series'} has "
                f"dtype {dtype}; {self._fix}") from None

    def __getattr__(self, member: str) -> Any:
        if member.startswith("_"):
            raise AttributeError(member)
        if member in self._whole_column:
            raise NotImplementedError(
                f".{self._accessor}.{member}: {self._whole_column[member]}")
        try:
            value = getattr(self._meta_accessor, member)
        except AttributeError:
            raise AttributeError(f"the .{self._accessor} accessor has no attribute "
                                 f"{member!r}") from None
        if callable(value):
            return self._method(member)
        return self._property(member, value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | {
            m for m in dir(self._meta_accessor) if not m.startswith("_")})

    def _property(self, member: str, meta_value: Any) -> Any:
        if not isinstance(meta_value, (pd.Series, pd.Index, pd.DataFrame)):
            # a property of the dtype (tz, unit, ordered): the meta already knows it
            return meta_value
        return self._map(_get_member, (self._accessor, member), meta_value, member)

    def _method(self, member: str) -> Callable:
        def method(*args: Any, **kwargs: Any) -> Any:
            self._check_call(member, args, kwargs)
            meta = self._meta_call(member, args, kwargs)
            return self._map(_call_member, (self._accessor, member, _to_exprs(args),
                                            _to_exprs(kwargs)), meta, member)

        method.__name__ = member
        method.__doc__ = getattr(getattr(self._meta_accessor, member), "__doc__", None)
        return method

    def _check_call(self, member: str, args: tuple, kwargs: dict) -> None:
        """Refuse calls whose answer depends on more than one partition."""

    def _meta_call(self, member: str, args: tuple, kwargs: dict) -> Any:
        result = getattr(self._meta_accessor, member)(*_metas_of(args),
                                                      **_metas_of(kwargs))
        if not isinstance(result, (pd.Series, pd.Index, pd.DataFrame)):
            raise NotImplementedError(
                f".{self._accessor}.{member}() gives a {type(result).__name__}, not a "
                f"pandas object, so it cannot be computed partition by partition; "
                f"call it on the computed result instead")
        return result

    def _map(self, func: Callable, args: tuple, meta: Any, member: str) -> Any:
        from .core import new_collection
        from .expr import MapPartitions

        expr = MapPartitions(func, self._obj.expr, *args, meta=meta,
                             label=f"{self._accessor}-{member}".replace("_", "-"),
                             row_local=isinstance(meta, pd.Series)
                             and len(meta.index) == len(self._obj._meta.index))
        return new_collection(expr)


class DatetimeAccessor(Accessor):
    """``Series.dt``: the pandas datetime/timedelta/period properties and methods.

    >>> import pandas as pd
    >>> import plait.dataframe as dd
    >>> s = dd.from_pandas(pd.Series(pd.to_datetime(["2024-03-01", "2024-12-25"])),
    ...                    npartitions=2)
    >>> s.dt.month.compute().tolist()
    [3, 12]
    """

    _accessor = "dt"
    _kind = "datetime-like (datetime64, timedelta64 or period)"
    _fix = "convert it first, e.g. dd.to_datetime(s) or s.astype('datetime64[ns]')"
    _whole_column: ClassVar[dict[str, str]] = {
        "freq": "the frequency is inferred from the whole column; compute it first",
        "to_pydatetime": "it returns a NumPy array, not a Series; compute first",
        "to_pytimedelta": "it returns a NumPy array, not a Series; compute first",
    }


class StringAccessor(Accessor):
    """``Series.str``: the pandas string methods, partition by partition.

    >>> import pandas as pd
    >>> import plait.dataframe as dd
    >>> s = dd.from_pandas(pd.Series(["a-b", "c-d-e", None]), npartitions=2)
    >>> s.str.upper().compute().tolist()
    ['A-B', 'C-D-E', nan]
    >>> s.str.split("-", n=1, expand=True).columns.tolist()
    [0, 1]
    """

    _accessor = "str"
    _kind = "string (str, object or string[pyarrow])"
    _fix = "convert it first, e.g. s.astype(str)"
    _whole_column: ClassVar[dict[str, str]] = {
        "get_dummies": "its columns depend on every value; use categorize() and "
                       "dd.get_dummies, or compute first",
    }

    def __getitem__(self, key: Any) -> Any:
        meta = self._meta_accessor[key]
        return self._map(_call_member, ("str", "__getitem__", (key,), {}), meta,
                         "getitem")

    def _check_call(self, member: str, args: tuple, kwargs: dict) -> None:
        if member == "cat":
            others = kwargs.get("others", args[0] if args else None)
            if others is None:
                raise NotImplementedError(
                    ".str.cat() without others= joins the whole column into one "
                    "string; compute the series first, or pass others= to join "
                    "element-wise")
        if member in ("split", "rsplit"):
            expand = kwargs.get("expand", args[2] if len(args) > 2 else False)
            n = kwargs.get("n", args[1] if len(args) > 1 else -1)
            if expand and (n is None or n < 1):
                raise NotImplementedError(
                    f".str.{member}(expand=True) makes as many columns as the longest "
                    f"split in the whole column; pass n= (the number of splits), "
                    f"e.g. .str.{member}('-', n=2, expand=True)")

    def _meta_call(self, member: str, args: tuple, kwargs: dict) -> Any:
        if member in ("split", "rsplit") and kwargs.get(
                "expand", args[2] if len(args) > 2 else False):
            n = kwargs.get("n", args[1] if len(args) > 1 else -1)
            meta = self._obj._meta
            # a one-row sample split n times gives the n + 1 columns and their dtype
            pat = "\0"
            row = [pat.join(["a"] * (n + 1))]
            dtype = meta.dtype
            if isinstance(meta, pd.Index):
                wide = getattr(pd.Index(row, dtype=dtype).str, member)(pat, n=n, expand=True)
                return wide[:0]
            wide = getattr(pd.Series(row, dtype=dtype).str, member)(pat, n=n, expand=True)
            return wide.iloc[:0].set_axis(meta.index[:0])
        return super()._meta_call(member, args, kwargs)


def _as_categories(part: Any, categories: Any, ordered: Any) -> Any:
    return with_categories(part, categories, ordered)


class CategoricalAccessor(Accessor):
    """``Series.cat`` for known and unknown categories.

    >>> import pandas as pd
    >>> import plait.dataframe as dd
    >>> s = dd.from_pandas(pd.Series(["b", "a", "b"], dtype="category"), npartitions=2)
    >>> s.cat.known
    True
    >>> list(s.cat.categories)
    ['a', 'b']
    >>> s.cat.as_unknown().cat.known
    False
    """

    _accessor = "cat"
    _kind = "categorical"
    _fix = "convert it first, e.g. s.astype('category') or df.categorize()"
    _whole_column: ClassVar[dict[str, str]] = {}

    @property
    def known(self) -> bool:
        """Whether the categories are known (the same, listed, for every partition)."""
        return has_known_categories(self._obj._meta)

    def _need_known(self, what: str) -> None:
        if not self.known:
            raise NotImplementedError(
                f".cat.{what} needs known categories, and this series' categories are "
                f"unknown (each partition may have its own); call .cat.as_known() or "
                f"df.categorize() first")

    @property
    def categories(self) -> pd.Index:
        """The categories (an in-memory Index); needs known categories."""
        self._need_known("categories")
        return self._obj._meta.cat.categories

    @property
    def ordered(self) -> bool:
        return bool(self._obj._meta.cat.ordered)

    @property
    def codes(self) -> Any:
        """The integer codes; needs known categories so codes mean the same everywhere."""
        self._need_known("codes")
        return self._map(_get_member, ("cat", "codes"), self._obj._meta.cat.codes, "codes")

    def as_known(self, **kwargs: Any) -> Any:
        """This series with its categories computed (a no-op when already known).

        ``kwargs`` go to ``compute`` (``scheduler=`` ...).
        """
        if self.known:
            return self._obj
        categories = present_categories(self._obj, **kwargs)
        return self._recategorize(categories)

    def as_unknown(self) -> Any:
        """This series marked as having unknown categories (nothing is computed)."""
        if not self.known:
            return self._obj
        meta = with_categories(self._obj._meta, [UNKNOWN_CATEGORIES], self.ordered)
        return self._map(_identity, (), meta, "as-unknown")

    def remove_unused_categories(self, **kwargs: Any) -> Any:
        """Drop the categories no row uses; this computes which are used (like Dask)."""
        present = present_categories(self._obj, sort=False, **kwargs)
        if self.known:
            keep = [c for c in self._obj._meta.cat.categories if c in set(present)]
        else:
            keep = list(present)
        return self._recategorize(pd.Index(keep))

    def _recategorize(self, categories: Any) -> Any:
        meta = with_categories(self._obj._meta, categories, self.ordered)
        return self._map(_as_categories, (pd.Index(categories), self.ordered), meta,
                         "set-categories")

    def _meta_call(self, member: str, args: tuple, kwargs: dict) -> Any:
        if not self.known and member in ("rename_categories", "reorder_categories"):
            self._need_known(member)
        try:
            return super()._meta_call(member, args, kwargs)
        except ValueError:
            if self.known:
                raise
            # e.g. remove_categories of a value the placeholder meta does not list:
            # the result's categories are as unknown as the input's.
            return self._obj._meta


def _identity(part: Any) -> Any:
    return part

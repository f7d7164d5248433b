"""Moving dataframe rows between partitions, on the shared :mod:`plait.shuffle` module.

A :class:`Shuffle` expression sends every row of its frame to an output partition
chosen by a partitioner:

- :class:`HashPartitioner`: by a hash of some columns (or the index), so equal keys
  meet in one partition (``shuffle(on=)``, hash joins, ``drop_duplicates``). Keys are
  normalised before hashing so that values pandas treats as equal hash alike across
  frames: every number as float64 (``1 == 1.0``, ``-0.0 == 0.0``), every missing value
  as one null, strings and categoricals by their text.
- :class:`RangePartitioner`: by where a column's value falls between boundaries
  (``set_index``, ``sort_values``); missing values go to the last partition
  (``na_position="last"``) or the first.

The method ("tasks" in memory, "disk" through local files) comes from
``shuffle_method=``, else config ``dataframe.shuffle.method`` / ``shuffle``, else by
size; "disk" is refused under a distributed Client (see :func:`plait.shuffle.shuffle`).
Row order is kept: the pieces of one output partition are joined in input order.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..shuffle import shuffle as _shuffle
from .expr.base import Expr
from .expr.blockwise import ALL

__all__ = ["HashPartitioner", "RangePartitioner", "Shuffle", "shuffle"]

_DF_CONFIG_KEYS = ("dataframe.shuffle.method", "shuffle")


def _key_frame(part: Any, on: Any) -> Any:
    """The key values of ``part``: columns ``on`` (a list), or the index (None)."""
    if on is None:
        return part.index.to_frame(index=False) if isinstance(part.index, pd.MultiIndex) \
            else pd.DataFrame({"__index__": part.index})
    if isinstance(part, pd.Series):
        return part.to_frame()
    return part[list(on)]


def _normalised(s: pd.Series) -> Any:
    """Values whose hash agrees with ``==`` across dtypes (see the module docstring)."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        s = s.astype(dtype.categories.dtype if not s.isna().any() else object)
        dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        values = s.astype("float64").to_numpy(na_value=np.nan) + 0.0  # -0.0 -> 0.0
        values[np.isnan(values)] = np.nan  # one NaN bit pattern
        return values
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return s.to_numpy().view("int64") if not hasattr(dtype, "tz") \
            else s.dt.tz_convert("UTC").to_numpy().view("int64")
    obj = s.astype(object).to_numpy(copy=True)
    obj[pd.isna(s).to_numpy()] = None
    return obj


def hash_codes(part: Any, on: Any, npartitions: int) -> np.ndarray:
    """The output partition of each row of ``part``: a hash of its keys mod n.

    >>> df = pd.DataFrame({"k": [1, 1.0, 2]})
    >>> codes = hash_codes(df, ["k"], 4)
    >>> bool(codes[0] == codes[1])
    True
    """
    keys = _key_frame(part, on)
    h = np.zeros(len(keys), dtype="uint64")
    for j in range(keys.shape[1]):
        col = pd.Series(_normalised(keys.iloc[:, j]))
        hj = pd.util.hash_pandas_object(col, index=False).to_numpy()
        h = h * np.uint64(1000003) ^ hj if j else hj
    return (h % np.uint64(npartitions)).astype("int64")


class HashPartitioner:
    """Rows with equal keys (columns ``on``, or the index when None) go together."""

    __slots__ = ("on",)

    def __init__(self, on: Sequence | None):
        self.on = None if on is None else list(on)

    def codes(self, part: Any, m: int) -> np.ndarray:
        return hash_codes(part, self.on, m)

    def __reduce__(self):
        return (HashPartitioner, (self.on,))

    def __plait_tokenize__(self) -> Any:
        return ("hash", self.on)

    def __repr__(self) -> str:
        return f"hash({'index' if self.on is None else self.on})"


class RangePartitioner:
    """Row goes to partition i where ``boundaries[i] <= value < boundaries[i+1]``
    (the last partition takes its upper bound too); ``ascending=False`` numbers the
    partitions from the top; missing values go last (or first with
    ``na_position="first"``). ``on`` is a column name, or None for the index.
    """

    __slots__ = ("on", "boundaries", "ascending", "na_position")

    def __init__(self, on: Any, boundaries: Sequence, ascending: bool = True,
                 na_position: str = "last"):
        self.on = on
        self.boundaries = tuple(boundaries)
        self.ascending = bool(ascending)
        self.na_position = na_position

    def codes(self, part: Any, m: int) -> np.ndarray:
        if m != len(self.boundaries) - 1:
            raise ValueError(f"range partitioner has {len(self.boundaries) - 1} ranges "
                             f"for {m} partitions")
        s = part.index.to_series() if self.on is None else (
            part if isinstance(part, pd.Series) else part[self.on])
        isna = s.isna().to_numpy()
        values = s.to_numpy()
        inner = np.asarray(self.boundaries[1:-1], dtype=values.dtype if values.dtype != object else object)
        codes = np.zeros(len(s), dtype="int64")
        ok = ~isna
        if ok.any() and len(inner):
            codes[ok] = np.searchsorted(inner, values[ok], side="right")
        if not self.ascending:
            codes = (m - 1) - codes
        codes[isna] = (m - 1) if self.na_position == "last" else 0
        return codes

    def __reduce__(self):
        return (RangePartitioner, (self.on, self.boundaries, self.ascending, self.na_position))

    def __plait_tokenize__(self) -> Any:
        return ("range", self.on, self.boundaries, self.ascending, self.na_position)

    def __repr__(self) -> str:
        return f"range({self.on!r}, {len(self.boundaries) - 1} ranges)"


# -- the functions the shared shuffle calls (module level: they travel) ------------------

def split_frame(partitioner: Any, part: Any, m: int) -> dict:
    """``{i: rows of part for output i}``, each piece in the partition's row order."""
    if len(part) == 0:
        return {}
    codes = partitioner.codes(part, m)
    if m == 1:
        return {0: part}
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=m)
    taken = part.iloc[order]
    pieces = {}
    start = 0
    for i, c in enumerate(counts):
        if c:
            pieces[i] = taken.iloc[start:start + c]
            start += c
    return pieces


def concat_pieces(pieces: list) -> Any:
    from .core import _concat

    pieces = [p for p in pieces if len(p)]
    if not pieces:
        return None
    return _concat(pieces)


def _empty(meta: Any) -> Any:
    return meta


def _concat_or_empty(meta: Any, pieces: list) -> Any:
    out = concat_pieces(pieces)
    return meta if out is None else out


class Shuffle(Expr):
    """``frame``'s rows moved into ``npartitions_out`` partitions by ``partitioner``
    (divisions unknown afterwards; callers that know them set their own)."""

    _parameters = ("frame", "partitioner", "npartitions_out", "method")
    _defaults = {"method": None}

    @property
    def label(self) -> str:
        return "shuffle"

    def _compute_meta(self) -> Any:
        return self.frame._meta

    def _compute_divisions(self) -> tuple:
        return (None,) * (self.npartitions_out + 1)

    def _child_needs(self, needed: Any) -> dict:
        on = getattr(self.partitioner, "on", None)
        if needed is ALL or not isinstance(self.frame._meta, pd.DataFrame):
            return {self.frame._name: ALL}
        keys = [] if on is None else ([on] if not isinstance(on, list) else list(on))
        return {self.frame._name: list(needed) + [k for k in keys if k not in needed]}

    def _layer(self) -> dict:
        frame = self.frame
        meta = frame._meta
        out = _shuffle(
            [(frame._name, i) for i in range(frame.npartitions)], self.npartitions_out,
            functools.partial(split_frame, self.partitioner),
            functools.partial(_concat_or_empty, meta), functools.partial(_empty, meta),
            method=self.method, name=self._name, config_keys=_DF_CONFIG_KEYS)
        return out.layer

    def _tree_repr_args(self) -> list:
        return [repr(self.partitioner), f"npartitions={self.npartitions_out}"]


def shuffle(df: Any, on: Any = None, npartitions: int | None = None,
            shuffle_method: str | None = None, ignore_index: bool = False,
            **kwargs: Any) -> Any:
    """``df`` with rows of equal ``on`` (column names, a list, or None: the index) in
    one partition each, by a hash of their values.

    Examples
    --------
    >>> import plait.dataframe as dd
    >>> pdf = pd.DataFrame({"k": [1, 2, 1, 2], "v": range(4)})
    >>> out = dd.from_pandas(pdf, npartitions=2).shuffle("k", npartitions=2)
    >>> parts = [out.get_partition(i).compute() for i in range(2)]
    >>> sum(len(set(p.k)) for p in parts)  # each key lives in one partition
    2
    >>> out.compute().sort_values("v").v.tolist()
    [0, 1, 2, 3]
    """
    from .core import new_collection, to_expr

    method = kwargs.pop("method", None) or kwargs.pop("shuffle", None) or shuffle_method
    if kwargs:
        raise TypeError(f"shuffle got unexpected arguments {sorted(kwargs)}")
    expr = to_expr(df)
    if on is not None:
        if hasattr(on, "_expr") or isinstance(on, pd.Series):
            raise NotImplementedError("shuffle(on=) takes column names; to shuffle by a "
                                      "computed series, assign it as a column first")
        on = [on] if not isinstance(on, (list, tuple)) else list(on)
        if isinstance(expr._meta, pd.DataFrame):
            missing = [c for c in on if c not in expr._meta.columns]
            if missing:
                raise KeyError(f"shuffle(on={on!r}): no column(s) {missing}; the columns "
                               f"are {list(expr._meta.columns)}")
        else:
            on = None if on == [expr._meta.name] else on
    n = npartitions or expr.npartitions
    out = Shuffle(expr, HashPartitioner(on), int(n), method)
    if ignore_index:
        return new_collection(out).map_partitions(_reset_index_drop, meta=expr._meta)
    return new_collection(out)


def _reset_index_drop(part: Any) -> Any:
    return part.reset_index(drop=True)

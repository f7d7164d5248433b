"""Moving dataframe rows between partitions, on the shared :mod:`plait.shuffle` module.

A :class:`Shuffle` expression sends every row of its frame to an output partition
chosen by a partitioner:

- :class:`HashPartitioner`: by a hash of some columns (or the index), so equal keys
  meet in one partition (``shuffle(on=)``, hash joins, ``drop_duplicates``). Keys are
  normalised before hashing so that values pandas treats as equal hash alike across
  frames: every number as float64 (``1 == 1.0``, ``-0.0 == 0.0``; inside object
  columns too, so ``True``, ``1`` and ``1.0`` meet as pandas groups them), every
  missing value as one null, strings and categoricals by their text.
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
import numbers
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import config
from ..shuffle import choose_method
from ..shuffle import shuffle as _shuffle
from .expr.base import Expr
from .expr.blockwise import ALL

__all__ = ["HashPartitioner", "RangePartitioner", "Shuffle", "budget_plan", "memory_budget",
           "shuffle"]

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
    if dtype == object:
        # Python numbers of different types that compare equal (True == 1 == 1.0) are
        # one group to pandas, but hash apart by their text: hash them as floats
        num = np.fromiter((isinstance(v, (numbers.Number, np.bool_)) for v in obj),
                          dtype=bool, count=len(obj))
        if num.any():
            obj[num] = [_as_float(v) for v in obj[num]]
    return obj


def _as_float(v: Any) -> Any:
    """A number as the float it equals (-0.0 as 0.0); a complex number with an
    imaginary part stays as it is (it equals no float)."""
    if isinstance(v, complex) or type(v).__name__.startswith("complex"):
        return v if v.imag else float(v.real) + 0.0
    return float(v) + 0.0


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

    __slots__ = ("ascending", "boundaries", "na_position", "on")

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
        if isinstance(s.dtype, pd.CategoricalDtype):
            # category order, not value order: compare codes
            values = s.cat.codes.to_numpy().astype("int64")
            inner = s.cat.categories.get_indexer(list(self.boundaries[1:-1])).astype("int64")
        else:
            values = s.to_numpy()
            inner = np.asarray(self.boundaries[1:-1],
                               dtype=values.dtype if values.dtype != object else object)
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


# -- the memory budget of the disk shuffle -----------------------------------------------

#: copies of one partition a shuffle task may hold at once (measured, with room): a
#: split task holds its
#: input and the reordered copy it cuts pieces from; an output task its pieces, their
#: concatenation, and the sorted (or re-indexed) result.
COPIES_PER_TASK = 6


def memory_budget() -> int | None:
    """Config ``shuffling.memory-budget`` in bytes (a number or a string such as
    "2GiB"), or None when unset.

    >>> with config.set({"shuffling.memory-budget": "1 MiB"}):
    ...     memory_budget()
    1048576
    """
    from ..utils.sizes import parse_bytes

    value = config.get("shuffling.memory-budget", None)
    if value in (None, False, ""):
        return None
    budget = parse_bytes(value) if isinstance(value, str) else int(value)
    if budget <= 0:
        raise ValueError(f"config shuffling.memory-budget must be positive, got {value!r}")
    return budget


def _workers() -> int:
    scheduler = config.get("scheduler", None)
    if isinstance(scheduler, str) and scheduler.lower() in ("sync", "synchronous",
                                                              "single-threaded"):
        return 1
    from ..local.execute import resolve_num_workers

    return resolve_num_workers(None)


def budget_plan(method: str | None, total_bytes: float, ninputs: int,
                npartitions: int) -> tuple[str, int]:
    """``(method, npartitions)`` for a shuffle of ``total_bytes`` of data, given the
    memory budget (config ``shuffling.memory-budget``).

    Without a budget: the method as chosen by :func:`plait.shuffle.choose_method`, and
    ``npartitions`` unchanged. With one, when the data is larger than the budget and no
    method is given, "disk"; and with "disk", enough output partitions that the tasks
    running at once (one per worker), each holding up to ``COPIES_PER_TASK`` copies of
    a partition, stay within the budget. The input partitions' own size is the
    caller's: a budget smaller than a few input partitions cannot be met.

    >>> with config.set({"shuffling.memory-budget": 1000, "scheduler": "sync",
    ...                  "dataframe.shuffle.method": None, "shuffle": None}):
    ...     budget_plan(None, 10_000, 4, 4)
    ('disk', 60)
    """
    budget = memory_budget()
    if budget is not None and method is None and total_bytes > budget and \
            not any(config.get(k, None) for k in _DF_CONFIG_KEYS):
        method = "disk"
    method = choose_method(method, ninputs, npartitions, _DF_CONFIG_KEYS)
    if method == "disk" and budget is not None:
        per_partition = budget / (COPIES_PER_TASK * _workers())
        npartitions = max(npartitions, int(np.ceil(total_bytes / per_partition)))
    return method, npartitions


# -- the functions the shared shuffle calls (module level: they travel) ------------------

class _Pieces(Mapping):
    """``{output partition: rows}`` of one input partition, each piece cut only when
    asked for: the disk shuffle writes them one by one, so a split task holds its
    input and one piece rather than a second copy of the whole partition."""

    __slots__ = ("bounds", "order", "part")

    def __init__(self, part: Any, order: np.ndarray, bounds: dict):
        self.part = part
        self.order = order
        self.bounds = bounds

    def __getitem__(self, i: int) -> Any:
        start, stop = self.bounds[i]
        return self.part.iloc[self.order[start:stop]]

    def __iter__(self) -> Iterator:
        return iter(self.bounds)

    def __len__(self) -> int:
        return len(self.bounds)


def split_frame(partitioner: Any, part: Any, m: int) -> Mapping:
    """``{i: rows of part for output i}``, each piece in the partition's row order.

    >>> pieces = split_frame(HashPartitioner(["k"]), pd.DataFrame({"k": [1, 2, 1]}), 1)
    >>> dict(pieces)[0].k.tolist()
    [1, 2, 1]
    """
    if len(part) == 0:
        return {}
    if m == 1:
        return {0: part}
    codes = partitioner.codes(part, m)
    counts = np.bincount(codes, minlength=m)
    if m <= np.iinfo("uint16").max:
        codes = codes.astype("uint16")  # NumPy's stable sort is a radix sort for these
    order = np.argsort(codes, kind="stable")
    del codes
    if len(order) < 2**31:
        order = order.astype("int32")
    ends = np.cumsum(counts)
    bounds = {i: (int(ends[i] - counts[i]), int(ends[i])) for i in np.flatnonzero(counts).tolist()}
    return _Pieces(part, order, bounds)


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

"""Changing how a frame is partitioned without sorting it: ``repartition`` and
``reset_index``.

- ``npartitions=`` fewer: neighbouring partitions are joined (known divisions stay
  known). More: each partition is cut into equal row ranges, or, with known numeric
  or datetime divisions, at interpolated boundaries (divisions stay known).
- ``divisions=``: rows are cut at the new boundaries (needs known divisions).
- ``freq=``: cut at every ``freq`` on a datetime index with known divisions (an
  end-of-period frequency such as ``"ME"`` or ``"QE"`` cuts at the periods' first
  days; Dask keeps the anchor month, so its ``"QE"`` cuts on March 1st, ...).
- ``partition_size=``: partition sizes are measured first (one pass over the data),
  then large ones are cut and small neighbours joined so that each is about the size.

Row ranges are written as fractions of a partition's length (:class:`RowSlices`), so
a plan needs no row counts unless the sizes are measured.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..graph import Ref, Task
from ..utils.sizes import parse_bytes
from .align import RepartitionDivisions
from .expr.base import Expr
from .expr.blockwise import MapPartitions

__all__ = ["RowSlices", "freq_divisions", "repartition", "reset_index"]


def _take_rows(meta: Any, spec: list, *parts: Any) -> Any:
    from .core import _concat

    pieces = []
    for part, (a, b) in zip(parts, spec):
        n = len(part)
        lo, hi = int(round(a * n)), int(round(b * n))
        pieces.append(part if (lo, hi) == (0, n) else part.iloc[lo:hi])
    nonempty = [p for p in pieces if len(p)]
    if not nonempty:
        return pieces[0] if pieces else meta
    return _concat(nonempty)


class RowSlices(Expr):
    """Output partition j joins ``plan[j]``: ``(input partition, start, stop)`` with
    start and stop as fractions of that partition's rows, in order."""

    _parameters = ("frame", "plan", "new_divisions")
    _defaults = {"new_divisions": None}

    @property
    def label(self) -> str:
        return "repartition"

    def _compute_meta(self) -> Any:
        return self.frame._meta

    def _compute_divisions(self) -> tuple:
        if self.new_divisions is not None:
            return tuple(self.new_divisions)
        return (None,) * (len(self.plan) + 1)

    def _child_needs(self, needed: Any) -> dict:
        return {self.frame._name: needed}

    def _layer(self) -> dict:
        layer = {}
        for j, pieces in enumerate(self.plan):
            key = (self._name, j)
            refs = [Ref((self.frame._name, i)) for i, _, _ in pieces]
            spec = [(a, b) for _, a, b in pieces]
            layer[key] = Task(key, _take_rows, self.frame._meta, spec, *refs)
        return layer


def _fewer(expr: Any, n: int) -> RowSlices:
    old = expr.npartitions
    cuts = [round(j * old / n) for j in range(n + 1)]
    plan = [[(i, 0.0, 1.0) for i in range(cuts[j], cuts[j + 1])] for j in range(n)]
    divisions = None
    if expr.known_divisions:
        divisions = tuple(expr.divisions[c] for c in cuts)
    return RowSlices(expr, plan, divisions)


def _interpolated(divisions: tuple, n: int) -> tuple | None:
    """``n`` partitions' boundaries spread over the old ones, or None when the index
    type cannot be interpolated."""
    lo, hi = divisions[0], divisions[-1]
    try:
        if isinstance(lo, (pd.Timestamp, np.datetime64)):
            values = pd.date_range(lo, hi, periods=n + 1)
            out = list(values)
        elif isinstance(lo, (int, float, np.number)) and not isinstance(lo, bool):
            out = list(np.linspace(lo, hi, n + 1))
            if all(isinstance(d, (int, np.integer)) for d in divisions):
                out = [int(round(x)) for x in out]
        else:
            return None
    except (TypeError, ValueError):
        return None
    out[0], out[-1] = lo, hi
    dedup = [out[0]]
    for x in out[1:]:
        if x > dedup[-1]:
            dedup.append(x)
    return tuple(dedup) if len(dedup) > 1 else None


def _more(expr: Any, n: int) -> Any:
    if expr.known_divisions:
        new = _interpolated(expr.divisions, n)
        if new is not None:
            return RepartitionDivisions(expr, new)
    old = expr.npartitions
    plan: list = []
    # give each input partition its share of the outputs (at least one)
    shares = [n // old + (1 if i < n % old else 0) for i in range(old)]
    for i, k in enumerate(shares):
        for s in range(k):
            plan.append([(i, s / k, (s + 1) / k)])
    return RowSlices(expr, plan, None)


def _part_stats(part: Any) -> pd.DataFrame:
    return pd.DataFrame({"rows": [len(part)],
                         "bytes": [int(part.memory_usage(deep=True, index=True).sum()
                                       if isinstance(part, pd.DataFrame)
                                       else part.memory_usage(deep=True, index=True))]})


def _by_size(expr: Any, size: int) -> RowSlices:
    from .core import new_collection

    stats = new_collection(MapPartitions(
        _part_stats, expr, meta=pd.DataFrame({"rows": pd.Series([], dtype="int64"),
                                              "bytes": pd.Series([], dtype="int64")}),
        clear_divisions=True, label="partition-size")).compute()
    pieces: list = []  # (input, start, stop, bytes)
    for i, (rows, nbytes) in enumerate(zip(stats.rows, stats["bytes"])):
        k = max(1, math.ceil(nbytes / size)) if rows else 1
        k = min(k, max(rows, 1))
        for s in range(k):
            pieces.append((i, s / k, (s + 1) / k, nbytes / k))
    plan: list = []
    current: list = []
    used = 0.0
    for i, a, b, nb in pieces:
        if current and used + nb > size:
            plan.append(current)
            current, used = [], 0.0
        current.append((i, a, b))
        used += nb
    if current:
        plan.append(current)
    whole = all(a == 0.0 and b == 1.0 for p in plan for _, a, b in p)
    divisions = None
    if whole and expr.known_divisions:
        divisions = tuple([expr.divisions[p[0][0]] for p in plan] + [expr.divisions[-1]])
    return RowSlices(expr, plan, divisions)


def repartition(df: Any, divisions: Any = None, npartitions: int | None = None,
                partition_size: Any = None, freq: Any = None, force: bool = False) -> Any:
    """``df`` with new partitions (see the module docstring); give exactly one of
    ``divisions``, ``npartitions`` and ``partition_size``.

    Examples
    --------
    >>> import plait.dataframe as dd
    >>> df = dd.from_pandas(pd.DataFrame({"x": range(10)}), npartitions=5)
    >>> df.repartition(npartitions=2).divisions
    (0, 4, 9)
    >>> df.repartition(npartitions=20).compute().x.tolist() == list(range(10))
    True
    """
    from .core import new_collection, to_expr

    given = [x is not None for x in (divisions, npartitions, partition_size, freq)]
    if sum(given) != 1:
        raise ValueError("repartition takes exactly one of divisions=, npartitions=, "
                         "partition_size= (e.g. df.repartition(npartitions=4))")
    expr = to_expr(df)
    if freq is not None:
        divisions = freq_divisions(expr, freq)
    if npartitions is not None:
        if not isinstance(npartitions, (int, np.integer)) or npartitions < 1:
            raise ValueError(f"npartitions must be a positive int, got {npartitions!r}")
        n = int(npartitions)
        if n == expr.npartitions:
            return df
        return new_collection(_fewer(expr, n) if n < expr.npartitions else _more(expr, n))
    if partition_size is not None:
        size = parse_bytes(partition_size) if isinstance(partition_size, str) else int(partition_size)
        if size <= 0:
            raise ValueError(f"partition_size must be positive, got {partition_size!r}")
        return new_collection(_by_size(expr, size))
    divisions = tuple(divisions)
    if len(divisions) < 2 or list(divisions) != sorted(divisions):
        raise ValueError(f"divisions must be sorted with at least two values, got {divisions}")
    if not expr.known_divisions:
        raise ValueError("repartition(divisions=) needs known divisions; set them first "
                         "with set_index(...) (or from_pandas(..., sort=True))")
    old = expr.divisions
    if divisions[0] != old[0] or divisions[-1] != old[-1]:
        if not force:
            raise ValueError(
                f"the new divisions must start at {old[0]!r} and end at {old[-1]!r} (the "
                f"current range), got {divisions[0]!r}..{divisions[-1]!r}; pass force=True "
                "to allow a different range")
    return new_collection(RepartitionDivisions(expr, divisions))


def _period_start(offset: Any) -> Any:
    """An end-of-period frequency as the start of the same periods (quarters ending in
    December start in January), so cuts fall on the periods' first days."""
    o = pd.offsets
    n = offset.n
    if isinstance(offset, (o.QuarterEnd, o.BQuarterEnd)):
        cls = o.QuarterBegin if isinstance(offset, o.QuarterEnd) else o.BQuarterBegin
        return cls(n, startingMonth=offset.startingMonth % 12 + 1)
    if isinstance(offset, (o.YearEnd, o.BYearEnd)):
        cls = o.YearBegin if isinstance(offset, o.YearEnd) else o.BYearBegin
        return cls(n, month=offset.month % 12 + 1)
    if isinstance(offset, o.MonthEnd):
        return o.MonthBegin(n)
    if isinstance(offset, o.BusinessMonthEnd):
        return o.BusinessMonthBegin(n)
    if isinstance(offset, o.SemiMonthEnd):
        return o.SemiMonthBegin(n, day_of_month=offset.day_of_month)
    return offset


def freq_divisions(expr: Any, freq: Any) -> tuple:
    """Divisions every ``freq`` between the first and last divisions of a frame with a
    datetime index and known divisions: the first division, the period boundaries
    after it, and the last division.

    >>> import plait.dataframe as dd
    >>> ts = pd.Series(range(4), index=pd.date_range("2024-01-01 06:00", periods=4, freq="15h"))
    >>> [str(d) for d in freq_divisions(dd.from_pandas(ts, npartitions=2).expr, "1D")]
    ['2024-01-01 06:00:00', '2024-01-02 00:00:00', '2024-01-03 00:00:00', '2024-01-03 03:00:00']
    """
    old = expr.divisions
    if not expr.known_divisions:
        raise ValueError("repartition(freq=) needs known divisions; set them first with "
                         "set_index(...) (or from_pandas(..., sort=True))")
    if not isinstance(old[0], pd.Timestamp):
        raise TypeError(f"repartition(freq=) needs a datetime index; the divisions are "
                        f"{type(old[0]).__name__} ({old[0]!r} ..)")
    offset = _period_start(pd.tseries.frequencies.to_offset(freq))
    first, last = old[0], old[-1]
    try:
        start = first.ceil(offset)
    except ValueError:  # not a fixed frequency: date_range rolls midnight forward
        start = first.normalize()
    cuts = [c for c in pd.date_range(start, last, freq=offset) if c > first]
    if not cuts or cuts[0] != first:
        cuts.insert(0, first)
    if cuts[-1] != last:
        cuts.append(last)
    if len(cuts) == 1:
        cuts.append(last)
    return tuple(cuts)


def _reset_index(part: Any, drop: bool) -> Any:
    return part.reset_index(drop=drop)


def reset_index(df: Any, drop: bool = False) -> Any:
    """The index moved to a column (dropped with ``drop=True``); each partition's new
    index counts from 0, as in Dask.

    >>> import plait.dataframe as dd
    >>> df = dd.from_pandas(pd.DataFrame({"x": [5, 6, 7]}, index=[10, 20, 30]), npartitions=2)
    >>> df.reset_index().compute()["index"].tolist()
    [10, 20, 30]
    """
    from .core import new_collection, to_expr

    expr = to_expr(df)
    meta = _reset_index(expr._meta, drop)
    return new_collection(MapPartitions(_reset_index, expr, meta=meta, clear_divisions=True,
                                        kwargs={"drop": drop}, label="reset-index"))

"""Row filters for Parquet: which row groups can be skipped, and which rows to keep.

Filters are ``(column, op, value)`` triples, ANDed in a list; ``read_parquet(filters=)``
also takes a list of such lists, ORed (disjunctive normal form, as in pyarrow and
pandas). Row-group statistics (min, max, null count) decide whether a group *may* hold
a matching row; a group is skipped only when none can match, so skipping never changes
the result. Rows of the groups read are then filtered with the same pandas comparisons
as the filter step a query writes (so the optimizer may drop that step).
"""

from __future__ import annotations

import operator
from typing import Any

import pandas as pd

from ...expr.io import FILTER_OPS

__all__ = ["as_dnf", "group_stats", "may_match", "merge_stats", "rows_matching"]

_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}


def as_dnf(filters: Any) -> list | None:
    """``filters`` as a list of AND-lists of triples (None: no filter).

    >>> as_dnf([("x", ">", 1)]), as_dnf([[("x", ">", 1)], [("y", "==", 2)]])
    ([[('x', '>', 1)]], [[('x', '>', 1)], [('y', '==', 2)]])
    """
    if not filters:
        return None
    filters = list(filters)
    if all(isinstance(f, tuple) and len(f) == 3 and isinstance(f[1], str) for f in filters):
        filters = [filters]
    out = []
    for conj in filters:
        conj = [tuple(t) for t in conj]
        for t in conj:
            if len(t) != 3 or t[1] not in FILTER_OPS:
                raise ValueError(
                    f"read_parquet: bad filter {t!r}; write (column, op, value) with op one "
                    f"of {', '.join(FILTER_OPS)}, in a list (AND) or a list of lists (OR)")
        out.append(conj)
    return out


def _may_hold(stat: tuple | None, op: str, value: Any) -> bool:
    """Whether a row group with ``stat = (min, max, nulls, rows)`` may hold a row with
    ``column op value`` true (pandas semantics: a missing value compares False except
    under ``!=`` and ``not in``)."""
    if stat is None:
        return True
    lo, hi, nulls, rows = stat
    if op in ("!=", "not in"):
        if nulls != 0 or lo is None or lo != hi:
            return True  # a missing value, or two different values: NaN != v holds
        vals = [value] if op == "!=" else list(value)
        try:
            return not any(lo == v for v in vals)
        except TypeError:
            return True
    if lo is None:
        # no min/max: either nothing but missing values (nothing compares true) or
        # no statistics at all (anything may match)
        return not (nulls is not None and nulls == rows)
    try:
        if op == "==":
            return lo <= value <= hi
        if op == "<":
            return lo < value
        if op == "<=":
            return lo <= value
        if op == ">":
            return hi > value
        if op == ">=":
            return hi >= value
        if op == "in":
            return any(lo <= v <= hi for v in value)
    except TypeError:
        return True  # values of another type than the statistics: read to find out
    return True


def may_match(stats: dict, partition: dict, dnf: list | None) -> bool:
    """Whether a piece with column ``stats`` ``{name: (min, max, nulls, rows)}`` and
    hive ``partition`` values ``{key: value}`` may hold a row passing ``dnf``."""
    if not dnf:
        return True
    for conj in dnf:
        ok = True
        for col, op, value in conj:
            if col in partition:
                ok = bool(rows_matching(pd.DataFrame({col: [partition[col]]}), [[(col, op, value)]])
                          .iloc[0])
            else:
                ok = _may_hold(stats.get(col), op, value)
            if not ok:
                break
        if ok:
            return True
    return False


def _mask(frame: pd.DataFrame, conj: list) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for col, op, value in conj:
        s = frame[col]
        if op in _OPS:
            m = _OPS[op](s, value)
        elif op == "in":
            m = s.isin(list(value))
        else:
            m = ~s.isin(list(value))
        mask &= m.fillna(False).astype(bool)
    return mask


def rows_matching(frame: pd.DataFrame, dnf: list | None) -> pd.Series:
    """A boolean mask of the rows of ``frame`` passing ``dnf`` (OR of ANDs).

    >>> df = pd.DataFrame({"x": [1, 2, 3]})
    >>> rows_matching(df, [[("x", "<", 2)], [("x", ">", 2)]]).tolist()
    [True, False, True]
    """
    if not dnf:
        return pd.Series(True, index=frame.index)
    out = None
    for conj in dnf:
        m = _mask(frame, conj)
        out = m if out is None else out | m
    return out


# -- statistics ----------------------------------------------------------------------------

def group_stats(rg: Any) -> dict:
    """``{column: (min, max, nulls, rows)}`` of one row group (None where unknown)."""
    out = {}
    for j in range(rg.num_columns):
        col = rg.column(j)
        name = col.path_in_schema
        if "." in name:
            continue  # nested fields: no pushdown
        st = col.statistics
        if st is None:
            out[name] = None
            continue
        nulls = st.null_count if st.has_null_count else None
        lo, hi = (st.min, st.max) if st.has_min_max else (None, None)
        out[name] = (lo, hi, nulls, rg.num_rows)
    return out


def merge_stats(stats: list) -> dict:
    out: dict = {}
    for s in stats:
        for name, st in s.items():
            if name not in out:
                out[name] = st
                continue
            old = out[name]
            if old is None or st is None:
                out[name] = None
                continue
            nulls = None if old[2] is None or st[2] is None else old[2] + st[2]
            if old[0] is None or st[0] is None:
                lo = hi = None
                if old[0] is not None or st[0] is not None or nulls != old[3] + st[3]:
                    out[name] = (None, None, None, old[3] + st[3])  # mixed: unknown
                    continue
            else:
                lo, hi = min(old[0], st[0]), max(old[1], st[1])
            out[name] = (lo, hi, nulls, old[3] + st[3])
    return out

"""Joining partitioned frames: ``merge`` and ``join`` (``merge_asof`` lives in its own
module, :mod:`plait.dataframe.asof`, and is re-exported here).

``merge`` picks one of four plans:

- **aligned**: both sides joined on their indexes with known divisions: both are cut
  at the union of their divisions, then partition i joins partition i (no shuffle);
- **broadcast**: one side has a single partition (or ``broadcast=True`` and the join
  type allows it): every partition of the other side joins the whole small side;
  ``inner`` and ``leftsemi`` can broadcast either side, ``left`` the right side,
  ``right`` the left side;
- **ranges**: both sides joined on one numeric or datetime column whose range per
  partition is known from Parquet statistics: each partition meets only the partitions
  of the other side that overlap it (:mod:`plait.dataframe.merge_ranges`; not for
  ``outer``);
- **hash**: otherwise both sides are hash-shuffled on their keys into the same number
  of partitions (equal keys meet, see :mod:`plait.dataframe.shuffle`), then joined
  partition by partition.

``how="leftsemi"`` keeps the left rows whose key appears on the right, with the left
columns only, each row once. Keys that are missing (NaN/None) match each other, as in
pandas. The row order within the result follows the plan, not pandas' order; the
rows themselves are pandas'.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .expr.blockwise import ALL, Blockwise
from .meta import make_meta
from .shuffle import HashPartitioner, Shuffle

__all__ = ["Merge", "join", "merge", "merge_asof"]

_HOWS = ("inner", "left", "right", "outer", "leftsemi")


def _semi(left: pd.DataFrame, right: pd.DataFrame, left_on: Any, right_on: Any,
          left_index: bool, right_index: bool) -> pd.DataFrame:
    lk = left.index.to_frame(index=False) if left_index else left[list(left_on)]
    rk = right.index.to_frame(index=False) if right_index else right[list(right_on)]
    rk = rk.drop_duplicates()
    lk = lk.reset_index(drop=True)
    lk.columns = range(lk.shape[1])
    rk = rk.reset_index(drop=True)
    rk.columns = range(rk.shape[1])
    if len(lk.columns) == 1:
        mask = lk[0].isin(rk[0]).to_numpy()
    else:
        marked = lk.merge(rk.assign(__hit__=True), how="left", on=list(lk.columns))
        mask = marked["__hit__"].notna().to_numpy()
    return left[mask]


def merge_parts(left: Any, right: Any, how: str, left_on: Any, right_on: Any,
                left_index: bool, right_index: bool, suffixes: tuple,
                indicator: Any) -> pd.DataFrame:
    """pandas' merge of two partitions (``how="leftsemi"`` included)."""
    if isinstance(left, pd.Series):
        left = left.to_frame()
    if isinstance(right, pd.Series):
        right = right.to_frame()
    if how == "leftsemi":
        return _semi(left, right, left_on, right_on, left_index, right_index)
    return pd.merge(left, right, how=how, left_on=left_on, right_on=right_on,
                    left_index=left_index, right_index=right_index, suffixes=suffixes,
                    indicator=indicator)


class Merge(Blockwise):
    """Partition i of ``left`` merged with partition i of ``right`` (a one-partition
    side is broadcast to every partition of the other)."""

    _parameters = ("left", "right", "how", "left_on", "right_on", "left_index",
                   "right_index", "suffixes", "indicator", "keep_divisions")

    @property
    def label(self) -> str:
        return "merge"

    def _operation(self) -> Any:
        return merge_parts

    def _call_args(self) -> tuple:
        return [self.left, self.right, self.how, self.left_on, self.right_on,
                self.left_index, self.right_index, self.suffixes, self.indicator], {}

    def _compute_meta(self) -> Any:
        args, _ = self._call_args()
        return make_meta(merge_parts(args[0]._meta, args[1]._meta, *args[2:]))

    def _compute_divisions(self) -> tuple:
        divisions = super()._compute_divisions()
        return divisions if self.keep_divisions else (None,) * len(divisions)

    def _tree_repr_args(self) -> list:
        return [f"how={self.how}", f"on={self.left_on or 'index'}"]

    def _child_needs(self, needed: Any) -> dict:
        lmeta, rmeta = self.left._meta, self.right._meta
        if needed is ALL or not isinstance(lmeta, pd.DataFrame) \
                or not isinstance(rmeta, pd.DataFrame) or self.left._name == self.right._name:
            return {d._name: ALL for d in self.dependencies()}
        return merge_needs(list(lmeta.columns), list(rmeta.columns), set(needed), self.how,
                           None if self.left_index else self.left_on,
                           None if self.right_index else self.right_on, self.suffixes,
                           self.left._name, self.right._name)


def merge_needs(lcols: list, rcols: list, needed: set, how: str, left_on: Any,
                right_on: Any, suffixes: tuple, lname: str, rname: str) -> dict:
    """The columns each side of a merge must supply so that the output columns in
    ``needed`` come out with the same names and values: the keys, the needed columns,
    and both columns of a suffixed pair when either is kept (dropping one would take
    the suffix off the other)."""
    lkeys = [k for k in (left_on or []) if k in lcols]
    rkeys = [k for k in (right_on or []) if k in rcols]
    if how == "leftsemi":
        return {lname: [c for c in lcols if c in needed or c in lkeys], rname: rkeys}
    same = {a for a, b in zip(left_on or [], right_on or []) if a == b}
    overlap = (set(lcols) & set(rcols)) - same
    sl, sr = suffixes
    lwant = [c for c in lcols if c in lkeys or (f"{c}{sl}" if c in overlap else c) in needed]
    rwant = [c for c in rcols if c in rkeys or (f"{c}{sr}" if c in overlap else c) in needed]
    pairs = {c for c in overlap if c in lwant or c in rwant}
    lwant += [c for c in lcols if c in pairs and c not in lwant]
    rwant += [c for c in rcols if c in pairs and c not in rwant]
    return {lname: lwant, rname: rwant}


def _as_frame(obj: Any) -> Any:
    from .core import to_expr
    from .creation import from_pandas

    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return from_pandas(obj, npartitions=1)
    if not hasattr(to_expr(obj), "_meta"):
        raise TypeError(f"merge takes plait or pandas DataFrames/Series, got {type(obj).__name__}")
    return obj


def _keys(on: Any) -> list | None:
    if on is None:
        return None
    return list(on) if isinstance(on, (list, tuple)) else [on]


def merge(left: Any, right: Any, how: str = "inner", on: Any = None, left_on: Any = None,
          right_on: Any = None, left_index: bool = False, right_index: bool = False,
          suffixes: tuple = ("_x", "_y"), indicator: Any = False,
          npartitions: int | None = None, shuffle_method: str | None = None,
          broadcast: Any = None, **kwargs: Any) -> Any:
    """Join ``left`` and ``right`` like :func:`pandas.merge` (see the module docstring
    for the plans).

    Examples
    --------
    >>> import plait.dataframe as dd
    >>> a = dd.from_pandas(pd.DataFrame({"k": [1, 2, 3, 4], "x": list("abcd")}), npartitions=2)
    >>> b = dd.from_pandas(pd.DataFrame({"k": [2, 4, 4], "y": [20, 40, 41]}), npartitions=2)
    >>> a.merge(b, on="k").compute().sort_values(["k", "y"]).y.tolist()
    [20, 40, 41]
    """
    from .core import check_aligned, new_collection, to_expr

    method = kwargs.pop("shuffle", None) or kwargs.pop("method", None) or shuffle_method
    if kwargs:
        raise TypeError(f"merge got unexpected arguments {sorted(kwargs)}")
    if how not in _HOWS:
        raise ValueError(f"merge: how must be one of {_HOWS}, got {how!r}")
    left, right = _as_frame(left), _as_frame(right)
    le, re_ = to_expr(left), to_expr(right)
    lmeta = le._meta.to_frame() if isinstance(le._meta, pd.Series) else le._meta
    rmeta = re_._meta.to_frame() if isinstance(re_._meta, pd.Series) else re_._meta
    if on is not None:
        if left_on is not None or right_on is not None:
            raise ValueError("merge: pass on= or left_on=/right_on=, not both")
        left_on = right_on = on
    if left_on is None and right_on is None and not left_index and not right_index:
        common = [c for c in lmeta.columns if c in rmeta.columns]
        if not common:
            raise ValueError("merge: no common columns to join on; pass on=, "
                             "left_on=/right_on= or left_index=/right_index=")
        left_on = right_on = common
    left_on, right_on = _keys(left_on), _keys(right_on)
    for side, keys, meta in (("left", left_on, lmeta), ("right", right_on, rmeta)):
        missing = [k for k in (keys or []) if k not in meta.columns]
        if missing:
            raise KeyError(f"merge: the {side} frame has no column(s) {missing}; its "
                           f"columns are {list(meta.columns)}")
    args = dict(how=how, left_on=left_on, right_on=right_on, left_index=left_index,
                right_index=right_index, suffixes=tuple(suffixes), indicator=indicator)
    merge_parts(lmeta, rmeta, **args)  # pandas' own errors (key dtypes, ...) first

    # aligned: both on the index with known divisions
    if left_index and right_index and le.known_divisions and re_.known_divisions:
        le2, re2 = check_aligned([le, re_], "merge")
        return new_collection(Merge(le2, re2, *args.values(), True))

    small_right = re_.npartitions == 1 or broadcast is True and how != "outer"
    small_left = le.npartitions == 1 and re_.npartitions > 1
    if broadcast is not False:
        if small_right and how in ("inner", "left", "leftsemi"):
            return new_collection(Merge(le, _single(re_), *args.values(), False))
        if small_left and how in ("inner", "right"):
            return new_collection(Merge(_single(le), re_, *args.values(), False))

    if npartitions is None:
        # both sides' key ranges known (Parquet statistics): join overlapping
        # partitions, nothing moves
        from .merge_ranges import range_merge

        ranged = range_merge(le, re_, args)
        if ranged is not None:
            return new_collection(ranged)
    n = npartitions or max(le.npartitions, re_.npartitions)
    ls = Shuffle(le, HashPartitioner(left_on), n, method)
    rs = Shuffle(re_, HashPartitioner(right_on), n, method)
    return new_collection(Merge(ls, rs, *args.values(), False))


def _single(expr: Any) -> Any:
    """``expr`` as one partition (so it is broadcast whole)."""
    if expr.npartitions == 1:
        if expr.known_divisions:  # a known-division single partition would be aligned
            from .repartition import RowSlices

            return RowSlices(expr, [[(0, 0.0, 1.0)]], None)
        return expr
    from .repartition import RowSlices

    return RowSlices(expr, [[(i, 0.0, 1.0) for i in range(expr.npartitions)]], None)


def join(left: Any, other: Any, on: Any = None, how: str = "left", lsuffix: str = "",
         rsuffix: str = "", npartitions: int | None = None,
         shuffle_method: str | None = None, suffixes: Any = None, **kwargs: Any) -> Any:
    """``left.join(other)``: on ``left``'s index (or its column(s) ``on``) against
    ``other``'s index.

    >>> import plait.dataframe as dd
    >>> a = dd.from_pandas(pd.DataFrame({"x": [1, 2]}, index=[0, 1]), npartitions=1)
    >>> b = pd.DataFrame({"y": [10]}, index=[1])
    >>> a.join(b).compute().y.tolist()
    [nan, 10.0]
    """
    if suffixes is not None:
        lsuffix, rsuffix = suffixes
    if on is None:
        return merge(left, other, how=how, left_index=True, right_index=True,
                     suffixes=(lsuffix, rsuffix), npartitions=npartitions,
                     shuffle_method=shuffle_method, **kwargs)
    return merge(left, other, how=how, left_on=on, right_index=True,
                 suffixes=(lsuffix, rsuffix), npartitions=npartitions,
                 shuffle_method=shuffle_method, **kwargs)


# re-exported last: merge_asof's module imports _as_frame from this one
from .asof import merge_asof

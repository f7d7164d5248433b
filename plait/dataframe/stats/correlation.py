"""Pearson correlation and covariance with pandas' pairwise-complete rows.

For every pair of columns (i, j) only rows where both are present count, as in pandas.
Each partition computes, per pair, the row count ``n``, the mean of i over those rows,
the co-moment ``C = sum (x_i - mean_i)(x_j - mean_j)`` and the second moment of i; the
values are shifted by the partition's column means first, so the products stay small.
Partials merge with Chan et al.'s pairwise update
(``C = C_a + C_b + d_i d_j n_a n_b / n`` with ``d`` the difference of the means),
never with raw sums of products, so large offsets do not cancel away the answer.

>>> import numpy as np, pandas as pd
>>> df = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [2.0, 4, 7, 8]})
>>> m = _merge([_moments(df.iloc[:2], ("x", "y")), _moments(df.iloc[2:], ("x", "y"))])
>>> bool(np.isclose(_finish(m, "cov", 1, 1)[0, 1], df.x.cov(df.y)))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._tree import is_frame, tree

__all__ = ["corr", "cov"]


def _moments(part: Any, columns: tuple, other: Any = None) -> dict:
    """Pairwise count, means, co-moments and second moments of one partition."""
    if other is not None:  # Series.corr(other): two aligned series
        frame = pd.DataFrame({0: part.to_numpy(dtype="float64", na_value=np.nan),
                              1: other.to_numpy(dtype="float64", na_value=np.nan)})
    else:
        frame = part[list(columns)]
    x = frame.to_numpy(dtype="float64", na_value=np.nan)
    valid = ~np.isnan(x)
    m = valid.astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.nanmean(np.where(valid, x, np.nan), axis=0) if len(x) else \
            np.zeros(x.shape[1])
    shift = np.nan_to_num(shift)
    z = np.where(valid, x - shift, 0.0)
    n = m.T @ m                              # n[i, j]: rows with both i and j
    s = z.T @ m                              # s[i, j]: sum of z_i over those rows
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_z = np.where(n > 0, s / n, 0.0)
    # centred co-moment over pair-valid rows: sum z_i z_j - n mean_i mean_j, on values
    # already centred near zero by the shift
    c = z.T @ z - n * mean_z * mean_z.T
    q = (z * z).T @ m - n * mean_z * mean_z  # q[i, j]: second moment of i over (i, j)
    # means are kept relative to the shift: absolute means of large values would lose
    # their low digits, and with them the differences the merge needs
    return {"n": n, "shift": shift, "mean": mean_z, "c": c, "q": np.maximum(q, 0.0)}


def _merge(parts: list[dict]) -> dict:
    acc = parts[0]
    for b in parts[1:]:
        na, nb = acc["n"], b["n"]
        n = na + nb
        # one shift per column: the first partition that saw the column sets it
        shift = np.where(np.diag(na) > 0, acc["shift"], b["shift"])
        mean_a = acc["mean"] + (acc["shift"] - shift)[:, None]
        mean_b = b["mean"] + (b["shift"] - shift)[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(n > 0, na * nb / n, 0.0)
            wb = np.where(n > 0, nb / n, 0.0)
        d = np.where((na > 0) & (nb > 0), mean_b - mean_a, 0.0)
        mean = np.where(na > 0, mean_a + d * wb, mean_b)
        acc = {"n": n, "shift": shift, "mean": mean,
               "c": acc["c"] + b["c"] + d * d.T * frac,
               "q": acc["q"] + b["q"] + d * d * frac}
    return acc


def _finish(m: dict, what: str, min_periods: int, ddof: int) -> np.ndarray:
    n, c, q = m["n"], m["c"], m["q"]
    with np.errstate(invalid="ignore", divide="ignore"):
        if what == "cov":
            out = c / (n - ddof)
            out[n - ddof <= 0] = np.nan
        else:
            out = c / np.sqrt(q * q.T)
            out = np.clip(out, -1.0, 1.0)
    out[n < max(min_periods, 1)] = np.nan
    return out


def _aggregate(parts: list[dict], what: str, min_periods: int, ddof: int,
               columns: tuple | None, scalar: bool) -> Any:
    result = _finish(_merge(parts), what, min_periods, ddof)
    if scalar:
        return float(result[0, 1])
    return pd.DataFrame(result, index=list(columns), columns=list(columns))


def _combine(parts: list[dict]) -> dict:
    return _merge(parts)


def _pairwise(obj: Any, other: Any, what: str, method: str, min_periods: Any,
              ddof: int, numeric_only: bool, split_every: int | None) -> Any:
    if method != "pearson":
        raise NotImplementedError(f"{what}(method={method!r}): only 'pearson' is "
                                  f"supported (rank methods need a sort of each column)")
    min_periods = 1 if min_periods is None else int(min_periods)
    if other is not None:
        if is_frame(obj) or is_frame(other):
            raise TypeError(f"Series.{what}(other) takes a Series")
        if obj.npartitions != other.npartitions:
            raise ValueError(f"Series.{what}: the two series must be partitioned alike "
                             f"({obj.npartitions} vs {other.npartitions} partitions)")
        return tree([obj, other], _moments_pair, _combine, _aggregate, np.float64(0.0),
                    split_every, chunk_kwargs={"columns": ()},
                    aggregate_kwargs={"what": what, "min_periods": min_periods,
                                      "ddof": ddof, "columns": None, "scalar": True},
                    label=what)
    meta_obj = obj._meta
    cols = [c for c in meta_obj.columns
            if getattr(meta_obj.dtypes[c], "kind", "O") in "biufb"]
    bad = [c for c in meta_obj.columns if c not in cols]
    if bad and not numeric_only:
        raise TypeError(f"{what}() of the non-numeric columns {bad}; pass "
                        f"numeric_only=True or select numeric columns")
    meta = pd.DataFrame(np.empty((len(cols), len(cols))), index=cols, columns=cols)
    return tree(obj, _moments, _combine, _aggregate, meta.iloc[:0], split_every,
                chunk_kwargs={"columns": tuple(cols)},
                aggregate_kwargs={"what": what, "min_periods": min_periods, "ddof": ddof,
                                  "columns": tuple(cols), "scalar": False}, label=what)


def _moments_pair(part: Any, other: Any, columns: tuple) -> dict:
    return _moments(part, columns, other)


def corr(obj: Any, other: Any = None, method: str = "pearson", min_periods: Any = None,
         numeric_only: bool = False, split_every: int | None = None) -> Any:
    """Pearson correlation: a matrix for a DataFrame, a number for Series.corr(other)."""
    return _pairwise(obj, other, "corr", method, min_periods, 1, numeric_only,
                     split_every)


def cov(obj: Any, other: Any = None, min_periods: Any = None, ddof: int = 1,
        numeric_only: bool = False, split_every: int | None = None) -> Any:
    """Covariance: a matrix for a DataFrame, a number for Series.cov(other)."""
    return _pairwise(obj, other, "cov", "pearson", min_periods, ddof, numeric_only,
                     split_every)

"""Frames with awkward join/sort keys, shared by the shuffle, sorting, merge and
reshape tests: skewed keys, all-equal keys, missing keys, string and categorical keys,
and partitionings with empty partitions."""

import numpy as np
import pandas as pd

import plait.dataframe as dd

KEY_KINDS = ["skewed", "all-equal", "nulls", "strings", "categorical"]


def key_frame(kind: str, n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    if kind == "skewed":  # one key holds most rows
        k = np.where(rng.random(n) < 0.7, 3, rng.integers(0, 40, n))
    elif kind == "all-equal":
        k = np.full(n, 7)
    elif kind == "nulls":
        k = rng.integers(0, 15, n).astype("float64")
        k[::5] = np.nan
    elif kind == "strings":
        k = pd.array([f"k{v}" if v % 9 else None for v in rng.integers(0, 30, n)], dtype="str")
    elif kind == "categorical":
        k = pd.Categorical(rng.choice(["a", "b", "c", "d"], n), categories=["a", "b", "c", "d", "e"])
    else:  # pragma: no cover
        raise ValueError(kind)
    return pd.DataFrame({"k": k, "x": rng.normal(size=n), "i": np.arange(n)})


def partitioned(pdf: pd.DataFrame, how: str = "four"):
    """``pdf`` as a plait frame: "four" partitions, or "empty-parts" (two empty)."""
    if how == "four":
        return dd.from_pandas(pdf, npartitions=4)
    n = len(pdf) // 2
    pieces = [pdf.iloc[:0], pdf.iloc[:n], pdf.iloc[n:n], pdf.iloc[n:]]
    return dd.from_map(_piece, [pieces[i] for i in range(4)], meta=pdf.iloc[:0])


def _piece(p: pd.DataFrame) -> pd.DataFrame:
    return p


def sort_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in a canonical order (by every column, then index) for comparing results
    whose row order is not defined."""
    out = df.copy()
    cols = list(out.columns)
    keyed = out.assign(**{f"__{j}": out[c].astype(str) if isinstance(out[c].dtype, pd.CategoricalDtype)
                          else out[c] for j, c in enumerate(cols)})
    order = keyed.reset_index(drop=True).sort_values([f"__{j}" for j in range(len(cols))],
                                                     kind="stable", na_position="last").index
    return out.iloc[order].reset_index(drop=True)

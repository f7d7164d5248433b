"""What every reader does to a freshly parsed partition before handing it on.

A reader infers ``meta`` (column names and dtypes) from a sample at build time and
promises that every partition matches it. The parser, run on each block on its own,
may still infer differently: an integer column that holds an empty cell further down
comes back as floats, a numeric column with a stray word as strings. This module
casts what can be cast without loss (integers to floats, one datetime unit to another)
and raises one clear error for the rest, naming the column, the file and the
``dtype={...}`` that fixes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["coerce_to_meta", "empty_like_meta"]


def empty_like_meta(meta: Any, columns: Sequence | None) -> Any:
    """An empty partition: ``meta`` (restricted to ``columns``) with a RangeIndex."""
    import pandas as pd

    out = meta if columns is None else meta[list(columns)]
    return out.set_axis(pd.RangeIndex(0), axis=0)


def _kind(dtype: Any) -> str:
    import pandas as pd

    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return "str"
    return str(dtype)


_HOLDS_MISSING = ("float", "str", "datetime", "object", "category")


def _castable(found: Any, expected: Any) -> bool:
    """Whether a column parsed as ``found`` can become ``expected`` without loss."""
    f, e = _kind(found), _kind(expected)
    if f == e:
        return True
    if e == "float" and f in ("int", "bool"):
        return True
    if e == "object":  # an object column holds anything as it is
        return True
    return False


def _suggest(found: Any, expected: Any) -> str:
    f = _kind(found)
    if f in ("float", "int"):
        return "float64"
    if f in ("str", "object"):
        return "object" if str(expected) == "bool" else "str"
    return str(found)


def coerce_to_meta(df: Any, meta: Any, where: str, reader: str) -> Any:
    """Cast ``df``'s columns to ``meta``'s dtypes, or raise naming every column that cannot be.

    Parameters
    ----------
    df : pandas.DataFrame
        A parsed partition holding (a subset of) meta's columns.
    meta : pandas.DataFrame
        The empty frame the collection promised.
    where : str
        The file (and byte range) the partition came from, for the error message.
    reader : str
        ``"read_csv"``, ``"read_json"``, ... for the error message.

    Examples
    --------
    >>> import pandas as pd
    >>> meta = pd.DataFrame({"a": pd.Series([], dtype="float64")})
    >>> coerce_to_meta(pd.DataFrame({"a": [1, 2]}), meta, "f.csv", "read_csv").a.dtype
    dtype('float64')
    """
    bad: list[tuple[str, Any, Any]] = []
    casts: dict = {}
    for col in df.columns:
        if col not in meta.columns:
            continue
        found, expected = df[col].dtype, meta[col].dtype
        if found == expected:
            continue
        if _castable(found, expected):
            if _kind(found) != "category":
                casts[col] = expected
        elif _kind(expected) in _HOLDS_MISSING and df[col].isna().all():
            casts[col] = expected  # nothing but missing values here: any such dtype fits
        else:
            bad.append((col, found, expected))
    if bad:
        raise ValueError(_mismatch_message(bad, where, reader))
    return df.astype(casts) if casts else df


def _mismatch_message(bad: list, where: str, reader: str) -> str:
    rows = "\n".join(f"  {col!r}: found {found}, expected {expected}"
                     for col, found, expected in bad)
    fix = ", ".join(f"{col!r}: {_suggest(found, expected)!r}" for col, found, expected in bad)
    ints = any(_kind(e) == "int" and _kind(f) == "float" for _, f, e in bad)
    if not reader.startswith("read_"):
        return (
            f"{reader}: the data in {where} does not match the dtypes of meta:\n{rows}\n"
            f"Pass meta= with these dtypes ({{{fix}}}) so that every partition agrees."
        )
    extra = ("\n(or pass assume_missing=True to read every integer column not named in "
             "dtype= as float64)" if ints and reader in ("read_csv", "read_table", "read_fwf")
             else "")
    return (
        f"{reader}: the data in {where} does not match the dtypes inferred from the sample "
        f"at the start of the first file:\n{rows}\n"
        f"The sample did not show these values (missing values in an integer column, text "
        f"in a numeric one, ...). Give the dtypes explicitly:\n"
        f"  {reader}(..., dtype={{{fix}}}){extra}\n"
        f"or make the sample larger with sample=<bytes>."
    )

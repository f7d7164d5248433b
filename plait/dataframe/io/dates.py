"""Date columns built from several CSV columns: ``parse_dates={"Date": [0, 1, 2]}``.

pandas 3 accepts only ``parse_dates=True``/``False`` or a list of columns to parse
one by one; the older forms that *combine* columns (a dict ``{"Date": ["Year",
"Month", "DayofMonth"]}`` or a list of lists ``[[0, 1, 2]]``) were removed. The
tutorials use them, so the text readers keep them: the parts (names, or positions in
the file's columns) are joined with spaces and parsed with ``pandas.to_datetime``
(``date_format=`` is used as its ``format=``), the new column goes first, and the
parts are dropped unless ``keep_date_col=True``, as pandas used to do.

The same result without this convenience::

    df = dd.read_csv(...)
    df["Date"] = dd.to_datetime(df[["Year", "Month", "DayofMonth"]]
                                .rename(columns={"DayofMonth": "day"}))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["combine_dates", "split_parse_dates"]


def split_parse_dates(parse_dates: Any, file_columns: Sequence) -> tuple[Any, dict]:
    """Separate pandas' own ``parse_dates`` from column combinations.

    Returns ``(plain, combos)``: what to pass to pandas (None when nothing) and
    ``{new_name: [file column names]}``.

    >>> split_parse_dates({"Date": [0, 2]}, ["Y", "M", "D"])
    (None, {'Date': ['Y', 'D']})
    >>> split_parse_dates([1, ["Y", "D"]], ["Y", "M", "D"])
    (['M'], {'Y_D': ['Y', 'D']})
    >>> split_parse_dates(True, ["Y"])
    (True, {})
    """
    if parse_dates is None or isinstance(parse_dates, bool):
        return parse_dates, {}
    cols = list(file_columns)

    def name_of(c: Any) -> Any:
        if c in cols:
            return c
        if isinstance(c, int) and 0 <= c < len(cols):
            return cols[c]
        raise ValueError(
            f"parse_dates names column {c!r}, which is not in the file; its columns are "
            f"{cols}"
        )

    if isinstance(parse_dates, dict):
        combos = {}
        for new, parts in parse_dates.items():
            if isinstance(parts, (str, int)):
                parts = [parts]
            combos[new] = [name_of(p) for p in parts]
        return None, combos
    plain, combos = [], {}
    for item in parse_dates:
        if isinstance(item, (list, tuple)):
            names = [name_of(p) for p in item]
            combos["_".join(str(n) for n in names)] = names
        else:
            plain.append(name_of(item))  # positions become names: usecols narrows later
    return (plain or None), combos


def combine_dates(df: Any, combos: dict, keep: bool = False,
                  date_format: Any = None) -> Any:
    """Add each combined date column (first, in order) and drop its parts.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"Y": [2000, 2001], "M": [1, 12], "D": [5, 31], "x": [1, 2]})
    >>> combine_dates(df, {"Date": ["Y", "M", "D"]})
            Date  x
    0 2000-01-05  1
    1 2001-12-31  2
    """
    import pandas as pd

    if not combos:
        return df
    new = {}
    used: list = []
    for name, parts in combos.items():
        present = [p for p in parts if p in df.columns]
        if len(present) != len(parts):
            continue  # the column was not asked for: its parts were not read
        text = df[parts[0]].astype(str)
        for p in parts[1:]:
            text = text + " " + df[p].astype(str)
        missing = df[parts].isna().any(axis=1)
        if missing.any():  # a row with a missing part has no date (NaT), as in pandas
            text = text.where(~missing, None)
        fmt = date_format.get(name) if isinstance(date_format, dict) else date_format
        new[name] = pd.to_datetime(text, format=fmt) if fmt else pd.to_datetime(text)
        used.extend(parts)
    rest = df if keep else df.drop(columns=[c for c in dict.fromkeys(used) if c not in new])
    if not new:
        return rest
    front = pd.DataFrame(new, index=df.index)
    return pd.concat([front, rest.drop(columns=[c for c in new if c in rest.columns])], axis=1)

"""Normalising ``groupby``'s ``by=``/``level=`` into kernel keys and pandas metas.

A key is a column label, an index level, or a plait Series aligned with the frame
(``df.groupby(df.Date.dt.dayofweek)``). Series keys travel to the kernels as extra
partitions of the tree reduction; a Series that is just one of the frame's own columns
(``df.groupby(df.a)``) is treated as that column, so it is left out of the aggregated
columns as pandas does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["ResolvedKeys", "is_collection", "resolve_keys"]


def is_collection(x: Any) -> bool:
    """A plait dataframe collection (anything with an expression and a meta)."""
    return hasattr(x, "expr") and hasattr(x, "_meta")


@dataclass
class ResolvedKeys:
    items: tuple[Any, ...]        # ("col", label) | ("arg", i) | ("level", level)
    extra: list[Any]              # expressions of the Series keys, in "arg" order
    metas: list[Any]              # what to hand pandas' groupby on the metas
    names: tuple[Any, ...]        # the result's index names
    columns: list[Any]            # frame columns the keys read


def _same_column(frame: Any, key: Any) -> bool:
    name = key._meta.name
    meta = frame._meta
    if not isinstance(meta, pd.DataFrame) or name is None:
        return False
    try:
        if name not in meta.columns:
            return False
        column = frame[name].expr
    except (TypeError, KeyError, ValueError):
        return False
    if column._name == key.expr._name:
        return True
    from ..expr import optimize

    # df[cols].groupby(df.b): different trees, the same column once simplified
    return optimize(column)._name == optimize(key.expr)._name


def resolve_keys(frame: Any, by: Any, level: Any) -> ResolvedKeys:
    """Check ``by``/``level`` against ``frame`` and describe each key."""
    meta = frame._meta
    if by is None and level is None:
        raise TypeError("groupby() needs by= (a column, a list of columns, a Series) "
                        "or level= (an index level)")
    if by is not None and level is not None:
        raise TypeError("groupby() takes by= or level=, not both")
    if level is not None:
        levels = list(level) if isinstance(level, (list, tuple)) else [level]
        items, names = [], []
        for lev in levels:
            if isinstance(lev, int) and not (-meta.index.nlevels <= lev < meta.index.nlevels):
                raise IndexError(f"groupby(level={lev}): the index has "
                                 f"{meta.index.nlevels} level(s)")
            if not isinstance(lev, int) and lev not in meta.index.names:
                raise KeyError(f"groupby(level={lev!r}): no index level of that name; "
                               f"the index names are {list(meta.index.names)}")
            items.append(("level", lev))
            names.append(meta.index.get_level_values(lev).name)
        return ResolvedKeys(tuple(items), [], [], tuple(names), [])
    keys = list(by) if isinstance(by, list) else [by]
    items, extra, metas, names, columns = [], [], [], [], []
    for key in keys:
        if is_collection(key):
            if not isinstance(key._meta, pd.Series):
                raise TypeError(f"groupby by= takes Series, not {type(key).__name__}: "
                                f"select one column, e.g. df.groupby(df['a'])")
            if _same_column(frame, key):
                name = key._meta.name
                items.append(("col", name))
                metas.append(name)
                names.append(name)
                columns.append(name)
                continue
            if key.npartitions != frame.npartitions:
                raise ValueError(
                    f"groupby by a Series with {key.npartitions} partitions on a frame "
                    f"with {frame.npartitions}: the key must be partitioned like the "
                    f"frame (derive it from the frame, e.g. df.groupby(df.x.dt.year))")
            if (None not in frame.divisions and None not in key.divisions
                    and tuple(frame.divisions) != tuple(key.divisions)):
                raise ValueError("groupby by a Series whose divisions differ from the "
                                 "frame's; repartition one like the other first")
            items.append(("arg", len(extra)))
            extra.append(key.expr)
            metas.append(key._meta)
            names.append(key._meta.name)
        elif isinstance(key, (pd.Series, pd.Index)) or hasattr(key, "__array__"):
            raise TypeError(
                "groupby by= an in-memory pandas/NumPy object is not supported: its "
                "rows cannot be matched to the partitions; build it from the frame "
                "(df.groupby(df.x // 10)) or add it as a column first")
        elif callable(key):
            raise TypeError("groupby by= a function is not supported; compute the key "
                            "as a Series first, e.g. df.groupby(df.x.map(f))")
        elif isinstance(meta, pd.DataFrame) and _in_columns(key, meta):
            items.append(("col", key))
            metas.append(key)
            names.append(key)
            columns.append(key)
        elif key in meta.index.names and key is not None:
            items.append(("level", key))
            metas.append(key)
            names.append(key)
        else:
            cols = list(meta.columns) if isinstance(meta, pd.DataFrame) else []
            raise KeyError(f"groupby key {key!r} is neither a column nor an index level; "
                           f"the columns are {cols}")
    return ResolvedKeys(tuple(items), extra, metas, tuple(names), columns)


def _in_columns(key: Any, meta: pd.DataFrame) -> bool:
    try:
        return key in meta.columns
    except TypeError:  # unhashable
        return False

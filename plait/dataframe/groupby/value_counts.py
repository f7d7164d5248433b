"""``SeriesGroupBy.value_counts`` as a tree reduction.

Each partition counts its (group keys, value) pairs in order of first appearance; the
combines add counts of equal pairs, keeping first-appearance order across partitions
(concatenation preserves partition order). The last step orders them as pandas does:
by group key when the group-by sorts, by count (within each group when the group-by
sorts, across all rows when it does not), and divides by group totals for
``normalize``. Ties (equal counts, or ``sort=False``) keep first-appearance order:
pandas sorts the keys with an unstable sort there, so its order among ties is an
accident of its internals and may differ.

>>> import pandas as pd
>>> keys = GroupKeys(("a",), names=("a",))
>>> parts = [pd.DataFrame({"a": [1, 1], "x": ["u", "v"]}),
...          pd.DataFrame({"a": [1, 2], "x": ["v", "u"]})]
>>> counts = [vc_chunk(p, keys=keys, column="x") for p in parts]
>>> vc_aggregate(counts, keys=keys).tolist()
[2, 1, 1]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..categorical import concat_unifying_categories
from .kernels import GroupKeys, group_keys
from .spec import SERIES_COLUMN

__all__ = ["vc_aggregate", "vc_chunk", "vc_combine"]


def vc_chunk(part: Any, *extra: Any, keys: GroupKeys, column: Any,
             dropna: bool = True) -> pd.Series:
    """Counts of (keys..., value) pairs in one partition, first-appearance order."""
    frame = part.to_frame(SERIES_COLUMN) if keys.series else part
    key_series = group_keys(part, extra, keys)
    values = frame[column]
    counts = frame.groupby(key_series + [values], sort=False, dropna=False,
                           observed=True).size()
    nk = len(key_series)
    mask = np.ones(len(counts), dtype=bool)
    idx = counts.index
    if keys.dropna:
        for level in range(nk):
            mask &= ~pd.isna(idx.get_level_values(level))
    if dropna:
        mask &= ~pd.isna(idx.get_level_values(nk))
    return counts[mask] if not mask.all() else counts


def vc_combine(parts: list[pd.Series]) -> pd.Series:
    """Add the counts of equal pairs, keeping first-appearance order."""
    kept = [p for p in parts if len(p)] or parts[:1]
    if len(kept) == 1:
        return kept[0]
    cat = concat_unifying_categories(kept)
    levels = list(range(cat.index.nlevels))
    return cat.groupby(level=levels, sort=False, dropna=False, observed=True).sum()


def vc_aggregate(parts: list[pd.Series], keys: GroupKeys, normalize: bool = False,
                 sort: bool = True, ascending: bool = False, name: Any = None
                 ) -> pd.Series:
    """Order and name the final counts like pandas' ``SeriesGroupBy.value_counts``."""
    counts = vc_combine(parts)
    nk = counts.index.nlevels - 1
    key_levels = list(range(nk))
    group_codes = None
    if keys.sort and len(counts):
        # each row's group number in sorted key order (NaN keys last, like pandas)
        group_codes = counts.groupby(level=key_levels, sort=True, dropna=False,
                                     observed=True).ngroup().to_numpy()
    order = np.arange(len(counts))
    if sort:
        values = counts.to_numpy()
        ranked = values if ascending else -values
        order = (np.lexsort((ranked, group_codes)) if group_codes is not None
                 else np.argsort(ranked, kind="stable"))
    elif group_codes is not None:
        order = np.argsort(group_codes, kind="stable")
    counts = counts.iloc[order]
    if normalize:
        totals = counts.groupby(level=key_levels, sort=False, dropna=False,
                                observed=True).transform("sum")
        counts = counts / totals
        counts.name = "proportion"
    else:
        counts = counts.astype("int64")
        counts.name = "count"
    names = list(keys.names or [None] * nk) + [name]
    counts.index.names = names
    return counts


def vc_combine_list(parts: list) -> Any:
    """``vc_combine`` with the tree reduction's calling convention."""
    return vc_combine(parts)


def vc_finish(parts: list, meta: Any, as_index: bool = True, **kwargs: Any) -> Any:
    """``vc_aggregate`` with the meta's index names, and as a frame for as_index=False."""
    result = vc_aggregate(parts, **kwargs)
    if meta is not None and isinstance(meta, pd.Series) and len(meta.index.names) == \
            len(result.index.names):
        result.index.names = meta.index.names
    if not as_index:
        result = result.reset_index()
        if len(result.columns) == len(meta.columns):
            result.columns = meta.columns
    return result

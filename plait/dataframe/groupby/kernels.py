"""Group-by tree reduction kernels: chunk -> combine -> aggregate, all plain pandas.

``chunk`` groups one partition and computes every partial of the :class:`~.spec.Plan`
into one *partial frame* (group keys as index, partials as numbered columns) plus, for
``nunique``, frames of distinct (group keys, value) rows. ``combine`` merges a list of
those into one of the same shape by grouping again on the index. ``aggregate``
combines the last list with the user's ``sort``/``observed`` and finishes each output
(mean = sum / count, var = M2 / (n - ddof), ...).

One grouper per partition serves every partial (pandas factorizes the keys once), and
the per-group moments (count, mean, M2) of partitions are merged with Chan et al.'s
pairwise formula, so variances do not lose precision the way a sum of squares does.

>>> import pandas as pd
>>> from plait.dataframe.groupby.spec import parse_agg
>>> plan = parse_agg("mean", {}, ["x"])
>>> key = GroupKeys(("a",), dropna=True)
>>> parts = [pd.DataFrame({"a": [1, 2], "x": [1.0, 2.0]}),
...          pd.DataFrame({"a": [1], "x": [4.0]})]
>>> partials = [chunk(p, keys=key, plan=plan) for p in parts]
>>> aggregate(partials, keys=key, plan=plan)
     x
a     
1  2.5
2  2.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..categorical import concat_unifying_categories
from .custom import custom_chunk, custom_finish, custom_merge
from .spec import COMBINE, SERIES_COLUMN, Plan

__all__ = ["GroupKeys", "aggregate", "chunk", "combine", "group_keys"]


@dataclass(frozen=True)
class GroupKeys:
    """How a partition finds its group keys.

    ``by`` holds, per key, either ``("col", label)`` (a column of the partition),
    ``("arg", i)`` (the i-th extra partition passed to the kernel: a key Series aligned
    with the frame) or ``("level", level)`` (an index level). A bare label stands for
    ``("col", label)``. ``names`` are the result's index names, taken from pandas on
    the metas at build time.
    """

    by: tuple[Any, ...]
    dropna: bool = True
    sort: bool = True
    observed: bool = True
    names: tuple[Any, ...] | None = None
    series: bool = False  # the grouped object is a Series

    def resolve(self, frame: Any, extra: Sequence[Any]) -> list[pd.Series]:
        keys = []
        for item in self.by:
            kind, ref = item if (isinstance(item, tuple) and len(item) == 2
                                 and item[0] in ("col", "arg", "level")) else ("col", item)
            if kind == "col":
                keys.append(frame[ref])
            elif kind == "arg":
                keys.append(extra[ref])
            else:
                values = frame.index.get_level_values(ref)
                keys.append(pd.Series(values, index=frame.index, name=values.name))
        return keys


def group_keys(frame: Any, extra: Sequence[Any], keys: GroupKeys) -> list[pd.Series]:
    """The key Series of one partition (used by value_counts and friends too)."""
    if keys.series:
        frame = frame.to_frame(SERIES_COLUMN)
    return keys.resolve(frame, extra)


def _as_frame(part: Any, keys: GroupKeys) -> pd.DataFrame:
    return part.to_frame(SERIES_COLUMN) if keys.series else part


def _kernel_groupby(obj: Any, keys: Any, dropna: bool, sort: bool = False,
                    observed: bool = True) -> Any:
    return obj.groupby(keys, sort=sort, dropna=dropna, observed=observed)


def chunk(part: Any, *extra: Any, keys: GroupKeys, plan: Plan) -> dict[str, Any]:
    """Partials of one partition: ``{"wide": DataFrame, "nunique": {col: DataFrame}}``."""
    frame = _as_frame(part, keys)
    key_series = keys.resolve(frame, extra)
    g = _kernel_groupby(frame, key_series, keys.dropna)
    blocks: list[Any] = []
    # Group the partials by (kind, skipna) so each pandas call covers many columns.
    batches: dict[tuple[str, bool], list[Any]] = {}
    for kind, col, skipna in plan.partials:
        batches.setdefault((kind, skipna), []).append(col)
    computed: dict[tuple[str, Any, bool], list[pd.Series]] = {}
    for (kind, skipna), cols in batches.items():
        if kind == "size":
            computed[(kind, None, skipna)] = [g.size()]
            continue
        sub = g[list(cols)]
        if kind in ("fsum", "moments"):
            sub = _numeric_view(frame, cols, key_series, keys.dropna, sub)
        if kind == "fsum":
            res = sub.sum(skipna=skipna)
        elif kind == "count":
            res = sub.count()
        elif kind == "moments":
            n = sub.count()
            mean = sub.mean(skipna=skipna)
            m2 = sub.var(ddof=0, skipna=skipna) * n
            empty = n == 0
            # Empty groups carry n=0 with neutral mean and M2 so merges ignore them.
            mean, m2 = mean.mask(empty, 0.0), m2.mask(empty, 0.0)
            for c in cols:
                computed[(kind, c, skipna)] = [n[c], mean[c], m2[c]]
            continue
        else:
            res = getattr(sub, kind)(skipna=skipna)
        for c in cols:
            computed[(kind, c, skipna)] = [res[c]]
    for p in plan.partials:
        blocks.extend(computed[p])
    if blocks:
        wide = pd.concat(blocks, axis=1, ignore_index=True) if len(blocks) > 1 else \
            blocks[0].to_frame().set_axis([0], axis=1)
    else:
        wide = None
    nunique = {}
    for col in plan.nunique_columns:
        nunique[col] = _distinct_pairs(frame[col], key_series, keys.dropna)
    # custom partials are keyed by position: Aggregation objects are copied when tasks
    # travel to other processes, so they are poor dictionary keys
    custom = {i: custom_chunk(agg, g[col]) for i, (col, agg) in enumerate(plan.custom)}
    return {"wide": wide, "nunique": nunique, "custom": custom}


def _numeric_view(frame: pd.DataFrame, cols: list, key_series: list, dropna: bool,
                  grouped: Any) -> Any:
    """``grouped``, or, when some of ``cols`` hold datetimes/timedeltas, the same
    grouping over those columns as float64 nanoseconds (NaT as NaN), so means and
    variances can be merged like numbers."""
    if not any(getattr(frame[c].dtype, "kind", "O") in "mM" for c in cols):
        return grouped
    numbers = pd.DataFrame({
        c: (np.asarray(frame[c].array.asi8, dtype="float64")
            if getattr(frame[c].dtype, "kind", "O") in "mM" else frame[c].to_numpy())
        for c in cols}, index=frame.index)
    for c in cols:
        if getattr(frame[c].dtype, "kind", "O") in "mM":
            numbers[c] = numbers[c].mask(frame[c].isna().to_numpy())
    return _kernel_groupby(numbers, key_series, dropna)[list(cols)]


def _from_numbers(values: pd.Series, dtype: str, delta: bool) -> pd.Series:
    """float64 nanoseconds back to datetimes (or timedeltas when ``delta``),
    truncating fractions as pandas does."""
    dtype = pd.api.types.pandas_dtype(dtype)
    unit = getattr(dtype, "unit", None) or np.datetime_data(dtype)[0]
    ints = np.where(values.isna(), np.iinfo("int64").min,
                    np.trunc(values.fillna(0).to_numpy())).astype("int64")
    if delta:
        return pd.Series(ints.view(f"m8[{unit}]"), index=values.index)
    out = pd.Series(ints.view(f"M8[{unit}]"), index=values.index)
    tz = getattr(dtype, "tz", None)
    return out.dt.tz_localize("UTC").dt.tz_convert(tz) if tz is not None else out


def _distinct_pairs(values: pd.Series, key_series: list[pd.Series], dropna: bool
                    ) -> pd.DataFrame:
    """Distinct (key..., value) rows, keys as columns 0..k-1 and the value as "v"."""
    # .array keeps each column's own storage (Arrow strings stay Arrow: no round trip
    # through Python objects)
    data = {i: k.array for i, k in enumerate(key_series)}
    data["v"] = values.array
    pairs = pd.DataFrame(data, index=None)
    if dropna:
        pairs = pairs.dropna(subset=list(range(len(key_series))))
    return pairs.drop_duplicates(ignore_index=True)


def _nonempty(items: list[Any]) -> list[Any]:
    kept = [x for x in items if x is not None and len(x)]
    return kept or [x for x in items if x is not None][:1]


def _merge_wide(wides: list[pd.DataFrame], plan: Plan, sort: bool, observed: bool
                ) -> pd.DataFrame:
    """Group a concatenation of partial frames again and merge each partial."""
    wides = _nonempty(wides)
    if len(wides) == 1 and not sort and observed:
        return wides[0]
    cat = concat_unifying_categories(wides)
    levels = list(range(cat.index.nlevels))
    g = cat.groupby(level=levels, sort=sort, observed=observed, dropna=False)
    out: dict[int, pd.Series] = {}
    positions = plan.positions()
    batches: dict[tuple[str, bool], list[int]] = {}
    for p in plan.partials:
        kind, _, skipna = p
        if kind == "moments":
            out.update(_merge_moments(cat, g, levels, positions[p], sort, observed))
        else:
            batches.setdefault((COMBINE[kind], skipna), []).append(positions[p])
    for (how, skipna), cols in batches.items():
        res = getattr(g[cols], how)(skipna=skipna)
        out.update({c: res[c] for c in cols})
    merged = pd.concat([out[i] for i in range(plan.width)], axis=1, ignore_index=True)
    return merged


def _merge_moments(cat: pd.DataFrame, g: Any, levels: list[int], at: int, sort: bool,
                   observed: bool) -> dict[int, pd.Series]:
    """Chan et al.: M2 = sum(M2_i) + sum(n_i (mean_i - mean)^2), mean = sum(n_i mean_i)/n."""
    n = cat[at].astype("float64")
    mean = cat[at + 1]
    m2 = cat[at + 2]
    weighted = n * mean
    aux = pd.DataFrame({"n": n, "w": weighted})
    totals = aux.groupby(level=levels, sort=False, dropna=False,
                         observed=True).transform("sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        row_mean = totals["w"] / totals["n"]
        dev = (m2 + n * (mean - row_mean) ** 2).mask(n == 0, 0.0)
    sums = pd.DataFrame({"n": cat[at], "w": weighted, "m2": dev}).groupby(
        level=levels, sort=sort, observed=observed, dropna=False).sum(skipna=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        new_mean = (sums["w"] / sums["n"]).mask(sums["n"] == 0, 0.0)
    return {at: sums["n"], at + 1: new_mean, at + 2: sums["m2"]}


def _merge_pairs(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = _nonempty(frames)
    if len(frames) == 1:
        return frames[0]
    return concat_unifying_categories(frames).drop_duplicates(ignore_index=True)


def combine(partials: list[dict[str, Any]], plan: Plan) -> dict[str, Any]:
    """Merge a list of partials into one, still keyed by group (unsorted)."""
    wides = [p["wide"] for p in partials]
    wide = _merge_wide(wides, plan, sort=False, observed=True) if plan.partials else None
    nunique = {c: _merge_pairs([p["nunique"][c] for p in partials])
               for c in plan.nunique_columns}
    custom = {i: custom_merge(agg, [p["custom"][i] for p in partials])
              for i, (_, agg) in enumerate(plan.custom)}
    return {"wide": wide, "nunique": nunique, "custom": custom}


def aggregate(partials: list[dict[str, Any]], keys: GroupKeys, plan: Plan,
              meta: Any = None) -> Any:
    """Merge the last partials and finish every output in pandas' layout."""
    columns: dict[Any, pd.Series] = {}
    index = None
    if plan.partials:
        wide = _merge_wide([p["wide"] for p in partials], plan, keys.sort, keys.observed)
        index = wide.index
        positions = plan.positions()
        for o in plan.outputs:
            if o.how not in ("nunique", "custom"):
                columns[o] = _finish(o, wide, positions)
    for o in plan.outputs:
        if o.how == "custom":
            key = plan.custom.index((o.column, o.aggregation))
            merged = custom_merge(o.aggregation, [p["custom"][key] for p in partials],
                                  sort=keys.sort, observed=keys.observed)
            res = custom_finish(o.aggregation, merged)
            if index is not None:
                res = res.reindex(index)
            else:
                index = res.index
            columns[o] = res
    for o in plan.outputs:
        if o.how == "nunique":
            pairs = _merge_pairs([p["nunique"][o.column] for p in partials])
            res = _count_distinct(pairs, keys, o.dropna)
            if index is not None:
                res = res.reindex(index, fill_value=0)
            columns[o] = res
    result = _assemble(plan, columns, keys, index)
    if meta is not None:
        result = _match_meta(result, meta)
    return result


def _count_distinct(pairs: pd.DataFrame, keys: GroupKeys, dropna: bool) -> pd.Series:
    nk = len(keys.by)
    key_cols = list(range(nk))
    res = pairs.groupby(key_cols if nk > 1 else key_cols[0], sort=keys.sort,
                        observed=keys.observed, dropna=False)["v"].nunique(dropna=dropna)
    res.index.names = list(keys.names) if keys.names else [None] * nk
    return res.astype("int64")


def _finish(o: Any, wide: pd.DataFrame, positions: dict) -> pd.Series:
    how, col, sk = o.how, o.column, o.skipna
    if how == "size":
        return wide[positions[("size", None, True)]]
    if how == "count":
        return wide[positions[("count", col, True)]]
    if how == "mean":
        total = wide[positions[("fsum" if o.dt else "sum", col, sk)]]
        count = wide[positions[("count", col, True)]]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
        return _from_numbers(mean, o.dt, delta=o.dt.startswith("timedelta")) \
            if o.dt else mean
    if how in ("var", "std", "sem"):
        at = positions[("moments", col, sk)]
        n, m2 = wide[at], wide[at + 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            var = (m2 / (n - o.ddof)).where(n - o.ddof > 0)
            if how == "var":
                return var
            std = np.sqrt(var)
            out = std if how == "std" else std / np.sqrt(n)
        return _from_numbers(out, o.dt, delta=True) if o.dt else out
    res = wide[positions[(how, col, sk)]]
    if o.min_count > 0:
        res = res.where(wide[positions[("count", col, True)]] >= o.min_count)
    return res


def _assemble(plan: Plan, columns: dict[Any, pd.Series], keys: GroupKeys,
              index: Any) -> Any:
    series = [columns[o] for o in plan.outputs]
    if plan.layout in ("series", "size"):
        out = series[0].rename(plan.name)
    else:
        out = pd.concat(series, axis=1, ignore_index=True) if series else \
            pd.DataFrame(index=index)
        out.columns = _labels([o.label for o in plan.outputs])
    if keys.names is not None:
        out.index.names = list(keys.names)
    return out


def _labels(labels: list[Any]) -> pd.Index:
    if labels and all(isinstance(lab, tuple) for lab in labels):
        return pd.MultiIndex.from_tuples(labels)
    # pandas infers the labels' dtype (str for names): so do we
    return pd.Index(labels) if labels else pd.Index([])


def _match_meta(result: Any, meta: Any) -> Any:
    """Give the result the column index and dtypes pandas' own answer has."""
    if isinstance(result, pd.DataFrame) and isinstance(meta, pd.DataFrame):
        if len(meta.columns) == len(result.columns):
            result.columns = meta.columns
        for i, (got, want) in enumerate(zip(result.dtypes, meta.dtypes)):
            if got != want and _safe_cast(got, want, result.iloc[:, i]):
                result.isetitem(i, result.iloc[:, i].astype(want))
    elif (isinstance(result, pd.Series) and isinstance(meta, pd.Series)
          and result.dtype != meta.dtype and _safe_cast(result.dtype, meta.dtype, result)):
        result = result.astype(meta.dtype)
    return result


def _safe_cast(got: Any, want: Any, values: pd.Series) -> bool:
    """Cast only where pandas' dtype is a narrower or nullable twin of ours."""
    gk, wk = getattr(got, "kind", "O"), getattr(want, "kind", "O")
    if gk == "f" and wk == "f":
        return True
    if gk in "iub" and wk == "f":
        return True
    if gk in "iu" and wk in "iu":
        # never narrow: pandas' empty-meta sum of uint8 says uint8, its real sum uint64
        return getattr(want, "itemsize", 0) >= getattr(got, "itemsize", 0)
    if gk == "f" and wk in "iu":
        return not values.isna().any()
    return False

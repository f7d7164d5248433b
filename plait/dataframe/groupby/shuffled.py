"""Group-by operations that move every row of a group into one partition first.

Used for ``split_out=n`` aggregations, ``median``, ``agg`` with callables, ``apply``,
``transform``, ``shift`` and the cumulative methods. The plan is three steps:

1. per input partition, the group keys are copied into columns ``__plait_gbk{i}``
   (index levels and key Series too, so one hash partitioner covers every key kind);
2. :class:`~plait.dataframe.shuffle.Shuffle` by those columns into ``n`` partitions:
   every row of a group lands in one partition, and the pieces of an output partition
   are joined in input-partition order, so rows of a group keep their input order;
3. per output partition, the key columns are taken back out and pandas runs the
   operation on a ``groupby`` built exactly like the one on the metas.

Rows are shuffled (not partial results): the per-partition step is plain pandas, so
every pandas aggregation (``median``, callables) works; it moves more data than a tree
reduction, which is why ``split_out`` unset keeps the tree reduction.

Results keep the frame's index (``transform``, ``cumsum``, ...) but their partitions
are the shuffle's, not the input's; divisions are unknown.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import pandas as pd

from ..expr.blockwise import PART, MapPartitions

__all__ = ["shuffled_groupby"]

_KEY = "__plait_gbk{}"
_VALUE = "__plait_gbv"


def _prepare(part: Any, *extra: Any, items: tuple, series_obj: bool) -> pd.DataFrame:
    """``part`` as a frame with a copy of each group key in its own column."""
    frame = part.to_frame(_VALUE) if series_obj else part
    cols = {}
    for i, (kind, ref) in enumerate(items):
        if kind == "col":
            cols[_KEY.format(i)] = frame[ref].to_numpy()
        elif kind == "arg":
            cols[_KEY.format(i)] = extra[ref].to_numpy()
        else:
            cols[_KEY.format(i)] = frame.index.get_level_values(ref).to_numpy()
    return frame.assign(**cols)


def _restore(part: pd.DataFrame, items: tuple, names: tuple, series_obj: bool,
             obj_name: Any) -> tuple[Any, list]:
    """The original object and the key list pandas' groupby takes."""
    added = [_KEY.format(i) for i in range(len(items))]
    keys: list = []
    for i, (kind, ref) in enumerate(items):
        if kind == "col":
            keys.append(ref)
        elif kind == "arg":
            keys.append(part[added[i]].rename(names[i]))
        else:
            level = part.index.get_level_values(ref)
            keys.append(pd.Series(level, index=part.index, name=level.name))
    frame = part.drop(columns=added)
    if series_obj:
        frame = frame[_VALUE].rename(obj_name)
    return frame, keys


def _owned(out: Any, names: tuple, as_index: bool, partition: int, nparts: int) -> Any:
    """The rows of ``out`` (one per group) whose keys hash to ``partition``: with
    ``observed=False`` pandas gives every partition every category, but each group
    belongs to the one partition its rows were shuffled to."""
    from ..shuffle import hash_codes

    if as_index:
        keys = out.index.to_frame(index=False)
    else:
        keys = out[[n for n in names]].reset_index(drop=True)
    keys.columns = [_KEY.format(i) for i in range(keys.shape[1])]
    codes = hash_codes(keys, list(keys.columns), nparts)
    return out[codes == partition]


def _run(part: pd.DataFrame, *, items: tuple, names: tuple, series_obj: bool,
         obj_name: Any, as_list: bool, by_level: Any, opts: dict, selection: Any,
         call: Callable, meta: Any, empty_meta: bool, aligned: bool = False,
         partition: int | None = None, nparts: int | None = None) -> Any:
    if opts.get("dropna", True) and not aligned and len(part):
        # rows with a missing key belong to no group: drop them here, since pandas
        # fails on some inputs whose keys are all missing (rolling)
        present = part[[_KEY.format(i) for i in range(len(items))]].notna().all(axis=1)
        if not present.all():
            part = part[present.to_numpy()]
    frame, keys = _restore(part, items, names, series_obj, obj_name)
    owner = partition is not None and opts.get("observed") is False and not aligned \
        and nparts is not None and nparts > 1
    if empty_meta and len(frame) == 0 and not owner:
        return meta  # pandas' answer on no rows may lose dtypes; the meta has them
    if getattr(call, "takes_frame", False):
        series = [frame[k] if not isinstance(k, pd.Series) else k for k in keys]
        return call(frame, series)
    if by_level is not None:
        g = frame.groupby(level=by_level, **opts)
    else:
        g = frame.groupby(keys if as_list else keys[0], **opts)
    if selection is not None:
        g = g[selection]
    out = call(g)
    if owner and isinstance(out, (pd.Series, pd.DataFrame)) and len(out) and (
            not opts.get("as_index", True) or out.index.nlevels == len(items)):
        out = _owned(out, names, opts.get("as_index", True), partition, nparts)
        if len(out) == 0 and empty_meta:
            return meta
    if aligned and len(out) != len(frame) and frame.index.is_unique:
        # pandas drops every row when all keys of its input are missing, but on the
        # whole frame it gives those rows NaN: do what the whole frame would
        out = out.reindex(frame.index)
    return out


def shuffled_groupby(gb: Any, call: Callable, meta: Any, npartitions: int | None,
                     shuffle_method: Any = None, label: str = "groupby-shuffle",
                     empty_meta: bool = True, aligned: bool = False) -> Any:
    """``call(pandas_groupby)`` per group after a shuffle by ``gb``'s keys.

    ``gb`` is a plait group-by; ``meta`` the result's meta; ``npartitions`` the number
    of output partitions (default: the frame's); ``aligned`` marks one-row-per-input-row
    results (transform, shift, cum*).
    """
    from ..core import new_collection
    from ..shuffle import HashPartitioner, Shuffle

    obj = gb.obj
    resolved = gb._keys
    items = resolved.items
    series_obj = gb._is_series_obj
    prep_meta = _prepare(obj._meta, *[e._meta for e in resolved.extra], items=items,
                         series_obj=series_obj)
    prepared = MapPartitions(_prepare, obj.expr, *resolved.extra, meta=prep_meta,
                             kwargs={"items": items, "series_obj": series_obj},
                             label="groupby-keys")
    n = int(npartitions or obj.npartitions)
    moved = Shuffle(prepared, HashPartitioner([_KEY.format(i) for i in range(len(items))]),
                    n, shuffle_method)
    opts = {"sort": gb.sort, "observed": gb.observed, "dropna": gb.dropna}
    if not series_obj:
        opts["as_index"] = gb.as_index
    opts["group_keys"] = gb.group_keys
    kwargs = {"items": items, "names": resolved.names, "series_obj": series_obj,
              "obj_name": obj._meta.name if series_obj else None,
              "as_list": isinstance(gb.by, list),
              "by_level": gb.level, "opts": opts, "selection": gb._selection,
              "call": call, "meta": meta, "empty_meta": empty_meta, "aligned": aligned}
    categorical = [isinstance(getattr(k, "dtype", None), pd.CategoricalDtype)
                   for k in _key_metas(obj._meta, resolved, items)]
    if gb.observed is False and not aligned and any(categorical) and n > 1:
        if not all(categorical):
            raise NotImplementedError(
                "groupby(observed=False) over categorical and other keys together, on "
                f"{n} output partitions, is not supported: the unobserved combinations "
                "need every value of the other keys. Pass observed=True, make every key "
                "categorical, or leave split_out unset")
        # unobserved categories: each belongs to one partition (see _owned)
        kwargs["nparts"] = n
        out = _NumberedRun(_run, moved, meta=meta, kwargs=kwargs, clear_divisions=True,
                           label=label)
    else:
        out = MapPartitions(_run, moved, meta=meta, kwargs=kwargs, clear_divisions=True,
                            label=label)
    return new_collection(out)


def _key_metas(meta: Any, resolved: Any, items: tuple) -> list:
    frame = meta.to_frame(_VALUE) if isinstance(meta, pd.Series) else meta
    out = []
    for kind, ref in items:
        if kind == "col":
            out.append(frame[ref])
        elif kind == "arg":
            out.append(resolved.extra[ref]._meta)
        else:
            out.append(frame.index.get_level_values(ref))
    return out


class _NumberedRun(MapPartitions):
    """:func:`_run` per partition, told which partition it is (``partition=``)."""

    def _call_args(self) -> tuple[list, dict]:
        args, kwargs = super()._call_args()
        return args, {**kwargs, "partition": PART}

    def _partition_value(self, i: int) -> Any:
        return i


def infer_meta(gb: Any, call: Callable, meta: Any, what: str) -> Any:
    """``meta=`` as given, else ``call`` on a two-row sample with a warning (the
    sample cannot show what a user function does on real groups)."""
    from ..meta import make_meta, meta_nonempty

    if meta is not None:
        return make_meta(meta)
    warnings.warn(
        f"`meta` is not specified for groupby().{what}: it is inferred by running the "
        f"function on a small made-up sample. Pass meta= (a pandas object, dict or "
        f"tuple like the result) if the result is unexpected.", UserWarning, stacklevel=3)
    sample = meta_nonempty(gb.obj._meta)
    extra = [meta_nonempty(e._meta) for e in gb._keys.extra]
    extra = [e.set_axis(sample.index[:len(e)]) if len(e) == len(sample) else e
             for e in extra]
    prepared = _prepare(sample, *extra, items=gb._keys.items,
                        series_obj=gb._is_series_obj)
    opts = {"sort": gb.sort, "observed": gb.observed, "dropna": gb.dropna,
            "group_keys": gb.group_keys}
    if not gb._is_series_obj:
        opts["as_index"] = gb.as_index
    try:
        out = _run(prepared, items=gb._keys.items, names=gb._keys.names,
                   series_obj=gb._is_series_obj,
                   obj_name=gb.obj._meta.name if gb._is_series_obj else None,
                   as_list=isinstance(gb.by, list), by_level=gb.level, opts=opts,
                   selection=gb._selection, call=call, meta=None, empty_meta=False)
    except Exception as exc:
        raise ValueError(f"groupby().{what}: running the function on a sample to infer "
                         f"the result's structure failed ({type(exc).__name__}: {exc}); "
                         f"pass meta= describing the result") from exc
    return make_meta(out)


class MethodCall:
    """``g.<name>(*args, **kwargs)`` on a pandas group-by: a picklable, tokenizable
    stand-in for a lambda."""

    __slots__ = ("args", "kwargs", "name")

    def __init__(self, name: str, *args: Any, **kwargs: Any):
        self.name = name
        self.args = args
        self.kwargs = kwargs

    def __call__(self, g: Any) -> Any:
        return getattr(g, self.name)(*self.args, **self.kwargs)

    def __reduce__(self):
        return (_method_call, (self.name, self.args, self.kwargs))

    def __plait_tokenize__(self) -> Any:
        return ("groupby-method", self.name, self.args, sorted(self.kwargs.items(), key=repr))

    def __repr__(self) -> str:
        return f"MethodCall({self.name!r})"


def _method_call(name: str, args: tuple, kwargs: dict) -> MethodCall:
    return MethodCall(name, *args, **kwargs)

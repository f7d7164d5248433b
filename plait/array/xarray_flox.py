"""Group-by reductions and scans of plait arrays when xarray sends them to flox.

With flox installed, xarray hands every group-by reduction (``gb.mean("time")``) and
group-by scan (``gb.cumsum()``) of chunked data to flox. flox knows Dask and Cubed
arrays only: given a plait array it takes its in-memory NumPy path and fails. plait
therefore routes plait arrays past flox's dispatch: :func:`install` wraps the two
entry points xarray calls (``flox.xarray.groupby_reduce``, used by ``xarray_reduce``,
and ``flox.groupby_scan``); NumPy and Dask arguments go to flox unchanged.

For a plait array, the reduced (trailing) axes are brought into one block each, and
flox's own NumPy implementation runs on every block, in parallel across the other
axes; every function flox supports (means, quantiles, first/last, ...) therefore gives
flox's exact answer. Sums, means, counts and extremes skip the rechunk: each block
reduces its own slice of the time axis to per-group partials (sums and counts, or
extremes) and a tree reduction merges them, as flox's map-reduce does for Dask.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..graph import Ref, Task
from .core import Array, new_name

__all__ = ["install", "groupby_reduce", "groupby_scan"]

#: functions merged from per-block partials: name -> (partial functions, how to finish)
_MAP_REDUCE = {
    "sum": (("sum",), None), "nansum": (("nansum",), None),
    "count": (("count",), None),
    "max": (("max",), None), "nanmax": (("nanmax",), None),
    "min": (("min",), None), "nanmin": (("nanmin",), None),
    "mean": (("sum", "count_all"), "divide"), "nanmean": (("nansum", "count"), "divide"),
}


def _trailing_axes(axis: Any, ndim: int, nby: int) -> tuple:
    if axis is None:
        return tuple(range(ndim - nby, ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(a % ndim for a in axes))


def _any_bins(isbin: Any) -> bool:
    """flox's ``isbin``: a bool, or one per grouping variable."""
    return any(isbin) if isinstance(isbin, (tuple, list)) else bool(isbin)


def _as_numpy(b: Any) -> Any:
    if isinstance(b, Array):
        return b.compute()
    return b


def _whole_reduced(array: Array, axes: tuple) -> Array:
    chunks = {a: -1 for a in axes}
    if all(len(array.chunks[a]) == 1 for a in axes):
        return array
    return array.rechunk(chunks)


def groupby_reduce(flox_reduce: Any, array: Array, *by: Any, **kwargs: Any) -> tuple:
    """flox's ``groupby_reduce`` for a plait ``array``: ``(result, *groups)`` with a
    lazy plait ``result`` and NumPy ``groups``."""
    by = tuple(np.asarray(_as_numpy(b)) for b in by)
    axes = _trailing_axes(kwargs.get("axis"), array.ndim, max(b.ndim for b in by))
    nred = len(axes)
    if axes != tuple(range(array.ndim - nred, array.ndim)):
        raise ValueError(f"plait group-by reductions need the grouped axes last; got axes "
                         f"{axes} of a {array.ndim}-d array (xarray puts them last)")
    red_shape = array.shape[array.ndim - nred:]
    kwargs = dict(kwargs)
    kwargs["axis"] = tuple(range(-nred, 0))
    # The groups and the per-group output shape depend only on ``by``: ask flox on a
    # sample the size of the grouped axes alone.
    sample = np.zeros(red_shape, dtype=array.dtype)
    sample_result, *groups = flox_reduce(sample, *by, **kwargs)
    func = kwargs.get("func")
    lead = sample_result.ndim - len(groups)
    if (isinstance(func, str) and func in _MAP_REDUCE and lead == 0 and nred == 1
            and len(array.chunks[-1]) > 1 and len(by) == 1 and by[0].ndim == 1
            and not _any_bins(kwargs.get("isbin")) and kwargs.get("min_count") is None
            and array.dtype.kind in "biuf"):
        result = _map_reduce(flox_reduce, array, by[0], groups[0], kwargs, sample_result)
    else:
        result = _generic(flox_reduce, array, by, kwargs, sample_result, nred, lead)
    return (result, *groups)


def _generic(flox_reduce: Any, array: Array, by: tuple, kwargs: dict,
             sample_result: np.ndarray, nred: int, lead: int) -> Array:
    """flox's NumPy reduction on blocks holding whole grouped axes."""
    import itertools

    x = _whole_reduced(array, tuple(range(array.ndim - nred, array.ndim)))
    nother = x.ndim - nred
    name = new_name(f"groupby-{kwargs.get('func', 'reduce')}")
    layer = {}
    for idx in itertools.product(*[range(n) for n in x.numblocks[:nother]]):
        key = (name,) + idx + (0,) * sample_result.ndim
        layer[key] = Task(key, _lead_block, Ref((x.name,) + idx + (0,) * nred), by,
                          flox_reduce, kwargs, lead, nother)
    # Blocks keep the other axes first; flox puts new axes (quantiles) first: move them.
    chunks = x.chunks[:nother] + tuple((s,) for s in sample_result.shape)
    out = Array(layer, name, chunks, sample_result.dtype, (x,))
    if lead:
        from .routines import moveaxis

        out = moveaxis(out, tuple(range(nother, nother + lead)), tuple(range(lead)))
    return out


def _lead_block(block: np.ndarray, by: tuple, flox_reduce: Any, kwargs: dict, lead: int,
                nother: int) -> np.ndarray:
    out = flox_reduce(block, *by, **kwargs)[0]
    if not lead:
        return out
    # flox returns (*new, *other, *groups); plait's block order is (*other, *new, *groups)
    order = list(range(lead, lead + nother)) + list(range(lead)) + list(
        range(lead + nother, out.ndim))
    return out.transpose(order)


# -- map-reduce for sums, means, counts and extremes ----------------------------------

_SUMS = ("sum", "nansum", "count", "count_all")


def _partials(block: np.ndarray, by: np.ndarray, funcs: tuple, groups: np.ndarray) -> dict:
    """Per-group partials of one block along its last axis, grouped axis first in the
    output (``(ngroups, *other)``). Rows are sorted by group once and reduced with
    ``ufunc.reduceat`` over the time-first view, which is how the data lie in memory
    when xarray has moved time last."""
    rows = np.moveaxis(block, -1, 0)
    code = np.searchsorted(groups, by)
    present = (code < len(groups)) & (groups[np.minimum(code, len(groups) - 1)] == by)
    order = np.argsort(np.where(present, code, len(groups)), kind="stable")
    order = order[present[order]]
    sorted_codes = code[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) \
        if len(order) else np.zeros(0, dtype=np.intp)
    seen = sorted_codes[starts]
    sizes = np.diff(np.r_[starts, len(order)])
    picked = rows[order]  # a copy, rows sorted by group: safe to change in place
    nan = np.isnan(picked) if picked.dtype.kind in "fc" and (
        "count" in funcs or any(f.startswith("nan") for f in funcs)) else None
    out = {}
    for f in funcs:  # the NaN mask is taken before nansum zeroes NaNs in place
        fill: Any = 0
        if f == "count_all":
            part = np.zeros((len(groups),) + rows.shape[1:], dtype=np.int64)
            part[seen] = sizes.reshape((-1,) + (1,) * (rows.ndim - 1))
            out[f] = part
            continue
        if f == "count":
            data = ~nan if nan is not None else np.ones(picked.shape, dtype=bool)
            reduce, dtype = np.add, np.dtype(np.int64)
        elif f in ("sum", "nansum"):
            if f == "nansum" and nan is not None:
                picked[nan] = 0
            data, reduce = picked, np.add
            dtype = picked.dtype
            if dtype.kind in "biu":
                dtype = np.dtype(np.uint64 if dtype.kind == "u" else np.int64)
        else:
            reduce = ({"max": np.maximum, "nanmax": np.fmax, "min": np.minimum,
                       "nanmin": np.fmin})[f]
            data, dtype, fill = picked, picked.dtype, _lowest(picked.dtype, f)
        part = np.full((len(groups),) + rows.shape[1:], fill, dtype=dtype)
        if len(order):
            part[seen] = reduce.reduceat(data, starts, axis=0, dtype=dtype)
        out[f] = part
    return out


def _lowest(dtype: np.dtype, f: str) -> Any:
    """The identity of max (lowest value) or min (highest value) for ``dtype``; NaN for
    the NaN-skipping forms on floats (fmax/fmin skip it; an all-NaN group stays NaN)."""
    big = "max" in f
    if dtype.kind in "iu":
        return np.iinfo(dtype).min if big else np.iinfo(dtype).max
    if dtype.kind == "b":
        return not big
    if f.startswith("nan"):
        return np.nan
    return -np.inf if big else np.inf


def _merge(parts: list, funcs: tuple) -> dict:
    out = {}
    for f in funcs:
        acc = parts[0][f].copy()
        for p in parts[1:]:
            if f in _SUMS:
                acc += p[f]
            elif f == "max":
                np.maximum(acc, p[f], out=acc)
            elif f == "nanmax":
                np.fmax(acc, p[f], out=acc)
            elif f == "min":
                np.minimum(acc, p[f], out=acc)
            else:
                np.fmin(acc, p[f], out=acc)
        out[f] = acc
    return out


def _finish(merged: dict, funcs: tuple, finish: Any, dtype: np.dtype,
            fill_value: Any) -> np.ndarray:
    if finish == "divide":
        num, den = merged[funcs[0]], merged[funcs[1]]
        with np.errstate(invalid="ignore", divide="ignore"):
            out = num / den
        out = np.where(den == 0, np.nan if fill_value is None else fill_value, out)
    else:
        out = merged[funcs[0]]
    # Partials are kept group-first (contiguous); flox's layout has the groups last.
    return np.ascontiguousarray(np.moveaxis(out, 0, -1)).astype(dtype, copy=False)


def _map_reduce(flox_reduce: Any, x: Array, by: np.ndarray, groups: np.ndarray,
                kwargs: dict, sample_result: np.ndarray) -> Array:
    """Per-block partials along the grouped (last) axis, merged per output block."""
    import itertools

    func = kwargs["func"]
    funcs, finish = _MAP_REDUCE[func]
    bounds = np.cumsum((0,) + x.chunks[-1])
    name = new_name(f"groupby-{func}")
    part = f"{name}-partial"
    layer = {}
    nother = x.ndim - 1
    for idx in itertools.product(*[range(n) for n in x.numblocks[:nother]]):
        refs = []
        for t in range(x.numblocks[-1]):
            pk = (part,) + idx + (t,)
            layer[pk] = Task(pk, _partials, Ref((x.name,) + idx + (t,)),
                             by[bounds[t]:bounds[t + 1]], funcs, np.asarray(groups))
            refs.append(Ref(pk))
        key = (name,) + idx + (0,)
        layer[key] = Task(key, _finish_parts, refs, funcs, finish, sample_result.dtype,
                          kwargs.get("fill_value"))
    chunks = x.chunks[:nother] + ((len(groups),),)
    return Array(layer, name, chunks, sample_result.dtype, (x,))


def _finish_parts(parts: list, funcs: tuple, finish: Any, dtype: np.dtype,
                  fill_value: Any) -> np.ndarray:
    return _finish(_merge(parts, funcs), funcs, finish, dtype, fill_value)


# -- scans ------------------------------------------------------------------------------

def _block_scan(block: np.ndarray, by: tuple, flox_scan: Any, kwargs: dict) -> np.ndarray:
    return flox_scan(block, *by, **kwargs)


def groupby_scan(flox_scan: Any, array: Array, *by: Any, **kwargs: Any) -> Array:
    """flox's ``groupby_scan`` for a plait ``array`` (the scanned axes in one block)."""
    by = tuple(np.asarray(_as_numpy(b)) for b in by)
    axes = _trailing_axes(kwargs.get("axis", -1), array.ndim, max(b.ndim for b in by))
    x = _whole_reduced(array, axes)
    kwargs = dict(kwargs)
    sample = flox_scan(np.zeros(x.shape[x.ndim - len(axes):], dtype=x.dtype), *by, **kwargs)
    from .blockwise import map_blocks

    return map_blocks(_block_scan, x, by=by, flox_scan=flox_scan, kwargs=kwargs,
                      dtype=sample.dtype, token="groupby-scan")


# -- installation -----------------------------------------------------------------------

def _dispatching(original: Any, plait_impl: Any) -> Any:
    @functools.wraps(original)
    def dispatch(array: Any, *by: Any, **kwargs: Any) -> Any:
        if isinstance(array, Array) or any(isinstance(b, Array) for b in by):
            if not isinstance(array, Array):
                from .core import asarray

                array = asarray(array)
            return plait_impl(original, array, *by, **kwargs)
        return original(array, *by, **kwargs)

    dispatch._plait_original = original  # type: ignore[attr-defined]
    return dispatch


def install() -> bool:
    """Route plait arrays that xarray sends to flox through plait (idempotent). Returns
    whether flox is installed."""
    try:
        import flox
        import flox.xarray
    except ImportError:
        return False
    if not hasattr(flox.xarray.groupby_reduce, "_plait_original"):
        flox.xarray.groupby_reduce = _dispatching(flox.xarray.groupby_reduce, groupby_reduce)
    if not hasattr(flox.groupby_scan, "_plait_original"):
        flox.groupby_scan = _dispatching(flox.groupby_scan, groupby_scan)
    return True

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
            and not kwargs.get("isbin") and kwargs.get("min_count") is None
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

def _partials(block: np.ndarray, by: np.ndarray, flox_reduce: Any, funcs: tuple,
              groups: Any, engine: Any) -> dict:
    out = {}
    for f in funcs:
        func = "count" if f == "count_all" else f
        data = np.ones_like(block, dtype=bool) if f == "count_all" else block
        # Groups missing from this block get the merge's identity.
        if f in ("sum", "nansum", "count", "count_all"):
            fill: Any = 0
        elif block.dtype.kind in "iu":
            fill = np.iinfo(block.dtype).min if "max" in f else np.iinfo(block.dtype).max
        elif block.dtype.kind == "b":
            fill = "max" not in f
        elif f.startswith("nan"):
            fill = np.nan  # fmax/fmin skip it; an all-NaN group stays NaN
        else:
            fill = -np.inf if "max" in f else np.inf
        out[f] = flox_reduce(data, by, func=func, expected_groups=groups, axis=-1,
                             fill_value=fill, engine=engine)[0]
    return out


def _merge(parts: list, funcs: tuple) -> dict:
    out = {}
    for f in funcs:
        stack = np.stack([p[f] for p in parts])
        if f in ("sum", "nansum", "count", "count_all"):
            out[f] = stack.sum(axis=0)
        elif f in ("max", "nanmax"):
            out[f] = np.fmax.reduce(stack, axis=0) if f == "nanmax" else np.max(stack, axis=0)
        else:
            out[f] = np.fmin.reduce(stack, axis=0) if f == "nanmin" else np.min(stack, axis=0)
    return out


def _finish(merged: dict, funcs: tuple, finish: Any, dtype: np.dtype,
             fill_value: Any) -> np.ndarray:
    if finish == "divide":
        num, den = merged[funcs[0]], merged[funcs[1]]
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (num / den).astype(dtype, copy=False)
        out = np.where(den == 0, np.nan if fill_value is None else fill_value, out)
        return out.astype(dtype, copy=False)
    out = merged[funcs[0]]
    return np.asarray(out).astype(dtype, copy=False)


def _map_reduce(flox_reduce: Any, x: Array, by: np.ndarray, groups: np.ndarray,
                kwargs: dict, sample_result: np.ndarray) -> Array:
    """Per-block partials along the grouped (last) axis, merged per output block."""
    import itertools

    func = kwargs["func"]
    funcs, finish = _MAP_REDUCE[func]
    engine = kwargs.get("engine")
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
                             by[bounds[t]:bounds[t + 1]], flox_reduce, funcs, groups, engine)
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

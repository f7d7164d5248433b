"""Percentiles and quantiles of chunked arrays: exact where that is cheap, otherwise
approximate by merging per-block quantile sketches.

Exact
    Along one axis of an n-d array, each lane along that axis is gathered into one
    block (``x.rechunk({axis: -1})``) and NumPy computes the answer: any ``method``,
    NumPy's result. Over the whole array (``axis=None``, or the axis of a 1-d array) the
    same is done when the array is in one block or its size is at most config
    ``array.chunk-size``: one task then holds all of it, which that setting allows.

Approximate (the sketch merge), for larger multi-block input with ``axis=None``
    Each block is summarised by its count ``n_b`` and its values at ``L`` evenly spaced
    quantile levels ``p_j = j / (L - 1)`` (NumPy's ``linear`` method, ``L = 1001``). The
    block's empirical distribution function is approximated by the piecewise-linear
    function through the points ``(value_j, p_j)``; the array's is the count-weighted
    sum of these, which is again piecewise linear and is inverted exactly at the wanted
    ``q``. Where a block's sketch holds one value over a run of levels (ties) the
    function jumps there instead, so tied data keeps its exact values. Sketches are
    merged in a tree of at most 16 per task; each merge re-samples the merged function
    at the same ``L`` levels.

    Accuracy, in rank: the returned value ``v`` has a fraction of the data below it
    within ``(d + 1) / (L - 1)`` of ``q`` (0.1% per level, ``d`` the number of merge
    levels: 1 up to 16 blocks, 2 up to 256, 3 up to 4096), plus the 1 / n_b steps of
    very small blocks; a value inside a run of ties counts as any rank within it. It never leaves the range of the data. Methods other
    than ``"linear"`` are computed exactly (they pick data values, which a sketch cannot
    promise). ``internal_method="exact"`` forces the exact path and
    ``internal_method="sketch"`` the approximate one.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from .. import config
from ..graph import Ref, Task
from ..utils.sizes import parse_bytes
from .blockwise import blockwise
from .core import Array, asarray, implements, new_name

__all__ = ["percentile", "quantile", "nanpercentile", "nanquantile"]

_LEVELS = np.linspace(0.0, 1.0, 1001)
_SPLIT = 16
_INTERNAL = ("default", "exact", "sketch")


# -- sketches ------------------------------------------------------------------------------

def _sketch_block(block: np.ndarray, nan: bool) -> tuple:
    """``(count, values at _LEVELS)`` of one block; ``(0, None)`` when it has no data."""
    data = np.asarray(block, dtype=np.float64).ravel()
    if nan:
        data = data[~np.isnan(data)]
    if data.size == 0:
        return (0, None)
    return (data.size, np.quantile(data, _LEVELS))


def _merge_sketches(parts: list) -> tuple:
    parts = [p for p in parts if p[0]]
    if len(parts) <= 1:
        return parts[0] if parts else (0, None)
    total = sum(n for n, _ in parts)
    knots = np.unique(np.concatenate([v for _, v in parts]))
    left = np.zeros(len(knots))
    right = np.zeros(len(knots))
    for n, v in parts:
        lo, hi = _cdf(knots, v)
        left += n * lo
        right += n * hi
    return (total, _invert(left / total, right / total, knots, _LEVELS))


def _cdf(t: np.ndarray, values: np.ndarray) -> tuple:
    """A block's approximate distribution function at the sorted points ``t``, as
    (limit from the left, value): the inverse of its sketched quantile function, so it
    jumps at a value the sketch holds for a run of levels (ties) and rises linearly
    between consecutive distinct values."""
    uniq, first = np.unique(values, return_index=True)
    last = len(values) - 1 - np.unique(values[::-1], return_index=True)[1]
    first_p, last_p = _LEVELS[first], _LEVELS[last]
    j = np.searchsorted(uniq, t, side="right") - 1  # the largest sketch value <= t
    inside = (j >= 0) & (j < len(uniq) - 1)
    jj = j.clip(0, len(uniq) - 2) if len(uniq) > 1 else np.zeros_like(j)
    if len(uniq) > 1:
        span = uniq[jj + 1] - uniq[jj]
        ramp = last_p[jj] + (t - uniq[jj]) / span * (first_p[jj + 1] - last_p[jj])
    else:
        ramp = np.zeros(len(t))
    exact = (j >= 0) & (uniq[j.clip(0)] == t)
    right = np.where(j < 0, 0.0, np.where(exact, last_p[j.clip(0)],
                                          np.where(inside, ramp, 1.0)))
    left = np.where(exact, first_p[j.clip(0)], right)
    return left, right


def _invert(left: np.ndarray, right: np.ndarray, knots: np.ndarray,
            q: np.ndarray) -> np.ndarray:
    """The smallest ``t`` where the function reaches each ``q``: it jumps from ``left[k]``
    to ``right[k]`` at ``knots[k]`` and rises linearly from ``right[k]`` to
    ``left[k + 1]`` in between."""
    q = np.asarray(q, dtype=np.float64)
    k = np.searchsorted(right, q, side="left").clip(0, len(knots) - 1)
    prev = (k - 1).clip(0)
    in_ramp = (k > 0) & (q < left[k]) & (left[k] > right[prev])
    frac = (q - right[prev]) / np.where(in_ramp, left[k] - right[prev], 1.0)
    ramp = knots[prev] + frac.clip(0, 1) * (knots[k] - knots[prev])
    return np.where(in_ramp, ramp, knots[k])


def _finish(sketch: tuple, q: np.ndarray, dtype: np.dtype) -> np.ndarray:
    n, values = sketch
    if not n:
        return np.full(q.shape, np.nan, dtype=dtype)
    return np.interp(q, _LEVELS, values).astype(dtype)


def _sketch_quantile(x: Array, q: np.ndarray, nan: bool, dtype: np.dtype,
                     prefix: str) -> Array:
    name = new_name(prefix)
    layer: dict = {}
    keys = []
    part = f"{name}-sketch"
    for i, idx in enumerate(itertools.product(*[range(n) for n in x.numblocks])):
        key = (part, i)
        layer[key] = Task(key, _sketch_block, Ref((x.name,) + idx), nan)
        keys.append(key)
    level = 0
    while len(keys) > 1:
        merge = f"{name}-merge{level}"
        nxt = []
        for j in range(0, len(keys), _SPLIT):
            key = (merge, j // _SPLIT)
            layer[key] = Task(key, _merge_sketches, [Ref(k) for k in keys[j:j + _SPLIT]])
            nxt.append(key)
        keys, level = nxt, level + 1
    out_key = (name,) + (0,) * q.ndim
    layer[out_key] = Task(out_key, _finish, Ref(keys[0]), q, dtype)
    chunks = ((len(q),),) if q.ndim else ()
    return Array(layer, name, chunks, dtype, (x,))


# -- the public functions -------------------------------------------------------------------

def _quantile_block(block: np.ndarray, q: np.ndarray, axis: Any, method: str,
                    keepdims: bool, nan: bool) -> np.ndarray:
    func = np.nanquantile if nan else np.quantile
    return func(block, q, axis=axis, method=method, keepdims=keepdims)


def _cheap_to_gather(x: Array) -> bool:
    if x.npartitions <= 1:
        return True
    return x.size * x.dtype.itemsize <= parse_bytes(config.get("array.chunk-size"))


def _quantile(prefix: str, a: Any, q: Any, axis: Any, method: str, keepdims: bool,
              nan: bool, internal_method: str) -> Array:
    x = asarray(a)
    q = np.asarray(q, dtype=np.float64)
    if q.ndim > 1:
        raise ValueError(f"{prefix}: q must be a scalar or 1-d, got shape {q.shape}")
    if np.any((q < 0) | (q > 1)):
        raise ValueError(f"{prefix}: q must be in [0, 100] for percentiles, [0, 1] for "
                         "quantiles")
    if internal_method not in _INTERNAL:
        raise ValueError(f"{prefix}: internal_method={internal_method!r} is unknown; use "
                         f"one of {_INTERNAL}")
    dtype = np.asarray(np.quantile(np.ones(2, dtype=x.dtype), 0.5, method=method)).dtype
    if axis is None or (x.ndim == 1 and normalize_axis_tuple(axis, 1) == (0,)):
        whole = axis is None
        sketch = method == "linear" and (
            internal_method == "sketch"
            or (internal_method == "default" and not _cheap_to_gather(x)))
        if sketch:
            out = _sketch_quantile(x, q, nan, dtype, prefix)
        else:
            from .reshape import ravel

            flat = ravel(x) if x.ndim != 1 else x
            out = _along(prefix, flat, q, 0, method, False, nan, dtype)
        if keepdims:
            from .reshape import reshape

            out = reshape(out, q.shape + (1,) * (x.ndim if whole else 1))
        return out
    axes = normalize_axis_tuple(axis, x.ndim)
    if len(axes) != 1:
        raise NotImplementedError(f"{prefix} takes axis=None or one axis, got {axis!r}")
    return _along(prefix, x, q, axes[0], method, keepdims, nan, dtype)


def _along(prefix: str, x: Array, q: np.ndarray, ax: int, method: str, keepdims: bool,
           nan: bool, dtype: np.dtype) -> Array:
    """Exact: each lane along ``ax`` in one block, NumPy on each."""
    if x.numblocks[ax] > 1:
        x = x.rechunk({ax: -1})
    ind = tuple(range(x.ndim))
    out_ind = ((x.ndim,) if q.ndim else ()) + tuple(d for d in ind if d != ax or keepdims)
    new_axes = {x.ndim: len(q)} if q.ndim else {}
    adjust = {ax: lambda c: 1} if keepdims else None
    return blockwise(_quantile_block, out_ind, x, ind, q=q, axis=ax, method=method,
                     keepdims=keepdims, nan=nan, new_axes=new_axes, adjust_chunks=adjust,
                     concatenate=True, dtype=dtype, token=prefix)


@implements(np.quantile)
def quantile(a: Any, q: Any, axis: Any = None, method: str = "linear",
             keepdims: bool = False, *, internal_method: str = "default") -> Array:
    """Quantiles (``q`` in [0, 1]) along one axis, or of the whole array.

    Exact along an axis of an n-d array, and over the whole array while it fits in one
    block or in config ``array.chunk-size``; beyond that, with ``method="linear"``,
    approximate by merged per-block sketches with a rank error of about 0.1% per merge
    level (the module docstring gives the method and the bound).
    ``internal_method="exact"`` always gathers; ``"sketch"`` always approximates.

    >>> import numpy as np, plait.array as da
    >>> quantile(da.from_array(np.arange(10.), chunks=3), [0.25, 0.5]).compute()
    array([2.25, 4.5 ])
    """
    return _quantile("quantile", a, q, axis, method, keepdims, False, internal_method)


@implements(np.percentile)
def percentile(a: Any, q: Any, axis: Any = None, method: str = "linear",
               keepdims: bool = False, *, internal_method: str = "default") -> Array:
    """Percentiles (``q`` in [0, 100]), computed like :func:`quantile`.

    >>> import numpy as np, plait.array as da
    >>> float(percentile(da.from_array(np.arange(10.), chunks=3), 50).compute())
    4.5
    """
    return _quantile("percentile", a, np.asarray(q, dtype=np.float64) / 100, axis, method,
                     keepdims, False, internal_method)


@implements(np.nanquantile)
def nanquantile(a: Any, q: Any, axis: Any = None, method: str = "linear",
                keepdims: bool = False, *, internal_method: str = "default") -> Array:
    """:func:`quantile` ignoring NaNs (NaN where a lane holds no number)."""
    return _quantile("nanquantile", a, q, axis, method, keepdims, True, internal_method)


@implements(np.nanpercentile)
def nanpercentile(a: Any, q: Any, axis: Any = None, method: str = "linear",
                  keepdims: bool = False, *, internal_method: str = "default") -> Array:
    """:func:`percentile` ignoring NaNs."""
    return _quantile("nanpercentile", a, np.asarray(q, dtype=np.float64) / 100, axis,
                     method, keepdims, True, internal_method)

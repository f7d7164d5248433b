"""Reductions: ``sum``, ``mean``, ``var``, ``argmin`` ... and the tree reduction they share.

Every reduction runs in three steps. ``chunk`` turns each block into a small partial
result (keeping the reduced axes, with length 1); ``combine`` merges groups of at most
``split_every`` neighbouring partials, level after level, so no task ever holds more than
a bounded number of partials; ``aggregate`` merges the last group into the answer.
Partials may be structured: ``mean`` carries ``{"n", "total"}`` and ``var`` carries
``{"n", "mean", "m2"}``, merged with the exact shift formula for central moments (Chan
et al.), never as a difference of sums of squares, which loses every digit when the
mean is large compared with the spread.

Scans (``cumsum`` ...) live in :mod:`plait.array.cumulative` and are re-exported here.
"""

from __future__ import annotations

import builtins
import itertools
import math
import operator
import warnings
from functools import partial
from typing import Any, Callable

import numpy as np

from .. import config
from ..graph import Ref, Task
from .core import Array, asarray, implements, new_name
from .cumulative import cumprod, cumreduction, cumsum, nancumprod, nancumsum

__all__ = [
    "reduction", "sum", "prod", "mean", "std", "var", "min", "max", "any", "all",
    "argmin", "argmax", "nansum", "nanprod", "nanmean", "nanstd", "nanvar", "nanmin",
    "nanmax", "nanargmin", "nanargmax", "moment", "count_nonzero",
    "cumsum", "cumprod", "nancumsum", "nancumprod", "cumreduction",
]

_AxisError = getattr(np, "exceptions", np).AxisError


# -- axes, split_every, dtypes -----------------------------------------------------------

def _normalize_axes(axis: Any, ndim: int) -> tuple:
    """Sorted, non-negative reduced axes (``None`` means all).

    >>> _normalize_axes(-1, 3), _normalize_axes((2, 0), 3), _normalize_axes(None, 2)
    ((2,), (0, 2), (0, 1))
    """
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        a = operator.index(a)
        if not -ndim <= a < ndim:
            raise _AxisError(a, ndim)
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate value in 'axis': {axis!r}")
    return tuple(sorted(out))


def _split_every(split_every: Any, axes: tuple, ndim: int) -> dict:
    """How many partials one task merges along each reduced axis.

    An int is a total per task, spread evenly over the reduced axes (16 over two axes
    is 4 x 4); a dict gives each axis its own number (1: merge only at the last step).

    >>> _split_every(16, (0, 1), 2), _split_every({-1: 3}, (0, 1), 2)
    ({0: 4, 1: 4}, {0: 1, 1: 3})
    """
    if split_every is None:
        split_every = config.get("array.split-every", None)
    if split_every is None:
        split_every = 16
    if isinstance(split_every, dict):
        given = {operator.index(k) % builtins.max(ndim, 1): v for k, v in split_every.items()}
        out = {ax: given.get(ax, 1) for ax in axes}
    else:
        if isinstance(split_every, bool) or not isinstance(split_every, int) or split_every < 2:
            raise ValueError(f"split_every={split_every!r}: give an int >= 2 (partials merged "
                             "per task), or a dict {axis: n}, e.g. split_every={0: 4}")
        per_axis = int(split_every ** (1 / builtins.max(len(axes), 1)) + 1e-9)
        out = dict.fromkeys(axes, builtins.max(per_axis, 2))
    for ax, n in out.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"split_every={split_every!r}: axis {ax} has {n!r}; each value "
                             "must be an int >= 2, or 1 to merge that axis only at the end")
    return out


def _result_dtype(np_func: Callable, input_dtype: Any, **kwargs: Any) -> np.dtype:
    """The dtype NumPy's own reduction gives (sum of int8 is int64, mean of int is f8)."""
    if np.dtype(input_dtype) == object and kwargs.get("dtype") is None:
        return np.dtype(object)  # NumPy returns whatever the elements' operators give
    with np.errstate(all="ignore"):
        return np.asarray(np_func(np.ones(2, dtype=input_dtype), **kwargs)).dtype


def _acc_dtype(dtype: np.dtype, requested: Any) -> np.dtype:
    """The dtype mean and var accumulate in, as NumPy does."""
    if requested is not None:
        return np.dtype(requested)
    if dtype.kind in "biu":
        return np.dtype("f8")
    return np.dtype("f4") if dtype == np.float16 else dtype


def _cast(result: Any, dtype: Any) -> Any:
    """``result`` as ``dtype``; 0-d arrays become NumPy scalars, as NumPy returns them."""
    if dtype is not None and getattr(result, "dtype", None) != dtype:
        result = np.asarray(result).astype(dtype)
    return result[()] if isinstance(result, np.ndarray) and result.ndim == 0 else result


def _check_empty(np_func: Callable, x: Array, axis: Any) -> None:
    """NumPy's error for reductions without identity over zero-length axes, at build time."""
    if x.size == 0:
        try:
            np_func(np.empty(x.shape, dtype=x.dtype), axis=axis)
        except ValueError as e:
            raise ValueError(f"{e} (array of shape {x.shape}, axis={axis!r})") from None


# -- the tree reduction -------------------------------------------------------------------

def _concat(nested: Any, axes: tuple) -> Any:
    """One partial from nested lists of partials (level ``k`` along ``axes[k]``); dict and
    tuple partials are concatenated field by field."""
    leaf = nested
    for _ in axes:
        leaf = leaf[0]
    if isinstance(leaf, dict):
        return {k: _concat(_pick(nested, len(axes), k), axes) for k in leaf}
    if isinstance(leaf, tuple):
        return tuple(_concat(_pick(nested, len(axes), i), axes) for i in range(len(leaf)))
    return _concat_level(nested, axes, 0)


def _pick(nested: Any, depth: int, field: Any) -> Any:
    return nested[field] if depth == 0 else [_pick(n, depth - 1, field) for n in nested]


def _concat_level(nested: Any, axes: tuple, level: int) -> Any:
    if level == len(axes):
        return nested
    parts = [_concat_level(n, axes, level + 1) for n in nested]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axes[level])


def _merge_step(func: Callable, parts: Any, axes: tuple, keepdims: bool,
                concatenate: bool) -> Any:
    return func(_concat(parts, axes) if concatenate else parts, axis=axes, keepdims=keepdims)


def _nested_refs(name: str, groups: list, axes: tuple) -> Any:
    def build(k: int, fixed: dict) -> Any:
        if k == len(axes):
            return Ref((name,) + tuple(fixed.get(a, g[0]) for a, g in enumerate(groups)))
        return [build(k + 1, {**fixed, axes[k]: i}) for i in groups[axes[k]]]

    return build(0, {})


def _tree_reduce(x: Array, axes: tuple, chunk: Callable, combine: Callable,
                 aggregate: Callable, *, keepdims: bool, dtype: Any, split_every: Any,
                 prefix: str, name: str | None = None, concatenate: bool = True,
                 output_size: int = 1, block_kwargs: Callable | None = None) -> Array:
    """The graph: one ``chunk`` task per block, ``combine`` levels that each merge at most
    ``split_every`` partials, then one ``aggregate`` task per output block."""
    ndim = x.ndim
    # Blocks of length 0 along a reduced axis add nothing (and min of them would fail).
    used = {ax: [i for i, c in enumerate(x.chunks[ax]) if c != 0] or [0] for ax in axes}
    counts = [len(used[ax]) if ax in used else n for ax, n in enumerate(x.numblocks)]
    layer: dict = {}
    level = new_name(f"{prefix}-chunk")
    for idx in itertools.product(*map(range, counts)):
        src = tuple(used[ax][i] if ax in used else i for ax, i in enumerate(idx))
        extra = block_kwargs(src) if block_kwargs else {}
        layer[(level,) + idx] = Task((level,) + idx, chunk, Ref((x.name,) + src),
                                     axis=axes, keepdims=True, **extra)
    split = _split_every(split_every, axes, ndim)
    while builtins.any(split[ax] > 1 and counts[ax] > split[ax] for ax in axes):
        merged = [-(-n // split[ax]) if split.get(ax, 1) > 1 else n for ax, n in enumerate(counts)]
        nxt = new_name(f"{prefix}-combine")
        for idx in itertools.product(*map(range, merged)):
            groups = [range(i * split[ax], builtins.min((i + 1) * split[ax], counts[ax]))
                      if split.get(ax, 1) > 1 else (i,) for ax, i in enumerate(idx)]
            layer[(nxt,) + idx] = Task((nxt,) + idx, _merge_step, combine,
                                       _nested_refs(level, groups, axes), axes, True, concatenate)
        level, counts = nxt, merged
    name = name or new_name(prefix)
    kept = [ax for ax in range(ndim) if ax not in axes]
    for kidx in itertools.product(*(range(counts[ax]) for ax in kept)):
        where = dict(zip(kept, kidx))
        groups = [(where[ax],) if ax in where else range(counts[ax]) for ax in range(ndim)]
        out_idx = tuple(where.get(ax, 0) for ax in range(ndim) if keepdims or ax in where)
        layer[(name,) + out_idx] = Task((name,) + out_idx, _merge_step, aggregate,
                                        _nested_refs(level, groups, axes), axes, keepdims,
                                        concatenate)
    chunks = tuple((output_size,) if ax in axes else x.chunks[ax]
                   for ax in range(ndim) if keepdims or ax not in axes)
    return Array(layer, name, chunks, dtype, (x,))


def _handle_out(out: Any, result: Array) -> Array:
    """Dask's ``out=``: make the plait array ``out`` hold ``result``."""
    if out is None:
        return result
    if isinstance(out, tuple) and len(out) == 1:
        out = out[0]
    if not isinstance(out, Array):
        raise TypeError(f"out= must be a plait array, got {type(out).__name__}; NumPy "
                        "outputs are not supported: use np.asarray(result) instead")
    if out.shape != result.shape:
        raise ValueError(f"out= has shape {out.shape}, the result has shape {result.shape}")
    out.name, out._chunks, out._dtype = result.name, result._chunks, result._dtype
    out._layer, out._deps = result._layer, result._deps
    return out


def reduction(x: Any, chunk: Callable, aggregate: Callable, axis: Any = None,
              keepdims: bool = False, dtype: Any = None, split_every: Any = None,
              combine: Callable | None = None, name: str | None = None, out: Any = None,
              concatenate: bool = True, output_size: int = 1, meta: Any = None) -> Array:
    """A custom tree reduction.

    ``chunk(block, axis=axes, keepdims=True)`` makes one partial per block;
    ``combine(parts, axis=axes, keepdims=True)`` merges at most ``split_every`` of them
    (default ``aggregate``); ``aggregate(parts, axis=axes, keepdims=keepdims)`` gives the
    result. With ``concatenate=True`` the parts arrive concatenated along the reduced
    axes (dict and tuple partials field by field), otherwise as nested lists, one level
    per reduced axis. ``split_every`` is an int or ``{axis: n}`` (config
    ``array.split-every``; default 16 per task). ``output_size`` is the length each
    reduced axis keeps with ``keepdims=True``.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(10), chunks=3)
    >>> int(reduction(x, np.max, np.max, dtype=x.dtype).compute())
    9
    """
    x = asarray(x)
    axes = _normalize_axes(axis, x.ndim)
    if dtype is None:
        dtype = getattr(meta, "dtype", None)
    if dtype is None:
        dtype = _infer_dtype(x, axes, chunk, aggregate, concatenate)
    prefix = name.rsplit("-", 1)[0] if name else getattr(aggregate, "__name__", "reduction")
    result = _tree_reduce(x, axes, chunk, combine or aggregate, aggregate, keepdims=keepdims,
                          dtype=dtype, split_every=split_every, prefix=prefix, name=name,
                          concatenate=concatenate, output_size=output_size)
    return _handle_out(out, result)


def _infer_dtype(x: Array, axes: tuple, chunk: Callable, aggregate: Callable,
                 concatenate: bool) -> np.dtype:
    try:
        with np.errstate(all="ignore"):
            part = chunk(np.ones((1,) * x.ndim, dtype=x.dtype), axis=axes, keepdims=True)
            for _ in axes if not concatenate else ():
                part = [part]
            return np.asarray(aggregate(part, axis=axes, keepdims=False)).dtype
    except Exception:
        return np.dtype(float)


def _run(prefix: str, a: Any, axis: Any, keepdims: bool, split_every: Any, out: Any,
         dtype: Any, chunk: Callable, combine: Callable, aggregate: Callable,
         no_identity: Callable | None = None, block_kwargs: Callable | None = None) -> Array:
    axes = _normalize_axes(axis, a.ndim)
    if no_identity is not None:
        _check_empty(no_identity, a, axis)
    result = _tree_reduce(a, axes, chunk, combine, aggregate, keepdims=keepdims, dtype=dtype,
                          split_every=split_every, prefix=prefix, block_kwargs=block_kwargs)
    return _handle_out(out, result)


# -- sum, prod, min, max, any, all and their nan variants ---------------------------------

def _reduce(block: Any, axis: tuple, keepdims: bool, func: Callable, dtype: Any = None,
            warn_nan: bool = False) -> Any:
    kwargs = {} if dtype is None else {"dtype": dtype}
    r = func(block, axis=axis, keepdims=keepdims, **kwargs)
    if warn_nan and np.isnan(r).any():
        warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=2)
    return _cast(r, dtype)


def _plain(prefix: str, np_func: Callable, chunk_func: Callable, agg_func: Callable,
           a: Any, axis: Any, keepdims: bool, split_every: Any, out: Any,
           dtype: Any = None, typed: bool = True, nan_min_max: bool = False) -> Array:
    a = asarray(a)
    if typed:
        dt = _result_dtype(np_func, a.dtype, dtype=dtype)
        kw: dict = {"dtype": dt}
    else:
        dt, kw = _result_dtype(np_func, a.dtype), {}
    nan = nan_min_max and a.dtype.kind in "fc"
    if nan_min_max and not nan:
        chunk_func = agg_func = np.max if prefix == "nanmax" else np.min
    chunk = partial(_reduce, func=chunk_func, **kw)
    combine = partial(_reduce, func=agg_func, **kw)
    aggregate = partial(_reduce, func=agg_func, warn_nan=nan, **kw)
    return _run(prefix, a, axis, keepdims, split_every, out, dt, chunk, combine, aggregate,
                no_identity=np_func if prefix.endswith(("min", "max")) else None)


def sum(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
        split_every: Any = None, out: Any = None) -> Array:
    """Sum of elements over ``axis`` (an int, a tuple, or None for all), as ``np.sum``.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(6, dtype=np.int8).reshape(2, 3), chunks=1)
    >>> sum(x, axis=0).compute()
    array([3, 5, 7])
    """
    return _plain("sum", np.sum, np.sum, np.sum, a, axis, keepdims, split_every, out, dtype)


def prod(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
         split_every: Any = None, out: Any = None) -> Array:
    """Product of elements over ``axis``, as ``np.prod``."""
    return _plain("prod", np.prod, np.prod, np.prod, a, axis, keepdims, split_every, out, dtype)


def nansum(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
           split_every: Any = None, out: Any = None) -> Array:
    """Sum treating NaN as zero, as ``np.nansum``."""
    return _plain("nansum", np.nansum, np.nansum, np.sum, a, axis, keepdims, split_every, out,
                  dtype)


def nanprod(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
            split_every: Any = None, out: Any = None) -> Array:
    """Product treating NaN as one, as ``np.nanprod``."""
    return _plain("nanprod", np.nanprod, np.nanprod, np.prod, a, axis, keepdims, split_every,
                  out, dtype)


def min(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None,
        out: Any = None) -> Array:
    """Minimum over ``axis`` (NaN wins, as in ``np.min``); empty raises ``ValueError``."""
    return _plain("min", np.min, np.min, np.min, a, axis, keepdims, split_every, out,
                  typed=False)


def max(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None,
        out: Any = None) -> Array:
    """Maximum over ``axis``, as ``np.max``.

    >>> import numpy as np, plait.array as da
    >>> int(max(da.from_array(np.array([3, 9, 2]), chunks=1)).compute())
    9
    """
    return _plain("max", np.max, np.max, np.max, a, axis, keepdims, split_every, out,
                  typed=False)


def nanmin(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None,
           out: Any = None) -> Array:
    """Minimum ignoring NaN, as ``np.nanmin`` (NaN and a warning for all-NaN slices)."""
    return _plain("nanmin", np.nanmin, np.fmin.reduce, np.fmin.reduce, a, axis, keepdims,
                  split_every, out, typed=False, nan_min_max=True)


def nanmax(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None,
           out: Any = None) -> Array:
    """Maximum ignoring NaN, as ``np.nanmax``."""
    return _plain("nanmax", np.nanmax, np.fmax.reduce, np.fmax.reduce, a, axis, keepdims,
                  split_every, out, typed=False, nan_min_max=True)


def any(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None,
        out: Any = None) -> Array:
    """Whether any element is true, as ``np.any``."""
    return _plain("any", np.any, np.any, np.any, a, axis, keepdims, split_every, out,
                  typed=False)


def all(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None,
        out: Any = None) -> Array:
    """Whether all elements are true, as ``np.all``."""
    return _plain("all", np.all, np.all, np.all, a, axis, keepdims, split_every, out,
                  typed=False)


def count_nonzero(a: Any, axis: Any = None, keepdims: bool = False,
                  split_every: Any = None) -> Array:
    """Number of non-zero elements, as ``np.count_nonzero``."""
    a = asarray(a)
    return sum(a != 0, axis=axis, dtype=np.intp, keepdims=keepdims, split_every=split_every)


# -- mean, var, std, moment ---------------------------------------------------------------

def _counts(block: np.ndarray, axis: tuple, mask: Any) -> np.ndarray:
    if mask is not None:
        return np.sum(~mask, axis=axis, keepdims=True, dtype=np.intp)
    shape = tuple(1 if d in axis else s for d, s in enumerate(block.shape))
    return np.full(shape, math.prod(block.shape[d] for d in axis), dtype=np.intp)


def _mean_chunk(block: np.ndarray, axis: tuple, keepdims: bool, acc: np.dtype,
                nan: bool) -> dict:
    mask = np.isnan(block) if nan else None
    if nan:
        block = np.where(mask, 0, block)
    return {"n": _counts(block, axis, mask),
            "total": np.sum(block, axis=axis, keepdims=True, dtype=acc)}


def _mean_combine(parts: dict, axis: tuple, keepdims: bool, acc: np.dtype) -> dict:
    return {"n": np.sum(parts["n"], axis=axis, keepdims=keepdims),
            "total": np.sum(parts["total"], axis=axis, keepdims=keepdims, dtype=acc)}


def _divide(num: Any, den: Any, dtype: np.dtype, warning: str) -> Any:
    if np.any(den <= 0):
        warnings.warn(warning, RuntimeWarning, stacklevel=3)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _cast(np.true_divide(num, np.maximum(den, 0)), dtype)


def _mean_aggregate(parts: dict, axis: tuple, keepdims: bool, acc: np.dtype,
                    dtype: np.dtype) -> Any:
    p = _mean_combine(parts, axis, keepdims, acc)
    return _divide(p["total"], p["n"], dtype, "Mean of empty slice")


def _mean(prefix: str, a: Any, axis: Any, dtype: Any, keepdims: bool, split_every: Any,
          out: Any, nan: bool) -> Array:
    a = asarray(a)
    dt = _result_dtype(np.mean, a.dtype, dtype=dtype)
    acc = _acc_dtype(a.dtype, dtype)
    nan = nan and a.dtype.kind in "fc"
    return _run(prefix, a, axis, keepdims, split_every, out, dt,
                partial(_mean_chunk, acc=acc, nan=nan), partial(_mean_combine, acc=acc),
                partial(_mean_aggregate, acc=acc, dtype=dt))


def mean(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
         split_every: Any = None, out: Any = None) -> Array:
    """Arithmetic mean over ``axis``, as ``np.mean`` (integers give float64).

    >>> import numpy as np, plait.array as da
    >>> float(mean(da.from_array(np.arange(5), chunks=2)).compute())
    2.0
    """
    return _mean("mean", a, axis, dtype, keepdims, split_every, out, nan=False)


def nanmean(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
            split_every: Any = None, out: Any = None) -> Array:
    """Mean ignoring NaN, as ``np.nanmean`` (NaN and a RuntimeWarning for all-NaN slices)."""
    return _mean("nanmean", a, axis, dtype, keepdims, split_every, out, nan=True)


def _power(d: np.ndarray, k: int) -> np.ndarray:
    if k == 2 and np.iscomplexobj(d):
        return (d * d.conj()).real
    return d ** k


def _moment_chunk(block: np.ndarray, axis: tuple, keepdims: bool, order: int, acc: np.dtype,
                  nan: bool) -> dict:
    mask = np.isnan(block) if nan else None
    if nan:
        block = np.where(mask, 0, block)
    n = _counts(block, axis, mask)
    total = np.sum(block, axis=axis, keepdims=True, dtype=acc)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (total / np.maximum(n, 1)).astype(total.dtype, copy=False)
        d = block - mean
    if nan:
        d = np.where(mask, 0, d)
    parts = {"n": n, "mean": mean}
    for k in range(2, order + 1):
        parts[f"m{k}"] = np.sum(_power(d, k), axis=axis, keepdims=True)
    return parts


def _moment_combine(parts: dict, axis: tuple, keepdims: bool, order: int) -> dict:
    n_i, mean_i = parts["n"], parts["mean"]
    n = np.sum(n_i, axis=axis, keepdims=True)
    safe = np.maximum(n, 1)
    with np.errstate(invalid="ignore", over="ignore"):
        guess = np.sum(n_i * mean_i, axis=axis, keepdims=True) / safe
        # One correction pass makes the merged mean as accurate as a second pass over data.
        mean = guess + np.sum(n_i * (mean_i - guess), axis=axis, keepdims=True) / safe
        mean = mean.astype(mean_i.dtype, copy=False)
        d = mean_i - mean
        out = {"n": n, "mean": mean}
        for p in range(2, order + 1):
            # Central sums about each partial's mean, shifted to the merged mean:
            # M_p = sum_i sum_k C(p, k) M_k,i d_i^(p-k), with M_0 = n_i and M_1 = 0.
            term = parts[f"m{p}"] + n_i * _power(d, p)
            for k in range(2, p):
                term = term + math.comb(p, k) * parts[f"m{k}"] * d ** (p - k)
            out[f"m{p}"] = np.sum(term, axis=axis, keepdims=True)
    if not keepdims:
        out = {k: np.squeeze(v, axis=axis) for k, v in out.items()}
    return out


def _moment_aggregate(parts: dict, axis: tuple, keepdims: bool, order: int, ddof: float,
                      dtype: np.dtype, root: bool = False) -> Any:
    p = _moment_combine(parts, axis, keepdims, order)
    n = p["n"]
    m = p[f"m{order}"] if order >= 2 else (n if order == 0 else np.zeros_like(p["mean"]))
    result = _divide(m, n - ddof, None, "Degrees of freedom <= 0 for slice.")
    if root:
        result = np.sqrt(result)
    return _cast(result, dtype)


def _moment(prefix: str, a: Any, order: int, axis: Any, dtype: Any, keepdims: bool,
            ddof: float, split_every: Any, out: Any, nan: bool, root: bool = False) -> Array:
    a = asarray(a)
    if isinstance(order, bool) or not isinstance(order, int) or order < 0:
        raise ValueError(f"moment order must be an int >= 0, got {order!r}")
    dt = _result_dtype(np.std if root else np.var, a.dtype, dtype=dtype)
    acc = _acc_dtype(a.dtype, dtype)
    nan = nan and a.dtype.kind in "fc"
    return _run(prefix, a, axis, keepdims, split_every, out, dt,
                partial(_moment_chunk, order=order, acc=acc, nan=nan),
                partial(_moment_combine, order=order),
                partial(_moment_aggregate, order=order, ddof=ddof, dtype=dt, root=root))


def var(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: float = 0,
        split_every: Any = None, out: Any = None) -> Array:
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom, as ``np.var``.

    >>> import numpy as np, plait.array as da
    >>> float(var(da.from_array(np.array([1.0, 2, 3, 4]), chunks=3), ddof=1).compute())
    1.6666666666666667
    """
    return _moment("var", a, 2, axis, dtype, keepdims, ddof, split_every, out, nan=False)


def nanvar(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
           ddof: float = 0, split_every: Any = None, out: Any = None) -> Array:
    """Variance ignoring NaN, as ``np.nanvar``."""
    return _moment("nanvar", a, 2, axis, dtype, keepdims, ddof, split_every, out, nan=True)


def std(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False, ddof: float = 0,
        split_every: Any = None, out: Any = None) -> Array:
    """Standard deviation over ``axis``, as ``np.std``."""
    return _moment("std", a, 2, axis, dtype, keepdims, ddof, split_every, out, nan=False,
                   root=True)


def nanstd(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False,
           ddof: float = 0, split_every: Any = None, out: Any = None) -> Array:
    """Standard deviation ignoring NaN, as ``np.nanstd``."""
    return _moment("nanstd", a, 2, axis, dtype, keepdims, ddof, split_every, out, nan=True,
                   root=True)


def moment(a: Any, order: int, axis: Any = None, dtype: Any = None, keepdims: bool = False,
           ddof: float = 0, split_every: Any = None, out: Any = None) -> Array:
    """Central moment ``sum((x - mean) ** order) / (n - ddof)`` over ``axis``.

    >>> import numpy as np, plait.array as da
    >>> float(moment(da.from_array(np.array([1.0, 2, 6]), chunks=2), 3).compute())
    6.0
    """
    return _moment("moment", a, order, axis, dtype, keepdims, ddof, split_every, out, nan=False)


# -- argmin, argmax -----------------------------------------------------------------------

def _move_last(a: np.ndarray, axis: tuple) -> np.ndarray:
    """``a`` with the reduced axes moved to the end and flattened into one."""
    kept = [d for d in range(a.ndim) if d not in axis]
    moved = np.transpose(a, kept + list(axis))
    return moved.reshape(moved.shape[:len(kept)] + (math.prod(a.shape[d] for d in axis),))


def _select(i: np.ndarray, v: np.ndarray, kind: str, nan: bool) -> tuple:
    """Pick, along the last axis, the winning candidate with the smallest global index."""
    best_of = np.min if kind == "min" else np.max
    if nan:
        valid = (i >= 0) & ~np.isnan(v)
        fill = np.inf if kind == "min" else -np.inf
        best = best_of(np.where(valid, v, fill), axis=-1, keepdims=True)
        winners = valid & (v == best)
    else:
        best = best_of(v, axis=-1, keepdims=True)  # NaN if any: NumPy picks the first NaN
        winners = np.isnan(v) if v.dtype.kind in "fc" else np.zeros(v.shape, bool)
        winners = np.where(winners.any(axis=-1, keepdims=True), winners, v == best)
    found = winners.any(axis=-1)
    never = np.iinfo(np.intp).max
    index = np.where(winners, i, never).min(axis=-1, initial=never)
    value = np.where(found, best[..., 0], np.nan if v.dtype.kind in "fc" else best[..., 0])
    return np.where(found, index, -1).astype(np.intp), value


def _arg_chunk(block: np.ndarray, axis: tuple, keepdims: bool, kind: str, nan: bool,
               offsets: tuple, shape: tuple) -> dict:
    flat = _move_last(block, axis)
    if nan:
        positions = np.broadcast_to(np.arange(flat.shape[-1], dtype=np.intp), flat.shape)
        local, value = _select(positions, flat, kind, nan)
    else:  # NumPy's own argmin already takes the first NaN, else the first minimum
        local = (np.argmin if kind == "min" else np.argmax)(flat, axis=-1)
        value = np.take_along_axis(flat, local[..., None], axis=-1)[..., 0]
    if len(axis) == 1:
        index = np.where(local >= 0, local + offsets[axis[0]], -1)
    elif block.ndim and local >= 0:
        where = np.unravel_index(local, block.shape)
        index = np.ravel_multi_index(tuple(w + o for w, o in zip(where, offsets)), shape)
    else:
        index = local
    kept = tuple(1 if d in axis else s for d, s in enumerate(block.shape))
    return {"i": np.reshape(index, kept).astype(np.intp), "v": np.reshape(value, kept)}


def _arg_merge(parts: dict, axis: tuple, keepdims: bool, kind: str, nan: bool,
               final: bool = False) -> Any:
    i, v = parts["i"], parts["v"]
    index, value = _select(_move_last(i, axis), _move_last(v, axis), kind, nan)
    shape = tuple(1 if d in axis else s for d, s in enumerate(i.shape)
                  if keepdims or d not in axis)
    if not final:
        return {"i": index.reshape(shape), "v": value.reshape(shape)}
    if nan and np.any(index < 0):
        raise ValueError("All-NaN slice encountered")
    return index.reshape(shape)[()]


def _block_offsets(x: Array) -> Callable[[tuple], dict]:
    """Where each block starts, for turning block-local indices into global ones."""
    starts = [np.cumsum((0,) + c[:-1]).tolist() for c in x.chunks]
    return lambda src: {"offsets": tuple(s[i] for s, i in zip(starts, src)), "shape": x.shape}


def _arg(prefix: str, np_func: Callable, a: Any, axis: Any, keepdims: bool, split_every: Any,
         out: Any) -> Array:
    a = asarray(a)
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{prefix} takes axis=None or one int, got axis={axis!r}")
    if builtins.any(math.isnan(c) for cs in a.chunks for c in cs):
        raise ValueError(f"{prefix} needs known chunk sizes to give global indices; the "
                         f"chunks are {a.chunks}: compute the chunk sizes first")
    kind, nan = prefix[-3:], prefix.startswith("nan") and a.dtype.kind in "fc"
    kw = {"kind": kind, "nan": nan}
    return _run(prefix, a, axis, keepdims, split_every, out, np.dtype(np.intp),
                partial(_arg_chunk, **kw), partial(_arg_merge, **kw),
                partial(_arg_merge, final=True, **kw), no_identity=np_func,
                block_kwargs=_block_offsets(a))


def argmin(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None,
           out: Any = None) -> Array:
    """Index of the minimum (flat index when ``axis`` is None; first one on ties).

    >>> import numpy as np, plait.array as da
    >>> int(argmin(da.from_array(np.array([4, 1, 7, 1]), chunks=2)).compute())
    1
    """
    return _arg("argmin", np.argmin, a, axis, keepdims, split_every, out)


def argmax(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None,
           out: Any = None) -> Array:
    """Index of the maximum, as ``np.argmax``."""
    return _arg("argmax", np.argmax, a, axis, keepdims, split_every, out)


def nanargmin(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None,
              out: Any = None) -> Array:
    """Index of the minimum ignoring NaN; all-NaN slices raise ``ValueError`` on compute."""
    return _arg("nanargmin", np.nanargmin, a, axis, keepdims, split_every, out)


def nanargmax(a: Any, axis: Any = None, keepdims: bool = False, split_every: Any = None,
              out: Any = None) -> Array:
    """Index of the maximum ignoring NaN."""
    return _arg("nanargmax", np.nanargmax, a, axis, keepdims, split_every, out)


# -- NumPy's __array_function__ ------------------------------------------------------------

def _numpy_entry(func: Callable, positional: str) -> Callable:
    """``func`` called the way NumPy's function of the same name is (its positional order)."""
    names = positional.split()

    def from_numpy(a: Any, *args: Any, **kwargs: Any) -> Any:
        if len(args) > len(names):
            raise TypeError(f"{func.__name__}() takes at most {len(names) + 1} positional "
                            f"arguments ({len(args) + 1} given)")
        for n, value in zip(names, args):
            if n in kwargs:
                raise TypeError(f"{func.__name__}() got multiple values for argument {n!r}")
            kwargs[n] = value
        if "correction" in kwargs:
            kwargs["ddof"] = kwargs.pop("correction")
        if kwargs.pop("where", True) is not True:
            raise TypeError(f"plait.array.{func.__name__} does not support where=; mask the "
                            "input first, e.g. da.where(mask, x, 0)")
        return func(a, **kwargs)

    from_numpy.__name__ = func.__name__
    return from_numpy


# NumPy's positional order after the array, for each family of functions.
_NUMPY_ORDER = {
    "axis dtype out keepdims": (sum, prod, nansum, nanprod, mean, nanmean),
    "axis dtype out ddof keepdims": (var, std, nanvar, nanstd),
    "axis out keepdims": (min, max, nanmin, nanmax, any, all),
    "axis out": (argmin, argmax, nanargmin, nanargmax),
    "axis": (count_nonzero,),
    "axis dtype out": (cumsum, cumprod, nancumsum, nancumprod),
}
for _order, _funcs in _NUMPY_ORDER.items():
    for _func in _funcs:
        _aliases = {"min": (np.amin,), "max": (np.amax,)}.get(_func.__name__, ())
        implements(getattr(np, _func.__name__), *_aliases)(_numpy_entry(_func, _order))
del _order, _funcs, _func, _aliases

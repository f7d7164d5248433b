"""Cumulative reductions (scans) along one axis: ``cumsum``, ``cumprod`` and nan variants.

Each block is scanned on its own; then the running total of everything before it (its
"carry") is folded in. Carries form a sequential chain along the axis: the carry into
block ``k`` is the carry into block ``k - 1`` combined with the last slice of block
``k - 1``'s own scan, so uneven and empty blocks need no special case beyond an identity.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable

import numpy as np

from ..graph import Ref, Task
from .core import Array, asarray, new_name

__all__ = ["cumreduction", "cumsum", "cumprod", "nancumsum", "nancumprod"]


def _scan_block(func: Callable, block: np.ndarray, axis: int, dtype: np.dtype) -> np.ndarray:
    return func(block, axis=axis, dtype=dtype)


def _last(scanned: np.ndarray, axis: int, ident: Any) -> np.ndarray:
    """The last slice along ``axis`` (kept as length 1), or the identity for empty blocks."""
    if scanned.shape[axis] == 0:
        shape = scanned.shape[:axis] + (1,) + scanned.shape[axis + 1:]
        return np.full(shape, ident, dtype=scanned.dtype)
    return scanned.take([-1], axis=axis)


def _next_carry(binop: Callable, carry: np.ndarray, scanned: np.ndarray, axis: int,
                ident: Any) -> np.ndarray:
    return binop(carry, _last(scanned, axis, ident))


def _with_carry(binop: Callable, carry: np.ndarray, scanned: np.ndarray) -> np.ndarray:
    return binop(carry, scanned).astype(scanned.dtype, copy=False)


def _ravel(x: Array) -> Array:
    """``x`` flattened in C order, blocks made of whole rows (rechunking if needed)."""
    if x.ndim == 1:
        return x
    name = new_name("ravel")
    if x.ndim == 0:
        return Array({(name, 0): Task((name, 0), np.reshape, Ref((x.name,)), (1,))}, name,
                     ((1,),), x.dtype, (x,))
    if any(math.isnan(s) for s in x.shape):
        raise ValueError(f"cannot flatten an array of unknown shape {x.shape}; give an "
                         "axis, or compute the chunk sizes first")
    row = math.prod(x.shape[1:])
    if any(n > 1 for n in x.numblocks[1:]):
        rows = max(1, math.prod(x.chunksize) // max(row, 1))
        x = x.rechunk((rows,) + (-1,) * (x.ndim - 1))
    zeros = (0,) * (x.ndim - 1)
    layer = {(name, i): Task((name, i), np.ravel, Ref((x.name, i) + zeros))
             for i in range(x.numblocks[0])}
    return Array(layer, name, (tuple(c * row for c in x.chunks[0]),), x.dtype, (x,))


def cumreduction(func: Callable, binop: Callable, ident: Any, x: Any, axis: Any = None,
                 dtype: Any = None, out: Any = None, method: str = "sequential",
                 preop: Callable | None = None) -> Array:
    """A scan along ``axis``: ``func(block, axis=, dtype=)`` per block, then
    ``binop(carry, scanned)`` with the running ``carry`` of the blocks before.

    ``ident`` is ``binop``'s identity (0 for add). ``axis=None`` scans the flattened
    array. ``method="blelloch"`` is accepted for Dask compatibility and gives the same
    result with the sequential carry chain; ``preop`` is then unused.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(1, 6), chunks=2)
    >>> cumreduction(np.cumsum, np.add, 0, x, axis=0).compute()
    array([ 1,  3,  6, 10, 15])
    """
    if method not in ("sequential", "blelloch"):
        raise ValueError(f"method={method!r}: use 'sequential' (or 'blelloch')")
    x = asarray(x)
    if axis is None:
        x, axis = _ravel(x), 0
    if not -x.ndim <= axis < x.ndim:
        raise getattr(np, "exceptions", np).AxisError(axis, x.ndim)
    axis = axis % x.ndim
    with np.errstate(all="ignore"):
        dtype = func(np.ones(1, dtype=x.dtype), axis=0, dtype=dtype).dtype
    prefix = getattr(func, "__name__", "cumreduction")
    name, scan, carry = new_name(prefix), new_name(f"{prefix}-block"), new_name(f"{prefix}-carry")

    def scanned(idx: tuple) -> tuple:
        # The first block along the axis needs no carry: its scan is the output itself.
        return ((name,) if idx[axis] == 0 else (scan,)) + idx

    layer: dict = {}
    for idx in itertools.product(*map(range, x.numblocks)):
        k = idx[axis]
        layer[scanned(idx)] = Task(scanned(idx), _scan_block, func, Ref((x.name,) + idx),
                                   axis, dtype)
        if k == 0:
            continue
        prev = idx[:axis] + (k - 1,) + idx[axis + 1:]
        if k == 1:
            layer[(carry,) + idx] = Task((carry,) + idx, _last, Ref(scanned(prev)), axis, ident)
        else:
            layer[(carry,) + idx] = Task((carry,) + idx, _next_carry, binop,
                                         Ref((carry,) + prev), Ref(scanned(prev)), axis, ident)
        layer[(name,) + idx] = Task((name,) + idx, _with_carry, binop, Ref((carry,) + idx),
                                    Ref(scanned(idx)))
    result = Array(layer, name, x.chunks, dtype, (x,))
    if out is None:
        return result
    from .reductions import _handle_out

    return _handle_out(out, result)


def cumsum(x: Any, axis: Any = None, dtype: Any = None, out: Any = None,
           method: str = "sequential") -> Array:
    """Cumulative sum along ``axis`` (flattened when None), as ``np.cumsum``.

    >>> import numpy as np, plait.array as da
    >>> cumsum(da.from_array(np.array([[1, 2], [3, 4]]), chunks=1), axis=0).compute()
    array([[1, 2],
           [4, 6]])
    """
    return cumreduction(np.cumsum, np.add, 0, x, axis, dtype, out, method)


def cumprod(x: Any, axis: Any = None, dtype: Any = None, out: Any = None,
            method: str = "sequential") -> Array:
    """Cumulative product along ``axis``, as ``np.cumprod``."""
    return cumreduction(np.cumprod, np.multiply, 1, x, axis, dtype, out, method)


def nancumsum(x: Any, axis: Any = None, dtype: Any = None, out: Any = None,
              method: str = "sequential") -> Array:
    """Cumulative sum treating NaN as zero, as ``np.nancumsum``."""
    return cumreduction(np.nancumsum, np.add, 0, x, axis, dtype, out, method)


def nancumprod(x: Any, axis: Any = None, dtype: Any = None, out: Any = None,
               method: str = "sequential") -> Array:
    """Cumulative product treating NaN as one, as ``np.nancumprod``."""
    return cumreduction(np.nancumprod, np.multiply, 1, x, axis, dtype, out, method)

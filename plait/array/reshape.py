"""Reshaping chunked arrays, NumPy's C order, block by block.

A reshape keeps the elements in C order, so an output block can be made by reshaping
one input block only when that block is a contiguous run of the flattened array. The
plan makes that true, then reshapes every block on its own:

1. Pair up axes: walking from the last axis, input and output axes are grouped until
   their lengths multiply to the same number (``(6, 4) -> (24,)`` is one group,
   ``(2, 12) -> (2, 3, 4)`` is two: ``2 -> 2`` and ``12 -> 3 x 4``). Groups reshape
   independently of each other.
2. In each group, the first input axis longer than 1 (the *lead*) may stay chunked;
   the axes after it become whole, so an input block covers a contiguous run of the
   group. Output blocks must also start on whole output rows (the product ``B`` of
   the output axes after the output lead), so the lead's chunk boundaries are moved
   to multiples of ``B / gcd(A, B)`` (``A``: the product of the input axes after the
   lead). With ``merge_chunks=True`` the lead keeps its boundaries where it can,
   rounded down to such multiples, and is split further only where merging the other
   axes would make blocks larger than ``limit`` (default config ``array.chunk-size``);
   ``merge_chunks=False`` cuts the lead into the smallest allowed pieces instead.
3. Rechunk the input to that (see :mod:`plait.array.rechunk`), then map each block
   through ``np.reshape``: block ``i`` of a group's lead is block ``i`` of the output
   lead.
"""

from __future__ import annotations

import math
import operator
from numbers import Integral
from typing import Any

import numpy as np

from .. import config
from ..graph import Ref, Task
from ..utils.sizes import parse_bytes
from .core import Array, asarray, implements, new_name
from .rechunk import rechunk

__all__ = ["reshape", "ravel"]


def _reshape_block(block: Any, shape: tuple) -> Any:
    return np.reshape(block, shape)


def _shape_text(shape: tuple) -> str:
    names = ["newaxis" if n < 0 else str(n) for n in shape]
    return "(" + ",".join(names) + ("," if len(names) == 1 else "") + ")"


def _normalize_shape(size: int, shape: tuple) -> tuple:
    """``shape`` with its one negative entry inferred, as NumPy does it."""
    out = []
    for n in shape:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (Integral, np.integer)):
            raise TypeError(f"'{type(n).__name__}' object cannot be interpreted as an "
                            f"integer: reshape takes whole numbers, e.g. x.reshape(2, 3)")
        out.append(operator.index(n))
    unknown = [i for i, n in enumerate(out) if n < 0]
    if len(unknown) > 1:
        raise ValueError("can only specify one unknown dimension")
    known = math.prod(n for n in out if n >= 0)
    if unknown:
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape array of size {size} into shape "
                             f"{_shape_text(tuple(out))}")
        out[unknown[0]] = size // known
    elif known != size:
        raise ValueError(f"cannot reshape array of size {size} into shape "
                         f"{_shape_text(tuple(out))}")
    return tuple(out)


def _groups(inshape: tuple, outshape: tuple) -> list:
    """Pairs (input axes, output axes) whose lengths multiply alike, first axes first."""
    groups: list = []
    i, o = len(inshape) - 1, len(outshape) - 1
    while i >= 0 and o >= 0:
        ins, outs = [i], [o]
        pi, po = inshape[i], outshape[o]
        while pi != po:
            if pi < po:
                i -= 1
                ins.insert(0, i)
                pi *= inshape[i]
            else:
                o -= 1
                outs.insert(0, o)
                po *= outshape[o]
        groups.insert(0, (ins, outs))
        i, o = i - 1, o - 1
    # What is left on either side has length 1: it joins the first group.
    ins, outs = groups[0]
    groups[0] = (list(range(i + 1)) + ins, list(range(o + 1)) + outs)
    return groups


def _lead(axes: list, shape: tuple) -> int:
    """The position in ``axes`` of the first axis longer than 1 (or the last one)."""
    for k, a in enumerate(axes):
        if shape[a] != 1:
            return k
    return len(axes) - 1


def _lead_chunks(chunks: tuple, length: int, step: int, target: int,
                 merge_chunks: bool) -> tuple:
    """Lead-axis chunks whose boundaries are multiples of ``step``, at most ``target``
    long where possible (never shorter than ``step``)."""
    if not merge_chunks:
        cuts = list(range(0, length, step)) + [length]
    else:
        cuts = sorted({(b // step) * step for b in _cumsum(chunks)[:-1]} | {0, length})
    target = max(step, (target // step) * step)
    out: list[int] = []
    for a, b in zip(cuts, cuts[1:]):
        pieces = -(-(b - a) // target)
        if pieces > 1:  # split evenly in whole steps
            steps = (b - a) // step
            q, r = divmod(steps, pieces)
            sizes = [(q + 1) * step] * r + [q * step] * (pieces - r)
            sizes[-1] += (b - a) - steps * step
            out += [s for s in sizes if s]
        else:
            out.append(b - a)
    return tuple(out) or (length,)


def _cumsum(chunks: tuple) -> list:
    out = [0]
    for c in chunks:
        out.append(out[-1] + c)
    return out


@implements(np.reshape)
def reshape(x: Any, shape: Any = None, *more: Any, merge_chunks: bool = True,
            limit: Any = None, order: str = "C", newshape: Any = None,
            copy: Any = None) -> Array:
    """``x`` with a new shape and the same elements in C order, as ``np.reshape``.

    Parameters
    ----------
    shape : int or tuple of int
        The new shape; one entry may be -1 (inferred). ``x.reshape(2, 3)`` and
        ``x.reshape((2, 3))`` both work.
    merge_chunks : bool
        Keep input blocks large by merging chunks along the axes being combined or
        split (default); False cuts the leading axis of each such group into the
        smallest pieces that reshape block by block (more, smaller tasks).
    limit : int or str, optional
        Most bytes per block after merging (default config ``array.chunk-size``).

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(24).reshape(4, 6), chunks=(2, 3))
    >>> y = reshape(x, (2, -1))
    >>> y.shape, y.chunks
    ((2, 12), ((1, 1), (12,)))
    >>> bool((y.compute() == np.arange(24).reshape(2, 12)).all())
    True
    """
    if order not in ("C", None):
        raise NotImplementedError(f"reshape(order={order!r}): plait reshapes in C order "
                                  f"only; transpose first for Fortran order")
    if shape is None:
        shape = newshape
    if shape is None:
        raise TypeError("reshape() needs a shape, e.g. x.reshape(2, 3) or x.reshape((2, 3))")
    if more:
        shape = (shape,) + more
    elif isinstance(shape, np.ndarray):
        shape = tuple(shape.tolist()) if shape.ndim else (shape.item(),)
    elif not isinstance(shape, (tuple, list)):
        shape = (shape,)
    x = asarray(x)
    if any(isinstance(n, float) and math.isnan(n) for n in x.shape):
        raise ValueError(f"cannot reshape an array of unknown shape {x.shape}; call "
                         f"x.compute_chunk_sizes() first")
    shape = _normalize_shape(x.size, tuple(shape))
    if shape == x.shape:
        return x
    if x.size == 0 or x.npartitions == 1 or x.ndim == 0 or len(shape) == 0:
        return _one_block(x, shape)
    limit = parse_bytes(config.get("array.chunk-size") if limit is None else limit)
    inchunks = list(x.chunks)
    # The output chunks; each input block index maps to one output block index.
    outchunks: list = [None] * len(shape)
    lead_of: list = []  # (input lead axis, output lead axis) per group
    for ins, outs in _groups(x.shape, shape):
        li, lo = ins[_lead(ins, x.shape)], outs[_lead(outs, shape)]
        a = math.prod(x.shape[k] for k in ins if k > li)
        b = math.prod(shape[k] for k in outs if k > lo)
        step = b // math.gcd(a, b)
        merged = any(len(x.chunks[k]) > 1 for k in ins if k > li)
        needs_change = merged or any(c % step for c in _cumsum(x.chunks[li]))
        if needs_change:
            other = math.prod(max(x.chunks[k]) for k in range(x.ndim) if k not in ins)
            target = max(1, limit // max(1, x.dtype.itemsize * other * a))
            inchunks[li] = _lead_chunks(x.chunks[li], x.shape[li], step,
                                        target if merged else x.shape[li], merge_chunks)
        for k in ins:
            if k != li:
                inchunks[k] = (x.shape[k],)
        for k in outs:
            outchunks[k] = (shape[k],)
        outchunks[lo] = tuple(c * a // b for c in inchunks[li])
        lead_of.append((li, lo, ins))
    y = rechunk(x, tuple(inchunks))
    name = new_name("reshape")
    layer = {}
    nb = tuple(len(c) for c in y.chunks)
    for idx in np.ndindex(*nb):
        out_idx = [0] * len(shape)
        for li, lo, _ in lead_of:
            out_idx[lo] = idx[li]
        key = (name,) + tuple(out_idx)
        block_shape = tuple(outchunks[k][out_idx[k]] for k in range(len(shape)))
        layer[key] = Task(key, _reshape_block, Ref((y.name,) + tuple(idx)), block_shape)
    return Array(layer, name, tuple(outchunks), x.dtype, (y,))


def _one_block(x: Array, shape: tuple) -> Array:
    y = rechunk(x, tuple((n,) for n in x.shape)) if x.npartitions != 1 else x
    name = new_name("reshape")
    key = (name,) + (0,) * len(shape)
    layer = {key: Task(key, _reshape_block, Ref((y.name,) + (0,) * y.ndim), shape)}
    return Array(layer, name, tuple((n,) for n in shape), x.dtype, (y,))


@implements(np.ravel)
def ravel(x: Any, order: str = "C") -> Array:
    """``x`` flattened to one axis in C order, as ``np.ravel`` (``x.flatten()`` too).

    >>> import numpy as np, plait.array as da
    >>> ravel(da.from_array(np.arange(6).reshape(2, 3), chunks=1)).compute()
    array([0, 1, 2, 3, 4, 5])
    """
    if order not in ("C", None):
        raise NotImplementedError(f"ravel(order={order!r}): plait flattens in C order only")
    return reshape(x, (-1,))

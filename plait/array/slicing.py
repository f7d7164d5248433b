"""Indexing of plait arrays: basic slicing, integer and boolean arrays, ``vindex``,
``blocks``, and the functions built on them (take, compress, nonzero, argwhere).

Basic indexing maps each output block to exactly one input block per axis, so it is one
task per output block. An integer array along one axis is planned so that each output
chunk takes from each source block it needs once, then reorders once; selections whose
sizes depend on data (plait boolean masks, nonzero) give chunks of unknown size (NaN),
which :func:`compute_chunk_sizes` fills in.
"""

from __future__ import annotations

import itertools
import math
from numbers import Integral
from typing import Any

import numpy as np

from ..graph import Alias, Ref, Task
from .chunks import chunk_boundaries
from .core import Array, asarray, implements, new_name
from .fancy import general_getitem, needs_general

__all__ = ["getitem", "compute_chunk_sizes", "VIndex", "BlockView", "take", "compress",
           "where", "nonzero", "argwhere"]


def _has_nan(chunks_along: tuple) -> bool:
    return any(isinstance(c, float) and math.isnan(c) for c in chunks_along)


def _unknown_error(axis: int) -> ValueError:
    return ValueError(
        f"axis {axis} has chunks of unknown size (NaN), so this index cannot be planned; "
        "call x.compute_chunk_sizes() first, e.g. x = x.compute_chunk_sizes()")


# -- key normalisation ----------------------------------------------------------------

def _normalize_key(x: Array, key: Any) -> list:
    """``key`` as a list with Ellipsis expanded and missing trailing axes as ``slice(None)``.
    Lists become NumPy arrays; 0-d integer arrays become ints."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, list):
            k = np.asarray(k)
            if k.size == 0:
                k = k.astype(np.intp)
        if isinstance(k, np.ndarray) and k.ndim == 0 and k.dtype.kind in "iu":
            k = int(k)
        if isinstance(k, (np.ndarray, Array)):
            if k.dtype.kind not in "iub":
                raise IndexError(f"arrays used as indices must be of integer or boolean "
                                 f"type, got dtype {k.dtype}")
        elif not (k is None or k is Ellipsis or isinstance(k, (slice, Integral))):
            raise IndexError(
                f"only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and "
                f"integer or boolean arrays are valid indices; got {type(k).__name__}")
        out.append(k)
    if sum(k is Ellipsis for k in out) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(k.ndim if _is_bool(k) else (0 if k is None or k is Ellipsis else 1)
                   for k in out)
    if consumed > x.ndim:
        raise IndexError(f"too many indices for array: array is {x.ndim}-dimensional, but "
                         f"{consumed} were indexed")
    fill = [slice(None)] * (x.ndim - consumed)
    if Ellipsis in [k for k in out if not isinstance(k, (np.ndarray, Array))]:
        i = next(i for i, k in enumerate(out) if k is Ellipsis)
        out = out[:i] + fill + out[i + 1:]
    else:
        out = out + fill
    return out


def _is_bool(k: Any) -> bool:
    return isinstance(k, (np.ndarray, Array)) and k.dtype.kind == "b"


def _is_advanced(k: Any) -> bool:
    return isinstance(k, (np.ndarray, Array))


# -- getitem ----------------------------------------------------------------------------

def getitem(x: Array, key: Any) -> Array:
    """``x[key]`` with NumPy's semantics (several array indices go through
    :mod:`plait.array.fancy`).

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(10), chunks=3)
    >>> x[8:1:-3].compute()
    array([8, 5, 2])
    >>> x[[7, 0, 3]].compute()
    array([7, 0, 3])
    """
    key = _normalize_key(x, key)
    if not key:  # x[()] of a 0-d array
        return x
    # A multi-dimensional boolean mask over the leading axes: x[mask].
    if (_is_bool(key[0]) and key[0].ndim > 1
            and all(isinstance(k, slice) and k == slice(None) for k in key[1:])):
        return _full_mask(x, key[0])
    if needs_general(key):
        return general_getitem(x, key)
    advanced = [i for i, k in enumerate(key) if _is_advanced(k)]
    for k in key:
        if _is_bool(k) and k.ndim != 1:
            _check_mask_shape(x, key, k)
            raise NotImplementedError(
                f"a {k.ndim}-d plait boolean index must cover the leading axes "
                "(x[mask] or x[mask, ...]); compute it first (x[mask.compute()]) to "
                "use it elsewhere in the key")
    if not advanced:
        return _basic(x, key)
    pos = advanced[0]
    index = key[pos]
    # NumPy treats ints as advanced indices when an array index is present: if they are
    # not all next to each other, the indexed dimension goes first.
    adv_like = [i for i, k in enumerate(key) if _is_advanced(k) or isinstance(k, Integral)]
    to_front = adv_like != list(range(adv_like[0], adv_like[-1] + 1))
    basic_key = list(key)
    basic_key[pos] = slice(None)
    y = _basic(x, basic_key)
    # The position of the indexed axis in y: axes before it that survive, plus new ones.
    axis = sum(1 for k in key[:pos] if k is None or isinstance(k, slice))
    in_axis = sum(1 for k in key[:pos] if k is not None)
    if index.shape[0] != y.shape[axis] and _is_bool(index) and not math.isnan(y.shape[axis]):
        raise IndexError(f"boolean index did not match indexed array along axis {in_axis}; "
                         f"size of axis is {y.shape[axis]} but size of corresponding boolean "
                         f"axis is {index.shape[0]}")
    if isinstance(index, np.ndarray):
        if _is_bool(index):
            index = np.flatnonzero(index)
        out = _take_numpy(y, index, axis, in_axis)
    elif _is_bool(index):
        out = _mask_axis(y, index, axis)
    else:
        out = _take_plait(y, index, axis)
    if to_front and axis != 0:
        from .routines import moveaxis

        out = moveaxis(out, axis, 0)
    return out


def _slice_plan(chunks: tuple, slc: slice, axis: int) -> tuple[list, tuple]:
    """For one axis: [(source block, local slice)] per output block, and output chunks."""
    if _has_nan(chunks):
        if slc == slice(None):
            return [(b, slice(None)) for b in range(len(chunks))], chunks
        raise _unknown_error(axis)
    n = sum(chunks)
    start, stop, step = slc.indices(n)
    r = range(start, stop, step)
    bounds = chunk_boundaries(chunks)
    pieces = []
    for b in range(len(chunks)):
        lo, hi = bounds[b], bounds[b + 1]
        if step > 0:
            k0 = max(0, -(-(lo - start) // step))
            k1 = min(len(r), max(0, -(-(hi - start) // step)))
        else:
            s = -step
            k0 = max(0, (start - hi) // s + 1)
            k1 = min(len(r), max(0, (start - lo) // s + 1))
        count = k1 - k0
        if count <= 0:
            continue
        first = r[k0] - lo
        end = first + count * step
        pieces.append((b, slice(first, end if end >= 0 else None, step), count))
    if step < 0:
        pieces.reverse()
    if not pieces:
        return [(0, slice(0, 0))], (0,)
    return [(b, s) for b, s, _ in pieces], tuple(c for _, _, c in pieces)


def _basic(x: Array, key: list) -> Array:
    """Indexing with ints, slices and None only (``key`` already normalised)."""
    if all(isinstance(k, slice) and k == slice(None) for k in key):
        return x
    plans = []          # per input axis: list of (block, local index) per output block
    out_chunks = []
    axis = 0
    for k in key:
        if k is None:
            out_chunks.append((1,))
            continue
        chunks = x.chunks[axis]
        if isinstance(k, Integral):
            if _has_nan(chunks):
                raise _unknown_error(axis)
            n = sum(chunks)
            i = int(k)
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {n}")
            i = i + n if i < 0 else i
            bounds = chunk_boundaries(chunks)
            b = int(np.searchsorted(bounds, i, side="right")) - 1
            plans.append([(b, i - bounds[b])])
        else:
            plan, c = _slice_plan(chunks, k, axis)
            plans.append(plan)
            out_chunks.append(c)
        axis += 1
    name = new_name("getitem")
    layer = {}
    for choice in itertools.product(*[list(enumerate(p)) for p in plans]):
        src = tuple(b for _, (b, _) in choice)
        local = iter([s for _, (_, s) in choice])
        out_idx = iter([j for j, _ in choice])
        full_idx = []
        local_key = []
        for k in key:
            if k is None:
                full_idx.append(0)
                local_key.append(None)
                continue
            s = next(local)
            j = next(out_idx)
            local_key.append(s)
            if not isinstance(k, Integral):
                full_idx.append(j)
        out_key = (name,) + tuple(full_idx)
        layer[out_key] = Task(out_key, _index_block, Ref((x.name,) + src), tuple(local_key))
    return Array(layer, name, tuple(out_chunks), x.dtype, (x,))


def _index_block(block: Any, key: tuple) -> Any:
    out = block[key]
    # Integer-only keys give NumPy scalars; keep blocks as arrays.
    return np.asarray(out) if not isinstance(out, np.ndarray) else out


# -- integer arrays along one axis -----------------------------------------------------

def _out_chunk_len(chunks: tuple, n: int) -> int:
    return max(1, min(n, max(chunks) if chunks else 1))


def _take_numpy(y: Array, index: np.ndarray, axis: int, in_axis: int) -> Array:
    chunks = y.chunks[axis]
    if _has_nan(chunks):
        raise _unknown_error(axis)
    n = int(sum(chunks))
    index = index.astype(np.intp, copy=False)
    bad = (index < -n) | (index >= n)
    if bad.any():
        raise IndexError(f"index {int(index[bad][0])} is out of bounds for axis {in_axis} "
                         f"with size {n}")
    index = np.where(index < 0, index + n, index)
    bounds = np.asarray(chunk_boundaries(chunks))
    step = _out_chunk_len(chunks, len(index))
    return take_groups(y, _group_index(index, bounds, step), axis)


def take_groups(y: Array, groups: list, axis: int, prefix: str = "take") -> Array:
    """``y`` taken along ``axis`` at the non-negative, in-bounds indices of ``groups``
    (a list of integer arrays), each group becoming one output chunk."""
    bounds = np.asarray(chunk_boundaries(y.chunks[axis]))
    name = new_name(prefix)
    part_name = f"{name}-part"
    layer = {}
    others = [range(len(c)) for a, c in enumerate(y.chunks) if a != axis]
    for j, idx in enumerate(groups):
        blocks = np.searchsorted(bounds, idx, side="right") - 1
        order = np.argsort(blocks, kind="stable")
        used = np.unique(blocks[order])
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        in_order = bool((np.diff(order) > 0).all()) if len(order) > 1 else True
        # Split the sorted indices once by source block (not one pass per block).
        sorted_blocks = blocks[order]
        starts = np.searchsorted(sorted_blocks, used)
        pieces = np.split(idx[order], starts[1:]) if len(used) else []
        for rest in itertools.product(*others):
            def full(b: int) -> tuple:
                return rest[:axis] + (b,) + rest[axis:]

            out_key = (name,) + full(j)
            if len(used) == 0:
                src = (y.name,) + full(0)
                layer[out_key] = Task(out_key, _take_local, Ref(src), idx[:0], axis)
                continue
            if len(used) == 1:
                # One source block: a single take, already in the wanted order.
                local = idx - bounds[used[0]]
                layer[out_key] = Task(out_key, _take_local,
                                      Ref((y.name,) + full(int(used[0]))), local, axis)
                continue
            refs = []
            for b, piece in zip(used, pieces):
                local = piece - bounds[b]
                pk = (part_name,) + full(j) + (int(b),)
                layer[pk] = Task(pk, _take_local, Ref((y.name,) + full(int(b))), local, axis)
                refs.append(Ref(pk))
            layer[out_key] = Task(out_key, _reorder, axis, None if in_order else inverse,
                                  *refs)
    out_chunks = list(y.chunks)
    out_chunks[axis] = tuple(len(g) for g in groups)
    return Array(layer, name, tuple(out_chunks), y.dtype, (y,))


def _group_index(index: np.ndarray, bounds: np.ndarray, step: int) -> list:
    """Output chunks of at most ``step`` indices. A sorted index is also cut where it
    crosses a block boundary, so each output chunk then reads one block only."""
    if len(index) == 0:
        return [index]
    d = np.diff(index)
    if len(index) > 1 and ((d >= 0).all() or (d <= 0).all()):
        blocks = np.searchsorted(bounds, index, side="right") - 1
        cuts = np.flatnonzero(np.diff(blocks)) + 1
        runs = np.split(index, cuts)
        return [r[i:i + step] for r in runs for i in range(0, len(r), step)]
    return [index[i:i + step] for i in range(0, len(index), step)]


def _take_local(block: np.ndarray, local: np.ndarray, axis: int) -> np.ndarray:
    return np.take(block, local, axis=axis)


def _reorder(axis: int, inverse: Any, *parts: np.ndarray) -> np.ndarray:
    out = np.concatenate(parts, axis=axis)
    return out if inverse is None else np.take(out, inverse, axis=axis)


def _take_plait(y: Array, index: Array, axis: int) -> Array:
    """An integer plait array as index: values unknown at build time, so each output
    chunk looks at every source block along the axis."""
    chunks = y.chunks[axis]
    if _has_nan(chunks) or _has_nan(index.chunks[0]):
        raise _unknown_error(axis)
    bounds = tuple(int(b) for b in chunk_boundaries(chunks))
    name = new_name("take")
    part_name = f"{name}-part"
    layer = {}
    others = [range(len(c)) for a, c in enumerate(y.chunks) if a != axis]
    for j in range(len(index.chunks[0])):
        for rest in itertools.product(*others):
            def full(b: int) -> tuple:
                return rest[:axis] + (b,) + rest[axis:]

            refs = []
            for b in range(len(chunks)):
                pk = (part_name,) + full(j) + (b,)
                layer[pk] = Task(pk, _take_part, Ref((y.name,) + full(b)),
                                 Ref((index.name, j)), bounds[b], bounds[b + 1], bounds[-1], axis)
                refs.append(Ref(pk))
            out_key = (name,) + full(j)
            layer[out_key] = Task(out_key, _place_parts, Ref((index.name, j)), bounds, axis,
                                  *refs)
    out_chunks = list(y.chunks)
    out_chunks[axis] = index.chunks[0]
    return Array(layer, name, tuple(out_chunks), y.dtype, (y, index))


def _wrap(idx: np.ndarray, n: int) -> np.ndarray:
    idx = np.asarray(idx).astype(np.intp, copy=False)
    bad = (idx < -n) | (idx >= n)
    if bad.any():
        raise IndexError(f"index {int(idx[bad][0])} is out of bounds for axis with size {n}")
    return np.where(idx < 0, idx + n, idx)


def _take_part(block: np.ndarray, idx: np.ndarray, lo: int, hi: int, n: int,
               axis: int) -> np.ndarray:
    idx = _wrap(idx, n)
    mine = idx[(idx >= lo) & (idx < hi)]
    return np.take(block, mine - lo, axis=axis)


def _place_parts(idx: np.ndarray, bounds: tuple, axis: int, *parts: np.ndarray) -> np.ndarray:
    idx = _wrap(idx, bounds[-1])
    shape = list(parts[0].shape)
    shape[axis] = len(idx)
    out = np.empty(shape, dtype=parts[0].dtype)
    for b, part in enumerate(parts):
        where = np.flatnonzero((idx >= bounds[b]) & (idx < bounds[b + 1]))
        sel = [slice(None)] * out.ndim
        sel[axis] = where
        out[tuple(sel)] = part
    return out


# -- boolean masks ------------------------------------------------------------------------

def _mask_axis(y: Array, mask: Array, axis: int) -> Array:
    """A 1-d plait boolean array along ``axis``: result sizes unknown (NaN)."""
    if _has_nan(y.chunks[axis]) or _has_nan(mask.chunks[0]):
        raise _unknown_error(axis)
    if mask.shape[0] != y.shape[axis]:
        raise IndexError(f"boolean index did not match indexed array along axis {axis}; "
                         f"size of axis is {y.shape[axis]} but size of corresponding boolean "
                         f"axis is {mask.shape[0]}")
    mask = mask.rechunk((y.chunks[axis],))
    name = new_name("getitem-mask")
    layer = {}
    for idx in itertools.product(*[range(n) for n in y.numblocks]):
        k = (name,) + idx
        layer[k] = Task(k, _compress_block, Ref((mask.name, idx[axis])),
                        Ref((y.name,) + idx), axis)
    out_chunks = list(y.chunks)
    out_chunks[axis] = (math.nan,) * len(y.chunks[axis])
    return Array(layer, name, tuple(out_chunks), y.dtype, (y, mask))


def _compress_block(mask: np.ndarray, block: np.ndarray, axis: int) -> np.ndarray:
    return np.compress(mask, block, axis=axis)


def _rows_whole(x: Array) -> Array:
    """``x`` with every axis but the first in one block, so blocks flatten in C order."""
    if x.ndim <= 1:
        return x
    return x.rechunk({i: -1 for i in range(1, x.ndim)})


def _check_mask_shape(x: Array, key: list, mask: Any) -> None:
    pos = sum(k.ndim if _is_bool(k) else (0 if k is None else 1)
              for k in key[:next(i for i, k in enumerate(key) if k is mask)])
    dims = tuple(x.shape[pos:pos + mask.ndim])
    if tuple(mask.shape) != dims:
        raise IndexError(f"boolean index shape {tuple(mask.shape)} does not match the "
                         f"indexed array's shape {dims} on axes {pos}..{pos + mask.ndim - 1}")


def _full_mask(x: Array, mask: Any) -> Array:
    """``x[mask]`` for a boolean mask over the leading ``mask.ndim`` axes: they become
    one axis, in C order."""
    k = mask.ndim
    _check_mask_shape(x, [mask], mask)
    if any(_has_nan(c) for c in x.chunks[:k]):
        raise _unknown_error(0)
    if k > 1:
        x = x.rechunk({i: -1 for i in range(1, k)})
    if isinstance(mask, np.ndarray):
        bounds = chunk_boundaries(x.chunks[0])
        sizes = tuple(int(mask[bounds[i]:bounds[i + 1]].sum()) for i in range(len(bounds) - 1))
        mask = asarray(mask)
    else:
        if any(_has_nan(c) for c in mask.chunks):
            raise _unknown_error(0)
        sizes = (math.nan,) * x.numblocks[0]
    mask = mask.rechunk(x.chunks[:k])
    name = new_name("getitem-mask")
    layer = {}
    zeros = (0,) * (k - 1)
    for i in range(x.numblocks[0]):
        for rest in itertools.product(*[range(n) for n in x.numblocks[k:]]):
            out_key = (name, i) + rest
            layer[out_key] = Task(out_key, _mask_block, Ref((mask.name, i) + zeros),
                                  Ref((x.name, i) + zeros + rest))
    return Array(layer, name, (sizes,) + x.chunks[k:], x.dtype, (x, mask))


def _mask_block(mask: np.ndarray, block: np.ndarray) -> np.ndarray:
    return block[mask]


# -- unknown chunk sizes -------------------------------------------------------------------

def _block_shape(block: Any, ndim: int) -> np.ndarray:
    return np.asarray(np.shape(block), dtype=np.int64).reshape((1,) * ndim + (ndim,))


def compute_chunk_sizes(x: Array) -> Array:
    """Compute chunk sizes left unknown (NaN) by data-dependent selections. Like Dask,
    ``x`` itself changes to know its chunks, and is returned.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(6), chunks=3)
    >>> y = x[x > 1]
    >>> y.chunks
    ((nan, nan),)
    >>> y.compute_chunk_sizes().chunks
    ((1, 3),)
    """
    if not any(_has_nan(c) for c in x.chunks):
        return x
    nd = x.ndim
    name = new_name("chunk-shapes")
    layer = {}
    for idx in itertools.product(*[range(n) for n in x.numblocks]):
        layer[(name,) + idx + (0,)] = Task((name,) + idx + (0,), _block_shape,
                                           Ref((x.name,) + idx), nd)
    shapes_arr = Array(layer, name, tuple((1,) * n for n in x.numblocks) + ((nd,),),
                       np.int64, (x,))
    shapes = np.asarray(shapes_arr.compute())
    chunks = []
    for ax in range(nd):
        sel = [0] * nd
        sel[ax] = slice(None)
        chunks.append(tuple(int(v) for v in shapes[tuple(sel) + (ax,)]))
    new = Array(x._layer, x.name, tuple(chunks), x.dtype, x._deps)
    x._rebind(new)
    return x


# -- vindex -----------------------------------------------------------------------------

class VIndex:
    """``x.vindex[...]``: point-wise indexing. Integer arrays (and ints) broadcast
    together; the result has the broadcast shape first, then the axes indexed by slices.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(12).reshape(3, 4), chunks=2)
    >>> x.vindex[[0, 2, 1], [3, 0, 1]].compute()
    array([3, 8, 5])
    """

    def __init__(self, array: Array):
        self.array = array

    def __getitem__(self, key: Any) -> Array:
        return _vindex(self.array, key)


def _vindex(x: Array, key: Any) -> Array:
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is None or k is Ellipsis for k in key):
        raise IndexError("vindex does not support None or Ellipsis; use x[...] for those")
    if len(key) > x.ndim:
        raise IndexError(f"too many indices for array: array is {x.ndim}-dimensional, but "
                         f"{len(key)} were indexed")
    key = list(key) + [slice(None)] * (x.ndim - len(key))
    arrays = {}
    for ax, k in enumerate(key):
        if isinstance(k, slice):
            continue
        if isinstance(k, Array):
            raise NotImplementedError("vindex with plait arrays as indices; compute them "
                                      "first (idx.compute())")
        a = np.asarray(k)
        if a.dtype.kind not in "iu" and not (a.size == 0 and a.dtype.kind == "f"):
            raise IndexError(f"vindex needs integer indices, got dtype {a.dtype}")
        arrays[ax] = a.astype(np.intp)
    if not arrays:
        return getitem(x, tuple(key))
    # Apply the slices first (arrays' axes kept whole), then pick points.
    y = getitem(x, tuple(k if isinstance(k, slice) else slice(None) for k in key))
    axes = sorted(arrays)
    for ax in axes:
        if _has_nan(y.chunks[ax]):
            raise _unknown_error(ax)
    try:
        bshape = np.broadcast_shapes(*[a.shape for a in arrays.values()])
    except ValueError:
        raise IndexError("shape mismatch: indexing arrays could not be broadcast together "
                         f"with shapes {[a.shape for a in arrays.values()]}") from None
    coords = []
    for ax in axes:
        n = int(y.shape[ax])
        c = np.broadcast_to(arrays[ax], bshape).ravel()
        bad = (c < -n) | (c >= n)
        if bad.any():
            raise IndexError(f"index {int(c[bad][0])} is out of bounds for axis {ax} with "
                             f"size {n}")
        coords.append(np.where(c < 0, c + n, c))
    rest_axes = [a for a in range(y.ndim) if a not in arrays]
    row = math.prod(bshape[1:]) if bshape else 1
    nrows = bshape[0] if bshape else 1
    target = max(1, max((max(y.chunks[a]) for a in axes), default=1) // max(row, 1))
    rows_per = [min(target, nrows - i) for i in range(0, nrows, target)] or [0]
    bounds = [np.asarray(chunk_boundaries(y.chunks[a])) for a in axes]
    blk = [np.searchsorted(b, c, side="right") - 1 for b, c in zip(bounds, coords)]
    name = new_name("vindex")
    part_name = f"{name}-part"
    layer = {}
    start = 0
    for j, nr in enumerate(rows_per):
        sl = slice(start * row, (start + nr) * row)
        start += nr
        pts_blocks = [b[sl] for b in blk]
        pts = [c[sl] for c in coords]
        combo = np.stack(pts_blocks, axis=1) if len(pts[0]) else np.zeros((0, len(axes)), int)
        uniq, inv = np.unique(combo, axis=0, return_inverse=True)
        inv = np.asarray(inv).ravel()
        order = np.argsort(inv, kind="stable")
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        out_shape_lead = ((nr,) + tuple(bshape[1:])) if bshape else ()
        for rest in itertools.product(*[range(y.numblocks[a]) for a in rest_axes]):
            refs = []
            for u, ub in enumerate(uniq if len(uniq) else [np.zeros(len(axes), int)]):
                src = [0] * y.ndim
                for a, b in zip(axes, ub):
                    src[a] = int(b)
                for a, r in zip(rest_axes, rest):
                    src[a] = r
                sel = inv[order] == u if len(uniq) else np.zeros(0, bool)
                local = tuple(p[order][sel] - bnd[int(b)]
                              for p, bnd, b in zip(pts, bounds, ub))
                pk = (part_name, j) + rest + (u,)
                layer[pk] = Task(pk, _vindex_part, Ref((y.name,) + tuple(src)), tuple(axes),
                                 local)
                refs.append(Ref(pk))
            out_key = ((name,) + ((j,) if bshape else ()) + (0,) * max(len(bshape) - 1, 0)
                       + rest)
            layer[out_key] = Task(out_key, _vindex_assemble, inverse, out_shape_lead, *refs)
    out_chunks = ((tuple(rows_per),) + tuple((s,) for s in bshape[1:]) if bshape else ())
    out_chunks = out_chunks + tuple(y.chunks[a] for a in rest_axes)
    return Array(layer, name, out_chunks, y.dtype, (y,))


def _vindex_part(block: np.ndarray, axes: tuple, local: tuple) -> np.ndarray:
    moved = np.moveaxis(block, axes, tuple(range(len(axes))))
    return moved[local]


def _vindex_assemble(inverse: np.ndarray, lead: tuple, *parts: np.ndarray) -> np.ndarray:
    out = np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
    out = out[inverse]
    return out.reshape(lead + out.shape[1:])


# -- blocks -------------------------------------------------------------------------------

class BlockView:
    """``x.blocks[...]``: an array made of the selected blocks (ints keep their axis).

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(10), chunks=3)
    >>> x.blocks[1].compute(), x.blocks[::-2].chunks
    (array([3, 4, 5]), ((1, 3),))
    """

    def __init__(self, array: Array):
        self.array = array

    @property
    def size(self) -> int:
        return self.array.npartitions

    @property
    def shape(self) -> tuple:
        return self.array.numblocks

    def __getitem__(self, key: Any) -> Array:
        x = self.array
        if not isinstance(key, tuple):
            key = (key,)
        if any(k is None for k in key) or sum(k is Ellipsis for k in key) > 1:
            raise IndexError("blocks[...] accepts ints, slices, lists and one Ellipsis")
        if Ellipsis in key:
            i = key.index(Ellipsis)
            key = key[:i] + (slice(None),) * (x.ndim - len(key) + 1) + key[i + 1:]
        if len(key) > x.ndim:
            raise IndexError(f"too many indices for blocks of a {x.ndim}-d array")
        key = key + (slice(None),) * (x.ndim - len(key))
        picks = []
        for ax, k in enumerate(key):
            ids = np.arange(x.numblocks[ax])[k]  # NumPy raises IndexError when out of range
            picks.append([int(i) for i in np.atleast_1d(ids)])
        name = new_name("blocks")
        layer = {}
        for out_idx in itertools.product(*[range(len(p)) for p in picks]):
            src = tuple(p[i] for p, i in zip(picks, out_idx))
            layer[(name,) + out_idx] = Alias((name,) + out_idx, (x.name,) + src)
        chunks = tuple(tuple(x.chunks[ax][i] for i in p) for ax, p in enumerate(picks))
        return Array(layer, name, chunks, x.dtype, (x,))


# -- functions ----------------------------------------------------------------------------

@implements(np.take)
def take(a: Any, indices: Any, axis: int | None = None) -> Array:
    """Elements of ``a`` at ``indices`` along ``axis`` (``a`` flattened if None).

    >>> import numpy as np, plait.array as da
    >>> take(da.from_array(np.arange(10) * 2, chunks=4), [5, 1, 9]).compute()
    array([10,  2, 18])
    """
    a, axis = _array_and_axis(a, axis)
    return getitem(a, (slice(None),) * axis + (indices,))


def _array_and_axis(a: Any, axis: int | None) -> tuple:
    """``a`` as a plait array and ``axis`` normalised (None: the flattened array)."""
    a = asarray(a)
    if axis is None:
        from .reshape import ravel

        return ravel(a), 0
    axis = int(axis)
    if not -a.ndim <= axis < a.ndim:
        raise np.exceptions.AxisError(axis, a.ndim)
    return a, axis % a.ndim


@implements(np.compress)
def compress(condition: Any, a: Any, axis: int | None = None) -> Array:
    """Slices of ``a`` along ``axis`` where ``condition`` (1-d booleans) is true; a
    shorter NumPy condition counts as False beyond its end, like NumPy.

    >>> import numpy as np, plait.array as da
    >>> compress([True, False, True], da.from_array(np.arange(4), chunks=2)).compute()
    array([0, 2])
    """
    a, axis = _array_and_axis(a, axis)
    if not isinstance(condition, Array):
        condition = np.asarray(condition)
        if condition.ndim != 1:
            raise ValueError("condition must be a 1-d array")
        condition = condition.astype(bool)
        n = a.shape[axis]
        if len(condition) > n:
            raise IndexError(f"condition of length {len(condition)} is longer than axis "
                             f"{axis} of length {n}")
        condition = np.concatenate([condition, np.zeros(n - len(condition), bool)])
    elif condition.ndim != 1:
        raise ValueError("condition must be a 1-d array")
    else:
        condition = condition.astype(bool)
    return getitem(a, (slice(None),) * axis + (condition,))


@implements(np.argwhere)
def argwhere(a: Any) -> Array:
    """Indices of the non-zero elements, one row each (row count unknown: NaN chunks).

    >>> import numpy as np, plait.array as da
    >>> argwhere(da.from_array(np.array([[0, 1], [2, 0]]), chunks=1)).compute()
    array([[0, 1],
           [1, 0]])
    """
    a = asarray(a)
    if a.ndim == 0:
        raise ValueError("argwhere of a 0-d plait array is not supported; use a[None]")
    if any(_has_nan(c) for c in a.chunks):
        raise _unknown_error(0)
    a = _rows_whole(a)
    starts = chunk_boundaries(a.chunks[0])
    name = new_name("argwhere")
    layer = {}
    zeros = (0,) * (a.ndim - 1)
    for i in range(a.numblocks[0]):
        layer[(name, i, 0)] = Task((name, i, 0), _argwhere_block, Ref((a.name, i) + zeros),
                                   int(starts[i]))
    return Array(layer, name, ((math.nan,) * a.numblocks[0], (a.ndim,)), np.intp, (a,))


def _argwhere_block(block: np.ndarray, offset: int) -> np.ndarray:
    out = np.argwhere(block)
    out[:, 0] += offset
    return out


@implements(np.nonzero)
def nonzero(a: Any) -> tuple:
    """Indices of the non-zero elements, one 1-d array per axis (sizes unknown).

    >>> import numpy as np, plait.array as da
    >>> [i.compute() for i in nonzero(da.from_array(np.array([0, 3, 0, 4]), chunks=2))]
    [array([1, 3])]
    """
    ind = argwhere(a)
    return tuple(getitem(ind, (slice(None), i)) for i in range(ind.shape[1]))


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """``where(condition)`` is ``nonzero(condition)``; with ``x`` and ``y``, elements of
    ``x`` where ``condition`` holds, else of ``y``."""
    if x is None and y is None:
        return nonzero(condition)
    from .routines import where as where3

    return where3(condition, x, y)

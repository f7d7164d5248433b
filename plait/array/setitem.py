"""Item assignment on chunked arrays: ``x[key] = value`` builds a new graph and rebinds x.

A plait array is a description of a computation, so assignment cannot write into blocks
that may not exist yet. Instead ``x[key] = value`` makes a new array whose blocks are the
old blocks with the assignment applied (each task copies its block first, so the old
graph, and any NumPy array the blocks view, stay untouched), and ``x`` is rebound to it.
Other references to the old array keep denoting the old values.

Three plans:

- A boolean mask over the leading axes of ``x`` (shaped like ``x``, or like its first
  ``k`` axes; a plait or NumPy array) is applied block by block: block ``b`` of the
  result is block ``b`` of ``x`` with ``value`` copied where block ``b`` of the mask is
  true. No data moves between blocks. As in Dask, for a mask shaped like ``x`` the value
  is a scalar or an array broadcastable to ``x.shape`` (taken where the mask is true);
  for a mask over the leading axes it is, as in NumPy, a scalar or a row broadcastable
  to ``x.shape[k:]``.
- A key that selects a region (ints, slices with any step, ``Ellipsis``, ``None``, and
  at most one one-dimensional integer or boolean array along an axis): only the blocks
  that overlap it get a task, each receiving just its part of ``value``; the other
  blocks are aliases of the old ones.
- Any other NumPy key (several integer arrays, n-d integer arrays, an array apart from
  an int so that NumPy moves its dimension first, ``None`` with arrays, a NumPy mask
  given one value per true element) goes point by point through
  :mod:`plait.array.setitem_points`, with NumPy's exact semantics.

The value is cast to ``x.dtype`` as NumPy casts it (a float into an int array
truncates), must broadcast to the selected region's shape (``ValueError`` otherwise), and
out-of-range integers raise ``IndexError``, all when the assignment is made.
"""

from __future__ import annotations

import copy
import itertools
from numbers import Integral
from typing import Any

import numpy as np

from ..graph import Alias, Ref, Task
from .blockwise import blockwise
from .chunks import chunk_boundaries
from .core import Array, from_array, new_name
from .setitem_points import assign_points

__all__ = ["setitem"]


def setitem(x: Array, key: Any, value: Any) -> None:
    """Assign ``value`` to ``x[key]``: build the new array and rebind ``x`` to it.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(10), chunks=4)
    >>> x[x > 6] = 0
    >>> x[1:7:2] = -1
    >>> x.compute()
    array([ 0, -1,  2, -1,  4, -1,  6,  0,  0,  0])
    """
    # Build from a frozen copy of x: x itself is about to denote the new array, while
    # arrays made from it earlier (a mask such as ``x > 0``) must keep meaning the old one.
    old = copy.copy(x)
    new = _dispatch(old, key, value)
    # Arrays built from x before this assignment link to the object x; after the rebind
    # they reach the old blocks through ``old``, which the new array always links to.
    new._deps = tuple(new._deps) + (old,)
    x._rebind(new)


def _is_mask(k: Any) -> bool:
    return isinstance(k, (np.ndarray, Array)) and k.dtype == bool and k.ndim > 0


def _dispatch(x: Array, key: Any, value: Any) -> Array:
    """Pick the plan for ``x[key] = value``; return the new array."""
    if isinstance(key, Array) or _is_mask(key):
        return _masked(x, key, value)
    if isinstance(key, list):
        key = np.asarray(key)
    key = key if isinstance(key, tuple) else (key,)
    # Lists are arrays; True/False are 0-d boolean indices, not the integers 1/0.
    key = tuple(np.asarray(k) if isinstance(k, (list, bool, np.bool_)) else k for k in key)
    key = tuple(k.astype(np.intp) if isinstance(k, np.ndarray) and k.size == 0
                and k.dtype.kind == "f" else k for k in key)  # [] indexes nothing
    # A mask over the leading axes, followed only by ":" or "...".
    if key and _is_mask(key[0]) and all(
            k is Ellipsis or (isinstance(k, slice) and k == slice(None)) for k in key[1:]):
        return _masked(x, key[0], value)
    if any(isinstance(k, Array) for k in key):
        raise NotImplementedError(
            "x[..., plait_array, ...] = value is not supported: a plait array key must be "
            "a boolean mask over x's leading axes (x[mask] = value); compute other plait "
            "keys first (x[..., idx.compute()] = value)")
    if _needs_points(key, x.ndim):
        return assign_points(x, key, value)
    if any(k is None for k in key):
        key, value = _drop_new_axes(key, x.shape, value)
    return _region(x, key, value)


def _expand_ellipsis(key: tuple, ndim: int) -> tuple:
    consumed = sum(k.ndim if isinstance(k, np.ndarray) and k.dtype == bool else 1
                   for k in key if k is not None and k is not Ellipsis)
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, "
                         f"but {consumed} were indexed")
    for i, k in enumerate(key):
        if k is Ellipsis:
            return key[:i] + (slice(None),) * (ndim - consumed) + key[i + 1:]
    return key + (slice(None),) * (ndim - consumed)


def _needs_points(key: tuple, ndim: int) -> bool:
    """Whether ``key`` selects scattered points (see :mod:`plait.array.setitem_points`)
    rather than a region along axes."""
    key = _expand_ellipsis(key, ndim)
    arrays = [(i, k) for i, k in enumerate(key) if isinstance(k, np.ndarray)
              and not (k.ndim == 0 and k.dtype.kind in "iu")]
    if not arrays:
        return False
    if len(arrays) > 1 or any(k.ndim != 1 for _, k in arrays):
        return True
    if any(k is None for k in key):
        return True
    # One 1-d array with ints apart from it: NumPy puts its dimension first.
    adv = [i for i, k in enumerate(key) if isinstance(k, (Integral, np.ndarray))]
    return adv != list(range(adv[0], adv[-1] + 1))


def _drop_new_axes(key: tuple, shape: tuple, value: Any) -> tuple:
    """``key`` without ``None``, and ``value`` without the length-1 axes they add to the
    selection (after checking that it broadcasts to the selection with them)."""
    key = _expand_ellipsis(key, len(shape))
    target = []
    new_axes = []
    axis = 0
    for k in key:
        if k is None:
            new_axes.append(len(target))
            target.append(1)
            continue
        if isinstance(k, slice):
            target.append(len(range(*k.indices(shape[axis]))))
        elif isinstance(k, np.ndarray) and k.ndim == 1:
            target.append(int(k.sum()) if k.dtype == bool else len(k))
        axis += 1
    if not isinstance(value, Array):
        value = np.asarray(value)
    if value.ndim:
        value = _fit_value(value, tuple(target), f"the selection x[{key!r}]")
        lead = len(target) - value.ndim
        drop = [a - lead for a in new_axes if a >= lead]
        if drop:
            value = value[tuple(0 if v in drop else slice(None) for v in range(value.ndim))]
    return tuple(k for k in key if k is not None), value


# -- boolean masks -----------------------------------------------------------------------

def _assign_where(block: np.ndarray, mask: np.ndarray, value: Any) -> np.ndarray:
    """A copy of ``block`` with ``value`` (broadcast) copied where ``mask`` is true."""
    out = np.array(block, copy=True)  # a 0-d block may be a NumPy scalar
    # A mask over the leading axes applies to whole rows of the trailing ones.
    mask = np.reshape(mask, np.shape(mask) + (1,) * (out.ndim - np.ndim(mask)))
    np.copyto(out, value, casting="unsafe", where=mask)
    return out


def _masked(x: Array, mask: Any, value: Any) -> Array:
    """``x[mask] = value`` for a boolean mask over the leading ``mask.ndim`` axes.

    Values follow Dask for a mask shaped like ``x`` (a scalar, or an array broadcastable
    to ``x.shape``, taken where the mask is true) and NumPy for a mask over fewer axes (a
    scalar, or an array broadcastable to ``x.shape[mask.ndim:]``, the same for every
    selected row). With a NumPy mask, a value with one entry (row) per true element, as
    NumPy takes it, is assigned point by point.
    """
    if mask.dtype != bool:
        raise NotImplementedError(
            f"x[index_array] = value with a plait array of dtype {mask.dtype} is not "
            "supported; use a boolean mask shaped like x, or a NumPy integer array"
        )
    k = mask.ndim
    if k > x.ndim or tuple(mask.shape) != tuple(x.shape[:k]):
        raise IndexError(
            f"boolean index of shape {mask.shape} does not match the indexed array's "
            f"leading axes {x.shape[:k]}; a mask must have the shape of x or of its "
            "leading axes"
        )
    target = x.shape[k:] if k < x.ndim else x.shape
    if isinstance(mask, np.ndarray) and (value.ndim if isinstance(value, Array)
                                         else np.ndim(value)):
        try:
            _fit_value(value if isinstance(value, Array) else np.asarray(value), target,
                       "the masked array")
        except ValueError:
            # NumPy's form: one value (row) per true element.
            return assign_points(x, (mask,), value)
    if isinstance(mask, np.ndarray):
        mask = from_array(mask, chunks=x.chunks[:k])
    elif mask.chunks != x.chunks[:k]:
        mask = mask.rechunk(x.chunks[:k])
    ndim = x.ndim
    ind = tuple(range(ndim))
    if isinstance(value, Array):
        value = _fit_value(value, target, "the masked array")
        want = tuple(c if v != 1 else vc for c, v, vc in
                     zip(x.chunks[ndim - value.ndim:], value.shape, value.chunks))
        if value.chunks != want:
            value = value.rechunk(want)
        value_args = (value, ind[ndim - value.ndim:])
    else:
        value = _numpy_value(value, x.dtype)
        if value.ndim == 0:
            value_args = (value[()], None)
        else:
            value = _fit_value(value, target, "the masked array")
            value_args = (from_array(value, chunks=tuple(
                c if v != 1 else (1,) for c, v in zip(x.chunks[ndim - value.ndim:],
                                                       value.shape))),
                ind[ndim - value.ndim:])
    return blockwise(_assign_where, ind, x, ind, mask, ind[:k], *value_args,
                     token="setitem", dtype=x.dtype)


# -- regions: ints, slices, Ellipsis, one integer array ----------------------------------

def _assign_region(block: np.ndarray, index: tuple, value: Any,
                   value_take: tuple | None = None) -> np.ndarray:
    """A copy of ``block`` with ``block[index] = value`` (after ``value`` is cut along its
    integer-array axis by ``value_take = (axis, positions)``)."""
    if value_take is not None:
        value = np.take(value, value_take[1], axis=value_take[0])
    out = np.array(block, copy=True)
    out[index] = value
    return out


def _normalize_key(key: Any, shape: tuple) -> list:
    """One entry per axis: an int, a ``range`` (for slices) or an int ndarray."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is None for k in key):
        raise NotImplementedError("None (np.newaxis) in an assignment key is not supported")
    n_ellipsis = sum(1 for k in key if k is Ellipsis)
    if n_ellipsis > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(k.ndim if isinstance(k, np.ndarray) and k.dtype == bool else 1
                   for k in key if k is not Ellipsis)
    if consumed > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, "
                         f"but {consumed} were indexed")
    if n_ellipsis:
        i = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:i] + (slice(None),) * (len(shape) - consumed) + key[i + 1:]
    else:
        key = key + (slice(None),) * (len(shape) - consumed)
    out: list = []
    for axis, (k, n) in enumerate(zip(key, shape)):
        if isinstance(k, slice):
            out.append(range(*k.indices(n)))
        elif isinstance(k, (Integral, np.integer)) and not isinstance(k, (bool, np.bool_)):
            k = int(k)
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for axis {axis} with size {n}")
            out.append(k % n)
        else:
            out.append(_index_array(k, n, axis))
    if sum(isinstance(k, np.ndarray) for k in out) > 1:
        raise NotImplementedError(
            "assignment with integer arrays along more than one axis is not supported; "
            "assign along one axis at a time, or use a boolean mask shaped like x"
        )
    return out


def _index_array(k: Any, n: int, axis: int) -> Any:
    arr = np.asarray(k)
    if arr.dtype == bool:
        if arr.ndim != 1:
            raise NotImplementedError(
                "a boolean array key must be shaped like x, or one-dimensional along "
                f"one axis; got shape {arr.shape}"
            )
        if arr.shape[0] != n:
            raise IndexError(f"boolean index did not match indexed array along axis "
                             f"{axis}; size of axis is {n} but size of the boolean index "
                             f"is {arr.shape[0]}")
        return np.flatnonzero(arr)
    if arr.size == 0 and arr.dtype != np.intp:
        arr = arr.astype(np.intp)
    if not np.issubdtype(arr.dtype, np.integer):
        raise IndexError("only integers, slices (`:`), ellipsis (`...`) and integer or "
                         f"boolean arrays are valid indices; got {k!r}")
    if arr.ndim == 0:
        i = int(arr)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of bounds for axis {axis} with size {n}")
        return i % n
    if arr.ndim != 1:
        raise NotImplementedError(
            f"integer array keys must be one-dimensional; got shape {arr.shape}")
    bad = (arr < -n) | (arr >= n)
    if bad.any():
        raise IndexError(f"index {arr[bad][0]} is out of bounds for axis {axis} with "
                         f"size {n}")
    return arr.astype(np.intp) % n if n else arr.astype(np.intp)


def _numpy_value(value: Any, dtype: np.dtype) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim == 0:
        # Cast now, as NumPy would (an impossible value fails at assignment).
        probe = np.empty((), dtype=dtype)
        probe[()] = value
        return probe
    return arr


def _fit_value(value: Any, target: tuple, what: str) -> Any:
    """``value`` with surplus leading length-1 axes dropped, checked to broadcast to
    ``target``."""
    shape = tuple(value.shape)
    extra = len(shape) - len(target)
    if extra > 0 and all(s == 1 for s in shape[:extra]):
        value = _drop_leading_axes(value, extra)
        shape = shape[extra:]
    ok = len(shape) <= len(target) and all(
        v == 1 or v == t for v, t in zip(shape[::-1], target[::-1]))
    if not ok:
        raise ValueError(f"could not broadcast input array from shape {tuple(value.shape)} "
                         f"into shape {target} ({what})")
    return value


def _squeeze_leading(block: np.ndarray, extra: int) -> np.ndarray:
    return block.reshape(block.shape[extra:])


def _drop_leading_axes(value: Any, extra: int) -> Any:
    """``value`` without its first ``extra`` axes (all of length 1)."""
    if isinstance(value, np.ndarray):
        return value.reshape(value.shape[extra:])
    name = new_name("squeeze")
    layer = {}
    for idx in itertools.product(*[range(n) for n in value.numblocks[extra:]]):
        key = (name,) + idx
        layer[key] = Task(key, _squeeze_leading, Ref((value.name,) + (0,) * extra + idx),
                          extra)
    return Array(layer, name, value.chunks[extra:], value.dtype, (value,))


def _axis_pieces(item: Any, bounds: tuple) -> list:
    """For one axis: ``[(block, local index, value positions), ...]`` for the blocks the
    selection ``item`` touches. ``value positions`` is a slice of the selection's
    coordinates (None for an int, which drops the axis), or an int array for an
    integer-array item."""
    nblocks = len(bounds) - 1
    pieces = []
    if isinstance(item, int):
        for b in range(nblocks):
            if bounds[b] <= item < bounds[b + 1]:
                return [(b, item - bounds[b], None)]
        return []
    if isinstance(item, range):
        for b in range(nblocks):
            lo, hi = bounds[b], bounds[b + 1]
            # Positions k of the selection with lo <= start + k * step < hi.
            if item.step > 0:
                k0 = max(0, -(-(lo - item.start) // item.step))
                k1 = min(len(item), -(-(hi - item.start) // item.step))
            else:
                k0 = max(0, -(-(item.start - hi + 1) // -item.step))
                k1 = min(len(item), (item.start - lo) // -item.step + 1)
            if k0 >= k1:
                continue
            first = item[k0] - lo
            last = item[k1 - 1] - lo
            stop = last + (1 if item.step > 0 else -1)
            local = slice(first, stop if stop >= 0 else None, item.step)
            pieces.append((b, local, slice(k0, k1)))
        return pieces
    # Integer array: the last occurrence of each index wins, as in NumPy.
    rev_unique, rev_pos = np.unique(item[::-1], return_index=True)
    positions = len(item) - 1 - rev_pos
    for b in range(nblocks):
        inside = (rev_unique >= bounds[b]) & (rev_unique < bounds[b + 1])
        if inside.any():
            pieces.append((b, rev_unique[inside] - bounds[b], positions[inside]))
    return pieces


def _region(x: Array, key: Any, value: Any) -> Array:
    if any(isinstance(c, float) for chunks in x.chunks for c in chunks):
        raise ValueError(f"x[key] = value needs known chunks; x has unknown chunk sizes "
                         f"{x.chunks}; call x.compute_chunk_sizes() first")
    shape = x.shape
    items = _normalize_key(key, shape)
    target = tuple(len(k) for k in items if not isinstance(k, int))
    value_is_array = isinstance(value, Array)
    if not value_is_array:
        value = _numpy_value(value, x.dtype)
    if value.ndim:
        value = _fit_value(value, target, f"the selection x[{key!r}]")
    vndim = value.ndim
    # Axes of the selection, and which of them ``value`` spans (not broadcast).
    sel_axes = [a for a, k in enumerate(items) if not isinstance(k, int)]
    value_axis_of = {a: j - (len(target) - vndim) for j, a in enumerate(sel_axes)
                     if j >= len(target) - vndim}
    spans = {a: value.shape[v] != 1 for a, v in value_axis_of.items()}
    per_axis = [_axis_pieces(k, chunk_boundaries(c)) for k, c in zip(items, x.chunks)]

    if value_is_array:
        value = _align_value(value, items, per_axis, value_axis_of, spans)

    name = new_name("setitem")
    layer: dict = {}
    touched = set()
    for combo in itertools.product(*per_axis):
        idx = tuple(p[0] for p in combo)
        local = tuple(p[1] for p in combo)
        touched.add(idx)
        cut = [slice(None)] * vndim
        take = None
        vblock = [0] * vndim
        for axis, (_, _, pos) in enumerate(combo):
            v = value_axis_of.get(axis)
            if v is None or not spans[axis]:
                continue
            if isinstance(pos, slice):
                cut[v] = pos
                if value_is_array:
                    vblock[v] = _piece_number(per_axis[axis], pos)
            else:
                take = (v, pos)
        if value_is_array:
            part: Any = Ref((value.name,) + tuple(vblock))
        elif vndim:
            part = value[tuple(cut)]
            if take is not None:
                part, take = np.take(part, take[1], axis=take[0]), None
        else:
            part = value
        key_ = (name,) + idx
        layer[key_] = Task(key_, _assign_region, Ref((x.name,) + idx), local, part, take)
    for idx in itertools.product(*[range(n) for n in x.numblocks]):
        if idx not in touched:
            layer[(name,) + idx] = Alias((name,) + idx, (x.name,) + idx)
    deps = (x, value) if value_is_array else (x,)
    return Array(layer, name, x.chunks, x.dtype, deps)


def _piece_number(pieces: list, pos: slice) -> int:
    """Which block of the aligned value holds selection positions ``pos`` (the value's
    blocks follow the selection's order, which a negative step reverses)."""
    return sorted(p[2].start for p in pieces).index(pos.start)


def _align_value(value: Array, items: list, per_axis: list, value_axis_of: dict,
                 spans: dict) -> Array:
    """Rechunk a plait value so that its blocks are exactly the parts each touched block
    of x receives (one block along an integer-array axis, cut inside the task)."""
    chunks = list(value.chunks)
    for axis, v in value_axis_of.items():
        if not spans[axis]:
            continue
        if isinstance(items[axis], np.ndarray):
            chunks[v] = (value.shape[v],)
        else:
            pieces = sorted(per_axis[axis], key=lambda p: p[2].start)
            chunks[v] = tuple(p[2].stop - p[2].start for p in pieces) or (0,)
    chunks = tuple(chunks)
    return value if chunks == value.chunks else value.rechunk(chunks)

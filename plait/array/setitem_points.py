"""Item assignment through explicit coordinates: the key forms that select scattered
points rather than a region or a mask.

``x[[0, 2], [1, 3]] = v``, ``x[idx2d] = v``, ``x[idx, :, idx2] = v``, keys mixing array
indices with ``None``, an integer array separated from an int by a slice (NumPy then
moves the array's dimension first), and NumPy boolean masks given a value with one
entry per true element (NumPy's ``x[mask] = values``).

The key is resolved once, when the assignment is made, with NumPy's own indexing
applied to a zero-stride grid of each axis' positions: ``broadcast_to(arange(n_a),
x.shape)[key]`` is the axis-``a`` coordinate of every selected element, in the
selection's shape. NumPy's rules (broadcasting of the index arrays, where their
dimension goes, ``None``, bounds, shape checks) therefore hold exactly, and so do its
errors. ``value`` is broadcast to the selection's shape; where an element is selected
twice the last assignment wins, as in NumPy. Each block of ``x`` that holds selected
elements gets one task that copies it and writes its points; other blocks are aliases.

Memory: the coordinates of the selection are held while the graph is built (8 bytes
per element per axis), so this path suits point sets, not huge regions; slices alone
take the region plan in :mod:`plait.array.setitem`, which holds no coordinates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import Alias, Ref, Task
from .chunks import chunk_boundaries
from .core import Array, new_name

__all__ = ["assign_points", "selection_coords"]


def selection_coords(shape: tuple, key: tuple) -> tuple:
    """For each axis, the coordinate of every element ``key`` selects, in the shape of
    ``np.empty(shape)[key]`` (NumPy raises the IndexError it would raise there).

    >>> [c.tolist() for c in selection_coords((3, 4), ([0, 2], [1, 3]))]
    [[0, 2], [1, 3]]
    """
    out = []
    for a, n in enumerate(shape):
        grid = np.arange(n, dtype=np.intp).reshape([n if i == a else 1 for i in range(len(shape))])
        out.append(np.asarray(np.broadcast_to(grid, shape)[key]))
    return tuple(out)


def _assign_points(block: np.ndarray, local: tuple, values: np.ndarray) -> np.ndarray:
    out = np.array(block, copy=True)
    out[local] = values
    return out


def _cast_value(value: Any, dtype: np.dtype, shape: tuple) -> np.ndarray:
    """``value`` cast as NumPy's assignment casts it, broadcast to ``shape``, flattened."""
    arr = np.asarray(value)
    cast = np.empty(arr.shape, dtype=dtype)
    cast[...] = arr  # NumPy's casting, and its error for an impossible value
    try:
        return np.broadcast_to(cast, shape).ravel()
    except ValueError:
        raise ValueError(f"could not broadcast input array from shape {arr.shape} into "
                         f"shape {shape}") from None


def assign_points(x: Array, key: tuple, value: Any) -> Array:
    """A new array: ``x`` with ``x[key] = value`` applied point by point.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.zeros((3, 4), dtype=int), chunks=2)
    >>> assign_points(x, ([0, 2], [1, 3]), [5, 6]).compute()
    array([[0, 5, 0, 0],
           [0, 0, 0, 0],
           [0, 0, 0, 6]])
    """
    if any(isinstance(c, float) for chunks in x.chunks for c in chunks):
        raise ValueError(f"x[key] = value needs known chunks; x has unknown chunk sizes "
                         f"{x.chunks}; call x.compute_chunk_sizes() first")
    coords = selection_coords(x.shape, key)
    sel_shape = coords[0].shape if coords else ()
    value_is_array = isinstance(value, Array)
    if value_is_array:
        flat_value = _plait_flat_value(value, sel_shape, x.dtype)
    else:
        flat_value = _cast_value(value, x.dtype, sel_shape)
    flat = [c.ravel() for c in coords]
    # The last assignment to an element wins: keep the last occurrence of each point.
    linear = np.ravel_multi_index(flat, x.shape) if flat and flat[0].size else np.zeros(0, int)
    rev_unique, rev_pos = np.unique(linear[::-1], return_index=True)
    positions = len(linear) - 1 - rev_pos  # into the flattened selection, sorted by point
    points = np.unravel_index(rev_unique, x.shape)
    # Block of every point, then the points grouped by block.
    block_of = []
    local = []
    for a, c in enumerate(points):
        bounds = np.asarray(chunk_boundaries(x.chunks[a]))
        b = np.searchsorted(bounds, c, side="right") - 1
        block_of.append(b)
        local.append(c - bounds[b])
    block_lin = (np.ravel_multi_index(block_of, x.numblocks) if len(positions)
                 else np.zeros(0, int))
    order = np.argsort(block_lin, kind="stable")
    touched, starts = np.unique(block_lin[order], return_index=True)
    groups = np.split(order, starts[1:]) if len(order) else []

    if value_is_array:
        # One take of every needed value, chunked so that chunk g feeds block group g.
        wanted = np.concatenate([positions[g] for g in groups]) if groups else positions
        parts = flat_value[wanted].rechunk((tuple(len(g) for g in groups) or (0,),))
    name = new_name("setitem")
    layer: dict = {}
    done = set()
    for gi, (blin, g) in enumerate(zip(touched, groups)):
        idx = tuple(int(i) for i in np.unravel_index(int(blin), x.numblocks))
        done.add(idx)
        loc = tuple(lc[g] for lc in local)
        vals: Any = Ref((parts.name, gi)) if value_is_array else flat_value[positions[g]]
        k = (name,) + idx
        layer[k] = Task(k, _assign_points, Ref((x.name,) + idx), loc, vals)
    for idx in np.ndindex(*x.numblocks):
        if idx not in done:
            layer[(name,) + idx] = Alias((name,) + idx, (x.name,) + idx)
    deps = (x, parts) if value_is_array and groups else (x,)
    return Array(layer, name, x.chunks, x.dtype, deps)


def _plait_flat_value(value: Array, shape: tuple, dtype: np.dtype) -> Array:
    """A plait value broadcast to the selection's shape and flattened (1-d)."""
    from .reshape import ravel
    from .routines import broadcast_to

    try:
        np.broadcast_shapes(tuple(value.shape), shape)
        if len(value.shape) > len(shape) or np.broadcast_shapes(tuple(value.shape),
                                                                 shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"could not broadcast input array from shape {value.shape} into "
                         f"shape {shape}") from None
    if value.dtype != dtype:
        value = value.astype(dtype)
    if tuple(value.shape) != shape:
        value = broadcast_to(value, shape)
    return ravel(value)

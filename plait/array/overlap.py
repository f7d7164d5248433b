"""Overlapping blocks: each block borrows the edges of its neighbours.

:func:`overlap` gives every block a margin of ``depth`` elements taken from the
neighbouring blocks (and, at the array's edges, made by a boundary rule); a function
that needs neighbours, such as a filter or a stencil, can then run block by block with
:func:`map_overlap`, and :func:`trim_internal` cuts the margins off again.

Each overlapped block is one task that cuts the pieces it needs from at most its
neighbouring blocks along each axis (the whole array is never assembled). A margin
deeper than a block would need blocks further away, so such arrays are rechunked first
(``allow_rechunk=True``) until every block is at least as long as the margin.

Boundary rules (per axis): ``"reflect"`` mirrors the edge, repeating the edge element
(NumPy's ``np.pad(mode="symmetric")``), ``"periodic"`` wraps around, ``"nearest"``
repeats the edge element (``mode="edge"``), ``"none"`` adds no margin at the edge, and
any other value is a constant fill.
"""

from __future__ import annotations

import itertools
from numbers import Integral, Number
from typing import Any, Callable

import numpy as np

from ..graph import Ref, Task
from .chunks import chunk_boundaries
from .core import Array, asarray, concatenate_blocks, new_name

__all__ = ["overlap", "trim_internal", "trim_overlap", "map_overlap", "coerce_depth",
           "coerce_boundary", "ensure_minimum_chunksize"]

_MODES = ("reflect", "periodic", "nearest", "none")


# -- arguments ---------------------------------------------------------------------------

def _pair(d: Any, axis: int) -> tuple[int, int]:
    if isinstance(d, tuple):
        if len(d) != 2:
            raise ValueError(f"depth along axis {axis} must be an int or a (left, right) "
                             f"pair, got {d!r}")
        left, right = d
    else:
        left = right = d
    for v in (left, right):
        if not isinstance(v, Integral) or v < 0:
            raise ValueError(f"depth along axis {axis} must be a non-negative int, got {d!r}")
    return int(left), int(right)


def coerce_depth(ndim: int, depth: Any) -> dict[int, tuple[int, int]]:
    """Depth as ``{axis: (left, right)}`` for every axis.

    ``depth`` is an int (every axis), a tuple (one per axis) or a dict
    (``{axis: depth}``, missing axes 0); a dict value may be a ``(left, right)`` pair.

    >>> coerce_depth(2, 1)
    {0: (1, 1), 1: (1, 1)}
    >>> coerce_depth(2, {1: (0, 2)})
    {0: (0, 0), 1: (0, 2)}
    """
    if depth is None:
        depth = 0
    if isinstance(depth, Integral):
        given = {i: depth for i in range(ndim)}
    elif isinstance(depth, tuple):
        if len(depth) != ndim:
            raise ValueError(f"depth {depth!r} has {len(depth)} entries but the array has "
                             f"{ndim} axes: give one depth per axis, or a dict "
                             "{axis: depth}")
        given = dict(enumerate(depth))
    elif isinstance(depth, dict):
        given = {}
        for axis, d in depth.items():
            if not isinstance(axis, Integral) or not -ndim <= axis < max(ndim, 1):
                raise ValueError(f"depth names axis {axis!r}, but the array has {ndim} axes")
            given[int(axis) % ndim] = d
    else:
        raise TypeError(f"depth must be an int, a tuple or a dict, got "
                        f"{type(depth).__name__} {depth!r}")
    return {i: _pair(given.get(i, 0), i) for i in range(ndim)}


def _check_mode(b: Any, axis: int) -> Any:
    if isinstance(b, str) and b not in _MODES:
        raise ValueError(f"boundary {b!r} along axis {axis} is not known; use one of "
                         f"{', '.join(map(repr, _MODES))} or a constant number")
    if b is None:
        return "none"
    if not isinstance(b, (str, Number, np.generic)):
        raise TypeError(f"boundary along axis {axis} must be a mode name or a constant "
                        f"number, got {type(b).__name__} {b!r}")
    return b


def coerce_boundary(ndim: int, boundary: Any) -> dict[int, Any]:
    """Boundary rule for every axis (default ``"none"``).

    >>> coerce_boundary(2, "periodic")
    {0: 'periodic', 1: 'periodic'}
    >>> coerce_boundary(2, {0: 0.5})
    {0: 0.5, 1: 'none'}
    """
    if boundary is None:
        boundary = "none"
    if isinstance(boundary, dict):
        out = {i: "none" for i in range(ndim)}
        for axis, b in boundary.items():
            if not isinstance(axis, Integral) or not -ndim <= axis < max(ndim, 1):
                raise ValueError(f"boundary names axis {axis!r}, but the array has {ndim} "
                                 "axes")
            out[int(axis) % ndim] = _check_mode(b, int(axis) % ndim)
        return out
    if isinstance(boundary, tuple):
        if len(boundary) != ndim:
            raise ValueError(f"boundary {boundary!r} has {len(boundary)} entries but the "
                             f"array has {ndim} axes")
        return {i: _check_mode(b, i) for i, b in enumerate(boundary)}
    return {i: _check_mode(boundary, i) for i in range(ndim)}


def ensure_minimum_chunksize(size: int, chunks: tuple) -> tuple:
    """Chunks along one axis, merged with neighbours until each is at least ``size``
    long (one chunk if the axis is shorter than that).

    >>> ensure_minimum_chunksize(3, (2, 2, 2, 1))
    (4, 3)
    >>> ensure_minimum_chunksize(2, (5, 5))
    (5, 5)
    """
    if all(c >= size for c in chunks):
        return tuple(chunks)
    out: list = []
    acc = 0
    for c in chunks:
        acc += c
        if acc >= size:
            out.append(acc)
            acc = 0
    if acc:
        if out:
            out[-1] += acc
        else:
            out.append(acc)
    return tuple(out) or (0,)


def _rechunk_for_depth(x: Array, depth: dict, allow_rechunk: bool) -> Array:
    new = []
    changed = False
    for axis, chunks in enumerate(x.chunks):
        need = max(depth[axis])
        if need and len(chunks) > 1 and min(chunks) < need:
            if not allow_rechunk:
                raise ValueError(
                    f"depth {need} along axis {axis} is larger than the smallest chunk "
                    f"({min(chunks)}) of chunks {chunks}; rechunk first, e.g. "
                    f"x.rechunk({{{axis}: {max(need, max(chunks))}}}), or pass "
                    "allow_rechunk=True"
                )
            chunks = ensure_minimum_chunksize(need, chunks)
            changed = True
        new.append(chunks)
    return x.rechunk(tuple(new)) if changed else x


# -- building the overlapped blocks ---------------------------------------------------

def _split(start: int, stop: int, bounds: tuple) -> list:
    """Pieces ``("slice", block, slice_in_block)`` covering ``[start, stop)``."""
    out = []
    for b in range(len(bounds) - 1):
        lo, hi = max(start, bounds[b]), min(stop, bounds[b + 1])
        if hi > lo:
            out.append(("slice", b, slice(lo - bounds[b], hi - bounds[b]), hi - lo))
    return out


def _reversed_pieces(pieces: list) -> list:
    out = []
    for kind, b, s, n in reversed(pieces):
        out.append((kind, b, slice(s.stop - 1, s.start - 1 if s.start > 0 else None, -1), n))
    return out


def _outside(start: int, stop: int, n: int, bounds: tuple, mode: Any, axis: int) -> list:
    """Pieces for the indices ``[start, stop)`` that lie wholly before 0 or from ``n``."""
    length = stop - start
    if length <= 0 or mode == "none":
        return []
    if not isinstance(mode, str):
        return [("const", None, mode, length)]
    if mode == "nearest":
        if n == 0:
            raise ValueError(f"boundary 'nearest' along axis {axis} needs a non-empty axis")
        b = 0 if start < 0 else len(bounds) - 2
        while bounds[b + 1] == bounds[b]:  # skip empty blocks at the edge
            b += 1 if start < 0 else -1
        pos = 0 if start < 0 else bounds[b + 1] - bounds[b] - 1
        return [("repeat", b, pos, length)]
    if length > n:
        raise ValueError(f"depth {length} along axis {axis} is longer than the axis ({n}); "
                         f"boundary {mode!r} cannot fill it; use a smaller depth")
    if mode == "periodic":
        return _split(start + n if start < 0 else start - n,
                      stop + n if start < 0 else stop - n, bounds)
    # reflect: index j < 0 mirrors to -j - 1, index j >= n to 2n - 1 - j
    if start < 0:
        return _reversed_pieces(_split(-stop, -start, bounds))
    return _reversed_pieces(_split(2 * n - stop, 2 * n - start, bounds))


def _axis_pieces(i: int, chunks: tuple, left: int, right: int, mode: Any, axis: int) -> list:
    bounds = chunk_boundaries(chunks)
    n = bounds[-1]
    lo, hi = bounds[i], bounds[i + 1]
    pieces = _outside(lo - left, min(lo, 0), n, bounds, mode, axis)
    pieces += _split(max(lo - left, 0), lo, bounds)
    pieces.append(("slice", i, slice(0, hi - lo), hi - lo))
    pieces += _split(hi, min(hi + right, n), bounds)
    pieces += _outside(max(hi, n), hi + right, n, bounds, mode, axis)
    return pieces


def _leaf(combo: tuple, name: str) -> tuple:
    """One piece of an overlapped block: a constant, or a cut of one source block."""
    shape = tuple(p[3] for p in combo)
    for kind, _, value, _ in combo:
        if kind == "const":
            return ("const", shape, value)
    index = []
    repeats = []
    for axis, (kind, b, s, n) in enumerate(combo):
        if kind == "repeat":
            index.append(slice(s, s + 1))
            repeats.append((axis, n))
        else:
            index.append(s)
    block = (name,) + tuple(p[1] for p in combo)
    return ("cut", Ref(block), tuple(index), tuple(repeats))


def _nest(per_axis: list, name: str, prefix: tuple = ()) -> Any:
    if len(prefix) == len(per_axis):
        return _leaf(prefix, name)
    return [_nest(per_axis, name, prefix + (p,)) for p in per_axis[len(prefix)]]


def _make_leaf(leaf: tuple, dtype: np.dtype) -> np.ndarray:
    if leaf[0] == "const":
        return np.full(leaf[1], leaf[2], dtype=dtype)
    _, block, index, repeats = leaf
    out = block[index]
    for axis, n in repeats:
        out = np.repeat(out, n, axis=axis)
    return out


def _assemble(template: Any, ndim: int, dtype: np.dtype) -> np.ndarray:
    return concatenate_blocks(_build(template, dtype), ndim)


def _build(t: Any, dtype: np.dtype) -> Any:
    # Module-level recursion, not a self-calling closure: such a closure is a reference
    # cycle that would keep the neighbour blocks in ``template`` alive until the cyclic
    # garbage collector runs.
    if isinstance(t, list):
        return [_build(s, dtype) for s in t]
    return _make_leaf(t, dtype)


def overlap(x: Any, depth: Any, boundary: Any = None, *, allow_rechunk: bool = True) -> Array:
    """``x`` with every block extended by ``depth`` elements of its neighbours.

    At the array's edges the margin follows ``boundary`` (``"reflect"``,
    ``"periodic"``, ``"nearest"``, ``"none"`` or a constant; one for all axes, or a
    dict/tuple per axis). Blocks shorter than ``depth`` are merged with neighbours first
    when ``allow_rechunk`` (otherwise that is an error).

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(6), chunks=3)
    >>> y = overlap(x, depth=1, boundary="periodic")
    >>> y.chunks
    ((5, 5),)
    >>> y.compute()
    array([5, 0, 1, 2, 3, 2, 3, 4, 5, 0])
    """
    x = asarray(x)
    depth_ = coerce_depth(x.ndim, depth)
    bound = coerce_boundary(x.ndim, boundary)
    if all(d == (0, 0) for d in depth_.values()):
        return x
    x = _rechunk_for_depth(x, depth_, allow_rechunk)
    per_axis_block = [
        [_axis_pieces(i, chunks, *depth_[axis], bound[axis], axis) for i in range(len(chunks))]
        for axis, chunks in enumerate(x.chunks)
    ]
    out_chunks = tuple(tuple(sum(p[3] for p in pieces) for pieces in axis_pieces)
                       for axis_pieces in per_axis_block)
    name = new_name("overlap")
    layer = {}
    for idx in itertools.product(*[range(n) for n in x.numblocks]):
        per_axis = [per_axis_block[axis][i] for axis, i in enumerate(idx)]
        template = _nest(per_axis, x.name)
        key = (name,) + idx
        layer[key] = Task(key, _assemble, template, x.ndim, x.dtype)
    return Array(layer, name, out_chunks, x.dtype, (x,))


# -- trimming --------------------------------------------------------------------------

def _trim_block(block: np.ndarray, index: tuple) -> np.ndarray:
    return block[index]


def trim_internal(x: Array, axes: Any, boundary: Any = None) -> Array:
    """Cut the margins that :func:`overlap` added: ``axes`` gives the depth per axis
    (as :func:`coerce_depth` reads it); with boundary ``"none"`` the array's outer
    edges had no margin and are kept.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(10), chunks=5)
    >>> trim_internal(x, {0: 1}, boundary="reflect").compute()
    array([1, 2, 3, 6, 7, 8])
    """
    depth = coerce_depth(x.ndim, axes)
    bound = coerce_boundary(x.ndim, boundary)
    cuts = []
    for axis, chunks in enumerate(x.chunks):
        left, right = depth[axis]
        per_block = []
        for i, c in enumerate(chunks):
            edge_none = bound[axis] == "none"
            lo = 0 if (edge_none and i == 0) else left
            hi = 0 if (edge_none and i == len(chunks) - 1) else right
            if lo + hi > c:
                raise ValueError(f"cannot trim {lo} + {hi} elements from block {i} along "
                                 f"axis {axis}, which has only {c}; the function given to "
                                 "map_overlap must keep the overlapped block's shape "
                                 "(or pass trim=False)")
            per_block.append((lo, c - hi))
        cuts.append(per_block)
    if all(lo == 0 and hi == c for per_block, chunks in zip(cuts, x.chunks)
           for (lo, hi), c in zip(per_block, chunks)):
        return x
    name = new_name("trim")
    layer = {}
    for idx in itertools.product(*[range(n) for n in x.numblocks]):
        index = tuple(slice(*cuts[axis][i]) for axis, i in enumerate(idx))
        key = (name,) + idx
        layer[key] = Task(key, _trim_block, Ref((x.name,) + idx), index)
    chunks = tuple(tuple(hi - lo for lo, hi in per_block) for per_block in cuts)
    return Array(layer, name, chunks, x.dtype, (x,))


def trim_overlap(x: Array, depth: Any, boundary: Any = None) -> Array:
    """The inverse of :func:`overlap` (with the same ``depth`` and ``boundary``).

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(6), chunks=3)
    >>> trim_overlap(overlap(x, 1, "reflect"), 1, "reflect").compute()
    array([0, 1, 2, 3, 4, 5])
    """
    return trim_internal(x, depth, boundary)


# -- map_overlap -----------------------------------------------------------------------

def _per_array(value: Any, n: int, what: str) -> list:
    if isinstance(value, list):
        if len(value) != n:
            raise ValueError(f"{what} is a list of {len(value)} entries but there are {n} "
                             "arrays; give one per array, or one for all")
        return value
    return [value] * n


def _align(arrays: list, align_arrays: bool) -> list:
    if len(arrays) < 2:
        return arrays
    ndim = max(a.ndim for a in arrays)
    if align_arrays:
        from .blockwise import unify_chunks

        args: list = []
        for a in arrays:
            args += [a, tuple(range(ndim - a.ndim, ndim))]
        return list(unify_chunks(*args)[1])
    for a in arrays[1:]:
        ref = arrays[0]
        for k in range(1, min(a.ndim, ref.ndim) + 1):
            if a.numblocks[-k] != ref.numblocks[-k] and 1 not in (a.numblocks[-k],
                                                                  ref.numblocks[-k]):
                raise ValueError(f"arrays with chunks {ref.chunks} and {a.chunks} do not "
                                 "line up block by block; pass align_arrays=True")
    return arrays


def map_overlap(func: Callable, *args: Any, depth: Any = None, boundary: Any = None,
                trim: bool = True, align_arrays: bool = True, allow_rechunk: bool = True,
                **kwargs: Any) -> Array:
    """Apply ``func`` to overlapping blocks: each block sees ``depth`` elements of its
    neighbours (see :func:`overlap` for ``boundary``); with ``trim=True`` the margins
    are cut from the results.

    Both of Dask's forms work: ``map_overlap(func, x, y, depth=...)`` and the method
    ``x.map_overlap(func, depth, boundary=...)``. ``depth`` and ``boundary`` may be
    lists with one entry per array. Other keywords go to :func:`map_blocks` and
    ``func``.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.array([1., 2., 4., 8., 16., 32.]), chunks=2)
    >>> def diff(b):
    ...     return b - np.roll(b, 1)
    >>> map_overlap(diff, x, depth=1, boundary=0).compute()
    array([ 1.,  1.,  2.,  4.,  8., 16.])
    """
    if isinstance(func, Array) and args and callable(args[0]):
        # x.map_overlap(func, depth, boundary, trim) or map_overlap(x, func, ...)
        x, func, rest = func, args[0], list(args[1:])
        for value, kw in zip(rest, ("depth", "boundary", "trim")):
            if kw == "depth":
                depth = value
            elif kw == "boundary":
                boundary = value
            else:
                trim = value
        if len(rest) > 3:
            raise TypeError("x.map_overlap(func, depth, boundary, trim) takes at most "
                            f"three arguments after func, got {len(rest)}")
        args = (x,)
    if not callable(func):
        raise TypeError(f"map_overlap needs a function first (map_overlap(func, x, "
                        f"depth=...)), got {type(func).__name__}")
    if not args:
        raise TypeError("map_overlap needs at least one array after the function")
    arrays = _align([asarray(a) for a in args], align_arrays)
    depths = [coerce_depth(a.ndim, d)
              for a, d in zip(arrays, _per_array(depth, len(arrays), "depth"))]
    bounds = [coerce_boundary(a.ndim, b)
              for a, b in zip(arrays, _per_array(boundary, len(arrays), "boundary"))]
    if len(arrays) > 1:
        arrays = _common_min_chunks(arrays, depths, allow_rechunk)
    overlapped = [overlap(a, d, b, allow_rechunk=allow_rechunk)
                  for a, d, b in zip(arrays, depths, bounds)]
    kwargs.setdefault("token", getattr(func, "__name__", "map-overlap"))
    from .blockwise import map_blocks

    result = map_blocks(func, *overlapped, **kwargs)
    if not trim:
        return result
    # Trim with the depth of the highest-dimensional array (the first among equals).
    i = max(range(len(arrays)), key=lambda k: (arrays[k].ndim, -k))
    depth_i, bound_i = dict(depths[i]), dict(bounds[i])
    offset = max(a.ndim for a in arrays) - arrays[i].ndim
    depth_i = {k + offset: v for k, v in depth_i.items()}
    bound_i = {k + offset: v for k, v in bound_i.items()}
    drop = kwargs.get("drop_axis")
    if drop is not None:
        ndim = max(a.ndim for a in arrays)
        drop = {d % ndim for d in ((drop,) if isinstance(drop, Integral) else drop)}
        keep = [k for k in sorted(depth_i) if k not in drop]
        depth_i = {n: depth_i[k] for n, k in enumerate(keep)}
        bound_i = {n: bound_i[k] for n, k in enumerate(keep)}
    new = kwargs.get("new_axis")
    if new is not None:
        ndim = result.ndim
        new = sorted(p % ndim for p in ((new,) if isinstance(new, Integral) else new))
        old = [k for k in range(ndim) if k not in new]
        depth_i = {k: depth_i.get(o, (0, 0)) for o, k in enumerate(old)}
        bound_i = {k: bound_i.get(o, "none") for o, k in enumerate(old)}
    return trim_internal(result, depth_i, bound_i)


def _common_min_chunks(arrays: list, depths: list, allow_rechunk: bool) -> list:
    """Rechunk aligned arrays the same way, so their overlapped blocks still line up."""
    ndim = max(a.ndim for a in arrays)
    need = [0] * ndim
    for a, d in zip(arrays, depths):
        for axis in range(a.ndim):
            need[ndim - a.ndim + axis] = max(need[ndim - a.ndim + axis], *d[axis])
    out = []
    for a in arrays:
        off = ndim - a.ndim
        new = []
        for axis, chunks in enumerate(a.chunks):
            want = need[off + axis]
            if want and len(chunks) > 1 and min(chunks) < want:
                if not allow_rechunk:
                    raise ValueError(
                        f"depth {want} along axis {axis} is larger than the smallest "
                        f"chunk ({min(chunks)}) of chunks {chunks}; rechunk first or pass "
                        "allow_rechunk=True")
                chunks = ensure_minimum_chunksize(want, chunks)
            new.append(chunks)
        out.append(a.rechunk(tuple(new)) if tuple(new) != a.chunks else a)
    return out

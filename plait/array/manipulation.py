"""Array manipulation: stacking and splitting, padding, rolling and flipping, repeating,
triangles, top-k, sorting along one block, differences and gradients, membership.

Most functions are built from two block-level moves: :func:`_axis_range` (a contiguous
range along one axis, as pieces of the existing blocks) and :func:`flip` (blocks in
reverse order, each reversed), joined with :func:`concatenate`. So nothing is copied until
a consumer needs it, and results keep the input's chunking where they can.
"""

from __future__ import annotations

import builtins
import itertools
from functools import partial
from typing import Any, Sequence

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..graph import Ref, Task
from .blockwise import blockwise, map_blocks
from .core import Array, asarray, implements, new_name
from .routines import _ravel, atleast_1d, atleast_2d, atleast_3d, concatenate, expand_dims

__all__ = [
    "hstack", "vstack", "dstack", "split", "array_split", "pad", "roll", "flip", "flipud",
    "fliplr", "repeat", "tile", "triu", "tril", "topk", "argtopk", "sort", "diff",
    "gradient", "isin",
]


# -- block-level building blocks ---------------------------------------------------------

def _cut_axis(block: np.ndarray, axis: int, start: int, stop: int) -> np.ndarray:
    index = [slice(None)] * block.ndim
    index[axis] = slice(start, stop)
    return block[tuple(index)]


def _axis_range(x: Array, axis: int, start: int, stop: int) -> Array:
    """``x[..., start:stop, ...]`` along ``axis`` (0 <= start <= stop <= length)."""
    n = x.shape[axis]
    if any(c != c for c in x.chunks[axis]):
        raise ValueError(f"the chunk sizes along axis {axis} are unknown ({x.chunks[axis]});"
                         " call x.compute_chunk_sizes() first")
    if not 0 <= start <= stop <= n:
        raise ValueError(f"range {start}:{stop} is outside axis {axis} of length {n}")
    if start == 0 and stop == n:
        return x
    pieces = []  # (block along axis, start in block, stop in block)
    offset = 0
    for b, c in enumerate(x.chunks[axis]):
        lo, hi = builtins.max(start, offset), builtins.min(stop, offset + c)
        if lo < hi:
            pieces.append((b, lo - offset, hi - offset))
        offset += c
    if not pieces:  # an empty range: a zero-length cut of the first block
        pieces = [(0, 0, 0)]
    name = new_name("axis-range")
    layer = {}
    others = [range(k) for k in x.numblocks]
    others[axis] = range(len(pieces))
    for idx in itertools.product(*others):
        b, lo, hi = pieces[idx[axis]]
        src = idx[:axis] + (b,) + idx[axis + 1:]
        layer[(name,) + idx] = Task((name,) + idx, _cut_axis, Ref((x.name,) + src), axis, lo, hi)
    chunks = list(x.chunks)
    chunks[axis] = tuple(hi - lo for _, lo, hi in pieces)
    return Array(layer, name, tuple(chunks), x.dtype, (x,))


def _flip_block(block: np.ndarray, axes: tuple) -> np.ndarray:
    return np.flip(block, axis=axes)


@implements(np.flip)
def flip(m: Any, axis: Any = None) -> Array:
    """Reverse the order of elements along ``axis`` (all axes when None).

    >>> import numpy as np, plait.array as da
    >>> flip(da.from_array(np.arange(5), chunks=2)).compute()
    array([4, 3, 2, 1, 0])
    """
    m = asarray(m)
    axes = tuple(range(m.ndim)) if axis is None else normalize_axis_tuple(axis, m.ndim)
    if not axes:
        return m
    name = new_name("flip")
    layer = {}
    nb = m.numblocks
    for idx in itertools.product(*[range(k) for k in nb]):
        src = tuple(nb[a] - 1 - i if a in axes else i for a, i in enumerate(idx))
        layer[(name,) + idx] = Task((name,) + idx, _flip_block, Ref((m.name,) + src), axes)
    chunks = tuple(c[::-1] if a in axes else c for a, c in enumerate(m.chunks))
    return Array(layer, name, chunks, m.dtype, (m,))


@implements(np.flipud)
def flipud(m: Any) -> Array:
    """Reverse the order of elements along axis 0."""
    m = asarray(m)
    if m.ndim < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


@implements(np.fliplr)
def fliplr(m: Any) -> Array:
    """Reverse the order of elements along axis 1."""
    m = asarray(m)
    if m.ndim < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


def _gather_runs(x: Array, axis: int, index: np.ndarray) -> Array:
    """``np.take(x, index, axis)`` for an index made of runs of step +1 or -1 (as padding
    and rolling produce): one range (flipped where it descends) per run."""
    index = np.asarray(index, dtype=np.intp)
    if index.size == 0:
        return _axis_range(x, axis, 0, 0)
    parts = []
    start = 0
    while start < index.size:
        stop = start + 1
        step = 0
        if stop < index.size and abs(int(index[stop]) - int(index[start])) == 1:
            step = int(index[stop]) - int(index[start])
            while stop < index.size and int(index[stop]) - int(index[stop - 1]) == step:
                stop += 1
        lo, hi = int(index[start]), int(index[stop - 1])
        if step >= 0:
            parts.append(_axis_range(x, axis, lo, hi + 1))
        else:
            parts.append(flip(_axis_range(x, axis, hi, lo + 1), axis))
        start = stop
    return parts[0] if len(parts) == 1 else concatenate(parts, axis=axis)


# -- stacking and splitting ----------------------------------------------------------------

@implements(np.hstack)
def hstack(tup: Sequence, dtype: Any = None, casting: str = "same_kind") -> Array:
    """Stack arrays along the second axis (the first for 1-d arrays)."""
    arrays = [atleast_1d(asarray(a)) for a in tup]
    axis = 0 if arrays and arrays[0].ndim == 1 else 1
    return concatenate(arrays, axis=axis, dtype=dtype, casting=casting)


@implements(np.vstack)
def vstack(tup: Sequence, dtype: Any = None, casting: str = "same_kind") -> Array:
    """Stack arrays along the first axis (1-d arrays become rows).

    >>> import numpy as np, plait.array as da
    >>> vstack([da.arange(3, chunks=2), np.arange(3)]).compute()
    array([[0, 1, 2],
           [0, 1, 2]])
    """
    return concatenate([atleast_2d(asarray(a)) for a in tup], axis=0, dtype=dtype,
                       casting=casting)


@implements(np.dstack)
def dstack(tup: Sequence) -> Array:
    """Stack arrays along the third axis."""
    return concatenate([atleast_3d(asarray(a)) for a in tup], axis=2)


@implements(np.array_split)
def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """Split into sub-arrays; an int ``N`` gives ``N`` parts of near-equal length (the
    first ones one longer), a list gives the split points."""
    ary = asarray(ary)
    axis = normalize_axis_index(axis, ary.ndim)
    n = ary.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        points = np.cumsum([0] + sizes).tolist()
    else:
        points = [0] + [int(i) for i in indices_or_sections] + [n]
    out = []
    for lo, hi in zip(points[:-1], points[1:]):
        lo = builtins.min(builtins.max(lo + n if lo < 0 else lo, 0), n)
        hi = builtins.min(builtins.max(hi + n if hi < 0 else hi, 0), n)
        out.append(_axis_range(ary, axis, lo, builtins.max(lo, hi)))
    return out


@implements(np.split)
def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list:
    """Split into equal sub-arrays (an int must divide the axis length) or at indices.

    >>> import numpy as np, plait.array as da
    >>> [p.compute() for p in split(da.arange(6, chunks=4), 3)]
    [array([0, 1]), array([2, 3]), array([4, 5])]
    """
    ary = asarray(ary)
    if isinstance(indices_or_sections, (int, np.integer)):
        n = ary.shape[normalize_axis_index(axis, ary.ndim)]
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(f"array split does not result in an equal division: axis "
                             f"length {n} into {indices_or_sections} sections; use "
                             "array_split for unequal parts")
    return array_split(ary, indices_or_sections, axis)


# -- padding -------------------------------------------------------------------------------

def _pad_widths(pad_width: Any, ndim: int) -> list:
    pw = np.broadcast_to(np.asarray(pad_width, dtype=object), (ndim, 2))
    out = []
    for before, after in pw.tolist():
        if int(before) < 0 or int(after) < 0:
            raise ValueError(f"index can't contain negative values: pad_width={pad_width!r}")
        out.append((int(before), int(after)))
    return out


def _per_axis_values(values: Any, ndim: int) -> list:
    return np.broadcast_to(np.asarray(values, dtype=object), (ndim, 2)).tolist()


def _fill_like(x: Array, axis: int, width: int, value: Any) -> Array:
    from .creation import full

    shape = list(x.shape)
    shape[axis] = width
    chunks = list(x.chunks)
    chunks[axis] = (width,)
    return full(tuple(shape), value, dtype=x.dtype, chunks=tuple(chunks))


def _ramp_block(edge: np.ndarray, axis: int, end: Any, width: int, before: bool,
                dtype: np.dtype) -> np.ndarray:
    # NumPy: np.linspace(end, edge, width, endpoint=False), reversed after the array.
    steps = np.arange(width, dtype=np.float64).reshape(
        [width if a == axis else 1 for a in range(edge.ndim)])
    ramp = steps * ((edge.astype(np.float64) - end) / width) + end
    if not before:
        ramp = np.flip(ramp, axis)
    if np.issubdtype(dtype, np.integer):
        ramp = np.floor(ramp)  # np.linspace with an integer dtype rounds down
    return ramp.astype(dtype)


@implements(np.pad)
def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Array:
    """Pad an array like ``np.pad``. Modes: ``constant`` (``constant_values``),
    ``edge``, ``reflect``, ``symmetric``, ``wrap`` and ``linear_ramp`` (``end_values``).
    Axes are padded in order, as NumPy does, so corners match NumPy's.

    >>> import numpy as np, plait.array as da
    >>> pad(da.arange(4, chunks=2), (2, 1), mode="reflect").compute()
    array([2, 1, 0, 1, 2, 3, 2])
    """
    x = asarray(array)
    modes = ("constant", "edge", "reflect", "symmetric", "wrap", "linear_ramp")
    if mode not in modes:
        raise ValueError(f"pad mode {mode!r} is not supported; plait supports {modes}")
    allowed = {"constant": {"constant_values"}, "linear_ramp": {"end_values"},
               "reflect": {"reflect_type"}, "symmetric": {"reflect_type"}}.get(mode, set())
    unknown = set(kwargs) - allowed
    if unknown:
        raise ValueError(f"unsupported keyword arguments for mode {mode!r}: {sorted(unknown)}")
    if kwargs.get("reflect_type", "even") != "even":
        raise NotImplementedError("pad supports reflect_type='even' only")
    widths = _pad_widths(pad_width, x.ndim)
    values = _per_axis_values(kwargs.get("constant_values", kwargs.get("end_values", 0)),
                              x.ndim)
    for axis, (before, after) in enumerate(widths):
        if before == 0 and after == 0:
            continue
        n = x.shape[axis]
        if n == 0 and mode != "constant":
            raise ValueError(f"can't extend empty axis {axis} using modes other than "
                             "'constant' or 'empty'")
        if mode == "constant":
            parts = [_fill_like(x, axis, before, values[axis][0]) if before else None, x,
                     _fill_like(x, axis, after, values[axis][1]) if after else None]
            x = concatenate([p for p in parts if p is not None], axis=axis)
            continue
        if mode == "linear_ramp":
            parts = []
            for width, end, first in ((before, values[axis][0], True),
                                      (after, values[axis][1], False)):
                if width:
                    edge = _axis_range(x, axis, 0, 1) if first else _axis_range(x, axis, n - 1, n)
                    ramp = map_blocks(_ramp_block, edge, axis, end, width, first, x.dtype,
                                      dtype=x.dtype, token="linear-ramp")
                    ramp._chunks = tuple((width,) if a == axis else c
                                         for a, c in enumerate(ramp.chunks))
                    parts.append(ramp)
                else:
                    parts.append(None)
            x = concatenate([p for p in (parts[0], x, parts[1]) if p is not None], axis=axis)
            continue
        np_mode = mode
        index = np.pad(np.arange(n), (before, after), mode=np_mode)
        x = _gather_runs(x, axis, index)
    return x


# -- roll, repeat, tile ---------------------------------------------------------------------

@implements(np.roll)
def roll(array: Any, shift: Any, axis: Any = None) -> Array:
    """Roll elements along ``axis``; with ``axis=None`` the array is flattened (C
    order), rolled and given its shape back, as NumPy does.

    >>> import numpy as np, plait.array as da
    >>> roll(da.arange(5, chunks=2), 2).compute()
    array([3, 4, 0, 1, 2])
    >>> roll(da.arange(6, chunks=2).reshape(2, 3), 1).compute()
    array([[5, 0, 1],
           [2, 3, 4]])
    """
    x = asarray(array)
    if axis is None:
        if x.ndim != 1:
            from .reshape import ravel, reshape

            return reshape(roll(ravel(x), shift, 0), x.shape)
        axis = 0
    shifts = (shift,) if np.ndim(shift) == 0 else tuple(shift)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    if len(shifts) != len(axes):
        shifts, axes = np.broadcast_arrays(shifts, axes)
    total: dict = {}
    for s, a in zip(shifts, axes):
        a = normalize_axis_index(int(a), x.ndim)
        total[a] = total.get(a, 0) + int(s)
    for a, s in total.items():
        n = x.shape[a]
        if n == 0 or s % n == 0:
            continue
        s %= n
        x = concatenate([_axis_range(x, a, n - s, n), _axis_range(x, a, 0, n - s)], axis=a)
    return x


def _repeat_block(block: np.ndarray, repeats: int, axis: int) -> np.ndarray:
    return np.repeat(block, repeats, axis=axis)


@implements(np.repeat)
def repeat(a: Any, repeats: Any, axis: Any = None) -> Array:
    """Repeat each element ``repeats`` times (an int) along ``axis``.

    >>> import numpy as np, plait.array as da
    >>> repeat(da.arange(3, chunks=2), 2).compute()
    array([0, 0, 1, 1, 2, 2])
    """
    x = asarray(a)
    if not isinstance(repeats, (int, np.integer)):
        raise NotImplementedError("repeat supports an int number of repeats only, got "
                                  f"{type(repeats).__name__}")
    repeats = int(repeats)
    if repeats < 0:
        raise ValueError(f"repeats may not contain negative values, got {repeats}")
    if axis is None:
        x, axis = _ravel(x), 0
    axis = normalize_axis_index(axis, x.ndim)
    ind = tuple(range(x.ndim))
    return blockwise(_repeat_block, ind, x, ind, repeats=repeats, axis=axis, dtype=x.dtype,
                     adjust_chunks={axis: lambda c: c * repeats}, token="repeat")


@implements(np.tile)
def tile(A: Any, reps: Any) -> Array:
    """The array repeated ``reps`` times along each axis (whole copies).

    >>> import numpy as np, plait.array as da
    >>> tile(da.arange(3, chunks=2), 2).compute()
    array([0, 1, 2, 0, 1, 2])
    """
    x = asarray(A)
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"negative dimensions are not allowed: reps={reps}")
    if x.ndim < len(reps):
        x = expand_dims(x, tuple(range(len(reps) - x.ndim)))
    reps = (1,) * (x.ndim - len(reps)) + reps
    for axis, r in enumerate(reps):
        if r == 0:
            x = _axis_range(x, axis, 0, 0)
        elif r > 1:
            x = concatenate([x] * r, axis=axis)
    return x


# -- triangles -----------------------------------------------------------------------------

def _tri_block(block: np.ndarray, k: int, upper: bool) -> np.ndarray:
    return np.triu(block, k) if upper else np.tril(block, k)


def _triangle(m: Any, k: int, upper: bool) -> Array:
    m = asarray(m)
    if m.ndim < 2:
        raise ValueError(f"{'triu' if upper else 'tril'} needs an array of at least 2 "
                         f"dimensions, got shape {m.shape}")
    name = new_name("triu" if upper else "tril")
    rows = np.cumsum((0,) + m.chunks[-2][:-1]).tolist()
    cols = np.cumsum((0,) + m.chunks[-1][:-1]).tolist()
    layer = {}
    for idx in itertools.product(*[range(n) for n in m.numblocks]):
        shift = int(k) + rows[idx[-2]] - cols[idx[-1]]
        layer[(name,) + idx] = Task((name,) + idx, _tri_block, Ref((m.name,) + idx), shift, upper)
    return Array(layer, name, m.chunks, m.dtype, (m,))


@implements(np.triu)
def triu(m: Any, k: int = 0) -> Array:
    """The upper triangle (on and above diagonal ``k``) of the last two axes; the rest is
    zero.

    >>> import numpy as np, plait.array as da
    >>> triu(da.ones((3, 3), chunks=2, dtype=int)).compute()
    array([[1, 1, 1],
           [0, 1, 1],
           [0, 0, 1]])
    """
    return _triangle(m, k, True)


@implements(np.tril)
def tril(m: Any, k: int = 0) -> Array:
    """The lower triangle (on and below diagonal ``k``) of the last two axes."""
    return _triangle(m, k, False)


# -- top-k -----------------------------------------------------------------------------------

def _best(values: np.ndarray, k: int, axis: int) -> np.ndarray:
    """Positions (along ``axis``) of the ``|k|`` largest (k > 0) or smallest values, in
    order: largest first, or smallest first."""
    order = np.argsort(values, axis=axis, kind="stable")
    n = values.shape[axis]
    m = builtins.min(abs(k), n)
    picks = np.arange(n - 1, n - 1 - m, -1) if k > 0 else np.arange(m)
    return np.take(order, picks, axis=axis)


def _topk_chunk(block: np.ndarray, axis: tuple, keepdims: bool, k: int,
                offsets: tuple = (), shape: tuple = (), with_index: bool = False) -> Any:
    ax = axis[0]
    pos = _best(block, k, ax)
    values = np.take_along_axis(block, pos, axis=ax)
    if not with_index:
        return values
    return {"v": values, "i": pos + offsets[ax]}


def _topk_merge(parts: Any, axis: tuple, keepdims: bool, k: int,
                with_index: bool = False, final: bool = False) -> Any:
    ax = axis[0]
    values = parts["v"] if with_index else parts
    pos = _best(values, k, ax)
    chosen = np.take_along_axis(values, pos, axis=ax)
    if not with_index:
        return chosen
    index = np.take_along_axis(parts["i"], pos, axis=ax)
    return index if final else {"v": chosen, "i": index}


def _topk(prefix: str, a: Any, k: int, axis: int, split_every: Any, with_index: bool) -> Array:
    from .reductions import _block_offsets, _tree_reduce

    x = asarray(a)
    if x.ndim == 0:
        raise ValueError(f"{prefix} needs an array of at least one dimension")
    axis = normalize_axis_index(axis, x.ndim)
    k = int(k)
    if k == 0 or abs(k) > x.shape[axis]:
        raise ValueError(f"{prefix}: k={k} must be nonzero with |k| at most the length "
                         f"{x.shape[axis]} of axis {axis}")
    chunk = partial(_topk_chunk, k=k, with_index=with_index)
    combine = partial(_topk_merge, k=k, with_index=with_index)
    aggregate = partial(_topk_merge, k=k, with_index=with_index, final=True)
    dtype = np.dtype(np.intp) if with_index else x.dtype
    return _tree_reduce(x, (axis,), chunk, combine, aggregate, keepdims=True, dtype=dtype,
                        split_every=split_every, prefix=prefix, output_size=abs(k),
                        block_kwargs=_block_offsets(x) if with_index else None)


def topk(a: Any, k: int, axis: int = -1, split_every: Any = None) -> Array:
    """The ``k`` largest elements along ``axis``, largest first; a negative ``k`` gives
    the ``-k`` smallest, smallest first. A tree reduction: each block keeps its own
    best ``|k|``, then those are merged.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.array([5, 1, 9, 3, 7]), chunks=2)
    >>> topk(x, 2).compute(), topk(x, -2).compute()
    (array([9, 7]), array([1, 3]))
    """
    return _topk("topk", a, k, axis, split_every, with_index=False)


def argtopk(a: Any, k: int, axis: int = -1, split_every: Any = None) -> Array:
    """Indices of the ``k`` largest elements along ``axis`` (of the ``-k`` smallest for
    negative ``k``), in the order :func:`topk` gives the values.

    >>> import numpy as np, plait.array as da
    >>> argtopk(da.from_array(np.array([5, 1, 9, 3, 7]), chunks=2), 2).compute()
    array([2, 4])
    """
    return _topk("argtopk", a, k, axis, split_every, with_index=True)


# -- sort -------------------------------------------------------------------------------------

def _sort_block(block: np.ndarray, axis: int, kind: Any, order: Any) -> np.ndarray:
    return np.sort(block, axis=axis, kind=kind, order=order)


@implements(np.sort)
def sort(a: Any, axis: int = -1, kind: Any = None, order: Any = None) -> Array:
    """Sort along ``axis``; ``axis=None`` sorts the flattened array.

    Meant for small axes: each lane along ``axis`` is gathered into one block
    (``x.rechunk({axis: -1})``) and sorted by NumPy, so a task holds whole lanes (the
    whole array for ``axis=None``). For the largest or smallest few values of a long
    axis, :func:`topk` needs no such gathering.

    >>> import numpy as np, plait.array as da
    >>> sort(da.from_array(np.array([[3, 1, 2]]), chunks=(1, 2))).compute()
    array([[1, 2, 3]])
    """
    x = asarray(a)
    if axis is None:
        x, axis = _ravel(x), 0
    axis = normalize_axis_index(axis, x.ndim)
    if order is not None and x.dtype.names is None:
        raise ValueError("Cannot specify order when the array has no fields.")
    if x.numblocks[axis] > 1:
        x = x.rechunk({axis: -1})
    ind = tuple(range(x.ndim))
    return blockwise(_sort_block, ind, x, ind, axis=axis, kind=kind, order=order,
                     dtype=x.dtype, token="sort")


# -- differences and gradients ----------------------------------------------------------------

def _edge_operand(value: Any, x: Array, axis: int) -> Array:
    v = np.asarray(value) if not isinstance(value, Array) else value
    if v.ndim == 0:
        shape = list(x.shape)
        shape[axis] = 1
        v = np.broadcast_to(v, tuple(shape))
    return asarray(v)


@implements(np.diff)
def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Array:
    """The ``n``-th discrete difference along ``axis`` (across block boundaries).

    >>> import numpy as np, plait.array as da
    >>> diff(da.from_array(np.array([1, 4, 9, 16]), chunks=3)).compute()
    array([3, 5, 7])
    """
    x = asarray(a)
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    if n == 0:
        return x
    if x.ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = normalize_axis_index(axis, x.ndim)
    parts = []
    if prepend is not None:
        parts.append(_edge_operand(prepend, x, axis))
    parts.append(x)
    if append is not None:
        parts.append(_edge_operand(append, x, axis))
    if len(parts) > 1:
        x = concatenate(parts, axis=axis)
    for _ in range(n):
        length = x.shape[axis]
        if length == 0:
            break
        hi, lo = _axis_range(x, axis, 1, length), _axis_range(x, axis, 0, length - 1)
        x = (hi != lo) if x.dtype == bool else hi - lo
    return x


def _spacing(h: Any) -> Any:
    if np.ndim(h) == 0:
        return h
    if isinstance(h, Array):
        h = h.compute()  # coordinates are one small 1-d array per axis
    h = np.asarray(h, dtype=np.float64)
    if h.ndim != 1:
        raise ValueError(f"gradient spacings must be scalars or 1-d coordinate arrays; got "
                         f"an array of shape {h.shape}")
    return h


def _along(v: np.ndarray, ax: int, ndim: int) -> np.ndarray:
    """A 1-d array shaped to broadcast along axis ``ax`` of an ``ndim``-d array."""
    shape = [1] * ndim
    shape[ax] = len(v)
    return v.reshape(shape)


def _coordinate_gradient(x: Array, ax: int, h: np.ndarray, edge_order: int) -> Array:
    """NumPy's non-uniform-spacing gradient along ``ax`` with coordinates ``h``."""
    n = x.shape[ax]
    if len(h) != n:
        raise ValueError(f"when 1d, distances must match the length of the corresponding "
                         f"dimension: {len(h)} coordinates for length {n}")
    if edge_order != 1:
        raise NotImplementedError("gradient with coordinate arrays supports edge_order=1 "
                                  "only; pass edge_order=1")
    d = np.diff(h)
    d1, d2 = d[:-1], d[1:]
    a = -d2 / (d1 * (d1 + d2))
    b = (d2 - d1) / (d1 * d2)
    c = d1 / (d2 * (d1 + d2))

    def r(lo: int, hi: int) -> Array:
        return _axis_range(x, ax, lo, hi)

    nd = x.ndim
    interior = (_along(a, ax, nd) * r(0, n - 2) + _along(b, ax, nd) * r(1, n - 1)
                + _along(c, ax, nd) * r(2, n))
    first = (r(1, 2) - r(0, 1)) / d[0]
    last = (r(n - 1, n) - r(n - 2, n - 1)) / d[-1]
    return concatenate([first, interior, last], axis=ax)


@implements(np.gradient)
def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """The gradient by central differences inside and one-sided differences (first or
    second order, ``edge_order``) at the edges, like ``np.gradient``, with scalar
    spacings. One array for one axis, else a list (one per axis).

    >>> import numpy as np, plait.array as da
    >>> gradient(da.from_array(np.array([1., 2., 4., 7.]), chunks=2)).compute()
    array([1. , 1.5, 2.5, 3. ])
    """
    x = asarray(f)
    axes = tuple(range(x.ndim)) if axis is None else normalize_axis_tuple(axis, x.ndim)
    if edge_order not in (1, 2):
        raise ValueError("'edge_order' greater than 2 not supported")
    if len(varargs) == 0:
        spacings = [1.0] * len(axes)
    elif len(varargs) == 1:
        spacings = [_spacing(varargs[0])] * len(axes)
    elif len(varargs) == len(axes):
        spacings = [_spacing(h) for h in varargs]
    else:
        raise TypeError("invalid number of arguments")
    if x.dtype.kind in "iub":
        x = x.astype(np.float64)
    out = []
    for ax, h in zip(axes, spacings):
        n = x.shape[ax]
        if n < edge_order + 1:
            raise ValueError("Shape of array too small to calculate a numerical gradient, "
                             "at least (edge_order + 1) elements are required.")

        if np.ndim(h) == 1 and len(h) > 1 and (np.diff(h) == h[1] - h[0]).all():
            h = float(h[1] - h[0])  # evenly spaced: NumPy's uniform formula (NaNs stay local)
        if np.ndim(h) == 1:
            out.append(_coordinate_gradient(x, ax, h, edge_order).astype(x.dtype))
            continue

        def r(lo: int, hi: int, ax: int = ax) -> Array:
            return _axis_range(x, ax, lo, hi)

        interior = (r(2, n) - r(0, n - 2)) / (2.0 * h)
        if edge_order == 1:
            first = (r(1, 2) - r(0, 1)) / h
            last = (r(n - 1, n) - r(n - 2, n - 1)) / h
        else:
            first = (-1.5 * r(0, 1) + 2.0 * r(1, 2) - 0.5 * r(2, 3)) / h
            last = (0.5 * r(n - 3, n - 2) - 2.0 * r(n - 2, n - 1) + 1.5 * r(n - 1, n)) / h
        g = concatenate([first, interior, last], axis=ax).astype(x.dtype)
        out.append(g)
    return out[0] if len(out) == 1 else out


# -- membership --------------------------------------------------------------------------------

def _isin_block(element: np.ndarray, test: np.ndarray, invert: bool,
                assume_unique: bool) -> np.ndarray:
    return np.isin(element, test, invert=invert, assume_unique=assume_unique)


@implements(np.isin)
def isin(element: Any, test_elements: Any, assume_unique: bool = False,
         invert: bool = False) -> Array:
    """Whether each element of ``element`` is in ``test_elements`` (every block of
    ``element`` is tested against all of ``test_elements``).

    >>> import numpy as np, plait.array as da
    >>> isin(da.arange(5, chunks=2), [1, 3]).compute()
    array([False,  True, False,  True, False])
    """
    x = asarray(element)
    test = asarray(test_elements)
    test = _ravel(test) if test.ndim != 1 else test
    ind = tuple(range(x.ndim))
    return blockwise(_isin_block, ind, x, ind, test, (x.ndim,), invert=invert,
                     assume_unique=assume_unique, concatenate=True, dtype=bool, token="isin")

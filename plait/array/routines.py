"""Array manipulation and element-wise routines: axis shuffling (``transpose``,
``moveaxis``, ``squeeze``, ``expand_dims``), broadcasting, joining (``concatenate``,
``stack``, ``block``), and NumPy's element-wise helpers (``where``, ``clip``, ``isclose``).

Joining works on blocks, not data: the blocks of ``concatenate([x, y])`` are aliases of
the blocks of ``x`` and ``y``, so nothing is copied until a consumer needs it.
"""

from __future__ import annotations

import builtins
import itertools
from typing import Any, Sequence

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..graph import Alias, Ref, Task
from .blockwise import blockwise
from .chunks import common_chunks, normalize_chunks, unify_broadcast_chunks
from .core import Array, asarray, implements, new_name
from .ufunc import elemwise

__all__ = [
    "transpose", "transpose_property", "swapaxes", "moveaxis", "squeeze", "expand_dims",
    "broadcast_to", "broadcast_arrays", "where", "clip", "around", "round", "isclose",
    "allclose", "real", "imag", "conj", "stack", "concatenate", "block", "atleast_1d",
    "atleast_2d", "atleast_3d", "nan_to_num",
]


# -- axes -----------------------------------------------------------------------------

@implements(np.transpose)
def transpose(a: Any, axes: Any = None, *more_axes: int) -> Array:
    """``a`` with its axes permuted (reversed by default). Like ``ndarray.transpose``,
    the axes may also be given one by one: ``x.transpose(1, 0, 2)``.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(6).reshape(2, 3), chunks=(1, 2))
    >>> y = transpose(x)
    >>> y.shape, y.chunks
    ((3, 2), ((2, 1), (1, 1)))
    """
    a = asarray(a)
    if more_axes:
        axes = (axes,) + more_axes
    if axes is None:
        axes = tuple(range(a.ndim))[::-1]
    else:
        axes = tuple(axes)
        if len(axes) != a.ndim:
            raise ValueError(f"axes {axes} don't match array: a {a.ndim}-d array needs a "
                             f"permutation of {a.ndim} axes, e.g. {tuple(range(a.ndim))[::-1]}")
        axes = normalize_axis_tuple(axes, a.ndim)
    if axes == tuple(range(a.ndim)):
        return a
    return blockwise(np.transpose, axes, a, tuple(range(a.ndim)), axes=axes,
                     dtype=a.dtype, token="transpose")


def transpose_property(a: Array) -> Array:
    """``a.T``: the transpose."""
    return transpose(a)


@implements(np.swapaxes)
def swapaxes(a: Any, axis1: int, axis2: int) -> Array:
    """``a`` with two axes interchanged.

    >>> import numpy as np, plait.array as da
    >>> swapaxes(da.from_array(np.ones((2, 3, 4)), chunks=2), 0, 2).shape
    (4, 3, 2)
    """
    a = asarray(a)
    axis1, axis2 = normalize_axis_index(axis1, a.ndim), normalize_axis_index(axis2, a.ndim)
    order = list(range(a.ndim))
    order[axis1], order[axis2] = axis2, axis1
    return transpose(a, order)


@implements(np.moveaxis)
def moveaxis(a: Any, source: Any, destination: Any) -> Array:
    """``a`` with the axes ``source`` moved to positions ``destination``.

    >>> import numpy as np, plait.array as da
    >>> moveaxis(da.from_array(np.ones((2, 3, 4)), chunks=2), 0, -1).shape
    (3, 4, 2)
    """
    a = asarray(a)
    source = normalize_axis_tuple(source, a.ndim, "source")
    destination = normalize_axis_tuple(destination, a.ndim, "destination")
    if len(source) != len(destination):
        raise ValueError("`source` and `destination` arguments must have the same number "
                         f"of elements; got source={source}, destination={destination}")
    order = [n for n in range(a.ndim) if n not in source]
    for dest, src in sorted(zip(destination, source)):
        order.insert(dest, src)
    return transpose(a, order)


@implements(np.squeeze)
def squeeze(a: Any, axis: Any = None) -> Array:
    """``a`` without its axes of length one (or only those in ``axis``).

    >>> import numpy as np, plait.array as da
    >>> squeeze(da.from_array(np.ones((1, 3, 1)), chunks=2)).shape
    (3,)
    """
    a = asarray(a)
    if axis is None:
        axes = tuple(i for i, n in enumerate(a.shape) if n == 1)
    else:
        axes = normalize_axis_tuple(axis, a.ndim)
        wrong = [(i, a.shape[i]) for i in axes if a.shape[i] != 1]
        if wrong:
            raise ValueError("cannot select an axis to squeeze out which has size not "
                             f"equal to one: axis {wrong[0][0]} of shape {a.shape} has "
                             f"length {wrong[0][1]}")
    if not axes:
        return a
    if any(a.numblocks[i] > 1 for i in axes):  # length 1 split as (0, 1, 0) after filtering
        a = a.rechunk({i: -1 for i in axes})
    out_ind = tuple(i for i in range(a.ndim) if i not in axes)
    return blockwise(np.squeeze, out_ind, a, tuple(range(a.ndim)), axis=axes,
                     concatenate=True, dtype=a.dtype, token="squeeze")


@implements(np.expand_dims)
def expand_dims(a: Any, axis: Any) -> Array:
    """``a`` with new axes of length one inserted at positions ``axis``.

    >>> import numpy as np, plait.array as da
    >>> expand_dims(da.from_array(np.ones((3, 4)), chunks=2), (0, -1)).chunks
    ((1,), (2, 1), (2, 2), (1,))
    """
    a = asarray(a)
    if not isinstance(axis, (tuple, list)):
        axis = (axis,)
    out_ndim = a.ndim + len(axis)
    axes = normalize_axis_tuple(axis, out_ndim)
    old = iter(range(a.ndim))
    out_ind = tuple(f"new{i}" if i in axes else next(old) for i in range(out_ndim))
    return blockwise(np.expand_dims, out_ind, a, tuple(range(a.ndim)), axis=axes,
                     new_axes={f"new{i}": 1 for i in axes}, dtype=a.dtype,
                     token="expand-dims")


def _atleast(ndim: int, arys: tuple) -> Any:
    out = []
    for x in arys:
        x = asarray(x)
        if x.ndim < ndim:
            # NumPy's layouts: 0-d -> (1, 1, 1); (N,) -> (1, N[, 1]); (M, N) -> (M, N, 1).
            new = {(0, 1): (0,), (0, 2): (0, 1), (1, 2): (0,), (0, 3): (0, 1, 2),
                   (1, 3): (0, 2), (2, 3): (2,)}[(x.ndim, ndim)]
            x = expand_dims(x, new)
        out.append(x)
    return out[0] if len(out) == 1 else tuple(out)


@implements(np.atleast_1d)
def atleast_1d(*arys: Any) -> Any:
    """Each input with at least one axis (a tuple when given several)."""
    return _atleast(1, arys)


@implements(np.atleast_2d)
def atleast_2d(*arys: Any) -> Any:
    """Each input with at least two axes: ``(N,)`` becomes ``(1, N)``."""
    return _atleast(2, arys)


@implements(np.atleast_3d)
def atleast_3d(*arys: Any) -> Any:
    """Each input with at least three axes: ``(N,)`` -> ``(1, N, 1)``, ``(M, N)`` ->
    ``(M, N, 1)``.

    >>> import numpy as np, plait.array as da
    >>> atleast_3d(da.from_array(np.ones(4), chunks=2)).shape
    (1, 4, 1)
    """
    return _atleast(3, arys)


# -- broadcasting ---------------------------------------------------------------------

@implements(np.broadcast_to)
def broadcast_to(x: Any, shape: Any, chunks: Any = None) -> Array:
    """``x`` broadcast to ``shape`` (read-only views of its blocks, NumPy's rules).

    New leading axes and stretched length-1 axes are one block unless ``chunks`` says
    otherwise; along the other axes ``x`` is rechunked to ``chunks`` where they differ.

    >>> import numpy as np, plait.array as da
    >>> y = broadcast_to(da.from_array(np.arange(3), chunks=2), (2, 3))
    >>> y.chunks
    ((2,), (2, 1))
    >>> y.compute()
    array([[0, 1, 2],
           [0, 1, 2]])
    """
    x = asarray(x)
    shape = tuple(int(n) for n in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    off = len(shape) - x.ndim
    if off < 0 or any(n != 1 and n != m for n, m in zip(x.shape, shape[off:])):
        raise ValueError(f"cannot broadcast an array of shape {x.shape} to shape {shape}: "
                         "NumPy's rules apply (align on the last axes; each length must "
                         "equal the target's or be 1)")
    stretched = [off + j for j, n in enumerate(x.shape) if n != shape[off + j]]
    if chunks is None:
        out_chunks = tuple((n,) for n in shape[:off]) + tuple(
            (shape[off + j],) if off + j in stretched else c for j, c in enumerate(x.chunks))
    else:
        out_chunks = normalize_chunks(chunks, shape, dtype=x.dtype)
        keep = {j: out_chunks[off + j] for j in range(x.ndim) if off + j not in stretched}
        x = x.rechunk({j: c for j, c in keep.items() if c != x.chunks[j]}) if any(
            c != x.chunks[j] for j, c in keep.items()) else x
    if off == 0 and not stretched and out_chunks == x.chunks:
        return x
    name = new_name("broadcast-to")
    layer = {}
    for idx in itertools.product(*[range(len(c)) for c in out_chunks]):
        src = tuple(0 if off + j in stretched else idx[off + j] for j in range(x.ndim))
        block_shape = tuple(c[i] for c, i in zip(out_chunks, idx))
        key = (name,) + idx
        layer[key] = Task(key, np.broadcast_to, Ref((x.name,) + src), block_shape)
    return Array(layer, name, out_chunks, x.dtype, (x,))


@implements(np.broadcast_arrays)
def broadcast_arrays(*args: Any, subok: bool = False) -> tuple:
    """The inputs broadcast against each other, with their blocks lined up.

    >>> import numpy as np, plait.array as da
    >>> a = da.from_array(np.ones((3, 1)), chunks=2)
    >>> b = da.from_array(np.ones(4), chunks=3)
    >>> [y.chunks for y in broadcast_arrays(a, b)]
    [((2, 1), (3, 1)), ((2, 1), (3, 1))]
    """
    arrays = [asarray(a) for a in args]
    aligned = unify_broadcast_chunks(*[(a.shape, a.chunks) for a in arrays])
    out = []
    for a in arrays:
        out.append(broadcast_to(a, aligned.shape, chunks=aligned.chunks))
    return tuple(out)


# -- element-wise helpers -------------------------------------------------------------

@implements(np.where)
def where(condition: Any, x: Any = None, y: Any = None) -> Array:
    """Elements of ``x`` where ``condition`` holds, else of ``y`` (broadcast together).

    >>> import numpy as np, plait.array as da
    >>> c = da.from_array(np.array([True, False, True]), chunks=2)
    >>> where(c, 1, -1).compute()
    array([ 1, -1,  1])
    """
    if x is None and y is None:
        from .slicing import nonzero

        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("either both or neither of x and y should be given")
    if not any(isinstance(v, Array) for v in (condition, x, y)):
        condition = asarray(condition)
    return elemwise(np.where, condition, x, y)


@implements(np.clip)
def clip(a: Any, min: Any = None, max: Any = None, *, a_min: Any = None,
         a_max: Any = None) -> Array:
    """``a`` with values below ``min`` set to ``min`` and above ``max`` to ``max``."""
    lo = min if a_min is None else a_min
    hi = max if a_max is None else a_max
    return elemwise(np.clip, asarray(a), lo, hi)


@implements(np.round, np.around)
def around(a: Any, decimals: int = 0) -> Array:
    """``a`` rounded to ``decimals`` decimals (halves to even, as NumPy)."""
    return elemwise(np.round, asarray(a), decimals=decimals)


@implements(np.isclose)
def isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Array:
    """Element-wise ``|a - b| <= atol + rtol * |b|``."""
    if not isinstance(a, Array) and not isinstance(b, Array):
        a = asarray(a)
    return elemwise(np.isclose, a, b, rtol=rtol, atol=atol, equal_nan=equal_nan,
                    dtype=bool)


def _all_keepdims(block: np.ndarray) -> np.ndarray:
    return np.all(block, keepdims=True) if block.ndim else np.asarray(np.all(block))


def _all_0d(blocks: np.ndarray) -> np.ndarray:
    return np.asarray(np.all(blocks))


@implements(np.allclose)
def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> Array:
    """Whether all elements are close: a 0-d boolean plait array (``bool()`` computes it).

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(5.0), chunks=2)
    >>> bool(allclose(x, x + 1e-9)), bool(allclose(x, x + 1))
    (True, False)
    """
    close = isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    ind = tuple(range(close.ndim))
    # One boolean per block first, so the last task holds numblocks booleans, not data.
    per_block = blockwise(_all_keepdims, ind, close, ind, dtype=bool, token="allclose",
                          adjust_chunks={i: (1,) * n for i, n in enumerate(close.numblocks)})
    return blockwise(_all_0d, (), per_block, ind, concatenate=True, dtype=bool,
                     token="allclose")


@implements(np.real)
def real(a: Any) -> Array:
    """The real part (``x.real``)."""
    return elemwise(np.real, asarray(a))


@implements(np.imag)
def imag(a: Any) -> Array:
    """The imaginary part (``x.imag``)."""
    return elemwise(np.imag, asarray(a))


def conj(a: Any) -> Array:
    """The complex conjugate (``x.conj()``)."""
    return elemwise(np.conjugate, asarray(a))


@implements(np.nan_to_num)
def nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None,
               neginf: Any = None) -> Array:
    """``x`` with nan, +inf and -inf replaced by finite numbers. ``copy`` is accepted for
    NumPy's signature; blocks are never changed in place."""
    return elemwise(np.nan_to_num, asarray(x), nan=nan, posinf=posinf, neginf=neginf)


# -- joining --------------------------------------------------------------------------

def _ravel(x: Array) -> Array:
    """``x`` flattened in C order (see :func:`plait.array.reshape.ravel`)."""
    from .reshape import ravel

    return ravel(x)


@implements(np.concatenate)
def concatenate(seq: Sequence, axis: int | None = 0, *, dtype: Any = None,
                casting: str = "same_kind") -> Array:
    """Join arrays along an existing axis; the result's blocks are theirs
    (``axis=None`` joins the flattened arrays).

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(4), chunks=3)
    >>> y = concatenate([x, x])
    >>> y.chunks
    ((3, 1, 3, 1),)
    >>> y.compute()
    array([0, 1, 2, 3, 0, 1, 2, 3])
    """
    arrays = [asarray(a) for a in seq]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        arrays, axis = [_ravel(a) for a in arrays], 0
    ndim = arrays[0].ndim
    if ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    for i, a in enumerate(arrays):
        if a.ndim != ndim:
            raise ValueError("all the input arrays must have same number of dimensions, but "
                             f"the array at index 0 has {ndim} dimension(s) and the array "
                             f"at index {i} has {a.ndim} dimension(s)")
    axis = normalize_axis_index(axis, ndim)
    for d in range(ndim):
        if d == axis:
            continue
        for i, a in enumerate(arrays):
            if a.shape[d] != arrays[0].shape[d]:
                raise ValueError(
                    "all the input array dimensions except for the concatenation axis must "
                    f"match exactly, but along dimension {d}, the array at index 0 has "
                    f"size {arrays[0].shape[d]} and the array at index {i} has size "
                    f"{a.shape[d]}")
    dtype = _join_dtype(arrays, dtype, casting)
    common = {d: common_chunks(*[a.chunks[d] for a in arrays]) for d in range(ndim) if d != axis}
    aligned = []
    for a in arrays:
        a = a.astype(dtype)
        if any(a.chunks[d] != c for d, c in common.items()):
            a = a.rechunk(common)
        aligned.append(a)
    if len(aligned) == 1:
        return aligned[0]
    out_chunks = tuple(sum((a.chunks[axis] for a in aligned), ()) if d == axis else common[d]
                       for d in range(ndim))
    name = new_name("concatenate")
    layer = {}
    start = 0
    for a in aligned:
        for idx in itertools.product(*[range(n) for n in a.numblocks]):
            out_idx = idx[:axis] + (idx[axis] + start,) + idx[axis + 1:]
            layer[(name,) + out_idx] = Alias((name,) + out_idx, (a.name,) + idx)
        start += a.numblocks[axis]
    return Array(layer, name, out_chunks, dtype, tuple(aligned))


def _join_dtype(arrays: list, dtype: Any, casting: str) -> np.dtype:
    if dtype is None:
        return np.result_type(*[a.dtype for a in arrays])
    dtype = np.dtype(dtype)
    for a in arrays:
        if not np.can_cast(a.dtype, dtype, casting=casting):
            raise TypeError(f"Cannot cast array data from {a.dtype!r} to {dtype!r} according "
                            f"to the rule {casting!r}; pass casting='unsafe' to allow it")
    return dtype


@implements(np.stack)
def stack(seq: Sequence, axis: int = 0, *, dtype: Any = None,
          casting: str = "same_kind") -> Array:
    """Join arrays of one shape along a new axis.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(4), chunks=2)
    >>> stack([x, x + 1], axis=1).chunks
    ((2, 2), (1, 1))
    """
    arrays = [asarray(a) for a in seq]
    if not arrays:
        raise ValueError("need at least one array to stack")
    if any(a.shape != arrays[0].shape for a in arrays):
        raise ValueError("all input arrays must have the same shape; got "
                         + ", ".join(str(a.shape) for a in arrays))
    axis = normalize_axis_index(axis, arrays[0].ndim + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis, dtype=dtype,
                       casting=casting)


def _block_depth(obj: Any, where: str = "arrays") -> int:
    if isinstance(obj, tuple):
        raise TypeError(f"{where} is a tuple. Only lists can be used to arrange blocks, "
                        "and np.block does not allow implicit conversion from tuple to list")
    if not isinstance(obj, list):
        return 0
    if not obj:
        raise ValueError(f"List at {where} cannot be empty")
    depths = {_block_depth(o, f"{where}[{i}]") for i, o in enumerate(obj)}
    if len(depths) > 1:
        raise ValueError(f"List depths are mismatched inside {where}: the lists nest to "
                         f"depths {sorted(d + 1 for d in depths)}; every leaf must sit at "
                         "the same depth")
    return depths.pop() + 1


@implements(np.block)
def block(arrays: Any) -> Array:
    """One array from nested lists of blocks: the innermost lists join along the last
    axis, the next along the one before, ... (NumPy's ``np.block``).

    >>> import numpy as np, plait.array as da
    >>> a = da.from_array(np.ones((2, 2)), chunks=1)
    >>> block([[a, a * 0], [a * 0, a]]).compute()
    array([[1., 1., 0., 0.],
           [1., 1., 0., 0.],
           [0., 0., 1., 1.],
           [0., 0., 1., 1.]])
    """
    depth = _block_depth(arrays)

    def leaves(obj: Any) -> list:
        return [x for o in obj for x in leaves(o)] if isinstance(obj, list) else [obj]

    ndim = builtins.max([depth] + [asarray(x).ndim for x in leaves(arrays)])

    def join(obj: Any, level: int) -> Array:
        if level == depth:
            x = asarray(obj)
            return expand_dims(x, tuple(range(ndim - x.ndim))) if x.ndim < ndim else x
        return concatenate([join(o, level + 1) for o in obj], axis=level - depth)

    return join(arrays, 0)


round = around  # noqa: A001 - NumPy's name; x.round() looks it up here

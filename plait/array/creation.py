"""Array creation: constant, range, grid and identity arrays built block by block.

Every function here builds one task per block that makes its block from a handful of
numbers (a shape, an offset, a fill value), so a graph never carries a big array: a
100 GB ``ones`` costs a few hundred small tasks. Values are computed from each block's
global position, never accumulated from earlier blocks, so they equal NumPy's exactly
whatever the chunking.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..delayed import Delayed
from ..graph import Alias, Ref, Task
from ..tokenize import tokenize
from .chunks import chunk_boundaries, normalize_chunks, slices_from_chunks
from .core import HANDLED_FUNCTIONS, Array, asarray, implements

__all__ = [
    "arange", "diag", "empty", "empty_like", "eye", "from_delayed", "fromfunction", "full",
    "full_like", "indices", "linspace", "meshgrid", "ones", "ones_like", "tri", "zeros",
    "zeros_like",
]


# -- helpers -----------------------------------------------------------------------------

def _shape(shape: Any) -> tuple:
    """``shape`` as a tuple of Python ints (an int means a 1-d shape)."""
    shape = (shape,) if not isinstance(shape, (tuple, list)) else shape
    try:
        out = tuple(operator.index(n) for n in shape)
    except TypeError:
        raise TypeError(f"shape {shape!r} must hold whole numbers, e.g. (1000, 500)") from None
    if any(n < 0 for n in out):
        raise ValueError(f"negative dimensions are not allowed: shape {out}")
    return out


def _blocks(chunks: tuple) -> Iterator[tuple[tuple, tuple]]:
    """``(block index, slices into the whole array)`` for each block, in C order."""
    indices = itertools.product(*(range(len(c)) for c in chunks))
    return zip(indices, slices_from_chunks(chunks))


def _block_shape(slices: tuple) -> tuple:
    return tuple(s.stop - s.start for s in slices)


def _build(prefix: str, chunks: tuple, dtype: Any, name: str | None, token_args: tuple,
           make_task: Callable[[tuple, tuple, tuple], Task], deps: tuple = ()) -> Array:
    """An Array whose block ``idx`` is ``make_task(key, idx, slices)``."""
    name = name or f"{prefix}-{tokenize(prefix, chunks, np.dtype(dtype), *token_args)}"
    layer = {}
    for idx, slc in _blocks(chunks):
        key = (name,) + idx
        layer[key] = make_task(key, idx, slc)
    return Array(layer, name, chunks, dtype, deps)


# -- constant arrays ---------------------------------------------------------------------

def _filled(prefix: str, maker: Callable, shape: Any, dtype: Any, chunks: Any,
            name: str | None, *fill: Any) -> Array:
    shape = _shape(shape)
    dtype = np.dtype(dtype)
    chunks = normalize_chunks(chunks, shape, dtype=dtype)
    return _build(prefix, chunks, dtype, name, fill,
                  lambda key, idx, slc: Task(key, maker, _block_shape(slc), *fill, dtype))


def _constant(prefix: str, maker: Callable, what: str, example: str) -> Callable:
    def func(shape: Any, dtype: Any = float, order: str = "C", *, chunks: Any = "auto",
             name: str | None = None) -> Array:
        return _filled(prefix, maker, shape, dtype, chunks, name)

    func.__name__ = func.__qualname__ = prefix
    func.__doc__ = (f"{what}, of ``shape`` and ``dtype`` (float64 by default), cut into "
                    f"``chunks``; each block is made by its own task.\n\n{example}")
    return func


ones = _constant("ones", np.ones, "An array of ones", """    >>> ones((2, 3), dtype=int, chunks=2).compute()
    array([[1, 1, 1],
           [1, 1, 1]])
""")
zeros = _constant("zeros", np.zeros, "An array of zeros", """    >>> zeros(4, chunks=3).compute()
    array([0., 0., 0., 0.])
""")
empty = _constant("empty", np.empty, "An array of whatever memory held (fill it before "
                  "reading)", """    >>> empty((3, 4), chunks=2).chunks
    ((2, 1), (2, 2))
""")


def full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C", *,
         chunks: Any = "auto", name: str | None = None) -> Array:
    """An array filled with the scalar ``fill_value`` (dtype: the fill value's, by default).

    >>> full(3, 7, chunks=2).compute()
    array([7, 7, 7])
    """
    if np.ndim(fill_value) != 0:
        raise ValueError(f"full() takes a scalar fill_value, got one of shape "
                         f"{np.shape(fill_value)}; for an array pattern use "
                         f"broadcast_to(value, shape)")
    if dtype is None:
        dtype = np.asarray(fill_value).dtype
    fill_value = np.asarray(fill_value).reshape(())[()]
    return _filled("full", np.full, shape, dtype, chunks, name, fill_value)


def _like_args(a: Any, dtype: Any, chunks: Any, shape: Any) -> tuple:
    """Shape, dtype and chunks of a ``*_like`` result: ``a``'s unless overridden."""
    if not isinstance(a, Array):
        a = np.asarray(a)
    dtype = a.dtype if dtype is None else dtype
    if shape is None:
        shape = a.shape
    shape = _shape(shape)
    if chunks is None:
        chunks = a.chunks if isinstance(a, Array) and shape == a.shape else "auto"
    return shape, dtype, chunks


def _constant_like(maker: Callable, example: str) -> Callable:
    def func(a: Any, dtype: Any = None, order: str = "C", chunks: Any = None,
             name: str | None = None, shape: Any = None) -> Array:
        shape, dtype, chunks = _like_args(a, dtype, chunks, shape)
        return maker(shape, dtype, chunks=chunks, name=name)

    func.__name__ = func.__qualname__ = f"{maker.__name__}_like"
    func.__doc__ = (f"``{maker.__name__}`` with the shape, dtype and (for plait arrays) "
                    f"chunks of ``a``, each overridable.\n\n{example}")
    return func


ones_like = _constant_like(ones, """    >>> ones_like(np.arange(3)).compute()
    array([1, 1, 1])
""")
zeros_like = _constant_like(zeros, """    >>> zeros_like(np.ones((2, 2)), dtype=int).compute()
    array([[0, 0],
           [0, 0]])
""")
empty_like = _constant_like(empty, """    >>> empty_like(np.ones((2, 5)), chunks=2).chunks
    ((2,), (2, 2, 1))
""")


def full_like(a: Any, fill_value: Any, dtype: Any = None, order: str = "C",
              chunks: Any = None, name: str | None = None, shape: Any = None) -> Array:
    """``fill_value`` (cast to ``a``'s dtype, like NumPy) in the shape and chunks of ``a``.

    >>> full_like(np.arange(3), 2.5).compute()
    array([2, 2, 2])
    """
    shape, dtype, chunks = _like_args(a, dtype, chunks, shape)
    return full(shape, fill_value, dtype, chunks=chunks, name=name)


def _numpy_like(func: Callable) -> Callable:
    """``np.ones_like(x, ...)`` on a plait array: drop the options blocks cannot honour."""
    def impl(a: Any, *args: Any, order: Any = None, subok: Any = None, device: Any = None,
             **kwargs: Any) -> Array:
        return func(a, *args, **kwargs)
    return impl


def _numpy_shape_first(func: Callable) -> Callable:
    """``np.ones(shape, like=x)``: NumPy passes ``order=``/``device=`` we do not use."""
    def impl(*args: Any, order: Any = None, device: Any = None, **kwargs: Any) -> Array:
        return func(*args, **kwargs)
    return impl


for _np_func, _func in [(np.ones_like, ones_like), (np.zeros_like, zeros_like),
                        (np.empty_like, empty_like), (np.full_like, full_like)]:
    implements(_np_func)(_numpy_like(_func))
for _np_func, _func in [(np.ones, ones), (np.zeros, zeros), (np.empty, empty),
                        (np.full, full)]:
    implements(_np_func)(_numpy_shape_first(_func))


# -- ranges ------------------------------------------------------------------------------

def _arange_block(first: Any, second: Any, delta: Any, offset: int, n: int,
                  dtype: np.dtype) -> np.ndarray:
    # NumPy stores start and start + step, then fills start + i * delta: do the same
    # from the global index i so that every element is bit-for-bit NumPy's.
    i = np.arange(offset, offset + n)
    work = np.dtype(np.float32) if dtype == np.float16 else dtype  # as NumPy's half fill
    start, step = work.type(first), work.type(delta)
    out = (start + i.astype(work) * step).astype(dtype, copy=False)
    for pos, value in ((0, first), (1, second)):
        if offset <= pos < offset + n:
            out[pos - offset] = value
    return out


def arange(start: Any, stop: Any = None, step: Any = None, chunks: Any = "auto",
           dtype: Any = None, name: str | None = None) -> Array:
    """Evenly spaced values in ``[start, stop)``: NumPy's values exactly, float steps too.

    >>> arange(5, chunks=2).compute()
    array([0, 1, 2, 3, 4])
    >>> arange(0, 1, 0.25, chunks=3).compute()
    array([0.  , 0.25, 0.5 , 0.75])
    """
    if stop is None:
        start, stop = 0, start
    if step is None:
        step = 1
    if step == 0:
        raise ZeroDivisionError(f"arange({start}, {stop}, {step}): step must not be 0")
    if dtype is None:
        dtype = np.result_type(np.intp, *(np.asarray(v).dtype for v in (start, stop, step)))
    dtype = np.dtype(dtype)
    length = max(0, math.ceil((stop - start) / step))
    first, second = np.empty((), dtype), np.empty((), dtype)
    first[()] = start
    second[()] = start + step if length > 1 else start
    first, second = first[()], second[()]
    with np.errstate(all="ignore"):
        if dtype == np.float16:
            delta = np.float32(second) - np.float32(first)
        else:
            delta = second - first
    chunks = normalize_chunks(chunks, (length,), dtype=dtype)
    return _build("arange", chunks, dtype, name, (start, stop, step),
                  lambda key, idx, slc: Task(key, _arange_block, first, second, delta,
                                             slc[0].start, _block_shape(slc)[0], dtype))


def _linspace_block(start: np.ndarray, stop: np.ndarray, delta: Any, step: Any, div: int,
                    offset: int, n: int, num: int, endpoint: bool, dt: np.dtype,
                    dtype: np.dtype) -> np.ndarray:
    # NumPy's linspace arithmetic, applied to global indices offset .. offset + n.
    y = np.arange(offset, offset + n).astype(dt)
    if div > 0:
        if step == 0:
            y /= div
            y *= delta
        else:
            y *= step
    else:
        y = y * delta
    y += start
    if endpoint and num > 1 and offset + n == num:
        y[-1] = stop
    if np.issubdtype(dtype, np.integer):
        np.floor(y, out=y)
    return y.astype(dtype, copy=False)


def _as_arrays(*values: Any) -> list:
    """NumPy's conversion of linspace endpoints: Python scalars stay Python scalars
    (weakly typed) beside a NumPy value, and become arrays when all are Python."""
    python = [type(v) in (bool, int, float, complex) for v in values]
    if all(python):
        return [np.asarray(v) for v in values]
    return [v if p else np.asarray(v) for v, p in zip(values, python)]


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True,
             retstep: bool = False, chunks: Any = "auto", dtype: Any = None,
             name: str | None = None) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop``, equal to NumPy's.

    >>> linspace(0, 1, 5, chunks=2).compute()
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    >>> linspace(0, 1, 4, endpoint=False, retstep=True)[1]
    np.float64(0.25)
    """
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"linspace: number of samples num={num} must be non-negative")
    if np.ndim(start) or np.ndim(stop):
        raise NotImplementedError("plait's linspace takes scalar start and stop; for array "
                                  "endpoints use np.linspace and from_array")
    div = (num - 1) if endpoint else num
    start, stop = _as_arrays(start, stop)
    dt = np.result_type(start, stop)
    dt = dt if np.issubdtype(dt, np.inexact) else np.dtype(float)
    dtype = dt if dtype is None else np.dtype(dtype)
    delta = np.subtract(stop, start, dtype=dt)
    step = delta / div if div > 0 else np.nan
    chunks = normalize_chunks(chunks, (num,), dtype=dtype)
    out = _build("linspace", chunks, dtype, name, (start, stop, num, endpoint),
                 lambda key, idx, slc: Task(key, _linspace_block, start, stop, delta, step,
                                            div, slc[0].start, _block_shape(slc)[0], num,
                                            endpoint, dt, dtype))
    return (out, step) if retstep else out


# -- identity and triangles --------------------------------------------------------------

def _band(prefix: str, maker: Callable, N: int, M: int | None, k: int, dtype: Any,
          chunks: Any, name: str | None) -> Array:
    """An N x M array whose block at (row r0, column c0) is ``maker(rows, cols, k + r0 - c0)``:
    the band relation ``col - row == k`` shifted into the block's own coordinates."""
    M = N if M is None else M
    N, M, k = operator.index(N), operator.index(M), operator.index(k)
    dtype = np.dtype(dtype)
    chunks = normalize_chunks(chunks, _shape((N, M)), dtype=dtype)
    return _build(prefix, chunks, dtype, name, (k,),
                  lambda key, idx, slc: Task(key, maker, *_block_shape(slc),
                                             k + slc[0].start - slc[1].start, dtype))


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = float, chunks: Any = "auto",
        name: str | None = None) -> Array:
    """Ones on the ``k``-th diagonal of an N x M array, zeros elsewhere.

    >>> eye(3, k=1, dtype=int, chunks=2).compute()
    array([[0, 1, 0],
           [0, 0, 1],
           [0, 0, 0]])
    """
    return _band("eye", np.eye, N, M, k, dtype, chunks, name)


def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = float, chunks: Any = "auto",
        name: str | None = None) -> Array:
    """Ones at and below the ``k``-th diagonal of an N x M array.

    >>> tri(3, 4, k=-1, dtype=int, chunks=2).compute()
    array([[0, 0, 0, 0],
           [1, 0, 0, 0],
           [1, 1, 0, 0]])
    """
    return _band("tri", np.tri, N, M, k, dtype, chunks, name)


for _np_func, _func in [(np.eye, eye), (np.tri, tri)]:
    implements(_np_func)(_numpy_shape_first(_func))


def _diagonal_segment(block: np.ndarray, row: int, col: int, n: int) -> np.ndarray:
    return np.diagonal(block[row:row + n, col:col + n]).copy()


@implements(np.diag)
def diag(v: Any, k: int = 0) -> Array:
    """A 2-d array with ``v`` on diagonal ``k`` (1-d ``v``), or diagonal ``k`` of a 2-d ``v``.

    >>> diag(np.array([1, 2]), k=1).compute()
    array([[0, 1, 0],
           [0, 0, 2],
           [0, 0, 0]])
    >>> diag(np.arange(9).reshape(3, 3), k=-1).compute()
    array([3, 7])
    """
    v = asarray(v)
    k = operator.index(k)
    name = f"diag-{tokenize(v, k)}"
    if v.ndim == 1:
        vc, pad = v.chunks[0], (abs(k),) if k else ()
        rows, cols = (vc + pad, pad + vc) if k >= 0 else (pad + vc, vc + pad)
        shift = (0, 1 if k > 0 else 0) if k >= 0 else (1, 0)
        layer = {}
        for i, j in itertools.product(range(len(rows)), range(len(cols))):
            key = (name, i, j)
            a = i - shift[0]
            if 0 <= a < len(vc) and j - shift[1] == a:
                layer[key] = Task(key, np.diag, Ref((v.name, a)))
            else:
                layer[key] = Task(key, np.zeros, (rows[i], cols[j]), v.dtype)
        return Array(layer, name, (rows, cols), v.dtype, (v,))
    if v.ndim != 2:
        raise ValueError(f"diag takes a 1-d or 2-d array, got {v.ndim}-d (shape {v.shape}); "
                         f"for other arrays use diagonal(v, offset, axis1, axis2)")
    r_off, c_off = max(0, -k), max(0, k)
    length = max(0, min(v.shape[0] - r_off, v.shape[1] - c_off))
    rb, cb = chunk_boundaries(v.chunks[0]), chunk_boundaries(v.chunks[1])
    cuts = {0, length}
    cuts.update(b - r_off for b in rb if 0 < b - r_off < length)
    cuts.update(b - c_off for b in cb if 0 < b - c_off < length)
    cuts = sorted(cuts)
    layer = {}
    if length == 0:
        layer[(name, 0)] = Task((name, 0), np.empty, (0,), v.dtype)
        return Array(layer, name, ((0,),), v.dtype)
    for n, (t0, t1) in enumerate(zip(cuts, cuts[1:])):
        row, col = t0 + r_off, t0 + c_off
        a, b = bisect.bisect_right(rb, row) - 1, bisect.bisect_right(cb, col) - 1
        layer[(name, n)] = Task((name, n), _diagonal_segment, Ref((v.name, a, b)),
                                row - rb[a], col - cb[b], t1 - t0)
    sizes = tuple(t1 - t0 for t0, t1 in zip(cuts, cuts[1:]))
    return Array(layer, name, (sizes,), v.dtype, (v,))


# -- grids and coordinates ---------------------------------------------------------------

def _coordinates(slices: tuple, dtype: np.dtype) -> np.ndarray:
    """``indices`` of one block: out[i] holds the global index along axis i."""
    shape = _block_shape(slices)
    out = np.empty((len(shape),) + shape, dtype=dtype)
    for axis, s in enumerate(slices):
        view = [1] * len(shape)
        view[axis] = shape[axis]
        out[axis] = np.arange(s.start, s.stop).astype(dtype).reshape(view)
    return out


def _indices_block(slices: tuple, dtype: np.dtype) -> np.ndarray:
    return _coordinates(slices, dtype)


def indices(dimensions: Sequence[int], dtype: Any = int, chunks: Any = "auto",
            name: str | None = None) -> Array:
    """The grid of indices of an array of shape ``dimensions``, stacked on a first axis.

    >>> indices((2, 3), chunks=2).compute()[1]
    array([[0, 1, 2],
           [0, 1, 2]])
    """
    dims = _shape(tuple(dimensions))
    dtype = np.dtype(dtype)
    grid = normalize_chunks(chunks, dims, dtype=dtype)
    chunks = ((len(dims),),) + grid
    return _build("indices", chunks, dtype, name, (),
                  lambda key, idx, slc: Task(key, _indices_block, slc[1:], dtype))


def _fromfunction_block(function: Callable, slices: tuple, dtype: np.dtype,
                        kwargs: dict) -> np.ndarray:
    out = np.asarray(function(*_coordinates(slices, dtype), **kwargs))
    shape = _block_shape(slices)
    return out if out.shape == shape else np.broadcast_to(out, shape).copy()


def fromfunction(function: Callable, shape: Any, dtype: Any = float, chunks: Any = "auto",
                 name: str | None = None, **kwargs: Any) -> Array:
    """``function(*coordinates, **kwargs)`` on each block, given global coordinates of
    dtype ``dtype`` (as in NumPy); the result dtype is what ``function`` returns.

    >>> fromfunction(lambda i, j: i * 10 + j, (2, 3), dtype=int, chunks=2).compute()
    array([[ 0,  1,  2],
           [10, 11, 12]])
    """
    shape = _shape(shape)
    dtype = np.dtype(dtype)
    try:  # the result dtype, from a one-element call
        with np.errstate(all="ignore"):
            out_dtype = np.asarray(function(*np.zeros((len(shape),) + (1,) * len(shape),
                                                      dtype=dtype), **kwargs)).dtype
    except Exception:
        out_dtype = dtype
    chunks = normalize_chunks(chunks, shape, dtype=out_dtype)
    return _build("fromfunction", chunks, out_dtype, name, (function, dtype, kwargs),
                  lambda key, idx, slc: Task(key, _fromfunction_block, function, slc, dtype,
                                             kwargs))


implements(np.fromfunction)(fromfunction)


def _mesh_block(block: np.ndarray, shape: tuple, axis: int, sparse: bool) -> np.ndarray:
    view = [1] * len(shape)
    view[axis] = block.shape[0]
    out = block.reshape(view)
    return out.copy() if sparse else np.broadcast_to(out, shape).copy()


@implements(np.meshgrid)
def meshgrid(*xi: Any, indexing: str = "xy", sparse: bool = False, copy: bool = True) -> list:
    """Coordinate arrays from 1-d coordinate vectors, as ``np.meshgrid`` (a list).

    >>> x, y = meshgrid(np.arange(3), np.arange(2))
    >>> y.compute()
    array([[0, 0, 0],
           [1, 1, 1]])
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing={indexing!r}; use 'xy' (Cartesian) or 'ij' "
                         f"(matrix)")
    xs = []
    for x in xi:
        if not isinstance(x, Array):
            x = asarray(np.ravel(x))
        if x.ndim != 1:
            raise ValueError(f"meshgrid takes 1-d coordinate arrays, got shape {x.shape}; "
                             f"flatten it first")
        xs.append(x)
    nd = len(xs)
    axes = list(range(nd))
    if indexing == "xy" and nd > 1:
        axes[0], axes[1] = 1, 0
    grid_chunks = [()] * nd
    for x, axis in zip(xs, axes):
        grid_chunks[axis] = x.chunks[0]
    out = []
    for x, axis in zip(xs, axes):
        chunks = tuple(c if sparse is False or a == axis else (1,)
                       for a, c in enumerate(grid_chunks))
        name = f"meshgrid-{tokenize(x, axis, chunks, sparse)}"
        layer = {}
        for idx, slc in _blocks(chunks):
            layer[(name,) + idx] = Task((name,) + idx, _mesh_block, Ref((x.name, idx[axis])),
                                        _block_shape(slc), axis, sparse)
        out.append(Array(layer, name, chunks, x.dtype, (x,)))
    return out


# -- from a Delayed value ----------------------------------------------------------------

def from_delayed(value: Delayed, shape: Any, dtype: Any = None, meta: Any = None,
                 name: str | None = None) -> Array:
    """A one-block array whose block is the result of ``value`` (a plait Delayed).

    >>> import plait
    >>> d = plait.delayed(np.ones)(3)
    >>> from_delayed(d, (3,), dtype=float).compute()
    array([1., 1., 1.])
    """
    if not isinstance(value, Delayed):
        raise TypeError(f"from_delayed takes a plait Delayed, got {type(value).__name__}; "
                        f"wrap a value with plait.delayed(...) first")
    shape = tuple(shape)
    if dtype is None:
        dtype = getattr(meta, "dtype", float)
    dtype = np.dtype(dtype)
    name = name or f"from-value-{tokenize(value.key, shape, dtype)}"
    key = (name,) + (0,) * len(shape)
    return Array({key: Alias(key, value.key)}, name, tuple((n,) for n in shape), dtype,
                 (value,))


def _arange_numpy(*args: Any, dtype: Any = None, device: Any = None, **kwargs: Any) -> Array:
    if len(args) == 4:  # np.arange(start, stop, step, dtype)
        *args, dtype = args
    return arange(*args, dtype=dtype, **kwargs)


HANDLED_FUNCTIONS[np.arange] = _arange_numpy

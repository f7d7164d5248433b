"""The chunked Array collection.

An :class:`Array` is a grid of NumPy blocks: block ``(i, j)`` of array ``name`` is the
task ``(name, i, j)``; ``chunks`` says how long each block is along each axis. An Array
keeps its own layer of tasks and links to the arrays it was built from, so building an
expression costs the size of its layers and the graph is collected once when computed.

Metadata (shape, chunks, dtype) is known at build time, so shape and dtype errors are
raised by the operation that causes them, not deep inside a compute.
"""

from __future__ import annotations

import math
import operator
import warnings
from numbers import Integral, Number
from typing import Any, Callable

import numpy as np

from .. import annotations as _annotations
from ..collection import LayeredCollection, flatten_keys
from ..delayed import Delayed, _unique
from ..graph import Data, Ref, Task, convert_graph, cull, fuse_linear
from ..graph.subgraphs import fuse_closed_groups
from .chunks import chunks_to_slices, normalize_chunks

__all__ = ["Array", "new_name", "implements", "HANDLED_FUNCTIONS", "is_array"]

#: NumPy functions plait implements, for ``__array_function__``.
HANDLED_FUNCTIONS: dict[Callable, Callable] = {}


def implements(*numpy_functions: Callable) -> Callable:
    """Register a plait implementation of NumPy functions (``np.sum(x)`` on a plait
    array then calls it)."""

    def register(func: Callable) -> Callable:
        for f in numpy_functions:
            HANDLED_FUNCTIONS[f] = func
        return func

    return register


def new_name(prefix: str) -> str:
    """A fresh array name: ``prefix-<unique hex>``."""
    return f"{prefix}-{_unique()}"


def is_array(x: Any) -> bool:
    return isinstance(x, Array)


# -- finalize: blocks back into one NumPy array ------------------------------------------

def concatenate_blocks(blocks: Any, ndim: int) -> Any:
    """One array from nested lists of blocks (``ndim`` levels of nesting)."""
    if ndim == 0:
        return blocks
    if ndim == 1:
        return blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=0)
    return _concat_level(blocks, 0, ndim)


def _concat_level(blocks: Any, axis: int, ndim: int) -> Any:
    if axis == ndim - 1:
        return blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=axis)
    parts = [_concat_level(b, axis + 1, ndim) for b in blocks]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)


def _flat_blocks(blocks: Any, ndim: int, out: list) -> None:
    if ndim == 0:
        out.append(blocks)
    else:
        for b in blocks:
            _flat_blocks(b, ndim - 1, out)


def _assemble(blocks: Any, ndim: int) -> Any:
    """One array from nested lists of NumPy blocks, each copied once into place (joining
    level by level would copy the data once per axis with several blocks). None when
    the blocks are not all plain NumPy arrays of consistent shapes."""
    flat: list = []
    _flat_blocks(blocks, ndim, flat)
    if len(flat) < 2 or not all(type(b) is np.ndarray and b.ndim == ndim for b in flat):
        return None
    import itertools

    counts = []
    level = blocks
    for _ in range(ndim):
        counts.append(len(level))
        level = level[0]
    sizes: list = []
    for axis, n in enumerate(counts):
        stride = math.prod(counts[axis + 1:])
        sizes.append([flat[i * stride].shape[axis] for i in range(n)])
    starts = [np.concatenate(([0], np.cumsum(s))).tolist() for s in sizes]
    out = np.empty(tuple(int(st[-1]) for st in starts),
                   dtype=np.result_type(*{b.dtype for b in flat}))
    for b, idx in zip(flat, itertools.product(*[range(n) for n in counts])):
        where = tuple(slice(starts[a][i], starts[a][i + 1]) for a, i in enumerate(idx))
        if b.shape != tuple(s.stop - s.start for s in where):
            return None  # ragged blocks: let np.concatenate report the problem
        out[where] = b
    return out


def _finalize(results: Any, ndim: int) -> Any:
    if ndim >= 2:
        out = _assemble(results, ndim)
        if out is not None:
            return out
    return concatenate_blocks(results, ndim)


def _rebuild(graph: dict, name: str, chunks: tuple, dtype: Any) -> "Array":
    return Array(graph, name, chunks, dtype)


def _keys(name: str, numblocks: tuple, prefix: tuple = ()) -> Any:
    if not numblocks:
        return (name,) + prefix
    return [_keys(name, numblocks[1:], prefix + (i,)) for i in range(numblocks[0])]


def _block_index(key: Any) -> Any:
    """The block index of an array key ``(name, i, j, ...)``: the group for fusion."""
    if type(key) is tuple and len(key) > 1:
        return key[1:]
    return None


def optimize(dsk: dict, keys: list, **kwargs: Any) -> dict:
    """Cull; fuse each block's closed DAG of block-wise steps into one task (the same
    NumPy steps applied block by block, as in a loop of masked updates); then fuse the
    linear chains that are left (``x + 1`` then ``* 2`` on one block)."""
    culled, _ = cull(dsk, keys)
    grouped = fuse_closed_groups(culled, keys, _block_index)
    fused, _ = fuse_linear(grouped, keys)
    return fused


class Array(LayeredCollection):
    """A chunked N-dimensional array with the NumPy API.

    Made by :func:`plait.array.from_array`, creation functions such as
    :func:`plait.array.ones`, or operations on other arrays. ``Array(dsk, name, chunks,
    dtype)`` wraps a graph whose keys ``(name, i, j, ...)`` hold the blocks.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(6).reshape(2, 3), chunks=(1, 2))
    >>> x.chunks, x.numblocks
    (((1, 1), (2, 1)), (2, 2))
    >>> (x + 1).compute()
    array([[1, 2, 3],
           [4, 5, 6]])
    """

    __plait_scheduler__ = "threads"
    __array_priority__ = 11
    __slots__ = ("name", "_chunks", "_dtype", "_layer", "_deps", "__weakref__")

    def __init__(self, dsk: dict, name: str, chunks: Any, dtype: Any = None,
                 deps: tuple = (), shape: tuple | None = None):
        self.name = name
        if shape is None:
            if not isinstance(chunks, tuple) or not all(isinstance(c, tuple) for c in chunks):
                raise ValueError(
                    f"Array needs explicit chunks (a tuple of tuples) or a shape; got "
                    f"chunks={chunks!r}"
                )
            self._chunks = chunks
        else:
            self._chunks = normalize_chunks(chunks, shape, dtype=np.dtype(dtype) if dtype is not None else None)
        self._dtype = np.dtype(dtype) if dtype is not None else np.dtype(float)
        self._layer = convert_graph(dsk)
        self._deps = tuple(deps)
        if _annotations._current is not None:  # inside plait.annotate(...)
            _annotations.note(self, self._layer)

    # -- metadata ----------------------------------------------------------------------
    @property
    def chunks(self) -> tuple:
        return self._chunks

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def shape(self) -> tuple:
        return tuple(_axis_length(c) for c in self._chunks)

    @property
    def ndim(self) -> int:
        return len(self._chunks)

    @property
    def size(self) -> Any:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> Any:
        return self.size * self._dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._dtype.itemsize

    @property
    def numblocks(self) -> tuple:
        return tuple(len(c) for c in self._chunks)

    @property
    def npartitions(self) -> int:
        return math.prod(self.numblocks)

    @property
    def chunksize(self) -> tuple:
        return tuple(max(c) if c else 0 for c in self._chunks)

    def __len__(self) -> int:
        if not self._chunks:
            raise TypeError("len() of unsized object (a 0-d array)")
        return self.shape[0]

    # -- collection protocol -----------------------------------------------------------
    def __plait_keys__(self) -> Any:
        return _keys(self.name, self.numblocks)

    def __plait_postcompute__(self) -> tuple:
        return _finalize, (self.ndim,)

    def __plait_postpersist__(self) -> tuple:
        return _rebuild, (self.name, self._chunks, self._dtype)

    def __plait_tokenize__(self) -> Any:
        return ("array", self.name)

    __plait_optimize__ = staticmethod(optimize)

    def to_delayed(self, optimize_graph: bool = True) -> np.ndarray:
        """An object array of Delayed values, one per block."""
        graph = self.__plait_graph__()
        keys = self.__plait_keys__()
        flat = flatten_keys(keys)
        if optimize_graph:
            graph = optimize(graph, flat)
        out = np.empty(self.numblocks, dtype=object)
        for k in flat:
            out[k[1:]] = Delayed(k, graph)
        return out

    # -- conversion --------------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if self.nbytes > 2**30:
            warnings.warn(
                f"converting a plait array of {self.nbytes / 2**30:.1f} GiB to NumPy "
                "computes all of it in memory; call .compute() explicitly if you mean it",
                UserWarning,
                stacklevel=2,
            )
        x = self.compute()
        return np.asarray(x, dtype=dtype) if dtype is not None else np.asarray(x)

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"the truth value of an array with {self.size} elements is ambiguous; "
                "use .any() or .all(), then .compute()"
            )
        return bool(self.compute())

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __complex__(self) -> complex:
        return complex(self._scalar("complex"))

    def __index__(self) -> int:
        return operator.index(self._scalar("index"))

    def _scalar(self, what: str) -> Any:
        if self.size != 1:
            raise TypeError(f"only size-1 arrays can be converted to {what}; this has "
                            f"shape {self.shape}")
        return self.compute().reshape(())[()]

    def __iter__(self):
        if not self._chunks:
            raise TypeError("iteration over a 0-d array")
        for i in range(self.shape[0]):
            yield _row(self, i)

    def __repr__(self) -> str:
        chunksize = self.chunksize
        return (f"plait.array<{self.name.rsplit('-', 1)[0]}, shape={self.shape}, "
                f"dtype={self._dtype}, chunksize={chunksize}, chunktype=numpy.ndarray>")

    def _repr_html_(self) -> str:
        from .display import array_html

        return array_html(self)

    # -- NumPy protocols ---------------------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        from .ufunc import array_ufunc

        return array_ufunc(ufunc, method, *inputs, **kwargs)

    def __array_function__(self, func: Callable, types: tuple, args: tuple, kwargs: dict) -> Any:
        impl = HANDLED_FUNCTIONS.get(func)
        if impl is None:
            # Importing the API modules registers their implementations.
            from . import _register_all

            _register_all()
            impl = HANDLED_FUNCTIONS.get(func)
        if impl is None:
            name = f"{getattr(func, '__module__', 'numpy')}.{getattr(func, '__name__', func)}"
            raise TypeError(
                f"plait.array does not implement {name}. Compute the array first "
                f"(np.{getattr(func, '__name__', '?')}(x.compute())), or apply it block by "
                "block with x.map_blocks(...) if it works on blocks independently"
            )
        for t in types:
            if not (issubclass(t, (Array, np.ndarray)) or t in (int, float, complex)):
                return NotImplemented
        return impl(*args, **kwargs)

    # -- element-wise operators (through the ufunc machinery) ------------------------
    def _binop(self, op: Callable, other: Any, reflected: bool = False) -> Any:
        if _defer(other):
            return NotImplemented
        from .ufunc import elemwise

        return elemwise(op, other, self) if reflected else elemwise(op, self, other)

    def __add__(self, o): return self._binop(operator.add, o)
    def __radd__(self, o): return self._binop(operator.add, o, True)
    def __sub__(self, o): return self._binop(operator.sub, o)
    def __rsub__(self, o): return self._binop(operator.sub, o, True)
    def __mul__(self, o): return self._binop(operator.mul, o)
    def __rmul__(self, o): return self._binop(operator.mul, o, True)
    def __truediv__(self, o): return self._binop(operator.truediv, o)
    def __rtruediv__(self, o): return self._binop(operator.truediv, o, True)
    def __floordiv__(self, o): return self._binop(operator.floordiv, o)
    def __rfloordiv__(self, o): return self._binop(operator.floordiv, o, True)
    def __mod__(self, o): return self._binop(operator.mod, o)
    def __rmod__(self, o): return self._binop(operator.mod, o, True)
    def __pow__(self, o): return self._binop(operator.pow, o)
    def __rpow__(self, o): return self._binop(operator.pow, o, True)
    def __and__(self, o): return self._binop(operator.and_, o)
    def __rand__(self, o): return self._binop(operator.and_, o, True)
    def __or__(self, o): return self._binop(operator.or_, o)
    def __ror__(self, o): return self._binop(operator.or_, o, True)
    def __xor__(self, o): return self._binop(operator.xor, o)
    def __rxor__(self, o): return self._binop(operator.xor, o, True)
    def __lshift__(self, o): return self._binop(operator.lshift, o)
    def __rlshift__(self, o): return self._binop(operator.lshift, o, True)
    def __rshift__(self, o): return self._binop(operator.rshift, o)
    def __rrshift__(self, o): return self._binop(operator.rshift, o, True)
    def __eq__(self, o): return self._binop(operator.eq, o)  # type: ignore[override]
    def __ne__(self, o): return self._binop(operator.ne, o)  # type: ignore[override]
    def __lt__(self, o): return self._binop(operator.lt, o)
    def __le__(self, o): return self._binop(operator.le, o)
    def __gt__(self, o): return self._binop(operator.gt, o)
    def __ge__(self, o): return self._binop(operator.ge, o)

    def __matmul__(self, o):
        from .linalg import matmul

        return NotImplemented if _defer(o) else matmul(self, o)

    def __rmatmul__(self, o):
        from .linalg import matmul

        return NotImplemented if _defer(o) else matmul(o, self)

    def __neg__(self):
        from .ufunc import elemwise

        return elemwise(operator.neg, self)

    def __pos__(self):
        return self

    def __abs__(self):
        from .ufunc import elemwise

        return elemwise(operator.abs, self)

    def __invert__(self):
        from .ufunc import elemwise

        return elemwise(operator.invert, self)

    __hash__ = object.__hash__

    # -- indexing and assignment (plait.array.slicing, plait.array.setitem) -----------
    def __getitem__(self, key: Any) -> Any:
        from .slicing import getitem

        return getitem(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        from .setitem import setitem

        setitem(self, key, value)

    @property
    def vindex(self) -> Any:
        """Point-wise (vectorised) indexing: ``x.vindex[[0, 1], [2, 3]]``."""
        from .slicing import VIndex

        return VIndex(self)

    @property
    def blocks(self) -> Any:
        """Indexing by block: ``x.blocks[0, 1:]`` is an array of those blocks."""
        from .slicing import BlockView

        return BlockView(self)

    def _rebind(self, other: "Array") -> None:
        """Become ``other`` (item assignment changes what an Array object denotes, as
        NumPy users expect, while the old graph stays valid for other references)."""
        self.name = other.name
        self._chunks = other._chunks
        self._dtype = other._dtype
        self._layer = other._layer
        self._deps = other._deps

    # -- methods that delegate to the API modules ------------------------------------
    def astype(self, dtype: Any, **kwargs: Any) -> "Array":
        """The array with its elements converted to ``dtype``."""
        dtype = np.dtype(dtype)
        if dtype == self._dtype:
            return self
        from .blockwise import map_blocks

        return map_blocks(_astype, self, dtype=dtype, token="astype", target=dtype, **kwargs)

    def map_blocks(self, func: Callable, *args: Any, **kwargs: Any) -> "Array":
        from .blockwise import map_blocks

        return map_blocks(func, self, *args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        # Methods implemented as functions of plait.array (x.sum(), x.T, ...).
        if attr.startswith("_"):
            raise AttributeError(f"'Array' object has no attribute {attr!r}")
        from . import _methods

        method = _methods.lookup(attr)
        if method is None:
            raise AttributeError(f"'Array' object has no attribute {attr!r}")
        return method(self)


def _row(x: Array, i: int) -> Array:
    """``x[i]`` along the first axis (full indexing comes with slicing support)."""
    import itertools

    start = 0
    for b, c in enumerate(x.chunks[0]):
        if i < start + c:
            break
        start += c
    name = new_name("getitem")
    layer = {}
    for rest in itertools.product(*[range(n) for n in x.numblocks[1:]]):
        layer[(name,) + rest] = Task((name,) + rest, operator.getitem,
                                     Ref((x.name, b) + rest), i - start)
    return Array(layer, name, x.chunks[1:], x.dtype, (x,))


def _astype(block: np.ndarray, target: np.dtype, **kwargs: Any) -> np.ndarray:
    return block.astype(target, **kwargs)


def _defer(other: Any) -> bool:
    """Whether a binary operator should give way to ``other`` (a higher-priority type)."""
    if isinstance(other, (Array, np.ndarray, Number, np.generic, list, tuple)):
        return False
    return getattr(other, "__array_priority__", 0) > Array.__array_priority__ or (
        hasattr(other, "__array_ufunc__") and other.__array_ufunc__ is None)


def _axis_length(chunks_along: tuple) -> Any:
    total = 0
    for c in chunks_along:
        if isinstance(c, float) and math.isnan(c):
            return math.nan
        total += c
    return total


# -- from_array --------------------------------------------------------------------------

def _getter(source: Any, index: tuple, asarray: bool, lock: Any) -> Any:
    if lock:
        with lock:
            block = source[index]
    else:
        block = source[index]
    return np.asarray(block) if asarray else block


def from_array(x: Any, chunks: Any = "auto", name: str | None = None, lock: Any = False,
               asarray: bool | None = None, inline_array: bool = False) -> Array:
    """A chunked array over ``x``: anything with ``shape``, ``dtype`` and slicing
    (NumPy arrays, h5py and zarr datasets, memory maps).

    ``lock=True`` (or a lock object) serialises reads, for sources that are not thread
    safe; ``asarray`` turns each block into a NumPy array (default: unless ``x`` is a
    NumPy subclass or implements ``__array_function__``).

    >>> import numpy as np
    >>> from_array(np.arange(10), chunks=4).chunks
    ((4, 4, 2),)
    """
    if isinstance(x, Array):
        return x if chunks == "auto" else x.rechunk(chunks)
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        x = np.asarray(x)
    shape = tuple(int(s) for s in x.shape)
    dtype = np.dtype(x.dtype)
    chunks = normalize_chunks(chunks, shape, dtype=dtype,
                              previous_chunks=getattr(x, "chunks", None) if _is_chunk_tuple(getattr(x, "chunks", None)) else None)
    if name is None:
        if isinstance(x, np.ndarray):
            from ..tokenize import tokenize

            name = f"array-{tokenize(x, chunks)}"
        else:
            name = new_name("array")
    if lock is True:
        import threading

        lock = threading.Lock()
    if asarray is None:
        # Keep blocks of NumPy subclasses and of other array libraries as they are.
        asarray = type(x) is np.ndarray or not hasattr(x, "__array_function__")
    layer: dict = {}
    if type(x) is np.ndarray:
        # NumPy sources: each block is a view made when the graph is built; nothing to read.
        for idx, slc in chunks_to_slices(chunks).items():
            layer[(name,) + idx] = Data((name,) + idx, x[slc])
        return Array(layer, name, chunks, dtype)
    source_key = f"{name}-source"
    layer[source_key] = Data(source_key, x)
    for idx, slc in chunks_to_slices(chunks).items():
        layer[(name,) + idx] = Task((name,) + idx, _getter, Ref(source_key), slc, asarray, lock)
    return Array(layer, name, chunks, dtype)


def _is_chunk_tuple(c: Any) -> bool:
    return isinstance(c, tuple) and all(isinstance(i, Integral) for i in c)


def asarray(x: Any, dtype: Any = None, order: Any = None, like: Any = None) -> Array:
    """``x`` as a plait array (unchanged if it already is one).

    >>> asarray([1, 2, 3]).compute()
    array([1, 2, 3])
    """
    if isinstance(x, Array):
        return x if dtype is None else x.astype(dtype)
    if isinstance(x, (list, tuple)) and any(isinstance(i, Array) for i in x):
        from .routines import stack

        return stack([asarray(i) for i in x])
    arr = np.asarray(x, dtype=dtype, order=order)
    return from_array(arr, chunks=arr.shape if arr.ndim else ())


asanyarray = asarray

"""blockwise: the index-notation primitive that element-wise maths, map_blocks, dot
products and reductions' first step are built on.

``blockwise(func, "ij", x, "ij", y, "jk")`` makes one task per block of the output
index ``"ij"``; each input contributes the block whose index letters match. An index
that appears in inputs but not in the output is contracted: the task receives all the
blocks along it (as a list, or concatenated with ``concatenate=True``). An input with a
single block along an index is broadcast to every output block along it.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Sequence

import numpy as np

from ..graph import Ref, Task
from .chunks import common_chunks
from .core import Array, asarray, new_name

__all__ = ["blockwise", "map_blocks", "unify_chunks"]


def _index(ind: Any) -> tuple:
    if ind is None:
        return None
    if isinstance(ind, str):
        return tuple(ind)
    return tuple(ind)


def unify_chunks(*args: Any) -> tuple[dict, list]:
    """Rechunk arrays that share index letters so their blocks line up.

    ``args`` alternate arrays (or literals) and their indices. Returns the chunks of
    each index and the arguments, rechunked where needed. Axes of length 1 broadcast.
    """
    pairs = list(zip(args[::2], args[1::2]))
    per_index: dict = {}
    for a, ind in pairs:
        if ind is None or not isinstance(a, Array):
            continue
        for letter, length, chunks in zip(ind, a.shape, a.chunks):
            if length == 1 and len(chunks) == 1:
                continue  # broadcasts
            per_index.setdefault(letter, []).append(chunks)
    chunkss = {}
    for letter, options in per_index.items():
        lengths = {sum(c) for c in options}
        if len(lengths) > 1:
            raise ValueError(
                f"axes labelled {letter!r} have different lengths {sorted(lengths)}; "
                "arrays combined along an axis must have equal lengths (or length 1, "
                "which broadcasts)"
            )
        chunkss[letter] = options[0] if all(o == options[0] for o in options) else \
            common_chunks(*options)
    out = []
    for a, ind in pairs:
        if ind is None or not isinstance(a, Array):
            out.append(a)
            continue
        want = tuple(
            chunks if (length == 1 and len(chunks) == 1) else chunkss[letter]
            for letter, length, chunks in zip(ind, a.shape, a.chunks)
        )
        out.append(a if want == a.chunks else a.rechunk(want))
    return chunkss, out


def blockwise(func: Callable, out_ind: Any, *args: Any, name: str | None = None,
              token: str | None = None, dtype: Any = None, adjust_chunks: dict | None = None,
              new_axes: dict | None = None, align_arrays: bool = True,
              concatenate: bool | None = None, meta: Any = None, **kwargs: Any) -> Array:
    """Apply ``func`` block by block following index notation.

    ``args`` alternate arrays (or other values, whose index is None) and index strings
    or tuples. ``new_axes`` gives the lengths of output indices that no input has;
    ``adjust_chunks`` maps an output index to new chunks (a tuple, or a function of
    each old chunk length).

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(6).reshape(2, 3), chunks=1)
    >>> blockwise(np.add, "ij", x, "ij", 10, None, dtype=int).compute()
    array([[10, 11, 12],
           [13, 14, 15]])
    """
    out_ind = _index(out_ind)
    args = list(args)
    for i in range(0, len(args), 2):
        if args[i + 1] is not None and not isinstance(args[i], Array):
            args[i] = asarray(args[i])
    if align_arrays:
        chunkss, aligned = unify_chunks(*args)
        args[::2] = aligned
    else:
        chunkss = {}
        for a, ind in zip(args[::2], args[1::2]):
            if ind is not None:
                for letter, c in zip(ind, a.chunks):
                    chunkss.setdefault(letter, c)
    pairs = [(a, _index(ind)) for a, ind in zip(args[::2], args[1::2])]
    new_axes = new_axes or {}
    for letter, size in new_axes.items():
        chunkss[letter] = (size,) if isinstance(size, int) else tuple(size)
    for letter in out_ind:
        if letter not in chunkss:
            # Only broadcast (length-1) inputs carry it.
            for a, ind in pairs:
                if ind is not None and letter in ind:
                    chunkss[letter] = a.chunks[ind.index(letter)]
                    break
            else:
                raise ValueError(f"output index {letter!r} appears in no input; give its "
                                 "length with new_axes=")
    numblocks = {letter: len(c) for letter, c in chunkss.items()}
    contracted = sorted({l for _, ind in pairs if ind for l in ind} - set(out_ind),
                        key=str)
    prefix = token or getattr(func, "__name__", "blockwise")
    name = name or new_name(prefix)
    deps = [a for a, ind in pairs if ind is not None]
    if concatenate and contracted:
        concat_axes = {}
        for pos, (a, ind) in enumerate(pairs):
            if ind is not None:
                axes = tuple(i for i, l in enumerate(ind) if l not in out_ind)
                if axes:
                    concat_axes[pos] = axes
        func = _WithConcat(func, concat_axes)
    layer: dict = {}
    out_numblocks = [numblocks[l] for l in out_ind]
    for out_idx in itertools.product(*[range(n) for n in out_numblocks]):
        where = dict(zip(out_ind, out_idx))
        task_args = []
        for a, ind in pairs:
            if ind is None:
                task_args.append(a)
                continue
            task_args.append(_block_arg(a, ind, where, contracted, concatenate))
        layer[(name,) + out_idx] = Task((name,) + out_idx, func, *task_args, **kwargs)
    out_chunks = []
    for letter in out_ind:
        c = chunkss[letter]
        if adjust_chunks and letter in adjust_chunks:
            adj = adjust_chunks[letter]
            c = tuple(adj(x) for x in c) if callable(adj) else tuple(adj)
            if len(c) != numblocks[letter]:
                raise ValueError(f"adjust_chunks for {letter!r} gives {len(c)} chunks, "
                                 f"the output has {numblocks[letter]} blocks along it")
        out_chunks.append(c)
    if dtype is None:
        dtype = infer_dtype(func, [a for a, _ in pairs], kwargs)
    return Array(layer, name, tuple(out_chunks), dtype, tuple(deps))


def _block_arg(a: Array, ind: tuple, where: dict, contracted: list, concatenate: Any) -> Any:
    """The block(s) of ``a`` that the output block at ``where`` needs."""
    nb = a.numblocks
    fixed = []
    free = []
    for axis, letter in enumerate(ind):
        if letter in where:
            fixed.append(where[letter] if nb[axis] > 1 else 0)
        else:
            fixed.append(None)
            free.append(axis)
    if not free:
        return Ref((a.name,) + tuple(fixed))

    def nest(pos: int, idx: list) -> Any:
        if pos == len(free):
            return Ref((a.name,) + tuple(idx))
        axis = free[pos]
        out = []
        for b in range(nb[axis]):
            idx2 = list(idx)
            idx2[axis] = b
            out.append(nest(pos + 1, idx2))
        return out

    return nest(0, fixed)


def _concat_nested(nested: Any, axes: tuple, level: int = 0) -> Any:
    """Concatenate nested lists of blocks, level ``k`` along ``axes[k]``."""
    if level == len(axes):
        return nested
    parts = [_concat_nested(n, axes, level + 1) for n in nested]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axes[level])


class _WithConcat:
    """Call ``func`` after concatenating the blocks of contracted axes."""

    __slots__ = ("func", "axes")

    def __init__(self, func: Callable, axes: dict):
        self.func = func
        self.axes = axes

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        args = list(args)
        for pos, axes in self.axes.items():
            args[pos] = _concat_nested(args[pos], axes)
        return self.func(*args, **kwargs)

    def __reduce__(self):
        return (_WithConcat, (self.func, self.axes))

    @property
    def __name__(self) -> str:
        return getattr(self.func, "__name__", "blockwise")


def infer_dtype(func: Callable, operands: Sequence, kwargs: dict) -> np.dtype:
    """The dtype ``func`` gives on one-element blocks of the arrays among ``operands``
    (other operands passed as they are); NumPy's promotion of their dtypes if ``func``
    cannot run on such samples."""
    samples = [np.ones((1,) * a.ndim, dtype=a.dtype) if isinstance(a, Array) else a
               for a in operands]
    try:
        with np.errstate(all="ignore"):
            return np.asarray(func(*samples, **kwargs)).dtype
    except Exception:
        dtypes = [a.dtype for a in operands if isinstance(a, Array)]
        return np.result_type(*dtypes) if dtypes else np.dtype(float)


def map_blocks(func: Callable, *args: Any, name: str | None = None, token: str | None = None,
               dtype: Any = None, chunks: Any = None, drop_axis: Any = None,
               new_axis: Any = None, meta: Any = None, **kwargs: Any) -> Array:
    """Apply ``func`` to each block (of one or more aligned arrays).

    ``chunks`` gives the output's chunks when ``func`` changes block shapes;
    ``drop_axis`` / ``new_axis`` remove or add axes.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(8), chunks=4)
    >>> map_blocks(lambda b: b * 2, x).compute()
    array([ 0,  2,  4,  6,  8, 10, 12, 14])
    >>> map_blocks(lambda b: b.sum(keepdims=True), x, chunks=(1,)).compute()
    array([ 6, 22])
    """
    if not callable(func):
        raise TypeError(f"map_blocks needs a function first, got {type(func).__name__}")
    arrays = [a for a in args if isinstance(a, Array)]
    if not arrays:
        raise TypeError("map_blocks needs at least one plait array among its arguments")
    ndim = max(a.ndim for a in arrays)
    drop = _axes(drop_axis, ndim)
    out_letters = [i for i in range(ndim) if i not in drop]
    blockwise_args: list = []
    for a in args:
        if isinstance(a, Array):
            blockwise_args += [a, tuple(range(ndim - a.ndim, ndim))]
        else:
            blockwise_args += [a, None]
    new_axes = {}
    if new_axis is not None:
        positions = (new_axis,) if isinstance(new_axis, int) else tuple(new_axis)
        final_ndim = len(out_letters) + len(positions)
        for n, pos in enumerate(sorted(p % final_ndim for p in positions)):
            letter = ndim + n
            out_letters.insert(pos, letter)
            new_axes[letter] = 1
    if dtype is None:
        dtype = infer_dtype(func, args, kwargs)
    result = blockwise(func, tuple(out_letters), *blockwise_args, name=name,
                       token=token or getattr(func, "__name__", "map-blocks"), dtype=dtype,
                       new_axes=new_axes, concatenate=True if drop else None, **kwargs)
    if chunks is not None:

        if callable(chunks):
            chunks = chunks(result.chunks)
        if isinstance(chunks, tuple) and all(isinstance(c, tuple) for c in chunks) \
                and len(chunks) == result.ndim:
            new_chunks = chunks
        else:
            per = tuple(chunks)
            new_chunks = tuple((c,) * n for c, n in zip(per, result.numblocks))
        if tuple(len(c) for c in new_chunks) != result.numblocks:
            raise ValueError(f"chunks={chunks!r} do not match the {result.numblocks} blocks "
                             "of the output")
        result._chunks = new_chunks
    return result


def _axes(axis: Any, ndim: int) -> tuple:
    if axis is None:
        return ()
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim if ndim else a for a in axis)

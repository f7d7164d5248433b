"""Products of arrays: ``tensordot``, ``dot``, ``matmul``, ``einsum`` and friends.

All contractions share one plan (:func:`_contract`). The output's block ``(i, k)`` of
``x @ y`` is the sum over ``j`` of ``x[i, j] @ y[j, k]``. Two ways to build it:

* hand one task the whole row panel ``x[i, :]`` and column panel ``y[:, k]``
  concatenated (blockwise's ``concatenate=True``): few tasks, but a task's memory grows
  with the length of the contracted axis, without bound;
* one task per block pair, each making a partial product the size of one output block,
  then a tree that adds :data:`SPLIT_EVERY` partials per task: more tasks, but every
  task holds at most ``SPLIT_EVERY + 1`` output-sized blocks, whatever the axis length.

plait uses the first while every concatenated panel fits in config ``array.chunk-size``
(few large BLAS calls are much faster than many small ones plus a tree of additions),
and the second beyond that, so memory stays bounded however long the contracted axes. Partial products carry the
contracted block positions as trailing length-1 axes, so the intermediate array is an
honest array whose blocks line up with its chunks.
"""

from __future__ import annotations

import itertools
import math
import operator
import string
from typing import Any, Callable

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..graph import Ref, Task
from .blockwise import blockwise, unify_chunks
from .chunks import chunk_boundaries
from .core import Array, asarray, implements, new_name
from .routines import _ravel, conj, expand_dims, squeeze
from .ufunc import elemwise

__all__ = ["tensordot", "dot", "matmul", "vdot", "outer", "inner", "einsum", "trace",
           "tsqr", "qr", "svd", "svd_compressed", "solve", "lstsq", "inv", "cholesky", "norm"]

#: Partial products added together by one task of the summation tree.
SPLIT_EVERY = 8


def _partial(func: Callable, nextra: int, kwargs: dict, *blocks: Any) -> np.ndarray:
    """``func`` on one combination of blocks, with ``nextra`` trailing length-1 axes
    standing for the contracted block positions."""
    out = np.asarray(func(*blocks, **kwargs))
    return out.reshape(out.shape + (1,) * nextra)


def _call(func: Callable, kwargs: dict, *blocks: Any) -> np.ndarray:
    return np.asarray(func(*blocks, **kwargs))


def _sum_blocks(nsqueeze: int, *blocks: np.ndarray) -> np.ndarray:
    """The sum of same-shaped blocks, dropping ``nsqueeze`` trailing length-1 axes."""
    total = np.asarray(blocks[0])
    if len(blocks) > 1:
        total = np.asarray(blocks[0] + blocks[1])  # a fresh array: add the rest in place
        for b in blocks[2:]:
            if total.ndim:
                np.add(total, b, out=total)
            else:
                total = np.asarray(total + b)
    return total.reshape(total.shape[:total.ndim - nsqueeze]) if nsqueeze else total


def _add_sum_tree(layer: dict, key: tuple, sum_name: str, refs: list, nsqueeze: int) -> None:
    """Tasks adding up ``refs`` into ``key``, at most SPLIT_EVERY inputs per task."""
    level = 0
    while len(refs) > SPLIT_EVERY:
        grouped = []
        for g in range(0, len(refs), SPLIT_EVERY):
            k = (sum_name, level, g // SPLIT_EVERY) + key[1:]
            layer[k] = Task(k, _sum_blocks, 0, *refs[g:g + SPLIT_EVERY])
            grouped.append(Ref(k))
        refs, level = grouped, level + 1
    layer[key] = Task(key, _sum_blocks, nsqueeze, *refs)


def _contract(func: Callable, out_ind: tuple, args: list, dtype: Any, token: str,
              kwargs: dict | None = None) -> Array:
    """``blockwise`` whose contracted indices (in inputs, not in ``out_ind``) are
    summed across blocks. ``args`` alternate arrays and their indices; ``kwargs`` go
    to ``func``."""
    kwargs = kwargs or {}
    contracted = tuple(dict.fromkeys(
        l for ind in args[1::2] for l in ind if l not in out_ind))
    chunkss, aligned = unify_chunks(*args)
    args = list(args)
    args[::2] = aligned
    nblocks = [len(chunkss[l]) if l in chunkss else 1 for l in contracted]
    if math.prod(nblocks) == 1 or _panels_fit(args, out_ind):
        return blockwise(_call, out_ind, func, None, kwargs, None, *args, concatenate=True,
                         dtype=dtype, token=token)
    partial = blockwise(_partial, out_ind + contracted, func, None, len(contracted), None,
                        kwargs, None, *args, dtype=dtype, token=f"{token}-partial",
                        adjust_chunks={l: (1,) * n for l, n in zip(contracted, nblocks)})
    name = new_name(token)
    sum_name = new_name(f"{token}-sum")
    nout = len(out_ind)
    layer: dict = {}
    for out_idx in itertools.product(*[range(n) for n in partial.numblocks[:nout]]):
        refs = [Ref((partial.name,) + out_idx + c)
                for c in itertools.product(*[range(n) for n in nblocks])]
        _add_sum_tree(layer, (name,) + out_idx, sum_name, refs, len(contracted))
    return Array(layer, name, partial.chunks[:nout], dtype, (partial,))


def _panels_fit(args: list, out_ind: tuple) -> bool:
    """Whether each input's concatenated panel (whole contracted axes, one block of the
    others) is at most config ``array.chunk-size`` bytes."""
    from .. import config
    from ..utils.sizes import parse_bytes

    limit = parse_bytes(config.get("array.chunk-size", "128MiB"))
    for a, ind in zip(args[::2], args[1::2]):
        if not isinstance(a, Array):
            continue
        elems = 1
        for letter, length, chunks in zip(ind, a.shape, a.chunks):
            elems *= max(chunks) if letter in out_ind else length
        if elems * a.dtype.itemsize > limit:
            return False
    return True


def _sample(x: Array, ndim: int | None = None) -> np.ndarray:
    return np.ones((1,) * (x.ndim if ndim is None else ndim), dtype=x.dtype)


@implements(np.tensordot)
def tensordot(a: Any, b: Any, axes: Any = 2) -> Array:
    """Sum products over the axes ``axes`` of ``a`` and ``b`` (NumPy's ``tensordot``).

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(6).reshape(2, 3), chunks=(1, 2))
    >>> tensordot(x, x, axes=([1], [1])).compute()
    array([[ 5, 14],
           [14, 50]])
    """
    a, b = asarray(a), asarray(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        a_axes, b_axes = tuple(range(a.ndim - n, a.ndim)), tuple(range(n))
    else:
        a_axes, b_axes = ((x,) if isinstance(x, (int, np.integer)) else tuple(x) for x in axes)
    if len(a_axes) != len(b_axes):
        raise ValueError(f"tensordot axes {a_axes} and {b_axes} pair up axes of a and b, "
                         "so they need the same length")
    a_axes, b_axes = normalize_axis_tuple(a_axes, a.ndim), normalize_axis_tuple(b_axes, b.ndim)
    for i, j in zip(a_axes, b_axes):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"shape-mismatch for sum: axis {i} of a (shape {a.shape}) has "
                             f"length {a.shape[i]}, axis {j} of b (shape {b.shape}) has "
                             f"length {b.shape[j]}")
    a_ind = tuple(range(a.ndim))
    b_ind = tuple(a_axes[b_axes.index(j)] if j in b_axes else a.ndim + j for j in range(b.ndim))
    out_ind = tuple(i for i in a_ind if i not in a_axes) + tuple(
        l for j, l in enumerate(b_ind) if j not in b_axes)
    dtype = np.tensordot(_sample(a), _sample(b), axes=(a_axes, b_axes)).dtype
    return _contract(np.tensordot, out_ind, [a, a_ind, b, b_ind], dtype, "tensordot",
                     {"axes": (a_axes, b_axes)})


@implements(np.dot)
def dot(a: Any, b: Any) -> Array:
    """NumPy's ``dot``: inner product of vectors, matrix product of matrices, and a sum
    over the last axis of ``a`` and the second-to-last of ``b`` otherwise.

    >>> import numpy as np, plait.array as da
    >>> v = da.from_array(np.arange(4), chunks=3)
    >>> int(dot(v, v).compute())
    14
    """
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return elemwise(operator.mul, a, b)
    return tensordot(a, b, axes=((a.ndim - 1,), (max(b.ndim - 2, 0),)))


_MATMUL_SIG = "(n?,k),(k,m?)->(n?,m?)"


@implements(np.matmul)
def matmul(a: Any, b: Any) -> Array:
    """Matrix product with NumPy's rules: stacks of matrices in the leading axes
    broadcast; a 1-d operand is promoted to a matrix and its axis removed afterwards.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(12).reshape(2, 2, 3), chunks=1)
    >>> y = da.from_array(np.ones(3, dtype=int), chunks=2)
    >>> matmul(x, y).compute()
    array([[ 3, 12],
           [21, 30]])
    """
    a, b = asarray(a), asarray(b)
    for i, x in enumerate((a, b)):
        if x.ndim == 0:
            raise ValueError(f"matmul: Input operand {i} does not have enough dimensions "
                             f"(has 0, gufunc core with signature {_MATMUL_SIG} requires "
                             "1); use * to multiply by a scalar")
    a1, b1 = a.ndim == 1, b.ndim == 1
    if a1:
        a = expand_dims(a, 0)
    if b1:
        b = expand_dims(b, -1)
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: Input operand 1 has a mismatch in its core dimension 0, "
                         f"with gufunc signature {_MATMUL_SIG} (size {b.shape[-2]} is "
                         f"different from {a.shape[-1]})")
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    letters = tuple(f"b{i}" for i in range(len(batch)))
    a_ind = letters[len(letters) - (a.ndim - 2):] + ("n", "k")
    b_ind = letters[len(letters) - (b.ndim - 2):] + ("k", "m")
    dtype = np.matmul(_sample(a), _sample(b)).dtype
    out = _contract(np.matmul, letters + ("n", "m"), [a, a_ind, b, b_ind], dtype, "matmul")
    drop = (() if not a1 else (-2,)) + (() if not b1 else (-1,))
    return squeeze(out, axis=drop) if drop else out


@implements(np.vdot)
def vdot(a: Any, b: Any) -> Array:
    """The dot product of the flattened inputs, the first complex-conjugated.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.array([1 + 2j, 3 - 1j]), chunks=1)
    >>> complex(vdot(x, x).compute())
    (15+0j)
    """
    a, b = asarray(a), asarray(b)
    if a.size != b.size:
        raise ValueError(f"vdot: cannot flatten shapes {a.shape} and {b.shape} to vectors "
                         f"of one length: they hold {a.size} and {b.size} elements")
    if a.shape != b.shape:
        a, b = _ravel(a), _ravel(b)
    return tensordot(conj(a), b, axes=a.ndim)


@implements(np.outer)
def outer(a: Any, b: Any) -> Array:
    """``out[i, j] = a[i] * b[j]`` for the flattened inputs.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(3), chunks=2)
    >>> outer(x, x).chunks
    ((2, 1), (2, 1))
    """
    a, b = _ravel(asarray(a)), _ravel(asarray(b))
    dtype = np.outer(_sample(a), _sample(b)).dtype
    return blockwise(np.outer, "ij", a, "i", b, "j", dtype=dtype, token="outer")


@implements(np.inner)
def inner(a: Any, b: Any) -> Array:
    """Sum of products over the last axes of ``a`` and ``b``."""
    a, b = asarray(a), asarray(b)
    if a.ndim == 0 or b.ndim == 0:
        return elemwise(operator.mul, a, b)
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"shapes {a.shape} and {b.shape} not aligned: {a.shape[-1]} "
                         f"(dim {a.ndim - 1}) != {b.shape[-1]} (dim {b.ndim - 1})")
    return tensordot(a, b, axes=((a.ndim - 1,), (b.ndim - 1,)))


def _einsum_terms(subscripts: str, operands: list) -> tuple[list, str]:
    """Input terms and output term with ``...`` replaced by explicit letters."""
    subscripts = subscripts.replace(" ", "")
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum subscripts {subscripts!r} name {len(terms)} operand(s) "
                         f"but {len(operands)} were given")
    used = set(subscripts)
    spare = [c for c in string.ascii_letters if c not in used]
    widest = max((x.ndim - len(t) + 3 for t, x in zip(terms, operands) if "..." in t),
                 default=0)
    ell = "".join(spare[:widest])
    for i, (t, x) in enumerate(zip(terms, operands)):
        if "..." in t:
            n = x.ndim - len(t) + 3
            t = t.replace("...", ell[len(ell) - n:] if n else "")
        if len(t) != x.ndim or not all(c in string.ascii_letters for c in t):
            raise ValueError(f"einsum operand {i} has {x.ndim} axes but its subscripts "
                             f"{terms[i]!r} label {len(t)}; use one letter per axis")
        terms[i] = t
    if arrow:
        output = output.replace("...", ell)
    else:
        counts = {c: inputs.count(c) for c in set(inputs) if c in string.ascii_letters}
        output = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    for c in output:
        if output.count(c) > 1 or c not in "".join(terms):
            raise ValueError(f"einsum output subscript {c!r} in {subscripts!r} must appear "
                             "once in the output and at least once in an input")
    return terms, output


@implements(np.einsum)
def einsum(subscripts: str, *operands: Any, dtype: Any = None, optimize: Any = False,
           **kwargs: Any) -> Array:
    """Einstein summation: NumPy's ``einsum`` on blocks, with labels in no output summed
    across blocks.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(6).reshape(2, 3), chunks=(1, 2))
    >>> einsum("ij,ij->i", x, x).compute()
    array([ 5, 50])
    """
    operands = [asarray(x) for x in operands]
    terms, output = _einsum_terms(subscripts, operands)
    opts = dict(kwargs, optimize=optimize)
    if dtype is not None:
        opts["dtype"] = dtype
    args: list = []
    for x, t in zip(operands, terms):
        uniq = "".join(dict.fromkeys(t))
        if uniq != t:  # repeated labels take a diagonal: diagonal blocks hold it
            x = blockwise(_call, tuple(uniq), np.einsum, None, {}, None, f"{t}->{uniq}",
                          None, x, tuple(t), dtype=x.dtype, token="einsum-diagonal")
        args += [x, tuple(uniq)]
    spec = ",".join("".join(ind) for ind in args[1::2]) + "->" + output
    out_dtype = np.einsum(spec, *[_sample(x) for x in args[::2]], **opts).dtype
    return _contract(_EinsumBlock(spec), tuple(output), args, out_dtype, "einsum", opts)


class _EinsumBlock:
    """``np.einsum`` with fixed subscripts (a picklable, named task function)."""

    __slots__ = ("spec",)
    __name__ = "einsum"

    def __init__(self, spec: str):
        self.spec = spec

    def __call__(self, *blocks: Any, **kwargs: Any) -> Any:
        return np.einsum(self.spec, *blocks, **kwargs)

    def __reduce__(self):
        return (_EinsumBlock, (self.spec,))


def _trace_block(block: np.ndarray, offset: int, axis1: int, axis2: int,
                 dtype: Any) -> np.ndarray:
    return np.asarray(np.trace(block, offset=offset, axis1=axis1, axis2=axis2, dtype=dtype))


@implements(np.trace)
def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None) -> Array:
    """Sum along the diagonal ``offset`` of the axes ``axis1`` and ``axis2``.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(16).reshape(4, 4), chunks=3)
    >>> int(trace(x).compute()), int(trace(x, offset=1).compute())
    (30, 18)
    """
    a = asarray(a)
    if a.ndim < 2:
        raise ValueError(f"trace needs an array of at least two dimensions; got shape {a.shape}")
    axis1, axis2 = normalize_axis_index(axis1, a.ndim), normalize_axis_index(axis2, a.ndim)
    if axis1 == axis2:
        raise ValueError(f"axis1 and axis2 cannot be the same (both are {axis1})")
    out_dtype = np.trace(_sample(a), axis1=axis1, axis2=axis2, dtype=dtype).dtype
    others = [d for d in range(a.ndim) if d not in (axis1, axis2)]
    rows, cols = chunk_boundaries(a.chunks[axis1]), chunk_boundaries(a.chunks[axis2])
    # Block pairs that the diagonal crosses, with the diagonal's offset inside the block.
    pairs = [(i, j, offset - (cols[j] - rows[i]))
             for i in range(len(rows) - 1) for j in range(len(cols) - 1)
             if max(rows[i], cols[j] - offset) < min(rows[i + 1], cols[j + 1] - offset)]
    name, sum_name, part = new_name("trace"), new_name("trace-sum"), new_name("trace-block")
    layer: dict = {}
    out_chunks = tuple(a.chunks[d] for d in others)
    for out_idx in itertools.product(*[range(len(c)) for c in out_chunks]):
        key = (name,) + out_idx
        if not pairs:
            shape = tuple(c[i] for c, i in zip(out_chunks, out_idx))
            layer[key] = Task(key, np.zeros, shape, out_dtype)
            continue
        refs = []
        for n, (i, j, local) in enumerate(pairs):
            idx = dict(zip(others, out_idx))
            idx[axis1], idx[axis2] = i, j
            k = (part, n) + out_idx
            src = (a.name,) + tuple(idx[d] for d in range(a.ndim))
            layer[k] = Task(k, _trace_block, Ref(src), local, axis1, axis2, out_dtype)
            refs.append(Ref(k))
        _add_sum_tree(layer, key, sum_name, refs, 0)
    return Array(layer, name, out_chunks, out_dtype, (a,))


# Decompositions live in their own module; da.linalg.qr etc. are reached from here.
from .decompositions import (  # noqa: E402
    cholesky,
    inv,
    lstsq,
    norm,
    qr,
    solve,
    svd,
    svd_compressed,
    tsqr,
)

"""Matrix decompositions and solvers: TSQR, SVD, randomized SVD, solve, inv, cholesky,
lstsq and norm.

Tall-and-skinny QR (TSQR, Demmel et al., "Communication-optimal parallel and sequential
QR") is the workhorse: each row block ``A_i`` is factored ``A_i = Q_i R_i``; the small
``R_i`` are stacked (:data:`SPLIT_EVERY` at a time, as a tree when there are many) and
factored again, down to one ``R``. Each block of ``Q`` is then ``Q_i`` times the slice of
each level's ``Q`` that belongs to it, multiplied from the root down. Only ``n x n``
factors travel between tasks, so the plan scales with the number of rows.

``svd`` factors the small ``R`` of TSQR; ``lstsq`` solves ``R x = Q^H b`` (its columns
are first gathered into one chunk when they are split, so square inputs work too).

``solve``, ``inv`` and ``cholesky`` of a square matrix use a single-block plan: the
matrix is rechunked to one block and NumPy (LAPACK) does the work; the result is cut back
to the input's chunks. Memory: the task holds the whole ``n x n`` matrix, its result and
LAPACK's copy (about three times ``n * n * itemsize``: 2.4 GB for ``n = 10,000`` float64),
and the work runs on one core's worth of parallelism, however many blocks there were.
This is the right plan for the matrices these functions are used on in practice (a
task's memory bounds ``n``); for larger systems factor a tall-and-skinny matrix with
``qr``/``lstsq``, or use ``svd_compressed``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from ..graph import Ref, Task
from .blockwise import map_blocks
from .core import Array, asarray, implements, new_name

__all__ = ["tsqr", "qr", "svd", "svd_compressed", "solve", "inv", "cholesky", "lstsq",
           "norm"]

#: R factors stacked and factored together by one task of the TSQR tree.
SPLIT_EVERY = 8


# -- task functions ----------------------------------------------------------------------

def _qr_block(block: np.ndarray) -> tuple:
    q, r = np.linalg.qr(block)
    return q, r


def _qr_stacked(*factors: tuple) -> tuple:
    """QR of the R factors of ``factors`` stacked on top of each other."""
    q, r = np.linalg.qr(np.concatenate([f[1] for f in factors], axis=0))
    return q, r


def _child_factor(parent: tuple, start: int, stop: int, correction: Any) -> np.ndarray:
    """The rows of the parent's Q that belong to one child, times the parent's own
    correction (None at the root: the identity)."""
    part = parent[0][start:stop]
    return part if correction is None else part @ correction


def _q_block(factors: tuple, correction: Any) -> np.ndarray:
    return factors[0] if correction is None else factors[0] @ correction


def _r_factor(factors: tuple) -> np.ndarray:
    return factors[1]


def _svd_small(r: np.ndarray) -> tuple:
    return tuple(np.linalg.svd(r, full_matrices=False))


def _item(parts: tuple, i: int) -> Any:
    return parts[i]


def _leading(block: np.ndarray, axis: int, k: int) -> np.ndarray:
    index = [slice(None)] * block.ndim
    index[axis] = slice(0, k)
    return block[tuple(index)]


def _gaussian_block(seed: int, i: int, shape: tuple, dtype: Any) -> np.ndarray:
    rng = np.random.default_rng([seed, i])
    return rng.standard_normal(shape).astype(dtype, copy=False)


def _reshape(block: np.ndarray, shape: tuple) -> np.ndarray:
    return np.reshape(block, shape)


def _lstsq_solve(r: np.ndarray, qtb: np.ndarray) -> np.ndarray:
    return np.linalg.solve(r, qtb)


def _rank(r: np.ndarray) -> np.ndarray:
    return np.asarray(np.linalg.matrix_rank(r))


def _cholesky_block(a: np.ndarray, lower: bool) -> np.ndarray:
    low = np.linalg.cholesky(a)
    return low if lower else low.conj().T


# -- helpers -----------------------------------------------------------------------------

def _factor_dtype(dtype: np.dtype) -> np.dtype:
    return np.linalg.qr(np.ones((1, 1), dtype=dtype))[0].dtype


def _check_tall_skinny(a: Array, what: str) -> None:
    if a.ndim != 2:
        raise ValueError(f"{what} needs a 2-d array; got shape {a.shape}")
    if a.numblocks[1] != 1:
        raise ValueError(
            f"{what} needs a tall-and-skinny array chunked along rows only, with one chunk "
            f"along the columns; got chunks {a.chunks}. Rechunk first: "
            f"a.rechunk({{1: -1}})"
        )


def _single(a: Array) -> Array:
    """``a`` as one block (the single-block plan)."""
    return a if a.npartitions == 1 else a.rechunk(-1)


def _take_leading(x: Array, axis: int, k: int) -> Array:
    """The first ``k`` entries of ``x`` along ``axis``, which must be one chunk."""
    if x.shape[axis] == k:
        return x
    chunks = tuple((k,) if i == axis else c for i, c in enumerate(x.chunks))
    return map_blocks(_leading, x, axis, k, chunks=chunks, dtype=x.dtype, token="leading")


# -- TSQR --------------------------------------------------------------------------------

def tsqr(a: Any, split_every: int = SPLIT_EVERY) -> tuple[Array, Array]:
    """The QR factorization ``a = q @ r`` of a tall-and-skinny array, by TSQR.

    ``a`` must be chunked along rows only (one chunk along the columns). ``q`` has the
    row chunks of ``a`` and orthonormal columns; ``r`` is upper triangular, one block.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(12.0).reshape(6, 2) ** 2, chunks=(2, 2))
    >>> q, r = tsqr(x)
    >>> q.chunks, r.chunks
    (((2, 2, 2), (2,)), ((2,), (2,)))
    >>> bool(np.allclose((q @ r).compute(), x.compute()))
    True
    """
    a = asarray(a)
    _check_tall_skinny(a, "tsqr")
    if split_every < 2:
        raise ValueError(f"split_every must be at least 2; got {split_every}")
    m, n = a.shape
    dtype = _factor_dtype(a.dtype)
    base = new_name("tsqr")
    layer: dict = {}
    # Each node: (key of its (q, r) task, rows of its r, children as (node, start, stop)).
    nodes = []
    for i, rows in enumerate(a.chunks[0]):
        key = (f"{base}-qr0", i)
        layer[key] = Task(key, _qr_block, Ref((a.name, i, 0)))
        nodes.append((key, min(rows, n), []))
    level = 0
    while len(nodes) > 1:
        level += 1
        parents = []
        for g in range(0, len(nodes), split_every):
            group = nodes[g:g + split_every]
            key = (f"{base}-qr{level}", g // split_every)
            layer[key] = Task(key, _qr_stacked, *[Ref(k) for k, _, _ in group])
            stacked = sum(rows for _, rows, _ in group)
            children, start = [], 0
            for child in group:
                children.append((child, start, start + child[1]))
                start += child[1]
            parents.append((key, min(stacked, n), children))
        nodes = parents
    root = nodes[0]
    q_name, r_name = f"{base}-q", f"{base}-r"
    layer[(r_name, 0, 0)] = Task((r_name, 0, 0), _r_factor, Ref(root[0]))
    # Walk down the tree: each node's correction is its parent's Q rows times the
    # parent's correction.
    corrections: dict = {root[0]: None}
    stack = [root]
    leaves = []
    while stack:
        node = stack.pop()
        key, _, children = node
        if not children:
            leaves.append(node)
            continue
        parent_corr = corrections[key]
        for child, start, stop in children:
            ckey = (child[0][0] + "-corr", child[0][1])
            layer[ckey] = Task(ckey, _child_factor, Ref(key), start, stop,
                               None if parent_corr is None else Ref(parent_corr))
            corrections[child[0]] = ckey
            stack.append(child)
    for key, _, _ in leaves:
        i = key[1]
        corr = corrections[key]
        layer[(q_name, i, 0)] = Task((q_name, i, 0), _q_block, Ref(key),
                                     None if corr is None else Ref(corr))
    k = min(m, n)
    graph_holder = Array(layer, base, ((1,),), dtype, (a,))  # shares the layer
    q = Array({}, q_name, (a.chunks[0], (k,)), dtype, (graph_holder,))
    r = Array({}, r_name, ((k,), (n,)), dtype, (graph_holder,))
    return q, r


def qr(a: Any, mode: str = "reduced") -> tuple[Array, Array]:
    """``q, r = qr(a)`` for tall-and-skinny ``a`` (TSQR); NumPy's ``mode="reduced"``.

    ``mode="r"`` returns ``r`` alone, as NumPy does.
    """
    if mode not in ("reduced", "r"):
        raise ValueError(f"qr supports mode='reduced' and mode='r'; got mode={mode!r}")
    q, r = tsqr(a)
    return r if mode == "r" else (q, r)


@implements(np.linalg.qr)
def _np_qr(a: Any, mode: str = "reduced") -> Any:
    return qr(a, mode=mode)


# -- SVD ---------------------------------------------------------------------------------

def _svd_of_factor(r: Array) -> tuple[Array, Array, Array]:
    """u, s, vh of a one-block matrix ``r`` as three one-block arrays."""
    k, n = r.shape
    dtype = r.dtype
    real = np.empty(0, dtype=dtype).real.dtype
    name = new_name("svd-small")
    key = (name, 0)
    layer = {key: Task(key, _svd_small, Ref((r.name, 0, 0)))}
    holder = Array(layer, name, ((1,),), dtype, (r,))
    out = []
    kk = min(k, n)
    shapes = ((((k,), (kk,)), dtype), (((kk,),), real), (((kk,), (n,)), dtype))
    for i, (chunks, dt) in enumerate(shapes):
        part = new_name(("svd-u", "svd-s", "svd-v")[i])
        pkey = (part,) + (0,) * len(chunks)
        out.append(Array({pkey: Task(pkey, _item, Ref(key), i)}, part, chunks, dt, (holder,)))
    return tuple(out)


def svd(a: Any, coerce_signs: bool = False) -> tuple[Array, Array, Array]:
    """The reduced SVD ``a = u @ diag(s) @ v`` of a tall-and-skinny or short-and-fat
    array (``v`` is NumPy's ``vh``).

    Tall-and-skinny ``a`` (one chunk along columns) goes through TSQR, then the SVD of
    the small ``r``; short-and-fat ``a`` (one chunk along rows) through its transpose.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(20.0).reshape(10, 2) ** 2, chunks=(3, 2))
    >>> u, s, v = svd(x)
    >>> bool(np.allclose(s.compute(), np.linalg.svd(x.compute(), compute_uv=False)))
    True
    """
    a = asarray(a)
    if a.ndim != 2:
        raise ValueError(f"svd needs a 2-d array; got shape {a.shape}")
    if a.numblocks[1] == 1:
        q, r = tsqr(a)
        ur, s, v = _svd_of_factor(r)
        return q @ ur, s, v
    if a.numblocks[0] == 1:
        from .routines import transpose

        u_t, s, v_t = svd(transpose(a))
        return transpose(v_t), s, transpose(u_t)
    raise ValueError(
        f"svd needs an array chunked along one axis only (tall-and-skinny: one chunk along "
        f"the columns, or short-and-fat: one chunk along the rows); got chunks {a.chunks}. "
        f"Rechunk first: a.rechunk({{1: -1}}), or use svd_compressed(a, k) for an "
        "approximation"
    )


@implements(np.linalg.svd)
def _np_svd(a: Any, full_matrices: bool = True, compute_uv: bool = True,
            hermitian: bool = False) -> Any:
    u, s, v = svd(a)
    return (u, s, v) if compute_uv else s


def svd_compressed(a: Any, k: int, n_power_iter: int = 0, n_oversamples: int = 10,
                   seed: Any = None, compute: bool = False) -> tuple[Array, Array, Array]:
    """An approximate rank-``k`` SVD by random projection (Halko, Martinsson and Tropp,
    "Finding structure with randomness", 2011).

    The method: multiply ``a`` by a Gaussian test matrix with ``k + n_oversamples``
    columns, so that the product ``y`` spans (nearly) the dominant column space of ``a``;
    orthonormalize it by TSQR to ``q``; optionally sharpen ``q`` with ``n_power_iter``
    power iterations (``q <- qr(a @ qr(a^H @ q))``, useful when singular values decay
    slowly); then take the exact SVD of the small ``q^H @ a`` and map its left factor back
    with ``q``. Only the first ``k`` factors are returned. ``a`` may be chunked along both
    axes; ``seed`` makes the result reproducible.

    >>> import numpy as np, plait.array as da
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((60, 3)) @ rng.standard_normal((3, 40))
    >>> u, s, v = svd_compressed(da.from_array(x, chunks=20), k=3, seed=1)
    >>> bool(np.allclose((u * s) @ v, x))
    True
    """
    a = asarray(a)
    if a.ndim != 2:
        raise ValueError(f"svd_compressed needs a 2-d array; got shape {a.shape}")
    m, n = a.shape
    if not 0 < k <= min(m, n):
        raise ValueError(f"k must be between 1 and min(a.shape) = {min(m, n)}; got k={k}")
    from .routines import conj, transpose

    dtype = _factor_dtype(a.dtype)
    width = min(k + n_oversamples, m, n)
    if seed is None:
        seed = int(np.random.default_rng().integers(2**63))
    elif isinstance(seed, np.random.RandomState):
        seed = int(seed.randint(2**31))
    elif isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2**63))
    real = np.empty(0, dtype).real.dtype
    name = new_name("svd-compressed-omega")
    layer = {}
    for i, rows in enumerate(a.chunks[1]):
        layer[(name, i, 0)] = Task((name, i, 0), _gaussian_block, int(seed), i,
                                   (rows, width), real)
    omega = Array(layer, name, (a.chunks[1], (width,)), real)
    ah = transpose(conj(a))
    q, _ = tsqr(a @ omega)
    for _ in range(n_power_iter):
        z, _ = tsqr(ah @ q)
        q, _ = tsqr(a @ z)
    b = transpose(conj(q)) @ a  # (width, n), one chunk along its rows
    ub, s, v = svd(b)
    u = q @ ub
    u, s, v = _take_leading(u, 1, k), _take_leading(s, 0, k), _take_leading(v, 0, k)
    if compute:
        from ..collection import persist

        u, s, v = persist(u, s, v)
    return u, s, v


# -- square solvers (single-block plan) --------------------------------------------------

def _square(a: Array, what: str) -> None:
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"{what} needs a square 2-d matrix; got shape {a.shape}")


def _one_block_call(func: Any, prefix: str, out_shape: tuple, dtype: Any, *arrays: Array,
                    extra: tuple = ()) -> Array:
    arrays = tuple(_single(x) for x in arrays)
    name = new_name(prefix)
    key = (name,) + (0,) * len(out_shape)
    refs = [Ref((x.name,) + (0,) * x.ndim) for x in arrays]
    layer = {key: Task(key, func, *refs, *extra)}
    return Array(layer, name, tuple((s,) for s in out_shape), dtype, arrays)


def solve(a: Any, b: Any) -> Array:
    """The solution ``x`` of ``a @ x = b`` for a square ``a`` (one-block plan: ``a`` and
    ``b`` are gathered into one task, which holds about three times ``a``'s bytes; ``x``
    gets ``b``'s chunks).

    >>> import numpy as np, plait.array as da
    >>> a = da.from_array(np.array([[3.0, 1.0], [1.0, 2.0]]), chunks=1)
    >>> solve(a, np.array([9.0, 8.0])).compute()
    array([2., 3.])
    """
    a, b = asarray(a), asarray(b)
    _square(a, "solve")
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"solve: b must have shape ({a.shape[0]},) or ({a.shape[0]}, k) "
                         f"to match a of shape {a.shape}; got {b.shape}")
    dtype = np.linalg.solve(np.eye(1, dtype=a.dtype), np.ones((1,) * b.ndim, b.dtype)).dtype
    out = _one_block_call(np.linalg.solve, "solve", b.shape, dtype, a, b)
    return out.rechunk(b.chunks)


def inv(a: Any) -> Array:
    """The inverse of a square matrix (one-block plan: one task holds about three times
    ``a``'s bytes; the result has ``a``'s chunks).

    >>> import numpy as np, plait.array as da
    >>> inv(da.from_array(np.array([[2.0, 0.0], [0.0, 4.0]]), chunks=1)).compute()
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    """
    a = asarray(a)
    _square(a, "inv")
    dtype = np.linalg.inv(np.eye(1, dtype=a.dtype)).dtype
    return _one_block_call(np.linalg.inv, "inv", a.shape, dtype, a).rechunk(a.chunks)


def cholesky(a: Any, lower: bool = False) -> Array:
    """The Cholesky factor of a Hermitian positive-definite matrix: upper triangular
    ``u`` with ``a = u^H @ u`` by default (as Dask), lower ``l`` with ``a = l @ l^H`` for
    ``lower=True`` (one-block plan: one task holds about three times ``a``'s bytes).

    >>> import numpy as np, plait.array as da
    >>> cholesky(da.from_array(np.array([[4.0, 2.0], [2.0, 5.0]]), chunks=1)).compute()
    array([[2., 1.],
           [0., 2.]])
    """
    a = asarray(a)
    _square(a, "cholesky")
    dtype = np.linalg.cholesky(np.eye(1, dtype=a.dtype)).dtype
    return _one_block_call(_cholesky_block, "cholesky", a.shape, dtype, a,
                           extra=(bool(lower),)).rechunk(a.chunks)


@implements(np.linalg.solve)
def _np_solve(a: Any, b: Any) -> Array:
    return solve(a, b)


@implements(np.linalg.inv)
def _np_inv(a: Any) -> Array:
    return inv(a)


@implements(np.linalg.cholesky)
def _np_cholesky(a: Any, /, *, upper: bool = False) -> Array:
    # NumPy's default is the lower factor.
    return cholesky(a, lower=not upper)


# -- least squares -----------------------------------------------------------------------

def lstsq(a: Any, b: Any, rcond: Any = None) -> tuple[Array, Array, Array, Array]:
    """The least-squares solution of ``a @ x = b`` for ``a`` with at least as many rows
    as columns, via TSQR: ``x = r^{-1} q^H b``. Columns split over several chunks are
    gathered into one first (each task then holds a row panel of ``a`` and one
    ``n x n`` factor). Returns ``x, residuals, rank, s`` as NumPy does (``residuals``
    is always the summed squared residual per column of ``b``, shape ``(1,)`` for a 1-d
    ``b``; NumPy returns it empty when ``a`` is rank deficient).

    >>> import numpy as np, plait.array as da
    >>> a = da.from_array(np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]]), chunks=(2, 2))
    >>> x, res, rank, s = lstsq(a, np.array([1.0, 2.0, 3.0]))
    >>> x.compute(), int(rank.compute())
    (array([1., 1.]), 2)
    """
    from .reductions import sum as _sum
    from .routines import conj, expand_dims, transpose

    a, b = asarray(a), asarray(b)
    if a.ndim == 2 and a.numblocks[1] > 1:
        a = a.rechunk({1: -1})
    _check_tall_skinny(a, "lstsq")
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"lstsq: b must have shape ({a.shape[0]},) or ({a.shape[0]}, k) "
                         f"to match a of shape {a.shape}; got {b.shape}")
    m, n = a.shape
    if m < n:
        raise ValueError(f"lstsq needs at least as many rows as columns; got shape {a.shape}")
    q, r = tsqr(a)
    qtb = transpose(conj(q)) @ b
    x = _one_block_call(_lstsq_solve, "lstsq", qtb.shape,
                        np.result_type(r.dtype, qtb.dtype), r, qtb)
    resid = b - a @ x
    residuals = _sum(abs(resid) ** 2, axis=0)
    if b.ndim == 1:
        residuals = expand_dims(residuals, 0)
    rank = _one_block_call(_rank, "lstsq-rank", (), np.dtype(int), r)
    _, s, _ = _svd_of_factor(r)
    return x, residuals, rank, s


@implements(np.linalg.lstsq)
def _np_lstsq(a: Any, b: Any, rcond: Any = None) -> tuple:
    return lstsq(a, b, rcond=rcond)


# -- norm --------------------------------------------------------------------------------

@implements(np.linalg.norm)
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Array:
    """Vector and matrix norms, as ``np.linalg.norm``, built from reductions.

    Vectors: any ``ord`` (``None``/2, ``inf``, ``-inf``, ``0``, and ``p`` for
    ``sum(|x|**p)**(1/p)``). Matrices: ``None``/``"fro"``, ``1``, ``-1``, ``inf``,
    ``-inf``, and ``2``, ``-2``, ``"nuc"`` through :func:`svd` (2-d arrays chunked along
    one axis only).

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.array([[3.0, -4.0], [0.0, 0.0]]), chunks=1)
    >>> float(norm(x)), float(norm(x, 1)), float(norm(x, np.inf))
    (5.0, 4.0, 7.0)
    """
    from .reductions import count_nonzero, max as _max, min as _min, sum as _sum

    x = asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(float)
    if axis is None:
        if ord is None:
            return np.sqrt(_sum(_abs2(x), axis=None, keepdims=keepdims))
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: with ord={ord!r} and axis=None the array must be 1-d "
                             f"or 2-d; got shape {x.shape}. Pass axis=")
        axis = tuple(range(x.ndim))
    axes = normalize_axis_tuple(axis, x.ndim, allow_duplicate=True)
    if len(axes) == 1:
        ax = axes
        if ord is None or ord == 2:
            return np.sqrt(_sum(_abs2(x), axis=ax, keepdims=keepdims))
        if ord == np.inf:
            return _max(abs(x), axis=ax, keepdims=keepdims)
        if ord == -np.inf:
            return _min(abs(x), axis=ax, keepdims=keepdims)
        if ord == 0:
            real = np.empty(0, x.dtype).real.dtype
            return count_nonzero(x, axis=ax, keepdims=keepdims).astype(real)
        if isinstance(ord, str):
            raise ValueError(f"norm: invalid norm order {ord!r} for vectors")
        if ord == 1:
            return _sum(abs(x), axis=ax, keepdims=keepdims)
        return _sum(abs(x) ** ord, axis=ax, keepdims=keepdims) ** (1.0 / ord)
    if len(axes) != 2:
        raise ValueError(f"norm: axis must name one or two axes; got {axis!r}")
    row, col = axes
    if row == col:
        raise ValueError(f"norm: duplicate axes given: {axis!r}")
    if ord is None or ord == "fro":
        return np.sqrt(_sum(_abs2(x), axis=axes, keepdims=keepdims))
    if ord in (1, -1, np.inf, -np.inf):
        inner, outer = (row, col) if ord in (1, -1) else (col, row)
        sums = _sum(abs(x), axis=inner, keepdims=True)
        pick = _max if ord in (1, np.inf) else _min
        out = pick(sums, axis=outer, keepdims=True)
        return out if keepdims else _drop(out, axes)
    if ord in (2, -2, "nuc"):
        if x.ndim != 2:
            raise ValueError(f"norm: ord={ord!r} is supported for 2-d arrays only; got "
                             f"shape {x.shape}")
        from .routines import transpose

        if axes == (1, 0):
            x = transpose(x)
        _, s, _ = svd(x)
        out = _max(s) if ord == 2 else _min(s) if ord == -2 else _sum(s)
        if keepdims:
            out = _one_block_call(_reshape, "norm-keepdims", (1, 1), out.dtype, out,
                                  extra=((1, 1),))
        return out
    raise ValueError(f"norm: invalid norm order {ord!r} for matrices")


def _abs2(x: Array) -> Array:
    """``|x|**2``, real."""
    if np.issubdtype(x.dtype, np.complexfloating):
        from .routines import imag, real

        return real(x) ** 2 + imag(x) ** 2
    return x * x


def _drop(x: Array, axes: tuple) -> Array:
    from .routines import squeeze

    return squeeze(x, axis=axes)

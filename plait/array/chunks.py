"""Chunk arithmetic: turn what users write for ``chunks=`` into one canonical form, and
compute with chunkings (block slices, boundaries, alignment for element-wise work).

The canonical form is a tuple with one tuple per axis giving each block's length along
that axis: ``((3, 4, 3), (5, 5))`` is a 10 x 10 array cut into 3 x 2 blocks. A length
may be ``nan`` when it is unknown until computed (after boolean indexing, say); zero
lengths are allowed inside an explicit chunking because filtering produces them.
Everything here is a pure function on tuples; nothing touches data.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from plait import config
from plait.utils.sizes import parse_bytes

__all__ = [
    "Alignment", "blockdims_from_blockshape", "chunk_boundaries", "chunk_shapes",
    "chunks_to_slices", "common_chunks", "normalize_chunks", "numblocks",
    "slices_from_chunks", "unify_broadcast_chunks",
]

Chunks = tuple[tuple[Any, ...], ...]


def _isnan(x: Any) -> bool:
    return isinstance(x, (float, np.floating)) and math.isnan(x)


def _same(a: Sequence, b: Sequence) -> bool:
    """Equality of chunk tuples in which ``nan == nan``."""
    return len(a) == len(b) and all(x == y or (_isnan(x) and _isnan(y)) for x, y in zip(a, b))


def _size(x: Any, where: str) -> Any:
    """An element count as a Python int (or nan), or an error naming ``where``."""
    if not isinstance(x, (bool, np.bool_)):
        if isinstance(x, (int, np.integer)):
            return int(x)
        if isinstance(x, (float, np.floating)):
            if math.isnan(x):
                return math.nan
            if float(x).is_integer():
                return int(x)
    raise ValueError(f"{where}: {x!r} is not a whole number of elements; "
                     f"chunk sizes and shapes count elements, e.g. 100")


def _whole_or_blocks(c: Any, n: Any, axis: int) -> tuple:
    """One axis's chunks from a scalar spec ``c`` (block length, -1 or None) and length ``n``."""
    if c is None or (isinstance(c, (int, np.integer)) and not isinstance(c, bool) and c == -1):
        return (n,)
    c = _size(c, f"chunk size along axis {axis}")
    if _isnan(c):
        raise ValueError(f"chunk size nan along axis {axis} is ambiguous: give unknown "
                         f"chunks explicitly per block, e.g. (nan, nan), or -1 for one block")
    if c < 0:
        raise ValueError(f"chunk size {c} along axis {axis} is negative: use a positive "
                         f"size, or -1 for the whole axis")
    if _isnan(n):
        raise ValueError(f"axis {axis} has unknown length (nan), so chunk size {c} cannot "
                         f"be laid out: give the chunks explicitly, or -1 for one block")
    if n == 0:
        return (0,)
    if c == 0:
        raise ValueError(f"chunk size 0 along axis {axis} cannot cover its length {n}: "
                         f"use a positive size, or -1 for the whole axis")
    return (c,) * (n // c) + ((n % c,) if n % c else ())


def _explicit(c: Sequence, axis: int) -> tuple:
    """Validate one axis's explicit block lengths."""
    sizes = tuple(_size(x, f"chunks along axis {axis}") for x in c)
    if not sizes:
        raise ValueError(f"chunks along axis {axis} are empty (): an axis of length 0 "
                         f"is written (0,)")
    bad = [x for x in sizes if x < 0]
    if bad:
        raise ValueError(f"chunks along axis {axis} contain negative size {bad[0]}: block "
                         f"lengths must be >= 0 (-1 for 'whole axis' goes alone, not in a tuple)")
    return sizes


def _axis(c: Any, n: Any, axis: int) -> tuple:
    if isinstance(c, (tuple, list, np.ndarray)):
        return _explicit(c, axis)
    return _whole_or_blocks(c, n, axis)


def _check_sums(chunks: Chunks, shape: tuple, what: str = "chunks") -> None:
    for axis, (c, n) in enumerate(zip(chunks, shape)):
        total = sum(c)
        if not (_isnan(total) or _isnan(n) or total == n):
            raise ValueError(f"{what} {chunks} do not add up to shape {shape}: "
                             f"the chunks along axis {axis} sum to {total}")


def normalize_chunks(chunks: Any, shape: Sequence | None = None, limit: Any = None,
                     dtype: Any = None, previous_chunks: Any = None) -> Chunks:
    """Turn any accepted ``chunks=`` form into a tuple of block lengths per axis.

    Parameters
    ----------
    chunks : int, str, tuple, list, dict
        One block length for all axes (``1000``); one entry per axis (``(1000, 500)``),
        each an int, ``-1`` or ``None`` (whole axis), ``"auto"``, a byte size such as
        ``"100MiB"`` (auto with that limit), or an explicit tuple of block lengths
        (``((3, 4, 3), (5, 5))``, ``nan`` for unknown); a dict ``{axis: chunks}`` (missing
        axes whole); or ``"auto"`` / a byte size for every axis.
    shape : tuple of int, optional
        The array's shape; needed unless every axis is given explicitly.
    limit : int or str, optional
        Most bytes per block for ``"auto"``; default config ``array.chunk-size``.
    dtype : dtype, optional
        Needed for ``"auto"`` to count bytes.
    previous_chunks : tuple, optional
        Chunks of the array being rechunked: ``"auto"`` axes then keep its proportions
        and group (or split) its blocks, so that new boundaries fall on old ones.

    Examples
    --------
    >>> normalize_chunks(4, shape=(10, 3))
    ((4, 4, 2), (3,))
    >>> normalize_chunks((3, 4, 3), shape=(10,))
    ((3, 4, 3),)
    >>> normalize_chunks({0: 5}, shape=(10, 10))
    ((5, 5), (10,))
    >>> normalize_chunks(("auto", -1), shape=(100, 10), limit=4000, dtype="float64")
    ((50, 50), (10,))
    >>> normalize_chunks("1kiB", shape=(2000,), dtype="float32")[0][:3]
    (256, 256, 256)
    >>> normalize_chunks(((1,), (np.nan, np.nan)), shape=(1, np.nan))
    ((1,), (nan, nan))
    """
    if chunks is None:
        raise ValueError("chunks=None is not a chunking: pass chunks='auto', an int such "
                         "as 1000, -1 for whole axes, or explicit tuples")
    if shape is not None:
        shape = tuple(_size(n, f"shape {tuple(shape)!r}") for n in shape)
        if any(n < 0 for n in shape):
            raise ValueError(f"shape {shape} has a negative length")
    if isinstance(chunks, np.ndarray):
        chunks = chunks.tolist()
    if isinstance(chunks, list):
        chunks = tuple(chunks)
    if not isinstance(chunks, tuple):
        if shape is None:
            raise ValueError(f"chunks={chunks!r} needs the array's shape: pass shape=")
        if not isinstance(chunks, dict):
            chunks = {i: chunks for i in range(len(shape))}
        spec: dict[int, Any] = {}
        for key, value in chunks.items():
            if not isinstance(key, (int, np.integer)) or not -len(shape) <= key < len(shape):
                raise ValueError(f"chunks={chunks!r} names axis {key!r}, but shape "
                                 f"{shape} has axes 0..{len(shape) - 1}")
            spec[int(key) % len(shape)] = value
        chunks = tuple(spec.get(i, -1) for i in range(len(shape)))
    if (shape is not None and len(shape) == 1 and len(chunks) > 1
            and all(isinstance(c, (int, float, np.integer, np.floating)) for c in chunks)):
        chunks = (chunks,)  # (3, 4, 3) for a 1-d array lists its blocks
    if shape is not None:
        if len(shape) == 0:
            return ()
        if chunks == () and all(n == 0 for n in shape):
            chunks = ((0,),) * len(shape)
        if len(chunks) != len(shape):
            raise ValueError(f"chunks {chunks} have {len(chunks)} axes but shape {shape} has "
                             f"{len(shape)}: give one entry per axis, or one int/'auto' for all")
    elif not all(isinstance(c, (tuple, list, np.ndarray)) for c in chunks):
        raise ValueError(f"chunks {chunks} need the array's shape to be laid out: pass shape=, "
                         f"or give every axis's block lengths explicitly")
    chunks = list(chunks)
    for i, c in enumerate(chunks):
        if isinstance(c, str) and c != "auto":
            size = parse_bytes(c)
            if limit is not None and parse_bytes(limit) != size:
                raise ValueError(f"chunks ask for blocks of {c!r} but limit={limit!r}: "
                                 f"give one size, either in chunks or as limit")
            limit, chunks[i] = size, "auto"
    if any(isinstance(c, str) for c in chunks):
        chunks = _auto_chunks(chunks, shape, limit, dtype, previous_chunks)
    out = tuple(_axis(c, shape[i] if shape is not None else None, i) for i, c in enumerate(chunks))
    if shape is not None:
        _check_sums(out, shape)
    return out


def _auto_chunks(chunks: list, shape: tuple, limit: Any, dtype: Any,
                 previous_chunks: Any) -> list:
    """Replace each ``"auto"`` in ``chunks`` by block lengths that fit ``limit`` bytes."""
    if dtype is None:
        raise ValueError("chunks='auto' needs the dtype to size blocks in bytes: pass "
                         "dtype=, e.g. normalize_chunks('auto', shape, dtype='float64')")
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise NotImplementedError(f"chunks='auto' cannot size blocks of dtype {dtype}: the "
                                  f"size of Python objects is unknown; give explicit chunks, "
                                  f"e.g. chunks=1000")
    if dtype.itemsize == 0:
        raise ValueError(f"chunks='auto' cannot size blocks of dtype {dtype!r}, whose items "
                         f"take 0 bytes: give explicit chunks")
    limit = max(1, parse_bytes(config.get("array.chunk-size") if limit is None else limit))
    autos = [i for i, c in enumerate(chunks) if isinstance(c, str)]
    fixed = {i: _axis(c, shape[i], i) for i, c in enumerate(chunks) if i not in autos}
    if any(_isnan(shape[i]) for i in autos) or any(_isnan(x) for c in fixed.values() for x in c):
        raise ValueError(f"chunks='auto' cannot size blocks when lengths are unknown (nan): "
                         f"shape {shape}; compute the chunk sizes first, or give explicit chunks")
    widest_fixed = math.prod(max(1, max(c)) for c in fixed.values())
    budget = limit // (dtype.itemsize * widest_fixed)  # elements left for the auto axes
    live = [i for i in autos if shape[i] > 0]
    for i in autos:
        chunks[i] = (0,) if shape[i] == 0 else None
    if previous_chunks is None:
        for i, size in _square_sizes(shape, live, budget).items():
            chunks[i] = _whole_or_blocks(size, shape[i], i)
        return chunks
    previous = _previous(previous_chunks, shape, live)
    for i, target in _scaled_sizes(shape, previous, budget).items():
        chunks[i] = _regroup(previous[i], target)
    return chunks


def _iroot(n: int, k: int) -> int:
    """The largest s with s**k <= n."""
    if n < 1:
        return 0
    s = int(round(n ** (1.0 / k)))
    while s**k > n:
        s -= 1
    while (s + 1) ** k <= n:
        s += 1
    return s


def _square_sizes(shape: tuple, live: list, budget: int) -> dict[int, int]:
    """Equal block lengths on ``live`` axes with product <= budget; short axes stay whole."""
    sizes: dict[int, int] = {}
    live = list(live)
    side = 0
    while live:
        side = _iroot(budget, len(live))
        whole = [i for i in live if shape[i] <= side]
        if not whole:
            break
        for i in whole:  # a short axis leaves its unused share to the others
            sizes[i] = shape[i]
            budget //= shape[i]
            live.remove(i)
    sizes.update((i, max(1, side)) for i in live)
    return sizes


def _previous(previous_chunks: Any, shape: tuple, live: list) -> dict[int, tuple]:
    previous_chunks = tuple(previous_chunks)
    if len(previous_chunks) != len(shape):
        raise ValueError(f"previous_chunks {previous_chunks} have {len(previous_chunks)} axes "
                         f"but shape {shape} has {len(shape)}")
    out = {i: _axis(previous_chunks[i], shape[i], i) for i in live}
    for i, c in out.items():
        if any(_isnan(x) for x in c):
            raise ValueError(f"chunks='auto' cannot build on previous_chunks with unknown "
                             f"(nan) sizes along axis {i}: compute the chunk sizes first")
        _check_sums((c,), (shape[i],), f"previous_chunks along axis {i}:")
    return out


def _scaled_sizes(shape: tuple, previous: dict[int, tuple], budget: int) -> dict[int, int]:
    """Target block lengths: the previous widest block scaled by one common factor."""
    widest = {i: max(1, max(c)) for i, c in previous.items()}
    targets: dict[int, int] = {}
    live, factor = list(previous), 1.0
    while live:
        factor = (budget / math.prod(widest[i] for i in live)) ** (1.0 / len(live))
        whole = [i for i in live if widest[i] * factor >= shape[i]]
        if not whole:
            break
        for i in whole:
            targets[i] = shape[i]
            budget //= shape[i]
            live.remove(i)
    grown = {i: max(1, int(widest[i] * factor)) for i in live}
    while math.prod(grown.values()) > budget:  # float rounding may overshoot; trim
        over = [i for i in live if grown[i] > 1]
        if not over:
            break
        i = max(over, key=lambda j: grown[j] / widest[j])
        rest = math.prod(grown[j] for j in live if j != i)
        grown[i] = max(1, min(grown[i] - 1, budget // rest))
    targets.update(grown)
    return targets


def _regroup(previous: tuple, target: int) -> tuple:
    """Merge runs of previous blocks up to ``target``; split larger ones evenly."""
    out: list[int] = []
    run = 0
    for c in previous:
        if c > target:
            if run:
                out.append(run)
                run = 0
            pieces = -(-c // target)
            q, r = divmod(c, pieces)
            out += [q + 1] * r + [q] * (pieces - r)
        elif run + c > target:
            out.append(run)
            run = c
        else:
            run += c
    if run or not out:
        out.append(run)
    return tuple(out)


def blockdims_from_blockshape(shape: Sequence, blockshape: Sequence) -> Chunks:
    """Block lengths per axis from one block shape; the last block may be shorter.

    >>> blockdims_from_blockshape((10, 6), (4, 3))
    ((4, 4, 2), (3, 3))
    >>> blockdims_from_blockshape((0, 5), (4, 10))
    ((0,), (5,))
    """
    shape, blockshape = tuple(shape), tuple(blockshape)
    if len(shape) != len(blockshape):
        raise ValueError(f"blockshape {blockshape} has {len(blockshape)} axes but shape "
                         f"{shape} has {len(shape)}: give one block length per axis")
    return tuple(_whole_or_blocks(c, _size(n, f"shape {shape}"), i)
                 for i, (n, c) in enumerate(zip(shape, blockshape)))


def chunk_boundaries(chunks_along_axis: Sequence) -> tuple:
    """Offsets where blocks start, plus the axis length at the end.

    >>> chunk_boundaries((3, 4, 3))
    (0, 3, 7, 10)
    """
    return tuple(itertools.accumulate((_size(c, "chunks") for c in chunks_along_axis), initial=0))


def numblocks(chunks: Chunks) -> tuple[int, ...]:
    """Number of blocks along each axis.

    >>> numblocks(((3, 4, 3), (5, 5)))
    (3, 2)
    """
    return tuple(len(c) for c in chunks)


def chunk_shapes(chunks: Chunks) -> Iterator[tuple]:
    """Each block's shape, blocks in C order (last axis fastest).

    >>> list(chunk_shapes(((2, 1), (3,))))
    [(2, 3), (1, 3)]
    """
    return itertools.product(*chunks)


def slices_from_chunks(chunks: Chunks) -> list[tuple[slice, ...]]:
    """Each block's slices into the whole array, blocks in C order.

    >>> slices_from_chunks(((2, 1), (3,)))
    [(slice(0, 2, None), slice(0, 3, None)), (slice(2, 3, None), slice(0, 3, None))]
    """
    per_axis = []
    for c in chunks:
        cuts = chunk_boundaries(c)
        per_axis.append([slice(a, b) for a, b in zip(cuts, cuts[1:])])
    return list(itertools.product(*per_axis))


def chunks_to_slices(chunks: Chunks) -> dict[tuple[int, ...], tuple[slice, ...]]:
    """A mapping from block index to that block's slices into the whole array.

    >>> chunks_to_slices(((2, 1), (3,)))[1, 0]
    (slice(2, 3, None), slice(0, 3, None))
    """
    indices = itertools.product(*(range(len(c)) for c in chunks))
    return dict(zip(indices, slices_from_chunks(chunks)))


def common_chunks(*chunks_along_one_axis: Sequence) -> tuple:
    """The coarsest chunking of one axis that refines every given chunking.

    Its boundaries are the union of theirs, so each input's blocks are unions of its
    blocks: rechunking every input to it lines blocks up for element-wise work.

    >>> common_chunks((5, 5), (3, 7), (10,))
    (3, 2, 5)
    """
    if not chunks_along_one_axis:
        raise TypeError("common_chunks() needs at least one chunking")
    given = [tuple(_explicit(c, 0)) for c in chunks_along_one_axis]
    first = given[0]
    if all(_same(c, first) for c in given):
        return first
    if any(_isnan(x) for c in given for x in c):
        raise ValueError(f"cannot line up chunks {tuple(given)} with unknown (nan) sizes: "
                         f"compute the chunk sizes first (e.g. compute_chunk_sizes())")
    totals = [sum(c) for c in given]
    if len(set(totals)) > 1:
        raise ValueError(f"cannot line up chunks {tuple(given)}: they cover different "
                         f"lengths {tuple(totals)}; the chunkings of one axis must sum alike")
    cuts = sorted(set().union(*(chunk_boundaries(c) for c in given)))
    return tuple(b - a for a, b in zip(cuts, cuts[1:])) or (0,)


class Alignment(NamedTuple):
    """Result of `unify_broadcast_chunks`: the output's shape and chunks, and for each
    input the chunks to rechunk it to, or None where it already fits."""

    shape: tuple
    chunks: Chunks
    inputs: tuple[Chunks | None, ...]


def unify_broadcast_chunks(*arrays: tuple[Sequence, Any]) -> Alignment:
    """Line up the blocks of arrays that broadcast together, NumPy style.

    Each argument is an array's ``(shape, chunks)``. Shapes align on their last axes;
    an axis of length 1 broadcasts (its chunks stay ``(1,)``); the others must have
    equal lengths, and their chunks become `common_chunks` of theirs.

    >>> a = ((10, 1), ((5, 5), (1,)))
    >>> b = ((4,), ((2, 2),))
    >>> unify_broadcast_chunks(a, b)
    Alignment(shape=(10, 4), chunks=((5, 5), (2, 2)), inputs=(None, None))
    >>> unify_broadcast_chunks(((6,), ((3, 3),)), ((6,), ((2, 4),))).inputs
    (((2, 1, 3),), ((2, 1, 3),))
    """
    shapes, chunkss = [], []
    for shape, chunks in arrays:
        shape = tuple(shape)
        shapes.append(tuple(_size(n, f"shape {shape}") for n in shape))
        chunkss.append(normalize_chunks(chunks, shape))
    ndim = max((len(s) for s in shapes), default=0)
    out_shape, out_chunks = [], []
    for axis in range(ndim):
        members = [(shape[axis - ndim], chunks[axis - ndim])
                   for shape, chunks in zip(shapes, chunkss) if len(shape) >= ndim - axis]
        wide = [(n, c) for n, c in members if n != 1]
        known = {n for n, _ in wide if not _isnan(n)}
        if len(known) > 1:
            raise ValueError(f"shapes {' '.join(map(str, shapes))} cannot be broadcast: axis "
                             f"{axis} has lengths {sorted(known)}; lengths must match or be 1")
        if not wide:
            out_shape.append(1)
            out_chunks.append((1,))
            continue
        out_shape.append(math.nan if any(_isnan(n) for n, _ in wide) else known.pop())
        out_chunks.append(common_chunks(*(c for _, c in wide)))
    inputs = []
    for shape, chunks in zip(shapes, chunkss):
        target = tuple((1,) if n == 1 else out_chunks[ndim - len(shape) + i]
                       for i, n in enumerate(shape))
        inputs.append(None if all(map(_same, target, chunks)) else target)
    return Alignment(tuple(out_shape), tuple(out_chunks), tuple(inputs))

"""Changing an array's chunks, with the memory of every task bounded.

The direct plan
    Each new block is one task that reads every old block it overlaps and cuts and
    glues the pieces. One task therefore holds, at once, the *whole* old blocks it
    touches: along each axis the summed length of the old chunks that overlap the new
    chunk. That is cheap when chunks keep their orientation (element-wise alignment,
    merging neighbours), but going from tall thin blocks to short wide ones, say
    (8000, 100) to (100, 8000), makes every new block read a whole column of old
    blocks: the entire array in one task.

The staged plan
    When the direct plan's largest task would hold more than the memory limit
    (config ``array.rechunk.memory-limit``; default 4 x ``array.chunk-size``), the
    rechunk goes through one intermediate chunking. Each axis is either *shrinking*
    (its new chunks are smaller than its old ones) or *growing*. The intermediate cuts
    the shrinking axes early (stage 1 splits old blocks there, so a stage-1 task reads
    one old chunk along them) and merges the growing axes late (stage 2 reads one new
    chunk's worth along them)::

        stage 1 reads  prod(old chunk, shrinking axes) x prod(t, growing axes)
        stage 2 reads  prod(t, shrinking axes) x prod(new chunk, growing axes)

    where ``t`` is the intermediate chunk length on each axis: on a growing axis a run
    of whole old chunks, on a shrinking axis a run of whole new chunks, grown from the
    smallest choice (old, resp. new, chunks) by one common factor while both stages stay
    under the limit and an intermediate block stays no larger than the larger of an old
    and a new block (or a sixteenth of the limit, whichever is more). Every element is
    copied once per stage whatever the intermediate's block size, so larger blocks would
    only cost parallelism and memory, and smaller ones would only add tasks. The
    intermediate's boundaries also include the old boundaries on shrinking axes and the
    new ones on growing axes, so no intermediate block straddles a boundary it would
    make a task read twice. For a float64 (8000, 8000) array, (8000, 100) -> (100, 8000)
    reads 512 MB per direct task; under a 64 MiB limit it goes through (800, 800)
    blocks (100 of them, 5 MB each, about one old block), and each stage's tasks then
    read 51 MB.

    Peak memory: when every new block needs a piece of every old block, as here, the
    whole array is necessarily held at some point (before the first new block exists,
    all old blocks have been made and most of each is still needed). The limit bounds
    what one task reads, and hence the peak *beyond* the array: measured at about
    ``array + limit`` at most (see ``benchmarks/bench_rechunk.py``). Blocks are freed by
    reference counting as soon as their last reader is done, so no stage outlives its
    readers.

    Two stages are enough: stage 1 never reads more than an old block times the
    growing factors and stage 2 never more than a new block times the shrinking
    factors, and both products are chosen under the limit. When even the smallest
    intermediate cannot go under the limit (old or new blocks larger than it), the
    staged plan is used only if it still reads less than the direct one.

``method="direct"`` (or config ``array.rechunk.method: direct``) turns staging off;
``method="staged"`` stages whenever that lowers the largest task's reads, whatever the
limit. Arrays with unknown (nan) chunks always take the direct plan.
"""

from __future__ import annotations

import bisect
import itertools
import math
from typing import Any


from .. import config
from ..graph import Ref, Task
from ..utils.sizes import parse_bytes
from .chunks import common_chunks, normalize_chunks
from .core import Array, concatenate_blocks, new_name

__all__ = ["rechunk", "plan_rechunk", "task_input_bytes"]

# Settings: array.rechunk.method and array.rechunk.memory-limit (plait.yaml).

_METHODS = ("auto", "direct", "staged")


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _bounds(chunks: tuple) -> list:
    out = [0]
    for c in chunks:
        out.append(out[-1] + c)
    return out


def _overlaps(old: tuple, new: tuple) -> list:
    """For each new chunk along one axis: [(old block, slice within it), ...]."""
    bounds = _bounds(old)
    out = []
    start = 0
    for size in new:
        stop = start + size
        pieces = []
        if size == 0:
            b = min(bisect.bisect_right(bounds, start) - 1, len(old) - 1)
            pieces.append((max(b, 0), slice(0, 0)))
        else:
            b = bisect.bisect_right(bounds, start) - 1
            while b < len(old) and bounds[b] < stop:
                lo = max(start, bounds[b]) - bounds[b]
                hi = min(stop, bounds[b + 1]) - bounds[b]
                if hi > lo:
                    pieces.append((b, slice(lo, hi)))
                b += 1
        out.append(pieces)
        start = stop
    return out


def _gathered(old: tuple, new: tuple) -> int:
    """Along one axis, the most elements a direct task reads: the summed length of the
    whole old chunks that overlap one new chunk."""
    return max((sum(old[b] for b, _ in pieces) for pieces in _overlaps(old, new)), default=0)


def task_input_bytes(old: tuple, new: tuple, itemsize: int) -> int:
    """Bytes of whole old blocks the largest task of a direct rechunk reads.

    >>> task_input_bytes(((4, 4),), ((8,),), 8)
    64
    >>> task_input_bytes(((8,), (1,) * 8), ((1,) * 8, (8,)), 8)  # a column of blocks each
    512
    """
    return itemsize * math.prod(_gathered(o, n) for o, n in zip(old, new))


def _runs(chunks: tuple, target: int) -> tuple:
    """Merge consecutive chunks into runs no longer than ``target`` (a chunk longer than
    ``target`` stays alone)."""
    out: list[int] = []
    run = 0
    for c in chunks:
        if run and run + c > target:
            out.append(run)
            run = 0
        run += c
    out.append(run)
    return tuple(out)


def _grow(base: dict, caps: dict, budget: float) -> dict:
    """Lengths ``t[i]`` from ``base[i]`` up to ``caps[i]``, scaled by one common factor,
    whose product stays within ``budget`` (elements); never below ``base``."""
    out = dict(base)
    live = [i for i in base if caps[i] > base[i]]
    budget = budget / max(1, math.prod(base[i] for i in base if i not in live))
    while live:
        prod = math.prod(base[i] for i in live)
        factor = (budget / prod) ** (1.0 / len(live)) if prod else 1.0
        capped = [i for i in live if base[i] * factor >= caps[i]]
        if not capped:
            for i in live:
                out[i] = max(base[i], int(base[i] * factor))
            break
        for i in capped:
            out[i] = caps[i]
            budget /= max(1, caps[i])
            live.remove(i)
    return out


def plan_rechunk(old: tuple, new: tuple, itemsize: int, limit: int) -> list:
    """The chunkings a rechunk passes through, ending with ``new`` (without ``old``).

    One entry means the direct plan; two mean one intermediate stage.

    >>> plan_rechunk(((8,), (1,) * 8), ((1,) * 8, (8,)), 8, 10**6)
    [((1, 1, 1, 1, 1, 1, 1, 1), (8,))]
    >>> plan_rechunk(((8,), (1,) * 8), ((1,) * 8, (8,)), 1, 16)
    [((2, 2, 2, 2), (2, 2, 2, 2)), ((1, 1, 1, 1, 1, 1, 1, 1), (8,))]
    """
    direct = task_input_bytes(old, new, itemsize)
    if direct <= limit or not old:
        return [new]
    ndim = len(old)
    shrink = [i for i in range(ndim) if max(new[i]) < max(old[i])]
    grow = [i for i in range(ndim) if i not in shrink]
    elems = limit / itemsize
    base_grow = {i: max(1, max(old[i])) for i in grow}
    base_shrink = {i: max(1, max(new[i])) for i in shrink}
    # Intermediate blocks need not be larger than the larger of an old and a new block
    # (or a sixteenth of the limit): every element is copied once per stage whatever
    # their size, and larger ones only cost parallelism and memory.
    smallest = math.prod(base_grow.values()) * math.prod(base_shrink.values())
    target = max(math.prod(max(max(c), 1) for c in old),
                 math.prod(max(max(c), 1) for c in new), elems / 16)
    factor = math.sqrt(max(1.0, target / max(1, smallest)))
    # Growing axes: budget left after stage 1 reads whole old chunks on shrinking axes.
    t_grow = _grow(base_grow, {i: max(1, max(new[i])) for i in grow},
                   min(elems / max(1, math.prod(max(old[i]) for i in shrink)),
                       math.prod(base_grow.values()) * factor))
    t_shrink = _grow(base_shrink, {i: max(1, max(old[i])) for i in shrink},
                     min(elems / max(1, math.prod(max(new[i]) for i in grow)),
                         math.prod(base_shrink.values()) * factor))
    mid = []
    for i in range(ndim):
        if i in shrink:
            mid.append(common_chunks(old[i], _runs(new[i], t_shrink[i])))
        else:
            mid.append(common_chunks(_runs(old[i], t_grow[i]), new[i]))
    mid = tuple(mid)
    if mid == new or mid == old:
        return [new]
    staged = max(task_input_bytes(old, mid, itemsize), task_input_bytes(mid, new, itemsize))
    if staged >= direct:
        return [new]
    return [mid, new]


def _balance(chunks: tuple) -> tuple:
    """The same number of chunks per axis, their lengths as even as possible."""
    out = []
    for c in chunks:
        n, total = len(c), sum(c)
        if n <= 1 or any(_isnan(v) for v in c) or max(c) - min(c) <= 1:
            out.append(c)
            continue
        q, r = divmod(total, n)
        out.append((q + 1,) * r + (q,) * (n - r))
    return tuple(out)


def _memory_limit(block_size_limit: Any) -> int:
    limit = config.get("array.rechunk.memory-limit", None)
    if limit is None:
        limit = 4 * parse_bytes(config.get("array.chunk-size"))
    limit = parse_bytes(limit)
    if block_size_limit is not None:
        limit = max(limit, parse_bytes(block_size_limit))
    return limit


def rechunk(x: Array, chunks: Any = "auto", threshold: Any = None,
            block_size_limit: Any = None, balance: bool = False,
            method: str | None = None) -> Array:
    """``x`` with new chunks (any form :func:`normalize_chunks` accepts).

    Parameters
    ----------
    chunks : int, tuple, dict, str
        The new chunks; ``"auto"`` axes keep ``x``'s block proportions and boundaries
        where they can, sized to ``block_size_limit``; a dict changes only the axes it
        names.
    threshold : int, optional
        Accepted for Dask compatibility: plait's plan never needs more than two stages
        (see the module docstring), so there is no graph-growth factor to tune.
    block_size_limit : int or str, optional
        Most bytes per block for ``"auto"`` chunks (default config
        ``array.chunk-size``); a task of the staged plan may read this much even when
        the memory limit is smaller.
    balance : bool
        Even out the new chunks along each axis (same count, lengths differing by at
        most one), so that the last chunk is not a sliver.
    method : {"auto", "direct", "staged"}, optional
        ``"auto"`` (default, config ``array.rechunk.method``) stages the rechunk when
        the direct plan's largest task would read more than config
        ``array.rechunk.memory-limit`` (default 4 x ``array.chunk-size``);
        ``"direct"`` never stages; ``"staged"`` stages whenever that makes the largest
        task read less.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(10), chunks=3)
    >>> y = rechunk(x, 5)
    >>> y.chunks, bool((y.compute() == np.arange(10)).all())
    (((5, 5),), True)
    >>> rechunk(x, 4, balance=True).chunks
    ((4, 3, 3),)
    """
    if threshold is not None and not (isinstance(threshold, (int, float)) and threshold > 0):
        raise ValueError(f"threshold={threshold!r} must be a positive number, e.g. 4")
    method = method or config.get("array.rechunk.method", "auto") or "auto"
    if method not in _METHODS:
        raise ValueError(f"rechunk method {method!r} is unknown: use one of {_METHODS}")
    if isinstance(chunks, dict):
        chunks = tuple(chunks.get(i, chunks.get(i - x.ndim, x.chunks[i]))
                       for i in range(x.ndim))
    new = normalize_chunks(chunks, x.shape, limit=block_size_limit, dtype=x.dtype,
                           previous_chunks=x.chunks)
    if balance:
        new = _balance(new)
    if new == x.chunks:
        return x
    unknown = any(_isnan(v) for c in x.chunks + new for v in c)
    if method == "direct" or unknown or x.dtype.itemsize == 0:
        return _direct(x, new)
    limit = 0 if method == "staged" else _memory_limit(block_size_limit)
    for stage in plan_rechunk(x.chunks, new, x.dtype.itemsize, limit):
        x = _direct(x, stage)
    return x


def _direct(x: Array, new: tuple) -> Array:
    """One task per new block, reading every old block it overlaps."""
    per_axis = [_overlaps(o, n) for o, n in zip(x.chunks, new)]
    name = new_name("rechunk")
    layer = {}
    for idx in itertools.product(*[range(len(n)) for n in new]):
        choices = [per_axis[ax][i] for ax, i in enumerate(idx)]
        refs: list = []
        template = _nest(x.name, x.ndim, choices, refs, 0, (), ())
        key = (name,) + idx
        if len(refs) == 1:
            layer[key] = Task(key, _cut, refs[0], _first_leaf(template))
        else:
            layer[key] = Task(key, _assemble, x.ndim, template, *refs)
    return Array(layer, name, new, x.dtype, (x,))


def _nest(xname: str, ndim: int, choices: list, refs: list, ax: int, old_idx: tuple,
          slc: tuple) -> Any:
    if ax == ndim:
        refs.append(Ref((xname,) + old_idx))
        return slc
    return [_nest(xname, ndim, choices, refs, ax + 1, old_idx + (b,), slc + (s,))
            for b, s in choices[ax]]


def _assemble(ndim: int, slices: Any, *blocks: Any) -> Any:
    """Cut each overlapping old block and put the pieces together."""
    pieces = _cut_all(slices, iter(blocks))
    return concatenate_blocks(pieces, ndim)


def _cut_all(slices: Any, blocks: Any) -> Any:
    # A plain recursive function, not a closure: a closure that calls itself is a
    # reference cycle, and a cycle holding the iterator over the old blocks keeps every
    # one of them alive until the cyclic garbage collector happens to run, which with
    # few Python objects allocated can be never during a rechunk (the staged plan then
    # held whole stages at once).
    if isinstance(slices, list):
        return [_cut_all(v, blocks) for v in slices]
    return next(blocks)[slices]


def _first_leaf(template: Any) -> Any:
    while isinstance(template, list):
        template = template[0]
    return template


def _cut(block: Any, slc: tuple) -> Any:
    return block[slc]

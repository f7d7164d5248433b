"""Changing an array's chunks: each new block is cut from the old blocks it overlaps.

This is the direct plan (every output block reads its overlapping input blocks at
once); it is what element-wise alignment needs. A plan that bounds the memory of very
large rechunks by splitting them into stages belongs with the array's part 2.
"""

from __future__ import annotations

import bisect
import itertools
from typing import Any

import numpy as np

from ..graph import Ref, Task
from .chunks import normalize_chunks
from .core import Array, concatenate_blocks, new_name

__all__ = ["rechunk"]


def _overlaps(old: tuple, new: tuple) -> list:
    """For each new chunk along one axis: [(old block, slice within it), ...]."""
    bounds = [0]
    for c in old:
        bounds.append(bounds[-1] + c)
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


def _assemble(ndim: int, slices: Any, *blocks: Any) -> Any:
    """Cut each overlapping old block and put the pieces together."""
    it = iter(blocks)

    def build(s: Any) -> Any:
        if isinstance(s, list):
            return [build(x) for x in s]
        return next(it)[s]

    return concatenate_blocks(build(slices), ndim)


def rechunk(x: Array, chunks: Any = "auto", threshold: Any = None,
            block_size_limit: Any = None, balance: bool = False) -> Array:
    """``x`` with new chunks (any form :func:`normalize_chunks` accepts).

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(10), chunks=3)
    >>> y = rechunk(x, 5)
    >>> y.chunks, bool((y.compute() == np.arange(10)).all())
    (((5, 5),), True)
    """
    if isinstance(chunks, dict):
        chunks = tuple(chunks.get(i, x.chunks[i]) for i in range(x.ndim))
    new = normalize_chunks(chunks, x.shape, limit=block_size_limit, dtype=x.dtype,
                           previous_chunks=x.chunks)
    if new == x.chunks:
        return x
    per_axis = [_overlaps(o, n) for o, n in zip(x.chunks, new)]
    name = new_name("rechunk")
    layer = {}
    for idx in itertools.product(*[range(len(n)) for n in new]):
        choices = [per_axis[ax][i] for ax, i in enumerate(idx)]
        refs = []

        def nest(ax: int, old_idx: tuple, slc: tuple) -> Any:
            if ax == x.ndim:
                refs.append(Ref((x.name,) + old_idx))
                return slc
            return [nest(ax + 1, old_idx + (b,), slc + (s,)) for b, s in choices[ax]]

        template = nest(0, (), ())
        if len(refs) == 1:
            layer[(name,) + idx] = Task((name,) + idx, _cut, refs[0], _first_leaf(template))
        else:
            layer[(name,) + idx] = Task((name,) + idx, _assemble, x.ndim, template, *refs)
    return Array(layer, name, new, x.dtype, (x,))


def _first_leaf(template: Any) -> Any:
    while isinstance(template, list):
        template = template[0]
    return template


def _cut(block: Any, slc: tuple) -> Any:
    return block[slc]

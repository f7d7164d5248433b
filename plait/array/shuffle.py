"""Reorder one axis of an array by groups of positions: ``shuffle``.

xarray's group-by on chunked data (without flox) first brings the members of each group
together, so that every group lies inside one block, then reduces or transforms block by
block. ``shuffle(x, [[0, 3], [1, 4], [2, 5]], axis=0)`` puts positions 0 and 3 side by
side, then 1 and 4, then 2 and 5; groups are packed into blocks about as long as the
input's blocks, and a group is never cut across two blocks.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .core import Array, asarray

__all__ = ["shuffle"]


def _pack(groups: list[np.ndarray], target: int) -> list[np.ndarray]:
    """Consecutive groups joined into blocks of at most ``target`` positions (a group
    longer than that is a block of its own)."""
    blocks: list[np.ndarray] = []
    current: list[np.ndarray] = []
    size = 0
    for g in groups:
        if current and size + len(g) > target:
            blocks.append(np.concatenate(current))
            current, size = [], 0
        current.append(g)
        size += len(g)
    if current:
        blocks.append(np.concatenate(current))
    return blocks


def shuffle(x: Any, indexer: Sequence[Sequence[int]], axis: int, chunks: Any = "auto") -> Array:
    """``x`` with ``axis`` reordered as the concatenation of ``indexer``'s groups, each
    group kept inside one block.

    Parameters
    ----------
    x : array_like
    indexer : list of lists of int
        Positions along ``axis``; each inner list is a group that ends up in one block.
    axis : int
    chunks : "auto"
        Blocks hold whole groups, packed up to the input's largest block along ``axis``.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(6) * 10, chunks=2)
    >>> y = shuffle(x, [[0, 3], [1, 4], [2, 5]], axis=0)
    >>> y.chunks, y.compute()
    (((2, 2, 2),), array([ 0, 30, 10, 40, 20, 50]))
    """
    from .slicing import take_groups

    x = asarray(x)
    if chunks != "auto":
        raise NotImplementedError(
            f"shuffle packs groups into blocks itself; chunks={chunks!r} is not supported, "
            "use chunks='auto' and rechunk the result if needed")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of {x.ndim} dimensions")
    axis %= x.ndim
    n = x.shape[axis]
    groups = [np.asarray(g, dtype=np.intp).reshape(-1) for g in indexer]
    groups = [g for g in groups if len(g)]
    for g in groups:
        bad = (g < -n) | (g >= n)
        if bad.any():
            raise IndexError(f"shuffle: position {int(g[bad][0])} is out of bounds for "
                             f"axis {axis} of length {n}")
    groups = [np.where(g < 0, g + n, g) for g in groups]
    if not groups:
        return take_groups(x, [np.zeros(0, dtype=np.intp)], axis, prefix="shuffle")
    target = max(x.chunks[axis]) if x.chunks[axis] else 1
    return take_groups(x, _pack(groups, max(1, target)), axis, prefix="shuffle")

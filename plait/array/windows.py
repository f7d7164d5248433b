"""Moving windows and medians over chunked axes.

``sliding_window_view`` (``np.lib.stride_tricks.sliding_window_view``) gives every
window of ``window_shape`` along ``axis`` as new trailing axes; xarray's ``rolling``
builds on it. Each output block reads its own input block plus the first
``window - 1`` elements after it (from as many following blocks as that needs), so
windows that cross block boundaries are complete and nothing is recomputed.

``median``/``nanmedian`` bring the reduced axes into one block, then take NumPy's
median block by block (a median has no exact block-wise partial to merge).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view as _np_windows

from ..graph import Ref, Task
from .core import Array, asarray, implements, new_name

__all__ = ["sliding_window_view", "median", "nanmedian"]


def _window_block(axis: int, lo: int, hi: int, window: int, *parts: np.ndarray) -> np.ndarray:
    joined = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)
    index = [slice(None)] * joined.ndim
    index[axis] = slice(lo, hi + window - 1)
    return _np_windows(joined[tuple(index)], window, axis=axis)


def _one_axis(x: Array, window: int, axis: int) -> Array:
    import itertools

    n = x.shape[axis]
    if window > n:
        raise ValueError(f"window shape {window} cannot be larger than the array's length "
                         f"{n} along axis {axis}")
    if window < 0:
        raise ValueError("`window_shape` cannot contain negative values")
    bounds = np.cumsum((0,) + x.chunks[axis])
    out_len = n - window + 1
    # Output block i covers the windows starting inside input block i (cut at out_len).
    out_chunks = []
    plan = []
    for i, c in enumerate(x.chunks[axis]):
        start, stop = int(bounds[i]), min(int(bounds[i + 1]), out_len)
        if stop <= start:
            continue
        last = int(np.searchsorted(bounds, stop + window - 2, side="right")) - 1
        plan.append((i, start, stop, last))
        out_chunks.append(stop - start)
    if not plan:  # window == n + 1 is excluded above; an empty axis leaves one empty block
        plan, out_chunks = [(0, 0, 0, 0)], [0]
    name = new_name("sliding-window")
    layer = {}
    others = [range(len(c)) for a, c in enumerate(x.chunks) if a != axis]
    for j, (i, start, stop, last) in enumerate(plan):
        for rest in itertools.product(*others):
            def at(b: int) -> tuple:
                return (x.name,) + rest[:axis] + (b,) + rest[axis:]

            refs = [Ref(at(b)) for b in range(i, max(i, last) + 1)]
            key = (name,) + rest[:axis] + (j,) + rest[axis:] + (0,)
            layer[key] = Task(key, _window_block, axis, start - int(bounds[i]),
                              stop - int(bounds[i]), window, *refs)
    chunks = list(x.chunks)
    chunks[axis] = tuple(out_chunks)
    return Array(layer, name, tuple(chunks) + ((window,),), x.dtype, (x,))


@implements(np.lib.stride_tricks.sliding_window_view)
def sliding_window_view(x: Any, window_shape: Any, axis: Any = None, *,
                        subok: bool = False, writeable: bool = False,
                        automatic_rechunk: bool = True) -> Array:
    """Every window of ``window_shape`` along ``axis``, as new trailing axes (NumPy's
    ``sliding_window_view``; blocks are copies, never writeable views).

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(6), chunks=2)
    >>> sliding_window_view(x, 3).compute()
    array([[0, 1, 2],
           [1, 2, 3],
           [2, 3, 4],
           [3, 4, 5]])
    """
    x = asarray(x)
    windows = (window_shape,) if np.ndim(window_shape) == 0 else tuple(window_shape)
    if axis is None:
        if len(windows) != x.ndim:
            raise ValueError(f"window_shape {windows} needs one entry per axis of the "
                             f"{x.ndim}-d array when axis is None")
        axes = tuple(range(x.ndim))
    else:
        axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
        if len(axes) != len(windows):
            raise ValueError(f"window_shape {windows} and axis {axes} must have the same "
                             "length")
    out = x
    for w, a in zip(windows, axes):
        out = _one_axis(out, int(w), a % x.ndim)
    return out


def _median(prefix: str, func: Any, a: Any, axis: Any, keepdims: bool) -> Array:
    from numpy.lib.array_utils import normalize_axis_tuple

    from .blockwise import map_blocks

    x = asarray(a)
    axes = tuple(range(x.ndim)) if axis is None else normalize_axis_tuple(axis, x.ndim)
    x = x.rechunk({ax: -1 for ax in axes})
    dtype = func(np.ones((1,) * x.ndim, dtype=x.dtype)).dtype
    if keepdims:
        return map_blocks(func, x, axis=axes, keepdims=True, dtype=dtype, token=prefix,
                          chunks=tuple((1,) if i in axes else c for i, c in enumerate(x.chunks)))
    return map_blocks(func, x, axis=axes, keepdims=False, dtype=dtype, token=prefix,
                      drop_axis=axes)


@implements(np.median)
def median(a: Any, axis: Any = None, keepdims: bool = False, out: Any = None,
           overwrite_input: bool = False) -> Array:
    """The median along ``axis`` (those axes are first joined into one block each).

    >>> import numpy as np, plait.array as da
    >>> median(da.from_array(np.array([[3., 1., 2.], [6., 5., 4.]]), chunks=1), axis=1).compute()
    array([2., 5.])
    """
    return _median("median", np.median, a, axis, keepdims)


@implements(np.nanmedian)
def nanmedian(a: Any, axis: Any = None, keepdims: bool = False, out: Any = None,
              overwrite_input: bool = False) -> Array:
    """The median along ``axis`` ignoring NaNs (see :func:`median`)."""
    return _median("nanmedian", np.nanmedian, a, axis, keepdims)

"""NumPy's general advanced indexing: several integer arrays in one key, and integer
index arrays of any dimension.

NumPy's rule, which plait follows exactly:

- every array index (and every integer, once an array index is present) takes part in
  one *broadcast*: the arrays are broadcast together and pick elements point-wise, so
  ``x[[0, 2], [1, 3]]`` is ``[x[0, 1], x[2, 3]]``; a boolean NumPy array counts as the
  integer arrays of its ``nonzero()``;
- the broadcast dimensions replace the indexed axes *in place* when the advanced indices
  are next to each other in the key (``x[:, [0, 1], [2, 3]]`` has shape ``(n0, 2)``), and
  go *first* when a slice, ``None`` or ``Ellipsis`` separates them
  (``x[[0, 1], :, [2, 3]]`` has shape ``(2, n1)``);
- slices and ``None`` give the remaining dimensions in key order.

The plan reuses the point-wise machinery of ``vindex``: slices are applied first (the
indexed axes kept whole), the points are gathered with each source block read once per
output chunk, then ``None`` axes are inserted and the broadcast dimensions moved where
NumPy puts them.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from .core import Array

__all__ = ["needs_general", "general_getitem"]


def needs_general(key: list) -> bool:
    """Whether a normalised key needs the general plan: more than one array index, an
    integer array of other than one dimension, or a NumPy boolean array of more than one
    dimension next to other indices."""
    arrays = [k for k in key if isinstance(k, (np.ndarray, Array))]
    if len(arrays) > 1:
        return True
    if len(arrays) == 1:
        k = arrays[0]
        if k.dtype.kind in "iu" and k.ndim != 1:
            return True
        if isinstance(k, np.ndarray) and k.dtype.kind == "b" and k.ndim > 1:
            return True
    return False


def general_getitem(x: Array, key: list) -> Array:
    """``x[key]`` for a normalised ``key`` (Ellipsis expanded, lists made arrays) that
    :func:`needs_general` accepts.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(12).reshape(3, 4), chunks=2)
    >>> x[[0, 2], [1, 3]].compute()
    array([ 1, 11])
    >>> x[np.array([[0, 1], [2, 0]])].shape
    (2, 2, 4)
    """
    from .routines import moveaxis
    from .slicing import _basic, _vindex

    if any(isinstance(k, Array) for k in key):
        raise NotImplementedError(
            "a plait array can be the only array in an index (x[idx] or x[:, idx]); "
            "with several array indices, compute the plait ones first "
            "(x[idx.compute(), other])")
    # Boolean arrays become the integer arrays of their nonzero(), one per axis covered.
    expanded: list = []
    for k in key:
        if isinstance(k, np.ndarray) and k.dtype.kind == "b":
            expanded.extend(_bool_positions(x, expanded, k))
        else:
            expanded.append(k)
    key = expanded
    advanced = [i for i, k in enumerate(key) if isinstance(k, (np.ndarray, Integral))]
    together = advanced == list(range(advanced[0], advanced[-1] + 1))
    try:
        bshape = np.broadcast_shapes(*[np.shape(key[i]) for i in advanced])
    except ValueError:
        shapes = " ".join(str(np.shape(key[i])) for i in advanced)
        raise IndexError("shape mismatch: indexing arrays could not be broadcast "
                         f"together with shapes {shapes}") from None
    # Step 1: the slices, with the indexed axes kept whole and no new axes yet.
    y = _basic(x, [slice(None) if i in advanced else k
                   for i, k in enumerate(key) if k is not None])
    # Step 2: the points. vindex puts the broadcast dimensions first, then the sliced
    # axes in order.
    points = [np.asarray(k, dtype=np.intp) if i in advanced else slice(None)
              for i, k in enumerate(key) if k is not None]
    out = _vindex(y, tuple(points))
    nb = len(bshape)
    # Step 3: None axes, in key order among the sliced axes (after the broadcast dims).
    rest = [k for i, k in enumerate(key) if i not in advanced]
    if any(k is None for k in rest):
        out = _basic(out, [slice(None)] * nb
                     + [None if k is None else slice(None) for k in rest])
    # Step 4: adjacent advanced indices keep their place.
    if together and nb:
        before = sum(1 for k in key[:advanced[0]] if k is None or isinstance(k, slice))
        if before:
            out = moveaxis(out, list(range(nb)), list(range(before, before + nb)))
    return out


def _bool_positions(x: Array, done: list, mask: np.ndarray) -> list:
    """The integer arrays of ``mask.nonzero()``, after checking that the mask matches
    the axes it covers (``done`` is the key before it)."""
    start = sum(0 if k is None else 1 for k in done)
    dims = tuple(x.shape[start:start + mask.ndim])
    if mask.ndim == 0:
        raise IndexError("a 0-d boolean index mixed with array indices is not supported; "
                         "use x[None][mask] or index with the boolean's value")
    if dims != mask.shape:
        raise IndexError(f"boolean index shape {mask.shape} does not match the indexed "
                         f"array's shape {dims} on axes {start}..{start + mask.ndim - 1}")
    return list(np.nonzero(mask))

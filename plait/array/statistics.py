"""Statistics over chunked arrays: unique values, histograms, bincount, digitize and
searchsorted; percentiles and quantiles live in :mod:`plait.array.quantiles` and are
re-exported here.

Partial results (per-block histograms, counts, unique values) are merged by a tree of
tasks that each merge at most ``_SPLIT`` partials, so no task sees every block at once.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

import numpy as np

from ..graph import Ref, Task
from .blockwise import blockwise, map_blocks
from .core import Array, asarray, implements, new_name
from .quantiles import nanpercentile, nanquantile, percentile, quantile
from .routines import _ravel

__all__ = [
    "unique", "histogram", "histogram2d", "histogramdd", "bincount", "digitize",
    "searchsorted", "percentile", "quantile", "nanpercentile", "nanquantile",
]

_SPLIT = 16


def _merge_tree(layer: dict, keys: list, merge: Callable, prefix: str) -> Any:
    """Merge the values at ``keys`` with ``merge(list) -> value`` in a tree; the root key."""
    level = 0
    while len(keys) > 1:
        nxt = []
        name = new_name(f"{prefix}-merge{level}")
        for i in range(0, len(keys), _SPLIT):
            key = (name, i // _SPLIT)
            layer[key] = Task(key, merge, [Ref(k) for k in keys[i:i + _SPLIT]])
            nxt.append(key)
        keys, level = nxt, level + 1
    return keys[0]


def _flat_blocks(x: Array) -> list:
    import itertools

    return [(x.name,) + idx for idx in itertools.product(*[range(n) for n in x.numblocks])]


def _sum_parts(parts: list) -> np.ndarray:
    out = parts[0].copy()
    for p in parts[1:]:
        out += p
    return out


def _identity(x: Any) -> Any:
    return x


# -- unique -------------------------------------------------------------------------------

def _unique_chunk(block: np.ndarray, offset: int, with_index: bool) -> dict:
    flat = block.ravel()
    if with_index:
        values, index, counts = np.unique(flat, return_index=True, return_counts=True)
        return {"v": values, "i": index + offset, "c": counts}
    values, counts = np.unique(flat, return_counts=True)
    return {"v": values, "c": counts}


def _unique_merge(parts: list) -> dict:
    values = np.concatenate([p["v"] for p in parts])
    counts = np.concatenate([p["c"] for p in parts])
    out, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    merged = {"v": out, "c": np.bincount(inverse.ravel(), weights=counts,
                                         minlength=len(out)).astype(np.intp)}
    if "i" in parts[0]:
        index = np.concatenate([p["i"] for p in parts])
        best = np.full(len(out), np.iinfo(np.intp).max, dtype=np.intp)
        np.minimum.at(best, inverse.ravel(), index)
        merged["i"] = best
    return merged


def _unique_inverse(block: np.ndarray, merged: dict) -> np.ndarray:
    return np.searchsorted(merged["v"], block)


@implements(np.unique)
def unique(ar: Any, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False) -> Any:
    """The sorted unique values of ``ar`` (flattened), optionally with the flat index of
    each value's first occurrence, the inverse (``ar``'s shape, as NumPy 2 gives) and
    the counts. The number of unique values is unknown until computed, so the results'
    chunks are ``((nan,),)``.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.array([3, 1, 3, 2, 1]), chunks=2)
    >>> unique(x).compute()
    array([1, 2, 3])
    >>> unique(x, return_counts=True)[1].compute()
    array([2, 1, 2])
    """
    x = asarray(ar)
    if any(math.isnan(c) for cs in x.chunks for c in cs):
        raise ValueError(f"unique needs known chunk sizes; the chunks are {x.chunks}")
    layer: dict = {}
    name = new_name("unique-chunk")
    keys = []
    # Flat offsets of each block (C order over the whole array): ravel first so blocks
    # are contiguous runs.
    flat = _ravel(x) if (return_index and x.ndim > 1) else x
    offsets = np.cumsum((0,) + flat.chunks[0][:-1]).tolist() if flat.ndim == 1 else None
    for n, key in enumerate(_flat_blocks(flat)):
        out = (name, n)
        off = offsets[key[1]] if (return_index and offsets is not None) else 0
        layer[out] = Task(out, _unique_chunk, Ref(key), off, return_index)
        keys.append(out)
    root = _merge_tree(layer, keys, _unique_merge, "unique")
    deps = (flat,)
    results = []
    fields = [("v", flat.dtype)]
    if return_index:
        fields.append(("i", np.dtype(np.intp)))
    for field, dtype in fields:
        oname = new_name(f"unique-{field}")
        layer[(oname, 0)] = Task((oname, 0), operator.getitem, Ref(root), field)
        results.append(Array(dict(layer), oname, ((math.nan,),), dtype, deps))
    if return_inverse:
        iname = new_name("unique-inverse")
        inv_layer = dict(layer)
        for key in _flat_blocks(x):
            out = (iname,) + key[1:]
            inv_layer[out] = Task(out, _unique_inverse, Ref(key), Ref(root))
        results.append(Array(inv_layer, iname, x.chunks, np.dtype(np.intp), (x, flat)))
    if return_counts:
        cname = new_name("unique-c")
        layer[(cname, 0)] = Task((cname, 0), operator.getitem, Ref(root), "c")
        results.append(Array(dict(layer), cname, ((math.nan,),), np.dtype(np.intp), deps))
    return results[0] if len(results) == 1 else tuple(results)


# -- histograms ---------------------------------------------------------------------------

def _edges(bins: Any, range: Any, what: str) -> np.ndarray:
    if isinstance(bins, Array):
        raise TypeError(f"{what}: bins must be known when the graph is built; pass NumPy "
                        "edges (bins.compute()) instead of a plait array")
    if np.ndim(bins) == 0:
        if range is None:
            raise ValueError(
                f"{what} with bins={bins!r} needs range=(low, high): plait does not scan "
                "the data for its extent. Pass range=(float(x.min()), float(x.max())) or "
                "explicit bin edges")
        if int(bins) < 1:
            raise ValueError(f"{what}: bins must be a positive integer, got {bins!r}")
        lo, hi = range
        return np.histogram_bin_edges(np.empty(0), bins=int(bins), range=(lo, hi))
    edges = np.asarray(bins)
    if edges.ndim != 1 or np.any(np.diff(edges) < 0):
        raise ValueError(f"{what}: bins must increase monotonically, got {bins!r}")
    return edges


def _hist_block(*blocks: np.ndarray, edges: list, weighted: bool, dd: bool) -> np.ndarray:
    if weighted:
        *samples, w = blocks
        w = w.ravel()
    else:
        samples, w = list(blocks), None
    samples = [s.ravel() for s in samples]
    if not dd:
        return np.histogram(samples[0], bins=edges[0], weights=w)[0]
    return np.histogramdd(np.stack(samples, axis=-1) if samples[0].size else
                          np.empty((0, len(samples))), bins=edges, weights=w)[0]


def _hist_counts(samples: list, edges: list, weights: Any, what: str) -> Array:
    arrays = [asarray(s) for s in samples]
    if weights is not None:
        arrays.append(asarray(weights))
    shape = arrays[0].shape
    for a in arrays[1:]:
        if a.shape != shape:
            raise ValueError(f"{what}: the samples and weights must have one shape; got "
                             + ", ".join(str(b.shape) for b in arrays))
    ind = tuple(range(len(shape)))
    # Align chunks through blockwise, one partial histogram per block.
    nbins = tuple(len(e) - 1 for e in edges)
    from .blockwise import unify_chunks

    _, aligned = unify_chunks(*[v for a in arrays for v in (a, ind)])
    layer: dict = {}
    name = new_name(f"{what}-chunk")
    keys = []
    for n, key in enumerate(_flat_blocks(aligned[0])):
        out = (name, n)
        refs = [Ref((a.name,) + key[1:]) for a in aligned]
        layer[out] = Task(out, _hist_block, *refs, edges=edges, weighted=weights is not None,
                          dd=what != "histogram")
        keys.append(out)
    root = _merge_tree(layer, keys, _sum_parts, what)
    oname = new_name(what)
    key = (oname,) + (0,) * len(nbins)
    layer[key] = Task(key, _identity, Ref(root))
    if what != "histogram":
        dtype = np.dtype(np.float64)  # np.histogramdd counts in float64
    elif weights is None:
        dtype = np.dtype(np.intp)
    else:
        dtype = np.histogram(np.empty(0), bins=edges[0],
                             weights=np.empty(0, aligned[-1].dtype))[0].dtype
    return Array(layer, oname, tuple((b,) for b in nbins), dtype, tuple(aligned))


def _density(counts: Array, edges: list) -> Array:
    volume = np.ones(tuple(len(e) - 1 for e in edges))
    for d, e in enumerate(edges):
        shape = [1] * len(edges)
        shape[d] = len(e) - 1
        volume = volume * np.diff(e).reshape(shape)
    total = counts.sum()
    return counts / total / volume


@implements(np.histogram)
def histogram(a: Any, bins: Any = 10, range: Any = None, weights: Any = None,
              density: bool = False, normed: Any = None) -> tuple:
    """Counts of ``a`` (flattened) in bins, and the bin edges (a NumPy array). The bins
    must be known when the graph is built: an int with ``range=``, or explicit edges.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.array([0.5, 1.5, 1.7, 2.5]), chunks=2)
    >>> counts, edges = histogram(x, bins=3, range=(0, 3))
    >>> counts.compute(), edges
    (array([1, 2, 1]), array([0., 1., 2., 3.]))
    """
    edges = _edges(bins, range, "histogram")
    counts = _hist_counts([a], [edges], weights, "histogram")
    if density:
        counts = _density(counts, [edges])
    return counts, edges


@implements(np.histogramdd)
def histogramdd(sample: Any, bins: Any = 10, range: Any = None, weights: Any = None,
                density: bool = False) -> tuple:
    """A multidimensional histogram. ``sample`` is a sequence of D arrays of one shape,
    or an (N, D) array (its second axis gathered into one block). Each bins entry (or
    ``bins`` for all dimensions) is an int with a range, or explicit edges.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.array([0.5, 1.5, 1.5]), chunks=2)
    >>> h, e = histogramdd([x, x], bins=2, range=[(0, 2), (0, 2)])
    >>> h.compute()
    array([[1., 0.],
           [0., 2.]])
    """
    if isinstance(sample, (list, tuple)):
        samples = [asarray(s) for s in sample]
    else:
        s = asarray(sample)
        if s.ndim != 2:
            raise ValueError(f"histogramdd: an array sample must be (N, D), got shape "
                             f"{s.shape}")
        from .manipulation import _axis_range

        samples = [_axis_range(s, 1, d, d + 1) for d in builtins_range(s.shape[1])]
        if weights is not None:
            weights = asarray(weights)
            from .routines import expand_dims

            weights = expand_dims(weights, 1) if weights.ndim == 1 else weights
    dims = len(samples)
    try:  # NumPy's rule: a sequence gives one entry per dimension, anything else is shared
        count = len(bins)
    except TypeError:
        bins, count = [bins] * dims, dims
    if count != dims:
        raise ValueError(f"histogramdd: the dimension of bins ({count}) must equal the "
                         f"dimension of the sample ({dims})")
    ranges = [None] * dims if range is None else list(range)
    edges = [_edges(b, r, "histogramdd") for b, r in zip(bins, ranges)]
    counts = _hist_counts(samples, edges, weights, "histogramdd")
    if density:
        counts = _density(counts, edges)
    return counts, edges


builtins_range = range


@implements(np.histogram2d)
def histogram2d(x: Any, y: Any, bins: Any = 10, range: Any = None, weights: Any = None,
                density: bool = False) -> tuple:
    """A 2-d histogram of the pairs ``(x, y)``: counts, x edges, y edges."""
    try:  # NumPy's rule: one entry, or an x and a y entry, or shared edges
        count = len(bins)
    except TypeError:
        count = 1
    if count != 1 and count != 2:
        bins = [np.asarray(bins), np.asarray(bins)]
    elif count == 1:
        bins = [bins, bins]
    counts, edges = histogramdd([x, y], bins=bins, range=range, weights=weights,
                                density=density)
    return counts, edges[0], edges[1]


# -- bincount, digitize, searchsorted -------------------------------------------------------

def _bincount_block(x: np.ndarray, w: Any, minlength: int) -> np.ndarray:
    return np.bincount(x.ravel(), weights=None if w is None else w.ravel(),
                       minlength=minlength)


def _bincount_merge(parts: list) -> np.ndarray:
    n = max(len(p) for p in parts)
    out = np.zeros(n, dtype=parts[0].dtype)
    for p in parts:
        out[:len(p)] += p
    return out


def _bincount_check(counts: np.ndarray, minlength: int) -> np.ndarray:
    if len(counts) > minlength:
        raise ValueError(f"bincount with minlength={minlength} found the value "
                         f"{len(counts) - 1}; the result's length was declared as "
                         f"{minlength}: pass a larger minlength, or minlength=0 for a "
                         "length computed with the result")
    return counts


@implements(np.bincount)
def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Array:
    """Count occurrences of each non-negative int in the 1-d array ``x``.

    With ``minlength > 0`` the result has that known length, and computing it raises a
    ValueError if ``x`` holds a value ``>= minlength``. With ``minlength=0`` the length is
    ``max(x) + 1``, known only when computed: the result's chunks are ``((nan,),)``.

    >>> import numpy as np, plait.array as da
    >>> bincount(da.from_array(np.array([0, 1, 1, 3]), chunks=2), minlength=5).compute()
    array([1, 2, 0, 1, 0])
    """
    x = asarray(x)
    if x.ndim != 1:
        raise ValueError(f"bincount: x must be 1-d, got shape {x.shape}")
    if x.dtype.kind not in "iub":
        raise TypeError(f"bincount: x must hold integers, got dtype {x.dtype}")
    minlength = int(minlength)
    if minlength < 0:
        raise ValueError("'minlength' must not be negative")
    arrays = [x]
    if weights is not None:
        weights = asarray(weights)
        if weights.shape != x.shape:
            raise ValueError(f"bincount: weights have shape {weights.shape}, x has {x.shape}")
        from .blockwise import unify_chunks

        _, (x, weights) = unify_chunks(x, "i", weights, "i")
        arrays = [x, weights]
    layer: dict = {}
    name = new_name("bincount-chunk")
    keys = []
    for b in builtins_range(x.numblocks[0]):
        w = Ref((weights.name, b)) if weights is not None else None
        layer[(name, b)] = Task((name, b), _bincount_block, Ref((x.name, b)), w, minlength)
        keys.append((name, b))
    root = _merge_tree(layer, keys, _bincount_merge, "bincount")
    oname = new_name("bincount")
    if minlength:
        layer[(oname, 0)] = Task((oname, 0), _bincount_check, Ref(root), minlength)
        chunks = ((minlength,),)
    else:
        layer[(oname, 0)] = Task((oname, 0), _identity, Ref(root))
        chunks = ((math.nan,),)
    # NumPy counts in intp, and sums weights as float64 whatever their dtype.
    dtype = np.dtype(np.intp) if weights is None else np.dtype(np.float64)
    return Array(layer, oname, chunks, dtype, tuple(arrays))


@implements(np.digitize)
def digitize(x: Any, bins: Any, right: bool = False) -> Array:
    """Indices of the bins (a NumPy 1-d array) that each value of ``x`` falls in.

    >>> import numpy as np, plait.array as da
    >>> digitize(da.from_array(np.array([0.2, 6.4, 3.0]), chunks=2), [0, 1, 2.5, 4]).compute()
    array([1, 4, 3])
    """
    x = asarray(x)
    if isinstance(bins, Array):
        bins = bins.compute()
    bins = np.asarray(bins)
    if bins.ndim != 1:
        raise ValueError("digitize: bins must be 1-dimensional")
    return map_blocks(np.digitize, x, bins, right=right, dtype=np.intp, token="digitize")


def _searchsorted_block(a: np.ndarray, v: np.ndarray, side: str, sorter: Any) -> np.ndarray:
    return np.searchsorted(a, v, side=side, sorter=sorter)


@implements(np.searchsorted)
def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None) -> Array:
    """Where to insert each value of ``v`` into the sorted 1-d array ``a`` (a NumPy array,
    or a plait array whose blocks are gathered into one for each task).

    >>> import numpy as np, plait.array as da
    >>> searchsorted(np.array([1, 3, 5]), da.from_array(np.array([0, 3, 6]), chunks=2)).compute()
    array([0, 1, 3])
    """
    a = asarray(a)
    if a.ndim != 1:
        raise ValueError(f"searchsorted: a must be 1-d, got shape {a.shape}")
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    v = asarray(v)
    if sorter is not None:
        sorter = np.asarray(sorter.compute() if isinstance(sorter, Array) else sorter)
    ind = tuple(range(1, v.ndim + 1))
    return blockwise(_searchsorted_block, ind, a, (0,), v, ind, side=side, sorter=sorter,
                     concatenate=True, dtype=np.intp, token="searchsorted")

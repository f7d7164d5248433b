"""plait.array: chunked N-dimensional arrays with the NumPy API (``import plait.array as da``).

Each block is a NumPy array; operations build task graphs; ``compute()`` returns a
NumPy array. Arrays compute with threads by default (NumPy releases the GIL).
"""

from . import fft, linalg, random
from . import ufunc as _ufunc
from .blockwise import blockwise, map_blocks, unify_chunks
from .chunks import normalize_chunks
from .core import Array, asanyarray, asarray, from_array
from .creation import (
    arange,
    diag,
    empty,
    empty_like,
    eye,
    from_delayed,
    fromfunction,
    full,
    full_like,
    indices,
    linspace,
    meshgrid,
    ones,
    ones_like,
    tri,
    zeros,
    zeros_like,
)
from .gufunc import apply_gufunc, as_gufunc, gufunc
from .file_targets import HDF5Target
from .io import from_npy_stack, from_zarr, store, to_hdf5, to_npy_stack, to_zarr
from .manipulation import (
    argtopk,
    array_split,
    diff,
    dstack,
    flip,
    fliplr,
    flipud,
    gradient,
    hstack,
    isin,
    pad,
    repeat,
    roll,
    sort,
    split,
    tile,
    topk,
    tril,
    triu,
    vstack,
)
from .overlap import map_overlap
from .rechunk import rechunk
from .shuffle import shuffle
from .reshape import ravel, reshape
from .slicing import argwhere, compress, nonzero, take
from .statistics import (
    bincount,
    digitize,
    histogram,
    histogram2d,
    histogramdd,
    nanpercentile,
    nanquantile,
    percentile,
    quantile,
    searchsorted,
    unique,
)
from .ufunc import *  # noqa: F401,F403 - every element-wise NumPy ufunc as da.<name>
from .ufunc import elemwise

# After the ufuncs: these names are not element-wise.
from .linalg import dot, einsum, inner, matmul, outer, tensordot, trace, vdot  # noqa: E402
from .reductions import (  # noqa: E402
    all,
    any,
    argmax,
    argmin,
    count_nonzero,
    cumprod,
    cumsum,
    max,
    mean,
    min,
    moment,
    nanargmax,
    nanargmin,
    nancumprod,
    nancumsum,
    nanmax,
    nanmean,
    nanmin,
    nanprod,
    nanstd,
    nansum,
    nanvar,
    prod,
    reduction,
    std,
    sum,
    var,
)
from .windows import median, nanmedian  # noqa: E402
from .routines import (  # noqa: E402
    allclose,
    around,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    block,
    broadcast_arrays,
    broadcast_to,
    clip,
    concatenate,
    conj,
    expand_dims,
    imag,
    isclose,
    moveaxis,
    nan_to_num,
    real,
    round,
    squeeze,
    stack,
    swapaxes,
    transpose,
    where,
)

_API_MODULES = ("creation", "reductions", "linalg", "routines", "random", "gufunc", "fft",
                "decompositions", "setitem", "overlap", "io", "manipulation", "statistics",
                "slicing", "reshape", "numpy_compat", "windows")


def _register_all() -> None:
    """Import the API modules so their ``__array_function__`` implementations register."""
    import importlib

    for name in _API_MODULES:
        importlib.import_module(f"plait.array.{name}")


__all__ = sorted(
    set(_ufunc.UFUNC_NAMES)
    | {
        "Array", "HDF5Target", "fft", "linalg", "map_overlap", "store", "to_zarr", "from_zarr", "to_hdf5",
        "to_npy_stack", "from_npy_stack", "argtopk", "array_split", "diff", "dstack", "flip",
        "fliplr", "flipud", "gradient", "hstack", "isin", "pad", "repeat", "roll", "sort",
        "split", "tile", "topk", "tril", "triu", "vstack", "bincount", "digitize",
        "histogram", "histogram2d", "histogramdd", "nanpercentile", "nanquantile",
        "percentile", "quantile", "searchsorted", "unique", "argwhere", "compress",
        "nonzero", "take", "ravel", "reshape", "all", "allclose", "any", "apply_gufunc", "arange", "argmax", "argmin",
        "around", "as_gufunc", "asanyarray", "asarray", "atleast_1d", "atleast_2d",
        "atleast_3d", "block", "blockwise", "broadcast_arrays", "broadcast_to", "clip",
        "concatenate", "conj", "count_nonzero", "cumprod", "cumsum", "diag", "dot",
        "einsum", "elemwise", "empty", "empty_like", "expand_dims", "eye", "from_array",
        "from_delayed", "fromfunction", "full", "full_like", "gufunc", "imag", "indices",
        "inner", "isclose", "linspace", "map_blocks", "matmul", "max", "mean", "meshgrid",
        "min", "moment", "moveaxis", "nan_to_num", "nanargmax", "nanargmin", "nancumprod",
        "nancumsum", "nanmax", "nanmean", "nanmin", "nanprod", "nanstd", "nansum",
        "nanvar", "normalize_chunks", "ones", "ones_like", "outer", "prod", "random",
        "real", "rechunk", "reduction", "round", "squeeze", "stack", "std", "sum",
        "swapaxes", "tensordot", "trace", "transpose", "tri", "unify_chunks", "var",
        "vdot", "where", "zeros", "zeros_like", "median", "nanmedian", "shuffle",
    }
)

"""xarray's chunk manager for plait arrays: ``chunked_array_type="plait"``.

xarray finds chunked-array libraries through the ``xarray.chunkmanagers`` entry-point
group (plait registers :class:`PlaitChunkManager` there in ``pyproject.toml``). Every
operation xarray performs on chunked data goes through one of the methods below, each a
thin call into :mod:`plait.array`; what plait.array lacked for xarray (the group shuffle,
a scan with xarray's signature) lives in plait.array itself so that it is tested there.

When plait is the only chunk manager installed (no Dask), xarray picks it without being
asked: ``ds.chunk({"time": 30})`` then gives plait arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

try:  # xarray is an optional dependency (``plait[xarray]``).
    from xarray.namedarray.parallelcompat import ChunkManagerEntrypoint
except ImportError as exc:  # pragma: no cover - only without xarray
    raise ImportError(
        "plait.array.chunkmanager needs xarray: pip install 'plait[xarray]'"
    ) from exc

from .. import config
from ..utils.sizes import parse_bytes
from .core import Array

__all__ = ["PlaitChunkManager"]


def _zero_size_auto(chunks: Any, shape: tuple) -> bool:
    """Whether ``chunks`` asks for automatic sizes of an array with an empty axis (there
    is no block size to aim for; the whole (empty) array is one block)."""
    values = chunks.values() if isinstance(chunks, Mapping) else (
        chunks if isinstance(chunks, tuple) else (chunks,))
    return any(c == "auto" for c in values) and any(s == 0 for s in shape)


class PlaitChunkManager(ChunkManagerEntrypoint[Array]):
    """The bridge between xarray and :class:`plait.array.Array`.

    >>> import numpy as np, xarray as xr
    >>> v = xr.DataArray(np.arange(6.0), dims="t").chunk({"t": 2}, chunked_array_type="plait")
    >>> type(v.data).__name__, v.chunks
    ('Array', ((2, 2, 2),))
    >>> float(v.sum().compute())
    15.0
    """

    available: bool = True

    def __init__(self) -> None:
        from . import xarray_collection  # noqa: F401 - plait.compute(xarray object)
        from .xarray_flox import install

        self.array_cls = Array
        # xarray sends group-by on chunked data to flox, which knows only Dask/Cubed.
        install()

    def is_chunked_array(self, data: Any) -> bool:
        return isinstance(data, Array)

    def chunks(self, data: Array) -> tuple:
        return data.chunks

    # -- chunking -----------------------------------------------------------------------
    def normalize_chunks(self, chunks: Any, shape: tuple | None = None, limit: int | None = None,
                         dtype: Any = None, previous_chunks: Any = None) -> tuple:
        from .chunks import normalize_chunks

        return normalize_chunks(chunks, shape=shape, limit=limit, dtype=dtype,
                                previous_chunks=previous_chunks)

    def from_array(self, data: Any, chunks: Any, **kwargs: Any) -> Array:
        from .core import from_array

        if _zero_size_auto(chunks, tuple(data.shape)):
            chunks = tuple(data.shape)
        # xarray passes Dask-only keywords (meta=, inline_array=...): keep what plait knows.
        known = {k: kwargs[k] for k in ("name", "lock", "asarray", "inline_array") if k in kwargs}
        if "asarray" not in known and not isinstance(data, np.ndarray):
            # xarray's lazy backend arrays give NumPy arrays when sliced; say so, so each
            # block is a plain ndarray whatever adapter class xarray wraps the file in.
            known["asarray"] = True
        return from_array(data, chunks, **known)

    def rechunk(self, data: Array, chunks: Any, **kwargs: Any) -> Array:
        if _zero_size_auto(chunks, data.shape):
            chunks = data.shape
        return super().rechunk(data, chunks, **kwargs)

    def get_auto_chunk_size(self) -> int:
        return parse_bytes(config.get("array.chunk-size", "128MiB"))

    # -- running ------------------------------------------------------------------------
    def compute(self, *data: Any, **kwargs: Any) -> tuple:
        from ..collection import compute

        return compute(*data, **kwargs)

    def persist(self, *data: Any, **kwargs: Any) -> tuple:
        from ..collection import persist

        return persist(*data, **kwargs)

    @property
    def array_api(self) -> Any:
        from .. import array

        return array

    # -- building -----------------------------------------------------------------------
    def reduction(self, arr: Array, func: Callable, combine_func: Callable | None = None,
                  aggregate_func: Callable | None = None, axis: Any = None, dtype: Any = None,
                  keepdims: bool = False) -> Array:
        from .reductions import reduction

        return reduction(arr, chunk=func, combine=combine_func, aggregate=aggregate_func,
                         axis=axis, dtype=dtype, keepdims=keepdims)

    def scan(self, func: Callable, binop: Callable, ident: float, arr: Array,
             axis: int | None = None, dtype: Any = None, **kwargs: Any) -> Array:
        from .cumulative import cumreduction

        return cumreduction(func, binop, ident, arr, axis=axis, dtype=dtype, **kwargs)

    def apply_gufunc(self, func: Callable, signature: str, *args: Any, axes: Any = None,
                     axis: Any = None, keepdims: bool = False, output_dtypes: Any = None,
                     output_sizes: dict | None = None, vectorize: bool | None = None,
                     allow_rechunk: bool = False, meta: Any = None, **kwargs: Any) -> Any:
        from .gufunc import apply_gufunc

        return apply_gufunc(func, signature, *args, axes=axes, axis=axis, keepdims=keepdims,
                            output_dtypes=output_dtypes, output_sizes=output_sizes,
                            vectorize=vectorize, allow_rechunk=allow_rechunk, meta=meta,
                            **kwargs)

    def map_blocks(self, func: Callable, *args: Any, dtype: Any = None, chunks: Any = None,
                   drop_axis: Any = None, new_axis: Any = None, **kwargs: Any) -> Array:
        from .blockwise import map_blocks

        return map_blocks(func, *args, dtype=dtype, chunks=chunks, drop_axis=drop_axis,
                          new_axis=new_axis, **kwargs)

    def blockwise(self, func: Callable, out_ind: Iterable, *args: Any, name: str | None = None,
                  token: Any = None, dtype: Any = None, adjust_chunks: dict | None = None,
                  new_axes: dict | None = None, align_arrays: bool = True,
                  concatenate: bool | None = None, meta: Any = None, **kwargs: Any) -> Array:
        from .blockwise import blockwise

        return blockwise(func, out_ind, *args, name=name, token=token, dtype=dtype,
                         adjust_chunks=adjust_chunks, new_axes=new_axes,
                         align_arrays=align_arrays, concatenate=concatenate, meta=meta,
                         **kwargs)

    def unify_chunks(self, *args: Any, **kwargs: Any) -> tuple[dict, list]:
        from .blockwise import unify_chunks

        if kwargs:
            raise TypeError(f"unify_chunks takes no keywords; got {sorted(kwargs)}")
        return unify_chunks(*args)

    def shuffle(self, x: Array, indexer: list[list[int]], axis: int, chunks: Any) -> Array:
        from .shuffle import shuffle

        return shuffle(x, indexer, axis, chunks="auto" if chunks is None else chunks)

    def store(self, sources: Any, targets: Any, **kwargs: Any) -> Any:
        from .xarray_store import store

        return store(sources, targets, **kwargs)

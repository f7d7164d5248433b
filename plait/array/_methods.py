"""Array methods that live as functions in the API modules (``x.sum()`` is
``plait.array.reductions.sum(x)``), looked up on first use so that core stays small."""

from __future__ import annotations

import functools
import importlib
from typing import Any, Callable

# name -> (module, function, is_property)
_TABLE: dict[str, tuple[str, str, bool]] = {}


def _add(module: str, names: str, prop: bool = False) -> None:
    for n in names.split():
        attr, _, func = n.partition("=")
        _TABLE[attr] = (module, func or attr, prop)


_add("reductions", "sum prod mean std var min max argmin argmax any all cumsum cumprod "
     "moment nansum nanprod nanmean nanstd nanvar nanmin nanmax nanargmin nanargmax")
_add("linalg", "dot")
_add("routines", "transpose swapaxes squeeze clip round conj")
_add("routines", "T=transpose_property real imag", prop=True)
_add("rechunk", "rechunk")
_add("slicing", "nonzero compute_chunk_sizes")
_add("reshape", "reshape ravel flatten=ravel")
_add("manipulation", "repeat topk argtopk")
_add("overlap", "map_overlap")
_add("io", "store to_zarr to_hdf5")


def lookup(attr: str) -> Callable[[Any], Any] | None:
    """A function of the array giving ``array.<attr>``, or None."""
    entry = _TABLE.get(attr)
    if entry is None:
        return None
    module, func, prop = entry
    try:
        impl = getattr(importlib.import_module(f"plait.array.{module}"), func)
    except (ImportError, AttributeError):
        return None
    if prop:
        return impl
    return lambda self: functools.partial(impl, self)

"""plait.array: chunked N-dimensional arrays with the NumPy API (``import plait.array as da``).

Each block is a NumPy array; operations build task graphs; ``compute()`` returns a
NumPy array. Arrays compute with threads by default (NumPy releases the GIL).
"""

from . import ufunc as _ufunc
from .blockwise import blockwise, map_blocks, unify_chunks
from .chunks import normalize_chunks
from .core import Array, asanyarray, asarray, from_array
from .rechunk import rechunk
from .ufunc import *  # noqa: F401,F403 - every NumPy ufunc as da.<name>
from .ufunc import elemwise

_API_MODULES = ("creation", "reductions", "linalg", "routines", "random", "gufunc")


def _register_all() -> None:
    """Import the API modules so their ``__array_function__`` implementations register."""
    import importlib

    for name in _API_MODULES:
        try:
            importlib.import_module(f"plait.array.{name}")
        except ImportError:
            pass


__all__ = [
    "Array",
    "asanyarray",
    "asarray",
    "blockwise",
    "elemwise",
    "from_array",
    "map_blocks",
    "normalize_chunks",
    "rechunk",
    "unify_chunks",
] + list(_ufunc.UFUNC_NAMES)

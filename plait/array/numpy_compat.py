"""NumPy functions about metadata (dtypes, shapes) that answer for plait arrays
without computing anything: ``np.result_type(x, 1.0)``, ``np.shape(x)``, ...

xarray calls these on whatever array it holds; each answer comes from the array's
``dtype``/``shape``, so nothing runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import Array, implements

__all__: list[str] = []


def _meta(x: Any) -> Any:
    """A stand-in NumPy value with ``x``'s dtype (0-d), for dtype questions."""
    return np.empty((), dtype=x.dtype) if isinstance(x, Array) else x


@implements(np.result_type)
def result_type(*arrays_and_dtypes: Any) -> np.dtype:
    """``np.result_type`` with plait arrays standing for their dtypes.

    >>> import plait.array as da
    >>> np.result_type(da.ones(3, dtype="f4"), np.float64)
    dtype('float64')
    """
    return np.result_type(*[x.dtype if isinstance(x, Array) else x for x in arrays_and_dtypes])


@implements(np.shape)
def shape(a: Any) -> tuple:
    return a.shape


@implements(np.ndim)
def ndim(a: Any) -> int:
    return a.ndim


@implements(np.size)
def size(a: Any, axis: Any = None) -> int:
    return a.size if axis is None else a.shape[axis]


@implements(np.can_cast)
def can_cast(from_: Any, to: Any, casting: str = "safe") -> bool:
    return np.can_cast(from_.dtype if isinstance(from_, Array) else from_, to, casting=casting)


@implements(np.min_scalar_type)
def min_scalar_type(a: Any) -> np.dtype:
    return a.dtype

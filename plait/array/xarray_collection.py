"""xarray objects as containers of plait arrays, for ``plait.compute``/``persist``/
``visualize``.

``plait.compute(tos_anom)`` on an xarray ``DataArray``, ``Dataset`` or ``Variable``
whose data are plait arrays computes those arrays (together, sharing work) and gives
back the same xarray object with NumPy data, as ``tos_anom.compute()`` would;
``plait.persist`` gives it back with persisted plait arrays; ``plait.visualize`` draws
their graph. The hook registers itself in :data:`plait.collection.CONTAINER_HOOKS`
when this module is imported (by the chunk manager, which xarray loads before it can
hold any plait array).
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from ..collection import CONTAINER_HOOKS
from .core import Array

__all__ = ["unpack_xarray"]


def _variables_hook(ds: Any) -> tuple[list, list]:
    names = [k for k, v in ds.variables.items() if isinstance(v._data, Array)]
    return names, [ds.variables[k]._data for k in names]


def _rebuild_dataset(ds: Any, names: list, values: list) -> Any:
    new = ds.copy(deep=False)
    for name, value in zip(names, values):
        new.variables[name].data = value
    return new


def unpack_xarray(obj: Any) -> tuple[list, Callable] | None:
    """``(plait arrays, rebuild)`` for an xarray object holding plait arrays, else None.

    >>> import numpy as np, xarray as xr, plait
    >>> v = xr.DataArray(np.arange(4.0), dims="x").chunk({"x": 2}, chunked_array_type="plait")
    >>> out, = plait.compute(v + 1, scheduler="sync")
    >>> type(out).__name__, out.values
    ('DataArray', array([1., 2., 3., 4.]))
    """
    xr = sys.modules.get("xarray")
    if xr is None:
        return None
    if isinstance(obj, xr.Variable):
        if not isinstance(obj._data, Array):
            return None
        return [obj._data], lambda values: obj.copy(deep=False, data=values[0])
    if isinstance(obj, xr.DataArray):
        ds = obj._to_temp_dataset()
        names, arrays = _variables_hook(ds)
        if not arrays:
            return None
        return arrays, lambda values: obj._from_temp_dataset(_rebuild_dataset(ds, names, values))
    if isinstance(obj, xr.Dataset):
        names, arrays = _variables_hook(obj)
        if not arrays:
            return None
        return arrays, lambda values: _rebuild_dataset(obj, names, values)
    return None


if unpack_xarray not in CONTAINER_HOOKS:
    CONTAINER_HOOKS.append(unpack_xarray)

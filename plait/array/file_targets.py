"""Picklable write targets for HDF5 and netCDF files, for tasks in other processes.

HDF5 (and netCDF-4, which is HDF5 underneath) allows one writer per file: an open
``h5py.Dataset`` or netCDF variable cannot travel to a worker process, and two processes
holding one file open for writing corrupt it. These targets carry only the file's path
and the variable's name; each ``target[region] = block`` opens the file for appending,
writes the region and closes it. :func:`plait.array.store` with ``lock=True`` wraps every
such write in the lock plait supplies for the scheduler, keyed by the file's path
(``lock_name``), so the open-write-close of each block runs alone. The file and its
variables must exist, and no handle in any process may hold it open for writing, before
the block tasks run.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["HDF5Target", "NetCDFTarget"]


class HDF5Target:
    """Dataset ``name`` of the HDF5 file at ``path``, opened for each write.

    >>> import h5py, numpy as np, os, tempfile, plait.array as da
    >>> path = os.path.join(tempfile.mkdtemp(), "t.h5")
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("x", shape=(4,), dtype="f8")
    >>> da.store(da.arange(4.0, chunks=2), HDF5Target(path, "x"), lock=True, scheduler="sync")
    >>> h5py.File(path, "r")["x"][:]
    array([0., 1., 2., 3.])
    """

    def __init__(self, path: str | os.PathLike, name: str):
        import h5py

        self.path = os.path.abspath(os.fspath(path))
        self.name = name
        with h5py.File(self.path, "r") as f:
            if name not in f:
                raise KeyError(f"{self.path} has no dataset {name!r}; create it first "
                               "(h5py.File(path, 'a').create_dataset(...))")
            d = f[name]
            self.shape, self.dtype = tuple(d.shape), d.dtype

    @property
    def lock_name(self) -> str:
        return "hdf5:" + self.path

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __setitem__(self, key: Any, value: Any) -> None:
        import h5py

        with h5py.File(self.path, "r+") as f:
            f[self.name][key] = value

    def __getitem__(self, key: Any) -> np.ndarray:
        import h5py

        with h5py.File(self.path, "r") as f:
            return np.asarray(f[self.name][key])

    def __repr__(self) -> str:
        return f"HDF5Target({self.path!r}, {self.name!r})"


class NetCDFTarget:
    """Variable ``variable`` (in ``group``) of the netCDF file at ``path``, opened with
    the netCDF4 library or h5netcdf (``engine``) for each write, with no automatic
    masking or scaling (xarray has encoded the values already)."""

    def __init__(self, path: str, variable: str, shape: tuple, dtype: Any,
                 group: str | None = None, engine: str = "netcdf4"):
        if engine not in ("netcdf4", "h5netcdf"):
            raise ValueError(f"NetCDFTarget engine must be 'netcdf4' or 'h5netcdf', "
                             f"got {engine!r}")
        self.path = os.path.abspath(path)
        self.variable = variable
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype) if not isinstance(dtype, type) else dtype
        self.group = group
        self.engine = engine

    @classmethod
    def from_xarray(cls, target: Any) -> NetCDFTarget | None:
        """The file-backed equivalent of one of xarray's netCDF array wrappers, or None
        when ``target`` is not one (or its file has no path, as for in-memory writes)."""
        store = getattr(target, "datastore", None)
        kind = type(target).__name__
        engine = {"NetCDF4ArrayWrapper": "netcdf4", "H5NetCDFArrayWrapper": "h5netcdf"}.get(kind)
        path = getattr(store, "_filename", None)
        if engine is None or not isinstance(path, str) or not os.path.exists(path):
            return None
        return cls(path, target.variable_name, target.shape, target.dtype,
                   group=getattr(store, "_group", None), engine=engine)

    @property
    def lock_name(self) -> str:
        return "hdf5:" + self.path

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def _open(self) -> Any:
        if self.engine == "netcdf4":
            import netCDF4

            return netCDF4.Dataset(self.path, mode="a")
        import h5netcdf

        return h5netcdf.File(self.path, mode="a")

    def _variable(self, root: Any) -> Any:
        node = root
        for part in (self.group or "").strip("/").split("/"):
            if part:
                node = node.groups[part]
        var = node.variables[self.variable]
        if self.engine == "netcdf4":
            var.set_auto_maskandscale(False)
            if hasattr(var, "set_auto_chartostring"):
                var.set_auto_chartostring(False)
        return var

    def __setitem__(self, key: Any, value: Any) -> None:
        root = self._open()
        try:
            self._variable(root)[key] = value
        finally:
            root.close()

    def __getitem__(self, key: Any) -> np.ndarray:
        root = self._open()
        try:
            return np.asarray(self._variable(root)[key])
        finally:
            root.close()

    def __repr__(self) -> str:
        return f"NetCDFTarget({self.path!r}, {self.variable!r}, engine={self.engine!r})"

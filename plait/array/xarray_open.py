"""Open many netCDF/zarr files in parallel through plait: ``open_mfdataset(parallel=True)``.

xarray's own ``open_mfdataset(..., parallel=True)`` imports Dask to open the files in
parallel, so without Dask it fails with ``ModuleNotFoundError: No module named 'dask'``.
plait users have two choices:

- ``xr.open_mfdataset(files, ..., parallel=False, chunked_array_type="plait")``: files
  are opened one after another (only their metadata is read; the data stay lazy in
  plait arrays), which is fast for tens of files;
- ``plait.array.xarray_open.open_mfdataset(files, ..., parallel=True)``: the same
  arguments, with each file opened (and ``preprocess`` applied) as a plait task, then
  combined by xarray's ``combine_nested``/``combine_by_coords``. On threads (the
  default) netCDF/HDF5 files are opened one at a time, since those libraries are not
  thread-safe; ``scheduler="processes"`` (or a Client) opens them in parallel.
"""

from __future__ import annotations

import glob
import os
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["ProcessLibraryLock", "open_mfdataset"]

#: Opening a file reads its metadata through the netCDF-C/HDF5 libraries, which are not
#: thread-safe and which xarray locks only around some of those calls: opens of such
#: files in one process take turns (processes and a Client still open in parallel).
_LIBRARY_OPEN_LOCK = threading.Lock()
_THREAD_SAFE_ENGINES = ("zarr", "scipy")

_COMBINE_KEYWORDS = ("compat", "data_vars", "coords", "join", "combine_attrs")
_LIBRARY_ENGINES = ("netcdf4", "h5netcdf")


class ProcessLibraryLock:
    """xarray's lock for the netCDF-C and HDF5 libraries in whichever process holds
    this object: it pickles by reference, not by value.

    A dataset opened in a worker process comes back holding the *worker's* library lock
    (xarray's locks pickle by a token drawn when each process imports xarray), so reads
    of two files opened by two workers would not exclude each other in this process,
    and the libraries (not thread-safe) crash. Files opened with this lock share this
    process's lock wherever they were opened.

    >>> import pickle
    >>> pickle.loads(pickle.dumps(ProcessLibraryLock()))._lock is ProcessLibraryLock()._lock
    True
    """

    @property
    def _lock(self) -> Any:
        from xarray.backends.netCDF4_ import NETCDF4_PYTHON_LOCK

        return NETCDF4_PYTHON_LOCK

    def acquire(self, *args: Any, **kwargs: Any) -> Any:
        return self._lock.acquire(*args, **kwargs)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> ProcessLibraryLock:
        self._lock.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.__exit__(*exc)

    def __reduce__(self):
        return (ProcessLibraryLock, ())


def _expand(paths: Any) -> list:
    if isinstance(paths, (str, os.PathLike)):
        found = sorted(glob.glob(os.fspath(paths)))
        if not found:
            raise OSError(f"no files to open: {os.fspath(paths)!r} matches nothing")
        return found
    return list(paths)


def _open_one(path: Any, preprocess: Callable | None, open_kwargs: dict) -> Any:
    import xarray as xr

    if open_kwargs.get("engine") in _THREAD_SAFE_ENGINES:
        ds = xr.open_dataset(path, **open_kwargs)
    else:
        with _LIBRARY_OPEN_LOCK:
            ds = xr.open_dataset(path, **open_kwargs)
    return preprocess(ds) if preprocess is not None else ds


def _engine(nested: Any, kwargs: dict) -> Any:
    """The backend xarray will use for these files (guessed from the first, as xarray
    does, when ``engine`` is not given)."""
    engine = kwargs.get("engine")
    if engine is not None:
        return engine
    first = _flat(nested)[:1]
    if not first or not isinstance(first[0], (str, os.PathLike)):
        return None
    from xarray.backends.plugins import guess_engine

    try:
        return guess_engine(os.fspath(first[0]))
    except ValueError:
        return None


def _map_nested(func: Callable, obj: Any) -> Any:
    if isinstance(obj, list):
        return [_map_nested(func, o) for o in obj]
    return func(obj)


def _flat(obj: Any) -> list:
    return [x for o in obj for x in _flat(o)] if isinstance(obj, list) else [obj]


def open_mfdataset(paths: Any, chunks: Any = None, concat_dim: Any = None,
                   preprocess: Callable | None = None, combine: str = "by_coords",
                   parallel: bool = True, scheduler: Any = "threads",
                   chunked_array_type: str = "plait", **kwargs: Any) -> Any:
    """xarray's ``open_mfdataset`` with the files opened in parallel by plait.

    ``paths`` is a glob string or a (nested, for ``combine="nested"``) list of paths;
    ``compat``, ``data_vars``, ``coords``, ``join`` and ``combine_attrs`` go to
    xarray's combine step, every other keyword to ``xarray.open_dataset``.
    ``scheduler`` runs the opening tasks (threads by default). The netCDF-C and HDF5
    libraries are not thread-safe, so threads of one process open such files one at a
    time (``preprocess`` still runs in parallel); zarr stores open in parallel on
    threads, and ``scheduler="processes"`` or a Client opens netCDF files in parallel.

    >>> import numpy as np, xarray as xr, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> for i in range(2):
    ...     xr.Dataset({"v": ("t", np.arange(3.0) + 3 * i)}, {"t": np.arange(3) + 3 * i}
    ...                ).to_netcdf(os.path.join(d, f"f{i}.nc"))
    >>> ds = open_mfdataset(os.path.join(d, "*.nc"), chunks={"t": 2})
    >>> ds.v.chunks, float(ds.v.sum().compute())
    (((2, 1, 2, 1),), 15.0)
    >>> ds.close()
    """
    import xarray as xr

    from ..collection import compute
    from ..delayed import delayed

    if combine not in ("by_coords", "nested"):
        raise ValueError(f"combine={combine!r} is not supported: use 'by_coords' or 'nested'")
    nested = paths if combine == "nested" and isinstance(paths, list) else _expand(paths)
    combine_kwargs = {k: kwargs.pop(k) for k in _COMBINE_KEYWORDS if k in kwargs}
    open_kwargs = dict(kwargs, chunks=chunks if chunks is not None else {},
                       chunked_array_type=chunked_array_type)
    if parallel and "lock" not in kwargs and _engine(nested, kwargs) in _LIBRARY_ENGINES:
        open_kwargs["lock"] = ProcessLibraryLock()
    if parallel:
        lazy = _map_nested(lambda p: delayed(_open_one, pure=False)(p, preprocess, open_kwargs),
                           nested)
        (datasets,) = compute(lazy, scheduler=scheduler)
    else:
        datasets = _map_nested(lambda p: _open_one(p, preprocess, open_kwargs), nested)
    try:
        if combine == "nested":
            combined = xr.combine_nested(datasets, concat_dim=concat_dim, **combine_kwargs)
        else:
            combined = xr.combine_by_coords(datasets, **combine_kwargs)
    except ValueError:
        for ds in _flat(datasets):
            ds.close()
        raise
    opened = _flat(datasets)
    combined.set_close(lambda: [ds.close() for ds in opened])
    return combined

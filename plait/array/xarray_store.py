"""Writing plait arrays into xarray's backend targets (``to_netcdf``, ``to_zarr``).

xarray hands the chunk manager a list of source arrays and a list of targets (one per
variable: a netCDF variable wrapper, a zarr array, ...) and asks for them to be written.
Where the blocks are written depends on the scheduler:

- in this process (``sync``, ``threads``, a thread pool): each block is a task that
  writes its own region, through :func:`plait.array.store`. netCDF/HDF5 targets take
  their file's lock around every write (xarray puts the lock in the target), so
  threads never call the netCDF-C or HDF5 libraries at the same time.
- in other processes (``processes``, a distributed Client): a zarr array is written by
  the workers, block by block (each block owns whole zarr chunks, so no lock is
  needed). Other targets (netCDF/HDF5 files) are written only by this process: the
  workers compute the values, and this process writes them under the file's lock. Two
  processes must never hold one HDF5 file open for writing (the library corrupts the
  file or refuses to open it), so no lock can make worker-side writes to it safe.
  The values then pass through this process's memory; write netCDF with threads (the
  default) for data larger than memory, or use ``to_zarr``.
"""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from .. import config
from .core import Array

__all__ = ["store", "runs_in_this_process"]

_STORE_KEYWORDS = ("flush",)  # Dask-only store options xarray passes; nothing to do here


def runs_in_this_process(scheduler: Any) -> bool:
    """Whether tasks run by ``scheduler`` (or the configured default) run in this
    process, so they can share its open files and its thread locks.

    >>> runs_in_this_process("threads"), runs_in_this_process("processes")
    (True, False)
    """
    from ..collection import SCHEDULER_ALIASES, _get_function_name

    if scheduler is None:
        scheduler = config.get("scheduler", None)
    if scheduler is None:
        return True  # plait arrays default to threads
    if isinstance(scheduler, str):
        return SCHEDULER_ALIASES.get(scheduler.lower()) in ("sync", "threads")
    if isinstance(scheduler, Executor):
        return isinstance(scheduler, ThreadPoolExecutor)
    if callable(scheduler):
        return _get_function_name(scheduler) in ("sync", "threads")
    return False  # a distributed Client, or another scheduler with its own workers


def _is_zarr_array(target: Any) -> bool:
    try:
        import zarr
    except ImportError:
        return False
    return isinstance(target, zarr.Array)


def _write_here(sources: list, targets: list, regions: list, lock: Any, kwargs: dict) -> None:
    """Compute ``sources`` with the chosen scheduler, then write them from this process."""
    from ..collection import compute

    values = compute(*sources, **kwargs)
    for value, target, region in zip(values, targets, regions):
        where = region if region is not None else (slice(None),) * value.ndim
        if lock:
            with lock:
                target[where] = value
        else:
            target[where] = value


def store(sources: Any, targets: Any, lock: Any = None, compute: bool = True,
          regions: Any = None, **kwargs: Any) -> Any:
    """Write ``sources`` (plait arrays) into xarray's ``targets``, in the right process
    for the scheduler in ``kwargs`` (or the configured one); see the module docstring.

    >>> import numpy as np, plait.array as da
    >>> out = np.zeros(4)
    >>> store([da.from_array(np.arange(4.0), chunks=2)], [out], scheduler="sync")
    >>> out
    array([0., 1., 2., 3.])
    """
    from .io import store as plait_store

    for k in _STORE_KEYWORDS:
        kwargs.pop(k, None)
    single = isinstance(sources, Array)
    sources = [sources] if single else list(sources)
    targets = [targets] if single else list(targets)
    if regions is None or isinstance(regions, tuple):
        regions = [regions] * len(sources)
    regions = list(regions)
    scheduler = kwargs.get("scheduler")
    if runs_in_this_process(scheduler):
        return plait_store(sources, targets, lock=lock or False, regions=regions,
                           compute=compute, **kwargs)
    if not compute:
        raise NotImplementedError(
            "a delayed write (compute=False) with a scheduler that runs tasks in other "
            "processes is not supported: write with compute=True, or use "
            "scheduler='threads' for compute=False")
    shipped = [i for i, t in enumerate(targets) if _is_zarr_array(t)]
    here = [i for i in range(len(targets)) if i not in set(shipped)]
    if shipped:
        # Zarr chunks are independent files: workers write them directly, no lock.
        plait_store([sources[i] for i in shipped], [targets[i] for i in shipped],
                    lock=False, regions=[regions[i] for i in shipped], compute=True,
                    **kwargs)
    if here:
        _write_here([sources[i] for i in here], [targets[i] for i in here],
                    [regions[i] for i in here], lock, kwargs)
    return None

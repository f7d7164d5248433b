"""Writing plait arrays into xarray's backend targets (``to_netcdf``, ``to_zarr``).

xarray hands the chunk manager a list of source arrays and a list of targets (one per
variable: a netCDF variable wrapper, a zarr array, ...) and asks for them to be written.
Every block is a task that writes its own region, through :func:`plait.array.store`;
what the task writes into, and under which lock, depends on where tasks run:

- in this process (``sync``, ``threads``, a thread pool): xarray's own targets. netCDF
  targets take their file's lock around every write (xarray puts it in the target).
- in other processes (``processes``, a distributed Client): xarray has created the
  netCDF file and its variables; this process closes its handle (HDF5 allows one
  writer per file), and each block task opens the file, writes its region and closes
  it (:class:`~plait.array.file_targets.NetCDFTarget`) under the lock plait supplies
  for the scheduler (a file lock for processes, a cluster lock for a Client; xarray
  only knows how to pick Dask's), keyed by the file's path. Zarr arrays travel to the
  tasks as they are.
- zarr regions that do not line up with the zarr chunks (or shards) take the lock
  plait supplies for the array under any scheduler, since two blocks then share a
  chunk; chunk-aligned writes need none.

Targets that cannot travel (an in-memory netCDF, the scipy backend) are written by
this process from the computed values, under their own lock.
"""

from __future__ import annotations

from typing import Any

from .core import Array

__all__ = ["store"]

_STORE_KEYWORDS = ("flush",)  # Dask-only store options xarray passes; nothing to do here


def _is_zarr_array(target: Any) -> bool:
    try:
        import zarr
    except ImportError:
        return False
    return isinstance(target, zarr.Array)


def _zarr_aligned(source: Array, target: Any, region: Any) -> bool:
    """Whether every block of ``source`` written at ``region`` covers whole zarr
    chunks (or shards) of ``target``, so no two blocks share one."""
    from .io import _region_offsets, _write_unit

    offsets = _region_offsets(region, target, source, 0)
    for sizes, start, unit, n in zip(source.chunks, offsets, _write_unit(target),
                                     target.shape):
        edge = start
        for size in (0,) + tuple(sizes):
            edge += size
            if edge % unit and edge != n:
                return False
    return True


_NETCDF_WRAPPERS = ("NetCDF4ArrayWrapper", "H5NetCDFArrayWrapper")


def _grows(target: Any, shape: tuple) -> bool:
    """Whether ``target`` is a netCDF variable along an unlimited dimension that is
    still shorter than the source (it grows as blocks are written)."""
    tshape = tuple(getattr(target, "shape", shape))
    return (type(target).__name__ in _NETCDF_WRAPPERS and tshape != tuple(shape)
            and len(tshape) == len(shape) and all(t <= s for t, s in zip(tshape, shape)))


class _Growing:
    """A target whose variable grows along an unlimited dimension as it is written:
    its shape is the source's, its writes go to the wrapped target."""

    def __init__(self, target: Any, shape: tuple):
        self.target = target
        self.shape = tuple(shape)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.target[key] = value


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
    and under the right lock for the scheduler in ``kwargs`` (or the configured one);
    see the module docstring.

    >>> import numpy as np, plait.array as da
    >>> out = np.zeros(4)
    >>> store([da.from_array(np.arange(4.0), chunks=2)], [out], scheduler="sync")
    >>> out
    array([0., 1., 2., 3.])
    """
    from .file_targets import NetCDFTarget
    from .io import store as plait_store
    from .locks import scheduler_kind

    for k in _STORE_KEYWORDS:
        kwargs.pop(k, None)
    single = isinstance(sources, Array)
    sources = [sources] if single else list(sources)
    targets = [targets] if single else list(targets)
    if regions is None or isinstance(regions, tuple):
        regions = [regions] * len(sources)
    regions = list(regions)
    local = scheduler_kind(kwargs.get("scheduler")) == "local"
    if not local and not compute:
        raise NotImplementedError(
            "a delayed write (compute=False) with a scheduler that runs tasks in other "
            "processes is not supported: write with compute=True, or use "
            "scheduler='threads' for compute=False")
    shipped, locks, here = [], [], []
    for i, (src, target) in enumerate(zip(sources, targets)):
        grows = regions[i] is None and _grows(target, src.shape)
        if _is_zarr_array(target):
            # Whole zarr chunks are independent objects: aligned blocks need no lock.
            shipped.append((i, target))
            locks.append(lock or not _zarr_aligned(src, target, regions[i]))
        elif local:
            # A variable along an unlimited dimension starts empty and grows as written.
            shipped.append((i, _Growing(target, src.shape) if grows else target))
            locks.append(lock or False)
        else:
            proxy = NetCDFTarget.from_xarray(target)
            if proxy is None:
                here.append(i)
                continue
            if grows:
                proxy.shape = src.shape
            shipped.append((i, proxy))
            locks.append(True)  # the lock plait supplies, keyed by the file's path
    closed: set = set()
    for i, t in shipped:
        if isinstance(t, NetCDFTarget):
            # This process's handle on the file must be closed before workers open it.
            datastore = targets[i].datastore
            if id(datastore) not in closed:
                closed.add(id(datastore))
                datastore.close()
    result = None
    if shipped:
        result = plait_store([sources[i] for i, _ in shipped], [t for _, t in shipped],
                             lock=locks, regions=[regions[i] for i, _ in shipped],
                             compute=compute, **kwargs)
    if here:
        _write_here([sources[i] for i in here], [targets[i] for i in here],
                    [regions[i] for i in here], lock, kwargs)
    return result

"""Array input and output: store into anything with ``__setitem__``, Zarr, HDF5, and
stacks of ``.npy`` files.

:func:`store` is the one writer: each block is a task that writes its own region of
the target, so blocks are written in parallel and never gathered in one place. Zarr,
HDF5 and npy writers prepare a target and hand over to it. Zarr and h5py are imported
only when used (``pip install "zarr>=3"`` / ``pip install h5py``).
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ..collection import flatten_keys
from ..delayed import Delayed
from ..graph import Data, Ref, Task
from .chunks import chunk_boundaries, chunks_to_slices
from .core import Array, asarray, from_array, new_name

__all__ = ["store", "to_zarr", "from_zarr", "to_hdf5", "to_npy_stack", "from_npy_stack"]


# -- optional packages -----------------------------------------------------------------

def _import_zarr() -> Any:
    try:
        import zarr
    except ImportError as e:
        raise ImportError('plait.array\'s Zarr support needs the zarr package (version 3 '
                          'or later): pip install "zarr>=3"') from e
    if int(zarr.__version__.split(".")[0]) < 3:
        raise ImportError(f"plait.array's Zarr support needs zarr 3 or later; zarr "
                          f'{zarr.__version__} is installed: pip install -U "zarr>=3"')
    return zarr


def _import_h5py() -> Any:
    try:
        import h5py
    except ImportError as e:
        raise ImportError("plait.array's HDF5 support needs the h5py package: "
                          "pip install h5py") from e
    return h5py


# -- store -----------------------------------------------------------------------------

def _store_block(block: Any, target: Any, index: tuple, lock: Any, return_stored: bool) -> Any:
    if lock:
        with lock:
            target[index] = block
    else:
        target[index] = block
    return block if return_stored else None


def _load_block(target: Any, index: tuple, lock: Any) -> np.ndarray:
    if lock:
        with lock:
            return np.asarray(target[index])
    return np.asarray(target[index])


def _done(*results: Any) -> None:
    return None


def _region_offsets(region: Any, target: Any, source: Array, i: int) -> tuple:
    """Where ``source`` starts in ``target`` along each axis (checking the shapes)."""
    tshape = tuple(getattr(target, "shape", ()))
    if region is None:
        if tshape and tshape != source.shape:
            raise ValueError(f"source {i} has shape {source.shape} but its target has shape "
                             f"{tshape}; give regions= to write into part of the target")
        return (0,) * source.ndim
    if isinstance(region, slice):
        region = (region,)
    region = tuple(region)
    if len(region) > len(tshape) or not all(isinstance(s, slice) for s in region):
        raise ValueError(f"region {region!r} for source {i} must be a tuple of at most "
                         f"{len(tshape)} slices (one per axis of the target)")
    region = region + (slice(None),) * (len(tshape) - len(region))
    starts, shape = [], []
    for s, n in zip(region, tshape):
        start, stop, step = s.indices(n)
        if step != 1:
            raise ValueError(f"region {region!r} has a step; only contiguous regions can "
                             "be written")
        starts.append(start)
        shape.append(max(stop - start, 0))
    if tuple(shape) != source.shape:
        raise ValueError(f"region {region!r} of the target has shape {tuple(shape)} but "
                         f"source {i} has shape {source.shape}")
    return tuple(starts)


def _block_regions(chunks: tuple, offsets: tuple) -> dict:
    return {idx: tuple(slice(s.start + o, s.stop + o) for s, o in zip(slc, offsets))
            for idx, slc in chunks_to_slices(chunks).items()}


def _supplied_locks(lock: Any, targets: list, compute: bool, scheduler: Any) -> list:
    """One lock per target: ``lock=True`` gives the lock plait supplies for the scheduler
    that will run the writes (see :mod:`plait.array.locks`), keyed by the target's file
    or store so that writers of one file share it; a lock object is used as given."""
    from .locks import lock_for, scheduler_kind, target_lock_name

    if lock is None or lock is False:
        return [False] * len(targets)
    kind = scheduler_kind(scheduler) if compute else "unknown"
    if kind in ("processes", "distributed"):
        for t in targets:
            if type(t).__module__.startswith("h5py"):
                raise TypeError(
                    "an open h5py dataset cannot be written from other processes (HDF5 "
                    "allows one writer per file, and h5py objects do not pickle): close "
                    "the file and pass plait.array.HDF5Target(path, name) as the target, "
                    "use plait.array.to_hdf5, or write with scheduler='threads'")
    each = list(lock) if isinstance(lock, list) else [lock] * len(targets)
    if len(each) != len(targets):
        raise ValueError(f"store got {len(each)} locks for {len(targets)} targets; give "
                         "one lock, or a list with one per target")
    shared = new_name("store-lock")
    return [lock_for(target_lock_name(t, shared), scheduler, lazy=not compute)
            if one is True else (one or False) for t, one in zip(targets, each)]


def store(sources: Any, targets: Any, lock: Any = True, regions: Any = None,
          compute: bool = True, return_stored: bool = False, **kwargs: Any) -> Any:
    """Write arrays into objects that support ``target[region] = block`` (NumPy arrays
    and memory maps, h5py datasets, zarr arrays), block by block.

    ``sources`` is an array or a list of arrays, ``targets`` one target or a list;
    ``regions`` a tuple of slices (the part of each target to fill) or a list of them.
    ``lock=True`` makes each write take the lock plait supplies for the scheduler (a
    thread lock, a file lock under processes, a cluster lock under a distributed Client;
    one per target file or store; see :mod:`plait.array.locks`), or pass a lock, or
    ``False`` for targets safe to write concurrently. ``compute=False`` returns a Delayed that
    writes when computed; ``return_stored=True`` returns arrays of what was stored.
    Other keywords go to ``compute``.

    >>> import numpy as np, plait.array as da
    >>> out = np.zeros(6)
    >>> store(da.from_array(np.arange(6.0), chunks=2), out)
    >>> out
    array([0., 1., 2., 3., 4., 5.])
    """
    single = isinstance(sources, Array)
    if single:
        sources, targets = [sources], [targets]
    else:
        sources = [asarray(s) for s in sources]
        if not isinstance(targets, (list, tuple)):
            raise TypeError("store(sources, targets): with a list of sources, give a list "
                            "of targets of the same length")
        targets = list(targets)
    if len(sources) != len(targets):
        raise ValueError(f"store got {len(sources)} sources but {len(targets)} targets; "
                         "give one target per source")
    if regions is None or isinstance(regions, (tuple, slice)):
        regions = [regions] * len(sources)
    elif len(regions) != len(sources):
        raise ValueError(f"store got {len(regions)} regions for {len(sources)} sources; "
                         "give one region per source, or one tuple of slices for all")
    locks = _supplied_locks(lock, targets, compute, kwargs.get("scheduler"))

    stored: list[Array] = []
    target_keys = []
    for i, (src, target, region) in enumerate(zip(sources, targets, regions)):
        offsets = _region_offsets(region, target, src, i)
        name = new_name("store-map")
        target_key = f"{name}-target"
        target_keys.append(target_key)
        layer: dict = {target_key: Data(target_key, target)}
        for idx, where in _block_regions(src.chunks, offsets).items():
            key = (name,) + idx
            layer[key] = Task(key, _store_block, Ref((src.name,) + idx), Ref(target_key),
                              where, locks[i], return_stored)
        stored.append(Array(layer, name, src.chunks, src.dtype, (src,)))

    if return_stored and not compute:
        return stored[0] if single else tuple(stored)
    if not return_stored:
        writes = _write_all(stored)
        if not compute:
            return writes
        writes.compute(**kwargs)
        return None
    # compute and return_stored: write now, then read back lazily from the targets.
    _write_all(stored).compute(**kwargs)
    loaded = []
    for src, target, region, one in zip(sources, targets, regions, locks):
        offsets = _region_offsets(region, target, src, 0)
        name = new_name("load-stored")
        target_key = f"{name}-target"
        layer = {target_key: Data(target_key, target)}
        for idx, where in _block_regions(src.chunks, offsets).items():
            key = (name,) + idx
            layer[key] = Task(key, _load_block, Ref(target_key), where, one)
        loaded.append(Array(layer, name, src.chunks, src.dtype))
    return loaded[0] if single else tuple(loaded)


def _write_all(stored: list[Array]) -> Delayed:
    """One Delayed that runs every block's write."""
    from ..collection import layered_graph

    graph = layered_graph(stored)
    key = new_name("store")
    refs = [Ref(k) for a in stored for k in flatten_keys(a.__plait_keys__())]
    graph[key] = Task(key, _done, *refs)
    return Delayed(key, graph)


# -- zarr ------------------------------------------------------------------------------

def _write_unit(z: Any) -> tuple:
    """The lengths of the pieces of a zarr array that can be written independently."""
    shards = getattr(z, "shards", None)
    return tuple(shards) if shards else tuple(z.chunks)


def _check_alignment(chunks: tuple, offsets: tuple, z: Any) -> None:
    unit = _write_unit(z)
    for axis, (c, off, u) in enumerate(zip(chunks, offsets, unit)):
        inner = chunk_boundaries(c)[1:-1]
        bad = [off + b for b in inner if (off + b) % u]
        if bad:
            raise ValueError(
                f"the array's chunks {c} along axis {axis} do not line up with the zarr "
                f"array's chunks of {u} (a block boundary falls at {bad[0]}), so two "
                f"blocks would write the same zarr chunk at once; rechunk first, e.g. "
                f"x.rechunk({{{axis}: {u}}}), or create the zarr array with chunks that "
                "match"
            )


def _regular_chunks(x: Array) -> tuple:
    for axis, c in enumerate(x.chunks):
        if len(c) > 1 and (len(set(c[:-1])) > 1 or c[-1] > c[0]):
            raise ValueError(
                f"to_zarr needs regular chunks (all equal but a shorter last one) to "
                f"create a zarr array; axis {axis} has chunks {c}; rechunk first, e.g. "
                f"x.rechunk({{{axis}: {max(c)}}})"
            )
    return tuple(max(1, c[0]) if c else 1 for c in x.chunks)


def to_zarr(arr: Any, url: Any, component: str | None = None,
            storage_options: dict | None = None, overwrite: bool = False,
            region: Any = None, compute: bool = True, return_stored: bool = False,
            **kwargs: Any) -> Any:
    """Write an array to Zarr (version 3): a new array at ``url`` (a local path or an
    fsspec URL such as ``"s3://bucket/x.zarr"`` or ``"memory://x.zarr"``; ``component``
    names an array inside a group), or an existing ``zarr.Array``.

    Each block writes its own zarr chunks in parallel, so the blocks must line up with
    the zarr chunks (shards, if sharded); otherwise this raises and says how to rechunk.
    ``region`` (a tuple of slices) writes into part of an existing array. Other keywords
    go to ``zarr.create_array`` (``compressors=``, ``shards=``, ...).

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(6), chunks=3)
    >>> to_zarr(x, "memory://doc-to-zarr.zarr")  # doctest: +SKIP
    >>> from_zarr("memory://doc-to-zarr.zarr").compute()  # doctest: +SKIP
    array([0, 1, 2, 3, 4, 5])
    """
    zarr = _import_zarr()
    arr = asarray(arr)
    if isinstance(url, zarr.Array):
        z = url
        if storage_options:
            raise ValueError("storage_options only apply when url is a path or URL, not "
                             "an open zarr.Array")
    elif region is not None:
        z = zarr.open_array(store=_store_url(url), path=component or "", mode="r+",
                            storage_options=storage_options)
    else:
        chunks = kwargs.pop("chunks", None) or _regular_chunks(arr)
        z = zarr.create_array(_store_url(url), name=component, shape=arr.shape,
                              dtype=arr.dtype, chunks=chunks, overwrite=overwrite,
                              storage_options=storage_options, **kwargs)
    offsets = _region_offsets(region, z, arr, 0)
    _check_alignment(arr.chunks, offsets, z)
    return store(arr, z, lock=False, regions=region, compute=compute,
                 return_stored=return_stored)


def _store_url(url: Any) -> Any:
    return os.fspath(url) if isinstance(url, os.PathLike) else url


def from_zarr(url: Any, component: str | None = None, storage_options: dict | None = None,
              chunks: Any = None, name: str | None = None, inline_array: bool = False,
              **kwargs: Any) -> Array:
    """An array reading a Zarr array: ``url`` is a local path, an fsspec URL or an open
    ``zarr.Array``; ``component`` names an array inside a group. Blocks follow the zarr
    chunks unless ``chunks`` is given. Other keywords go to ``zarr.open_array``.
    """
    zarr = _import_zarr()
    if isinstance(url, zarr.Array):
        z = url
    else:
        z = zarr.open_array(store=_store_url(url), path=component or "", mode="r",
                            storage_options=storage_options, **kwargs)
    if chunks is None:
        chunks = tuple(z.chunks)
    return from_array(z, chunks=chunks, name=name or new_name("from-zarr"),
                      inline_array=inline_array, asarray=True)


# -- HDF5 ------------------------------------------------------------------------------

def to_hdf5(filename: Any, *args: Any, chunks: Any = True, **kwargs: Any) -> None:
    """Write arrays to datasets of an HDF5 file (created or appended to), in parallel
    blocks under one lock.

    ``to_hdf5("f.h5", "/x", x)``, ``to_hdf5("f.h5", {"/x": x, "/y": y})`` or
    ``x.to_hdf5("f.h5", "/x")``. ``chunks=True`` uses the arrays' chunk shapes for the
    datasets; ``scheduler=`` chooses who writes (under processes or a Client each block
    opens the closed file, writes and closes it, under a lock plait supplies); other
    keywords go to ``h5py``'s ``require_dataset`` (``compression=``...).
    Read back with ``da.from_array(h5py.File("f.h5")["/x"], chunks=..., lock=True)``.
    """
    if isinstance(filename, Array):  # the method: x.to_hdf5(filename, datapath)
        if len(args) != 2:
            raise TypeError("x.to_hdf5(filename, datapath) takes a filename and a dataset "
                            "path")
        data = {args[1]: filename}
        filename = args[0]
    elif len(args) == 1 and isinstance(args[0], dict):
        data = dict(args[0])
    elif len(args) == 2 and isinstance(args[0], str):
        data = {args[0]: args[1]}
    else:
        raise TypeError("to_hdf5(filename, datapath, x) or to_hdf5(filename, "
                        "{datapath: x, ...})")
    data = {k: asarray(v) for k, v in data.items()}
    from .locks import scheduler_kind

    h5py = _import_h5py()
    scheduler = kwargs.pop("scheduler", None)
    here = scheduler_kind(scheduler) == "local"
    with h5py.File(os.fspath(filename), mode="a") as f:
        dsets = []
        for path, x in data.items():
            if chunks is True:
                c = x.chunksize if x.size else None
            else:
                c = chunks
            dsets.append(f.require_dataset(path, shape=x.shape, dtype=x.dtype, chunks=c,
                                           **kwargs))
        if here:
            store(list(data.values()), dsets, lock=True, scheduler=scheduler)
    if not here:
        # Tasks in other processes: the file is closed (one writer per HDF5 file), and
        # each block opens, writes and closes it under the lock plait supplies.
        from .file_targets import HDF5Target

        targets = [HDF5Target(filename, path) for path in data]
        store(list(data.values()), targets, lock=True, scheduler=scheduler)


# -- stacks of .npy files --------------------------------------------------------------

_INFO = "info"


def _save_block(block: np.ndarray, path: str) -> None:
    np.save(path, block)


def to_npy_stack(dirname: Any, x: Any, axis: int = 0) -> None:
    """Write ``x`` as a directory of ``.npy`` files, one per block along ``axis``
    (``0.npy``, ``1.npy``, ...), plus an ``info`` file with chunks and dtype.

    >>> import numpy as np, plait.array as da, tempfile
    >>> d = tempfile.mkdtemp()
    >>> to_npy_stack(d, da.from_array(np.arange(5), chunks=2))
    >>> from_npy_stack(d).chunks
    ((2, 2, 1),)
    """
    x = asarray(x)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of range for an array of {x.ndim} axes")
    axis %= x.ndim
    dirname = os.fspath(dirname)
    os.makedirs(dirname, exist_ok=True)
    whole = tuple(c if i == axis else (sum(c),) for i, c in enumerate(x.chunks))
    x = x.rechunk(whole)
    info = {"chunks": [list(c) for c in x.chunks], "axis": axis,
            "dtype": np.lib.format.dtype_to_descr(x.dtype)}
    with open(os.path.join(dirname, _INFO), "w") as f:
        json.dump(info, f)
    name = new_name("to-npy-stack")
    layer = {}
    for i in range(x.numblocks[axis]):
        idx = tuple(i if a == axis else 0 for a in range(x.ndim))
        key = (name,) + idx
        layer[key] = Task(key, _save_block, Ref((x.name,) + idx),
                          os.path.join(dirname, f"{i}.npy"))
    _write_all([Array(layer, name, x.chunks, x.dtype, (x,))]).compute()


def _load_npy(path: str, mmap_mode: str | None) -> np.ndarray:
    return np.load(path, mmap_mode=mmap_mode)


def from_npy_stack(dirname: Any, mmap_mode: str | None = "r") -> Array:
    """An array over a directory written by :func:`to_npy_stack`; blocks are memory
    mapped (``mmap_mode=None`` reads them into memory)."""
    dirname = os.fspath(dirname)
    path = os.path.join(dirname, _INFO)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{dirname!r} has no {_INFO!r} file; it was not written "
                                "by to_npy_stack")
    with open(path) as f:
        info = json.load(f)
    chunks = tuple(tuple(c) for c in info["chunks"])
    axis = info["axis"]
    dtype = np.lib.format.descr_to_dtype(_descr(info["dtype"]))
    name = new_name("from-npy-stack")
    layer = {}
    for i in range(len(chunks[axis])):
        idx = tuple(i if a == axis else 0 for a in range(len(chunks)))
        key = (name,) + idx
        layer[key] = Task(key, _load_npy, os.path.join(dirname, f"{i}.npy"), mmap_mode)
    return Array(layer, name, chunks, dtype)


def _descr(d: Any) -> Any:
    """A dtype description back from JSON, which turned its tuples into lists."""
    if isinstance(d, str):
        return d
    fields = []
    for name, fmt, *shape in d:
        name = tuple(name) if isinstance(name, list) else name  # (title, name)
        fields.append((name, _descr(fmt), *[tuple(s) for s in shape]))
    return fields

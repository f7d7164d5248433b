"""The locks plait supplies per scheduler, and store(lock=True) under processes and a
distributed Client with HDF5 and zarr targets."""

from __future__ import annotations

import os
import pickle
import time

import numpy as np
import pytest

import plait
import plait.array as pa
from plait.array.locks import (
    FileLock,
    LocalLock,
    SchedulerLock,
    lock_for,
    target_lock_name,
)

A = np.arange(48.0).reshape(8, 6)


def _try_take(lock) -> bool:
    """Run in a worker process: whether the (pickled) lock can be taken now."""
    ok = lock.acquire(blocking=False)
    if ok:
        lock.release()
    return ok


def test_local_lock_pickles_to_the_same_lock():
    a = LocalLock("t-local")
    b = pickle.loads(pickle.dumps(a))
    with a:
        assert b.locked() and not b.acquire(blocking=False)
    assert b.acquire(blocking=False)
    b.release()


def test_file_lock_excludes_other_processes():
    lock = FileLock("t-file-procs")
    with lock:
        assert not plait.delayed(_try_take)(lock).compute(scheduler="processes")
    assert plait.delayed(_try_take)(lock).compute(scheduler="processes")


def test_file_lock_timeout_and_release_on_error():
    holder = FileLock("t-file-timeout")
    waiter = FileLock("t-file-timeout", timeout=0.05)
    with holder, pytest.raises(TimeoutError, match="t-file-timeout.*within 0.05 s"):
        with waiter:
            pass
    with pytest.raises(ValueError), holder:
        raise ValueError("inside")
    assert not holder.locked()
    with waiter:  # free again
        assert waiter.locked()
    with pytest.raises(RuntimeError, match="without being held"):
        holder.release()


def _resolved_kind(lock) -> str:
    with lock:
        return type(lock._resolved).__name__


def test_scheduler_lock_resolves_where_it_runs():
    lock = SchedulerLock("t-lazy")
    assert plait.delayed(_resolved_kind)(lock).compute(scheduler="threads") == "LocalLock"
    assert plait.delayed(_resolved_kind)(lock).compute(scheduler="processes") == "FileLock"


def test_lock_for_each_scheduler():
    assert isinstance(lock_for("x", "sync"), LocalLock)
    assert isinstance(lock_for("x", "processes"), FileLock)
    assert isinstance(lock_for("x", "threads", lazy=True), SchedulerLock)
    with plait.config.set(scheduler="processes"):
        assert isinstance(lock_for("x"), FileLock)


class _OneWriterTarget:
    """A picklable target that fails if two writers are inside ``__setitem__`` at once
    (a marker file created exclusively), and records what was written."""

    def __init__(self, folder: str, shape: tuple):
        self.folder = folder
        self.shape = shape
        self.lock_name = "one-writer:" + folder

    def __setitem__(self, key, value):
        marker = os.open(os.path.join(self.folder, "inside"), os.O_CREAT | os.O_EXCL)
        try:
            time.sleep(0.01)
            start = key[0].start
            np.save(os.path.join(self.folder, f"{start}.npy"), value)
        finally:
            os.close(marker)
            os.remove(os.path.join(self.folder, "inside"))


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_store_lock_serialises_writers(tmp_path, scheduler):
    target = _OneWriterTarget(str(tmp_path), A.shape)
    pa.store(pa.from_array(A, chunks=(1, 6)), target, lock=True, scheduler=scheduler)
    got = np.concatenate([np.load(tmp_path / f"{i}.npy") for i in range(8)])
    np.testing.assert_array_equal(got, A)


def _h5_file(path) -> None:
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        f.create_dataset("x", shape=A.shape, dtype="f8", chunks=(2, 3))


@pytest.mark.parametrize("scheduler", ["sync", "processes"])
def test_store_hdf5_target(tmp_path, scheduler):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "a.h5"
    _h5_file(path)
    target = pa.HDF5Target(path, "x")
    assert target_lock_name(target, "") == "hdf5:" + str(path)
    back = pa.store(pa.from_array(A, chunks=(3, 4)), target, lock=True, scheduler=scheduler,
                    return_stored=True)
    np.testing.assert_array_equal(back.compute(scheduler=scheduler), A)
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["x"][...], A)
    with pytest.raises(KeyError, match="no dataset 'y'"):
        pa.HDF5Target(path, "y")


def test_delayed_store_resolves_its_lock_in_the_task(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "lazy.h5"
    _h5_file(path)
    writes = pa.store(pa.from_array(A, chunks=(2, 3)), pa.HDF5Target(path, "x"), lock=True,
                      compute=False)
    lock = next(n.args[3] for n in writes.__plait_graph__().values()
                if getattr(n, "func", None) is not None and n.func.__name__ == "_store_block")
    assert isinstance(lock, SchedulerLock)
    writes.compute(scheduler="processes")
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["x"][...], A)


def test_open_h5py_dataset_under_processes_is_refused(tmp_path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "b.h5", "w") as f:
        d = f.create_dataset("x", shape=A.shape, dtype="f8")
        with pytest.raises(TypeError, match="HDF5Target"):
            pa.store(pa.from_array(A, chunks=4), d, lock=True, scheduler="processes")


def test_to_hdf5_under_processes(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "c.h5"
    x = pa.from_array(A, chunks=(3, 3))
    pa.to_hdf5(path, {"/x": x, "/y": x.T + 1}, scheduler="processes")
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["x"][...], A)
        np.testing.assert_array_equal(f["y"][...], A.T + 1)


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_store_unaligned_zarr_with_lock(tmp_path, scheduler):
    zarr = pytest.importorskip("zarr")
    z = zarr.create_array(str(tmp_path / "u.zarr"), shape=A.shape, chunks=(3, 6), dtype="f8")
    # Blocks of 2 rows share zarr chunks of 3 rows: the lock keeps their
    # read-modify-write of a shared chunk from losing one block's rows.
    pa.store(pa.from_array(A, chunks=(2, 6)), z, lock=True, scheduler=scheduler)
    np.testing.assert_array_equal(z[...], A)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("plait.distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=False, dashboard_address=None)
    with distributed.Client(cluster, set_as_default=False) as c:
        yield c
    cluster.close()


def test_store_under_a_client(tmp_path, client):
    zarr = pytest.importorskip("zarr")
    path = tmp_path / "d.h5"
    _h5_file(path)
    x = pa.from_array(A, chunks=(3, 4))
    lock = lock_for("k", client)
    assert type(lock).__name__ == "_DistributedLock"
    assert type(pickle.loads(pickle.dumps(lock))).__name__ == "_DistributedLock"
    pa.store(x, pa.HDF5Target(path, "x"), lock=True, scheduler=client)
    assert np.array_equal(pa.HDF5Target(path, "x")[...], A)
    z = zarr.create_array(str(tmp_path / "d.zarr"), shape=A.shape, chunks=(3, 6), dtype="f8")
    pa.store(x + 1, z, lock=True, scheduler=client)
    np.testing.assert_array_equal(z[...], A + 1)
    # A lock chosen inside the task: the cluster's lock on a plait worker.
    lazy = SchedulerLock("t-on-worker")
    assert client.compute(plait.delayed(_resolved_kind)(lazy)).result(timeout=30) == \
        "_DistributedLock"

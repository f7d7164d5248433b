"""Tests for plait.array.io on real files in tmp_path."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import plait
import plait.array as da
from plait.array.io import from_npy_stack, from_zarr, store, to_hdf5, to_npy_stack, to_zarr
from plait.delayed import Delayed


def _optional(name: str, install: str):
    """The package, or skip naming it (fail instead under CI=true)."""
    try:
        return pytest.importorskip(name, reason=f"needs {name}: pip install {install}")
    except pytest.skip.Exception:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{name} is required under CI=true: pip install {install}")
        raise


@pytest.fixture
def zarr():
    z = _optional("zarr", '"zarr>=3"')
    if int(z.__version__.split(".")[0]) < 3:
        pytest.skip(f"needs zarr>=3, found {z.__version__}")
    return z


@pytest.fixture
def h5py():
    return _optional("h5py", "h5py")


# -- store -------------------------------------------------------------------------------

def test_store_into_numpy_array():
    a = np.arange(24.0).reshape(4, 6)
    x = da.from_array(a, chunks=(3, 4))
    out = np.zeros_like(a)
    assert store(x, out) is None
    np.testing.assert_array_equal(out, a)


def test_store_several_sources_with_regions_and_method():
    a, b = np.arange(6.0), np.arange(6.0) * 10
    out1, out2 = np.zeros(10), np.zeros(8)
    store([da.from_array(a, chunks=4), da.from_array(b, chunks=(1, 5))], [out1, out2],
          regions=[(slice(2, 8),), (slice(None, 6),)])
    np.testing.assert_array_equal(out1, np.r_[0, 0, a, 0, 0])
    np.testing.assert_array_equal(out2, np.r_[b, 0, 0])
    out3 = np.zeros(6)
    da.from_array(a, chunks=2).store(out3)
    np.testing.assert_array_equal(out3, a)


def test_store_into_memmap(tmp_path):
    a = np.random.default_rng(0).random((10, 7))
    mm = np.lib.format.open_memmap(tmp_path / "m.npy", mode="w+", dtype=a.dtype,
                                   shape=a.shape)
    store(da.from_array(a, chunks=(3, 3)), mm, lock=False, scheduler="threads")
    mm.flush()
    del mm
    np.testing.assert_array_equal(np.load(tmp_path / "m.npy"), a)


def test_store_compute_false_returns_delayed():
    a = np.arange(10)
    out = np.zeros(10, dtype=int)
    d = store(da.from_array(a, chunks=3), out, compute=False)
    assert isinstance(d, Delayed)
    assert not out.any()  # nothing written yet
    assert d.compute() is None
    np.testing.assert_array_equal(out, a)


def test_store_return_stored():
    a = np.arange(10)
    out = np.zeros(10, dtype=int)
    y = store(da.from_array(a, chunks=3), out, compute=False, return_stored=True)
    assert isinstance(y, da.Array) and y.chunks == ((3, 3, 3, 1),)
    np.testing.assert_array_equal(y.compute(), a)
    np.testing.assert_array_equal(out, a)
    out2 = np.zeros(10, dtype=int)
    z = store(da.from_array(a, chunks=3), out2, return_stored=True)
    np.testing.assert_array_equal(out2, a)
    out2[:] = -1  # the returned array reads from the target
    np.testing.assert_array_equal(z.compute(), -np.ones(10))


class _CountingLock:
    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0

    def __enter__(self):
        self.lock.acquire()
        self.count += 1

    def __exit__(self, *exc):
        self.lock.release()


def test_store_uses_given_lock():
    lock = _CountingLock()
    out = np.zeros(9)
    store(da.from_array(np.ones(9), chunks=2), out, lock=lock)
    assert lock.count == 5
    assert out.sum() == 9


def test_store_errors():
    x = da.from_array(np.arange(6), chunks=3)
    with pytest.raises(ValueError, match="shape"):
        store(x, np.zeros(5))
    with pytest.raises(ValueError, match="2 sources but 1 targets"):
        store([x, x], [np.zeros(6)])
    with pytest.raises(ValueError, match="region"):
        store(x, np.zeros(10), regions=(slice(0, 5),))
    with pytest.raises(ValueError, match="step"):
        store(x, np.zeros(12), regions=(slice(0, 12, 2),))
    with pytest.raises(ValueError, match="at most 1 slices"):
        store(x, np.zeros(6), regions=(slice(None), slice(None)))
    with pytest.raises(TypeError, match="list of targets"):
        store([x], np.zeros(6))
    with pytest.raises(ValueError, match="one region per source"):
        store([x], [np.zeros(6)], regions=[None, None])


def test_store_single_slice_region_no_lock_return_stored():
    out = np.zeros(10)
    y = store(da.from_array(np.ones(4), chunks=3), out, regions=slice(3, 7), lock=None,
              return_stored=True)
    np.testing.assert_array_equal(out, np.r_[np.zeros(3), np.ones(4), np.zeros(3)])
    np.testing.assert_array_equal(y.compute(), np.ones(4))


# -- npy stacks ----------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1])
def test_npy_stack_round_trip(tmp_path, axis):
    a = np.random.default_rng(1).random((7, 5))
    x = da.from_array(a, chunks=(3, 2))
    to_npy_stack(tmp_path / "stack", x, axis=axis)
    n = x.numblocks[axis]
    assert sorted(os.listdir(tmp_path / "stack")) == sorted(
        ["info"] + [f"{i}.npy" for i in range(n)])
    y = from_npy_stack(tmp_path / "stack")
    assert y.chunks[axis % 2] == x.chunks[axis % 2]
    np.testing.assert_array_equal(y.compute(), a)
    np.testing.assert_allclose(from_npy_stack(tmp_path / "stack", mmap_mode=None)
                               .sum().compute(), a.sum())


def test_npy_stack_structured_dtype(tmp_path):
    dt = np.dtype([("a", "f8", (2,)), ("b", [("c", "i4")])])
    a = np.zeros(5, dtype=dt)
    a["b"]["c"] = np.arange(5)
    to_npy_stack(tmp_path, da.from_array(a, chunks=2))
    y = from_npy_stack(tmp_path)
    assert y.dtype == dt
    np.testing.assert_array_equal(y.compute()["b"]["c"], np.arange(5))


def test_to_npy_stack_bad_axis(tmp_path):
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        to_npy_stack(tmp_path, da.ones((2, 2), chunks=1), axis=2)


def test_from_npy_stack_missing_info(tmp_path):
    with pytest.raises(FileNotFoundError, match="to_npy_stack"):
        from_npy_stack(tmp_path)


# -- zarr ----------------------------------------------------------------------------

def test_zarr_round_trip_local(tmp_path, zarr):
    a = np.arange(60, dtype="i4").reshape(6, 10)
    x = da.from_array(a, chunks=(4, 5))
    to_zarr(x, tmp_path / "a.zarr")
    z = zarr.open_array(str(tmp_path / "a.zarr"), mode="r")
    assert z.chunks == (4, 5)
    np.testing.assert_array_equal(z[:], a)
    y = from_zarr(tmp_path / "a.zarr")
    assert y.chunks == ((4, 2), (5, 5)) and y.dtype == a.dtype
    np.testing.assert_array_equal(y.compute(), a)
    np.testing.assert_array_equal(from_zarr(str(tmp_path / "a.zarr"), chunks=3).compute(), a)
    with pytest.raises(Exception):  # exists already
        to_zarr(x, tmp_path / "a.zarr")
    to_zarr(x * 2, tmp_path / "a.zarr", overwrite=True)
    np.testing.assert_array_equal(from_zarr(tmp_path / "a.zarr").compute(), a * 2)


def test_zarr_component_and_fsspec_url(zarr):
    a = np.linspace(0, 1, 12)
    x = da.from_array(a, chunks=4)
    x.to_zarr("memory://plait-test-group.zarr", component="sub/arr")
    y = from_zarr("memory://plait-test-group.zarr", component="sub/arr")
    np.testing.assert_array_equal(y.compute(), a)


def test_zarr_into_open_array_and_region(tmp_path, zarr):
    z = zarr.create_array(str(tmp_path / "r.zarr"), shape=(12, 4), dtype="f8",
                          chunks=(3, 4), fill_value=0.0)
    part = np.arange(16.0).reshape(4, 4)
    to_zarr(da.from_array(part, chunks=(3, 4)), z, region=(slice(3, 7),))
    want = np.zeros((12, 4))
    want[3:7] = part
    np.testing.assert_array_equal(z[:], want)
    # region write through a path opens the existing array
    to_zarr(da.from_array(part + 100, chunks=(3, 4)), tmp_path / "r.zarr",
            region=(slice(6, 10), slice(None)))
    want[6:10] = part + 100
    np.testing.assert_array_equal(from_zarr(tmp_path / "r.zarr").compute(), want)


def test_zarr_misaligned_chunks_error(tmp_path, zarr):
    z = zarr.create_array(str(tmp_path / "m.zarr"), shape=(10,), dtype="i8", chunks=(4,))
    x = da.from_array(np.arange(10), chunks=3)
    with pytest.raises(ValueError, match=r"do not line up.*rechunk"):
        to_zarr(x, z)
    with pytest.raises(ValueError, match="regular chunks"):
        to_zarr(da.from_array(np.arange(10), chunks=(3, 5, 2)), tmp_path / "n.zarr")
    # a region offset can break (or make) the alignment
    with pytest.raises(ValueError, match="do not line up"):
        to_zarr(da.from_array(np.arange(8), chunks=4), z, region=(slice(1, 9),))
    to_zarr(da.from_array(np.arange(8), chunks=(3, 5)), z, region=(slice(1, 9),))
    np.testing.assert_array_equal(z[1:9], np.arange(8))


def test_zarr_open_array_arguments(tmp_path, zarr):
    z = zarr.create_array(str(tmp_path / "o.zarr"), shape=(4,), dtype="i8", chunks=(2,))
    x = da.from_array(np.arange(4), chunks=2)
    with pytest.raises(ValueError, match="storage_options"):
        to_zarr(x, z, storage_options={"anon": True})
    to_zarr(x, z)
    y = from_zarr(z)
    assert y.chunks == ((2, 2),)
    np.testing.assert_array_equal(y.compute(), np.arange(4))


def test_zarr_sharded_alignment_uses_shards(tmp_path, zarr):
    z = zarr.create_array(str(tmp_path / "s.zarr"), shape=(16,), dtype="i8", chunks=(2,),
                          shards=(8,))
    with pytest.raises(ValueError, match="chunks of 8"):
        to_zarr(da.from_array(np.arange(16), chunks=4), z)
    to_zarr(da.from_array(np.arange(16), chunks=8), z)
    np.testing.assert_array_equal(z[:], np.arange(16))


def test_zarr_compute_false(tmp_path, zarr):
    x = da.from_array(np.arange(8), chunks=4)
    d = to_zarr(x, tmp_path / "c.zarr", compute=False)
    assert isinstance(d, Delayed)
    assert not from_zarr(tmp_path / "c.zarr").compute().any()
    plait.compute(d)
    np.testing.assert_array_equal(from_zarr(tmp_path / "c.zarr").compute(), np.arange(8))


# -- HDF5 ----------------------------------------------------------------------------

def test_hdf5_round_trip_several_datasets(tmp_path, h5py):
    a = np.arange(30.0).reshape(5, 6)
    b = np.arange(7, dtype="i2")
    fn = tmp_path / "data.h5"
    to_hdf5(fn, {"/x": da.from_array(a, chunks=(2, 3)), "/grp/y": da.from_array(b, chunks=3)})
    with h5py.File(fn, "r") as f:
        assert f["/x"].chunks == (2, 3)
        x = da.from_array(f["/x"], chunks=(2, 4), lock=True)
        y = da.from_array(f["/grp/y"], chunks=4, lock=True)
        np.testing.assert_array_equal(x.compute(), a)
        np.testing.assert_array_equal(y.compute(), b)
        assert y.dtype == b.dtype


def test_hdf5_forms(tmp_path, h5py):
    a = np.arange(10)
    fn = tmp_path / "f.h5"
    to_hdf5(fn, "/a", da.from_array(a, chunks=4))
    da.from_array(a * 2, chunks=4).to_hdf5(str(fn), "/b")
    with h5py.File(fn, "r") as f:
        np.testing.assert_array_equal(f["/a"][:], a)
        np.testing.assert_array_equal(f["/b"][:], a * 2)
    with pytest.raises(TypeError, match="datapath"):
        to_hdf5(fn, da.from_array(a, chunks=4))
    with pytest.raises(TypeError, match="filename and a dataset"):
        da.from_array(a, chunks=4).to_hdf5(str(fn))
    to_hdf5(fn, "/c", da.from_array(a, chunks=4), chunks=(5,), compression="gzip")
    with h5py.File(fn, "r") as f:
        assert f["/c"].chunks == (5,) and f["/c"].compression == "gzip"
        np.testing.assert_array_equal(f["/c"][:], a)


# -- missing packages ----------------------------------------------------------------

def test_missing_package_message(monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name in ("zarr", "h5py"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    x = da.from_array(np.arange(4), chunks=2)
    with pytest.raises(ImportError, match=r'pip install "zarr>=3"'):
        to_zarr(x, "memory://nothing.zarr")
    with pytest.raises(ImportError, match="pip install h5py"):
        to_hdf5("unused.h5", "/x", x)

"""PlaitChunkManager: each method xarray calls, against NumPy on the same input."""

from __future__ import annotations

import operator
import subprocess
import sys

import numpy as np
import pytest

xr = pytest.importorskip("xarray")

import plait  # noqa: E402
import plait.array as pa  # noqa: E402
from plait.array.chunkmanager import PlaitChunkManager  # noqa: E402
from xarray.namedarray.parallelcompat import (  # noqa: E402
    guess_chunkmanager,
    list_chunkmanagers,
)

A = np.arange(60.0).reshape(6, 10)


@pytest.fixture
def cm() -> PlaitChunkManager:
    return PlaitChunkManager()


def test_registered_through_entry_point():
    managers = list_chunkmanagers()
    assert isinstance(managers["plait"], PlaitChunkManager)
    assert isinstance(guess_chunkmanager("plait"), PlaitChunkManager)


def test_default_when_only_chunk_manager():
    # Without Dask installed, xarray's chunk() picks plait unasked.
    code = ("import numpy as np, xarray as xr, plait.array as pa; "
            "from xarray.namedarray.parallelcompat import list_chunkmanagers; "
            "v = xr.DataArray(np.arange(4.0), dims='x').chunk({'x': 2}); "
            "print(sorted(list_chunkmanagers()), isinstance(v.data, pa.Array))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    managers, is_plait = out.stdout.split("]")
    if managers.strip("[") != "'plait'":
        pytest.skip(f"other chunk managers are installed: {managers}]")
    assert is_plait.strip() == "True"


def test_is_chunked_and_chunks(cm):
    x = pa.from_array(A, chunks=(4, 5))
    assert cm.is_chunked_array(x) and not cm.is_chunked_array(A)
    assert cm.chunks(x) == ((4, 2), (5, 5))


def test_normalize_chunks(cm):
    assert cm.normalize_chunks((4, -1), shape=(6, 10)) == ((4, 2), (10,))
    assert cm.normalize_chunks({0: 3}, shape=(6, 10)) == ((3, 3), (10,))
    auto = cm.normalize_chunks("auto", shape=(1000, 1000), limit=80_000, dtype=np.float64)
    assert max(auto[0]) * max(auto[1]) * 8 <= 80_000


def test_from_array_and_rechunk(cm):
    x = cm.from_array(A, (4, 5))
    np.testing.assert_array_equal(x.compute(), A)
    y = cm.rechunk(x, (2, 10))
    assert y.chunks == ((2, 2, 2), (10,))
    np.testing.assert_array_equal(y.compute(), A)
    empty = cm.from_array(np.zeros((0, 3)), ("auto", "auto"))
    assert empty.shape == (0, 3)
    assert cm.rechunk(empty, {0: "auto"}).shape == (0, 3)


def test_from_array_of_lazy_backend_array(cm):
    # A source that is not a NumPy array gives NumPy blocks (xarray's backend arrays).
    class Lazy:
        shape, dtype, ndim = A.shape, A.dtype, 2

        def __getitem__(self, key):
            return A[key].tolist()

    x = cm.from_array(Lazy(), (3, 5))
    np.testing.assert_array_equal(x.compute(scheduler="sync"), A)


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_compute_and_persist(cm, scheduler):
    x = pa.from_array(A, chunks=3)
    a, b, c = cm.compute(x + 1, x.sum(), 5, scheduler=scheduler)
    np.testing.assert_array_equal(a, A + 1)
    assert b == A.sum() and c == 5
    (p,) = cm.persist(x * 2, scheduler="sync")
    assert isinstance(p, pa.Array)
    np.testing.assert_array_equal(p.compute(), A * 2)


def test_array_api(cm):
    xp = cm.array_api
    x = pa.from_array(A, chunks=3)
    np.testing.assert_array_equal(xp.full_like(x, 7.0).compute(), np.full_like(A, 7.0))


def test_get_auto_chunk_size(cm):
    with plait.config.set({"array.chunk-size": "4MiB"}):
        assert cm.get_auto_chunk_size() == 4 * 2**20


def test_reduction(cm):
    x = pa.from_array(A, chunks=(2, 3))

    def chunk(b, axis, keepdims):
        return np.max(b, axis=axis, keepdims=keepdims)

    out = cm.reduction(x, chunk, combine_func=chunk, aggregate_func=chunk, axis=1,
                       dtype=A.dtype, keepdims=False)
    np.testing.assert_array_equal(out.compute(), A.max(axis=1))


def test_scan(cm):
    x = pa.from_array(A, chunks=(4, 3))
    out = cm.scan(np.cumsum, operator.add, 0, x, axis=1, dtype=A.dtype)
    np.testing.assert_array_equal(out.compute(), np.cumsum(A, axis=1))


def test_apply_gufunc(cm):
    x = pa.from_array(A, chunks=(2, 10))
    out = cm.apply_gufunc(lambda b: b.mean(axis=-1), "(i)->()", x, output_dtypes=[float])
    np.testing.assert_allclose(out.compute(), A.mean(axis=1))


def test_map_blocks_and_blockwise(cm):
    x = pa.from_array(A, chunks=(2, 5))
    np.testing.assert_array_equal(cm.map_blocks(np.negative, x, dtype=A.dtype).compute(), -A)
    y = pa.from_array(A.T, chunks=(5, 3))
    out = cm.blockwise(operator.add, "ij", x, "ij", y.T, "ij", dtype=A.dtype)
    np.testing.assert_array_equal(out.compute(), 2 * A)


def test_unify_chunks(cm):
    x = pa.from_array(A, chunks=(2, 5))
    y = pa.from_array(A, chunks=(3, 2))
    chunks, (x2, y2) = cm.unify_chunks(x, "ij", y, "ij")
    assert x2.chunks == y2.chunks == (chunks["i"], chunks["j"])
    np.testing.assert_array_equal((x2 + y2).compute(), 2 * A)


def test_shuffle(cm):
    x = pa.from_array(A, chunks=(6, 3))
    groups = [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    out = cm.shuffle(x, groups, axis=1, chunks=None)
    order = [i for g in groups for i in g]
    np.testing.assert_array_equal(out.compute(), A[:, order])
    # Groups are never split across blocks.
    assert out.chunks[1] == (4, 3, 3)
    with pytest.raises(IndexError, match="out of bounds"):
        pa.shuffle(x, [[0, 10]], axis=1)


@pytest.mark.parametrize("scheduler", ["sync", "processes"])
def test_store(cm, scheduler, tmp_path):
    x = pa.from_array(A, chunks=(2, 5))
    out = np.zeros_like(A)
    cm.store([x], [out], lock=None, compute=True, flush=True, scheduler=scheduler)
    np.testing.assert_array_equal(out, A)
    region = np.zeros((8, 10))
    cm.store([x], [region], regions=[(slice(2, 8), slice(None))], scheduler=scheduler)
    np.testing.assert_array_equal(region[2:], A)


def test_store_zarr_target_written_by_workers(cm, tmp_path):
    zarr = pytest.importorskip("zarr")
    z = zarr.create_array(str(tmp_path / "a.zarr"), shape=A.shape, chunks=(2, 5), dtype="f8")
    cm.store([pa.from_array(A, chunks=(2, 5))], [z], scheduler="processes")
    np.testing.assert_array_equal(z[...], A)


def test_scheduler_kind():
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    from plait.array.locks import scheduler_kind

    assert scheduler_kind("sync") == scheduler_kind("threading") == "local"
    assert scheduler_kind("multiprocessing") == "processes"
    with ThreadPoolExecutor(1) as t, ProcessPoolExecutor(1) as p:
        assert scheduler_kind(t) == "local" and scheduler_kind(p) == "processes"
    with plait.config.set(scheduler="processes"):
        assert scheduler_kind(None) == "processes"
    assert scheduler_kind(None) == "local"


# -- plait.array additions made for xarray ----------------------------------------------

@pytest.mark.parametrize("window", [1, 2, 4, 6])
def test_sliding_window_view(window):
    from numpy.lib.stride_tricks import sliding_window_view as view

    x = pa.from_array(A, chunks=(1, 3))
    np.testing.assert_array_equal(view(x, window, axis=0).compute(), view(A, window, axis=0))
    np.testing.assert_array_equal(view(x, (window, 3), axis=(0, 1)).compute(),
                                  view(A, (window, 3), axis=(0, 1)))
    with pytest.raises(ValueError, match="larger"):
        view(x, 7, axis=0)


def test_median():
    b = A.copy()
    b[1, 2] = np.nan
    x = pa.from_array(b, chunks=(2, 3))
    np.testing.assert_array_equal(np.nanmedian(x, axis=0).compute(), np.nanmedian(b, axis=0))
    np.testing.assert_array_equal(np.median(x, axis=1, keepdims=True).compute(),
                                  np.median(b, axis=1, keepdims=True))


def test_metadata_functions():
    x = pa.from_array(A.astype("f4"), chunks=3)
    assert np.result_type(x, np.float64) == np.float64
    assert np.shape(x) == A.shape and np.ndim(x) == 2 and np.size(x) == A.size
    assert np.can_cast(x, np.float64)

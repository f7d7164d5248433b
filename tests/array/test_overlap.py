"""Tests for plait.array.overlap, against NumPy on the whole array (np.pad)."""

from __future__ import annotations

import numpy as np
import pytest

import plait.array as da
from plait.array.overlap import (
    coerce_boundary,
    coerce_depth,
    ensure_minimum_chunksize,
    map_overlap,
    overlap,
    trim_internal,
    trim_overlap,
)

# plait boundary name -> np.pad keywords
PAD = {
    "reflect": {"mode": "symmetric"},
    "periodic": {"mode": "wrap"},
    "nearest": {"mode": "edge"},
    0: {"mode": "constant", "constant_values": 0},
    -7.5: {"mode": "constant", "constant_values": -7.5},
}


def smooth(block: np.ndarray, axes: tuple = None) -> np.ndarray:
    """3-point moving average along each axis, keeping the first/last element."""
    out = block.astype(float)
    for axis in axes if axes is not None else range(block.ndim):
        if out.shape[axis] < 3:
            continue
        moved = np.moveaxis(out, axis, 0)
        new = moved.copy()
        new[1:-1] = (moved[:-2] + moved[1:-1] + moved[2:]) / 3
        out = np.moveaxis(new, 0, axis)
    return out


def expected_smooth(a: np.ndarray, depth: dict, boundary: dict) -> np.ndarray:
    """Pad by NumPy, smooth, cut the padding off."""
    pads = []
    for axis in range(a.ndim):
        pads.append((depth.get(axis, 0),) * 2)
    out = a.astype(float)
    for axis in range(a.ndim):
        d = depth.get(axis, 0)
        b = boundary.get(axis, "none")
        if d and b != "none":
            width = [(0, 0)] * a.ndim
            width[axis] = (d, d)
            out = np.pad(out, width, **PAD[b])
    out = smooth(out, [ax for ax in range(a.ndim) if depth.get(ax, 0)])
    index = tuple(slice(d, out.shape[ax] - d) if d and boundary.get(ax, "none") != "none"
                  else slice(None) for ax, d in ((ax, depth.get(ax, 0)) for ax in range(a.ndim)))
    return out[index]


# -- overlap against np.pad ---------------------------------------------------------------

@pytest.mark.parametrize("boundary", ["reflect", "periodic", "nearest", 0, -7.5])
@pytest.mark.parametrize("chunks", [4, (3, 5, 2), (10,), (1, 4, 4, 1)])
def test_overlap_1d_each_boundary(boundary, chunks):
    a = np.arange(10) ** 2
    x = da.from_array(a, chunks=chunks)
    y = overlap(x, depth=2, boundary=boundary)
    trimmed = trim_internal(y, {0: 2}, boundary=boundary)
    np.testing.assert_array_equal(trimmed.compute(), a)
    # Each overlapped block is the padded array cut around that block.
    padded = np.pad(a, 2, **PAD[boundary])
    got = y.compute()
    start = 0
    pieces = []
    for c in (c - 4 for c in y.chunks[0]):  # the (possibly rechunked) source blocks
        pieces.append(padded[start:start + c + 4])
        start += c
    np.testing.assert_array_equal(got, np.concatenate(pieces))


def test_overlap_none_boundary_adds_no_outer_margin():
    a = np.arange(9)
    x = da.from_array(a, chunks=3)
    y = overlap(x, 1, "none")
    assert y.chunks == ((4, 5, 4),)
    np.testing.assert_array_equal(y.compute(), [0, 1, 2, 3, 2, 3, 4, 5, 6, 5, 6, 7, 8])
    np.testing.assert_array_equal(trim_internal(y, {0: 1}, "none").compute(), a)


@pytest.mark.parametrize("boundary", ["reflect", "periodic", "nearest", 0, "none"])
def test_overlap_2d_depth_per_axis(boundary):
    a = np.arange(7 * 9).reshape(7, 9).astype(float)
    x = da.from_array(a, chunks=((3, 4), (2, 4, 3)))
    y = overlap(x, depth={0: 1, 1: 2}, boundary=boundary)
    back = trim_overlap(y, {0: 1, 1: 2}, boundary)
    assert back.chunks == x.chunks
    np.testing.assert_array_equal(back.compute(), a)
    if boundary != "none":
        # The top-left block is the padded array's top-left corner.
        padded = np.pad(a, ((1, 1), (2, 2)), **PAD[boundary])
        got = y.compute()[:3 + 2, :2 + 4]
        np.testing.assert_array_equal(got, padded[:5, :6])


def test_overlap_reads_only_neighbours():
    x = da.from_array(np.arange(100), chunks=10)
    y = overlap(x, 2, "periodic")
    for key, task in y._layer.items():
        i = key[1]
        blocks = {d[1] for d in task.dependencies}
        assert blocks <= {(i - 1) % 10, i, (i + 1) % 10}


def test_overlap_depth_larger_than_chunk_rechunks():
    a = np.arange(12)
    x = da.from_array(a, chunks=(2, 2, 2, 2, 2, 2))
    y = overlap(x, 3, "reflect")
    assert all(c >= 3 + 6 for c in y.chunks[0])
    with pytest.raises(ValueError, match="larger than the smallest chunk"):
        overlap(x, 3, "reflect", allow_rechunk=False)


def test_overlap_depth_longer_than_axis_is_an_error():
    x = da.from_array(np.arange(3), chunks=3)
    with pytest.raises(ValueError, match="longer than the axis"):
        overlap(x, 4, "reflect")
    # nearest and constants can fill any depth
    np.testing.assert_array_equal(overlap(x, 4, "nearest").compute(),
                                  np.pad(np.arange(3), 4, mode="edge"))


def test_overlap_nearest_corner_2d():
    a = np.arange(12).reshape(3, 4)
    x = da.from_array(a, chunks=(3, 4))
    np.testing.assert_array_equal(overlap(x, 2, "nearest").compute(),
                                  np.pad(a, 2, mode="edge"))
    np.testing.assert_array_equal(overlap(x, (1, 2), 5).compute(),
                                  np.pad(a, ((1, 1), (2, 2)), constant_values=5))


def test_overlap_depth_zero_is_identity():
    x = da.from_array(np.arange(5), chunks=2)
    assert overlap(x, 0, "reflect") is x


def test_asymmetric_depth():
    a = np.arange(10)
    x = da.from_array(a, chunks=5)
    y = overlap(x, {0: (1, 2)}, "none")
    assert y.chunks == ((7, 6),)
    np.testing.assert_array_equal(y.compute(), np.r_[a[:7], a[4:]])
    np.testing.assert_array_equal(trim_internal(y, {0: (1, 2)}, "none").compute(), a)


# -- coercion --------------------------------------------------------------------------

def test_coerce_errors():
    with pytest.raises(ValueError, match="one depth per axis"):
        coerce_depth(2, (1, 2, 3))
    with pytest.raises(ValueError, match="non-negative"):
        coerce_depth(1, -1)
    with pytest.raises(ValueError, match="names axis 3"):
        coerce_depth(2, {3: 1})
    with pytest.raises(ValueError, match="'mirror'"):
        coerce_boundary(1, "mirror")
    assert coerce_depth(2, {-1: 2}) == {0: (0, 0), 1: (2, 2)}
    assert coerce_boundary(2, ("reflect", None)) == {0: "reflect", 1: "none"}
    assert ensure_minimum_chunksize(4, (1, 1, 1)) == (3,)


# -- map_overlap -----------------------------------------------------------------------

@pytest.mark.parametrize("boundary", ["reflect", "periodic", "nearest", 0, "none"])
@pytest.mark.parametrize("chunks", [3, (4, 1, 5), 10])
def test_map_overlap_smoothing_1d(boundary, chunks):
    a = np.random.default_rng(0).random(10)
    x = da.from_array(a, chunks=chunks)
    got = map_overlap(smooth, x, depth=1, boundary=boundary).compute()
    np.testing.assert_allclose(got, expected_smooth(a, {0: 1}, {0: boundary}))


@pytest.mark.parametrize("boundary", ["reflect", "periodic", "nearest", -7.5, "none"])
def test_map_overlap_smoothing_2d_uneven(boundary):
    a = np.random.default_rng(1).random((11, 13))
    x = da.from_array(a, chunks=((4, 3, 4), (5, 2, 6)))
    got = x.map_overlap(smooth, depth=1, boundary=boundary)
    assert got.chunks == x.chunks
    np.testing.assert_allclose(got.compute(),
                               expected_smooth(a, {0: 1, 1: 1}, {0: boundary, 1: boundary}))


def test_map_overlap_depth_per_axis_and_boundary_per_axis():
    a = np.random.default_rng(2).random((8, 9))
    x = da.from_array(a, chunks=(3, 4))
    depth = {0: 1, 1: 0}
    boundary = {0: "periodic", 1: "none"}
    got = map_overlap(smooth, x, depth=depth, boundary=boundary, axes=(0,))
    np.testing.assert_allclose(got.compute(), expected_smooth(a, depth, boundary))


def test_map_overlap_old_argument_order_and_positional_depth():
    a = np.arange(10.0)
    x = da.from_array(a, chunks=4)
    want = expected_smooth(a, {0: 1}, {0: "reflect"})
    np.testing.assert_allclose(x.map_overlap(smooth, 1, "reflect").compute(), want)
    np.testing.assert_allclose(map_overlap(x, smooth, depth=1, boundary="reflect").compute(),
                               want)


def test_map_overlap_trim_false_and_depth_larger_than_chunk():
    a = np.arange(12.0)
    x = da.from_array(a, chunks=2)
    got = map_overlap(smooth, x, depth=3, boundary="nearest")
    np.testing.assert_allclose(got.compute(), expected_smooth(a, {0: 3}, {0: "nearest"}))
    raw = map_overlap(lambda b: b, x, depth=1, boundary=0, trim=False)
    assert raw.chunks == ((4, 4, 4, 4, 4, 4),)
    with pytest.raises(ValueError, match="allow_rechunk"):
        map_overlap(smooth, x, depth=3, boundary="nearest", allow_rechunk=False)


def test_map_overlap_several_arrays_are_aligned():
    a = np.arange(12.0)
    b = np.arange(12.0)[::-1].copy()
    x = da.from_array(a, chunks=4)
    y = da.from_array(b, chunks=(5, 7))
    got = map_overlap(lambda p, q: smooth(p + q), x, y, depth=[1, 1],
                      boundary="reflect")
    np.testing.assert_allclose(got.compute(), expected_smooth(a + b, {0: 1}, {0: "reflect"}))


def test_map_overlap_passes_kwargs_and_dtype():
    x = da.from_array(np.arange(6), chunks=3)

    def add(block, k):
        return block + k

    y = map_overlap(add, x, depth=1, boundary="none", k=10, dtype=np.int64)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.compute(), np.arange(6) + 10)


def test_map_overlap_errors():
    x = da.from_array(np.arange(6), chunks=3)
    with pytest.raises(TypeError, match="function first"):
        map_overlap(1, x, depth=1)
    with pytest.raises(ValueError, match="one per array"):
        map_overlap(np.add, x, x, depth=[1, 1, 1])
    with pytest.raises(ValueError, match="cannot trim"):
        map_overlap(lambda b: b[:1], x, depth=1, boundary="reflect", chunks=(1,))


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_map_overlap_schedulers(scheduler):
    a = np.random.default_rng(3).random((6, 6))
    x = da.from_array(a, chunks=(2, 3))
    got = map_overlap(smooth, x, depth=1, boundary="periodic").compute(scheduler=scheduler)
    np.testing.assert_allclose(got, expected_smooth(a, {0: 1, 1: 1},
                                                    {0: "periodic", 1: "periodic"}))


def test_map_overlap_drop_axis_and_new_axis():
    a = np.random.default_rng(4).random((9, 4))
    x = da.from_array(a, chunks=(3, 2))
    got = map_overlap(lambda b: b.sum(axis=1), x, depth={0: 1, 1: 0}, boundary="reflect",
                      drop_axis=1)
    np.testing.assert_allclose(got.compute(), a.sum(axis=1))
    v = da.from_array(a[:, 0], chunks=3)
    got = map_overlap(lambda b: b[:, None], v, depth=1, boundary="periodic", new_axis=1)
    assert got.shape == (9, 1)
    np.testing.assert_array_equal(got.compute(), a[:, :1])


def test_map_overlap_arrays_of_different_ndim_and_depth_beyond_chunks():
    a = np.random.default_rng(5).random((6, 8))
    b = np.random.default_rng(6).random(8)
    x = da.from_array(a, chunks=(3, 2))
    y = da.from_array(b, chunks=2)
    got = map_overlap(lambda p, q: p + q, x, y, depth=[{0: 1, 1: 3}, {0: 3}],
                      boundary="reflect")
    np.testing.assert_allclose(got.compute(), a + b)
    with pytest.raises(ValueError, match="allow_rechunk"):
        map_overlap(lambda p, q: p + q, x, y, depth=[{0: 1, 1: 3}, {0: 3}],
                    boundary="reflect", allow_rechunk=False)


def test_map_overlap_align_arrays_false():
    a = np.arange(12.0)
    x = da.from_array(a, chunks=4)
    got = map_overlap(lambda p, q: p * q, x, x + 1, depth=1, boundary=0, align_arrays=False)
    np.testing.assert_allclose(got.compute(), a * (a + 1))
    with pytest.raises(ValueError, match="align_arrays=True"):
        map_overlap(lambda p, q: p * q, x, da.from_array(a, chunks=6), depth=1,
                    align_arrays=False)


def test_overlap_tasks_free_neighbour_blocks_without_the_garbage_collector():
    """A self-calling closure in the assembling task once made a reference cycle that
    kept neighbour blocks alive until gc ran."""
    import gc
    import weakref

    from plait.callbacks import Callback

    x = da.random.random((40, 40), chunks=10)
    y = da.overlap.overlap(x, depth=2, boundary="reflect")
    alive = []

    def post(key, result, dsk, state, worker):
        if isinstance(result, np.ndarray) and result.ndim == 2:
            alive.append(weakref.ref(result))

    enabled = gc.isenabled()
    gc.disable()
    try:
        with Callback(posttask=post):
            y.sum().compute(scheduler="sync")
        leftover = [r for r in alive if r() is not None]
    finally:
        if enabled:
            gc.enable()
    assert alive and leftover == []

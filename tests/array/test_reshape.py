"""plait.array.reshape: reshape and ravel compared with NumPy under sync and threads."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plait
import plait.array as da
from plait.array.reshape import ravel, reshape

SCHEDULERS = ["sync", "threads"]
A = np.arange(4 * 6 * 5).reshape(4, 6, 5)


def check(x, expected, scheduler="sync"):
    got = x.compute(scheduler=scheduler)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    assert x.shape == expected.shape
    assert tuple(sum(c) for c in x.chunks) == expected.shape


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("chunks", [(3, 4, 2), (1, 1, 1), (4, 6, 5), ((1, 3), (5, 1), (2, 3))])
@pytest.mark.parametrize("shape", [
    (24, 5), (4, 30), (120,), (2, 2, 6, 5), (-1, 10), (5, 24), (1, 120, 1),
    (4, 6, 5, 1), (2, 3, 4, 5), (8, 15), (4, 6, 5), (2, -1, 3), (120, 1), (1, 1, 120),
])
def test_reshape_matches_numpy(shape, chunks, scheduler):
    x = da.from_array(A, chunks=chunks)
    check(reshape(x, shape), A.reshape(shape), scheduler)


@pytest.mark.parametrize("merge_chunks", [True, False])
def test_each_output_block_comes_from_one_input_block(merge_chunks):
    x = da.from_array(A, chunks=(3, 4, 2))
    y = reshape(x, (8, 15), merge_chunks=merge_chunks)
    for node in y._layer.values():
        assert len(node.dependencies) == 1
    check(y, A.reshape(8, 15), "threads")
    if not merge_chunks:
        assert y.chunks[0] == (2, 2, 2, 2)


def test_split_axis_keeps_compatible_chunks_without_rechunking():
    x = da.from_array(np.arange(60), chunks=20)
    y = reshape(x, (6, 10))
    assert y.chunks == ((2, 2, 2), (10,))
    (dep,) = y._deps
    assert dep is x  # boundaries already fall on whole rows
    check(y, np.arange(60).reshape(6, 10))


def test_merge_respects_limit():
    data = np.ones((100, 100))
    x = da.from_array(data, chunks=(50, 10))
    y = reshape(x, (10_000,), limit=8 * 2000)
    assert max(y.chunks[0]) <= 2000
    check(y, data.reshape(-1))


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_methods_and_numpy_functions(scheduler):
    x = da.from_array(A, chunks=(3, 4, 2))
    check(x.reshape(2, 60), A.reshape(2, 60), scheduler)
    check(x.reshape((2, 60)), A.reshape(2, 60), scheduler)
    check(x.reshape(-1), A.reshape(-1), scheduler)
    check(x.ravel(), A.ravel(), scheduler)
    check(x.flatten(), A.flatten(), scheduler)
    check(ravel(x), A.ravel(), scheduler)
    assert isinstance(np.reshape(x, (12, 10)), da.Array)
    check(np.reshape(x, (12, 10)), A.reshape(12, 10), scheduler)
    check(np.ravel(x), A.ravel(), scheduler)


def test_round_trips():
    x = da.from_array(A, chunks=(3, 4, 2))
    check(x.reshape(-1).reshape(4, 6, 5), A)
    check(x.reshape(24, 5).reshape(4, 30).reshape(A.shape), A)
    assert x.reshape(4, 6, 5) is x


@pytest.mark.parametrize("shape,chunks,new", [
    ((0,), 3, (0, 5)),
    ((0, 4), (2, 2), (-1,)),
    ((2, 0, 3), 1, (0, 7)),
    ((1,), 1, ()),
    ((), (), (1, 1)),
    ((3, 4), (3, 4), (2, 6)),
])
@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_empty_scalar_and_single_block(shape, chunks, new, scheduler):
    data = np.arange(math.prod(shape), dtype=float).reshape(shape)
    x = da.from_array(data, chunks=chunks)
    check(reshape(x, new), data.reshape(new), scheduler)


@pytest.mark.parametrize("shape", [(-1, -1), (4, -1), (7,), (0, -1), (2, 2, 2)])
def test_errors_like_numpy(shape):
    x = da.from_array(np.arange(6), chunks=2)
    with pytest.raises(ValueError) as numpy_error:
        np.arange(6).reshape(shape)
    with pytest.raises(ValueError) as ours:
        reshape(x, shape)
    assert str(ours.value) == str(numpy_error.value)


def test_type_and_order_errors():
    x = da.from_array(np.arange(6), chunks=2)
    with pytest.raises(TypeError):
        x.reshape(2.0, 3)
    with pytest.raises(NotImplementedError, match="C order"):
        reshape(x, (2, 3), order="F")
    with pytest.raises(NotImplementedError, match="C order"):
        ravel(x, order="F")
    with pytest.raises(TypeError, match="needs a shape"):
        reshape(x)
    check(reshape(x, newshape=(3, 2)), np.arange(6).reshape(3, 2))
    with pytest.raises(ValueError, match="can only specify one unknown"):
        reshape(da.from_array(np.zeros((0, 3)), chunks=1), (-1, -1))


def _factorings(n, most=4):
    """All ways to write n as an ordered product of up to ``most`` factors (1s allowed)."""
    out = [(n,)]
    if most > 1:
        for d in range(1, n + 1):
            if n % d == 0:
                out += [(d,) + rest for rest in _factorings(n // d, most - 1)]
    return sorted(set(out))


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_random_reshapes_match_numpy(data):
    size = data.draw(st.sampled_from([1, 6, 12, 24, 30, 36, 48, 60]))
    shapes = _factorings(size)
    inshape = data.draw(st.sampled_from(shapes))
    outshape = list(data.draw(st.sampled_from(shapes)))
    if data.draw(st.booleans()):
        outshape[data.draw(st.integers(0, len(outshape) - 1))] = -1
    chunks = tuple(data.draw(st.integers(1, n)) for n in inshape)
    merge = data.draw(st.booleans())
    arr = np.arange(size).reshape(inshape)
    x = da.from_array(arr, chunks=chunks)
    with plait.config.set({"array.chunk-size": data.draw(st.sampled_from([64, 1000, "1MiB"]))}):
        y = reshape(x, tuple(outshape), merge_chunks=merge)
    check(y, arr.reshape(outshape), data.draw(st.sampled_from(SCHEDULERS)))


def test_shape_as_numpy_values_and_lists():
    x = da.from_array(np.arange(12), chunks=5)
    check(x.reshape(np.array([3, 4])), np.arange(12).reshape(3, 4))
    check(x.reshape([2, -1]), np.arange(12).reshape(2, 6))
    check(x.reshape(np.int64(12)), np.arange(12))
    check(np.reshape(x, shape=(4, 3)), np.arange(12).reshape(4, 3))


def test_unknown_shape_says_what_to_do():
    x = da.Array({}, "unknown-x", ((float("nan"),),), np.float64)
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        reshape(x, (2, -1))

"""Chunk arithmetic: normalize_chunks in every input form, auto sizing, block slices,
common chunkings and broadcast alignment, checked against brute-force reasoning."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import plait.config
from plait.array.chunks import (
    Alignment,
    blockdims_from_blockshape,
    chunk_boundaries,
    chunk_shapes,
    chunks_to_slices,
    common_chunks,
    normalize_chunks,
    numblocks,
    slices_from_chunks,
    unify_broadcast_chunks,
)
from plait.utils.sizes import parse_bytes

nan = math.nan


def same(a, b):
    """Chunk equality with nan == nan."""
    return len(a) == len(b) and all(
        len(x) == len(y) and all(p == q or (math.isnan(p) and math.isnan(q)) for p, q in zip(x, y))
        for x, y in zip(a, b)
    )


def boundaries(c):
    return set(itertools.accumulate(c, initial=0))


# ---------------------------------------------------------------- input forms


@pytest.mark.parametrize(
    "chunks, shape, expected",
    [
        (4, (10, 3), ((4, 4, 2), (3,))),
        (1000, (10,), ((10,),)),
        ((4, 2), (10, 3), ((4, 4, 2), (2, 1))),
        (((3, 4, 3), (5, 5)), (10, 10), ((3, 4, 3), (5, 5))),
        ([[3, 4, 3], [5, 5]], (10, 10), ((3, 4, 3), (5, 5))),
        ((3, 4, 3), (10,), ((3, 4, 3),)),
        ((5,), (10,), ((5, 5),)),
        (-1, (10, 3), ((10,), (3,))),
        ((5, -1), (10, 10), ((5, 5), (10,))),
        ((5, None), (10, 10), ((5, 5), (10,))),
        ({0: 5}, (10, 10), ((5, 5), (10,))),
        ({-1: 4, 0: (7, 3)}, (10, 10), ((7, 3), (4, 4, 2))),
        ({}, (4, 6), ((4,), (6,))),
        (np.array([2, 3]), (4, 6), ((2, 2), (3, 3))),
        ((np.int64(2), np.int32(3)), (4, 6), ((2, 2), (3, 3))),
        ((2.0, 3), (4, 6), ((2, 2), (3, 3))),
        (((np.int64(1), np.int64(3)),), (4,), ((1, 3),)),
        (5, (np.int64(10),), ((5, 5),)),
    ],
)
def test_input_forms(chunks, shape, expected):
    out = normalize_chunks(chunks, shape)
    assert out == expected
    assert all(type(x) is int for c in out for x in c)


def test_explicit_chunks_without_shape():
    assert normalize_chunks(((2, 2), (3, 3))) == ((2, 2), (3, 3))
    assert normalize_chunks([[2, 2], [3, 3]]) == ((2, 2), (3, 3))
    assert normalize_chunks(()) == ()


def test_zero_dimensional():
    assert normalize_chunks((), ()) == ()
    assert normalize_chunks(5, ()) == ()
    assert normalize_chunks("auto", (), dtype="f8") == ()


def test_zero_length_axes():
    assert normalize_chunks(5, (0,)) == ((0,),)
    assert normalize_chunks((5, 2), (0, 4)) == ((0,), (2, 2))
    assert normalize_chunks(-1, (0, 3)) == ((0,), (3,))
    assert normalize_chunks((), (0,)) == ((0,),)
    assert normalize_chunks("auto", (0, 5), dtype="f8") == ((0,), (5,))
    assert normalize_chunks(0, (0,)) == ((0,),)
    assert normalize_chunks(((0,),), (0,)) == ((0,),)


def test_zero_size_blocks_inside_explicit_chunks_are_kept():
    # filtering makes them, e.g. x[x > 5] once chunk sizes are computed
    assert normalize_chunks(((0, 4, 0, 6),), (10,)) == ((0, 4, 0, 6),)


def test_nan_chunks_are_kept():
    out = normalize_chunks(((1,), (nan, nan)), (1, nan))
    assert same(out, ((1,), (nan, nan)))
    assert all(math.isnan(x) for x in out[1])
    assert same(normalize_chunks((1, -1), (1, nan)), ((1,), (nan,)))
    assert same(normalize_chunks(((nan, nan),)), ((nan, nan),))
    # unknown sizes cannot be checked against a known shape, so they pass
    assert same(normalize_chunks(((nan, 3),), (10,)), ((nan, 3),))


# ---------------------------------------------------------------- auto


def check_auto(chunks, shape, limit, itemsize):
    """All-auto blocks fit the limit, could not all grow by one, and are square-ish."""
    assert tuple(map(sum, chunks)) == shape
    assert all(c > 0 for axis in chunks for c in axis)
    widest = [max(c) for c in chunks]
    # one element is the smallest block there is, even past a tiny limit
    assert math.prod(widest) * itemsize <= max(limit, itemsize)
    cut = [i for i, n in enumerate(shape) if widest[i] < n]
    if cut:
        bigger = [w + 1 if i in cut else w for i, w in enumerate(widest)]
        assert math.prod(bigger) * itemsize > limit, (chunks, limit)
        # the axes that are cut are cut equally, each no longer than any whole axis
        assert len({widest[i] for i in cut}) == 1
        assert all(shape[i] <= widest[cut[0]] for i in range(len(shape)) if i not in cut)


@pytest.mark.parametrize(
    "dtype", ["u1", "i4", "f8", "c16", "S10", "M8[ns]", "U3", [("a", "f4"), ("b", "i2")]])
@pytest.mark.parametrize(
    "shape", [(10**6,), (3000, 4000), (7, 10**6), (200, 300, 400), (1, 1, 10**7)])
@pytest.mark.parametrize("limit", [1000, "64kiB", "1MiB", 10**7])
def test_auto_fits_limit_and_is_not_too_small(dtype, shape, limit):
    chunks = normalize_chunks("auto", shape, limit=limit, dtype=dtype)
    check_auto(chunks, shape, parse_bytes(limit), np.dtype(dtype).itemsize)


def test_auto_is_square_and_matches_familiar_sizes():
    # 128 MiB of float64 is 4096**2 elements: the same blocks Dask users see
    with plait.config.set({"array.chunk-size": "128MiB"}):
        assert normalize_chunks("auto", (10000, 10000), dtype="f8") == ((4096, 4096, 1808),) * 2
    assert normalize_chunks(("auto",), (20,), limit=5, dtype="u1") == ((5, 5, 5, 5),)
    assert normalize_chunks("auto", (2, 3), dtype="i4") == ((2,), (3,))


def test_auto_respects_fixed_axes():
    chunks = normalize_chunks(("auto", 100, -1), (10**5, 1000, 10), limit=8 * 10**6, dtype="f8")
    assert chunks[1] == (100,) * 10 and chunks[2] == (10,)
    assert chunks[0][0] == 1000  # 10**6 elements / (100 * 10)
    chunks = normalize_chunks(("auto", (50, 950)), (10**5, 1000), limit=8 * 10**6, dtype="f8")
    assert chunks[0][0] == 10**6 // 950


def test_auto_short_axis_stays_whole_and_others_take_its_share():
    chunks = normalize_chunks("auto", (10, 10**6), limit=10**4, dtype="u1")
    assert chunks[0] == (10,) and chunks[1][0] == 1000


def test_auto_tiny_limit_gives_blocks_of_one():
    assert normalize_chunks("auto", (3, 3), limit=1, dtype="f8") == ((1, 1, 1),) * 2


def test_auto_uses_config_default():
    with plait.config.set({"array.chunk-size": "800B"}):
        assert normalize_chunks("auto", (1000,), dtype="f8")[0][0] == 100
    with plait.config.set({"array.chunk-size": 80}):
        assert normalize_chunks("auto", (1000,), dtype="f8")[0][0] == 10


@pytest.mark.parametrize("size, expected", [("1kiB", 256), ("4kB", 1000), ("100MiB", 10**7)])
def test_byte_strings_mean_auto_with_that_limit(size, expected):
    chunks = normalize_chunks(size, (10**7,), dtype="f4")
    assert chunks[0][0] == min(expected, 10**7)
    assert normalize_chunks((size, -1), (10**7, 1), dtype="f4")[0][0] == min(expected, 10**7)


def test_byte_string_with_equal_limit_is_fine():
    assert normalize_chunks("1kiB", (2000,), limit=1024, dtype="f4")[0][0] == 256


# ---------------------------------------------------------------- previous_chunks


def test_previous_chunks_grow_by_multiples():
    chunks = normalize_chunks("auto", (1000, 1000), limit=8 * 400**2, dtype="f8",
                              previous_chunks=((100,) * 10, (100,) * 10))
    assert chunks == ((400, 400, 200),) * 2


def test_previous_chunks_shrink_by_even_splits():
    chunks = normalize_chunks("auto", (1000, 1000), limit=8 * 30 * 30, dtype="f8",
                              previous_chunks=(100, 100))
    assert chunks == ((25,) * 40,) * 2  # each 100 split in 4 equal parts, no ragged 10s


def test_previous_chunks_keep_their_proportions():
    chunks = normalize_chunks("auto", (10**4, 10**4), limit=8 * 40 * 4000, dtype="f8",
                              previous_chunks=(10, 1000))
    assert (chunks[0][0], chunks[1][0]) == (40, 4000)


def test_previous_chunks_whole_axis_then_rest_of_budget():
    chunks = normalize_chunks(("auto", -1), (1000, 1000), limit=8 * 100 * 1000, dtype="f8",
                              previous_chunks=(10, 1000))
    assert chunks == ((100,) * 10, (1000,))
    chunks = normalize_chunks("auto", (1000, 50), limit=8 * 10**4, dtype="f8",
                              previous_chunks=(10, 10))
    assert chunks == ((200,) * 5, (50,))


def test_previous_chunks_tiny_limit_fits():
    # the narrow axis cannot shrink below 1, so the wide one gives up the rest
    chunks = normalize_chunks("auto", (10**6, 10**4), limit=8 * 20, dtype="f8",
                              previous_chunks=((10**5,) * 10, (1,) * 10**4))
    assert chunks[1] == (1,) * 10**4
    assert chunks[0] == (20,) * (10**6 // 20)


def test_previous_chunks_irregular_boundaries_are_kept():
    prev = (30, 70, 10, 90, 50, 50)
    chunks = normalize_chunks("auto", (300,), limit=100, dtype="u1", previous_chunks=(prev,))
    assert chunks == ((100, 100, 100),)
    assert boundaries(chunks[0]) <= boundaries(prev)


def assert_aligned(new, old):
    """Every new block is a run of old blocks, or lies inside one old block."""
    old_cuts = boundaries(old)
    for a, b in zip(sorted(boundaries(new)), sorted(boundaries(new))[1:]):
        inner = {x for x in old_cuts if a < x < b}
        assert not inner or (a in old_cuts and b in old_cuts), (new, old)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.integers(1, 60), min_size=1, max_size=12), min_size=1, max_size=3),
       st.integers(1, 10**6), st.sampled_from(["u1", "f4", "c16"]))
def test_previous_chunks_property(prev, limit, dtype):
    prev = tuple(map(tuple, prev))
    shape = tuple(map(sum, prev))
    chunks = normalize_chunks("auto", shape, limit=limit, dtype=dtype, previous_chunks=prev)
    assert tuple(map(sum, chunks)) == shape
    assert all(c > 0 for axis in chunks for c in axis)
    for new, old in zip(chunks, prev):
        assert_aligned(new, old)
    itemsize = np.dtype(dtype).itemsize
    if limit >= itemsize:
        assert math.prod(max(c) for c in chunks) * itemsize <= max(limit, itemsize)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((((3, 4),), (10,)), {}, ValueError,
         r"chunks \(\(3, 4\),\) do not add up to shape \(10,\): the chunks along axis 0 sum to 7"),
        (((5, 5, 5), (10, 10)), {}, ValueError, r"have 3 axes but shape \(10, 10\) has 2"),
        ((((5, 5),), (10, 10)), {}, ValueError, r"have 1 axes but shape \(10, 10\) has 2"),
        ((((-3, 13),), (10,)), {}, ValueError, r"axis 0 contain negative size -3"),
        (((4, -2), (10, 10)), {}, ValueError, r"chunk size -2 along axis 1 is negative"),
        ((0, (10,)), {}, ValueError, r"chunk size 0 along axis 0 cannot cover its length 10"),
        (((2.5,), (10,)), {}, ValueError, r"chunk size along axis 0: 2.5 is not a whole number"),
        ((((2.5, 7.5),), (10,)), {}, ValueError, r"chunks along axis 0: 2.5 is not a whole"),
        (((True,), (10,)), {}, ValueError, r"True is not a whole number"),
        ((("x",), (10,)), {}, ValueError, r"cannot read 'x' as a size"),
        ((((),), (10,)), {}, ValueError,
         r"axis 0 are empty \(\): an axis of length 0 is written \(0,\)"),
        ((None, (10,)), {}, ValueError, r"chunks=None is not a chunking"),
        ((5,), {}, ValueError, r"needs the array's shape"),
        (((5, 5),), {}, ValueError, r"need the array's shape"),
        (({2: 5}, (10, 10)), {}, ValueError, r"names axis 2, but shape \(10, 10\) has axes 0..1"),
        ((5, (-1,)), {}, ValueError, r"shape \(-1,\) has a negative length"),
        (("auto", (10,)), {}, ValueError, r"needs the dtype.*pass dtype="),
        (("auto", (10,)), {"dtype": object}, NotImplementedError, r"object.*give explicit chunks"),
        (("auto", (10,)), {"dtype": "V0"}, ValueError, r"take 0 bytes"),
        (("auto", (nan,)), {"dtype": "f8"}, ValueError, r"unknown \(nan\)"),
        ((("auto", (nan, nan)), (10, nan)), {"dtype": "f8"}, ValueError, r"unknown \(nan\)"),
        ((5, (nan,)), {}, ValueError, r"axis 0 has unknown length \(nan\)"),
        (((nan,), (10,)), {}, ValueError, r"chunk size nan along axis 0 is ambiguous"),
        ((("1kiB", "2kiB"), (10, 10)), {"dtype": "f8"}, ValueError, r"give one size"),
        (("1kiB", (10,)), {"dtype": "f8", "limit": 10}, ValueError, r"give one size"),
        (("auto", (10,)), {"dtype": "f8", "previous_chunks": ((3, 3),)}, ValueError,
         r"previous_chunks along axis 0:.*sum to 6"),
        (("auto", (10,)), {"dtype": "f8", "previous_chunks": (5, 5)}, ValueError,
         r"previous_chunks .* have 2 axes"),
        (("auto", (10,)), {"dtype": "f8", "previous_chunks": ((nan, nan),)}, ValueError,
         r"unknown \(nan\) sizes along axis 0"),
    ],
)
def test_errors_name_the_problem(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        normalize_chunks(*args, **kwargs)


# ---------------------------------------------------------------- block geometry


def test_blockdims_from_blockshape():
    assert blockdims_from_blockshape((10, 6), (4, 3)) == ((4, 4, 2), (3, 3))
    assert blockdims_from_blockshape((0, 5), (4, 10)) == ((0,), (5,))
    assert blockdims_from_blockshape((), ()) == ()
    with pytest.raises(ValueError, match=r"blockshape \(4,\) has 1 axes but shape \(10, 6\) has 2"):
        blockdims_from_blockshape((10, 6), (4,))
    with pytest.raises(ValueError, match="chunk size 0 along axis 1"):
        blockdims_from_blockshape((10, 6), (4, 0))


def test_boundaries_numblocks_shapes():
    assert chunk_boundaries((3, 4, 3)) == (0, 3, 7, 10)
    assert chunk_boundaries((0,)) == (0, 0)
    assert numblocks(((3, 4, 3), (5, 5), (1,))) == (3, 2, 1)
    assert list(chunk_shapes(((2, 1), (3, 4)))) == [(2, 3), (2, 4), (1, 3), (1, 4)]
    assert list(chunk_shapes(())) == [()]


@pytest.mark.parametrize(
    "chunks", [((3, 4, 3), (5, 5)), ((2, 2), (1, 2, 3), (4,)), ((0,), (2, 1)), ((6,),)])
def test_slices_tile_the_array_exactly_once(chunks):
    shape = tuple(map(sum, chunks))
    hits = np.zeros(shape, dtype=int)
    slices = slices_from_chunks(chunks)
    shapes = list(chunk_shapes(chunks))
    assert len(slices) == math.prod(numblocks(chunks))
    for sl, bshape in zip(slices, shapes):
        hits[sl] += 1
        assert hits[sl].shape == bshape
    assert (hits == 1).all()
    by_index = chunks_to_slices(chunks)
    assert list(by_index.values()) == slices
    for index, sl in by_index.items():
        for axis, (i, s) in enumerate(zip(index, sl)):
            cuts = chunk_boundaries(chunks[axis])
            assert (s.start, s.stop) == (cuts[i], cuts[i + 1])


# ---------------------------------------------------------------- common chunks


def brute_common(*chunkings):
    total = sum(chunkings[0])
    cuts = sorted(set().union(*map(boundaries, chunkings)) | {0, total})
    return tuple(b - a for a, b in zip(cuts, cuts[1:])) or (0,)


@pytest.mark.parametrize(
    "inputs, expected",
    [
        (((5, 5), (3, 7), (10,)), (3, 2, 5)),
        (((10,), (10,)), (10,)),
        (((2, 2, 2), (3, 3)), (2, 1, 1, 2)),
        (((4, 4),), (4, 4)),
        (((0,), (0,)), (0,)),
        (((1,) * 5, (5,)), (1,) * 5),
    ],
)
def test_common_chunks_examples(inputs, expected):
    assert common_chunks(*inputs) == expected == brute_common(*inputs)


def test_common_chunks_nan_and_errors():
    assert same((common_chunks((nan, nan), (nan, nan)),), ((nan, nan),))
    with pytest.raises(ValueError, match=r"unknown \(nan\) sizes.*compute the chunk sizes"):
        common_chunks((nan, nan), (5, 5))
    with pytest.raises(ValueError, match=r"different lengths \(10, 9\)"):
        common_chunks((5, 5), (9,))
    with pytest.raises(TypeError, match="at least one"):
        common_chunks()


def chunkings_of(total):
    """A strategy of positive chunkings summing to ``total``."""
    if total == 1:
        return st.just((1,))
    cuts = st.sets(st.integers(1, total - 1), max_size=min(total - 1, 15))
    return cuts.map(lambda s: tuple(b - a for a, b in zip([0, *sorted(s)], [*sorted(s), total])))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 200).flatmap(lambda n: st.lists(chunkings_of(n), min_size=1, max_size=5)))
def test_common_chunks_refines_every_input(chunkings):
    out = common_chunks(*chunkings)
    assert sum(out) == sum(chunkings[0]) and all(c > 0 for c in out)
    assert boundaries(out) == set().union(*map(boundaries, chunkings))
    for c in chunkings:
        # each input block is a run of output blocks
        assert boundaries(c) <= boundaries(out)
    assert out == brute_common(*chunkings)


# ---------------------------------------------------------------- normalize, random


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=4), st.data())
def test_normalize_random_shapes_and_block_sizes(shape, data):
    shape = tuple(shape)
    block = tuple(data.draw(st.one_of(st.integers(1, 400), st.just(-1), st.none())) for _ in shape)
    out = normalize_chunks(block, shape)
    assert tuple(map(sum, out)) == shape
    for n, b, c in zip(shape, block, out):
        if n == 0:
            assert c == (0,)
            continue
        assert all(x > 0 for x in c)
        width = n if b in (None, -1) else min(b, n)
        assert all(x == width for x in c[:-1]) and 0 < c[-1] <= width
    assert blockdims_from_blockshape(shape, block) == out
    assert normalize_chunks(out, shape) == out  # idempotent


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 10**5), min_size=1, max_size=4), st.integers(1, 10**7),
       st.sampled_from(["u1", "i2", "f8", "c16"]))
def test_auto_random(shape, limit, dtype):
    shape = tuple(shape)
    chunks = normalize_chunks("auto", shape, limit=limit, dtype=dtype)
    check_auto(chunks, shape, limit, np.dtype(dtype).itemsize)


# ---------------------------------------------------------------- broadcasting


def test_broadcast_alignment():
    a = ((10, 1), ((5, 5), (1,)))
    b = ((4,), ((2, 2),))
    assert unify_broadcast_chunks(a, b) == Alignment((10, 4), ((5, 5), (2, 2)), (None, None))
    out = unify_broadcast_chunks(((6,), ((3, 3),)), ((6,), ((2, 4),)), ((1,), ((1,),)))
    assert out.shape == (6,) and out.chunks == ((2, 1, 3),)
    assert out.inputs == (((2, 1, 3),), ((2, 1, 3),), None)
    # a lower-rank operand lines up with the trailing axes
    out = unify_broadcast_chunks(((4, 6), (2, 3)), ((6,), 2))
    assert out.chunks == ((2, 2), (2, 1, 1, 2))
    assert out.inputs == (((2, 2), (2, 1, 1, 2)), ((2, 1, 1, 2),))
    assert unify_broadcast_chunks(((1, 1), (1, 1))) == Alignment((1, 1), ((1,), (1,)), (None,))
    assert unify_broadcast_chunks(((), ())) == Alignment((), (), (None,))
    assert unify_broadcast_chunks(((0, 3), -1), ((1, 3), -1)).shape == (0, 3)


def test_broadcast_errors_and_nan():
    message = r"shapes \(3,\) \(4,\) cannot be broadcast: axis 0 has lengths \[3, 4\]"
    with pytest.raises(ValueError, match=message):
        unify_broadcast_chunks(((3,), 3), ((4,), 4))
    out = unify_broadcast_chunks(((nan, 2), ((nan, nan), (2,))), ((2,), ((1, 1),)))
    assert math.isnan(out.shape[0]) and out.shape[1] == 2
    assert same(out.chunks, ((nan, nan), (1, 1)))
    assert out.inputs[0] is not None and out.inputs[1] is None
    with pytest.raises(ValueError, match=r"unknown \(nan\)"):
        unify_broadcast_chunks(((nan,), ((nan,),)), ((5,), ((5,),)))


@st.composite
def broadcastable(draw):
    out = draw(st.lists(st.integers(1, 30), min_size=0, max_size=3))
    arrays = []
    for _ in range(draw(st.integers(1, 4))):
        ndim = draw(st.integers(0, len(out)))
        shape = tuple(n if draw(st.booleans()) else 1 for n in out[len(out) - ndim:])
        chunks = tuple(draw(chunkings_of(n)) for n in shape)
        arrays.append((shape, chunks))
    return arrays


@settings(max_examples=200, deadline=None)
@given(broadcastable())
def test_broadcast_against_brute_force(arrays):
    shapes = [s for s, _ in arrays]
    out = unify_broadcast_chunks(*arrays)
    assert out.shape == np.broadcast_shapes(*shapes)
    ndim = len(out.shape)
    for axis in range(ndim):
        wide = [c[axis - ndim] for s, c in arrays if len(s) >= ndim - axis and s[axis - ndim] != 1]
        expected = brute_common(*wide) if wide else (1,)
        assert out.chunks[axis] == expected
    for (shape, chunks), target in zip(arrays, out.inputs):
        final = chunks if target is None else target
        assert tuple(map(sum, final)) == shape
        lead = ndim - len(shape)
        for i, n in enumerate(shape):
            assert final[i] == ((1,) if n == 1 else out.chunks[lead + i])
        if target is not None:
            assert target != chunks

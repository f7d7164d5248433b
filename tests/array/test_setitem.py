"""plait.array item assignment (``x[key] = value``) compared with the same assignment on
a NumPy copy: boolean masks (plait and NumPy), ints, slices with steps, Ellipsis and
integer arrays, with scalar, NumPy and plait values, over uneven and single chunks and
under the sync and threads schedulers; the seed's fractal loop; in-place operators."""

import numpy as np
import pytest

import plait.array as da
from plait.array.setitem import setitem

SCHEDULERS = ["sync", "threads"]
CHUNKS = [(7, 10), (3, 4), ((2, 5), (9, 1)), (1, 3)]
A = np.arange(70, dtype=np.int64).reshape(7, 10)
F = np.random.default_rng(0).random((7, 10))


def check(x, expected, scheduler="sync"):
    got = x.compute(scheduler=scheduler)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_array_equal(got, expected)


def both(a, chunks, key, value, np_value=None):
    """Assign on a plait array and on a NumPy copy; return both."""
    x = da.from_array(a, chunks=chunks)
    b = a.copy()
    x[key] = value
    b[key] = value if np_value is None else np_value
    return x, b


# -- boolean masks -------------------------------------------------------------------------

@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("chunks", CHUNKS)
def test_plait_mask_scalar(chunks, scheduler):
    x = da.from_array(A, chunks=chunks)
    b = A.copy()
    x[x % 3 == 1] = -5
    b[b % 3 == 1] = -5
    check(x, b, scheduler)
    assert x.chunks == da.from_array(A, chunks=chunks).chunks


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("chunks", CHUNKS)
def test_numpy_mask_scalar_and_float_into_int_truncates(chunks, scheduler):
    mask = A % 4 == 0
    x, b = both(A, chunks, mask, 2.9)
    assert x.dtype == A.dtype
    check(x, b, scheduler)


@pytest.mark.parametrize("chunks", CHUNKS)
def test_mask_with_array_values_broadcastable_to_x(chunks):
    mask = F > 0.5
    row = np.arange(10.0) * 100
    x = da.from_array(F, chunks=chunks)
    x[da.from_array(mask, chunks=(4, 6))] = row  # mask chunked differently from x
    check(x, np.where(mask, row, F))
    full = da.from_array(-F, chunks=(2, 2))
    x = da.from_array(F, chunks=chunks)
    x[mask] = full
    check(x, np.where(mask, -F, F), "threads")
    col = da.from_array(np.arange(7.0).reshape(7, 1), chunks=3)
    x = da.from_array(F, chunks=chunks)
    x[x > 0.3] = col
    check(x, np.where(F > 0.3, np.arange(7.0).reshape(7, 1), F))


def test_mask_errors():
    x = da.from_array(A, chunks=3)
    with pytest.raises(IndexError):
        x[np.ones((7, 9), dtype=bool)] = 1
    with pytest.raises(IndexError):
        x[da.ones((7, 9), dtype=bool, chunks=3)] = 1
    with pytest.raises(ValueError):
        x[x > 3] = np.arange(7)  # does not broadcast to (7, 10)
    with pytest.raises(ValueError):
        x[x > 3] = "text"
    with pytest.raises(NotImplementedError):
        x[da.from_array(np.array([[1]]), chunks=1)] = 1


# -- ints, slices, Ellipsis ------------------------------------------------------------------

BASIC_KEYS = [
    3, -1, (2, 5), (-7, -10), slice(1, 5), slice(None, None, 2), slice(None, None, -1),
    slice(6, 0, -3), (slice(None), 4), (Ellipsis, 7), (Ellipsis, slice(8, 1, -2)),
    (slice(1, 6, 2), slice(9, None, -4)), (slice(2, 2), 3), Ellipsis, (),
    (slice(-3, None), Ellipsis), (4, Ellipsis, slice(0, 10, 3)), slice(100, 200),
]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("chunks", CHUNKS)
@pytest.mark.parametrize("key", BASIC_KEYS, ids=repr)
def test_basic_keys_scalar(key, chunks, scheduler):
    x, b = both(A, chunks, key, -1)
    check(x, b, scheduler)


@pytest.mark.parametrize("chunks", CHUNKS)
@pytest.mark.parametrize("key", BASIC_KEYS, ids=repr)
def test_basic_keys_numpy_and_plait_values(key, chunks):
    region = A[key].shape
    value = (np.arange(int(np.prod(region))) * 10 + 1000).reshape(region)
    x, b = both(A, chunks, key, value)
    check(x, b)
    for vchunks in [2, -1]:
        v = da.from_array(value, chunks=vchunks if region else ())
        x, b = both(A, chunks, key, v, value)
        check(x, b, "threads")


@pytest.mark.parametrize("chunks", CHUNKS)
def test_values_broadcast_to_the_region(chunks):
    key = (slice(1, 6), slice(8, 0, -2))
    for value in [np.arange(4), np.arange(5).reshape(5, 1), np.array([[7]]),
                  np.arange(4).reshape(1, 1, 4), np.float64(2.5)]:
        x, b = both(A, chunks, key, value)
        check(x, b)
        if np.ndim(value):
            x, b = both(A, chunks, key, da.from_array(value, chunks=1), value)
            check(x, b)


def test_only_overlapping_blocks_get_tasks():
    x = da.from_array(A, chunks=(3, 4))
    x[4, 5:7] = 0
    tasks = [k for k, n in x._layer.items() if type(n).__name__ == "Task"]
    assert [k[1:] for k in tasks] == [(1, 1)]
    assert len(x._layer) == 9


def test_value_is_cast_like_numpy():
    x, b = both(A, 4, (slice(None), 1), np.linspace(0, 3, 7))
    check(x, b)
    x, b = both(F, 4, 2, 7)
    check(x, b)
    x, b = both(A.astype(np.int8), 4, 0, 100.7)
    check(x, b)
    x = da.from_array(A.astype(np.int8), chunks=4)
    with pytest.raises(OverflowError):  # NumPy refuses Python ints out of range
        A.astype(np.int8)[0] = 300
    with pytest.raises(OverflowError):
        x[0] = 300
    with pytest.raises(OverflowError):
        x[x > 3] = 300


def test_region_errors_like_numpy():
    x = da.from_array(A, chunks=3)
    for key, value, exc in [
        (7, 0, IndexError), ((0, -11), 0, IndexError), ((0, 0, 0), 0, IndexError),
        ((Ellipsis, Ellipsis), 0, IndexError), (1.5, 0, IndexError),
        (slice(0, 3), np.arange(9), ValueError), (0, np.ones((2, 10)), ValueError),
        ([0, 7], 0, IndexError), (np.zeros(3, dtype=bool), 0, IndexError),
    ]:
        with pytest.raises(exc):
            A.copy()[key] = value
        with pytest.raises(exc):
            x[key] = value
    with pytest.raises(ValueError):
        x[0] = "not a number"
    with pytest.raises(ValueError):
        x[0:3] = da.ones((2, 10), chunks=2)
    with pytest.raises(ValueError):
        x[[0, 1], [2, 3]] = np.ones(3)
    with pytest.raises(IndexError):
        x[[0, 1], [2, 10]] = 0
    with pytest.raises(IndexError):
        x[[0, 1], [2, 3, 4]] = 0
    with pytest.raises(ValueError):
        x[None, 0:2] = np.ones((2, 2, 10))
    check(x, A)  # failed assignments leave x as it was


# -- integer arrays along one axis -----------------------------------------------------------

INT_KEYS = [
    [5, 1, 5, 0], np.array([3, -1, 2, 3, 6, 0]), (slice(None), [9, 0, 9, 4]),
    (slice(6, None, -2), np.array([-10, 8, 8])), (2, [1, 3, 2]), (Ellipsis, [0]),
    [], (slice(None), np.array([True, False] * 5)), np.array([1, 0, 0, 1, 1, 0, 1], bool),
]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("chunks", CHUNKS)
@pytest.mark.parametrize("key", INT_KEYS, ids=repr)
def test_integer_array_keys(key, chunks, scheduler):
    x, b = both(A, chunks, key, -3)
    check(x, b, scheduler)
    region = A[key].shape
    value = np.arange(int(np.prod(region)), dtype=float).reshape(region) + 0.5
    x, b = both(A, chunks, key, value)  # duplicates: the last value wins, as in NumPy
    check(x, b, scheduler)
    x, b = both(A, chunks, key, da.from_array(value, chunks=2), value)
    check(x, b, scheduler)


# -- rebinding ---------------------------------------------------------------------------

@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_rebinding_keeps_earlier_arrays_valid(scheduler):
    x = da.from_array(A, chunks=3)
    old_name = x.name
    plus_one = x + 1
    mask = x > 40
    x[mask] = 0
    assert x.name != old_name
    b = A.copy()
    b[b > 40] = 0
    check(x, b, scheduler)
    check(plus_one, A + 1, scheduler)  # built before: still the old values
    check(mask, A > 40, scheduler)
    x[0] = 9
    b[0] = 9
    check(x, b, scheduler)
    check(plus_one, A + 1, scheduler)


def test_value_built_from_x_itself():
    x = da.from_array(F, chunks=(3, 4))
    x[x > 0.5] = x * 10
    x[2:5] = 0.25
    b = F.copy()
    b[b > 0.5] = (b * 10)[b > 0.5]
    b[2:5] = 0.25
    check(x, b)


def test_setitem_function_and_other_references():
    x = da.from_array(A, chunks=4)
    y = x
    setitem(x, (slice(None), 0), 100)
    b = A.copy()
    b[:, 0] = 100
    check(x, b)
    assert y is x  # the object itself denotes the new array


def test_inplace_operators_rebind_the_name():
    x = da.from_array(A, chunks=3)
    b = A.copy()
    x += 1
    b += 1
    x *= 2
    b *= 2
    x[x > 100] = 0
    b[b > 100] = 0
    x -= 3
    b -= 3
    check(x, b, "threads")


def test_works_on_zero_dim_and_one_dim():
    x = da.from_array(np.array(5.0), chunks=())
    x[()] = 2
    check(x, np.array(2.0))
    v = np.arange(13)
    x = da.from_array(v, chunks=5)
    x[::-4] = [1, 2, 3, 4]
    b = v.copy()
    b[::-4] = [1, 2, 3, 4]
    check(x, b)


def test_random_assignments_match_numpy():
    rng = np.random.default_rng(42)
    a = rng.integers(0, 100, size=(9, 11))
    for trial in range(60):
        chunks = (tuple(_split(rng, 9)), tuple(_split(rng, 11)))
        x = da.from_array(a, chunks=chunks)
        b = a.copy()
        for _ in range(3):
            key = tuple(_random_item(rng, n, arrays=axis == 1)
                        for axis, n in enumerate(b.shape))
            region = b[key].shape
            value = rng.integers(-100, 0, size=region)
            if rng.random() < 0.3:
                value = rng.integers(-100, 0)
            x[key] = value
            b[key] = value
        check(x, b, "sync" if trial % 2 else "threads")


def _split(rng, n):
    cuts = sorted(set(rng.integers(1, n, size=rng.integers(0, 4)).tolist()))
    bounds = [0] + cuts + [n]
    return [hi - lo for lo, hi in zip(bounds, bounds[1:])]


def _random_item(rng, n, arrays):
    kind = rng.integers(0, 3 if arrays else 2)
    if kind == 0:
        return int(rng.integers(-n, n))
    if kind == 1:
        start, stop = (int(v) if rng.random() < 0.8 else None
                       for v in rng.integers(-n - 2, n + 2, size=2))
        step = int(rng.choice([-3, -2, -1, 1, 2, 3]))
        return slice(start, stop, step)
    return rng.integers(-n, n, size=rng.integers(0, 5))


# -- the seed's fractal --------------------------------------------------------------------

def prepare(height, width):
    y, x = np.ogrid[-1:0:height * 1j, -1.5:0:width * 1j]
    c = x + y * 1j
    return c, np.zeros(c.shape, dtype=np.int32)


def run(c, fractal, maxiterations=20):
    fractal *= 0
    fractal += maxiterations
    z = c
    for i in range(maxiterations):
        z = z**2 + c
        diverge = np.absolute(z) > 2
        divnow = diverge & (fractal == maxiterations)
        fractal[divnow] = i
        z[diverge] = 2
    return fractal


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("rows", [7, 40])
def test_fractal_matches_numpy(rows, scheduler):
    c, fractal = prepare(40, 30)
    expected = run(c, fractal.copy(), 12)
    c2, fractal2 = prepare(40, 30)
    out = run(da.from_array(c2, chunks=(rows, 30)), da.from_array(fractal2, chunks=(rows, 30)),
              12)
    check(out, expected, scheduler)
    np.testing.assert_array_equal(c2, c)  # the NumPy sources were never written to
    assert (fractal2 == 0).all()


def test_more_key_forms():
    x, b = both(A, 3, (np.array(2), np.int64(-1)), 5)  # 0-d integer arrays and NumPy ints
    check(x, b)
    x = da.from_array(A, chunks=3)
    with pytest.raises(IndexError):
        x[np.array(9)] = 0
    with pytest.raises(NotImplementedError):
        x[0, x > 3] = 0  # a plait array anywhere but alone

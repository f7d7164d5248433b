"""plait.array.rechunk: the direct and the staged plan, compared with NumPy under sync
and threads, and the staged plan's memory bound checked on the graph itself."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import plait
import plait.array as da
from plait.array.rechunk import plan_rechunk, rechunk, task_input_bytes

SCHEDULERS = ["sync", "threads"]
rng = np.random.default_rng(1)
A = rng.random((13, 17))


def check(x, expected, scheduler="sync"):
    got = x.compute(scheduler=scheduler)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def stages(y, x):
    """The arrays between ``x`` (excluded) and ``y`` (included), first to last."""
    out = []
    while y is not x:
        out.append(y)
        (y,) = y._deps
    return out[::-1]


def max_task_input_bytes(y, x):
    """Per task of the rechunk layers: the summed bytes of the blocks it reads."""
    arrays = [x] + stages(y, x)
    by_name = {a.name: a for a in arrays}
    worst = 0
    for a in arrays[1:]:
        for node in a._layer.values():
            total = 0
            for dep in node.dependencies:
                src = by_name[dep[0]]
                shape = [src.chunks[ax][i] for ax, i in enumerate(dep[1:])]
                total += math.prod(shape) * src.dtype.itemsize
            worst = max(worst, total)
    return worst


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("old,new", [
    ((5, 5), (3, 4)),
    ((13, 17), (2, 3)),
    ((1, 1), (13, 17)),
    (((3, 10), (7, 1, 9)), ((6, 7), (2, 15))),
    ((4, 6), -1),
    ((4, 6), {1: 5}),
    ((4, 6), {-1: 5}),
    ((4, 6), (None, 2)),
])
def test_rechunk_matches_numpy(old, new, scheduler):
    x = da.from_array(A, chunks=old)
    y = rechunk(x, new)
    check(y, A, scheduler)
    assert sum(y.chunks[0]) == 13 and sum(y.chunks[1]) == 17


def test_rechunk_method_on_array_and_same_chunks_is_identity():
    x = da.from_array(A, chunks=(4, 6))
    assert x.rechunk((4, 6)) is x
    assert x.rechunk(5).chunks == ((5, 5, 3), (5, 5, 5, 2))


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("shape,old,new", [
    ((0,), (0,), 3),
    ((0, 5), (0, 2), (4, 5)),
    ((3, 0), (1, 0), -1),
    ((), (), ()),
])
def test_rechunk_empty_and_0d(shape, old, new, scheduler):
    data = np.arange(math.prod(shape), dtype=float).reshape(shape)
    x = da.from_array(data, chunks=old)
    check(rechunk(x, new), data, scheduler)


def test_balance_evens_chunks_and_keeps_their_count():
    x = da.from_array(np.arange(100), chunks=10)
    y = rechunk(x, 30, balance=True)
    assert y.chunks == ((25, 25, 25, 25),)
    assert rechunk(x, 30).chunks == ((30, 30, 30, 10),)
    check(y, np.arange(100))
    z = da.from_array(A, chunks=(5, 5)).rechunk((4, 6), balance=True)
    assert z.chunks == ((4, 3, 3, 3), (6, 6, 5))
    check(z, A, "threads")


def test_auto_chunks_keep_boundaries_and_fit_limit():
    x = da.ones((1000, 1000), chunks=(100, 100))
    y = rechunk(x, "auto", block_size_limit=8 * 400 * 400)
    assert max(y.chunks[0]) * max(y.chunks[1]) * 8 <= 8 * 400 * 400
    assert all(b % 100 == 0 for b in np.cumsum(y.chunks[0]))
    z = rechunk(x, {0: "auto", 1: -1}, block_size_limit=8 * 1000 * 300)
    assert z.chunks[1] == (1000,) and max(z.chunks[0]) <= 300
    check(z, np.ones((1000, 1000)))


def test_bad_arguments_name_the_fix():
    x = da.from_array(A, chunks=4)
    with pytest.raises(ValueError, match="method"):
        rechunk(x, 5, method="p2p")
    with pytest.raises(ValueError, match="threshold"):
        rechunk(x, 5, threshold=-1)
    with pytest.raises(ValueError, match="add up"):
        rechunk(x, ((13,), (10, 10)))


# -- the staged plan -----------------------------------------------------------------

def test_staged_plan_bounds_every_task_input():
    data = np.arange(800 * 800, dtype=np.float64).reshape(800, 800)
    x = da.from_array(data, chunks=(800, 10))
    limit = 1_000_000
    direct = rechunk(x, (10, 800), method="direct")
    assert max_task_input_bytes(direct, x) == data.nbytes  # every task reads it all
    with plait.config.set({"array.rechunk.memory-limit": limit}):
        y = rechunk(x, (10, 800))
    assert y.chunks == ((10,) * 80, (800,))
    assert len(stages(y, x)) == 2
    assert max_task_input_bytes(y, x) <= limit
    for scheduler in SCHEDULERS:
        check(y, data, scheduler)


def test_staged_plan_not_used_within_limit_or_when_direct():
    x = da.from_array(A, chunks=(13, 1))
    assert len(stages(rechunk(x, (1, 17)), x)) == 1  # tiny: direct fits the default
    with plait.config.set({"array.rechunk.memory-limit": 100}):
        assert len(stages(rechunk(x, (1, 17)), x)) == 2
        assert len(stages(rechunk(x, (1, 17), method="direct"), x)) == 1
    with plait.config.set({"array.rechunk.method": "direct",
                           "array.rechunk.memory-limit": 100}):
        assert len(stages(rechunk(x, (1, 17)), x)) == 1


def test_staged_plan_when_blocks_exceed_limit_still_helps():
    x = da.from_array(A, chunks=(13, 2))
    y = rechunk(x, (2, 17), method="staged")
    check(y, A, "threads")
    assert max_task_input_bytes(y, x) < task_input_bytes(x.chunks, y.chunks, 8)


def test_plan_is_direct_when_staging_does_not_help():
    one = ((8,), (8,))
    assert plan_rechunk(one, ((2,) * 4, (2,) * 4), 8, 1) == [((2,) * 4, (2,) * 4)]


def test_plan_three_dimensions_under_limit():
    old = ((60,), (60,), (2,) * 30)
    new = ((2,) * 30, (60,), (60,))
    plan = plan_rechunk(old, new, 8, 8 * 60 * 60 * 8)
    assert len(plan) == 2
    steps = [old] + plan
    for a, b in zip(steps, steps[1:]):
        assert task_input_bytes(a, b, 8) <= 8 * 60 * 60 * 8
    data = rng.random((60, 60, 60))
    with plait.config.set({"array.rechunk.memory-limit": 8 * 60 * 60 * 8}):
        y = da.from_array(data, chunks=(60, 60, 2)).rechunk((2, 60, 60))
    check(y, data, "threads")



@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_rechunks_match_numpy_and_respect_limit(data):
    shape = data.draw(st.tuples(st.integers(1, 20), st.integers(1, 20)))
    def draw_chunks():
        out = []
        for n in shape:
            parts, left = [], n
            while left:
                c = min(left, data.draw(st.integers(1, max(1, n))))
                parts.append(c)
                left -= c
            out.append(tuple(parts))
        return tuple(out)
    old, new = draw_chunks(), draw_chunks()
    limit = data.draw(st.integers(8, 4000))
    arr = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    x = da.from_array(arr, chunks=old)
    with plait.config.set({"array.rechunk.memory-limit": limit}):
        y = rechunk(x, new)
    assert y.chunks == new
    check(y, arr)
    if y is x:
        return
    worst = max_task_input_bytes(y, x)
    assert worst <= max(task_input_bytes(old, new, 8), limit)
    biggest_block = 8 * max(math.prod(map(max, old)), math.prod(map(max, new)))
    if limit >= biggest_block:  # then two stages always fit
        assert worst <= limit, (old, new, limit, worst)


def test_staged_rechunk_releases_stage_inputs_without_the_garbage_collector():
    """Every block is freed by reference counting as soon as its last reader is done:
    the live bytes of a staged transpose-like rechunk stay within the array plus the
    memory limit (the array itself must be held: each new block needs a piece of every
    old one). A reference cycle in a task once held whole stages until gc ran."""
    import gc
    import weakref

    from plait.callbacks import Callback

    n, limit = 64, 64 * 64 * 8 // 4  # a quarter of the array per task
    x = da.random.random((n, n), chunks=(n, 4))
    with plait.config.set({"array.rechunk.memory-limit": limit}):
        y = x.rechunk((4, n))
    assert len(plan_rechunk(x.chunks, y.chunks, 8, limit)) == 2
    alive: list = []
    peak = [0]

    def post(key, result, dsk, state, worker):
        if isinstance(result, np.ndarray) and result.ndim == 2:
            alive.append(weakref.ref(result))
        live = sum(r().nbytes for r in alive if r() is not None)
        peak[0] = max(peak[0], live)

    enabled = gc.isenabled()
    gc.disable()
    try:
        with Callback(posttask=post):
            total = y.sum().compute(scheduler="sync")
        leftover = [r for r in alive if r() is not None]
    finally:
        if enabled:
            gc.enable()
    assert leftover == []
    assert peak[0] <= n * n * 8 + limit
    assert abs(total - x.compute().sum()) < 1e-9

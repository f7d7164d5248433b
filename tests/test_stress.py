"""Stress tier (run with ``pytest -m stress``): full-size runs kept out of the suite."""

import gc
import time
import weakref

import pytest

import plait
from plait import delayed

pytestmark = pytest.mark.stress


class Block:
    """A 1 MB value whose liveness is tracked."""

    live = weakref.WeakSet()

    def __init__(self, n):
        self.payload = bytearray(1_000_000)
        self.n = n
        Block.live.add(self)


def leaf(i):
    return Block(i)


def combine(a, b):
    peak = len(Block.live)
    out = Block(a.n + b.n)
    out.peak = max(peak, getattr(a, "peak", 0), getattr(b, "peak", 0))
    return out


@pytest.mark.timeout(600)
@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_big_tree_reduction_holds_few_blocks(scheduler):
    n = 2 ** 14
    out = [delayed(leaf)(i) for i in range(n)]
    while len(out) > 1:
        out = [delayed(combine)(out[i], out[i + 1]) for i in range(0, len(out), 2)]
    result = out[0].compute(scheduler=scheduler, num_workers=2)
    assert result.n == n * (n - 1) // 2
    assert result.peak < 64, result.peak  # 16,384 leaves, never more than a few dozen alive


@pytest.mark.timeout(600)
def test_million_task_graph_runs():
    xs = [delayed(abs)(-i) for i in range(1_000_000)]
    total = delayed(sum)(xs)
    assert total.compute(scheduler="threads") == sum(range(1_000_000))


def fail_sometimes(i):
    if i % 97 == 13:
        raise ValueError(i)
    return i


@pytest.mark.timeout(600)
def test_process_pool_survives_many_failures():
    for round_ in range(30):
        xs = [delayed(fail_sometimes)(i + round_ * 100) for i in range(100)]
        try:
            plait.compute(xs, scheduler="processes", num_workers=2)
        except ValueError:
            pass
    assert plait.compute([delayed(fail_sometimes)(1)], scheduler="processes")[0] == [1]
    gc.collect()

"""linalg: products of plait arrays against NumPy on the same data."""

from __future__ import annotations

import importlib.util

import numpy as np

import plait
import pytest

import plait.array as da
from plait.array import linalg
from plait.array.core import Array

SCHEDULERS = ["sync", "threads"]


def check(result, expected, scheduler="sync"):
    """``result`` is a plait array equal to ``expected`` in shape, dtype and values."""
    expected = np.asarray(expected)
    assert isinstance(result, Array)
    assert result.shape == expected.shape
    assert result.dtype == expected.dtype
    got = result.compute(scheduler=scheduler)
    assert np.asarray(got).shape == expected.shape
    assert np.asarray(got).dtype == expected.dtype
    if expected.dtype.kind in "fc":
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    else:
        np.testing.assert_array_equal(got, expected)


rng = np.random.default_rng(42)
F = rng.standard_normal((6, 5))
G = rng.standard_normal((5, 4))
V5 = rng.standard_normal(5)
V6 = rng.standard_normal(6)
I = rng.integers(-5, 5, (6, 5))
J = rng.integers(-5, 5, (5, 4))

CHUNKS_65 = [(6, 5), (2, 2), ((1, 4, 1), (3, 2)), 1]
CHUNKS_54 = [(5, 4), (2, 3), ((4, 1), (1, 3)), 1]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("ca,cb", list(zip(CHUNKS_65, CHUNKS_54)))
@pytest.mark.parametrize("a,b", [(F, G), (I, J)], ids=["float", "int"])
def test_matrix_products(a, b, ca, cb, scheduler):
    x, y = da.from_array(a, chunks=ca), da.from_array(b, chunks=cb)
    check(da_dot(x, y), a.dot(b), scheduler)
    check(linalg.matmul(x, y), a @ b, scheduler)
    check(x @ y, a @ b, scheduler)
    check(x.dot(y), a.dot(b), scheduler)
    check(linalg.tensordot(x, y, axes=1), np.tensordot(a, b, axes=1), scheduler)


def da_dot(x, y):
    return linalg.dot(x, y)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("chunks", [5, 2, (1, 3, 1)])
def test_vector_products(chunks, scheduler):
    x = da.from_array(V5, chunks=chunks)
    m = da.from_array(F, chunks=(4, chunks))
    check(linalg.dot(x, x), np.dot(V5, V5), scheduler)
    check(x @ x, V5 @ V5, scheduler)
    check(m @ x, F @ V5, scheduler)                    # 2-d x 1-d
    check(linalg.dot(m, x), F.dot(V5), scheduler)
    w = da.from_array(V6, chunks=4)
    check(w @ m, V6 @ F, scheduler)                    # 1-d x 2-d
    check(linalg.dot(w, m), V6.dot(F), scheduler)
    check(linalg.vdot(x, x), np.vdot(V5, V5), scheduler)
    check(linalg.inner(x, x), np.inner(V5, V5), scheduler)
    check(linalg.outer(x, w), np.outer(V5, V6), scheduler)
    check(linalg.matmul(x, np.asarray(F.T)), V5 @ F.T, scheduler)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_stacked_matmul_broadcasts_batches(scheduler):
    a = rng.standard_normal((3, 1, 4, 5))
    b = rng.integers(0, 4, (2, 5, 3))
    x = da.from_array(a, chunks=(2, 1, 3, 2))
    y = da.from_array(b, chunks=(1, 3, 2))
    check(x @ y, a @ b, scheduler)
    v = da.from_array(np.arange(5.0), chunks=2)
    check(x @ v, a @ np.arange(5.0), scheduler)
    check(v @ y, np.arange(5.0) @ b, scheduler)
    c = rng.integers(0, 9, (4, 2, 3))
    z = da.from_array(c, chunks=(3, 1, 2))
    check(z @ da.from_array(c.transpose(0, 2, 1), chunks=2), c @ c.transpose(0, 2, 1),
          scheduler)


def test_matmul_errors_like_numpy():
    x = da.from_array(F, chunks=2)
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        x @ x
    with pytest.raises(ValueError, match="not have enough dimensions"):
        linalg.matmul(x, 2)
    with pytest.raises(ValueError, match="shape-mismatch"):
        linalg.tensordot(x, x, axes=([0], [1]))
    with pytest.raises(ValueError, match="same length"):
        linalg.tensordot(x, x, axes=([0], [0, 1]))


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_tensordot_axes_forms(scheduler):
    a = rng.standard_normal((3, 4, 5))
    b = rng.integers(-3, 3, (4, 3, 2))
    x = da.from_array(a, chunks=(2, 3, 2))
    y = da.from_array(b, chunks=(1, 2, 2))
    check(linalg.tensordot(x, y, axes=([0, 1], [1, 0])),
          np.tensordot(a, b, axes=([0, 1], [1, 0])), scheduler)
    check(linalg.tensordot(x, y, axes=(1, 0)), np.tensordot(a, b, axes=(1, 0)), scheduler)
    check(linalg.tensordot(x, y, axes=0), np.tensordot(a, b, axes=0), scheduler)
    m = da.from_array(I, chunks=(4, 2))
    check(linalg.tensordot(m, m, axes=2), np.tensordot(I, I, axes=2), scheduler)
    check(linalg.tensordot(m, m, axes=([1], [1])), np.tensordot(I, I, axes=([1], [1])),
          scheduler)


def test_long_contraction_is_a_bounded_tree():
    """30 blocks along the contracted axis, panels larger than the chunk-size limit: no
    task adds more than SPLIT_EVERY parts."""
    a = rng.standard_normal((4, 60))
    x = da.from_array(a, chunks=(4, 2))
    with plait.config.set({"array.chunk-size": "256B"}):
        r = x @ x.T
    graph = r.__plait_graph__()
    widest = max(len(node.dependencies) for node in graph.values())
    assert widest <= max(linalg.SPLIT_EVERY, 2)
    check(r, a @ a.T, "threads")


def test_short_contraction_concatenates_panels():
    """Panels within the chunk-size limit: one task per output block, no sum tree."""
    a = rng.standard_normal((4, 60))
    x = da.from_array(a, chunks=(2, 2))
    r = x @ x.T
    assert len(r.dask) == 2 * x.npartitions + 4  # blocks of x and x.T, then 2 x 2 products
    check(r, a @ a.T, "threads")


EINSUM_CASES = [
    ("ij,jk->ik", [(6, 5), (5, 4)]),
    ("ii->i", [(5, 5)]),
    ("ii", [(5, 5)]),
    ("ij->", [(6, 5)]),
    ("i,i->", [(5,)]),
    ("i,i", [(5,)]),
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 2)]),
    ("ij->ji", [(6, 5)]),
    ("ij", [(6, 5)]),
    ("ji", [(6, 5)]),
    ("i,j->ij", [(5,), (4,)]),
    ("...ij,...jk->...ik", [(2, 4, 5), (5, 3)]),
    ("iij->j", [(3, 3, 4)]),
]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("kind", ["float", "int"])
@pytest.mark.parametrize("spec,shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
@pytest.mark.parametrize("chunk", [None, 2, 3])
def test_einsum_matches_numpy(spec, shapes, kind, chunk, scheduler):
    if kind == "float":
        arrays = [rng.standard_normal(s) for s in shapes]
    else:
        arrays = [rng.integers(-4, 5, s) for s in shapes]
    if spec == "i,i->" or spec == "i,i":
        arrays = [arrays[0], arrays[0][::-1].copy()]
    operands = [da.from_array(a, chunks=chunk or a.shape) for a in arrays]
    check(linalg.einsum(spec, *operands), np.einsum(spec, *arrays), scheduler)


def test_einsum_dtype_and_validation():
    a = rng.integers(0, 5, (4, 3))
    x = da.from_array(a, chunks=2)
    check(linalg.einsum("ij->j", x, dtype=float, casting="unsafe"),
          np.einsum("ij->j", a, dtype=float, casting="unsafe"))
    with pytest.raises(ValueError, match="operand"):
        linalg.einsum("ij,jk->ik", x)
    with pytest.raises(ValueError, match="output subscript"):
        linalg.einsum("ij->k", x)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("offset", [0, 1, -2, 4, 9, -9])
@pytest.mark.parametrize("chunks", [(6, 5), 2, ((1, 4, 1), (3, 2))])
def test_trace(offset, chunks, scheduler):
    x = da.from_array(I, chunks=chunks)
    check(linalg.trace(x, offset=offset), np.trace(I, offset=offset), scheduler)
    f = da.from_array(F, chunks=chunks)
    check(linalg.trace(f, offset=offset), np.trace(F, offset=offset), scheduler)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_trace_other_axes(scheduler):
    a = rng.standard_normal((3, 4, 5))
    x = da.from_array(a, chunks=(2, 3, 2))
    for kw in [dict(axis1=1, axis2=2), dict(axis1=2, axis2=0, offset=1),
               dict(axis1=0, axis2=-1, offset=-1)]:
        check(linalg.trace(x, **kw), np.trace(a, **kw), scheduler)
    check(linalg.trace(da.from_array(I.astype(np.int8), chunks=2)), np.trace(I.astype(np.int8)))


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_vdot_outer_inner_nd(scheduler):
    a = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    b = rng.standard_normal((4, 3)) - 2j
    x, y = da.from_array(a, chunks=2), da.from_array(b, chunks=(3, 2))
    check(linalg.vdot(x, y), np.vdot(a, b), scheduler)
    check(linalg.vdot(x, x), np.vdot(a, a), scheduler)
    check(linalg.outer(x, y), np.outer(a, b), scheduler)
    c = rng.integers(0, 5, (2, 4))
    z = da.from_array(c, chunks=(1, 3))
    check(linalg.inner(x, z), np.inner(a, c), scheduler)
    check(linalg.inner(z, 3), np.inner(c, 3), scheduler)
    check(linalg.dot(z, 2), np.dot(c, 2), scheduler)


def test_numpy_functions_dispatch_to_plait():
    x = da.from_array(F, chunks=2)
    v = da.from_array(V5, chunks=2)
    for result, expected in [
        (np.dot(x, x.T), F.dot(F.T)),
        (np.tensordot(x, x, axes=([0], [0])), np.tensordot(F, F, axes=([0], [0]))),
        (np.einsum("ij->j", x), F.sum(0)),
        (np.vdot(v, v), np.vdot(V5, V5)),
        (np.inner(v, v), np.inner(V5, V5)),
        (np.outer(v, v), np.outer(V5, V5)),
        (np.trace(x), np.trace(F)),
    ]:
        assert isinstance(result, Array)
        check(result, expected)


@pytest.mark.skipif(importlib.util.find_spec("plait.array.reductions") is None,
                    reason="plait.array.reductions is not written yet")
@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_products_compose_with_reductions(scheduler):
    a = rng.standard_normal((6, 6))
    x = da.from_array(a, chunks=(4, 2))
    result = (x.dot(x.T) - x.mean(axis=0)).std()
    expected = (a.dot(a.T) - a.mean(axis=0)).std()
    np.testing.assert_allclose(result.compute(scheduler=scheduler), expected)

"""decompositions: TSQR, SVD, randomized SVD, solvers and norms against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import plait.array as da
from plait.array import decompositions as dec
from plait.array.core import Array

SCHEDULERS = ["sync", "threads"]

rng = np.random.default_rng(7)
A = rng.standard_normal((1000, 20))
SQUARE = rng.standard_normal((12, 12)) + 12 * np.eye(12)
SPD = SQUARE @ SQUARE.T + np.eye(12)


def compute(*arrays, scheduler="sync"):
    import plait

    return plait.compute(*arrays, scheduler=scheduler)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("rows", [1000, 500, 300, 100, 37, (10, 990), 15])
def test_tsqr_reconstructs(rows, scheduler):
    x = da.from_array(A, chunks=(rows, 20))
    q, r = dec.tsqr(x)
    assert q.shape == (1000, 20) and r.shape == (20, 20)
    assert q.chunks[0] == x.chunks[0]
    qv, rv = compute(q, r, scheduler=scheduler)
    np.testing.assert_allclose(qv @ rv, A, atol=1e-10)
    np.testing.assert_allclose(qv.T @ qv, np.eye(20), atol=1e-10)
    np.testing.assert_array_equal(rv, np.triu(rv))


def test_tsqr_tree_and_small_blocks():
    # Blocks shorter than the width, and a three-level tree (split_every=2).
    x = da.from_array(A[:60, :8], chunks=(5, 8))
    q, r = dec.tsqr(x, split_every=2)
    qv, rv = compute(q, r)
    np.testing.assert_allclose(qv @ rv, A[:60, :8], atol=1e-10)
    np.testing.assert_allclose(qv.T @ qv, np.eye(8), atol=1e-10)
    np.testing.assert_array_equal(rv, np.triu(rv))


def test_qr_matches_numpy_up_to_signs():
    x = da.from_array(A, chunks=(250, 20))
    q, r = dec.qr(x)
    nq, nr = np.linalg.qr(A)
    signs = np.sign(np.diag(r.compute())) * np.sign(np.diag(nr))
    np.testing.assert_allclose(r.compute() * signs[:, None], nr, atol=1e-10)
    np.testing.assert_allclose(q.compute() * signs, nq, atol=1e-10)
    assert np.allclose(dec.qr(x, mode="r").compute(), r.compute())


def test_np_linalg_qr_dispatches():
    x = da.from_array(A, chunks=(250, 20))
    q, r = np.linalg.qr(x)
    assert isinstance(q, Array) and isinstance(r, Array)
    np.testing.assert_allclose((q @ r).compute(), A, atol=1e-10)


def test_tsqr_float32_and_int():
    x = da.from_array(A.astype(np.float32), chunks=(100, 20))
    q, r = dec.tsqr(x)
    assert q.dtype == np.float32 and q.compute().dtype == np.float32
    i = da.from_array(rng.integers(-5, 5, (40, 4)), chunks=(10, 4))
    q, r = dec.tsqr(i)
    assert q.dtype == np.float64
    np.testing.assert_allclose((q @ r).compute(), i.compute(), atol=1e-10)


def test_tsqr_complex():
    c = A[:200, :5] + 1j * A[200:400, :5]
    q, r = dec.tsqr(da.from_array(c, chunks=(50, 5)))
    qv, rv = compute(q, r)
    assert qv.dtype == np.complex128
    np.testing.assert_allclose(qv @ rv, c, atol=1e-10)
    np.testing.assert_allclose(qv.conj().T @ qv, np.eye(5), atol=1e-10)


def test_tsqr_needs_one_column_chunk():
    x = da.from_array(A, chunks=(100, 10))
    with pytest.raises(ValueError, match=r"rechunk\(\{1: -1\}\)"):
        dec.tsqr(x)
    with pytest.raises(ValueError, match="2-d"):
        dec.tsqr(da.from_array(A[:, 0], chunks=100))


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("rows", [1000, 100, 33])
def test_svd_tall_skinny(rows, scheduler):
    x = da.from_array(A, chunks=(rows, 20))
    u, s, v = dec.svd(x)
    assert u.shape == (1000, 20) and s.shape == (20,) and v.shape == (20, 20)
    uv, sv, vv = compute(u, s, v, scheduler=scheduler)
    np.testing.assert_allclose(sv, np.linalg.svd(A, compute_uv=False), rtol=1e-10)
    np.testing.assert_allclose((uv * sv) @ vv, A, atol=1e-10)
    np.testing.assert_allclose(uv.T @ uv, np.eye(20), atol=1e-10)


def test_svd_short_fat_and_dispatch():
    x = da.from_array(A.T, chunks=(20, 150))
    u, s, v = np.linalg.svd(x)
    assert u.shape == (20, 20) and v.shape == (20, 1000)
    uv, sv, vv = compute(u, s, v)
    np.testing.assert_allclose(sv, np.linalg.svd(A, compute_uv=False), rtol=1e-10)
    np.testing.assert_allclose((uv * sv) @ vv, A.T, atol=1e-10)
    s_only = np.linalg.svd(x, compute_uv=False)
    np.testing.assert_allclose(s_only.compute(), sv)


def test_svd_needs_chunking_along_one_axis():
    with pytest.raises(ValueError, match="svd_compressed"):
        dec.svd(da.from_array(A, chunks=(100, 10)))


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("n_power_iter", [0, 2])
def test_svd_compressed_rank_k(n_power_iter, scheduler):
    k = 5
    low = rng.standard_normal((300, k)) @ rng.standard_normal((k, 80))
    x = da.from_array(low, chunks=(60, 40))  # chunked along both axes
    u, s, v = dec.svd_compressed(x, k, n_power_iter=n_power_iter, seed=3)
    assert u.shape == (300, k) and s.shape == (k,) and v.shape == (k, 80)
    uv, sv, vv = compute(u, s, v, scheduler=scheduler)
    np.testing.assert_allclose((uv * sv) @ vv, low, atol=1e-8)
    np.testing.assert_allclose(sv, np.linalg.svd(low, compute_uv=False)[:k], rtol=1e-8)


def test_svd_compressed_seed_reproducible_and_approximates():
    x = da.from_array(A, chunks=(200, 10))
    s1 = dec.svd_compressed(x, 3, n_power_iter=4, seed=11)[1].compute()
    s2 = dec.svd_compressed(x, 3, n_power_iter=4, seed=11)[1].compute()
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_allclose(s1, np.linalg.svd(A, compute_uv=False)[:3], rtol=0.05)
    with pytest.raises(ValueError, match="k must be"):
        dec.svd_compressed(x, 0)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_solve(scheduler):
    a = da.from_array(SQUARE, chunks=5)
    b1 = rng.standard_normal(12)
    b2 = rng.standard_normal((12, 3))
    x1 = dec.solve(a, da.from_array(b1, chunks=4))
    assert x1.chunks == ((4, 4, 4),)
    np.testing.assert_allclose(x1.compute(scheduler=scheduler), np.linalg.solve(SQUARE, b1))
    x2 = np.linalg.solve(a, da.from_array(b2, chunks=(6, 3)))
    assert isinstance(x2, Array)
    np.testing.assert_allclose(x2.compute(scheduler=scheduler), np.linalg.solve(SQUARE, b2))
    with pytest.raises(ValueError, match="square"):
        dec.solve(da.from_array(A[:12, :5], chunks=4), b1)
    with pytest.raises(ValueError, match="b must have shape"):
        dec.solve(a, rng.standard_normal(5))


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_inv(scheduler):
    a = da.from_array(SQUARE, chunks=5)
    ai = dec.inv(a)
    assert ai.chunks == a.chunks
    np.testing.assert_allclose(ai.compute(scheduler=scheduler), np.linalg.inv(SQUARE))
    np.testing.assert_allclose(np.linalg.inv(a).compute(), np.linalg.inv(SQUARE))


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_cholesky(scheduler):
    a = da.from_array(SPD, chunks=5)
    low = np.linalg.cholesky(SPD)
    np.testing.assert_allclose(dec.cholesky(a, lower=True).compute(scheduler=scheduler), low)
    np.testing.assert_allclose(dec.cholesky(a).compute(scheduler=scheduler), low.T)
    # Through NumPy, NumPy's default (the lower factor) applies.
    np.testing.assert_allclose(np.linalg.cholesky(a).compute(), low)
    np.testing.assert_allclose(np.linalg.cholesky(a, upper=True).compute(), low.T)
    with pytest.raises(np.linalg.LinAlgError):
        dec.cholesky(da.from_array(-SPD, chunks=5)).compute()


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("bshape", [(1000,), (1000, 3)])
def test_lstsq(bshape, scheduler):
    b = rng.standard_normal(bshape)
    x = da.from_array(A, chunks=(200, 20))
    xs, res, rank, s = dec.lstsq(x, da.from_array(b, chunks=(200,) + bshape[1:]))
    ex, eres, erank, es = np.linalg.lstsq(A, b, rcond=None)
    xv, resv, rankv, sv = compute(xs, res, rank, s, scheduler=scheduler)
    np.testing.assert_allclose(xv, ex, atol=1e-10)
    assert resv.shape == eres.shape
    np.testing.assert_allclose(resv, eres, rtol=1e-8)
    assert int(rankv) == erank
    np.testing.assert_allclose(sv, es, rtol=1e-10)


def test_lstsq_dispatch_and_errors():
    b = rng.standard_normal(1000)
    x = da.from_array(A, chunks=(250, 20))
    xs, *_ = np.linalg.lstsq(x, b, rcond=None)
    np.testing.assert_allclose(xs.compute(), np.linalg.lstsq(A, b, rcond=None)[0])
    # Columns in several chunks are gathered first.
    xs, res, rank, s = dec.lstsq(da.from_array(A, chunks=(250, 5)), b)
    np.testing.assert_allclose(xs.compute(), np.linalg.lstsq(A, b, rcond=None)[0])


@pytest.mark.parametrize("chunks", [5, (7, 5), ((3, 9), (1, 11)), 12])
def test_square_solvers_on_multi_chunk_inputs(chunks):
    """solve, inv, cholesky and lstsq on square matrices split every way (uneven
    chunks included), against NumPy."""
    a = da.from_array(SQUARE, chunks=chunks)
    spd = da.from_array(SPD, chunks=chunks)
    b = rng.standard_normal((12, 2))
    np.testing.assert_allclose(dec.solve(a, b).compute(), np.linalg.solve(SQUARE, b))
    np.testing.assert_allclose(dec.inv(a).compute(), np.linalg.inv(SQUARE))
    np.testing.assert_allclose(dec.cholesky(spd, lower=True).compute(),
                               np.linalg.cholesky(SPD))
    xs, res, rank, s = dec.lstsq(a, b)
    ex, _, erank, es = np.linalg.lstsq(SQUARE, b, rcond=None)
    np.testing.assert_allclose(xs.compute(), ex, atol=1e-10)
    assert int(rank.compute()) == erank
    np.testing.assert_allclose(s.compute(), es, rtol=1e-10)
    assert dec.inv(a).chunks == a.chunks
    with pytest.raises(np.linalg.LinAlgError):
        dec.inv(da.from_array(np.ones((12, 12)), chunks=chunks)).compute()


VECTOR_ORDS = [None, 1, 2, 3, 0.5, 0, np.inf, -np.inf, -1]
MATRIX_ORDS = [None, "fro", 1, -1, np.inf, -np.inf, 2, -2, "nuc"]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_norm_vector(ord, scheduler):
    v = A[:, 0].copy()
    if ord == 0:
        v[::7] = 0
    x = da.from_array(v, chunks=130)
    got = dec.norm(x, ord=ord)
    want = np.linalg.norm(v, ord=ord)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got.compute(scheduler=scheduler), want, rtol=1e-10)


@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_norm_matrix(ord):
    x = da.from_array(A, chunks=(130, 20))
    want = np.linalg.norm(A, ord=ord)
    got = np.linalg.norm(x, ord=ord)
    assert isinstance(got, Array)
    np.testing.assert_allclose(got.compute(), want, rtol=1e-10)
    kept = dec.norm(x, ord=ord, keepdims=True)
    assert kept.shape == np.linalg.norm(A, ord=ord, keepdims=True).shape
    np.testing.assert_allclose(kept.compute(), np.linalg.norm(A, ord=ord, keepdims=True))


@pytest.mark.parametrize("ord", [None, "fro", 1, -1, np.inf, -np.inf])
@pytest.mark.parametrize("axis", [(0, 1), (1, 0), (2, 0), (-1, 1)])
def test_norm_matrix_axes_any_chunks(ord, axis):
    t = rng.standard_normal((6, 5, 4))
    x = da.from_array(t, chunks=(4, 2, 3))
    for keepdims in (False, True):
        want = np.linalg.norm(t, ord=ord, axis=axis, keepdims=keepdims)
        got = dec.norm(x, ord=ord, axis=axis, keepdims=keepdims)
        assert got.shape == want.shape
        np.testing.assert_allclose(got.compute(), want, rtol=1e-10)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_norm_defaults_ints_complex(axis, keepdims):
    i = rng.integers(-5, 5, (7, 9))
    c = rng.standard_normal((7, 9)) + 1j * rng.standard_normal((7, 9))
    for data in (i, c, A[:7, :9].astype(np.float32)):
        x = da.from_array(data, chunks=(3, 4))
        want = np.linalg.norm(data, axis=axis, keepdims=keepdims)
        got = dec.norm(x, axis=axis, keepdims=keepdims)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got.compute(), want, rtol=1e-6)


def test_norm_errors():
    x = da.from_array(A, chunks=100)
    with pytest.raises(ValueError, match="invalid norm order"):
        dec.norm(x, ord="bad")
    with pytest.raises(ValueError, match="invalid norm order"):
        dec.norm(da.from_array(A[:, 0], chunks=100), ord="fro")
    with pytest.raises(ValueError, match="axis"):
        dec.norm(da.from_array(np.ones((2, 2, 2)), chunks=1), ord=1)


def test_svd_compressed_options():
    low = rng.standard_normal((50, 4)) @ rng.standard_normal((4, 30))
    x = da.from_array(low, chunks=(25, 10))
    for seed in (None, np.random.RandomState(1), np.random.default_rng(2), 5):
        s = dec.svd_compressed(x, 4, seed=seed)[1].compute()
        np.testing.assert_allclose(s, np.linalg.svd(low, compute_uv=False)[:4], rtol=1e-8)
    # k as large as the matrix allows: no oversampling room, nothing to cut.
    u, s, v = dec.svd_compressed(x, 30, seed=0, compute=True)
    assert u.shape == (50, 30) and v.shape == (30, 30)
    np.testing.assert_allclose(((u * s) @ v).compute(), low, atol=1e-8)
    with pytest.raises(ValueError, match="2-d"):
        dec.svd_compressed(da.from_array(low[0], chunks=10), 1)


def test_argument_errors():
    x = da.from_array(A, chunks=(250, 20))
    with pytest.raises(ValueError, match="split_every"):
        dec.tsqr(x, split_every=1)
    with pytest.raises(ValueError, match="mode"):
        dec.qr(x, mode="complete")
    with pytest.raises(ValueError, match="2-d"):
        dec.svd(da.from_array(A[:, 0], chunks=100))
    with pytest.raises(ValueError, match="b must have shape"):
        dec.lstsq(x, rng.standard_normal(5))
    with pytest.raises(ValueError, match="at least as many rows"):
        dec.lstsq(da.from_array(A[:5].copy(), chunks=(5, 20)), rng.standard_normal(5))
    t = da.from_array(np.ones((2, 3, 4)), chunks=2)
    with pytest.raises(ValueError, match="one or two axes"):
        dec.norm(t, axis=(0, 1, 2))
    with pytest.raises(ValueError, match="duplicate"):
        dec.norm(t, axis=(1, 1))
    with pytest.raises(ValueError, match="2-d arrays only"):
        dec.norm(t, ord=2, axis=(0, 1))


def test_norm_two_transposed_axes():
    x = da.from_array(A, chunks=(130, 20))
    for ord in (2, -2, "nuc"):
        np.testing.assert_allclose(dec.norm(x, ord=ord, axis=(1, 0)).compute(),
                                   np.linalg.norm(A, ord=ord, axis=(1, 0)))

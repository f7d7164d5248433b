"""fft: plait.array.fft against np.fft on the same data."""

from __future__ import annotations

import numpy as np
import pytest

import plait.array as da
from plait.array import fft as pfft
from plait.array.core import Array

SCHEDULERS = ["sync", "threads"]

rng = np.random.default_rng(3)
R = rng.standard_normal((6, 8, 10))
C = R + 1j * rng.standard_normal((6, 8, 10))


def check(result, expected, scheduler="sync"):
    assert isinstance(result, Array)
    assert result.shape == expected.shape
    assert result.dtype == expected.dtype
    got = result.compute(scheduler=scheduler)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


ONE_AXIS = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("name", ONE_AXIS)
@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("n", [None, 7, 12])
def test_one_axis(name, axis, n, scheduler):
    data = R if name in ("rfft", "ihfft") else C
    chunks = [3, 4, 5]
    chunks[axis] = data.shape[axis]
    x = da.from_array(data, chunks=tuple(chunks))
    want = getattr(np.fft, name)(data, n=n, axis=axis)
    got = getattr(pfft, name)(x, n=n, axis=axis)
    check(got, want, scheduler)
    # Other axes keep their chunks.
    for ax in range(3):
        if ax != axis % 3:
            assert got.chunks[ax] == x.chunks[ax]


@pytest.mark.parametrize("norm", ["backward", "ortho", "forward"])
def test_norm_and_dispatch(norm):
    x = da.from_array(C, chunks=(2, 4, 10))
    check(np.fft.fft(x, norm=norm), np.fft.fft(C, norm=norm))
    check(np.fft.irfft(x, norm=norm), np.fft.irfft(C, norm=norm))
    check(np.fft.fftn(x, axes=(2,), norm=norm), np.fft.fftn(C, axes=(2,), norm=norm))


def test_float32_keeps_single_precision():
    x = da.from_array(R.astype(np.float32), chunks=(2, 8, 10))
    want = np.fft.rfft(R.astype(np.float32))
    got = pfft.rfft(x)
    assert got.dtype == want.dtype == np.complex64
    np.testing.assert_allclose(got.compute(), want, rtol=1e-5, atol=1e-5)


MANY_AXES = ["fftn", "ifftn", "rfftn", "irfftn"]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("name", MANY_AXES)
@pytest.mark.parametrize("axes,s", [(None, None), ((0, 2), None), ((1, 2), (6, 9)),
                                    ((2, 0), (5, 4)), ((-1,), None)])
def test_many_axes(name, axes, s, scheduler):
    data = R if name == "rfftn" else C
    chunks = [2, 3, 4]
    for ax in (range(3) if axes is None else axes):
        chunks[ax] = data.shape[ax]
    x = da.from_array(data, chunks=tuple(chunks))
    want = getattr(np.fft, name)(data, s=s, axes=axes)
    check(getattr(pfft, name)(x, s=s, axes=axes), want, scheduler)


@pytest.mark.parametrize("name", ["fft2", "ifft2", "rfft2", "irfft2"])
@pytest.mark.parametrize("s", [None, (5, 6)])
def test_two_axes(name, s):
    data = R if name == "rfft2" else C
    x = da.from_array(data, chunks=(2, 8, 10))
    check(getattr(pfft, name)(x, s=s), getattr(np.fft, name)(data, s=s))
    check(getattr(np.fft, name)(x, s=s), getattr(np.fft, name)(data, s=s))
    y = da.from_array(data, chunks=(6, 2, 10))
    check(getattr(pfft, name)(y, axes=(0, 2)), getattr(np.fft, name)(data, axes=(0, 2)))


def test_roundtrips():
    x = da.from_array(R, chunks=(1, 8, 10))
    np.testing.assert_allclose(pfft.ifft(pfft.fft(x)).compute().real, R, atol=1e-12)
    np.testing.assert_allclose(pfft.irfftn(pfft.rfftn(x, axes=(1, 2)), s=(8, 10),
                                           axes=(1, 2)).compute(), R, atol=1e-12)


@pytest.mark.parametrize("call", [
    lambda x: pfft.fft(x, axis=0),
    lambda x: pfft.irfft(x, axis=0),
    lambda x: pfft.fftn(x),
    lambda x: pfft.fft2(x, axes=(0, 1)),
    lambda x: pfft.fftshift(x),
    lambda x: np.fft.ifft(x, axis=0),
])
def test_multi_chunk_axis_raises(call):
    x = da.from_array(C, chunks=(3, 8, 10))
    with pytest.raises(ValueError, match=r"axis 0 .*x\.rechunk\(\{0: -1\}\)"):
        call(x)
    # The suggested fix works.
    call(x.rechunk({0: -1})).compute()


def test_bad_lengths():
    x = da.from_array(C[0, 0, :1], chunks=1)
    with pytest.raises(ValueError, match="invalid number of data points"):
        pfft.irfft(x)
    with pytest.raises(ValueError, match="same length"):
        pfft.fftn(da.from_array(C, chunks=-1), s=(4,), axes=(0, 1))
    with pytest.raises(ValueError, match="at least one dimension"):
        pfft.fft(da.from_array(np.array(1.0), chunks=()))
    with pytest.raises(ValueError, match="at least one axis"):
        pfft.fftn(da.from_array(C, chunks=-1), axes=())


@pytest.mark.parametrize("n,d", [(8, 1.0), (9, 0.1), (1, 2.0)])
def test_frequencies(n, d):
    f = pfft.fftfreq(n, d, chunks=3)
    np.testing.assert_allclose(f.compute(), np.fft.fftfreq(n, d))
    assert f.chunks[0][0] == min(3, n)
    np.testing.assert_allclose(pfft.rfftfreq(n, d, chunks=2).compute(), np.fft.rfftfreq(n, d))


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("axes", [None, 0, -1, (0, 2), (1, 1)])
def test_shifts(axes, scheduler):
    chunks = [6, 8, 10] if axes is None else [2, 4, 5]
    for ax in ([] if axes is None else np.atleast_1d(axes)):
        chunks[ax] = R.shape[ax]
    x = da.from_array(R, chunks=tuple(chunks))
    check(pfft.fftshift(x, axes=axes), np.fft.fftshift(R, axes=axes), scheduler)
    check(np.fft.ifftshift(x, axes=axes), np.fft.ifftshift(R, axes=axes), scheduler)

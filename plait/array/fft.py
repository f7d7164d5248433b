"""Discrete Fourier transforms (``plait.array.fft``), with NumPy's ``np.fft`` API.

A transform along an axis needs every element along it, so each transformed axis must
be a single chunk; the other axes keep their chunks and every block is transformed by
NumPy independently (one task per block). An axis split into several chunks raises a
``ValueError`` that says how to rechunk: ``x.rechunk({axis: -1})``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from .blockwise import map_blocks
from .core import Array, asarray, from_array, implements

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2",
           "irfft2", "fftn", "ifftn", "rfftn", "irfftn", "fftfreq", "rfftfreq", "fftshift",
           "ifftshift"]


def _check_single_chunk(a: Array, axes: Sequence[int], what: str) -> None:
    for ax in axes:
        if a.numblocks[ax] > 1:
            raise ValueError(
                f"{what} along axis {ax} needs that axis in a single chunk; it has chunks "
                f"{a.chunks[ax]}. Rechunk first: x.rechunk({{{ax}: -1}})"
            )


def _out_dtype(np_func: Callable, dtype: np.dtype) -> np.dtype:
    """The dtype a one-axis transform gives for input of ``dtype``."""
    return np_func(np.ones(4, dtype=dtype)).dtype


def _transform(np_func: Callable, a: Any, axes: tuple, lengths: tuple, kwargs: dict,
               what: str) -> Array:
    """``np_func(block, **kwargs)`` on every block (a one-axis transform); ``axes`` get
    the new ``lengths``."""
    a = asarray(a)
    _check_single_chunk(a, axes, what)
    dtype = _out_dtype(np_func, a.dtype)
    new = dict(zip(axes, lengths))
    chunks = tuple((new[i],) if i in new else c for i, c in enumerate(a.chunks))
    return map_blocks(np_func, a, chunks=chunks, dtype=dtype, token=what, **kwargs)


# -- one axis ---------------------------------------------------------------------------

def _one_axis(np_func: Callable, a: Any, n: Any, axis: int, norm: Any, kind: str) -> Array:
    a = asarray(a)
    if a.ndim == 0:
        raise ValueError(f"{np_func.__name__} needs an array of at least one dimension")
    axis = normalize_axis_index(axis, a.ndim)
    size = a.shape[axis]
    if kind == "complex":
        length = size if n is None else n
    elif kind == "half":  # real input, half spectrum out
        length = (size if n is None else n) // 2 + 1
    else:  # half spectrum in, real output of n points
        length = 2 * (size - 1) if n is None else n
    if length < 1:
        raise ValueError(f"{np_func.__name__}: invalid number of data points ({length}) "
                         f"for axis {axis} of shape {a.shape}")
    return _transform(np_func, a, (axis,), (length,), {"n": n, "axis": axis, "norm": norm},
                      np_func.__name__)


@implements(np.fft.fft)
def fft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The one-dimensional discrete Fourier transform along ``axis`` (one chunk).

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(8.0).reshape(2, 4), chunks=(1, 4))
    >>> bool(np.allclose(fft(x).compute(), np.fft.fft(np.arange(8.0).reshape(2, 4))))
    True
    """
    return _one_axis(np.fft.fft, a, n, axis, norm, "complex")


@implements(np.fft.ifft)
def ifft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The inverse of :func:`fft`."""
    return _one_axis(np.fft.ifft, a, n, axis, norm, "complex")


@implements(np.fft.rfft)
def rfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The transform of real input: the ``n // 2 + 1`` non-negative frequencies."""
    return _one_axis(np.fft.rfft, a, n, axis, norm, "half")


@implements(np.fft.irfft)
def irfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The inverse of :func:`rfft`: ``n`` real points (default ``2 * (m - 1)``)."""
    return _one_axis(np.fft.irfft, a, n, axis, norm, "full")


@implements(np.fft.hfft)
def hfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The transform of a Hermitian-symmetric signal given by its first half."""
    return _one_axis(np.fft.hfft, a, n, axis, norm, "full")


@implements(np.fft.ihfft)
def ihfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The inverse of :func:`hfft`."""
    return _one_axis(np.fft.ihfft, a, n, axis, norm, "half")


# -- several axes -----------------------------------------------------------------------

def _many_axes(np_func: Callable, a: Any, s: Any, axes: Any, norm: Any, kind: str) -> Array:
    a = asarray(a)
    if axes is None:
        axes = tuple(range(a.ndim)) if s is None else tuple(range(a.ndim - len(s), a.ndim))
    axes = tuple(normalize_axis_index(ax, a.ndim) for ax in axes)
    if s is not None and len(s) != len(axes):
        raise ValueError(f"{np_func.__name__}: s {tuple(s)} and axes {axes} must have the "
                         "same length")
    if not axes:
        raise ValueError(f"{np_func.__name__} needs at least one axis")
    sizes = [a.shape[ax] for ax in axes] if s is None else list(s)
    if kind == "half":
        sizes[-1] = sizes[-1] // 2 + 1
    elif kind == "full" and s is None:
        sizes[-1] = 2 * (a.shape[axes[-1]] - 1)
    # An axis named twice is transformed twice; its final length is the last one given.
    lengths = dict(zip(axes, sizes))
    uniq = tuple(lengths)
    _check_single_chunk(a, uniq, np_func.__name__)
    dtype = np_func(np.ones((4,) * len(axes), dtype=a.dtype),
                    axes=tuple(range(len(axes)))).dtype
    chunks = tuple((lengths[i],) if i in lengths else c for i, c in enumerate(a.chunks))
    kwargs = {"s": None if s is None else tuple(s), "axes": axes, "norm": norm}
    return map_blocks(np_func, a, chunks=chunks, dtype=dtype, token=np_func.__name__,
                      **kwargs)


@implements(np.fft.fftn)
def fftn(a: Any, s: Any = None, axes: Any = None, norm: str | None = None) -> Array:
    """The N-dimensional transform over ``axes`` (default: all), each one chunk.

    >>> import numpy as np, plait.array as da
    >>> x = np.arange(24.0).reshape(2, 3, 4)
    >>> bool(np.allclose(fftn(da.from_array(x, chunks=(2, 3, 4))).compute(), np.fft.fftn(x)))
    True
    """
    return _many_axes(np.fft.fftn, a, s, axes, norm, "complex")


@implements(np.fft.ifftn)
def ifftn(a: Any, s: Any = None, axes: Any = None, norm: str | None = None) -> Array:
    """The inverse of :func:`fftn`."""
    return _many_axes(np.fft.ifftn, a, s, axes, norm, "complex")


@implements(np.fft.rfftn)
def rfftn(a: Any, s: Any = None, axes: Any = None, norm: str | None = None) -> Array:
    """The N-dimensional transform of real input (half spectrum along the last axis)."""
    return _many_axes(np.fft.rfftn, a, s, axes, norm, "half")


@implements(np.fft.irfftn)
def irfftn(a: Any, s: Any = None, axes: Any = None, norm: str | None = None) -> Array:
    """The inverse of :func:`rfftn`."""
    return _many_axes(np.fft.irfftn, a, s, axes, norm, "full")


@implements(np.fft.fft2)
def fft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: str | None = None) -> Array:
    """The two-dimensional transform over ``axes`` (default the last two)."""
    return _many_axes(np.fft.fftn, a, s, axes, norm, "complex")


@implements(np.fft.ifft2)
def ifft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: str | None = None) -> Array:
    """The inverse of :func:`fft2`."""
    return _many_axes(np.fft.ifftn, a, s, axes, norm, "complex")


@implements(np.fft.rfft2)
def rfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: str | None = None) -> Array:
    """The two-dimensional transform of real input."""
    return _many_axes(np.fft.rfftn, a, s, axes, norm, "half")


@implements(np.fft.irfft2)
def irfft2(a: Any, s: Any = None, axes: Any = (-2, -1), norm: str | None = None) -> Array:
    """The inverse of :func:`rfft2`."""
    return _many_axes(np.fft.irfftn, a, s, axes, norm, "full")


# -- frequencies and shifts -------------------------------------------------------------

def fftfreq(n: int, d: float = 1.0, chunks: Any = "auto") -> Array:
    """The sample frequencies of an ``n``-point transform with sample spacing ``d``.

    >>> fftfreq(4, d=0.5, chunks=2).compute()
    array([ 0. ,  0.5, -1. , -0.5])
    """
    return from_array(np.fft.fftfreq(int(n), d), chunks=chunks)


def rfftfreq(n: int, d: float = 1.0, chunks: Any = "auto") -> Array:
    """The sample frequencies of :func:`rfft` of ``n`` points.

    >>> rfftfreq(4, chunks=2).compute()
    array([0.  , 0.25, 0.5 ])
    """
    return from_array(np.fft.rfftfreq(int(n), d), chunks=chunks)


def _shift(np_func: Callable, x: Any, axes: Any) -> Array:
    x = asarray(x)
    axes = tuple(range(x.ndim)) if axes is None else normalize_axis_tuple(
        (axes,) if isinstance(axes, int) else tuple(axes), x.ndim, allow_duplicate=True)
    _check_single_chunk(x, sorted(set(axes)), np_func.__name__)
    return map_blocks(np_func, x, axes=axes, dtype=x.dtype, token=np_func.__name__)


@implements(np.fft.fftshift)
def fftshift(x: Any, axes: Any = None) -> Array:
    """Move the zero frequency to the centre of ``axes`` (default: all; each one chunk).

    >>> import numpy as np, plait.array as da
    >>> fftshift(da.from_array(np.fft.fftfreq(5), chunks=5)).compute()
    array([-0.4, -0.2,  0. ,  0.2,  0.4])
    """
    return _shift(np.fft.fftshift, x, axes)


@implements(np.fft.ifftshift)
def ifftshift(x: Any, axes: Any = None) -> Array:
    """The inverse of :func:`fftshift`."""
    return _shift(np.fft.ifftshift, x, axes)

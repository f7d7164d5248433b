"""The one measure of a result's size in bytes.

CacheProfiler, spilling to disk and the dashboard all ask :func:`sizeof` how big a
value is, so they agree. It must be cheap (it runs on every result) and must never
raise: a size is advice, not a reason to fail a computation. So long containers and
long columns of Python objects are measured on a sample of their items and
extrapolated, and a value that cannot be measured gets ``sys.getsizeof`` or, failing
that, :data:`FALLBACK_SIZE`.

Handlers for NumPy and pandas are registered lazily, the first time an object of
theirs is measured, so ``import plait.sizeof`` imports neither library. Register your
own with ``sizeof.register(MyType)``.
"""

from __future__ import annotations

import itertools
import math
import sys
import threading
from typing import Any, Callable, Iterable

from plait.utils.dispatch import Dispatch

__all__ = ["FALLBACK_SIZE", "sizeof"]

FALLBACK_SIZE = 1_000_000
"""Bytes reported for an object whose size cannot be measured (rather too big than 0)."""

_SAMPLE = 20  # containers longer than this are measured on this many items
_OBJECT_SAMPLE = 100  # likewise for arrays of Python objects

# Bytes pandas objects hold besides their data (headers, block manager, caches),
# measured with tracemalloc on small objects.
_INDEX_OVERHEAD = 500
_SERIES_OVERHEAD = 800
_FRAME_OVERHEAD = 2000


class _SizeofDispatch(Dispatch):
    """Dispatch whose call never raises."""

    def __call__(self, obj: Any) -> int:
        try:
            return int(super().__call__(obj))
        except Exception:
            try:
                return sys.getsizeof(obj)
            except Exception:
                return FALLBACK_SIZE


sizeof = _SizeofDispatch("sizeof")
sizeof.__doc__ = """Return the approximate size of ``obj`` in bytes, memory it references included.

Containers count their items (a sample of them when long); NumPy arrays count their
data (``nbytes``; the memory a broadcast view repeats is counted once); pandas objects
count their deep memory usage, Python objects in object columns included. Never
raises.

Examples
--------
>>> sizeof(b"x" * 1000) >= 1000
True
>>> sizeof(["x" * 1000, "y" * 1000]) > 2000
True
>>> class Blob:
...     def __init__(self, n):
...         self.data = bytes(n)
>>> @sizeof.register(Blob)
... def _(blob):
...     return sizeof(blob.data)
>>> sizeof(Blob(10_000)) > 10_000
True
"""
__test__ = {"sizeof": sizeof.__doc__}  # run its examples as doctests

_active = threading.local()


def _guard(func: Callable[[Any], int]) -> Callable[[Any], int]:
    """Count a container once when it contains itself (a cycle adds 0)."""

    def wrapper(obj: Any) -> int:
        seen = _active.__dict__.setdefault("ids", set())
        key = id(obj)
        if key in seen:
            return 0
        seen.add(key)
        try:
            return func(obj)
        finally:
            seen.discard(key)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def _extrapolate(sample: Iterable[Any], sampled: int, total: int) -> int:
    """Sum of ``sizeof`` over ``sample`` (``sampled`` items), scaled to ``total`` items."""
    measured = sum(map(sizeof, sample))
    return measured if sampled >= total else int(measured * total / max(sampled, 1))


def _sample_indices(n: int, count: int) -> list[int]:
    """``count`` sorted positions in ``range(n)``, one per equal stratum at a pseudo-random
    offset: a periodic sequence cannot fool it, and the same ``n`` gives the same sample."""
    step, state, indices = n / count, n, []
    for i in range(count):
        state = (state * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        indices.append(min(n - 1, int((i + (state >> 11) / 2**53) * step)))
    return indices


@sizeof.register(object)
def _sizeof_default(obj: Any) -> int:
    return sys.getsizeof(obj)


@sizeof.register((list, tuple))
@_guard
def _sizeof_sequence(obj: list | tuple) -> int:
    n = len(obj)
    sample = obj if n <= _SAMPLE else [obj[i] for i in _sample_indices(n, _SAMPLE)]
    return sys.getsizeof(obj) + _extrapolate(sample, len(sample), n)


@sizeof.register((set, frozenset))
@_guard
def _sizeof_set(obj: set | frozenset) -> int:
    n = len(obj)
    return sys.getsizeof(obj) + _extrapolate(itertools.islice(obj, _SAMPLE), min(n, _SAMPLE), n)


@sizeof.register(dict)
@_guard
def _sizeof_dict(obj: dict) -> int:
    n = len(obj)
    sample = itertools.chain.from_iterable(itertools.islice(obj.items(), _SAMPLE))
    return sys.getsizeof(obj) + _extrapolate(sample, min(n, _SAMPLE), n)


@sizeof.register(memoryview)
def _sizeof_memoryview(obj: memoryview) -> int:
    return obj.nbytes


# -- NumPy ------------------------------------------------------------------------------
@sizeof.register_lazy("numpy")
def _register_numpy() -> None:
    import numpy as np

    @sizeof.register(np.ndarray)
    def sizeof_ndarray(x: np.ndarray) -> int:
        # A zero stride repeats memory: count each byte the view can reach once.
        repeated = x.size and any(s == 0 and n > 1 for n, s in zip(x.shape, x.strides))
        if repeated:
            shape = [n for n, s in zip(x.shape, x.strides) if s != 0]
            nbytes = x.itemsize * math.prod(shape)
        else:
            nbytes = x.nbytes
        if x.dtype.hasobject and x.size:
            nbytes += sizeof_objects(x)
        return int(nbytes)

    def sizeof_objects(x: np.ndarray) -> int:
        """Size of the Python objects an object (or StringDType) array points to."""
        n = x.size
        if n <= _OBJECT_SAMPLE:
            sample = x.ravel()
        else:
            sample = x.flat[_sample_indices(n, _OBJECT_SAMPLE)]
        if x.dtype.kind == "T":  # variable-width strings live outside the 16-byte slots
            lengths = [len(s.encode("utf-8", "surrogatepass")) for s in sample.tolist()]
            return int(sum(n for n in lengths if n > 15) * n / len(lengths))
        return _extrapolate(sample.tolist(), len(sample), n)


# -- pandas -----------------------------------------------------------------------------
@sizeof.register_lazy("pandas")
def _register_pandas() -> None:
    import numpy as np
    import pandas as pd

    def sizeof_values(arr: Any) -> int:
        """Size of the values behind an Index or Series: ndarray or ExtensionArray."""
        if isinstance(arr, np.ndarray):
            return sizeof(arr)
        if isinstance(arr, pd.Categorical):
            return int(arr.codes.nbytes) + sizeof_index(arr.categories)
        ndarray = getattr(arr, "_ndarray", None)  # numpy-backed, e.g. python strings
        if isinstance(ndarray, np.ndarray):
            return sizeof(ndarray)
        return int(arr.nbytes)

    @sizeof.register(pd.Index)
    def sizeof_index(idx: pd.Index) -> int:
        if isinstance(idx, pd.MultiIndex):
            levels = sum(sizeof_index(level) for level in idx.levels)
            return levels + sum(int(codes.nbytes) for codes in idx.codes) + _INDEX_OVERHEAD
        if isinstance(idx, pd.RangeIndex):
            return _INDEX_OVERHEAD
        return sizeof_values(idx.array) + _INDEX_OVERHEAD

    @sizeof.register(pd.Series)
    def sizeof_series(s: pd.Series) -> int:
        return sizeof_values(s.array) + sizeof_index(s.index) + _SERIES_OVERHEAD

    @sizeof.register(pd.DataFrame)
    def sizeof_frame(df: pd.DataFrame) -> int:
        columns = sum(sizeof_values(column.array) for _, column in df.items())
        return columns + sizeof_index(df.index) + sizeof_index(df.columns) + _FRAME_OVERHEAD

    sizeof.register(pd.api.extensions.ExtensionArray, sizeof_values)

"""Element-wise maths: ``elemwise``, NumPy's ufuncs on plait arrays, and ``da.sin``-style
wrappers for every ufunc.

``np.sin(x)`` on a plait array lands in :func:`array_ufunc` (NumPy's
``__array_ufunc__`` protocol) and returns a plait array; so do operators. Inputs are
broadcast as in NumPy and their chunks aligned first.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from .blockwise import blockwise, infer_dtype
from .core import Array, from_array

__all__ = ["elemwise", "array_ufunc", "wrap_ufunc", "UFUNC_NAMES"]


def _as_operand(x: Any) -> Any:
    """Arrays stay; NumPy arrays become one-block plait arrays; scalars stay literals."""
    if isinstance(x, Array):
        return x
    if isinstance(x, np.ndarray) and x.ndim > 0:
        return from_array(x, chunks=x.shape)
    if isinstance(x, (list, tuple)):
        arr = np.asarray(x)
        return from_array(arr, chunks=arr.shape) if arr.ndim else arr[()]
    return x


def elemwise(op: Callable, *args: Any, dtype: Any = None, name: str | None = None,
             **kwargs: Any) -> Array:
    """``op`` applied element by element, with NumPy broadcasting.

    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(6).reshape(2, 3), chunks=(1, 2))
    >>> elemwise(np.add, x, np.array([10, 20, 30])).compute()
    array([[10, 21, 32],
           [13, 24, 35]])
    """
    operands = [_as_operand(a) for a in args]
    arrays = [a for a in operands if isinstance(a, Array)]
    if not arrays:
        raise TypeError("elemwise needs at least one plait array")
    try:
        shape = np.broadcast_shapes(*[a.shape for a in arrays])
    except ValueError:
        raise ValueError(
            "operands could not be broadcast together with shapes "
            + " ".join(str(a.shape) for a in arrays)
            + "; NumPy's broadcasting rules apply: trailing axes must be equal or 1"
        ) from None
    ndim = len(shape)
    pairs: list = []
    for a in operands:
        if isinstance(a, Array):
            pairs += [a, tuple(range(ndim - a.ndim, ndim))]
        else:
            pairs += [a, None]
    if dtype is None:
        dtype = infer_dtype(op, operands, kwargs)
    return blockwise(op, tuple(range(ndim)), *pairs, dtype=dtype, name=name,
                     token=_name(op), **kwargs)


def _name(op: Callable) -> str:
    return getattr(op, "__name__", type(op).__name__).strip("_")


class _Output:
    """The i-th output of a multi-output ufunc (``np.divmod`` ...)."""

    __slots__ = ("ufunc", "i")

    def __init__(self, ufunc: np.ufunc, i: int):
        self.ufunc = ufunc
        self.i = i

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.ufunc(*args, **kwargs)[self.i]

    def __reduce__(self):
        return (_Output, (self.ufunc, self.i))

    @property
    def __name__(self) -> str:
        return self.ufunc.__name__


_REDUCE_AS = {
    "add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
    "logical_and": "all", "logical_or": "any",
}
_ACCUMULATE_AS = {"add": "cumsum", "multiply": "cumprod"}


def array_ufunc(ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
    """NumPy's ``__array_ufunc__`` for plait arrays."""
    out = kwargs.pop("out", None)
    if out is not None:
        return NotImplemented  # NumPy then says in-place output is not supported
    if method == "__call__" and ufunc.signature is not None:
        # Generalised ufuncs (np.matmul, np.vecdot ...) work on core dimensions.
        if ufunc is np.matmul:
            from .linalg import matmul

            return matmul(*inputs, **kwargs)
        from .gufunc import apply_gufunc

        return apply_gufunc(ufunc, ufunc.signature, *inputs, **kwargs)
    if method == "__call__":
        if ufunc.nout == 1:
            return elemwise(ufunc, *inputs, **kwargs)
        return tuple(elemwise(_Output(ufunc, i), *inputs, **kwargs) for i in range(ufunc.nout))
    if method == "reduce" and ufunc.__name__ in _REDUCE_AS:
        from . import reductions

        kwargs.setdefault("axis", 0)  # NumPy's ufunc.reduce default, unlike x.sum()
        return getattr(reductions, _REDUCE_AS[ufunc.__name__])(*inputs, **kwargs)
    if method == "accumulate" and ufunc.__name__ in _ACCUMULATE_AS:
        from . import reductions

        kwargs.setdefault("axis", 0)
        return getattr(reductions, _ACCUMULATE_AS[ufunc.__name__])(*inputs, **kwargs)
    return NotImplemented


def wrap_ufunc(ufunc: np.ufunc) -> Callable:
    """``da.<name>``: the ufunc on plait arrays (plain NumPy for other inputs)."""

    @functools.wraps(ufunc)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if any(isinstance(a, Array) for a in args):
            return array_ufunc(ufunc, "__call__", *args, **kwargs)
        return ufunc(*args, **kwargs)

    return wrapped


UFUNC_NAMES = sorted(
    name for name in dir(np)
    if isinstance(getattr(np, name), np.ufunc) and getattr(np, name).signature is None
)
for _name_ in UFUNC_NAMES:
    globals()[_name_] = wrap_ufunc(getattr(np, _name_))
__all__ += UFUNC_NAMES
del _name_

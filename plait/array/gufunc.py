"""Generalized ufuncs on plait arrays: ``apply_gufunc``, the ``gufunc`` wrapper and the
``as_gufunc`` decorator.

A signature such as ``"(i),(i)->()"`` names each operand's core dimensions (the last
axes, unless ``axes=``/``axis=`` say otherwise); every other axis is a loop dimension,
broadcast across operands as in NumPy. The function sees whole core dimensions, so each
must be one block: plait rechunks them only when ``allow_rechunk=True``, because one
block along a long axis may be far larger than the blocks asked for.
"""

from __future__ import annotations

import itertools
import operator
import re
from typing import Any, Callable

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from ..graph import Ref, Task
from .blockwise import blockwise
from .core import Array, asarray, new_name
from .routines import expand_dims, moveaxis

__all__ = ["apply_gufunc", "gufunc", "as_gufunc"]

_DIMS = r"\(\s*(?:\w+\s*(?:,\s*\w+\s*)*)?\)"
_ARGS = rf"{_DIMS}(?:\s*,\s*{_DIMS})*"
_SIGNATURE = re.compile(rf"^\s*(?:{_ARGS})?\s*->\s*{_ARGS}\s*$")


def parse_signature(signature: str) -> tuple[list[tuple], list[tuple]]:
    """Core dimension names of the inputs and of the outputs.

    >>> parse_signature("(i,j),(j)->(i),()")
    ([('i', 'j'), ('j',)], [('i',), ()])
    """
    if not isinstance(signature, str) or not _SIGNATURE.match(signature):
        raise ValueError(f"not a gufunc signature: {signature!r}; write the core "
                         "dimensions of each input and output, e.g. '(i,j),(j)->(i)' or "
                         "'(i)->(),()' for two outputs")
    ins, outs = signature.split("->")

    def groups(text: str) -> list[tuple]:
        return [tuple(d.strip() for d in g.split(",") if d.strip())
                for g in re.findall(r"\(([^()]*)\)", text)]

    return groups(ins), groups(outs)


class _CallWith:
    """``func(*blocks, **kwargs)``: keeps the user's keywords apart from blockwise's."""

    __slots__ = ("func", "kwargs")

    def __init__(self, func: Callable, kwargs: dict):
        self.func = func
        self.kwargs = kwargs

    def __call__(self, *blocks: Any) -> Any:
        return self.func(*blocks, **self.kwargs)

    def __reduce__(self):
        return (_CallWith, (self.func, self.kwargs))

    @property
    def __name__(self) -> str:
        return getattr(self.func, "__name__", "apply-gufunc")


def _operand_axes(axes: Any, axis: Any, keepdims: bool, in_sigs: list,
                  out_sigs: list) -> tuple[list, list]:
    """Per operand, the axes holding its core dimensions (None: the last ones)."""
    nin = len(in_sigs)
    if axis is not None and axes is not None:
        raise ValueError("give one of axis= and axes=, not both")
    if axis is not None:
        if any(len(s) != 1 for s in in_sigs) or any(len(s) > 1 for s in out_sigs):
            raise ValueError("axis= is for gufuncs over one shared core dimension, such as "
                             "'(i)->()' or '(i),(i)->(i)'; use axes= for this signature")
        in_axes = [(axis,)] * nin
        out_axes = [(axis,) if (s or keepdims) else () for s in out_sigs]
        return in_axes, out_axes
    if axes is None:
        return [None] * nin, [None] * len(out_sigs)
    axes = [(a,) if isinstance(a, (int, np.integer)) else tuple(a) for a in axes]
    if len(axes) == nin and all(not s for s in out_sigs):
        axes += [axes[0] if keepdims else ()] * len(out_sigs)
    if len(axes) != nin + len(out_sigs):
        raise ValueError(f"axes={axes} gives {len(axes)} entries; the signature has {nin} "
                         f"input(s) and {len(out_sigs)} output(s), so give one per operand "
                         "(the outputs may be left out when they have no core dimensions)")
    return axes[:nin], axes[nin:]


def apply_gufunc(func: Callable, signature: str, *args: Any, axes: Any = None,
                 axis: Any = None, keepdims: bool = False, output_dtypes: Any = None,
                 output_sizes: dict | None = None, vectorize: bool | None = None,
                 allow_rechunk: bool = False, meta: Any = None, **kwargs: Any) -> Any:
    """Apply ``func``, a function with a gufunc ``signature``, over plait arrays.

    Parameters
    ----------
    func : callable
        Called once per block with NumPy arrays whose core dimensions are whole and
        come last; returns one array, or a tuple for several outputs.
    signature : str
        Core dimensions of the inputs and outputs, e.g. ``"(i),(i)->()"``.
    *args : array_like
        The inputs; their loop dimensions broadcast as in NumPy.
    axes, axis, keepdims
        Where the core dimensions are, and whether reduced ones stay with length 1,
        as for NumPy's gufuncs.
    output_dtypes : dtype or sequence of dtypes, optional
        Inferred by calling ``func`` on length-1 samples when not given.
    output_sizes : dict, optional
        Lengths of output core dimensions that no input has.
    vectorize : bool, optional
        Wrap ``func``, a function of single core cells, in ``np.vectorize``.
    allow_rechunk : bool
        Rechunk split core dimensions into one block instead of raising.
    **kwargs
        Passed to ``func``.

    Returns
    -------
    Array, or a tuple of Arrays for several outputs.

    Examples
    --------
    >>> import numpy as np, plait.array as da
    >>> x = da.from_array(np.arange(12.0).reshape(3, 4), chunks=(2, 4))
    >>> apply_gufunc(lambda b: b.mean(axis=-1), "(i)->()", x).compute()
    array([1.5, 5.5, 9.5])
    >>> lo, hi = apply_gufunc(lambda b: (b.min(-1), b.max(-1)), "(i)->(),()", x)
    >>> hi.compute()
    array([ 3.,  7., 11.])
    """
    in_sigs, out_sigs = parse_signature(signature)
    nin, nout = len(in_sigs), len(out_sigs)
    if len(args) != nin:
        raise ValueError(f"signature {signature!r} takes {nin} input(s), got {len(args)}")
    if keepdims and (len({len(s) for s in in_sigs}) != 1 or any(out_sigs)):
        raise ValueError("keepdims=True needs inputs with the same number of core "
                         f"dimensions and outputs without any, like '(i),(i)->()'; got "
                         f"{signature!r}")
    if output_dtypes is not None:
        output_dtypes = [np.dtype(d) for d in (output_dtypes if isinstance(
            output_dtypes, (list, tuple)) else [output_dtypes])]
        if len(output_dtypes) != nout:
            raise ValueError(f"output_dtypes lists {len(output_dtypes)} dtype(s) for "
                             f"{nout} output(s) of {signature!r}")
    elif meta is not None:
        metas = meta if isinstance(meta, (list, tuple)) else [meta]
        output_dtypes = [np.asarray(m).dtype for m in metas]
    if vectorize:
        func = np.vectorize(func, signature=signature, otypes=output_dtypes)
    in_axes, out_axes = _operand_axes(axes, axis, keepdims, in_sigs, out_sigs)
    arrays, sizes = [], {}
    for i, (x, sig, ax) in enumerate(zip(args, in_sigs, in_axes)):
        x = asarray(x)
        if x.ndim < len(sig):
            raise ValueError(f"input {i} has {x.ndim} dimension(s) but its core dimensions "
                             f"{sig} in {signature!r} need at least {len(sig)}")
        if ax is not None and len(ax) != len(sig):
            raise ValueError(f"axes entry {ax} for input {i} names {len(ax)} axes; its core "
                             f"dimensions {sig} need {len(sig)}")
        core = tuple(range(x.ndim - len(sig), x.ndim)) if ax is None else \
            normalize_axis_tuple(ax, x.ndim)
        for dim, a in zip(sig, core):
            if sizes.setdefault(dim, x.shape[a]) != x.shape[a]:
                raise ValueError(f"core dimension {dim!r} has length {sizes[dim]} in one "
                                 f"input and {x.shape[a]} in input {i} ({signature!r})")
        split = [(dim, a) for dim, a in zip(sig, core) if x.numblocks[a] > 1]
        if split and not allow_rechunk:
            dim, a = split[0]
            raise ValueError(
                f"core dimension {dim!r} (axis {a} of input {i}) is split into chunks "
                f"{x.chunks[a]}; apply_gufunc needs each core dimension in one chunk: "
                f"rechunk it first (x.rechunk({{{a}: -1}})), or pass allow_rechunk=True "
                "(one chunk may use much more memory)")
        if split:
            x = x.rechunk({a: -1 for _, a in split})
        arrays.append(moveaxis(x, core, tuple(range(x.ndim - len(sig), x.ndim))))
    loop_shapes = [x.shape[:x.ndim - len(s)] for x, s in zip(arrays, in_sigs)]
    try:
        loop = np.broadcast_shapes(*loop_shapes)
    except ValueError:
        raise ValueError(f"the loop dimensions {loop_shapes} of the inputs (axes outside the "
                         f"core dimensions of {signature!r}) do not broadcast") from None
    new_axes = {}
    for dim in dict.fromkeys(d for s in out_sigs for d in s):
        if dim not in sizes:
            if not output_sizes or dim not in output_sizes:
                raise ValueError(f"output core dimension {dim!r} of {signature!r} is in no "
                                 f"input: give its length, output_sizes={{{dim!r}: n}}")
            new_axes[dim] = output_sizes[dim]
    if output_dtypes is None:
        output_dtypes = _infer_dtypes(func, arrays, in_sigs, nout, kwargs)
    loop_ind = tuple(range(len(loop)))
    pairs: list = []
    for x, sig in zip(arrays, in_sigs):
        pairs += [x, loop_ind[len(loop) - (x.ndim - len(sig)):] + sig]
    call = _CallWith(func, kwargs)
    if nout == 1:
        outs = [blockwise(call, loop_ind + out_sigs[0], *pairs, new_axes=new_axes,
                          concatenate=True, dtype=output_dtypes[0], token="apply-gufunc")]
    else:
        both = blockwise(call, loop_ind, *pairs, concatenate=True, dtype=object,
                         token="apply-gufunc")
        outs = [_pick(both, i, tuple((sizes.get(d) or new_axes[d],) for d in sig), dt)
                for i, (sig, dt) in enumerate(zip(out_sigs, output_dtypes))]
    ncore = len(in_sigs[0]) if keepdims else 0
    for i, (sig, ax) in enumerate(zip(out_sigs, out_axes)):
        out = outs[i]
        if keepdims:
            out = expand_dims(out, tuple(range(out.ndim, out.ndim + ncore)))
        n = len(sig) or ncore
        if ax is not None and n:
            ax = normalize_axis_tuple(ax, out.ndim)
            out = moveaxis(out, tuple(range(out.ndim - n, out.ndim)), ax)
        outs[i] = out
    return outs[0] if nout == 1 else tuple(outs)


def _pick(both: Array, i: int, core_chunks: tuple, dtype: Any) -> Array:
    """Output ``i`` of a block-wise call that returns a tuple per block."""
    name = new_name("apply-gufunc-out")
    zeros = (0,) * len(core_chunks)
    layer = {}
    for idx in itertools.product(*[range(n) for n in both.numblocks]):
        key = (name,) + idx + zeros
        layer[key] = Task(key, operator.getitem, Ref((both.name,) + idx), i)
    return Array(layer, name, both.chunks + core_chunks, dtype, (both,))


def _infer_dtypes(func: Callable, arrays: list, in_sigs: list, nout: int,
                  kwargs: dict) -> list:
    """Output dtypes from calling ``func`` on length-1 samples of the inputs."""
    samples = [np.ones((1,) * x.ndim, dtype=x.dtype) for x in arrays]
    try:
        with np.errstate(all="ignore"):
            result = func(*samples, **kwargs)
    except Exception as e:
        raise ValueError(f"could not infer the output dtype(s) by calling the function on "
                         f"length-1 samples ({type(e).__name__}: {e}); pass "
                         "output_dtypes=") from e
    results = result if nout > 1 else (result,)
    if nout > 1 and (not isinstance(result, tuple) or len(result) != nout):
        raise ValueError(f"the signature has {nout} outputs but the function returned "
                         f"{type(result).__name__}; return a tuple of {nout} arrays")
    return [np.asarray(r).dtype for r in results]


class gufunc:
    """A function with a gufunc signature, callable on plait arrays.

    >>> import numpy as np, plait.array as da
    >>> norm = gufunc(np.linalg.norm, signature="(i)->()", vectorize=True)
    >>> x = da.from_array(np.array([[3.0, 4.0], [6.0, 8.0]]), chunks=(1, 2))
    >>> norm(x).compute()
    array([ 5., 10.])
    """

    def __init__(self, pyfunc: Callable, *, signature: str | None = None,
                 vectorize: bool = False, axes: Any = None, axis: Any = None,
                 keepdims: bool = False, output_sizes: dict | None = None,
                 output_dtypes: Any = None, allow_rechunk: bool = False, meta: Any = None):
        if signature is None:
            raise ValueError("gufunc needs signature=, e.g. gufunc(f, signature='(i)->()')")
        parse_signature(signature)
        self.pyfunc = pyfunc
        self.signature = signature
        self.vectorize = vectorize
        self.axes = axes
        self.axis = axis
        self.keepdims = keepdims
        self.output_sizes = output_sizes
        self.output_dtypes = output_dtypes
        self.allow_rechunk = allow_rechunk
        self.meta = meta
        self.__doc__ = f"{getattr(pyfunc, '__name__', 'gufunc')} {signature}\n\n" + (
            getattr(pyfunc, "__doc__", None) or "")

    def __repr__(self) -> str:
        return f"<gufunc {getattr(self.pyfunc, '__name__', self.pyfunc)} {self.signature}>"

    def __call__(self, *args: Any, allow_rechunk: bool = False, **kwargs: Any) -> Any:
        return apply_gufunc(self.pyfunc, self.signature, *args, vectorize=self.vectorize,
                            axes=self.axes, axis=self.axis, keepdims=self.keepdims,
                            output_sizes=self.output_sizes, output_dtypes=self.output_dtypes,
                            allow_rechunk=allow_rechunk or self.allow_rechunk,
                            meta=self.meta, **kwargs)


def as_gufunc(signature: str | None = None, **kwargs: Any) -> Callable[[Callable], gufunc]:
    """Decorator: make a function a :class:`gufunc` with ``signature``.

    >>> import numpy as np, plait.array as da
    >>> @as_gufunc("(i)->(),()", output_dtypes=(float, float))
    ... def stats(b):
    ...     return b.mean(axis=-1), b.std(axis=-1)
    >>> mean, std = stats(da.from_array(np.arange(6.0).reshape(2, 3), chunks=(1, 3)))
    >>> mean.compute()
    array([1., 4.])
    """
    unknown = set(kwargs) - {"vectorize", "axes", "axis", "keepdims", "output_sizes",
                             "output_dtypes", "allow_rechunk", "meta"}
    if unknown:
        raise TypeError(f"as_gufunc got unknown keyword(s) {sorted(unknown)}")

    def wrap(pyfunc: Callable) -> gufunc:
        return gufunc(pyfunc, signature=signature, **kwargs)

    return wrap

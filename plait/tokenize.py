"""Deterministic content hashing: equal values get equal tokens, in every process.

Graph keys are ``name-<token>``: a client, a scheduler and its workers compute them
independently and must agree, and a collection rebuilt from the same inputs must find
its persisted results. So a token depends on content only, never on an address
(``id``) nor on ``hash()`` of a str, which Python salts per process (PYTHONHASHSEED).

:func:`tokenize` normalizes its arguments into a tree of plain values (str, bytes, int,
float, complex, bool, None, tuples) whose ``repr`` is hashed with MD5 (a checksum, not
security). :data:`normalize_token` picks how: ``__plait_tokenize__()`` first, else the
handler registered for the type or its nearest base. Large buffers are hashed while
normalizing, with xxhash when installed, else SHA-1 (the fastest in hashlib on CPUs
with SHA extensions); tokens agree between processes that make the same choice.
Handlers for NumPy and pandas are registered lazily, the first time one of their
objects is seen, so ``import plait.tokenize`` imports neither.

Other objects are normalized from what pickle would save (``__reduce_ex__``), else from
their cloudpickle bytes if two dumps agree; failing that the token is a random UUID,
which never collides but differs on every call (``ensure_deterministic=True`` raises
:class:`TokenizationError` instead). A container that contains itself is fine: the
cycle becomes a marker naming its depth.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import hashlib
import operator
import os
import pathlib
import sys
import threading
import types
import uuid
from collections import OrderedDict, defaultdict
from typing import Any, Callable

from plait.utils.dispatch import Dispatch

__all__ = ["TokenizationError", "normalize_token", "tokenize"]

try:
    import xxhash

    _hasher: Callable[..., Any] = xxhash.xxh3_128
except ImportError:  # pragma: no cover - depends on the environment
    _hasher = functools.partial(hashlib.sha1, usedforsecurity=False)

_INLINE = 1024  # str and bytes longer than this are hashed rather than kept whole
_BIG_INT = 1 << 8192  # repr() of larger ints is slow, or refused (sys.set_int_max_str_digits)
_first = operator.itemgetter(0)


class TokenizationError(RuntimeError):
    """An object has no deterministic token and ``ensure_deterministic`` was set."""


class _State(threading.local):
    def __init__(self) -> None:
        self.seen: dict[int, int] = {}  # id -> depth, for the containers being walked
        self.strict = False


_state = _State()


def _hash_buffer(buf: Any) -> str:
    return _hasher(buf).hexdigest()


def tokenize(*args: Any, ensure_deterministic: bool | None = None, **kwargs: Any) -> str:
    """Return a deterministic 32-character hex token of the arguments.

    Parameters
    ----------
    *args, **kwargs
        The values to hash; the order of ``kwargs`` does not matter.
    ensure_deterministic : bool, optional
        Raise :class:`TokenizationError` rather than fall back to a random token for
        an object that cannot be hashed deterministically. Default: inherited from an
        enclosing call, else False.

    Examples
    --------
    >>> tokenize(1, "a") == tokenize(1, "a")
    True
    >>> tokenize([1, 2]) == tokenize((1, 2))
    False
    >>> tokenize(a=1, b=2) == tokenize(b=2, a=1)
    True
    >>> len(tokenize({"x": 1.5}))
    32
    """
    seen, strict = _state.seen, _state.strict
    _state.seen = {}
    if ensure_deterministic is not None:
        _state.strict = ensure_deterministic
    try:
        tree: Any = tuple([normalize_token(a) for a in args])
        if kwargs:
            tree = (tree, _normalize_dict(kwargs))
    except RecursionError:
        tree = _nondeterministic("arguments nested too deeply")
    finally:
        _state.seen, _state.strict = seen, strict
    data = repr(tree).encode("utf-8", "surrogatepass")
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class _TokenDispatch(Dispatch):
    """Dispatch with ``__plait_tokenize__`` and Enum checked before the type's MRO."""

    def _resolve(self, cls: type) -> Callable[[Any], Any]:
        if getattr(cls, "__plait_tokenize__", None) is not None:
            return _normalize_plait_tokenize
        if issubclass(cls, enum.Enum):
            return _normalize_enum
        owner, handler = self._find(cls)
        if owner is not cls and owner in _SUBCLASSABLE:
            # A subclass of a builtin value type: keep its type, hash its base value.
            tag = normalize_token(cls)
            return lambda obj: ("subclass", tag, handler(owner(obj)))
        return handler


normalize_token = _TokenDispatch("normalize_token")
normalize_token.__doc__ = """Normalize an object into plain values for :func:`tokenize`.

Register a handler with ``normalize_token.register(MyType)`` (usable as a decorator);
it must return str, bytes, int, float, complex, bool, None or tuples of those,
calling ``normalize_token`` on the parts it contains.

Examples
--------
>>> normalize_token([1, "a"])
('list', 1, 'a')
>>> class Point:
...     def __init__(self, x, y):
...         self.x, self.y = x, y
>>> @normalize_token.register(Point)
... def _(p):
...     return ("Point", p.x, p.y)
>>> tokenize(Point(1, 2)) == tokenize(Point(1, 2)) != tokenize(Point(2, 1))
True
"""

__test__ = {"normalize_token": normalize_token.__doc__}  # run its examples as doctests


def _track_cycles(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Make ``func`` return a depth marker for an object it is already walking."""

    @functools.wraps(func)
    def wrapper(obj: Any) -> Any:
        seen = _state.seen
        key = id(obj)
        depth = seen.get(key)
        if depth is not None:
            return ("cycle", depth)
        seen[key] = len(seen)
        try:
            return func(obj)
        finally:
            del seen[key]

    return wrapper


def _nondeterministic(what: Any) -> tuple[str, str]:
    if _state.strict:
        raise TokenizationError(
            f"cannot tokenize {what!r} deterministically: give its type a "
            "__plait_tokenize__ method, or register it with normalize_token.register"
        )
    return ("random", uuid.uuid4().hex)


def _resolves(module: Any, qualname: Any, obj: Any) -> bool:
    """Whether ``module.qualname`` names ``obj`` (in an already imported module)."""
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return False
    target: Any = sys.modules.get(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            return False
    return target is obj


# -- builtin values ---------------------------------------------------------------------
_register = normalize_token.register
_register((type(None), bool, float, complex), lambda obj: obj)
_register(type(Ellipsis), lambda obj: ("Ellipsis",))
_register(type(NotImplemented), lambda obj: ("NotImplemented",))
_register(int, lambda obj: obj if -_BIG_INT < obj < _BIG_INT else ("int", _hash_buffer(
    obj.to_bytes(obj.bit_length() // 8 + 1, "little", signed=True))))  # fmt: skip
_register(str, lambda obj: obj if len(obj) <= _INLINE else (
    "str", len(obj), _hash_buffer(obj.encode("utf-8", "surrogatepass"))))  # fmt: skip
_register(bytes, lambda obj: obj if len(obj) <= _INLINE else ("bytes", len(obj), _hash_buffer(obj)))
_register(bytearray, lambda obj: ("bytearray", normalize_token(bytes(obj))))
_register(memoryview, lambda obj: ("memoryview", obj.format, obj.shape, _hash_buffer(
    obj.cast("B") if obj.c_contiguous else obj.tobytes())))  # fmt: skip

_PLAIN = frozenset({str, int, float, bool, type(None)})


def _plain_digest(seq: list | tuple) -> str | None:
    """Hash of a long sequence of plain values, by its repr: far cheaper than a walk."""
    if len(seq) < 64 or not all(map(_PLAIN.__contains__, map(type, seq))):
        return None
    try:
        return _hash_buffer(repr(seq).encode("utf-8", "surrogatepass"))
    except ValueError:  # an int too long for repr
        return None


@_register(tuple)
def _normalize_tuple(obj: tuple) -> Any:
    if (digest := _plain_digest(obj)) is not None:
        return ("tuple-plain", len(obj), digest)
    return ("tuple", *[normalize_token(x) for x in obj])


@_register(list)
@_track_cycles
def _normalize_list(obj: list) -> Any:
    if (digest := _plain_digest(obj)) is not None:
        return ("list-plain", len(obj), digest)
    return ("list", *[normalize_token(x) for x in obj])


def _normalize_items(items: Any) -> tuple:
    # Keys are sorted by the repr of their normalized form: a total, seed-free order.
    pairs = [(repr(normalize_token(k)), normalize_token(v)) for k, v in items]
    pairs.sort(key=_first)
    return tuple(pairs)


_normalize_dict = _track_cycles(lambda obj: ("dict", _normalize_items(obj.items())))
_register(dict, _normalize_dict)
_register(OrderedDict, _track_cycles(lambda obj: (  # unlike dict, its order matters
    "OrderedDict", tuple((normalize_token(k), normalize_token(v)) for k, v in obj.items()))))
_register(defaultdict, _track_cycles(lambda obj: (
    "defaultdict", normalize_token(obj.default_factory), _normalize_items(obj.items()))))
_register((set, frozenset), _track_cycles(lambda obj: (
    type(obj).__name__, tuple(sorted(repr(normalize_token(x)) for x in obj)))))  # fmt: skip
_SUBCLASSABLE = (int, float, complex, str, bytes, bytearray, list, tuple, dict, set, frozenset)

_register(slice, lambda obj: ("slice", *map(normalize_token, (obj.start, obj.stop, obj.step))))
_register(range, lambda obj: ("range", obj.start, obj.stop, obj.step))
_register(decimal.Decimal, lambda obj: ("Decimal", str(obj)))
_register(fractions.Fraction, lambda obj: ("Fraction", obj.numerator, obj.denominator))
_register(pathlib.PurePath, lambda obj: ("path", type(obj).__name__, str(obj)))
_register(uuid.UUID, lambda obj: ("UUID", obj.hex))
_register(types.ModuleType, lambda obj: ("module", obj.__name__))
_register(datetime.date, lambda obj: ("date", obj.isoformat()))
_register(datetime.timedelta, lambda obj: ("timedelta", obj.days, obj.seconds, obj.microseconds))
_register((datetime.datetime, datetime.time), lambda obj: (
    type(obj).__name__, obj.isoformat(), obj.fold, normalize_token(obj.tzinfo)))  # fmt: skip


def _normalize_enum(obj: enum.Enum) -> Any:
    return ("enum", normalize_token(type(obj)), obj.name, normalize_token(obj.value))


@_track_cycles
def _normalize_plait_tokenize(obj: Any) -> Any:
    return ("plait", normalize_token(type(obj)), normalize_token(obj.__plait_tokenize__()))


# -- types and callables ----------------------------------------------------------------
@_register(type)
def _normalize_type(obj: type) -> Any:
    if _resolves(obj.__module__, obj.__qualname__, obj):
        return ("type", obj.__module__, obj.__qualname__)
    # A class defined in a function: cloudpickle saves it by value (stable per process).
    return ("local-type", obj.__module__, obj.__qualname__, _normalize_pickled(obj))


@_register(types.CodeType)
def _normalize_code(co: types.CodeType) -> Any:
    # Names and line numbers are left out: moving a lambda keeps its token.
    consts = tuple([normalize_token(c) for c in co.co_consts])
    return (
        "code", co.co_code, consts, co.co_names, co.co_varnames, co.co_freevars,
        co.co_cellvars, co.co_argcount, co.co_posonlyargcount, co.co_kwonlyargcount, co.co_flags,
    )  # fmt: skip


def _cell_contents(cell: types.CellType) -> Any:
    try:
        return normalize_token(cell.cell_contents)
    except ValueError:  # an empty cell: the variable is not assigned yet
        return ("empty-cell",)


@_register(types.FunctionType)
@_track_cycles
def _normalize_function(obj: types.FunctionType) -> Any:
    if _resolves(obj.__module__, obj.__qualname__, obj):
        return ("function", obj.__module__, obj.__qualname__)
    # A lambda, closure or local function: hashed by what it does.
    code = obj.__code__
    module_values = tuple(
        (name, normalize_token(value))
        for name in code.co_names
        if type(value := obj.__globals__.get(name)) in _PLAIN
    )
    closure = tuple(_cell_contents(c) for c in obj.__closure__ or ())
    defaults = normalize_token(obj.__defaults__), normalize_token(obj.__kwdefaults__)
    return ("function", _normalize_code(code), defaults, closure, module_values)


_register(types.MethodType, _track_cycles(lambda obj: (
    "method", normalize_token(obj.__func__), normalize_token(obj.__self__))))  # fmt: skip
_register(functools.partial, _track_cycles(lambda obj: (
    "partial", *map(normalize_token, (obj.func, obj.args, obj.keywords)))))  # fmt: skip


@_register(types.BuiltinFunctionType)
def _normalize_builtin(obj: types.BuiltinFunctionType) -> Any:
    owner = obj.__self__
    if owner is None or isinstance(owner, types.ModuleType):
        return ("builtin", obj.__module__ or getattr(owner, "__name__", None), obj.__qualname__)
    return ("builtin-method", obj.__name__, normalize_token(owner))


@_register(
    (types.MethodWrapperType, types.WrapperDescriptorType, types.MethodDescriptorType,
     types.ClassMethodDescriptorType, types.GetSetDescriptorType, types.MemberDescriptorType)
)  # fmt: skip
def _normalize_descriptor(obj: Any) -> Any:
    owner = obj.__self__ if isinstance(obj, types.MethodWrapperType) else obj.__objclass__
    return ("descriptor", type(obj).__name__, obj.__name__, normalize_token(owner))


# -- anything else ----------------------------------------------------------------------
@_register(object)
@_track_cycles
def _normalize_object(obj: Any) -> Any:
    cls = type(obj)
    if cls is object:  # a sentinel: its identity is all it has
        return _nondeterministic(obj)
    if dataclasses.is_dataclass(cls):
        fields = tuple(
            (f.name, normalize_token(getattr(obj, f.name, None))) for f in dataclasses.fields(obj)
        )
        return ("dataclass", normalize_token(cls), fields)
    if _resolves(getattr(obj, "__module__", None), getattr(obj, "__qualname__", None), obj):
        return ("named", obj.__module__, obj.__qualname__)  # e.g. numpy.sum, a C callable
    try:
        reduced = obj.__reduce_ex__(5)
    except Exception:
        reduced = None
    if isinstance(reduced, str):  # pickled by reference to a module-level name
        return ("global", getattr(obj, "__module__", cls.__module__), reduced)
    if isinstance(reduced, tuple) and len(reduced) >= 2 and callable(reduced[0]):
        parts = list(reduced[:3])
        parts += [None if it is None else list(it) for it in reduced[3:5]]  # iterators
        return ("reduce", normalize_token(cls), normalize_token(parts))
    return _normalize_pickled(obj)


def _normalize_pickled(obj: Any) -> Any:
    try:
        import cloudpickle

        data = cloudpickle.dumps(obj, protocol=5)
        if cloudpickle.dumps(obj, protocol=5) == data:
            return ("pickle", _hash_buffer(data))
    except Exception:
        pass
    return _nondeterministic(obj)


# -- NumPy ------------------------------------------------------------------------------
@normalize_token.register_lazy("numpy")
def _register_numpy() -> None:
    import numpy as np

    def normalize_dtype(dt: np.dtype) -> Any:
        structured = dt.names is not None or dt.subdtype is not None
        return ("dtype", dt.str, repr(dt.descr) if structured else None)

    def hash_contents(x: np.ndarray) -> str:
        """Hash the bytes of ``x`` in C order, copying at most ~16 MiB at a time."""
        if x.flags.c_contiguous or not x.dtype.itemsize:
            return _hash_buffer(x.reshape(-1).view(np.uint8) if x.dtype.itemsize else b"")
        hasher = _hasher()
        step = max(1, (1 << 24) // max(1, x[:1].nbytes))
        for start in range(0, x.shape[0], step):
            hasher.update(np.ascontiguousarray(x[start : start + step]).reshape(-1).view(np.uint8))
        return hasher.hexdigest()

    def memmap_token(x: np.memmap) -> Any:
        # A read-only memmap is named by where its data lies in which version of which
        # file, without reading it. A writable one may differ from its file: hash it.
        mm = getattr(x, "_mmap", None)
        if mm is None or getattr(x, "mode", None) != "r" or not x.filename:
            return None
        try:
            start = np.frombuffer(mm, dtype=np.uint8).__array_interface__["data"][0]
            stat = os.stat(x.filename)
        except (OSError, TypeError, ValueError):
            return None
        position = x.__array_interface__["data"][0] - start
        return ("memmap", str(x.filename), stat.st_mtime_ns, stat.st_size, x.offset,
                position, x.shape, x.strides, normalize_dtype(x.dtype))  # fmt: skip

    @_register(np.ndarray)
    def normalize_ndarray(x: np.ndarray) -> Any:
        if isinstance(x, np.memmap) and (token := memmap_token(x)) is not None:
            return token
        if x.dtype.hasobject:  # Python objects (or StringDType): hash the elements
            return normalize_objects(x)
        dtype = normalize_dtype(x.dtype)
        if any(s == 0 and n > 1 for n, s in zip(x.shape, x.strides)):
            # A broadcast view: hash the memory it repeats, not every repetition.
            core = x[tuple(slice(0, 1) if s == 0 else slice(None) for s in x.strides)]
            return ("ndarray-broadcast", dtype, x.shape, hash_contents(core))
        plain = type(x) is np.ndarray or type(x) is np.memmap
        kind = "ndarray" if plain else normalize_token(type(x))  # np.matrix, ...
        return (kind, dtype, x.shape, hash_contents(x))

    @_track_cycles
    def normalize_objects(x: np.ndarray) -> Any:
        values = (x.astype(object) if x.dtype.kind == "T" else x).ravel().tolist()
        return ("ndarray-object", normalize_dtype(x.dtype), x.shape, normalize_token(values))

    _register(np.dtype, normalize_dtype)
    _register(np.ma.MaskedArray, lambda x: ("masked", normalize_ndarray(x.data),
              normalize_ndarray(np.ma.getmaskarray(x)), normalize_token(x.fill_value)))  # fmt: skip
    _register((np.generic, np.str_, np.bytes_), lambda x: (  # np.str_ would pick str's handler
        ("np-object", normalize_token(x.item())) if x.dtype.hasobject
        else ("np-scalar", normalize_dtype(x.dtype), x.tobytes())))  # fmt: skip
    _register(np.ufunc, lambda x: ("ufunc", x.__module__, x.__name__)  # scipy has ufuncs too
              if _resolves(getattr(x, "__module__", None), x.__name__, x)
              else _normalize_pickled(x))  # fmt: skip
    _register(np.random.RandomState, lambda x: ("RandomState", normalize_token(x.get_state())))
    _register(np.random.BitGenerator, lambda x: (type(x).__name__, normalize_token(x.state)))
    _register(np.random.Generator, lambda x: ("Generator", normalize_token(x.bit_generator)))


# -- pandas -----------------------------------------------------------------------------
@normalize_token.register_lazy("pandas")
def _register_pandas() -> None:
    import numpy as np
    import pandas as pd

    @_register(pd.api.extensions.ExtensionDtype)
    def normalize_dtype(dt: Any) -> Any:
        if isinstance(dt, pd.CategoricalDtype):
            categories = None if dt.categories is None else normalize_token(dt.categories)
            return ("pd-CategoricalDtype", categories, dt.ordered)
        return ("pd-dtype", type(dt).__name__, str(dt), repr(dt))

    @_register(pd.api.extensions.ExtensionArray)
    def normalize_extension_array(arr: Any) -> Any:
        head = ("pd-array", type(arr).__name__, normalize_token(arr.dtype))
        if isinstance(arr, pd.Categorical):
            return (*head, normalize_token(arr.codes))
        if isinstance(arr, pd.arrays.IntervalArray):
            return (*head, normalize_token(arr.left), normalize_token(arr.right), arr.closed)
        ndarray = getattr(arr, "_ndarray", None)  # numpy-backed: datetimes, python strings
        if isinstance(ndarray, np.ndarray):
            return (*head, normalize_token(ndarray))
        data, mask = getattr(arr, "_data", None), getattr(arr, "_mask", None)
        if isinstance(data, np.ndarray) and isinstance(mask, np.ndarray):  # Int64, boolean
            return (*head, normalize_token(data), normalize_token(mask))
        try:  # pandas' own row hash (with a fixed key), and where values are missing
            hashes = pd.util.hash_array(arr)
            return (*head, normalize_token(np.asarray(arr.isna())), normalize_token(hashes))
        except Exception:
            return (*head, normalize_token(np.asarray(arr, dtype=object)))

    @_register(pd.Index)
    def normalize_index(idx: pd.Index) -> Any:
        name = normalize_token(list(idx.names) if isinstance(idx, pd.MultiIndex) else idx.name)
        if isinstance(idx, pd.RangeIndex):
            return ("pd-RangeIndex", name, idx.start, idx.stop, idx.step)
        if isinstance(idx, pd.MultiIndex):
            levels = tuple(normalize_index(level) for level in idx.levels)
            codes = tuple(normalize_token(np.asarray(c)) for c in idx.codes)
            return ("pd-MultiIndex", name, levels, codes)
        freq = getattr(idx, "freqstr", None)
        return ("pd-Index", type(idx).__name__, name, freq, normalize_token(idx.array))

    _register(pd.Series, lambda s: (
        "pd-Series", normalize_token(s.name), normalize_token(s.array), normalize_index(s.index)))
    _register(pd.DataFrame, lambda df: (
        "pd-DataFrame", normalize_index(df.columns), normalize_index(df.index),
        tuple(normalize_token(column.array) for _, column in df.items())))  # fmt: skip
    _register(type(pd.NaT), lambda x: ("pd-NaT",))
    _register(pd.Timestamp, lambda x: ("pd-Timestamp", x.isoformat(), x.unit, str(x.tz)))
    _register(pd.Timedelta, lambda x: ("pd-Timedelta", x.isoformat(), x.unit))
    _register(pd.Period, lambda x: ("pd-Period", x.freqstr, x.ordinal))
    _register(pd.Interval, lambda x: ("pd-Interval", normalize_token((x.left, x.right)), x.closed))

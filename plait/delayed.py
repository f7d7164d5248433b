"""Delayed: lazy calls of ordinary Python functions, recorded as a task graph.

A :class:`Delayed` holds its key, the node that computes it, and the Delayed objects
it depends on. The graph is never merged call by call (building ``n`` calls costs
``O(n)``, not ``O(n^2)``); it is collected by one walk over these links when it is
needed (``compute``, ``.dask``), and one walk serves many outputs at once.

Keys of impure calls (the default, as in Dask) are ``name-<unique hex>``; the hex comes
from a random per-process prefix and a counter, which is unique like a uuid4 but about
ten times cheaper. ``pure=True`` keys are ``name-<tokenize(func, args, kwargs)>``, so
equal calls share one key and run once.
"""

from __future__ import annotations

import itertools
import operator
import os
import types
import weakref
from typing import Any, Callable, Mapping

from . import annotations as _annotations
from . import config
from .collection import CollectionMethods, flatten_keys, is_collection
from .graph import Data, Node, Ref, Task, convert_graph, cull, is_key

__all__ = ["Delayed", "delayed", "unpack_collections"]


# -- unique keys -------------------------------------------------------------------------

def _new_prefix() -> None:
    global _PREFIX, _COUNTER
    _PREFIX = os.urandom(8).hex()
    _COUNTER = itertools.count()


_PREFIX = ""
_COUNTER = itertools.count()
_new_prefix()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_prefix)


def _unique() -> str:
    return f"{_PREFIX}{next(_COUNTER):08x}"


def _tokenize(*args: Any, **kwargs: Any) -> str:
    from .tokenize import tokenize

    return tokenize(*args, **kwargs)


def _funcname(func: Any) -> str:
    name = getattr(func, "__name__", None)
    if name is None or not isinstance(name, str):
        func0 = getattr(func, "func", None)  # functools.partial
        name = getattr(func0, "__name__", None) if func0 is not None else None
    if not isinstance(name, str):
        name = type(func).__name__
    if name == "<lambda>":
        return "lambda"
    return name


# -- turning arguments into task arguments ---------------------------------------------

_ATOMIC = frozenset({int, float, str, bool, type(None), bytes, complex})


def _to_task_arg(obj: Any, deps: list) -> Any:
    """Replace Delayed values (and other collections) inside ``obj`` by Refs."""
    t = type(obj)
    if t in _ATOMIC:
        return obj
    if t is Delayed or t is DelayedLeaf or t is DelayedAttr:
        deps.append(obj)
        return Ref(obj._key)
    if t is list or t is tuple or t is set or t is frozenset:
        n = len(deps)
        items = [_to_task_arg(i, deps) for i in obj]
        if len(deps) == n:
            return obj
        return items if t is list else t(items)
    if t is dict:
        n = len(deps)
        items = {k: _to_task_arg(v, deps) for k, v in obj.items()}
        return obj if len(deps) == n else items
    if is_collection(obj):
        d = delayed(obj)
        deps.append(d)
        return Ref(d._key)
    if isinstance(obj, Delayed):
        deps.append(obj)
        return Ref(obj._key)
    return obj


def unpack_collections(obj: Any) -> tuple[Any, tuple]:
    """``obj`` with Delayed values replaced by Refs, and the Delayed values found."""
    deps: list = []
    return _to_task_arg(obj, deps), tuple(deps)


# -- the collection --------------------------------------------------------------------

def _first(results: list) -> Any:
    return results[0]


def _rebuild(graph: Mapping, key: Any, length: int | None) -> "Delayed":
    return Delayed(key, graph, length=length)


def _optimize(dsk: Mapping, keys: list, **kwargs: Any) -> dict:
    return cull(dsk, keys)[0]


class Delayed(CollectionMethods):
    """A lazy value: the result of a delayed call, attribute, item or operator.

    Most users make these with :func:`delayed`. ``Delayed(key, dsk)`` wraps the key
    ``key`` of an existing graph ``dsk`` (classic dict graphs are converted).

    >>> from operator import add
    >>> d = Delayed("y", {"x": 1, "y": (add, "x", 10)})
    >>> d.compute(scheduler="sync")
    11
    """

    __slots__ = ("_key", "_node", "_deps", "_length", "_graph", "__weakref__")

    __plait_scheduler__ = "threads"

    def __init__(self, key: Any, dsk: Mapping | None = None, length: int | None = None, layer: Any = None):
        if not is_key(key):
            raise TypeError(
                f"Delayed key must be a str or a tuple (str, int, ...), got {key!r}"
            )
        graph = convert_graph(dsk) if dsk else {}
        if dsk and key not in graph:
            raise KeyError(f"key {key!r} is not in the graph given to Delayed")
        _init(self, key, None, (), length, graph)

    @classmethod
    def _new(cls, key: Any, node: Node | None, deps: tuple, length: int | None = None) -> "Delayed":
        self = object.__new__(cls)
        _init(self, key, node, deps, length, None)
        return self

    # -- the collection protocol -------------------------------------------------------
    def __plait_graph__(self) -> dict:
        return _collect([self])

    @classmethod
    def _plait_merged_graph(cls, collections: list) -> dict:
        return _collect(collections)

    def __plait_keys__(self) -> list:
        return [self._key]

    def __plait_postcompute__(self) -> tuple:
        return _first, ()

    def __plait_postpersist__(self) -> tuple:
        return _rebuild, (self._key, self._length)

    def __plait_tokenize__(self) -> Any:
        return self._key

    __plait_optimize__ = staticmethod(_optimize)

    # -- public attributes -------------------------------------------------------------
    @property
    def key(self) -> Any:
        return self._key

    plait = CollectionMethods.dask

    def __repr__(self) -> str:
        return f"Delayed({self._key!r})"

    def __hash__(self) -> int:
        return hash(self._key)

    def __dir__(self) -> list:
        return sorted(set(dir(type(self))) | {"key", "dask"})

    def __getattr__(self, attr: str) -> "DelayedAttr":
        if attr.startswith("_"):
            raise AttributeError(f"'Delayed' object has no attribute {attr!r}")
        return DelayedAttr(self, attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        raise TypeError("Delayed objects are immutable: build a new value instead")

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError("Delayed objects are immutable: build a new value instead")

    def __iter__(self):
        if self._length is None:
            raise TypeError(
                "Delayed objects of unspecified length are not iterable; pass nout= "
                "to delayed, e.g. delayed(f, nout=2)(x)"
            )
        return iter([self[i] for i in range(self._length)])

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError(
                "Delayed objects of unspecified length have no len(); pass nout= to "
                "delayed, e.g. delayed(f, nout=2)(x), or compute it first"
            )
        return self._length

    def __bool__(self) -> bool:
        raise TypeError(
            "the truth value of a Delayed object is not known until it is computed; "
            "use it inside a delayed function, or call .compute() first"
        )

    __nonzero__ = __bool__

    def __call__(self, *args: Any, **kwargs: Any) -> "Delayed":
        pure = kwargs.pop("pure", None)
        name = kwargs.pop("dask_key_name", None)
        return _call(operator.call, "call", (self,) + args, kwargs, pure, name, None)

    def __reduce__(self):
        return (_rebuild, (self.__plait_graph__(), self._key, self._length))


def _collect(roots: list) -> dict:
    """The graph behind ``roots``: one walk over the dependency links."""
    graph: dict = {}
    merged: set = set()
    stack = list(roots)
    while stack:
        d = stack.pop()
        node = d._node
        if node is not None:
            key = d._key
            if key in graph:
                continue
            graph[key] = node
        elif d._graph and id(d._graph) not in merged:
            merged.add(id(d._graph))
            for k, n in d._graph.items():
                graph.setdefault(k, n)
        stack.extend(d._deps)
    return graph


_set = object.__setattr__


def _init(self: Delayed, key: Any, node: Node | None, deps: tuple, length: int | None,
          graph: dict | None) -> None:
    _set(self, "_key", key)
    _set(self, "_node", node)
    _set(self, "_deps", deps)
    _set(self, "_length", length)
    _set(self, "_graph", graph)
    if _annotations._current is not None:  # inside plait.annotate(...)
        _annotations.note(self, (key,) if node is not None else (graph or ()))


# Users write ``delayed(f)(x)`` inside loops: hash each function once, not per call.
_LEAF_KEYS: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()


def _leaf_key(func: Callable) -> str:
    try:
        return _LEAF_KEYS[func]
    except (KeyError, TypeError):
        pass
    key = f"{_funcname(func)}-{_tokenize(func, pure=True)}"
    try:
        _LEAF_KEYS[func] = key
    except TypeError:  # builtins and other objects without weak references
        pass
    return key


class DelayedLeaf(Delayed):
    """A delayed function: calling it records a task and returns a Delayed."""

    __slots__ = ("_func", "_pure", "_nout")

    def __init__(self, func: Callable, name: str | None = None, pure: bool | None = None, nout: int | None = None):
        _set(self, "_func", func)
        _set(self, "_pure", pure)
        _set(self, "_nout", nout)
        key = name or _leaf_key(func)
        _init(self, key, Data(key, func), (), None, None)

    @property
    def __name__(self) -> str:
        return _funcname(self._func)

    @property
    def __doc__(self) -> str | None:  # type: ignore[override]
        return getattr(self._func, "__doc__", None)

    @property
    def __wrapped__(self) -> Callable:
        return self._func

    def __call__(self, *args: Any, **kwargs: Any) -> Delayed:
        pure = kwargs.pop("pure", self._pure)
        name = kwargs.pop("dask_key_name", None)
        return _call(self._func, None, args, kwargs, pure, name, self._nout)

    def __get__(self, instance: Any, cls: Any) -> Any:
        # A delayed function defined in a class body becomes a delayed method.
        if instance is None:
            return self
        return types.MethodType(self, instance)

    def __reduce__(self):
        return (DelayedLeaf, (self._func, self._key, self._pure, self._nout))


class DelayedAttr(Delayed):
    """``d.attr`` of a Delayed ``d``; calling it calls the method."""

    __slots__ = ("_obj", "_attr")

    def __init__(self, obj: Delayed, attr: str):
        _set(self, "_obj", obj)
        _set(self, "_attr", attr)
        key = f"getattr-{_tokenize(obj._key, attr, pure=True)}"
        _init(self, key, Task(key, getattr, Ref(obj._key), attr), (obj,), None, None)

    def __call__(self, *args: Any, **kwargs: Any) -> Delayed:
        pure = kwargs.pop("pure", None)
        name = kwargs.pop("dask_key_name", None)
        return _call(_call_method, self._attr, (self._obj, self._attr) + args, kwargs,
                     pure, name, None)


def _call_method(obj: Any, attr: str, *args: Any, **kwargs: Any) -> Any:
    return getattr(obj, attr)(*args, **kwargs)


def _is_pure(pure: bool | None) -> bool:
    if pure is None:
        return bool(config.get("delayed_pure", False))
    return pure


def _call(func: Callable, name: str | None, args: tuple, kwargs: dict,
          pure: bool | None, key: Any, nout: int | None) -> Delayed:
    """Record ``func(*args, **kwargs)`` as a task; the core of every delayed call."""
    deps: list = []
    targs = [a if type(a) in _ATOMIC else _to_task_arg(a, deps) for a in args]
    tkwargs = {k: _to_task_arg(v, deps) for k, v in kwargs.items()} if kwargs else {}
    if key is None:
        prefix = name or _funcname(func)
        if _is_pure(pure):
            key = f"{prefix}-{_tokenize(func, args, kwargs, pure=True)}"
        else:
            key = f"{prefix}-{_PREFIX}{next(_COUNTER):08x}"
    if nout is not None and (not isinstance(nout, int) or nout < 0):
        raise ValueError(f"nout must be None or a non-negative int, got {nout!r}")
    return Delayed._new(key, Task(key, func, *targs, **tkwargs), tuple(deps), nout)


def _finalize_collection(results: Any, finalize: Callable, extra: tuple) -> Any:
    return finalize(results, *extra)


def _wrap_collection(obj: Any, name: str | None) -> Delayed:
    """A Delayed whose value is the computed collection ``obj``."""
    keys = obj.__plait_keys__()
    finalize, extra = obj.__plait_postcompute__()
    key = name or f"finalize-{_tokenize(obj, pure=True)}"
    graph = convert_graph(obj.__plait_graph__())
    graph = type(obj).__plait_optimize__(graph, flatten_keys(keys))
    holder = Delayed.__new__(Delayed)
    _init(holder, flatten_keys(keys)[0], None, (), None, graph)
    node = Task(key, _finalize_collection, _refs(keys), finalize, extra)
    return Delayed._new(key, node, (holder,))


def _refs(keys: Any) -> Any:
    if isinstance(keys, list):
        return [_refs(k) for k in keys]
    return Ref(keys)


def delayed(obj: Any = None, name: str | None = None, pure: bool | None = None,
            nout: int | None = None, traverse: bool = True) -> Any:
    """Wrap a function so calls are recorded lazily, or a value so it enters a graph.

    Use it as a decorator or a wrapper. ``pure=True`` makes equal calls share a key;
    ``nout=`` lets a call's result be unpacked; ``dask_key_name=`` on a call names its
    key.

    >>> @delayed
    ... def inc(x):
    ...     return x + 1
    >>> total = delayed(sum)([inc(1), inc(2)])
    >>> total.compute()
    5
    >>> a, b = delayed(divmod, nout=2)(7, 2)
    >>> (a + b).compute()
    4
    """
    if obj is None:
        return lambda f: delayed(f, name=name, pure=pure, nout=nout, traverse=traverse)
    if isinstance(obj, Delayed):
        return obj
    if is_collection(obj):
        return _wrap_collection(obj, name)
    if callable(obj):
        return DelayedLeaf(obj, name=name, pure=pure, nout=nout)
    if traverse:
        value, deps = unpack_collections(obj)
    else:
        value, deps = obj, ()
    if name is None:
        name = f"{type(obj).__name__}-{_tokenize(obj, pure=True) if not deps else _unique()}"
    if deps:
        node: Node = Task(name, _identity, value)
    else:
        node = Data(name, obj)
    return Delayed._new(name, node, deps, nout)


def _identity(x: Any) -> Any:
    return x


# -- operators -------------------------------------------------------------------------

def _bind_operator(op: Callable, reflected: bool = False) -> None:
    name = op.__name__.strip("_")

    if reflected:
        def method(self, other):
            return _call(op, name, (other, self), {}, True, None, None)
    else:
        def method(self, *others):
            return _call(op, name, (self,) + others, {}, True, None, None)

    dunder = f"__r{name}__" if reflected else f"__{name}__"
    method.__name__ = dunder
    setattr(Delayed, dunder, method)


for _op in (operator.add, operator.sub, operator.mul, operator.truediv,
            operator.floordiv, operator.mod, operator.pow, operator.and_, operator.or_,
            operator.xor, operator.lshift, operator.rshift, operator.matmul):
    _bind_operator(_op)
    _bind_operator(_op, reflected=True)
for _op in (operator.eq, operator.ne, operator.lt, operator.le, operator.gt,
            operator.ge, operator.getitem, operator.neg, operator.pos, operator.abs,
            operator.invert):
    _bind_operator(_op)
Delayed.__hash__ = lambda self: hash(self._key)  # type: ignore[method-assign]  # __eq__ returns a Delayed
del _op

"""Pickling many tasks that share a function, fast.

A function that cannot be pickled by reference (defined in ``__main__``, a lambda, a
closure) goes through cloudpickle, which costs tens of microseconds per task: 10,000
``client.map`` tasks would spend most of a second there. :func:`share_functions` pickles
each such function once and puts a small :class:`ByValue` wrapper in its tasks; the
wrapper pickles as the compressed bytes of the function (plain ``pickle``, a few
microseconds) and workers unpickle each distinct function once (:func:`load_function`
keeps a cache keyed by those bytes).

The bytes are zlib-compressed so that they never spell ``__main__`` literally: the comm's
``serialize`` takes that word in a pickle as the sign that cloudpickle is needed.
"""

from __future__ import annotations

import pickle
import threading
import zlib
from typing import Any, Callable

import cloudpickle

from ..graph import Task

__all__ = ["ByValue", "load_function", "share_functions", "needs_cloudpickle"]

_CACHE: dict = {}
_CACHE_LIMIT = 512
_lock = threading.Lock()


class ByValue:
    """A function carried as its (compressed) cloudpickle, loaded once per process.

    >>> f = ByValue.wrap(lambda x: x + 1)
    >>> g = pickle.loads(pickle.dumps(f))
    >>> g(1), g.blob == f.blob
    (2, True)
    """

    __slots__ = ("func", "blob")

    def __init__(self, func: Callable, blob: bytes):
        self.func = func
        self.blob = blob

    @classmethod
    def wrap(cls, func: Callable) -> "ByValue":
        return cls(func, zlib.compress(cloudpickle.dumps(func, protocol=5), 1))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    @property
    def __name__(self) -> str:
        return getattr(self.func, "__name__", type(self.func).__name__)

    def __reduce__(self):
        return (load_function, (self.blob,))

    def __repr__(self) -> str:
        return f"ByValue({self.func!r})"


def load_function(blob: bytes) -> ByValue:
    """The function inside ``blob``, unpickled once per process per distinct blob."""
    wrapper = _CACHE.get(blob)
    if wrapper is None:
        wrapper = ByValue(cloudpickle.loads(zlib.decompress(blob)), blob)
        with _lock:
            if len(_CACHE) >= _CACHE_LIMIT:
                _CACHE.clear()
            _CACHE[blob] = wrapper
    return wrapper


def needs_cloudpickle(func: Any) -> bool:
    """Whether ``func`` cannot travel by reference (so another process could not
    import it by name).

    >>> needs_cloudpickle(len), needs_cloudpickle(lambda: 1)
    (False, True)
    """
    try:
        payload = pickle.dumps(func, protocol=5)
    except Exception:
        return True
    return b"__main__" in payload


def share_functions(tasks: dict) -> dict:
    """``tasks`` with each function that needs cloudpickle wrapped in one shared
    :class:`ByValue` (tasks with other functions are kept as they are)."""
    verdict: dict = {}
    out = tasks
    for key, node in tasks.items():
        if type(node) is not Task:
            continue
        func = node.func
        fid = id(func)
        wrapper = verdict.get(fid)
        if wrapper is None:
            if type(func) is ByValue or not needs_cloudpickle(func):
                wrapper = verdict[fid] = False
            else:
                try:
                    wrapper = verdict[fid] = ByValue.wrap(func)
                except Exception:  # let serialize report what cannot be pickled
                    wrapper = verdict[fid] = False
        if wrapper is False:
            continue
        if out is tasks:
            out = dict(tasks)
        out[key] = Task(node.key, wrapper, *node.args, **node.kwargs)
    return out


# -- futures inside opaque task structures ----------------------------------------------
#
# Graph optimisation may fold a persisted collection's ``Data(key, future)`` into a
# fused task, where the future sits inside functions or templates that no walker can
# see. Pickling sees everything: while the client pickles a graph, each Future met
# reports its key (:func:`collecting_futures`); such a task is then wrapped so that the
# worker fetches those keys as ordinary dependencies and unpickles the original task
# with each future replaced by its value.

_collector = threading.local()


def note_pickled_future(key: Any) -> None:
    """Called by ``Future.__reduce__``: remember ``key`` if a collection is under way."""
    keys = getattr(_collector, "keys", None)
    if keys is not None:
        keys.append(key)


class _FuturePickler(cloudpickle.CloudPickler):
    def persistent_id(self, obj: Any) -> Any:
        from .future import Future

        if isinstance(obj, Future):
            return ("plait-future", obj.key)
        return None


class _ValuesUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, values: dict):
        super().__init__(file)
        self.values = values

    def persistent_load(self, pid: Any) -> Any:
        return self.values[pid[1]]


class WithFutureValues:
    """Run a pickled node whose futures become the values of their keys (given to this
    callable as arguments, after the node's own dependencies)."""

    __slots__ = ("blob", "keys")

    def __init__(self, blob: bytes, keys: tuple):
        self.blob = blob
        self.keys = keys

    def __call__(self, *values: Any) -> Any:
        import io

        data = dict(zip(self.keys, values))
        node = _ValuesUnpickler(io.BytesIO(zlib.decompress(self.blob)), data).load()
        return node.run(data)

    @property
    def __name__(self) -> str:
        return "with_future_values"

    def __reduce__(self):
        return (WithFutureValues, (self.blob, self.keys))


def embed_futures(node: Any, future_keys: list) -> Task:
    """``node`` as a task that depends on ``future_keys`` too and substitutes their
    values for the futures inside it."""
    import io

    buf = io.BytesIO()
    _FuturePickler(buf, protocol=5).dump(node)
    keys = tuple(dict.fromkeys(list(node.dependencies) + list(future_keys)))
    from ..graph import Ref

    return Task(node.key, WithFutureValues(zlib.compress(buf.getvalue(), 1), keys),
                *[Ref(k) for k in keys])


def serialize_nodes(nodes: dict, serialize: Callable) -> tuple[dict, dict]:
    """``({key: Serialized}, {key: new node})``: each node pickled once; a node found to
    hide futures is replaced by :func:`embed_futures` (returned in the second dict so the
    caller can update its dependencies)."""
    out: dict = {}
    changed: dict = {}
    found: list = []
    _collector.keys = found
    try:
        for k, n in nodes.items():
            s = serialize(n)
            if found:
                keys = list(dict.fromkeys(found))
                found.clear()
                n = changed[k] = embed_futures(n, keys)
                s = serialize(n)
            out[k] = s
    finally:
        _collector.keys = None
    return out, changed

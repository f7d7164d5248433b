"""The collection protocol and the functions that run collections: compute, persist,
optimize.

A collection is any object whose type defines:

``__plait_graph__()``          its task graph, ``{key: Node}`` (classic dicts allowed);
``__plait_keys__()``           its output keys, a list (nested lists for blocks);
``__plait_postcompute__()``    ``(finalize, extra)``: ``finalize(results, *extra)`` turns
                               the computed values (shaped like the keys) into the
                               user's result;
``__plait_postpersist__()``    ``(rebuild, extra)``: ``rebuild(graph, *extra)`` makes the
                               same collection over a graph of computed values;
``__plait_optimize__(dsk, keys, **kwargs)``  its optimisation pass (static);
``__plait_scheduler__``        its default scheduler name;
``__plait_tokenize__()``       a deterministic token of its content.

:func:`compute` merges the graphs of all collections given, optimises each kind once,
runs the result once, so keys shared between collections are computed once.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any, Callable, Iterable

from . import config
from .graph import Data, convert_graph

__all__ = [
    "compute",
    "persist",
    "optimize",
    "is_collection",
    "is_dask_collection",
    "get_scheduler",
    "collections_to_graph",
    "flatten_keys",
    "SCHEDULER_ALIASES",
]

SCHEDULER_ALIASES = {
    "sync": "sync",
    "synchronous": "sync",
    "single-threaded": "sync",
    "threads": "threads",
    "threading": "threads",
    "processes": "processes",
    "multiprocessing": "processes",
}


def is_collection(obj: Any) -> bool:
    """Whether ``obj`` is a plait collection (an instance, not a class).

    >>> import plait
    >>> is_collection(plait.delayed(1)), is_collection(1)
    (True, False)
    """
    return hasattr(type(obj), "__plait_graph__") and not isinstance(obj, type)


is_dask_collection = is_collection


# -- what every collection class shares -----------------------------------------------

class CollectionMethods:
    """``compute``, ``persist``, ``visualize`` and ``dask`` for a collection class."""

    __slots__ = ()

    @property
    def dask(self) -> dict:
        """The task graph, ``{key: Node}``."""
        return self.__plait_graph__()  # type: ignore[attr-defined]

    def compute(self, **kwargs: Any) -> Any:
        """Compute this collection (see :func:`plait.compute`)."""
        return compute(self, **kwargs)[0]

    def persist(self, **kwargs: Any) -> Any:
        """Compute, and return the same collection backed by the computed values."""
        return persist(self, **kwargs)[0]

    def visualize(self, filename: str | None = "mydask", format: str | None = None,
                  optimize_graph: bool = False, **kwargs: Any) -> Any:
        """Draw the task graph (see :func:`plait.visualize`)."""
        from .visualize import visualize

        return visualize(self, filename=filename, format=format,
                         optimize_graph=optimize_graph, **kwargs)


class LayeredCollection(CollectionMethods):
    """A collection that keeps its own layer of tasks (``_layer``) and links to the
    collections it was built from (``_deps``)."""

    __slots__ = ()

    def __plait_graph__(self) -> dict:
        return layered_graph([self])

    @classmethod
    def _plait_merged_graph(cls, collections: list) -> dict:
        return layered_graph(collections)


# -- finding collections inside arguments ----------------------------------------------

class _Slot:
    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


#: Hooks for containers of collections that are not collections themselves (an xarray
#: object holding plait arrays): ``hook(obj)`` gives ``(collections, rebuild)`` or None,
#: and ``rebuild(values)`` makes the container again from the collections' results. The
#: module that knows the container registers its hook (plait.array.xarray_collection).
CONTAINER_HOOKS: list[Callable[[Any], Any]] = []


class _Container:
    __slots__ = ("rebuild", "slots")

    def __init__(self, rebuild: Callable, slots: list):
        self.rebuild = rebuild
        self.slots = slots


def _unpack(obj: Any, found: list, traverse: bool) -> Any:
    if is_collection(obj):
        found.append(obj)
        return _Slot(len(found) - 1)
    for hook in CONTAINER_HOOKS:
        parts = hook(obj)
        if parts is not None:
            inner, rebuild = parts
            return _Container(rebuild, [_unpack(c, found, False) for c in inner])
    if not traverse:
        return obj
    t = type(obj)
    if t is list or t is tuple or t is set or t is frozenset:
        items = [_unpack(i, found, True) for i in obj]
        return items if t is list else t(items)
    if t is dict:
        return {k: _unpack(v, found, True) for k, v in obj.items()}
    return obj


def _repack(obj: Any, values: list) -> Any:
    t = type(obj)
    if t is _Slot:
        return values[obj.index]
    if t is _Container:
        return obj.rebuild([_repack(i, values) for i in obj.slots])
    if t is list:
        return [_repack(i, values) for i in obj]
    if t is tuple or t is set or t is frozenset:
        return t(_repack(i, values) for i in obj)
    if t is dict:
        return {k: _repack(v, values) for k, v in obj.items()}
    return obj


def unpack_collections(*args: Any, traverse: bool = True) -> tuple[list, Callable]:
    """The collections inside ``args`` and a function putting results back in place."""
    found: list = []
    template = [_unpack(a, found, traverse) for a in args]
    return found, lambda values: tuple(_repack(t, values) for t in template)


# -- graphs ------------------------------------------------------------------------------

def layered_graph(roots: Iterable) -> dict:
    """The merged graph behind collections that keep their own layer of tasks
    (``_layer``) and link to what they were built from (``_deps``): one walk, each
    layer once. Other collections met on the way contribute their whole graph."""
    graph: dict = {}
    seen: set = set()
    stack = list(roots)
    while stack:
        c = stack.pop()
        if id(c) in seen:
            continue
        seen.add(id(c))
        layer = getattr(c, "_layer", None)
        if layer is not None and hasattr(c, "_deps"):
            graph.update(layer)
            stack.extend(c._deps)
        else:
            for k, n in convert_graph(c.__plait_graph__()).items():
                graph.setdefault(k, n)
    return graph


def flatten_keys(keys: Any) -> list:
    """The keys of nested lists of keys, in order.

    >>> flatten_keys([("x", 0), [("x", 1), ("x", 2)]])
    [('x', 0), ('x', 1), ('x', 2)]
    """
    out: list = []
    _flatten(keys, out)
    return out


def _flatten(keys: Any, out: list) -> None:
    if type(keys) is list:
        for k in keys:
            _flatten(k, out)
    else:
        out.append(keys)


def collections_to_graph(collections: list, optimize_graph: bool = True, **kwargs: Any) -> dict:
    """One graph for all ``collections``: merged, and optimised once per kind."""
    # Collections of one kind (a DataFrame, its Series and Scalars) share an optimiser
    # pass, so their common work is lowered, and run, once.
    groups: dict = {}
    for c in collections:
        kind = getattr(type(c), "__plait_graph_group__", type(c))
        groups.setdefault(kind, []).append(c)
    graph: dict = {}
    for group in groups.values():
        typ = type(group[0])
        merge_many = getattr(typ, "_plait_merged_graph", None)
        if merge_many is not None:
            g = merge_many(group)
        else:
            g = {}
            for c in group:
                g.update(convert_graph(c.__plait_graph__()))
        if optimize_graph:
            keys: list = []
            for c in group:
                _flatten(c.__plait_keys__(), keys)
            g = typ.__plait_optimize__(g, keys, **kwargs)
        graph.update(g)
    return graph


# -- schedulers --------------------------------------------------------------------------

def _named(name: str) -> Callable:
    from .local.execute import execute

    def run(dsk, keys, num_workers=None, pool=None, hooks=None, **kwargs):
        return execute(dsk, keys, name, num_workers=num_workers, hooks=hooks, pool=pool)

    run.scheduler_name = name
    return run


def _get_function_name(func: Callable) -> str | None:
    from .local.execute import get_processes, get_sync, get_threads

    return {get_sync: "sync", get_threads: "threads", get_processes: "processes"}.get(func)


def get_scheduler(scheduler: Any = None, collections: Iterable = (), default: str = "threads") -> Callable:
    """The function that runs a graph: ``f(dsk, keys, **kwargs) -> {key: value}``.

    ``scheduler`` is a name (see ``SCHEDULER_ALIASES``), a get-function such as
    ``plait.threaded.get``, a ``concurrent.futures.Executor``, or an object with a
    ``get`` method (a distributed Client). Without one: config ``scheduler``, then the
    collections' own default.
    """
    if scheduler is None:
        scheduler = config.get("scheduler", None)
    if scheduler is None:
        for c in collections:
            scheduler = getattr(type(c), "__plait_scheduler__", None)
            if scheduler is not None:
                break
        else:
            scheduler = default
    if isinstance(scheduler, str):
        name = SCHEDULER_ALIASES.get(scheduler.lower())
        if name is None:
            valid = ", ".join(repr(n) for n in SCHEDULER_ALIASES)
            raise ValueError(
                f"unknown scheduler {scheduler!r}; valid names are {valid}, or pass a "
                "concurrent.futures Executor or a distributed Client"
            )
        return _named(name)
    if isinstance(scheduler, Executor):
        from .local.execute import execute

        def run(dsk, keys, num_workers=None, hooks=None, **kwargs):
            return execute(dsk, keys, scheduler, num_workers=num_workers, hooks=hooks)

        return run
    if callable(scheduler):
        name = _get_function_name(scheduler)
        if name is not None:
            return _named(name)
        get = scheduler

        def run_get(dsk, keys, **kwargs):
            kwargs.pop("hooks", None)
            values = get(dsk, list(keys), **kwargs)
            return dict(zip(keys, values))

        return run_get
    get_method = getattr(scheduler, "get", None)
    if callable(get_method):
        def run_client(dsk, keys, **kwargs):
            kwargs.pop("hooks", None)
            values = get_method(dsk, list(keys), **kwargs)
            return dict(zip(keys, values))

        return run_client
    raise TypeError(
        f"scheduler must be a name such as 'threads', a get-function, an Executor or a "
        f"Client; got {type(scheduler).__name__} {scheduler!r}"
    )


def _removed_get(get: Any) -> None:
    if get is not None:
        raise TypeError(
            "the get= keyword was removed (as in current Dask). Write "
            "x.compute(scheduler='processes') or plait.compute(x, scheduler='threads'), "
            "or pass a get-function: scheduler=plait.multiprocessing.get"
        )


def _pair_up(keys: Any, values: Any, out: list) -> None:
    """(key, value) pairs from keys and values of the same nested shape (values may be
    lists themselves, so the keys' shape leads)."""
    if type(keys) is list:
        for k, v in zip(keys, values):
            _pair_up(k, v, out)
    else:
        out.append((keys, values))


def _pack(keys: Any, values: dict) -> Any:
    if type(keys) is list:
        return [_pack(k, values) for k in keys]
    return values[keys]


def _run(collections: list, scheduler: Any, optimize_graph: bool, kwargs: dict) -> list:
    """Compute ``collections`` together; the values shaped like each one's keys."""
    schedule = get_scheduler(scheduler, collections)
    dsk = collections_to_graph(collections, optimize_graph, **kwargs)
    nested = [c.__plait_keys__() for c in collections]
    flat: list = []
    for k in nested:
        _flatten(k, flat)
    run_kwargs = {k: v for k, v in kwargs.items() if k in ("num_workers", "pool")}
    if kwargs.get("callbacks") is not None:
        from .callbacks import active_hooks

        run_kwargs["hooks"] = active_hooks(kwargs["callbacks"])
    if not isinstance(scheduler, str) and scheduler is not None:
        run_kwargs.update({k: v for k, v in kwargs.items() if k not in ("callbacks", "hooks")})
    values = schedule(dsk, flat, **run_kwargs)
    return [_pack(k, values) for k in nested]


_LOCAL_ONLY = ("num_workers", "pool", "callbacks", "hooks")


def _cluster_client(scheduler: Any) -> Any:
    """The distributed Client that will run a compute, or None: the one given, else the
    default one in config (a Client has ``compute`` and ``get`` and is not callable)."""
    if scheduler is None:
        scheduler = config.get("scheduler", None)
    if scheduler is None or isinstance(scheduler, (str, Executor)) or callable(scheduler):
        return None
    if callable(getattr(scheduler, "compute", None)) and callable(getattr(scheduler, "get", None)):
        return scheduler
    return None


def compute(*args: Any, traverse: bool = True, optimize_graph: bool = True,
            scheduler: Any = None, get: Any = None, **kwargs: Any) -> tuple:
    """Compute several collections at once, sharing their common work.

    Arguments that are not collections are passed through; lists, tuples, sets and
    dicts are searched for collections unless ``traverse=False``.

    >>> import plait
    >>> a = plait.delayed(sum)([1, 2])
    >>> plait.compute(a, {"b": a}, 5, scheduler="sync")
    (3, {'b': 3}, 5)
    """
    _removed_get(get)
    collections, repack = unpack_collections(*args, traverse=traverse)
    if not collections:
        return args
    cluster = _cluster_client(scheduler)
    if cluster is not None:  # the client's own path keeps annotations through fusion
        kwargs = {k: v for k, v in kwargs.items() if k not in _LOCAL_ONLY}
        return repack(cluster.compute(collections, sync=True, optimize_graph=optimize_graph,
                                      **kwargs))
    results = _run(collections, scheduler, optimize_graph, kwargs)
    finals = []
    for c, r in zip(collections, results):
        finalize, extra = c.__plait_postcompute__()
        finals.append(finalize(r, *extra))
    return repack(finals)


def persist(*args: Any, traverse: bool = True, optimize_graph: bool = True,
            scheduler: Any = None, get: Any = None, **kwargs: Any) -> tuple:
    """Compute collections and return new ones backed by the computed values.

    >>> import plait
    >>> (p,) = plait.persist(plait.delayed(sum)([1, 2]), scheduler="sync")
    >>> p.compute()
    3
    """
    _removed_get(get)
    collections, repack = unpack_collections(*args, traverse=traverse)
    if not collections:
        return args
    if scheduler is None:  # a default distributed Client persists on its cluster
        scheduler = config.get("scheduler", None)
    persist_method = getattr(scheduler, "persist", None) if scheduler is not None else None
    if persist_method is not None and not isinstance(scheduler, str):
        return repack(list(persist_method(collections, **kwargs)))
    results = _run(collections, scheduler, optimize_graph, kwargs)
    out = []
    for c, r in zip(collections, results):
        pairs: list = []
        _pair_up(c.__plait_keys__(), r, pairs)
        graph = {k: Data(k, v) for k, v in pairs}
        rebuild, extra = c.__plait_postpersist__()
        out.append(rebuild(graph, *extra))
    return repack(out)


def optimize(*args: Any, traverse: bool = True, **kwargs: Any) -> tuple:
    """The same collections over their optimised graph (what compute would run).

    >>> import plait
    >>> (o,) = plait.optimize(plait.delayed(sum)([1, 2]))
    >>> o.compute(scheduler="sync")
    3
    """
    collections, repack = unpack_collections(*args, traverse=traverse)
    if not collections:
        return args
    graph = collections_to_graph(collections, True, **kwargs)
    out = []
    for c in collections:
        rebuild, extra = c.__plait_postpersist__()
        out.append(rebuild(graph, *extra))
    return repack(out)

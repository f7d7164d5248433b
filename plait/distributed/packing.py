"""Graphs into ``update-graph`` messages: cull, resolve futures, order, pickle per key.

Pure functions: the client calls :func:`pack_graph` with a graph of plait nodes and the
keys it wants; out comes the message body (tasks pickled once each, their dependencies,
static priorities from :func:`plait.graph.order`, per-key annotations) and the futures
the graph referred to (the caller keeps them alive until the scheduler has the graph).

Futures may appear in a graph three ways, all resolved here so the worker reads the data
from its peers: as a task argument (becomes a ``Ref``), as ``Data(key, future)`` for the
same key (a persisted collection: the key is already on the cluster, nothing to send), or
as ``Data(other_key, future)`` (becomes an ``Alias``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from ..graph import Alias, Data, Ref, Task, order
from ..graph.spec import Node
from .future import Future

__all__ = ["replace_futures", "pack_graph", "Packed", "merge_annotations"]


def replace_futures(obj: Any, found: dict) -> Any:
    """``obj`` with every Future inside lists, tuples, sets and dicts replaced by a
    ``Ref`` to its key; the futures are added to ``found`` ({key: future}).

    >>> found = {}
    >>> replace_futures([1, (2, {"a": 3})], found), found
    ([1, (2, {'a': 3})], {})
    """
    t = type(obj)
    if t is Future or isinstance(obj, Future):
        found[obj.key] = obj
        return Ref(obj.key)
    if t is list:
        return [replace_futures(i, found) for i in obj]
    if t is tuple:
        return tuple(replace_futures(i, found) for i in obj)
    if t is dict:
        return {k: replace_futures(v, found) for k, v in obj.items()}
    if t is set or t is frozenset:
        return t(replace_futures(i, found) for i in obj)
    return obj


def _holds_future(obj: Any) -> bool:
    t = type(obj)
    if isinstance(obj, Future):
        return True
    if t is list or t is tuple or t is set or t is frozenset:
        return any(_holds_future(i) for i in obj)
    if t is dict:
        return any(_holds_future(v) for v in obj.values())
    return False


def _resolve(node: Node, found: dict) -> Node:
    """The node with the futures inside it turned into references."""
    t = type(node)
    if t is Data:
        value = node.value
        if isinstance(value, Future):
            found[value.key] = value
            return None if value.key == node.key else Alias(node.key, value.key)
        return node
    if t is Task and (_holds_future(node.args) or _holds_future(node.kwargs)):
        args = replace_futures(node.args, found)
        kwargs = replace_futures(node.kwargs, found)
        return Task(node.key, node.func, *args, **kwargs)
    return node


class Packed:
    """What :func:`pack_graph` gives: the graph to send and the futures it refers to."""

    __slots__ = ("nodes", "dependencies", "priority", "futures", "annotations")

    def __init__(self, nodes: dict, dependencies: dict, priority: dict, futures: dict,
                 annotations: dict):
        self.nodes = nodes
        self.dependencies = dependencies
        self.priority = priority
        self.futures = futures
        self.annotations = annotations

    def message(self, serialize: Callable, keys: list, **extra: Any) -> dict:
        """The ``update-graph`` message, each node pickled once with ``serialize``."""
        msg = {
            "op": "update-graph",
            "tasks": {k: serialize(n) for k, n in self.nodes.items()},
            "dependencies": self.dependencies,
            "keys": keys,
            "priority": self.priority,
            "annotations": self.annotations,
        }
        msg.update(extra)
        return msg


def pack_graph(dsk: Mapping, keys: Iterable, known: Callable[[Any], bool] = lambda k: False,
               annotations: Mapping | None = None, raw: Mapping | None = None) -> Packed:
    """The part of ``dsk`` that ``keys`` need, ready for the scheduler.

    Parameters
    ----------
    dsk : mapping
        ``{key: Node}`` (classic graphs must be converted first).
    keys : iterable
        The keys wanted.
    known : callable
        Whether a key missing from ``dsk`` is already on the cluster (the client holds
        a future for it); such keys are dependencies, not tasks.
    annotations : mapping, optional
        ``{key: {name: value}}`` recorded when the collections were built.
    raw : mapping, optional
        The graph before optimisation: annotations of keys that fusion folded into
        another task are carried over to the task that absorbed them.

    >>> from operator import add
    >>> g = {"a": Data("a", 1), "b": Task("b", add, Ref("a"), 1), "c": Data("c", 5)}
    >>> p = pack_graph(g, ["b"])
    >>> sorted(p.nodes), p.dependencies["b"], p.priority["a"] < p.priority["b"]
    (['a', 'b'], ['a'], True)
    """
    keys = list(keys)
    nodes: dict = {}
    deps: dict = {}
    found: dict = {}
    stack = []
    seen: set = set()
    for k in keys:
        if k in seen:
            continue
        seen.add(k)
        if k in dsk:
            stack.append(k)
        elif not known(k):
            raise KeyError(f"key {k!r} was asked for but is not in the graph and no "
                           f"future holds it; the graph has {len(dsk)} keys")
    while stack:
        k = stack.pop()
        node = _resolve(dsk[k], found)
        if node is None:  # already on the cluster
            continue
        nodes[k] = node
        nd = node.dependencies
        deps[k] = list(nd)
        for d in nd:
            if d in seen:
                continue
            seen.add(d)
            if d in dsk:
                stack.append(d)
            elif d not in found and not known(d):
                raise KeyError(
                    f"task {k!r} depends on {d!r}, which is neither in the graph nor held "
                    "by a future of this client"
                )
    priority = order(nodes, [k for k in keys if k in nodes]) if nodes else {}
    ann = annotations_for(nodes, annotations, raw) if annotations else {}
    return Packed(nodes, deps, priority, found, ann)


def annotations_for(nodes: Mapping, annotations: Mapping, raw: Mapping | None) -> dict:
    """``{key: {name: value}}`` for the keys of ``nodes``: each key's own annotations,
    plus those of keys that optimisation fused into it (found through ``raw``: a key of
    ``raw`` missing from ``nodes`` was absorbed by its nearest dependents that remain)."""
    out: dict = {}
    for k in nodes:
        a = annotations.get(k)
        if a:
            out[k] = dict(a)
    if raw is None:
        return out
    absorbed = [k for k in annotations if k in raw and k not in nodes]
    if not absorbed:
        return out
    dependents: dict = {}
    for k, n in raw.items():
        for d in n.dependencies:
            dependents.setdefault(d, []).append(k)
    for k in absorbed:
        stack, seen = list(dependents.get(k, ())), set()
        while stack:
            d = stack.pop()
            if d in seen:
                continue
            seen.add(d)
            if d in nodes:
                out[d] = merge_annotations(out.get(d), annotations[k])
            elif d in raw:
                stack.extend(dependents.get(d, ()))
    return out


def merge_annotations(own: Mapping | None, absorbed: Mapping) -> dict:
    """A task's annotations after it absorbed a fused task's: its own win; what it
    lacks comes from the absorbed one (priority and retries: the larger).

    >>> merge_annotations({"priority": 1}, {"priority": 5, "retries": 2})
    {'priority': 5, 'retries': 2}
    """
    out = dict(own or {})
    for name, value in absorbed.items():
        if name not in out:
            out[name] = value
        elif name in ("priority", "retries"):
            out[name] = max(out[name], value)
    return out

"""Pure algorithms on graphs of nodes: dependencies, dependents, toposort, cull.

All functions take a ``{key: Node}`` mapping (see :mod:`plait.graph.spec`) and return
new plain data; none mutates its input. Traversals are iterative so that a chain of a
million tasks does not hit Python's recursion limit.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from .spec import Key, Node

__all__ = [
    "CycleError",
    "MissingDependencyError",
    "dependencies",
    "dependents",
    "toposort",
    "cull",
    "find_cycle",
    "check_dependencies",
]


class CycleError(ValueError):
    """The graph has a cycle; ``cycle`` lists its keys in order."""

    def __init__(self, cycle: list):
        self.cycle = cycle
        path = " -> ".join(repr(k) for k in cycle + cycle[:1])
        super().__init__(
            f"the graph has a cycle: {path}. A task cannot depend, directly or "
            "through others, on its own result; break the cycle."
        )


class MissingDependencyError(KeyError):
    """A task refers to a key that is not in the graph."""

    def __init__(self, key: Key, needed_by: Key):
        self.key = key
        self.needed_by = needed_by
        super().__init__(key)

    def __str__(self) -> str:
        return (
            f"key {self.key!r} is needed by {self.needed_by!r} but is not in the graph "
            "(nor among the given data); add a task for it or pass its value."
        )


def dependencies(dsk: Mapping[Key, Node]) -> dict:
    """The keys each key depends on.

    >>> from plait.graph.spec import Task, Data, Ref
    >>> dependencies({"x": Data("x", 1), "y": Task("y", abs, Ref("x"))})
    {'x': (), 'y': ('x',)}
    """
    return {k: node.dependencies for k, node in dsk.items()}


def dependents(dsk: Mapping[Key, Node]) -> dict:
    """The keys that depend on each key (keys outside the graph are ignored).

    >>> from plait.graph.spec import Task, Data, Ref
    >>> dependents({"x": Data("x", 1), "y": Task("y", abs, Ref("x"))})
    {'x': {'y'}, 'y': set()}
    """
    out: dict = {k: set() for k in dsk}
    for k, node in dsk.items():
        for d in node.dependencies:
            s = out.get(d)
            if s is not None:
                s.add(k)
    return out


def check_dependencies(dsk: Mapping[Key, Node], available: Iterable = ()) -> None:
    """Raise :class:`MissingDependencyError` if a task needs a key nobody provides."""
    available = set(available)
    for k, node in dsk.items():
        for d in node.dependencies:
            if d not in dsk and d not in available:
                raise MissingDependencyError(d, k)


def find_cycle(dsk: Mapping[Key, Node], keys: Iterable | None = None) -> list | None:
    """A list of keys forming a cycle, or None.

    >>> from plait.graph.spec import Alias
    >>> find_cycle({"a": Alias("a", "b"), "b": Alias("b", "a")})
    ['a', 'b']
    """
    state: dict = {}  # 1 on the current path, 2 finished
    for root in dsk if keys is None else keys:
        if state.get(root) == 2 or root not in dsk:
            continue
        path = [root]
        state[root] = 1
        iters = [iter(dsk[root].dependencies)]
        while iters:
            for d in iters[-1]:
                if d not in dsk:
                    continue
                s = state.get(d)
                if s == 1:
                    return path[path.index(d):]
                if s is None:
                    state[d] = 1
                    path.append(d)
                    iters.append(iter(dsk[d].dependencies))
                    break
            else:
                state[path.pop()] = 2
                iters.pop()
    return None


def toposort(dsk: Mapping[Key, Node]) -> list:
    """Keys in an order where every key comes after its dependencies.

    Raises :class:`CycleError` naming the keys on the cycle.

    >>> from plait.graph.spec import Task, Data, Ref
    >>> toposort({"y": Task("y", abs, Ref("x")), "x": Data("x", -1)})
    ['x', 'y']
    """
    remaining = {}
    ready = []
    for k, node in dsk.items():
        n = 0
        for d in node.dependencies:
            if d in dsk:
                n += 1
        remaining[k] = n
        if n == 0:
            ready.append(k)
    users = dependents(dsk)
    out = []
    ready.reverse()
    while ready:
        k = ready.pop()
        out.append(k)
        for u in users[k]:
            remaining[u] -= 1
            if remaining[u] == 0:
                ready.append(u)
    if len(out) != len(dsk):
        left = [k for k, n in remaining.items() if n]
        raise CycleError(find_cycle(dsk, left) or left)
    return out


def cull(dsk: Mapping[Key, Node], keys: Iterable) -> tuple[dict, dict]:
    """The part of ``dsk`` needed to compute ``keys``, and its dependencies.

    Raises :class:`MissingDependencyError` when a needed key is absent.

    >>> from plait.graph.spec import Task, Data, Ref
    >>> g = {"x": Data("x", 1), "y": Task("y", abs, Ref("x")), "z": Data("z", 0)}
    >>> sorted(cull(g, ["y"])[0])
    ['x', 'y']
    """
    out: dict = {}
    deps: dict = {}
    stack = []
    for k in keys:
        if k not in dsk:
            raise KeyError(
                f"key {k!r} was asked for but is not in the graph; "
                f"the graph has {len(dsk)} keys"
            )
        stack.append(k)
    seen = set(stack)
    while stack:
        k = stack.pop()
        node = dsk[k]
        out[k] = node
        nd = node.dependencies
        deps[k] = nd
        for d in nd:
            if d not in seen:
                if d not in dsk:
                    raise MissingDependencyError(d, k)
                seen.add(d)
                stack.append(d)
    return out, deps

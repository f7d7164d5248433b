"""Static ordering of a graph so that running it keeps few intermediates alive.

The order is a depth-first post-order from the wanted keys: a task is placed right
after the last of its dependencies, so each result is consumed soon after it is made.
Among a task's dependencies, the one whose subtree needs the most results held at once
is visited first (the Sethi-Ullman rule for expression trees): its large need is paid
while nothing else is held, and the small subtrees that follow add only one held
result each. On a tree reduction over ``n`` leaves this keeps ``O(log n)`` results
alive instead of ``n``.

Executors hand out ready tasks by this priority (lower first) and run newly ready
dependents before unrelated work, so the static order and the dynamic one agree.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from .algorithms import CycleError, find_cycle
from .spec import Key, Node

__all__ = ["order"]


def _postorder(dsk: Mapping[Key, Node], roots: Iterable, children) -> list:
    """Iterative DFS post-order from ``roots``; ``children(key)`` lists what to visit."""
    out: list = []
    done: set = set()
    onpath: set = set()
    for root in roots:
        if root in done:
            continue
        if not dsk[root].dependencies:
            done.add(root)
            out.append(root)
            continue
        stack = [(root, iter(children(root)))]
        onpath.add(root)
        while stack:
            key, it = stack[-1]
            for d in it:
                if d in done:
                    continue
                if d in onpath:
                    raise CycleError(find_cycle(dsk, [d]) or [d])
                node = dsk.get(d)
                if node is None:
                    continue  # given data, not a task: nothing to order
                if not node.dependencies:
                    done.add(d)
                    out.append(d)
                    continue
                onpath.add(d)
                stack.append((d, iter(children(d))))
                break
            else:
                stack.pop()
                onpath.discard(key)
                done.add(key)
                out.append(key)
    return out


def order(dsk: Mapping[Key, Node], keys: Iterable | None = None) -> dict:
    """A priority for every key (0 runs first) that keeps memory low.

    ``keys`` are the wanted outputs, in the order the caller prefers them; by default
    every key that no other key depends on.

    >>> from operator import add
    >>> from plait.graph.spec import convert_graph
    >>> g = convert_graph({"a": 1, "b": (add, "a", 1), "c": (add, "a", 2),
    ...                    "d": (add, "b", "c")})
    >>> o = order(g)
    >>> o["a"] < o["b"] < o["d"] and o["c"] < o["d"]
    True
    """
    if keys is None:
        used = set()
        for node in dsk.values():
            used.update(node.dependencies)
        keys = [k for k in dsk if k not in used]
    else:
        keys = list(keys)

    if all(len(node.dependencies) < 2 for node in dsk.values()):
        # Chains and independent tasks: there is no choice to make among siblings.
        return {k: i for i, k in enumerate(_postorder(dsk, keys, lambda k: dsk[k].dependencies))}

    # Pass 1: how many results each subtree holds at its peak (bottom up).
    need: dict = {}
    for k in _postorder(dsk, keys, lambda k: dsk[k].dependencies):
        deps = dsk[k].dependencies
        if not deps:
            need[k] = 1
        elif len(deps) == 1:
            need[k] = need.get(deps[0], 1)
        else:
            ranked = sorted((need.get(d, 0) for d in deps), reverse=True)
            need[k] = max(n + i for i, n in enumerate(ranked))

    # Pass 2: the post-order that visits the neediest dependency first.
    def children(k):
        deps = dsk[k].dependencies
        if len(deps) < 2:
            return deps
        return sorted(deps, key=lambda d: need.get(d, 0), reverse=True)

    return {k: i for i, k in enumerate(_postorder(dsk, keys, children))}

"""Fusing closed groups of tasks into one task each.

Block-wise array code (the same NumPy steps applied to every block, as in the tutorial's
fractal loop) makes one small DAG per block: many tasks that only ever read tasks of the
same block. :func:`fuse_closed_groups` turns each such DAG into a single task that runs
its steps in order and drops intermediate values as soon as its later steps no longer
need them. The executor then sees one task per block instead of hundreds: less overhead,
and each block's data stays in one worker's cache.

A group is *closed* when every member depends only on members of the same group, so a
fused group depends on nothing outside it and fusing can never create a cycle. Only
groups with exactly one value needed outside (a requested key, or a key other tasks
read) are fused, since a task has one result.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Iterable, Mapping

from .algorithms import toposort
from .spec import Key, Node, Task

__all__ = ["fuse_closed_groups", "RunSubgraph"]


class RunSubgraph:
    """Run a small graph in topological order and return one key's value, releasing
    each intermediate after its last use."""

    __slots__ = ("nodes", "output", "last_use")

    def __init__(self, nodes: tuple, output: Key):
        self.nodes = nodes
        self.output = output
        last: dict = {}
        for i, node in enumerate(nodes):
            for d in node.dependencies:
                last[d] = i
        # For each step, the keys whose last reader it is.
        self.last_use = tuple(
            tuple(d for d in node.dependencies if last.get(d) == i and d != output)
            for i, node in enumerate(nodes)
        )

    def __call__(self) -> Any:
        data: dict = {}
        for node, done in zip(self.nodes, self.last_use):
            data[node.key] = node.run(data)
            for d in done:
                del data[d]
        return data[self.output]

    def __reduce__(self):
        return (RunSubgraph, (self.nodes, self.output))

    @property
    def __name__(self) -> str:
        node = self.nodes[-1]
        return getattr(getattr(node, "func", None), "__name__", "subgraph")


def fuse_closed_groups(dsk: Mapping[Key, Node], keys: Iterable,
                       group_of: Callable[[Key], Hashable | None]) -> dict:
    """Fuse each closed group of two or more tasks that has exactly one value needed
    outside it into one task under that value's key.

    ``group_of(key)`` names a key's group (e.g. its block index), or None to leave
    it alone.

    >>> from operator import add, mul
    >>> from plait.graph import convert_graph
    >>> g = convert_graph({("a", 0): 1, ("b", 0): (add, ("a", 0), 1),
    ...                    ("c", 0): (mul, ("a", 0), ("b", 0))})
    >>> fused = fuse_closed_groups(g, [("c", 0)], lambda k: k[1:])
    >>> list(fused), fused[("c", 0)].run({})
    ([('c', 0)], 2)
    """
    wanted = set(keys)
    order = toposort(dsk)
    closed: dict = {}  # key -> group, for members of closed groups
    for k in order:
        g = group_of(k)
        if g is None:
            continue
        node = dsk[k]
        if all(closed.get(d, _NO_GROUP) == g for d in node.dependencies):
            closed[k] = g
    if not closed:
        return dict(dsk)
    members: dict = {}
    for k in order:  # topological order within each group
        g = closed.get(k, _NO_GROUP)
        if g is not _NO_GROUP:
            members.setdefault(g, []).append(k)
    needed_outside: set = set(wanted)
    for k, node in dsk.items():
        g = closed.get(k, _NO_GROUP)
        for d in node.dependencies:
            if closed.get(d, _NO_GROUP) != g or g is _NO_GROUP:
                needed_outside.add(d)
    out = dict(dsk)
    for g, ks in members.items():
        outputs = [k for k in ks if k in needed_outside]
        if len(ks) < 2 or len(outputs) != 1 or not any(type(dsk[k]) is Task for k in ks):
            continue
        (output,) = outputs
        # Only what the output needs: members no path to the output uses are dropped
        # with it (a culled graph has none).
        for k in ks:
            del out[k]
        out[output] = Task(output, RunSubgraph(tuple(dsk[k] for k in ks), output))
    return out


class _NoGroup:
    __slots__ = ()


_NO_GROUP: Any = _NoGroup()

"""Lowering: optimized expressions to a task graph, one task per partition for each
run of partition-wise steps.

Expressions first replace themselves by their lower-level form (a tree reduction
becomes a partition-wise chunk step plus combine tasks). Readers that differ only in
the columns they read are merged into one reader of the union, so that two results
computed together read the data once. Then partition-wise (:class:`Blockwise`) nodes
are grouped: a node joins its users' group when all its users are in one group and
read it partition by partition, and it is not itself an output. Each group becomes one
task per partition that runs the group's steps in order (:class:`FusedPartition`); a
group's only value seen outside is its top node's, under that node's key.
"""

from __future__ import annotations

from typing import Any, Mapping

from ...graph import Ref, Task
from ..meta import is_pandas
from .base import Expr, walk
from .blockwise import Blockwise, Projection
from .io import FromParts, FromPandas

__all__ = ["lower", "to_graph", "FusedPartition"]


class FusedPartition:
    """Run a partition's fused steps; ``inputs`` are the keys supplied as arguments."""

    __slots__ = ("nodes", "output", "inputs")

    def __init__(self, nodes: tuple, output: Any, inputs: tuple):
        self.nodes = nodes
        self.output = output
        self.inputs = inputs

    def __call__(self, *values: Any) -> Any:
        data = dict(zip(self.inputs, values))
        for node in self.nodes:
            data[node.key] = node.run(data)
        return data[self.output]

    def __reduce__(self):
        return (FusedPartition, (self.nodes, self.output, self.inputs))

    @property
    def __name__(self) -> str:
        names = [getattr(getattr(n, "func", None), "__name__", "step") for n in self.nodes]
        return "-".join(names[-3:]) if names else "fused"


def _with_name(expr: Expr, name: str) -> Expr:
    new = expr.substitute_operands(expr.operands)
    new._cache["name"] = name
    return new


def lower(roots: list) -> list:
    """Replace nodes by their lower-level forms (keeping their names)."""
    done: dict = {}
    for e in walk(roots):
        mapping = {d._name: done[d._name] for d in e.dependencies() if d._name in done}
        new = e.replace_dependencies(mapping)
        low = new._lower()
        if low is not None:
            new = lower([low])[0]
        if new._name != e._name:
            new = _with_name(new, e._name)
        done[e._name] = new
    return [done[r._name] for r in roots]


def _merge_readers(roots: list) -> list:
    """One reader for readers that differ only in their columns (see module docs)."""
    root_names = {r._name for r in roots}
    groups: dict = {}
    for e in walk(roots):
        if isinstance(e, (FromParts, FromPandas)):
            ops = list(e.operands)
            ops[e._parameters.index("columns_")] = None
            base = e.substitute_operands(ops)
            groups.setdefault(base._name, (base, []))[1].append(e)
    mapping: dict = {}
    for base, members in groups.values():
        narrowed = [m for m in members if m.columns_ is not None and m._name not in root_names]
        if not narrowed or len(members) < 2:
            continue
        if any(m.columns_ is None for m in members):
            merged = base  # the whole source is read anyway: select from it
        else:
            cols: list = []
            for m in members:
                cols += [c for c in m.columns_ if c not in cols]
            full = base._meta.columns if hasattr(base._meta, "columns") else cols
            ordered = [c for c in full if c in cols]
            ops = list(base.operands)
            ops[base._parameters.index("columns_")] = ordered
            merged = base.substitute_operands(ops)
        for m in narrowed:
            if m._name != merged._name:
                mapping[m._name] = _with_name(Projection(merged, list(m.columns_)), m._name)
    if not mapping:
        return roots
    done: dict = {}
    for e in walk(roots):
        if e._name in mapping:
            done[e._name] = mapping[e._name]
            continue
        deps = {d._name: done[d._name] for d in e.dependencies() if d._name in done}
        new = e.replace_dependencies(deps)
        done[e._name] = _with_name(new, e._name) if new._name != e._name else new
    return [done[r._name] for r in roots]


def _aligned_users(e: Expr, user: Expr) -> bool:
    """Whether ``user`` reads ``e`` partition by partition."""
    if not isinstance(user, Blockwise):
        return False
    if not is_pandas(e._meta) and not isinstance(e, Blockwise):
        return False
    n = user.npartitions
    return e.npartitions == n and not (e.npartitions == 1 and n != 1) and \
        (is_pandas(e._meta) or e._meta is None)


def to_graph(roots: list) -> dict:
    """The task graph computing every root (keys ``(root._name, i)``)."""
    roots = _merge_readers(lower(roots))
    order = list(walk(roots))
    users: dict = {e._name: [] for e in order}
    for e in order:
        for d in {d._name for d in e.dependencies()}:
            users[d].append(e)
    root_names = {r._name for r in roots}
    group_of: dict = {}
    for e in reversed(order):  # users first
        if not isinstance(e, Blockwise):
            continue
        us = users[e._name]
        if e._name not in root_names and us and all(_aligned_users(e, u) for u in us):
            gs = {group_of.get(u._name) for u in us}
            if len(gs) == 1 and None not in gs:
                group_of[e._name] = gs.pop()
                continue
        group_of[e._name] = e._name
    members: dict = {}
    for e in order:  # dependencies first: members in running order
        g = group_of.get(e._name)
        if g is not None:
            members.setdefault(g, []).append(e)
    graph: dict = {}
    for e in order:
        if not isinstance(e, Blockwise):
            graph.update(e._layer())
    for out_name, group in members.items():
        out = group[-1]
        if len(group) == 1:
            graph.update(out._layer())
            continue
        names = {m._name for m in group}
        for i in range(out.npartitions):
            nodes = tuple(m._task((m._name, i), i) for m in group)
            inputs: dict = {}
            for n in nodes:
                for d in n.dependencies:
                    if d[0] not in names:
                        inputs[d] = None
            key = (out_name, i)
            graph[key] = Task(key, FusedPartition(nodes, key, tuple(inputs)),
                              *[Ref(k) for k in inputs])
    return graph


def graph_of(roots: Mapping | list) -> dict:
    return to_graph(list(roots))

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

from typing import Any

from ...graph import Ref, Task
from ..meta import is_pandas
from .base import Expr, walk
from .blockwise import Blockwise
from .columns import Projection
from .io import FromPandas, FromParts

__all__ = ["FusedPartition", "lower", "to_graph"]


class _Local:
    __slots__ = ("j",)

    def __init__(self, j: int):
        self.j = j

    def __reduce__(self):
        return (_Local, (self.j,))


class _Ext:
    __slots__ = ("k",)

    def __init__(self, k: int):
        self.k = k

    def __reduce__(self):
        return (_Ext, (self.k,))


def _resolve(obj: Any, out: list, values: tuple) -> Any:
    t = type(obj)
    if t is _Local:
        return out[obj.j]
    if t is _Ext:
        return values[obj.k]
    if t is list or t is tuple:
        return t(_resolve(o, out, values) for o in obj)
    if t is dict:
        return {k: _resolve(v, out, values) for k, v in obj.items()}
    return obj


class FusedPartition:
    """One partition's run of fused partition-wise steps: the same plan for every
    partition of a group, called with that partition's inputs (values of other keys,
    and per-partition values such as a reader's part).

    ``steps`` are ``(operation, args, kwargs)`` whose arguments refer to earlier
    steps' outputs (``_Local``) or to the call's inputs (``_Ext``); each output is
    dropped after its last use, so a partition holds few intermediates at once.
    """

    __slots__ = ("names", "release", "steps")

    def __init__(self, steps: tuple, names: tuple):
        self.steps = steps
        self.names = names
        last: dict = {}
        for j, (_, args, kwargs) in enumerate(steps):
            for loc in _locals_in((args, kwargs)):
                last[loc] = j
        self.release = tuple(tuple(loc for loc, lj in last.items() if lj == j)
                             for j in range(len(steps)))

    def __call__(self, *values: Any) -> Any:
        out: list = [None] * len(self.steps)
        for j, (op, args, kwargs) in enumerate(self.steps):
            a = _resolve(args, out, values)
            out[j] = op(*a, **_resolve(kwargs, out, values)) if kwargs else op(*a)
            for loc in self.release[j]:
                out[loc] = None
        return out[-1]

    def __reduce__(self):
        return (FusedPartition, (self.steps, self.names))

    @property
    def __name__(self) -> str:
        return "-".join(n.rsplit("-", 1)[0] for n in self.names[-3:]) or "fused"


def _locals_in(obj: Any) -> list:
    t = type(obj)
    if t is _Local:
        return [obj.j]
    if t is list or t is tuple:
        return [x for o in obj for x in _locals_in(o)]
    if t is dict:
        return [x for o in obj.values() for x in _locals_in(o)]
    return []


def _plan(group: list) -> tuple:
    """The shared plan of a group and the list of its inputs: ``("key", name,
    broadcast)`` for another expression's partition, ``("part", j)`` for member j's
    per-partition value."""
    from .blockwise import PART, In

    index = {m._name: j for j, m in enumerate(group)}
    inputs: list = []
    positions: dict = {}

    def convert(obj: Any, j: int) -> Any:
        t = type(obj)
        if t is In:
            if obj.name in index:
                return _Local(index[obj.name])
            ident: tuple = ("key", obj.name, obj.broadcast)
        elif obj is PART:
            ident = ("part", j)
        elif t is list or t is tuple:
            return t(convert(o, j) for o in obj)
        elif t is dict:
            return {k: convert(v, j) for k, v in obj.items()}
        else:
            return obj
        if ident not in positions:
            positions[ident] = len(inputs)
            inputs.append(ident)
        return _Ext(positions[ident])

    steps = []
    for j, m in enumerate(group):
        op, args, kwargs = m._template()
        steps.append((op, convert(args, j), convert(kwargs, j)))
    return FusedPartition(tuple(steps), tuple(m._name for m in group)), inputs


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


def _groups(roots: list) -> tuple:
    """Lowered roots, all nodes (dependencies first), and the fused groups
    ``{output name: [members in running order]}``."""
    roots = _merge_readers(lower(roots))
    order = list(walk(roots))
    users: dict = {e._name: [] for e in order}
    for e in order:
        for d in {d._name for d in e.dependencies()}:
            users[d].append(e)
    root_names = {r._name for r in roots}
    # Slices of an in-memory frame cost less than a task: each group that reads one
    # takes its own copy of the step instead of waiting for a shared task.
    repeat = {e._name for e in order if _cheap(e) and e._name not in root_names
              and users[e._name] and all(_aligned_users(e, u) for u in users[e._name])}
    group_of: dict = {}
    for e in reversed(order):  # users first
        if not isinstance(e, Blockwise) or e._name in repeat:
            continue
        us = users[e._name]
        if e._name not in root_names and us and all(_aligned_users(e, u) for u in us):
            gs = {group_of.get(u._name) for u in us}
            if len(gs) == 1 and None not in gs:
                group_of[e._name] = gs.pop()
                continue
        group_of[e._name] = e._name
    position = {e._name: i for i, e in enumerate(order)}
    members: dict = {}
    for e in order:  # dependencies first: members in running order
        g = group_of.get(e._name)
        if g is not None:
            members.setdefault(g, []).append(e)
    if repeat:
        for g, group in members.items():
            names = {m._name for m in group}
            stack = [d for m in group for d in m.dependencies() if d._name in repeat]
            while stack:
                d = stack.pop()
                if d._name not in names:
                    names.add(d._name)
                    group.append(d)
                    stack.extend(x for x in d.dependencies() if x._name in repeat)
            group.sort(key=lambda m: position[m._name])
    return roots, order, members


def _cheap(e: Expr) -> bool:
    while isinstance(e, Projection):
        e = e.frame
    return isinstance(e, FromPandas)


def fused_plan(roots: list) -> str:
    """The lowered plan as text: each fused group (one task per partition) and the
    other steps, in running order."""
    _, order, members = _groups(roots)
    lines = []
    done: set = set()
    for e in order:
        if not isinstance(e, Blockwise):
            lines.append(f"{type(e).__name__}({e.label}) -> {e.npartitions} task(s)"
                         if not hasattr(e, "_layer") else
                         f"{e.label}: {len(e._layer())} task(s)")
            continue
        for out_name, group in members.items():
            if out_name not in done and group[-1]._name == e._name:
                done.add(out_name)
                steps = ", ".join(m.label for m in group)
                lines.append(f"fused [{steps}]: {e.npartitions} task(s), one per partition")
    return "\n".join(lines)


def to_graph(roots: list) -> dict:
    """The task graph computing every root (keys ``(root._name, i)``)."""
    roots, order, members = _groups(roots)
    graph: dict = {}
    for e in order:
        if not isinstance(e, Blockwise):
            graph.update(e._layer())
    for out_name, group in members.items():
        out = group[-1]
        if len(group) == 1:
            graph.update(out._layer())
            continue
        plan, inputs = _plan(group)
        for i in range(out.npartitions):
            values = [Ref((x[1], 0 if x[2] else i)) if x[0] == "key" else group[x[1]]._partition_value(i)
                      for x in inputs]
            key = (out_name, i)
            graph[key] = Task(key, plan, *values)
    return graph

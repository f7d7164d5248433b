"""Graph rewrites that cut per-task overhead: fusing linear chains and inlining.

Both are pure functions from a graph to a new graph; the keys asked for stay in the
result with the same values, so collections can apply them before any executor.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from .algorithms import dependents as _dependents
from .spec import (
    _SLOT,
    Alias,
    Data,
    Key,
    Node,
    Ref,
    Task,
    _Call,
    _Evaluate,
)

__all__ = ["RunChain", "fuse_linear", "inline", "inline_functions"]


class RunChain:
    """Run a linear chain of tasks in one call; each step feeds the next.

    Subclasses change how one step runs (``step``) and what the chain returns
    (``finish``), e.g. to stream values between steps.
    """

    __slots__ = ("first", "rest")

    def __init__(self, first: Node, rest: tuple):
        self.first = first
        self.rest = rest

    def __call__(self, *values: Any) -> Any:
        node = self.first
        result = self.step(node, dict(zip(node.dependencies, values)))
        for step in self.rest:
            result = self.step(step, {node.key: result})
            node = step
        return self.finish(result)

    @staticmethod
    def step(node: Node, data: Mapping) -> Any:
        return node.run(data)

    @staticmethod
    def finish(value: Any) -> Any:
        return value

    def __reduce__(self):
        return (type(self), (self.first, self.rest))

    @property
    def __name__(self) -> str:
        last = self.rest[-1] if self.rest else self.first
        return getattr(getattr(last, "func", None), "__name__", "chain")


def fuse_linear(dsk: Mapping[Key, Node], keys: Iterable = (),
                runner: Callable[[Node, tuple], Callable] = RunChain) -> tuple[dict, dict]:
    """Fuse chains ``a -> b -> c`` where each link has one dependent and the next has
    one dependency, into one task under the last key. Keys in ``keys`` are kept.
    ``runner(first, rest)`` makes the fused task's function (collections pass their own,
    e.g. to stream values between the steps).

    Returns the new graph and its dependencies.

    >>> from plait.graph.spec import convert_graph
    >>> g = convert_graph({"a": 1, "b": (abs, "a"), "c": (str, "b"), "d": (len, "c")})
    >>> fused, deps = fuse_linear(g, ["d"])
    >>> sorted(fused), fused["d"].run({"a": -10})
    (['a', 'd'], 2)
    """
    keep = set(keys)
    users = _dependents(dsk)
    # child -> parent link when the child has one user, that user has one dependency,
    # and the child is not wanted for itself.
    parent_of: dict = {}
    for k, node in dsk.items():
        deps = node.dependencies
        if len(deps) == 1 and type(node) is Task:
            d = deps[0]
            if d in dsk and d not in keep and len(users[d]) == 1 and type(dsk[d]) is Task:
                parent_of[d] = k
    if not parent_of:
        return dict(dsk), {k: n.dependencies for k, n in dsk.items()}
    child_of = {p: c for c, p in parent_of.items()}
    out: dict = {}
    for k, node in dsk.items():
        if k in parent_of:
            continue  # folded into the chain's top
        if k not in child_of:
            out[k] = node
            continue
        chain = [node]
        c = child_of.get(k)
        while c is not None:
            chain.append(dsk[c])
            c = child_of.get(c)
        chain.reverse()
        first = chain[0]
        out[k] = Task(k, runner(first, tuple(chain[1:])), *[Ref(d) for d in first.dependencies])
    return out, {k: n.dependencies for k, n in out.items()}


def _expression(node: Node, dsk: Mapping, inlined: set, refs: list) -> Any:
    """A template computing ``node``, with the inlined keys expanded in place."""
    if type(node) is Data:
        return node.value
    if type(node) is Alias:
        return _arg(Ref(node.target), dsk, inlined, refs)
    args = tuple(_arg(a, dsk, inlined, refs) for a in node.args)
    kwargs = {k: _arg(v, dsk, inlined, refs) for k, v in node.kwargs.items()}
    return _Call(node.func, args, kwargs)


def _arg(obj: Any, dsk: Mapping, inlined: set, refs: list) -> Any:
    t = type(obj)
    if t is Ref:
        if obj.key in inlined:
            return _expression(dsk[obj.key], dsk, inlined, refs)
        refs.append(obj)
        return _SLOT
    if t is list or t is tuple:
        return t(_arg(a, dsk, inlined, refs) for a in obj)
    if t is dict:
        return {k: _arg(v, dsk, inlined, refs) for k, v in obj.items()}
    return obj


def inline(dsk: Mapping[Key, Node], keys: Iterable | None = None, inline_constants: bool = True) -> dict:
    """Compute the given keys inside each of their dependents instead of as tasks.

    With ``keys=None`` and ``inline_constants`` every :class:`Data` node that others
    depend on is inlined. Inlined keys are removed from the graph.

    >>> from plait.graph.spec import convert_graph
    >>> g = convert_graph({"x": 1, "y": (abs, "x"), "z": (str, "y")})
    >>> g2 = inline(g, ["y"])
    >>> sorted(g2), g2["z"].run({"x": -3})
    (['x', 'z'], '3')
    """
    if keys is None:
        keys = [k for k, n in dsk.items() if type(n) is Data] if inline_constants else []
    inlined = set(keys)
    if not inlined:
        return dict(dsk)
    users = _dependents(dsk)
    touched = set()
    for k in inlined:
        touched.update(users.get(k, ()))
    touched -= inlined
    out = {}
    for k, node in dsk.items():
        if k in inlined and users.get(k):
            continue
        if k in touched:
            refs: list = []
            template = _expression(node, dsk, inlined, refs)
            out[k] = Task(k, _Evaluate(template), *refs)
        else:
            out[k] = node
    return out


def inline_functions(
    dsk: Mapping[Key, Node], output: Iterable, fast_functions: Iterable[Callable]
) -> dict:
    """Inline tasks whose function is one of ``fast_functions`` (cheap calls such as
    ``getitem``) into their dependents, unless they are outputs.

    >>> from operator import neg
    >>> from plait.graph.spec import convert_graph
    >>> g = convert_graph({"x": 1, "y": (neg, "x"), "z": (abs, "y")})
    >>> sorted(inline_functions(g, ["z"], [neg]))
    ['x', 'z']
    """
    fast = set(fast_functions)
    keep = set(output)
    users = _dependents(dsk)
    keys = [
        k
        for k, n in dsk.items()
        if type(n) is Task and n.func in fast and k not in keep and users[k]
    ]
    return inline(dsk, keys)


"""Bag graph optimisation: fuse element-wise chains so partitions stream.

Every per-partition function of a bag is wrapped in :class:`Lazy`. Run as a task of its
own, a Lazy function materialises its result (an iterator becomes a list), so a value
that crosses a task boundary can be read twice or pickled. Inside a fused chain the
steps call the unwrapped functions, passing iterators from one to the next, and only
the chain's end is materialised: ``read -> map -> filter -> sum`` holds one item at a
time, not three lists.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping

from ..graph import Node, Task, cull, fuse_linear
from ..graph.optimize import RunChain

__all__ = ["Lazy", "materialize", "optimize"]


def materialize(value: Any) -> Any:
    """A list for an iterator; anything else as it is."""
    return list(value) if isinstance(value, Iterator) else value


class Lazy:
    """A partition function that may return an iterator; called directly, the result is
    materialised; ``lazy`` calls it without that."""

    __slots__ = ("func",)

    def __init__(self, func: Callable):
        self.func = func

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return materialize(self.func(*args, **kwargs))

    def __reduce__(self):
        return (Lazy, (self.func,))

    @property
    def __name__(self) -> str:
        return getattr(self.func, "__name__", type(self.func).__name__)


class LazyChain(RunChain):
    """The function of a fused chain: intermediate values stay lazy, the end is
    materialised."""

    __slots__ = ()

    @staticmethod
    def step(node: Node, data: Mapping) -> Any:
        if type(node) is Task and type(node.func) is Lazy:
            return node.call(node.func.func, data)
        return node.run(data)

    finish = staticmethod(materialize)


def optimize(dsk: Mapping, keys: list, **kwargs: Any) -> dict:
    """Cull to ``keys``, then fuse linear chains into streaming tasks."""
    culled, _ = cull(dsk, keys)
    fused, _ = fuse_linear(culled, keys, runner=LazyChain)
    return fused

"""Expressions that change the number of partitions: tree reductions, partition
selection, head and tail.

:class:`TreeReduce` is the one reduction node: ``chunk`` on every partition (fused into
that partition's task), then ``combine`` over groups of ``split_every`` results, level by
level, then ``aggregate`` once. Sums, means, variances, counts and the group-by
aggregations all build on it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd

from ... import config
from ...graph import Ref, Task
from ..meta import is_pandas
from .base import Expr
from .blockwise import ALL, Blockwise, _CallWithKwargs
from .io import FromPandas, FromParts

__all__ = [
    "Head",
    "Partitions",
    "ReduceChunk",
    "Tail",
    "TreeCombine",
    "TreeReduce",
    "split_every_default",
]


def split_every_default() -> int:
    """Partial results one combine task merges: ``dataframe.split-every``, else
    ``array.split-every``, else 8."""
    value = config.get("dataframe.split-every", None)
    if value is None:
        value = config.get("array.split-every", None)
    return int(value) if value else 8


class TreeReduce(Expr):
    """``aggregate(combine(...combine([chunk(*parts_i) ...])...))`` as a tree.

    ``frames`` are aligned expressions; ``chunk(*parts_i, **chunk_kwargs)`` runs on
    partition i of each; ``combine(list, **combine_kwargs)`` merges up to
    ``split_every`` outputs (it is skipped when one level suffices);
    ``aggregate(list, **aggregate_kwargs)`` makes the result, a one-partition frame or
    a scalar (when ``meta`` is not a pandas object).
    """

    _parameters = ("frames", "chunk", "combine", "aggregate", "meta", "split_every",
                   "chunk_kwargs", "combine_kwargs", "aggregate_kwargs", "label_")
    _defaults = {"split_every": None, "chunk_kwargs": None, "combine_kwargs": None,
                 "aggregate_kwargs": None, "label_": None}

    def __init__(self, frames: list, chunk: Callable, combine: Callable | None,
                 aggregate: Callable, meta: Any, split_every: int | None = None,
                 chunk_kwargs: dict | None = None, combine_kwargs: dict | None = None,
                 aggregate_kwargs: dict | None = None, label: str | None = None):
        if isinstance(frames, Expr):
            frames = [frames]
        frames = list(frames)
        if not frames:
            raise ValueError("TreeReduce needs at least one frame")
        n = {f.npartitions for f in frames}
        if len(n) > 1:
            raise ValueError(f"TreeReduce frames must have the same number of partitions, "
                             f"got {sorted(n)}")
        if split_every is not None and (split_every is False or int(split_every) < 2):
            raise ValueError(f"split_every must be an integer >= 2, got {split_every!r}")
        self.operands = [frames, chunk, combine if combine is not None else aggregate,
                         aggregate, meta, split_every, dict(chunk_kwargs or {}),
                         dict(combine_kwargs or {}), dict(aggregate_kwargs or {}), label]
        self._cache = {}

    @property
    def label(self) -> str:
        return self.label_ or getattr(self.chunk, "__name__", "reduce").strip("_").replace("_", "-")

    def _compute_meta(self) -> Any:
        return self.meta

    def _compute_divisions(self) -> tuple:
        return (None, None)

    def _child_needs(self, needed: Any) -> dict:
        return {d._name: ALL for d in self.dependencies()}

    def _lower(self) -> Expr:
        chunk = ReduceChunk(self.frames, self.chunk, self.chunk_kwargs, self.label)
        return TreeCombine(chunk, self.combine, self.aggregate, self.meta,
                           self.split_every or split_every_default(), self.combine_kwargs,
                           self.aggregate_kwargs, self.label)

    def _tree_repr_args(self) -> list:
        return [f"chunk={getattr(self.chunk, '__name__', self.chunk)}"]


class ReduceChunk(Blockwise):
    """The per-partition step of a tree reduction."""

    _parameters = ("frames", "chunk", "chunk_kwargs", "label_")

    @property
    def label(self) -> str:
        return f"{self.label_}-chunk"

    def _operation(self) -> Callable:
        return _CallWithKwargs(self.chunk)

    def _call_args(self) -> tuple[list, dict]:
        return list(self.frames), dict(self.chunk_kwargs)

    def _compute_meta(self) -> Any:
        return None  # never inspected: only the reduction's result has a structure

    def _compute_divisions(self) -> tuple:
        return self.frames[0].divisions


def _apply_kwargs(func: Callable, kwargs: dict, values: list) -> Any:
    return func(values, **kwargs)


class TreeCombine(Expr):
    """The combine and aggregate levels of a tree reduction (see :class:`TreeReduce`)."""

    _parameters = ("chunks", "combine", "aggregate", "meta", "split_every",
                   "combine_kwargs", "aggregate_kwargs", "label_")

    @property
    def label(self) -> str:
        return f"{self.label_}-agg"

    def _compute_meta(self) -> Any:
        return self.meta

    def _compute_divisions(self) -> tuple:
        return (None, None)

    def _layer(self) -> dict:
        name = self._name
        keys = [(self.chunks._name, i) for i in range(self.chunks.npartitions)]
        layer: dict = {}
        level = 0
        while len(keys) > self.split_every:
            new_keys = []
            for j in range(0, len(keys), self.split_every):
                key = (f"{name}-combine{level}", j // self.split_every)
                group = [Ref(k) for k in keys[j:j + self.split_every]]
                layer[key] = Task(key, _apply_kwargs, self.combine, self.combine_kwargs, group)
                new_keys.append(key)
            keys = new_keys
            level += 1
        layer[(name, 0)] = Task((name, 0), _apply_kwargs, self.aggregate,
                                self.aggregate_kwargs, [Ref(k) for k in keys])
        return layer


# -- choosing partitions -----------------------------------------------------------------

class Partitions(Expr):
    """The partitions ``indices`` of ``frame`` (``df.partitions[...]``)."""

    _parameters = ("frame", "indices")

    def _compute_meta(self) -> Any:
        return self.frame._meta

    def _compute_divisions(self) -> tuple:
        from .io import _sub_divisions

        return _sub_divisions(self.frame.divisions, list(self.indices))

    def _child_needs(self, needed: Any) -> dict:
        return {self.frame._name: needed}

    def _layer(self) -> dict:
        from ...graph import Alias

        return {(self._name, j): Alias((self._name, j), (self.frame._name, i))
                for j, i in enumerate(self.indices)}

    def _simplify(self) -> Expr | None:
        """Select partitions before partition-wise work: read only what is needed."""
        return push_partitions(self.frame, list(self.indices))


def push_partitions(frame: Expr, indices: list) -> Expr | None:
    """``frame`` restricted to ``indices``, with the selection moved below partition-wise
    steps down to the readers; None when it cannot move."""
    if list(indices) == list(range(frame.npartitions)):
        return frame
    if isinstance(frame, (FromParts, FromPandas)):
        return frame.with_parts(indices)
    if isinstance(frame, Partitions):
        inner = [frame.indices[i] for i in indices]
        return push_partitions(frame.frame, inner) or Partitions(frame.frame, inner)
    if isinstance(frame, Blockwise) and not isinstance(frame, ReduceChunk):
        n = frame.npartitions
        mapping = {}
        for d in frame.dependencies():
            if is_pandas(d._meta) and not (d.npartitions == 1 and n != 1):
                if d.npartitions != n:
                    return None
                mapping[d._name] = push_partitions(d, indices) or Partitions(d, indices)
        new = frame.replace_dependencies(mapping)
        if hasattr(new, "given_divisions") and new.given_divisions is not None:
            ops = list(new.operands)
            from .io import _sub_divisions

            ops[new._parameters.index("given_divisions")] = _sub_divisions(
                tuple(new.given_divisions), indices)
            new = new.substitute_operands(ops)
        return new
    return None


def _head(parts: list, n: int) -> Any:
    if len(parts) == 1:
        return parts[0].head(n)
    return pd.concat(parts).head(n)


def _tail(parts: list, n: int) -> Any:
    if len(parts) == 1:
        return parts[0].tail(n)
    return pd.concat(parts).tail(n)


class Head(Expr):
    """The first ``n`` rows of the first ``npartitions`` partitions (-1: all), as
    one partition."""

    _parameters = ("frame", "n", "npartitions_")

    def _compute_meta(self) -> Any:
        return self.frame._meta

    def _compute_divisions(self) -> tuple:
        return (self.frame.divisions[0], None) if self.frame.known_divisions else (None, None)

    def _child_needs(self, needed: Any) -> dict:
        return {self.frame._name: needed}

    def _count(self) -> int:
        k = self.npartitions_
        return self.frame.npartitions if k == -1 else min(k, self.frame.npartitions)

    def _simplify(self) -> Expr | None:
        k = self._count()
        if k == self.frame.npartitions:
            return None
        pushed = push_partitions(self.frame, list(range(k)))
        if pushed is None:
            return None
        return Head(pushed, self.n, -1)

    def _layer(self) -> dict:
        k = self._count()
        key = (self._name, 0)
        refs = [Ref((self.frame._name, i)) for i in range(k)]
        return {key: Task(key, _head, refs, self.n)}


class Tail(Head):
    """The last ``n`` rows of the last partition."""

    _parameters = ("frame", "n")

    def _compute_divisions(self) -> tuple:
        return (None, self.frame.divisions[-1]) if self.frame.known_divisions else (None, None)

    def _simplify(self) -> Expr | None:
        last = self.frame.npartitions - 1
        if last == 0:
            return None
        pushed = push_partitions(self.frame, [last])
        return Tail(pushed, self.n) if pushed is not None else None

    def _layer(self) -> dict:
        key = (self._name, 0)
        last = self.frame.npartitions - 1
        return {key: Task(key, _tail, [Ref((self.frame._name, last))], self.n)}


def warn_short_head(n: int, got: int, npartitions: int) -> None:
    warnings.warn(
        f"head: only {got} of the {n} rows asked for are in the first {npartitions} "
        f"partition(s); pass npartitions=-1 to search every partition",
        UserWarning, stacklevel=3)

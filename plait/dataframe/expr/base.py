"""The expression node: what every logical dataframe operation is built from.

An :class:`Expr` is an immutable node of a tree (a DAG, since equal sub-expressions are
shared): its ``operands`` are plain values or other expressions. From the operands alone
it knows

- ``_name``: ``<label>-<token>``, a deterministic name (equal expressions get equal
  names, in every process), which is also the name of its output keys
  ``(_name, i)``, so shared sub-expressions become shared tasks;
- ``_meta``: an empty pandas object with the output's structure;
- ``divisions``: the index boundaries of its partitions, None where unknown.

Subclasses list their operand names in ``_parameters`` (with ``_defaults``) and
implement ``_compute_meta``, ``_compute_divisions`` and either ``_task`` (one task per
partition, when the expression is :class:`~.blockwise.Blockwise`) or ``_layer`` (any
tasks). Rewrites never mutate: they build new nodes with :meth:`Expr.substitute_operands`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pandas as pd

from ...tokenize import tokenize

__all__ = ["Expr", "is_expr", "walk"]


def is_expr(x: Any) -> bool:
    return isinstance(x, Expr)


def _exprs_in(obj: Any, out: list) -> None:
    if isinstance(obj, Expr):
        out.append(obj)
    elif type(obj) in (list, tuple):
        for o in obj:
            _exprs_in(o, out)
    elif type(obj) is dict:
        for o in obj.values():
            _exprs_in(o, out)


def _replace_in(obj: Any, mapping: dict) -> Any:
    """``obj`` with the expressions named in ``mapping`` replaced (one level of
    list/tuple/dict nesting is searched, like :func:`_exprs_in`)."""
    if isinstance(obj, Expr):
        return mapping.get(obj._name, obj)
    if type(obj) in (list, tuple):
        return type(obj)(_replace_in(o, mapping) for o in obj)
    if type(obj) is dict:
        return {k: _replace_in(v, mapping) for k, v in obj.items()}
    return obj


class Expr:
    """Base of the logical dataframe expressions."""

    _parameters: tuple = ()
    _defaults: dict = {}
    #: short lower-case label used in names and plans
    _label: str | None = None

    def __init__(self, *args: Any, **kwargs: Any):
        if len(args) > len(self._parameters):
            raise TypeError(f"{type(self).__name__} takes {len(self._parameters)} operands "
                            f"({', '.join(self._parameters)}), got {len(args)}")
        operands = list(args)
        for p in self._parameters[len(args):]:
            if p in kwargs:
                operands.append(kwargs.pop(p))
            elif p in self._defaults:
                operands.append(self._defaults[p])
            else:
                raise TypeError(f"{type(self).__name__} needs the operand {p!r}")
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unknown operands {sorted(kwargs)}")
        self.operands = operands
        self._cache: dict = {}

    # -- operands ------------------------------------------------------------------------
    def operand(self, name: str) -> Any:
        return self.operands[self._parameters.index(name)]

    def __getattr__(self, key: str) -> Any:
        # Operands read as attributes (expr.frame, expr.columns); only declared names.
        params = type(self)._parameters
        if key in params:
            return self.operands[params.index(key)]
        raise AttributeError(f"{type(self).__name__} has no attribute {key!r}")

    def dependencies(self) -> list:
        """The expressions among the operands (one level into lists, tuples, dicts)."""
        out: list = []
        for op in self.operands:
            _exprs_in(op, out)
        return out

    def substitute_operands(self, operands: list) -> Expr:
        """The same kind of node over new operands (``__init__`` is not run again, so
        subclasses with their own constructor signature rebuild correctly)."""
        new = object.__new__(type(self))
        new.operands = list(operands)
        new._cache = {}
        return new

    def replace_dependencies(self, mapping: dict) -> Expr:
        """A copy with dependencies replaced by name (``{old_name: new_expr}``)."""
        new = [_replace_in(op, mapping) for op in self.operands]
        if all(a is b for a, b in zip(new, self.operands)):
            return self
        return self.substitute_operands(new)

    # -- identity ------------------------------------------------------------------------
    @property
    def label(self) -> str:
        return self._label or type(self).__name__.lower()

    @property
    def _name(self) -> str:
        name = self._cache.get("name")
        if name is None:
            name = f"{self.label}-{tokenize(type(self).__name__, *self.operands)}"
            self._cache["name"] = name
        return name

    def __plait_tokenize__(self) -> str:
        return self._name

    def __hash__(self) -> int:
        return hash(self._name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and other._name == self._name

    def __reduce__(self):
        return (_rebuild_expr, (type(self), self.operands))

    # -- structure -----------------------------------------------------------------------
    @property
    def _meta(self) -> Any:
        if "meta" not in self._cache:
            self._cache["meta"] = self._compute_meta()
        return self._cache["meta"]

    def _compute_meta(self) -> Any:
        raise NotImplementedError

    @property
    def divisions(self) -> tuple:
        if "divisions" not in self._cache:
            self._cache["divisions"] = tuple(self._compute_divisions())
        return self._cache["divisions"]

    def _compute_divisions(self) -> tuple:
        raise NotImplementedError

    @property
    def npartitions(self) -> int:
        return len(self.divisions) - 1

    @property
    def known_divisions(self) -> bool:
        d = self.divisions
        return len(d) > 0 and d[0] is not None

    @property
    def columns(self) -> list:
        meta = self._meta
        if isinstance(meta, pd.DataFrame):
            return list(meta.columns)
        if isinstance(meta, pd.Series):
            return [meta.name]
        return []

    # -- tasks ---------------------------------------------------------------------------
    def _layer(self) -> dict:
        """The tasks of this expression (keys ``(self._name, i)``)."""
        raise NotImplementedError(f"{type(self).__name__} has no task layer")

    def _lower(self) -> Expr | None:
        """A lower-level equivalent to use when building tasks, or None."""
        return None

    # -- optimizer hooks (see optimize.py) -------------------------------------------------
    def _simplify(self) -> Expr | None:
        """A simpler equivalent of this node alone (no-op removal), or None."""
        return None

    # -- display -------------------------------------------------------------------------
    def _tree_repr_args(self) -> list:
        out = []
        for p, op in zip(self._parameters, self.operands):
            if isinstance(op, Expr) or p in ("meta", "_divisions", "divisions"):
                continue
            if op is None or op is self._defaults.get(p, object()):
                continue
            text = repr(op) if not callable(op) else getattr(op, "__name__", repr(op))
            if isinstance(op, (pd.DataFrame, pd.Series)):
                text = f"<pandas {type(op).__name__} {op.shape}>"
            if len(text) > 60:
                text = text[:57] + "..."
            out.append(f"{p.strip('_')}={text}")
        return out

    def tree_repr(self, indent: int = 0, seen: set | None = None) -> str:
        seen = set() if seen is None else seen
        head = "  " * indent + type(self).__name__
        args = self._tree_repr_args()
        if args:
            head += ": " + " ".join(args)
        if self._name in seen:
            return head + "  (shared, shown above)"
        seen.add(self._name)
        lines = [head]
        for d in self.dependencies():
            lines.append(d.tree_repr(indent + 1, seen))
        return "\n".join(lines)

    def pprint(self) -> None:
        print(self.tree_repr())

    def __repr__(self) -> str:
        args = ", ".join(self._tree_repr_args())
        deps = ", ".join(d._name for d in self.dependencies())
        inner = ", ".join(x for x in (deps, args) if x)
        return f"{type(self).__name__}({inner})"


def _rebuild_expr(cls: type, operands: list) -> Expr:
    new = object.__new__(cls)
    new.operands = list(operands)
    new._cache = {}
    return new


def walk(roots: list) -> Iterator[Expr]:
    """Each distinct expression under ``roots`` once (by name), dependencies first."""
    seen: set = set()
    order: list = []
    stack: list = [(r, False) for r in reversed(roots)]
    while stack:
        e, done = stack.pop()
        if done:
            order.append(e)
            continue
        if e._name in seen:
            continue
        seen.add(e._name)
        stack.append((e, True))
        for d in reversed(e.dependencies()):
            if d._name not in seen:
                stack.append((d, False))
    return iter(order)


def cached(method: Any) -> Any:
    """Cache a no-argument method's value in the expression's ``_cache``."""
    key = method.__name__

    @functools.wraps(method)
    def wrapper(self: Expr) -> Any:
        if key not in self._cache:
            self._cache[key] = method(self)
        return self._cache[key]

    return wrapper

"""The expression optimizer: rewrites that keep results and cut work.

:func:`optimize` runs, in order:

1. **simplify**: each node may replace itself by something simpler (selecting every
   column, ``astype`` to the same dtypes and renaming to the same names disappear;
   ``head`` and ``partitions[...]`` move the partition choice down to the reader so
   only the partitions needed are read);
2. **predicate pushdown**: ``frame[frame.x > 0]`` over a reader that supports filters
   hands ``("x", ">", 0)`` to the reader (the filter itself stays, unless the reader
   says its filters are exact); of ``(x > 0) & (y < z)`` the simple terms go to the
   reader and the filter keeps the others;
3. **projection pushdown**: a pass from the outputs down computes which columns each
   node's users need; readers then read only those and assignments nobody reads
   are dropped;
4. simplify again.

Equal sub-expressions have equal names, so they become one set of tasks: common
sub-expressions are shared without a separate pass.
"""

from __future__ import annotations

import operator
from typing import Any

import pandas as pd

from .base import Expr, walk
from .blockwise import ALL
from .columns import Assign, Elemwise, Filter, PartitionMethod, Projection
from .io import FromParts

__all__ = ["optimize", "push_predicates", "push_projections", "simplify"]


def _rebuild_bottom_up(roots: list, rewrite: Any) -> list:
    """Apply ``rewrite(node) -> node`` to every node, dependencies first."""
    done: dict = {}
    for e in walk(roots):
        mapping = {d._name: done[d._name] for d in e.dependencies() if d._name in done}
        new = e.replace_dependencies(mapping)
        done[e._name] = rewrite(new)
    return [done[r._name] for r in roots]


def _simplify_node(e: Expr) -> Expr:
    for _ in range(20):
        new = e._simplify()
        if new is None or new._name == e._name:
            return e
        # the replacement's own dependencies may simplify further
        e = simplify(new)
    return e


def simplify(expr: Expr) -> Expr:
    """Remove no-op steps and move partition choices down (see module docstring)."""
    return _rebuild_bottom_up([expr], _simplify_node)[0]


# -- predicate pushdown -------------------------------------------------------------------

_COMPARISONS = {operator.eq: "==", operator.ne: "!=", operator.lt: "<", operator.le: "<=",
                operator.gt: ">", operator.ge: ">="}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _column_of(e: Any, source: Expr) -> Any:
    """The column name if ``e`` is ``source[name]`` (through row-local steps that keep
    the column as it is), else None."""
    if isinstance(e, Projection) and not isinstance(e.columns_, (list, tuple)):
        if _row_source(e.frame) == source._name and _column_intact(e.frame, e.columns_):
            return e.columns_
    return None


def _column_intact(frame: Expr, column: Any) -> bool:
    """Whether ``column`` of ``frame`` is the source's column unchanged."""
    while not isinstance(frame, FromParts):
        renamed = isinstance(frame, Assign) and column in [k for k, _ in frame.pairs]
        if isinstance(frame, (Projection, Filter, Assign)) and not renamed:
            frame = frame.frame
        else:
            return False
    return True


def _pushable(pred: Any, source: Expr) -> tuple[list, bool]:
    """``(triples, complete)``: the ``(column, op, value)`` triples of the simple terms
    ANDed at the top of the predicate, and whether they are the whole predicate.
    Rows failing any one of them fail the predicate, so a reader may drop them even
    when other terms (``x < y``) stay for the filter step."""
    if isinstance(pred, Elemwise) and pred.op is operator.and_ and len(pred.args) == 2:
        lt, lc = _pushable(pred.args[0], source)
        rt, rc = _pushable(pred.args[1], source)
        return lt + rt, lc and rc
    t = _triples(pred, source)
    return (t, True) if t is not None else ([], False)


def _remainder(pred: Any, source: Expr) -> Any:
    """The ANDed terms of the predicate that :func:`_pushable` could not hand to the
    reader (None when there are none)."""
    if isinstance(pred, Elemwise) and pred.op is operator.and_ and len(pred.args) == 2:
        left, right = _remainder(pred.args[0], source), _remainder(pred.args[1], source)
        if left is None or right is None:
            return right if left is None else left
        return Elemwise(operator.and_, left, right)
    return None if _triples(pred, source) is not None else pred


def _triples(pred: Any, source: Expr) -> list | None:
    """The predicate as ANDed ``(column, op, value)`` triples over ``source``, or None."""
    if not isinstance(pred, Expr):
        return None
    if isinstance(pred, Elemwise):
        op, args = pred.op, pred.args
        if op is operator.and_ and len(args) == 2:
            left, right = _triples(args[0], source), _triples(args[1], source)
            if left is not None and right is not None:
                return left + right
            return None
        if op in _COMPARISONS and len(args) == 2:
            sym = _COMPARISONS[op]
            a, b = args
            col = _column_of(a, source)
            if col is not None and _is_literal(b):
                return [(col, sym, b)]
            col = _column_of(b, source)
            if col is not None and _is_literal(a):
                return [(col, _FLIPPED[sym], a)]
            return None
        if op is operator.invert and len(args) == 1:
            col = _column_of(args[0], source)
            if col is not None and _is_bool_column(args[0]):
                return [(col, "==", False)]
            return None
    if isinstance(pred, PartitionMethod) and pred.method == "isin" and len(pred.args) == 1:
        col = _column_of(pred.frame, source)
        values = pred.args[0]
        if col is not None and isinstance(values, (list, tuple, set, frozenset)):
            return [(col, "in", list(values))]
        return None
    col = _column_of(pred, source)
    if col is not None and _is_bool_column(pred):
        return [(col, "==", True)]
    return None


def _is_bool_column(e: Expr) -> bool:
    meta = e._meta
    return isinstance(meta, pd.Series) and meta.dtype == bool


def _is_literal(x: Any) -> bool:
    return isinstance(x, (int, float, str, bool)) or type(x).__module__ in ("numpy", "datetime") \
        or isinstance(x, pd.Timestamp)


def _row_source(e: Expr) -> str | None:
    """The name of the reader under a chain of row-local steps (None if there is none
    or the chain branches onto another reader)."""
    while not isinstance(e, FromParts):
        if isinstance(e, (Projection, Filter, Assign)) or (
                isinstance(e, PartitionMethod) and e._row_local):
            e = e.frame
        elif isinstance(e, Elemwise) and e._row_local:
            frames = [a for a in e.args if isinstance(a, Expr)]
            if len(frames) != 1:
                return None
            e = frames[0]
        else:
            return None
    return e._name


def _row_local_node(e: Expr) -> bool:
    if isinstance(e, (FromParts, Projection, Filter, Assign)):
        return True
    if isinstance(e, (Elemwise, PartitionMethod)) or type(e).__name__ in ("Astype", "Rename"):
        return bool(e._row_local)
    return bool(getattr(e, "_row_local", False)) and type(e).__name__ == "MapPartitions"


def _only_row_local_paths(roots: list, source_name: str) -> bool:
    """Whether every step between ``roots`` and the reader works row by row, so
    dropping rows at the reader drops the same rows above it and changes nothing
    else (a reduction or a partition-wide step of the reader's data would see fewer
    rows)."""
    reaches: dict = {}
    for n in walk(roots):
        deps = n.dependencies()
        hit = n._name == source_name or any(reaches.get(d._name) for d in deps)
        reaches[n._name] = hit
        if hit and n._name != source_name and not _row_local_node(n):
            return False
    return True


def _find_reader(e: Expr, name: str) -> FromParts | None:
    for node in walk([e]):
        if node._name == name:
            return node  # type: ignore[return-value]
    return None


def _push_filter(f: Filter) -> Expr:
    if not isinstance(f.predicate, Expr):
        return f
    source_name = _row_source(f.frame)
    if source_name is None:
        return f
    source = _find_reader(f.frame, source_name)
    if source is None or not source.supports_filters:
        return f
    triples, complete = _pushable(f.predicate, source)
    if not triples:
        return f
    if not _only_row_local_paths([f.frame, f.predicate], source._name):
        return f
    existing = list(source.filters or [])
    new_triples = [t for t in triples if t not in existing]
    if not new_triples:
        return f
    reader = source.with_filters(existing + new_triples)
    mapping = {source._name: reader}
    frame = _replace_everywhere(f.frame, mapping)
    predicate = _replace_everywhere(f.predicate, mapping)
    if not getattr(source.reader, "filters_exact", False) or len(new_triples) != len(triples):
        return Filter(frame, predicate)
    if complete:
        return frame
    # the reader applies the simple terms exactly: the filter keeps only the others
    return Filter(frame, _replace_everywhere(_remainder(f.predicate, source), mapping))


def _replace_everywhere(e: Expr, mapping: dict) -> Expr:
    return _rebuild_bottom_up([e], lambda n: mapping.get(n._name, n))[0]


def push_predicates(expr: Expr) -> Expr:
    """Hand simple row filters to readers that support them (see module docstring)."""
    return _rebuild_bottom_up([expr], lambda e: _push_filter(e) if isinstance(e, Filter) else e)[0]


# -- projection pushdown ------------------------------------------------------------------

def _union(a: Any, b: Any) -> Any:
    if a is ALL or b is ALL:
        return ALL
    return a + [c for c in b if c not in a]


def push_projections(roots: list) -> list:
    """Narrow readers to the columns used; drop unused assignments."""
    order = list(walk(roots))
    needs: dict = {r._name: ALL for r in roots}
    for e in reversed(order):  # users before what they use
        if e._name not in needs:
            continue  # used only by steps that will be dropped (unread assignments)
        n = needs[e._name]
        for dep_name, want in e._child_needs(n).items():
            needs[dep_name] = want if dep_name not in needs else _union(needs[dep_name], want)

    # Names change as readers narrow, so look needs up by the original node's name.
    done: dict = {}
    for e in order:
        mapping = {d._name: done[d._name] for d in e.dependencies() if d._name in done}
        new = e.replace_dependencies(mapping)
        f = getattr(new, "_narrow", None)
        n = needs.get(e._name, ALL)
        done[e._name] = f(n) if f is not None and n is not ALL else new
    return [done[r._name] for r in roots]


def optimize(expr: Expr) -> Expr:
    """The optimized equivalent of ``expr`` (see the module docstring)."""
    expr = simplify(expr)
    expr = push_predicates(expr)
    expr = push_projections([expr])[0]
    return simplify(expr)

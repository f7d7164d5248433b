"""``DataFrame.query`` strings that are plain comparisons, as boolean masks.

``df.query("x > 0 and name == 'a'")`` run by pandas on each partition is opaque to the
optimizer: every column must be read and no filter reaches the reader. When the string
is only comparisons of a column with a literal (``==``, ``!=``, ``<``, ``<=``, ``>``,
``>=``, ``in``/``not in`` a list, chains like ``0 < x < 5``) joined by ``and``/``&``,
``or``/``|`` and ``not``/``~``, it is rewritten to the same mask built from columns
(``(df.x > 0) & (df.name == 'a')``), which keeps pandas' results (a missing value
compares False) and lets projection and predicate pushdown work. Anything else (``@``
variables, backticks, arithmetic, functions, column-to-column comparisons) goes to
pandas' ``query`` unchanged.
"""

from __future__ import annotations

import ast
import operator
from typing import Any

__all__ = ["query_mask"]

_CMP = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
        ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}


class _NotSimple(Exception):
    pass


def _literal(node: ast.AST) -> Any:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise _NotSimple from None
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, str, bool))
                                                for v in value):
        return list(value)
    raise _NotSimple


def _mask(frame: Any, node: ast.AST) -> Any:
    if isinstance(node, ast.BoolOp):
        parts = [_mask(frame, v) for v in node.values]
        op = operator.and_ if isinstance(node.op, ast.And) else operator.or_
        out = parts[0]
        for p in parts[1:]:
            out = op(out, p)
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
        op = operator.and_ if isinstance(node.op, ast.BitAnd) else operator.or_
        return op(_mask(frame, node.left), _mask(frame, node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.Invert)):
        return ~_mask(frame, node.operand)
    if isinstance(node, ast.Compare):
        out = None
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            m = _compare(frame, left, op, right)
            out = m if out is None else out & m
            left = right
        return out
    raise _NotSimple


def _column(frame: Any, node: ast.AST) -> Any:
    if isinstance(node, ast.Name) and node.id in frame.columns and \
            frame._meta[node.id].ndim == 1:
        return frame[node.id]
    return None


def _compare(frame: Any, left: ast.AST, op: ast.cmpop, right: ast.AST) -> Any:
    col, other, flipped = _column(frame, left), right, False
    if col is None:
        col, other, flipped = _column(frame, right), left, True
    if col is None:
        raise _NotSimple
    value = _literal(other)
    if isinstance(op, (ast.In, ast.NotIn)):
        if flipped:
            raise _NotSimple
        values = value if isinstance(value, list) else [value]
        m = col.isin(values)
        return ~m if isinstance(op, ast.NotIn) else m
    if type(op) not in _CMP or isinstance(value, list) or value is None:
        raise _NotSimple
    f = _CMP[type(op)]
    return f(value, col) if flipped else f(col, value)


def query_mask(frame: Any, expr: str, kwargs: dict) -> Any:
    """The row mask ``frame.query(expr)`` selects, or None when ``expr`` is not a
    plain comparison (pandas then runs the query on each partition)."""
    if kwargs or not isinstance(expr, str) or "@" in expr or "`" in expr:
        return None
    try:
        tree = ast.parse(expr.strip(), mode="eval")
        return _mask(frame, tree.body)
    except (_NotSimple, SyntaxError, RecursionError):
        return None

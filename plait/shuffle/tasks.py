"""The "tasks" shuffle: pieces travel between graph tasks, in memory.

Small shuffles (N×M at most ``max_branch**2``) are one all-to-all step: a task per
input partition splits it, a small task per (input, output) pair picks one piece
out, and a task per output partition joins its N pieces.

Larger ones go in stages, so the number of tasks grows like N·log(N) rather than N·M.
Picture ``k**stages >= max(N, M)`` slots numbered in base ``k`` (``k <= max_branch``).
At stage ``s`` every slot sends each piece to the slot that differs from it only in
digit ``s``, taking that digit from the piece's output partition; after the last stage
slot ``i`` holds exactly the pieces of output ``i``. Each task joins at most ``k``
pieces. Slots that can hold nothing (past the inputs at first, past the outputs later)
get no tasks.

Order is kept: the sources of a slot differ only in the digit being fixed, and they are
joined in increasing order of that digit, so pieces of one output stay in input order.

Values between tasks: a slot holds ``{output index: piece}``; a route task regroups it
as ``{digit: {output index: piece}}``, and a pick task takes one digit's part.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from ..graph import Key, Ref, Task
from .core import split_pieces

__all__ = ["stage_plan", "tasks_layer"]


def stage_plan(ninputs: int, noutputs: int, max_branch: int) -> tuple[int, int]:
    """``(stages, k)``: how many stages, and how many slots each task joins.

    >>> stage_plan(10, 10, 32)   # small: one all-to-all step
    (1, 10)
    >>> stage_plan(1000, 1000, 32)
    (2, 32)
    >>> stage_plan(50, 50, 4)
    (3, 4)
    """
    n = max(ninputs, noutputs, 1)
    if ninputs * noutputs <= max_branch * max_branch:
        return 1, n
    stages = max(2, math.ceil(math.log(n) / math.log(max_branch)))
    k = max(2, math.ceil(n ** (1.0 / stages)))
    while k ** stages < n:  # float rounding
        k += 1
    while k > 2 and (k - 1) ** stages >= n:
        k -= 1
    return stages, k


def tasks_layer(inputs: list, npartitions: int, split: Callable, concat: Callable,
                empty: Callable | None, name: str, token: str, max_branch: int) -> dict:
    """The tasks of an in-memory shuffle of ``inputs`` into ``npartitions`` outputs
    ``(name, i)``; see the module docstring."""
    m = npartitions
    stages, k = stage_plan(len(inputs), m, max_branch)
    route_name = f"shuffle-route-{token}"
    pick_name = f"shuffle-pick-{token}"
    join_name = f"shuffle-join-{token}"
    layer: dict = {}
    current: dict[int, Key] = dict(enumerate(inputs))  # live slot -> key of its value
    for s in range(stages):
        width = k ** s
        span = width * k
        last = s == stages - 1
        sources: dict[int, list[int]] = {}
        for p, key in current.items():
            rkey = (route_name, s, p)
            if s == 0:
                layer[rkey] = Task(rkey, _split_route, split, m, k, width, Ref(key))
            else:
                layer[rkey] = Task(rkey, _route, k, width, Ref(key))
            base = p - ((p // width) % k) * width
            for d in range(k):
                q = base + d * width
                if q % span < m:  # some output index has these low digits
                    sources.setdefault(q, []).append(p)
        nxt: dict[int, Key] = {}
        for q in sorted(sources):
            d = (q // width) % k
            refs = []
            for p in sources[q]:  # increasing p: increasing digit s, input order kept
                pkey = (pick_name, s, p, d)
                layer[pkey] = Task(pkey, _pick, d, Ref((route_name, s, p)))
                refs.append(Ref(pkey))
            if last:
                layer[(name, q)] = Task((name, q), _join_output, concat, empty, q, *refs)
            else:
                jkey = (join_name, s, q)
                layer[jkey] = Task(jkey, _join, concat, *refs)
                nxt[q] = jkey
        current = nxt
    for i in range(m):
        if (name, i) not in layer:
            layer[(name, i)] = Task((name, i), _empty_output, concat, empty)
    return layer


# -- task functions (module level: they travel to worker processes) ------------------

def _regroup(pieces: Mapping, k: int, width: int) -> dict:
    out: dict = {}
    for i, piece in pieces.items():
        d = (i // width) % k
        sub = out.get(d)
        if sub is None:
            out[d] = {i: piece}
        else:
            sub[i] = piece
    return out


def _split_route(split: Callable, m: int, k: int, width: int, part: Any) -> dict:
    """Stage 0: split an input partition, then group its pieces by digit 0."""
    return _regroup(split_pieces(split, part, m), k, width)


def _route(k: int, width: int, pieces: Mapping) -> dict:
    return _regroup(pieces, k, width)


def _pick(digit: int, routed: Mapping) -> dict:
    return routed.get(digit) or {}


def _join(concat: Callable, *parts: Mapping) -> dict:
    """Merge ``{output: piece}`` dicts in order; pieces of one output are joined."""
    gathered: dict = {}
    for part in parts:
        for i, piece in part.items():
            gathered.setdefault(i, []).append(piece)
    return {i: ps[0] if len(ps) == 1 else concat(ps) for i, ps in gathered.items()}


def _join_output(concat: Callable, empty: Callable | None, i: int, *parts: Mapping) -> Any:
    pieces = [part[i] for part in parts if i in part]
    if pieces:
        return concat(pieces)
    return empty() if empty is not None else concat([])


def _empty_output(concat: Callable, empty: Callable | None) -> Any:
    return empty() if empty is not None else concat([])

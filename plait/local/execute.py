"""Run a graph on one machine: pick the engine, fire the callbacks, return the values.

``execute`` is what collections call; ``get_sync``, ``get_threads`` and
``get_processes`` are the classic get-functions (``get(dsk, keys)``) that Dask users
pass as ``scheduler=`` and that accept Dask's dict-of-tuples graphs.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor
from typing import Any, Iterable, Mapping

from .. import config
from ..callbacks import active_hooks
from ..graph import convert_graph, cull
from ..scheduling import GraphState, Hooks
from .pool import run_pool
from .processes import default_pool, discard_pool
from .shared import run_shared

__all__ = ["execute", "get_sync", "get_threads", "get_processes", "resolve_num_workers"]


def resolve_num_workers(num_workers: int | None) -> int:
    """``num_workers`` as given, else config ``num_workers``, else the core count."""
    n = num_workers if num_workers is not None else config.get("num_workers", None)
    if n is None:
        return os.cpu_count() or 1
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(
            f"num_workers must be a positive integer, got {n!r}; e.g. num_workers=4"
        )
    return n


def _max_batch() -> int:
    return int(config.get("local.batch.max-tasks", 64) or 64)


def execute(
    dsk: Mapping,
    keys: Iterable,
    scheduler: str | Executor = "threads",
    num_workers: int | None = None,
    hooks: Hooks | None = None,
    data: dict | None = None,
    pool: Executor | None = None,
) -> dict:
    """Compute ``keys`` of the node graph ``dsk``; return ``{key: value}``.

    ``scheduler`` is ``"sync"``, ``"threads"`` or ``"processes"`` (already normalised) or
    an Executor; ``pool`` overrides the executor for threads or processes.
    ``data`` holds values already known (they are not recomputed).
    """
    keys = list(dict.fromkeys(keys))
    hooks = active_hooks() if hooks is None else hooks
    data = {} if data is None else data
    dsk = _needed(dsk, keys, data)
    for f in hooks.start:
        f(dsk)
    targets = [k for k in keys if k in dsk] if data else keys
    state = GraphState(dsk, targets, available=data.keys() if data else ())
    for f in hooks.start_state:
        f(dsk, state)
    errored = True
    try:
        if isinstance(scheduler, Executor) and pool is None:
            pool = scheduler
            scheduler = "pool"
        if pool is not None:
            n = resolve_num_workers(num_workers or getattr(pool, "_max_workers", None))
            run_pool(state, data, pool, n, hooks, _max_batch(), label=_label(scheduler, pool))
        elif scheduler == "sync":
            run_shared(state, data, 1, hooks, _max_batch(), label="sync")
        elif scheduler == "threads":
            n = resolve_num_workers(num_workers)
            run_shared(state, data, n, hooks, _max_batch(), label="threads")
        elif scheduler == "processes":
            n = resolve_num_workers(num_workers)
            run_pool(state, data, default_pool(n), n, hooks, _max_batch(),
                     label="processes", on_abort=discard_pool)
        else:
            raise ValueError(f"unknown local scheduler {scheduler!r}")
        errored = False
    finally:
        for f in hooks.finish:
            f(dsk, state, errored)
    return {k: data[k] for k in keys}


def _needed(dsk: Mapping, keys: list, data: dict) -> Mapping:
    """The part of ``dsk`` that ``keys`` need, given the values already in ``data``."""
    out: dict = {}
    stack = [k for k in keys if k not in data]
    while stack:
        k = stack.pop()
        if k in out:
            continue
        node = dsk.get(k)
        if node is None:
            raise KeyError(f"key {k!r} was asked for but is not in the graph")
        out[k] = node
        for d in node.dependencies:
            if d not in out and d not in data and d in dsk:
                stack.append(d)
    return out if len(out) != len(dsk) else dsk


def _label(scheduler: Any, pool: Executor) -> str:
    if isinstance(scheduler, str) and scheduler != "pool":
        return scheduler
    return type(pool).__name__


def _flatten_keys(keys: Any, out: list) -> None:
    if isinstance(keys, list):
        for k in keys:
            _flatten_keys(k, out)
    else:
        out.append(keys)


def _pack(keys: Any, values: Mapping) -> Any:
    if isinstance(keys, list):
        return tuple(_pack(k, values) for k in keys)
    return values[keys]


def _get(scheduler: str, dsk: Mapping, keys: Any, num_workers=None, pool=None,
         callbacks=None, **kwargs: Any) -> Any:
    if "get" in kwargs:
        raise TypeError("the get= keyword was removed; pass scheduler= instead")
    flat: list = []
    _flatten_keys(keys, flat)
    graph = convert_graph(dsk)
    graph, _ = cull(graph, flat)
    hooks = active_hooks(callbacks)
    values = execute(graph, flat, scheduler, num_workers, hooks, pool=pool)
    return _pack(keys, values)


def get_sync(dsk: Mapping, keys: Any, **kwargs: Any) -> Any:
    """Compute ``keys`` of ``dsk`` in the calling thread (for debugging and profiling).

    ``keys`` may be one key or nested lists of keys; the result has the same shape
    (lists become tuples).

    >>> from operator import add
    >>> get_sync({"x": 1, "y": (add, "x", 2)}, "y")
    3
    >>> get_sync({"x": 1, "y": (add, "x", 2)}, ["x", ["y"]])
    (1, (3,))
    """
    kwargs.pop("num_workers", None)
    return _get("sync", dsk, keys, **kwargs)


def get_threads(dsk: Mapping, keys: Any, num_workers: int | None = None,
                pool: Executor | None = None, **kwargs: Any) -> Any:
    """Compute ``keys`` of ``dsk`` with a pool of threads.

    >>> from operator import mul
    >>> get_threads({"x": 3, "y": (mul, "x", "x")}, "y", num_workers=2)
    9
    """
    return _get("threads", dsk, keys, num_workers, pool, **kwargs)


def get_processes(dsk: Mapping, keys: Any, num_workers: int | None = None,
                  pool: Executor | None = None, **kwargs: Any) -> Any:
    """Compute ``keys`` of ``dsk`` with a pool of processes (default: one per core)."""
    return _get("processes", dsk, keys, num_workers, pool, **kwargs)

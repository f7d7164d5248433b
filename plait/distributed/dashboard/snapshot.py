"""Plain-data views of a running scheduler: what the pages, the JSON API and ``/metrics``
show. Each function reads the scheduler's state once and returns lists and dicts of
str/int/float, so they serialize as JSON and can be tested without a browser.

Worker numbers come from the metrics each worker sends with its heartbeat (see
:meth:`plait.distributed.worker.Worker.metrics`): ``memory`` holds ``rss``, ``managed``
(bytes of results held, in memory or spilled), ``managed_in_memory``, ``spilled``,
``unmanaged`` (the process's memory beyond its results) and ``limit``.
"""

from __future__ import annotations

import time
from typing import Any

from plait.utils.sizes import format_bytes

__all__ = ["workers", "memory", "processing", "cluster_summary", "alerts", "task_graph",
           "tasks", "count_tasks"]

STATE_COLOURS = {
    "released": "#bbbbbb", "waiting": "#cccccc", "queued": "#d9d9d9",
    "no-worker": "#ff9f40", "processing": "#4f8fd6", "memory": "#e05858",
    "erred": "#000000", "forgotten": "#eeeeee",
}


def _num(value: Any, default: float = 0) -> float:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _worker_memory(ws: Any) -> dict[str, float]:
    """Managed / unmanaged / spilled bytes of one worker, from its last heartbeat."""
    m = ws.metrics or {}
    mem = m.get("memory") if isinstance(m.get("memory"), dict) else {}
    rss = _num(mem.get("rss", m.get("memory")), 0)
    in_memory = _num(mem.get("managed_in_memory", m.get("managed_bytes")), ws.nbytes)
    spilled = _num(mem.get("spilled", m.get("spilled_bytes")), 0)
    unmanaged = _num(mem.get("unmanaged"), max(rss - in_memory, 0))
    limit = _num(mem.get("limit"), _num(ws.memory_limit, 0))
    return {"rss": rss, "managed": in_memory, "unmanaged": unmanaged, "spilled": spilled,
            "limit": limit}


def workers(scheduler: Any) -> list[dict]:
    """One row per worker: the workers table and ``/api/v1/workers``."""
    rows = []
    now = time.time()
    for ws in list(scheduler.state.workers.values()):
        m = ws.metrics or {}
        mem = _worker_memory(ws)
        rows.append({
            "address": ws.address, "name": str(ws.name), "host": ws.host,
            "nthreads": ws.nthreads, "status": ws.status, "pid": ws.pid,
            "memory": mem["rss"], "memory_limit": mem["limit"],
            "managed": mem["managed"], "unmanaged": mem["unmanaged"],
            "spilled": mem["spilled"], "cpu": _num(m.get("cpu")),
            "processing": len(ws.processing), "in_memory": len(ws.has_what),
            "nbytes": ws.nbytes, "executing": _num(m.get("executing")),
            "read_bytes": _num(m.get("read_bytes")), "write_bytes": _num(m.get("write_bytes")),
            "spill_count": _num(m.get("spill_count")),
            "last_seen": round(now - ws.last_seen, 3) if ws.last_seen else None,
            "local_directory": ws.local_directory,
        })
    rows.sort(key=lambda r: r["address"])
    return rows


def memory(rows: list[dict]) -> dict[str, list]:
    """Columns of the memory-per-worker bars (stacked managed / unmanaged / spilled)."""
    return {
        "worker": [r["address"] for r in rows],
        "managed": [r["managed"] for r in rows],
        "unmanaged": [r["unmanaged"] for r in rows],
        "spilled": [r["spilled"] for r in rows],
        "limit": [r["memory_limit"] for r in rows],
    }


def processing(rows: list[dict]) -> dict[str, list]:
    """Columns of the tasks-processing and CPU-per-worker bars."""
    return {
        "worker": [r["address"] for r in rows],
        "processing": [r["processing"] for r in rows],
        "nthreads": [r["nthreads"] for r in rows],
        "cpu": [r["cpu"] for r in rows],
    }


PROGRESS_COLUMNS = {"waiting": "waiting", "queued": "waiting", "no-worker": "waiting",
                    "processing": "processing", "memory": "memory", "erred": "erred"}


def count_tasks(scheduler: Any, done: dict[str, int] | None = None) -> tuple[dict, dict]:
    """``(tasks per state, progress per prefix)`` in one walk over the scheduler's tasks.

    Progress rows are ``{waiting, processing, memory, erred, done, total}``: ``total``
    counts the prefix's live tasks, ``done`` its completions so far (from ``done``).
    One walk costs a few milliseconds for 10,000 tasks, and is paid only while a page is
    open; it is always in step with the scheduler, which counters kept on the side would
    not be after a restart or a lost worker.
    """
    done = done or {}
    by_state: dict[str, int] = {}
    progress: dict[str, dict[str, int]] = {}
    for ts in list(scheduler.state.tasks.values()):
        state = ts.state
        by_state[state] = by_state.get(state, 0) + 1
        name = ts.prefix.name
        row = progress.get(name)
        if row is None:
            row = progress[name] = {"waiting": 0, "processing": 0, "memory": 0, "erred": 0,
                                    "done": done.get(name, 0), "total": 0}
        column = PROGRESS_COLUMNS.get(state)
        if column is not None:
            row[column] += 1
        row["total"] += 1
    return by_state, progress


def cluster_summary(scheduler: Any, rows: list[dict] | None = None,
                    by_state: dict[str, int] | None = None) -> dict:
    """Counts for the page headers and ``/metrics``."""
    state = scheduler.state
    rows = workers(scheduler) if rows is None else rows
    if by_state is None:
        by_state = count_tasks(scheduler)[0]
    return {
        "workers": len(rows),
        "threads": sum(r["nthreads"] for r in rows),
        "clients": len(state.clients),
        "tasks": len(state.tasks),
        "tasks_by_state": by_state,
        "memory": sum(r["memory"] for r in rows),
        "managed": sum(r["managed"] for r in rows),
        "unmanaged": sum(r["unmanaged"] for r in rows),
        "spilled": sum(r["spilled"] for r in rows),
        "memory_limit": sum(r["memory_limit"] for r in rows),
        "address": getattr(scheduler, "address", None),
    }


def alerts(scheduler: Any, rows: list[dict], recorder: Any = None,
           by_state: dict[str, int] | None = None) -> list[dict]:
    """What needs a person's attention: paused workers, spilling, lost workers, errors."""
    out = []
    for r in rows:
        if r["status"] == "paused":
            out.append({"level": "warning", "worker": r["address"],
                        "text": f"worker {r['address']} is paused: its memory is above the "
                                "pause threshold, so it starts no new tasks"})
        if r["spilled"]:
            out.append({"level": "info", "worker": r["address"],
                        "text": f"worker {r['address']} has spilled "
                                f"{format_bytes(r['spilled'])} to disk"})
    if recorder is not None:
        recent = time.time() - 300
        for ev in list(recorder.events):
            if ev["action"] == "remove-worker" and ev["time"] > recent and \
                    ev.get("reason") not in ("retire-workers", "unregister", "close"):
                out.append({"level": "error", "worker": ev["worker"],
                            "text": f"worker {ev['worker']} was lost ({ev.get('reason')}) "
                                    f"{int(time.time() - ev['time'])} s ago"})
    if by_state is None:
        by_state = count_tasks(scheduler)[0]
    erred = by_state.get("erred", 0)
    if erred:
        out.append({"level": "error", "worker": None,
                    "text": f"{erred} task(s) failed; see the info page's logs"})
    return out


def tasks(scheduler: Any, limit: int = 1000, state: str | None = None) -> list[dict]:
    """Tasks for ``/api/v1/tasks``: key, prefix, state, worker(s), bytes."""
    out = []
    for ts in list(scheduler.state.tasks.values()):
        if state is not None and ts.state != state:
            continue
        out.append({"key": str(ts.key), "prefix": ts.prefix.name, "state": ts.state,
                    "processing_on": ts.processing_on.address if ts.processing_on else None,
                    "who_has": sorted(ws.address for ws in ts.who_has),
                    "nbytes": ts.nbytes, "dependencies": len(ts.dependencies)})
        if len(out) >= limit:
            break
    return out


def task_graph(scheduler: Any, limit: int = 5000) -> dict:
    """Nodes (with a layered layout) and edges of the scheduler's current graph.

    Layout: x is a node's depth (longest path from a root), y its index within that
    depth, so a few thousand nodes draw in one pass without a layout library. Beyond
    ``limit`` nodes the graph is cut (``truncated``) to the ``limit`` most urgent tasks.
    """
    all_tasks = list(scheduler.state.tasks.values())
    truncated = len(all_tasks) > limit
    if truncated:
        all_tasks.sort(key=lambda ts: ts.priority)
        all_tasks = all_tasks[:limit]
    chosen = {id(ts) for ts in all_tasks}
    depth: dict[int, int] = {}

    def depth_of(ts: Any) -> int:
        # Iterative: graphs can be deeper than Python's recursion limit.
        stack = [ts]
        while stack:
            t = stack[-1]
            if id(t) in depth:
                stack.pop()
                continue
            pending = [d for d in t.dependencies if id(d) in chosen and id(d) not in depth]
            if pending:
                stack.extend(pending)
                continue
            deps = [depth[id(d)] for d in t.dependencies if id(d) in chosen]
            depth[id(t)] = 1 + max(deps) if deps else 0
            stack.pop()
        return depth[id(ts)]

    index: dict[int, int] = {}
    per_level: dict[int, int] = {}
    nodes: dict[str, list] = {"key": [], "prefix": [], "state": [], "colour": [], "x": [],
                              "y": []}
    for i, ts in enumerate(all_tasks):
        d = depth_of(ts)
        y = per_level.get(d, 0)
        per_level[d] = y + 1
        index[id(ts)] = i
        nodes["key"].append(str(ts.key))
        nodes["prefix"].append(ts.prefix.name)
        nodes["state"].append(ts.state)
        nodes["colour"].append(STATE_COLOURS.get(ts.state, "#888888"))
        nodes["x"].append(d)
        nodes["y"].append(y)
    edges: dict[str, list] = {"xs": [], "ys": []}
    for ts in all_tasks:
        i = index[id(ts)]
        for dep in ts.dependencies:
            j = index.get(id(dep))
            if j is not None:
                edges["xs"].append([nodes["x"][j], nodes["x"][i]])
                edges["ys"].append([nodes["y"][j], nodes["y"][i]])
    return {"nodes": nodes, "edges": edges, "truncated": truncated,
            "total": len(scheduler.state.tasks)}

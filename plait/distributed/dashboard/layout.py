"""Rectangles and labels for the dashboard's figures, computed from snapshot data.

Each function returns ``{"rects": {left, right, bottom, top, colour, label, tip},
"labels": {x, y, text}, "rows": n}`` columns that a page hands to its Bokeh sources
unchanged.

>>> out = progress({"inc": {"waiting": 1, "processing": 1, "memory": 2, "erred": 0,
...                         "done": 3, "total": 4}})
>>> out["rows"], out["labels"]["text"]
(1, ['inc: 3 done, 4 live'])
>>> bars(["tcp://a:1"], [50.0], "cpu", "%")["rects"]["right"]
[50.0]
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from plait.utils.sizes import format_bytes

__all__ = ["prefix_colour", "task_stream", "progress", "memory", "bars", "flame", "lanes"]

PALETTE = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f", "#aec7e8", "#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2", "#9edae5",
           "#dbdb8d", "#393b79", "#637939", "#8c6d31", "#7b4173", "#3182bd")
ACTION_COLOURS = {"transfer": "#d62728", "disk-write": "#ff7f0e", "disk-read": "#ffbb78",
                  "error": "#000000"}
PROGRESS = (("done", "#2ca02c"), ("memory", "#e05858"), ("processing", "#4f8fd6"),
            ("waiting", "#cccccc"), ("erred", "#000000"))


def prefix_colour(prefix: str) -> str:
    """A stable colour per task prefix (the same in every page and every run)."""
    return PALETTE[zlib.crc32(prefix.encode()) % len(PALETTE)]


def _columns() -> dict[str, list]:
    return {"left": [], "right": [], "bottom": [], "top": [], "colour": [], "label": [],
            "tip": []}


def _rect(cols: dict, left: float, right: float, row: float, colour: str, label: str,
          tip: str, height: float = 0.8) -> None:
    cols["left"].append(left)
    cols["right"].append(right)
    cols["bottom"].append(row + (1 - height) / 2)
    cols["top"].append(row + (1 + height) / 2)
    cols["colour"].append(colour)
    cols["label"].append(label)
    cols["tip"].append(tip)


def lanes(rows: Sequence[dict], known: dict) -> dict:
    """Give each (worker, thread) seen in ``rows`` a lane number, keeping old ones."""
    for r in rows:
        lane = (r.get("worker"), r.get("thread"))
        if lane not in known:
            known[lane] = len(known)
    return known


def task_stream(rows: Sequence[dict], lane_of: dict) -> dict:
    """One rectangle per interval, x in milliseconds since the epoch (Bokeh's time)."""
    cols = _columns()
    for r in rows:
        lane = lane_of.get((r.get("worker"), r.get("thread")), 0)
        action = r.get("action", "compute")
        colour = ACTION_COLOURS.get(action) or prefix_colour(r["prefix"])
        seconds = max(r["stop"] - r["start"], 0.0)
        tip = (f"{r['key']} ({action}) on {r.get('worker')} thread {r.get('thread')}: "
               f"{seconds * 1000:.1f} ms")
        _rect(cols, r["start"] * 1000, max(r["stop"], r["start"] + 1e-4) * 1000, lane,
              colour, r["prefix"], tip)
    return {"rects": cols, "labels": {"x": [], "y": [], "text": []}, "rows": len(lane_of)}


def progress(per_prefix: dict[str, dict[str, int]], limit: int = 40) -> dict:
    """A row per prefix: done / in memory / processing / waiting / erred, scaled to the
    row's width (done counts completions, the others the live tasks)."""
    cols = _columns()
    labels: dict[str, list] = {"x": [], "y": [], "text": []}
    names = sorted(per_prefix, key=lambda p: (-per_prefix[p]["total"], p))[:limit]
    for row, name in enumerate(reversed(names)):
        counts = per_prefix[name]
        parts = [(part, colour, counts.get(part, 0)) for part, colour in PROGRESS]
        whole = sum(n for part, _, n in parts if part != "memory") or 1
        x = 0.0
        for part, colour, n in parts:
            if part == "memory" or not n:
                continue
            width = n / whole
            _rect(cols, x, x + width, row, colour, part, f"{name}: {n} {part}")
            x += width
        if counts.get("memory"):
            # In memory is a subset of done: a thin band along the bottom of the row.
            width = min(counts["memory"], counts.get("done", 0) or counts["memory"]) / whole
            cols["left"].append(0.0)
            cols["right"].append(width)
            cols["bottom"].append(row + 0.1)
            cols["top"].append(row + 0.22)
            cols["colour"].append(PROGRESS[1][1])
            cols["label"].append("memory")
            cols["tip"].append(f"{name}: {counts['memory']} in memory")
        labels["x"].append(0.01)
        labels["y"].append(row + 0.55)
        labels["text"].append(f"{name}: {counts.get('done', 0)} done, {counts['total']} live")
    return {"rects": cols, "labels": labels, "rows": len(names)}


def memory(mem: dict[str, list]) -> dict:
    """Stacked managed / unmanaged / spilled bytes per worker, and its limit."""
    cols = _columns()
    labels: dict[str, list] = {"x": [], "y": [], "text": []}
    for row, worker in enumerate(mem["worker"]):
        x = 0.0
        for part, colour in (("managed", "#4f8fd6"), ("unmanaged", "#a6c8ec"),
                             ("spilled", "#999999")):
            n = float(mem[part][row] or 0)
            if n > 0:
                _rect(cols, x, x + n, row, colour, part,
                      f"{worker}: {format_bytes(n)} {part}")
                x += n
        limit = float(mem["limit"][row] or 0)
        if limit:
            _rect(cols, limit, limit + limit * 0.004, row, "#d62728", "limit",
                  f"{worker}: limit {format_bytes(limit)}", height=1.0)
        labels["x"].append(0)
        labels["y"].append(row + 0.5)
        labels["text"].append(worker)
    return {"rects": cols, "labels": labels, "rows": len(mem["worker"])}


def bars(names: Sequence[str], values: Sequence[float], what: str, unit: str = "") -> dict:
    """One horizontal bar per worker."""
    cols = _columns()
    labels: dict[str, list] = {"x": [], "y": [], "text": []}
    for row, (name, value) in enumerate(zip(names, values)):
        _rect(cols, 0.0, float(value or 0), row, "#4f8fd6", what,
              f"{name}: {value:g}{unit} {what}")
        labels["x"].append(0)
        labels["y"].append(row + 0.5)
        labels["text"].append(name)
    return {"rects": cols, "labels": labels, "rows": len(names)}


def flame(rects: Sequence[dict]) -> dict:
    """A flame graph from :func:`plait.distributed.profile.flame_rects`."""
    cols = _columns()
    labels: dict[str, list] = {"x": [], "y": [], "text": []}
    for r in rects:
        _rect(cols, r["x0"], r["x1"], r["depth"], prefix_colour(r["name"]), r["name"],
              f"{r['name']} ({r['file']}:{r['line']}): {r['count']} samples", height=0.95)
        if r["x1"] - r["x0"] > 0.04:
            labels["x"].append(r["x0"] + 0.002)
            labels["y"].append(r["depth"] + 0.5)
            labels["text"].append(r["name"])
    depth = max((r["depth"] for r in rects), default=-1) + 1
    return {"rects": cols, "labels": labels, "rows": depth}


def figure_payload(name: str, data: dict[str, Any]) -> dict:
    """The message part that updates figure ``name``: its sources and its y range."""
    return {"name": name, "rects": data["rects"], "labels": data["labels"],
            "rows": max(data["rows"], 1)}

"""Statistical profiling of task code: where worker threads spend their time, per task prefix.

A :class:`Sampler` thread looks at the stack of every thread that is running a task,
every ``interval`` seconds (``sys._current_frames``: no tracing hooks, so tasks run at
full speed between samples). Each sample adds one count along its path in a call tree
kept per task prefix. The worker's own frames (thread pool, task spec) are cut, so the
tree starts at the task's function.

Trees are plain nested dicts, so they travel in messages and merge across workers:

>>> t = new_tree()
>>> add_stack(t, [("f", "a.py", 1), ("g", "a.py", 5)])
>>> add_stack(t, [("f", "a.py", 1)])
>>> t["count"], t["children"]["f a.py:1"]["count"], list(t["children"]["f a.py:1"]["children"])
(2, 2, ['g a.py:5'])
>>> merged = merge_trees([t, t]); merged["count"]
4
>>> [(r["name"], r["x0"], r["x1"], r["depth"]) for r in flame_rects(t)]
[('f', 0.0, 1.0, 0), ('g', 0.0, 0.5, 1)]
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Hashable, Iterable
from types import FrameType
from typing import Any

__all__ = ["Sampler", "new_tree", "add_stack", "merge_trees", "flame_rects", "frame_stack"]

MAX_DEPTH = 64

# Frames from these places are the worker's machinery, not the user's task.
_HERE = os.path.dirname(os.path.abspath(__file__))
_MACHINERY = (
    os.path.join(_HERE, "worker") + os.sep,
    os.path.join(os.path.dirname(_HERE), "graph") + os.sep,
    os.path.abspath(__file__),
    threading.__file__,
    os.path.dirname(os.path.abspath(threading.__file__)) + os.sep + "concurrent" + os.sep,
)


def new_tree() -> dict:
    return {"count": 0, "children": {}}


def frame_stack(frame: FrameType | None) -> list[tuple[str, str, int]]:
    """``(function, file, first line)`` from the outermost frame in, with the worker's
    frames before the task's first frame removed."""
    out = []
    while frame is not None:
        code = frame.f_code
        out.append((code.co_name, code.co_filename, code.co_firstlineno))
        frame = frame.f_back
    out.reverse()
    start = 0
    for i, (_, filename, _) in enumerate(out):
        if filename.startswith(_MACHINERY):
            start = i + 1
    return out[start:start + MAX_DEPTH]


def add_stack(tree: dict, stack: Iterable[tuple[str, str, int]]) -> None:
    """Count one sample along ``stack`` (outermost first)."""
    tree["count"] += 1
    node = tree
    for name, filename, line in stack:
        ident = f"{name} {os.path.basename(filename)}:{line}"
        child = node["children"].get(ident)
        if child is None:
            child = node["children"][ident] = {
                "count": 0, "children": {}, "name": name, "file": filename, "line": line}
        child["count"] += 1
        node = child


def merge_trees(trees: Iterable[dict]) -> dict:
    """One tree counting every sample of ``trees``."""
    out = new_tree()
    for tree in trees:
        _merge_into(out, tree)
    return out


def _merge_into(dst: dict, src: dict) -> None:
    dst["count"] += src.get("count", 0)
    for ident, child in src.get("children", {}).items():
        mine = dst["children"].get(ident)
        if mine is None:
            mine = dst["children"][ident] = {
                "count": 0, "children": {}, "name": child.get("name", ident),
                "file": child.get("file", ""), "line": child.get("line", 0)}
        _merge_into(mine, child)


def flame_rects(tree: dict, min_fraction: float = 0.0) -> list[dict]:
    """Rectangles of a flame graph: each call occupies ``[x0, x1)`` of its parent's share
    of the samples (the whole tree spans 0 to 1) at ``depth`` (0: the task's function)."""
    total = tree.get("count", 0)
    out: list[dict] = []
    if not total:
        return out

    def walk(node: dict, x0: float, depth: int) -> None:
        x = x0
        for child in sorted(node["children"].values(), key=lambda c: -c["count"]):
            width = child["count"] / total
            if width >= min_fraction:
                out.append({"name": child["name"], "file": child["file"],
                            "line": child["line"], "count": child["count"],
                            "x0": x, "x1": x + width, "depth": depth})
                walk(child, x, depth + 1)
            x += width

    walk(tree, 0.0, 0)
    return out


class Sampler:
    """Samples the stacks of threads running tasks; one call tree per task prefix.

    ``watch(thread_id, prefix)`` when a thread starts a task and ``unwatch(thread_id)``
    when it ends (two dict operations: cheap enough for every task). ``trees()`` returns
    a copy of what has been counted; ``clear()`` starts over.
    """

    def __init__(self, interval: float = 0.01, max_prefixes: int = 500):
        self.interval = interval
        self.max_prefixes = max_prefixes
        self._watched: dict[int, Hashable] = {}
        self._trees: dict[Hashable, dict] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.samples = 0

    def start(self) -> Sampler:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="plait-profile",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
            self._thread = None

    def watch(self, thread_id: int, prefix: Hashable) -> None:
        self._watched[thread_id] = prefix

    def unwatch(self, thread_id: int) -> None:
        self._watched.pop(thread_id, None)

    def sample(self) -> None:
        """Take one sample of every watched thread (the thread loop calls this)."""
        if not self._watched:
            return
        frames = sys._current_frames()
        with self._lock:
            for tid, prefix in list(self._watched.items()):
                frame = frames.get(tid)
                if frame is None:
                    continue
                tree = self._trees.get(prefix)
                if tree is None:
                    if len(self._trees) >= self.max_prefixes:
                        continue
                    tree = self._trees[prefix] = new_tree()
                add_stack(tree, frame_stack(frame))
                self.samples += 1
        del frames

    def trees(self) -> dict[Hashable, dict]:
        import copy

        with self._lock:
            return copy.deepcopy(self._trees)

    def clear(self) -> None:
        with self._lock:
            self._trees.clear()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # a profiler must never take the worker down
                pass

    def __repr__(self) -> str:
        return (f"<Sampler every {self.interval}s: {self.samples} samples, "
                f"{len(self._trees)} prefixes>")


def profile_payload(sampler: Sampler | None) -> dict[str, Any]:
    """What a worker answers to the ``profile`` rpc: ``{prefix: tree}`` (str prefixes)."""
    if sampler is None:
        return {}
    return {str(k): v for k, v in sampler.trees().items()}

"""``progress``: a bar of how many futures are done, in a terminal or a notebook.

The bar reads the client's own future states (kept current by the scheduler's
``key-in-memory`` / ``task-erred`` reports), so drawing it costs no messages.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any

from ..collection import is_collection
from ..graph import Data
from .future import ERROR, Future

__all__ = ["progress", "futures_of", "format_bar"]


def futures_of(obj: Any) -> list[Future]:
    """The futures inside ``obj``: futures, lists/dicts of them, persisted collections."""
    out: list[Future] = []
    seen: set = set()
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, Future):
            if o.key not in seen:
                seen.add(o.key)
                out.append(o)
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        elif isinstance(o, dict):
            stack.extend(o.values())
        elif is_collection(o):
            for node in o.__plait_graph__().values():
                if type(node) is Data and isinstance(node.value, Future):
                    stack.append(node.value)
    return out


def format_bar(done: int, total: int, elapsed: float, width: int = 40,
               errors: int = 0) -> str:
    """One line of progress.

    >>> format_bar(5, 10, 1.25, width=10)
    '[#####     ] |  50% Completed |  1.2s'
    """
    frac = done / total if total else 1.0
    filled = int(round(width * frac))
    text = f"[{'#' * filled}{' ' * (width - filled)}] | {frac:4.0%} Completed | {elapsed:4.1f}s"
    if errors:
        text += f" | {errors} failed"
    return text


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _counts(futures: list[Future]) -> tuple[int, int]:
    done = errors = 0
    for f in futures:
        if f.done():
            done += 1
            if f.status == ERROR:
                errors += 1
    return done, errors


def progress(*futures: Any, notebook: bool | None = None, multi: bool = False,
             complete: bool = True, interval: float = 0.1, out: IO[str] | None = None,
             **kwargs: Any) -> Any:
    """Show how many of these futures (or persisted collections) are done.

    In a terminal: draws a bar and returns when all are done. In a notebook
    (``notebook=None`` detects it): shows an HTML bar that updates while the cell
    returns at once; the returned object's ``thread`` can be joined.
    """
    fs = futures_of(list(futures))
    if notebook is None:
        notebook = _in_notebook()
    if notebook:
        return _NotebookProgress(fs, interval)
    stream = out if out is not None else sys.stdout
    start = time.perf_counter()
    while True:
        done, errors = _counts(fs)
        stream.write("\r" + format_bar(done, len(fs), time.perf_counter() - start,
                                       errors=errors))
        stream.flush()
        if done == len(fs):
            break
        time.sleep(interval)
    stream.write("\n")
    stream.flush()
    return None


class _NotebookProgress:
    """An HTML bar in a notebook output, redrawn by a daemon thread until all are done."""

    def __init__(self, futures: list[Future], interval: float):
        from IPython.display import HTML, display

        self.futures = futures
        self._html = HTML
        self.last_html = self._render(0.0)
        self._handle = display(HTML(self.last_html), display_id=True)
        self.thread = threading.Thread(target=self._run, args=(interval,), daemon=True,
                                       name="plait-progress")
        self.thread.start()

    def _render(self, elapsed: float) -> str:
        done, errors = _counts(self.futures)
        total = len(self.futures)
        pct = 100.0 * done / total if total else 100.0
        colour = "#d9534f" if errors else "#5cb85c"
        extra = f", {errors} failed" if errors else ""
        return (f"<div style='width:100%;max-width:400px'>"
                f"<div style='background:#eee;height:14px;border-radius:3px'>"
                f"<div style='background:{colour};width:{pct:.1f}%;height:14px;"
                f"border-radius:3px'></div></div>"
                f"<span style='font-family:monospace'>{done} / {total} done{extra} "
                f"({elapsed:.1f} s)</span></div>")

    def _run(self, interval: float) -> None:
        start = time.perf_counter()
        while True:
            elapsed = time.perf_counter() - start
            self.last_html = self._render(elapsed)
            if self._handle is not None:
                self._handle.update(self._html(self.last_html))
            if _counts(self.futures)[0] == len(self.futures):
                return
            time.sleep(interval)

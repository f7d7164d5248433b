"""Profiler: when each task of a compute ran, for how long, and on which worker."""

from __future__ import annotations

import reprlib
from time import perf_counter
from typing import Any, NamedTuple

from ..callbacks import Callback
from ..graph import Alias, Data, Task

__all__ = ["Profiler", "TaskData", "describe_task"]


class TaskData(NamedTuple):
    """One executed task: its key, a short description, when it ran and where.

    Times are :func:`time.perf_counter` seconds; ``worker_id`` is the thread index
    under the sync and threads schedulers and the worker's process id under processes.
    """

    key: Any
    task: str
    start_time: float
    end_time: float
    worker_id: Any


class _ShortRepr(reprlib.Repr):
    """``repr`` that never builds a long string: containers are cut after a few items,
    references show their key, and sized objects (arrays, frames) show their shape."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 2
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 4
        self.maxstring = 30
        self.maxother = 30

    def repr_Ref(self, obj: Any, level: int) -> str:  # noqa: N802 - reprlib's naming
        return self.repr1(obj.key, level)

    def repr_instance(self, obj: Any, level: int) -> str:
        shape = getattr(obj, "shape", None)
        if isinstance(shape, tuple):
            return f"{type(obj).__name__}(shape={shape})"
        if callable(obj) and hasattr(obj, "__name__"):
            return obj.__name__
        return super().repr_instance(obj, level)


_short = _ShortRepr()
_MAX_DESCRIPTION = 120


def _func_name(func: Any) -> str:
    name = getattr(func, "__name__", None)
    if not isinstance(name, str):
        inner = getattr(func, "func", None)  # functools.partial
        name = getattr(inner, "__name__", None)
    return name if isinstance(name, str) else type(func).__name__


def describe_task(node: Any) -> str:
    """A one-line description of a graph node: function name and shortened arguments.

    >>> from plait.graph import Ref, Task, Data
    >>> describe_task(Task("z", max, Ref("x"), list(range(100))))
    "max('x', [0, 1, 2, 3, ...])"
    >>> describe_task(Data("x", "a" * 100))
    "literal 'aaaaaaaaaaaa...aaaaaaaaaaaaa'"
    """
    if isinstance(node, Task):
        parts = [_short.repr(a) for a in node.args]
        parts += [f"{k}={_short.repr(v)}" for k, v in node.kwargs.items()]
        text = f"{_func_name(node.func)}({', '.join(parts)})"
    elif isinstance(node, Data):
        text = "literal " + _short.repr(node.value)
    elif isinstance(node, Alias):
        text = f"alias of {node.target!r}"
    else:
        text = _short.repr(node)
    if len(text) > _MAX_DESCRIPTION:
        text = text[: _MAX_DESCRIPTION - 3] + "..."
    return text


class Profiler(Callback):
    """Record the start and end time of every task, and where it ran.

    ``results`` is a list of :class:`TaskData`, one per executed task, in the order the
    tasks finished. Several computes inside one ``with`` block accumulate; entering the
    block again starts afresh (:meth:`clear`). ``start_time`` and ``end_time`` span the
    computes (``time.perf_counter`` seconds).

    Under the processes scheduler a task's times are those seen by the calling process:
    from when its batch was sent to a worker to when the batch's results came back.

    Examples
    --------
    >>> import plait
    >>> with Profiler() as prof:
    ...     plait.delayed(sum)([1, 2, 3]).compute(scheduler="sync")
    6
    >>> [r.task for r in prof.results]
    ['sum([1, 2, 3])']
    >>> prof.results[0].start_time <= prof.results[0].end_time
    True
    """

    def __init__(self) -> None:
        self.start_time: float | None = None
        self.end_time: float | None = None
        self._starts: dict = {}
        # (key, node, start, end, worker) per finished task; described on first read of
        # ``results``, so the per-task cost is two clock reads and two dict operations.
        self._raw: list = []
        self._results: list[TaskData] = []

    def __enter__(self) -> "Profiler":
        self.clear()
        return super().__enter__()

    def _start(self, dsk: Any) -> None:
        if self.start_time is None:
            self.start_time = perf_counter()

    def _pretask(self, key: Any, dsk: Any, state: Any) -> None:
        self._starts[(key, id(state))] = perf_counter()

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        end = perf_counter()
        start = self._starts.pop((key, id(state)), end)
        self._raw.append((key, dsk[key], start, end, worker_id))

    def _finish(self, dsk: Any, state: Any, errored: bool) -> None:
        self.end_time = perf_counter()
        # Tasks that never came back (a failed batch) did not run: forget their starts.
        sid = id(state)
        for k in [k for k in list(self._starts) if k[1] == sid]:
            self._starts.pop(k, None)

    @property
    def results(self) -> list[TaskData]:
        raw = self._raw
        done = self._results
        for i in range(len(done), len(raw)):
            key, node, start, end, wid = raw[i]
            done.append(TaskData(key, describe_task(node), start, end, wid))
        return done

    def clear(self) -> None:
        """Forget all recorded tasks and times."""
        self._starts = {}
        self._raw = []
        self._results = []
        self.start_time = None
        self.end_time = None

    def visualize(self, **kwargs: Any) -> Any:
        """Plot the task timeline with bokeh; see :func:`plait.diagnostics.visualize`."""
        from .plots import visualize

        return visualize(self, **kwargs)

    def _plot(self, **kwargs: Any) -> Any:
        from .plots import plot_tasks

        return plot_tasks(self.results, **kwargs)

    def __repr__(self) -> str:
        return f"<Profiler: {len(self._raw)} tasks>"

"""The callback points every executor fires, as plain tuples of functions."""

from __future__ import annotations

from typing import Callable, NamedTuple


class Hooks(NamedTuple):
    """Functions an executor calls during a run (diagnostics plug in here).

    ``start(dsk)`` before anything runs; ``start_state(dsk, state)`` once the
    :class:`~plait.scheduling.GraphState` exists; ``pretask(key, dsk, state)`` before a
    task runs; ``posttask(key, result, dsk, state, worker_id)`` after it finished;
    ``finish(dsk, state, errored)`` at the end, also after a failure or Ctrl-C.

    >>> Hooks.from_callbacks([]).any_task_hooks
    False
    """

    start: tuple[Callable, ...] = ()
    start_state: tuple[Callable, ...] = ()
    pretask: tuple[Callable, ...] = ()
    posttask: tuple[Callable, ...] = ()
    finish: tuple[Callable, ...] = ()

    @classmethod
    def from_callbacks(cls, callbacks) -> "Hooks":
        """Collect the hooks of objects that have ``_start``, ``_pretask`` ... methods
        (the :class:`plait.callbacks.Callback` protocol) or are already Hooks."""
        parts: list[list] = [[], [], [], [], []]
        names = ("_start", "_start_state", "_pretask", "_posttask", "_finish")
        for cb in callbacks:
            if isinstance(cb, Hooks):
                for i, fs in enumerate(cb):
                    parts[i].extend(fs)
                continue
            for i, name in enumerate(names):
                f = getattr(cb, name, None)
                if f is not None:
                    parts[i].append(f)
        return cls(*(tuple(p) for p in parts))

    @property
    def any_task_hooks(self) -> bool:
        return bool(self.pretask or self.posttask)

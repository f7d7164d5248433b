"""Scheduler plugins: hooks called on every task transition and cluster event.

Subclass :class:`SchedulerPlugin`, override the hooks you need and register an
instance with ``scheduler.add_plugin(plugin)`` (or ``client.register_plugin``). Hooks
run inside the scheduler's event loop, synchronously, so they must be quick; an
exception in a hook is logged in ``scheduler.state.events["plugin-error"]`` and never
breaks the scheduler.

:class:`EventStream` is a ready-made plugin that records task transitions in a bounded
buffer and pushes them to subscribers: the feed for progress bars and the dashboard.

>>> class Count(SchedulerPlugin):
...     def __init__(self):
...         self.finished = 0
...     def transition(self, key, start, finish, **kwargs):
...         self.finished += finish == "memory"
>>> from plait.distributed.scheduler import SchedulerState
>>> s = SchedulerState(); c = Count(); s.add_plugin(c)
>>> _ = s.add_worker("tcp://127.0.0.1:1"); _ = s.update_graph("c", {"x": b""}, {}, ["x"])
>>> _ = s.task_finished("x", "tcp://127.0.0.1:1", nbytes=1); c.finished
1
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["EventStream", "SchedulerPlugin"]


class SchedulerPlugin:
    """Base class of scheduler plugins; every hook does nothing by default.

    ``name`` (a class or instance attribute) registers the plugin under that name, so
    registering a second plugin with the same name replaces the first.
    """

    name: str | None = None

    async def start(self, scheduler: Any) -> None:
        """Called when the plugin is registered on a running scheduler, or at start."""

    async def close(self) -> None:
        """Called when the scheduler closes."""

    def update_graph(self, scheduler: Any, *, client: str, keys: list, tasks: list,
                     annotations: dict, priority: dict, dependencies: Any,
                     stimulus_id: str, **kwargs: Any) -> None:
        """A client submitted tasks (``tasks``: the new keys; ``keys``: those it holds)."""

    def transition(self, key: Any, start: str, finish: str, *args: Any,
                   stimulus_id: str | None = None, **kwargs: Any) -> None:
        """A task moved from ``start`` to ``finish`` (``kwargs["worker"]``: where it runs
        when ``finish`` is ``processing``)."""

    def add_worker(self, scheduler: Any, worker: str) -> None:
        """A worker registered."""

    def remove_worker(self, scheduler: Any, worker: str, *, stimulus_id: str | None = None,
                      **kwargs: Any) -> None:
        """A worker left or was lost."""

    def add_client(self, scheduler: Any, client: str) -> None:
        """A client connected."""

    def remove_client(self, scheduler: Any, client: str) -> None:
        """A client disconnected."""


class EventStream(SchedulerPlugin):
    """Record transitions as plain dicts and push them to subscribers.

    Parameters
    ----------
    maxlen:
        How many recent events ``buffer`` keeps.
    finishes:
        Only transitions into these states are recorded (None: all).

    >>> es = EventStream(finishes={"memory"})
    >>> seen = []; unsubscribe = es.subscribe(seen.append)
    >>> es.transition("x", "processing", "memory", worker="tcp://w:1")
    >>> es.transition("y", "waiting", "processing", worker="tcp://w:1")
    >>> [(e["key"], e["finish"]) for e in seen], len(es.buffer)
    ([('x', 'memory')], 1)
    """

    name = "event-stream"

    def __init__(self, maxlen: int = 100_000, finishes: set | None = None):
        self.buffer: deque = deque(maxlen=maxlen)
        self.finishes = None if finishes is None else frozenset(finishes)
        self.subscribers: list[Callable[[dict], Any]] = []
        self.counts: dict[str, int] = {}

    def subscribe(self, callback: Callable[[dict], Any]) -> Callable[[], None]:
        """Call ``callback(event)`` for every recorded event; returns an unsubscribe."""
        self.subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self.subscribers:
                self.subscribers.remove(callback)

        return unsubscribe

    def transition(self, key: Any, start: str, finish: str, *args: Any,
                   stimulus_id: str | None = None, **kwargs: Any) -> None:
        self.counts[finish] = self.counts.get(finish, 0) + 1
        if self.finishes is not None and finish not in self.finishes:
            return
        event = {"time": time.time(), "key": key, "start": start, "finish": finish,
                 "worker": kwargs.get("worker"), "stimulus_id": stimulus_id}
        self.buffer.append(event)
        for callback in list(self.subscribers):
            callback(event)

    def add_worker(self, scheduler: Any, worker: str) -> None:
        self._cluster_event("add-worker", worker)

    def remove_worker(self, scheduler: Any, worker: str, **kwargs: Any) -> None:
        self._cluster_event("remove-worker", worker)

    def _cluster_event(self, action: str, worker: str) -> None:
        event = {"time": time.time(), "action": action, "worker": worker}
        self.buffer.append(event)
        for callback in list(self.subscribers):
            callback(event)

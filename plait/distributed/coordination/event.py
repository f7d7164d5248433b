"""A cluster-wide ``Event``: tasks and clients wait until someone sets it."""

from __future__ import annotations

import asyncio
from typing import Any

from .base import Primitive, wait_for

__all__ = ["Event", "EventExtension"]


class EventExtension:
    """Scheduler side of :class:`Event`: ``event_set``, ``event_clear``, ``event_wait``,
    ``event_is_set``."""

    def __init__(self, scheduler: Any):
        self.scheduler = scheduler
        self.events: dict = {}
        scheduler.handlers.update({"event_set": self.set, "event_clear": self.clear,
                                   "event_wait": self.wait, "event_is_set": self.is_set})

    def _event(self, name: str) -> asyncio.Event:
        ev = self.events.get(name)
        if ev is None:
            ev = self.events[name] = asyncio.Event()
        return ev

    def set(self, comm: Any = None, name: str = "") -> dict:
        self._event(name).set()
        return {"status": "OK"}

    def clear(self, comm: Any = None, name: str = "") -> dict:
        self._event(name).clear()
        return {"status": "OK"}

    async def wait(self, comm: Any = None, name: str = "", timeout: float | None = None) -> dict:
        ev = self._event(name)
        return {"status": "OK", "set": await wait_for(ev.wait(), timeout)}

    def is_set(self, comm: Any = None, name: str = "") -> dict:
        return {"status": "OK", "set": self._event(name).is_set()}


class Event(Primitive):
    """Like ``threading.Event``, shared by name across a cluster.

    ``wait(timeout)`` returns True once the event is set, False if the time ran out.
    """

    _kind = "event"

    def set(self) -> Any:
        return self._call("event_set")

    def clear(self) -> Any:
        return self._call("event_clear")

    def is_set(self) -> Any:
        return self._call("event_is_set", lambda r: r["set"])

    def wait(self, timeout: float | None = None) -> Any:
        return self._call("event_wait", lambda r: r["set"], timeout=timeout)

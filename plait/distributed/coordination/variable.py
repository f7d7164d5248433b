"""Cluster-wide ``Variable`` and ``Queue``: hand values or futures between clients and
tasks by name.

Plain values travel pickled and stay opaque on the scheduler. A future travels as its
key: the scheduler holds the key for the variable or queue (a pseudo-client named
``variable-<name>`` / ``queue-<name>``), so the data stays alive while stored, and gives
it to the client that takes it out before letting go.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .base import Primitive, hold_keys, release_keys, wait_for

__all__ = ["Variable", "Queue", "VariableExtension", "QueueExtension"]


def _pack(value: Any, client: Any) -> dict:
    from ..comm import Serialize
    from ..future import Future

    if isinstance(value, Future):
        return {"type": "future", "key": value.key}
    return {"type": "value", "value": Serialize(value)}


def transfer_holder(client_id: str) -> str:
    """The pseudo-client that keeps a key alive while it travels to ``client_id``."""
    return f"transfer-{client_id}"


def _unpack(item: dict, client: Any) -> Any:
    from ..client_data import _loaded_value
    from ..future import Future

    if item["type"] == "future":
        # The scheduler holds the key for the transfer pseudo-client; take it over on
        # the client's own stream, in order after any earlier release of that key, so
        # the scheduler reports its state to this client.
        future = Future(item["key"], client)
        client._adopt_keys([item["key"]], transfer_holder(client.id))
        return future
    return _loaded_value(item["value"], "a stored value")


class VariableExtension:
    """Scheduler side of :class:`Variable`."""

    def __init__(self, scheduler: Any):
        self.scheduler = scheduler
        self.values: dict = {}
        self.changed: dict = {}
        scheduler.handlers.update({"variable_set": self.set, "variable_get": self.get,
                                   "variable_delete": self.delete})

    def _changed(self, name: str) -> asyncio.Event:
        ev = self.changed.get(name)
        if ev is None:
            ev = self.changed[name] = asyncio.Event()
        return ev

    def set(self, comm: Any = None, name: str = "", item: dict | None = None,
            client: str | None = None) -> dict:
        holder = f"variable-{name}"
        if item["type"] == "future":
            hold_keys(self.scheduler, [item["key"]], holder)
        old = self.values.get(name)
        self.values[name] = item
        if old is not None and old["type"] == "future" and old["key"] != item.get("key"):
            release_keys(self.scheduler, [old["key"]], holder)
        ev = self._changed(name)
        ev.set()
        self.changed[name] = asyncio.Event()
        return {"status": "OK"}

    async def get(self, comm: Any = None, name: str = "", timeout: float | None = None,
                  client: str | None = None) -> dict:
        if name not in self.values:
            if not await wait_for(self._changed(name).wait(), timeout):
                return {"status": "OK", "found": False}
        item = self.values[name]
        if item["type"] == "future" and client is not None:
            hold_keys(self.scheduler, [item["key"]], transfer_holder(client))
        return {"status": "OK", "found": True, "item": item}

    def delete(self, comm: Any = None, name: str = "", client: str | None = None) -> dict:
        item = self.values.pop(name, None)
        if item is not None and item["type"] == "future":
            release_keys(self.scheduler, [item["key"]], f"variable-{name}")
        return {"status": "OK"}


class QueueExtension:
    """Scheduler side of :class:`Queue`."""

    def __init__(self, scheduler: Any):
        self.scheduler = scheduler
        self.queues: dict = {}
        scheduler.handlers.update({"queue_create": self.create, "queue_put": self.put,
                                   "queue_get": self.get, "queue_qsize": self.qsize,
                                   "queue_release": self.release})

    def _queue(self, name: str, maxsize: int = 0) -> asyncio.Queue:
        q = self.queues.get(name)
        if q is None:
            q = self.queues[name] = asyncio.Queue(maxsize)
        return q

    def create(self, comm: Any = None, name: str = "", maxsize: int = 0,
               client: str | None = None) -> dict:
        self._queue(name, maxsize)
        return {"status": "OK"}

    async def put(self, comm: Any = None, name: str = "", item: dict | None = None,
                  timeout: float | None = None, client: str | None = None) -> dict:
        if item["type"] == "future":
            hold_keys(self.scheduler, [item["key"]], f"queue-{name}")
        q = self._queue(name)
        if not await wait_for(q.put(item), timeout):
            if item["type"] == "future":
                release_keys(self.scheduler, [item["key"]], f"queue-{name}")
            raise TimeoutError(f"queue {name!r} stayed full for {timeout} s")
        return {"status": "OK"}

    def _hand_over(self, name: str, item: dict, client: str | None) -> dict:
        if item["type"] == "future":
            if client is not None:
                hold_keys(self.scheduler, [item["key"]], transfer_holder(client))
            release_keys(self.scheduler, [item["key"]], f"queue-{name}")
        return item

    async def get(self, comm: Any = None, name: str = "", timeout: float | None = None,
                  batch: Any = False, client: str | None = None) -> dict:
        q = self._queue(name)
        items = []
        if batch is False:
            box: list = []

            async def take() -> None:
                box.append(await q.get())

            if not await wait_for(take(), timeout):
                raise TimeoutError(f"queue {name!r} stayed empty for {timeout} s")
            items = box
        else:
            limit = q.qsize() if batch is True else int(batch)
            if batch is not True and limit > 0:
                while len(items) < limit:  # wait for as many as asked
                    box = []

                    async def take_one() -> None:
                        box.append(await q.get())

                    if not await wait_for(take_one(), timeout):
                        raise TimeoutError(f"queue {name!r}: fewer than {limit} items "
                                           f"within {timeout} s")
                    items.extend(box)
            else:
                while not q.empty() and (batch is True or len(items) < limit):
                    items.append(q.get_nowait())
        return {"status": "OK", "items": [self._hand_over(name, i, client) for i in items]}

    def qsize(self, comm: Any = None, name: str = "", client: str | None = None) -> dict:
        return {"status": "OK", "qsize": self._queue(name).qsize()}

    def release(self, comm: Any = None, name: str = "", client: str | None = None) -> dict:
        q = self.queues.pop(name, None)
        while q is not None and not q.empty():
            item = q.get_nowait()
            if item["type"] == "future":
                release_keys(self.scheduler, [item["key"]], f"queue-{name}")
        return {"status": "OK"}


class Variable(Primitive):
    """One value (or future) shared by name across a cluster.

    ``set(value)`` replaces it; ``get(timeout)`` waits until there is one;
    ``delete()`` removes it (and lets go of a stored future's data).
    """

    _kind = "variable"

    def set(self, value: Any, timeout: float | None = None) -> Any:
        client = self.client
        return self._call("variable_set", item=_pack(value, client), client=client.id)

    def get(self, timeout: float | None = None) -> Any:
        client = self.client

        def got(reply: dict) -> Any:
            if not reply.get("found"):
                raise TimeoutError(f"variable {self.name!r} was not set within {timeout} s")
            return _unpack(reply["item"], client)

        return self._call("variable_get", got, timeout=timeout, client=client.id)

    def delete(self) -> Any:
        return self._call("variable_delete", client=self.client.id)


class Queue(Primitive):
    """A first-in, first-out queue shared by name across a cluster.

    ``put(value, timeout)`` (waits while ``maxsize`` items are in it; 0: no limit),
    ``get(timeout, batch=False)`` (``batch=True``: everything in it now, without
    waiting; ``batch=n``: wait for n items), ``qsize()``.
    """

    _kind = "queue"

    def __init__(self, name: str | None = None, client: Any = None, maxsize: int = 0):
        super().__init__(name, client)
        self.maxsize = maxsize
        self._created = False

    def _ensure(self) -> None:
        # Creating is idempotent on the scheduler; it fixes maxsize on first use.
        if not self._created and not self.client.asynchronous:
            self._call("queue_create", maxsize=self.maxsize, client=self.client.id)
            self._created = True

    def put(self, value: Any, timeout: float | None = None) -> Any:
        self._ensure()
        client = self.client
        return self._call("queue_put", item=_pack(value, client), timeout=timeout,
                          client=client.id)

    def get(self, timeout: float | None = None, batch: Any = False) -> Any:
        self._ensure()
        client = self.client

        def got(reply: dict) -> Any:
            items = [_unpack(i, client) for i in reply["items"]]
            return items if batch is not False else items[0]

        return self._call("queue_get", got, timeout=timeout, batch=batch, client=client.id)

    def qsize(self) -> Any:
        self._ensure()
        return self._call("queue_qsize", lambda r: r["qsize"], client=self.client.id)

    def __reduce__(self):
        return (_rebuild_queue, (self.name, self.maxsize))


def _rebuild_queue(name: str, maxsize: int) -> Queue:
    return Queue(name, maxsize=maxsize)

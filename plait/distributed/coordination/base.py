"""What the coordination primitives share: finding their client, calling their
scheduler extension, and holding futures' keys on the scheduler."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Callable

__all__ = ["Primitive", "hold_keys", "release_keys", "wait_for", "unique_name"]


def unique_name(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex}"


class Primitive:
    """Base of Lock, Semaphore, Event, Variable and Queue: a name, and a client found
    when first needed (so a primitive pickled into a task uses the worker's client)."""

    _kind = "primitive"

    def __init__(self, name: str | None = None, client: Any = None):
        self.name = name or unique_name(self._kind)
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from ..worker_client import get_client

            self._client = get_client()
        return self._client

    def _call(self, op: str, then: Callable[[Any], Any] | None = None, **kwargs: Any) -> Any:
        """Call the scheduler's ``op`` handler; ``then(reply)`` shapes the result.
        Awaitable on an asynchronous client, blocking otherwise."""
        client = self.client

        async def run() -> Any:
            reply = await client._rpc(op, name=self.name, **kwargs)
            return then(reply) if then is not None else None

        return client.sync(run)

    def __reduce__(self):
        return (type(self), (self.name,))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.name}>"


async def wait_for(awaitable: Any, timeout: float | None) -> bool:
    """Await ``awaitable``; False if ``timeout`` seconds pass first (None: no limit)."""
    try:
        if timeout is None:
            await awaitable
        else:
            await asyncio.wait_for(awaitable, timeout)
        return True
    except asyncio.TimeoutError:
        return False


def _send_messages(scheduler: Any, messages: Any) -> None:
    send = getattr(scheduler, "send_messages", None) or getattr(scheduler, "_send", None)
    if send is not None and messages is not None:
        send(messages)


def hold_keys(scheduler: Any, keys: list, holder: str) -> None:
    """Keep ``keys`` alive on the scheduler for the pseudo-client ``holder``."""
    method = getattr(scheduler, "client_desires_keys", None)
    if method is not None:
        method(keys=keys, client=holder)
        return
    _send_messages(scheduler, scheduler.state.client_desires_keys(keys, holder))


def release_keys(scheduler: Any, keys: list, holder: str) -> None:
    """Drop ``holder``'s claim on ``keys``."""
    method = getattr(scheduler, "client_releases_keys", None)
    if method is not None:
        method(keys=keys, client=holder)
        return
    _send_messages(scheduler, scheduler.state.client_releases_keys(keys, holder))

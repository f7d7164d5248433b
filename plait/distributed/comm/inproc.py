"""The ``inproc://`` transport: comms between tasks of one process, with no copies.

Messages are handed over as the very objects written, through a queue per direction;
nothing is pickled. ``Serialize`` wrappers keep their meaning: a reader that
deserializes (the default) sees the wrapped objects, and ``Serialized`` values are
unpickled; a reader with ``deserialize=False`` gets the ``Serialize`` wrappers themselves,
opaque like ``Serialized`` (code that forwards user data must accept both). Each side may
run on its own event loop (another thread): puts from another thread go through
``call_soon_threadsafe``. Writers must not mutate a message after writing it.

Addresses are ``inproc://<host>/<pid>/<n>``; ``listen("inproc://")`` picks a new one.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
from collections import deque
from typing import Any

from plait.distributed.comm.core import (
    Backend, Comm, CommClosedError, HandleComm, Listener, register_backend,
)
from plait.distributed.comm.serialize import Serialize, Serialized, deserialize

__all__ = ["InProcBackend", "InProcComm", "InProcListener", "new_address"]

logger = logging.getLogger("plait.distributed.comm")

_HOST = "127.0.0.1"
_counter = itertools.count(1)
_listeners: dict[str, InProcListener] = {}
_listeners_lock = threading.Lock()
_CLOSE = object()  # end-of-stream marker put by the closing side
_ATOMS = frozenset({str, int, float, bool, type(None), bytes})


def new_address() -> str:
    """A fresh ``inproc://`` address, unique in this process.

    >>> new_address().startswith("inproc://")
    True
    """
    return f"inproc://{_HOST}/{os.getpid()}/{next(_counter)}"


def _unwrap(obj: Any) -> Any:
    """``obj`` with ``Serialize``/``Serialized`` values replaced by their objects."""
    t = type(obj)
    if t in _ATOMS:
        return obj
    if t is dict:
        return {k: v if type(v) in _ATOMS else _unwrap(v) for k, v in obj.items()}
    if t is list:
        return [v if type(v) in _ATOMS else _unwrap(v) for v in obj]
    if t is tuple:
        return tuple([v if type(v) in _ATOMS else _unwrap(v) for v in obj])
    if t is Serialize:
        return obj.data
    if t is Serialized:
        return deserialize(obj)
    return obj


class _Channel:
    """Messages for one reader: put from any thread, taken on the reader's loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.items: deque = deque()
        self.waiter: asyncio.Future | None = None
        self.reader_closed = False

    def put(self, item: Any) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._put(item)
            return
        try:
            self.loop.call_soon_threadsafe(self._put, item)
        except RuntimeError:  # the reader's loop is closed: so is the reader
            raise CommClosedError("the peer's event loop is closed") from None

    def _put(self, item: Any) -> None:
        self.items.append(item)
        self.wake()

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)


class InProcComm(Comm):
    """One end of an in-process comm pair."""

    def __init__(self, local: str, peer: str, incoming: _Channel, outgoing: _Channel,
                 deserialize: bool = True) -> None:
        super().__init__(deserialize)
        self._local, self._peer = local, peer
        self._in, self._out = incoming, outgoing
        self._closed = False
        self._peer_done = False  # the peer's end-of-stream marker was read

    @property
    def local_address(self) -> str:
        return self._local

    @property
    def peer_address(self) -> str:
        return self._peer

    def closed(self) -> bool:
        return self._closed or self._peer_done or self._out.reader_closed

    async def read(self, deserialize: bool | None = None) -> Any:
        channel = self._in
        while not channel.items:
            if self._closed or self._peer_done:
                raise CommClosedError(f"in-process comm to {self._peer} is closed")
            channel.waiter = asyncio.get_running_loop().create_future()
            await channel.waiter
        if self._closed:
            raise CommClosedError(f"in-process comm to {self._peer} was closed locally")
        msg = channel.items.popleft()
        if msg is _CLOSE:
            self._peer_done = True
            raise CommClosedError(f"in-process comm to {self._peer} was closed by the peer")
        if self.deserialize if deserialize is None else deserialize:
            msg = _unwrap(msg)
        return msg

    async def write(self, msg: Any) -> int:
        if self.closed():
            raise CommClosedError(f"in-process comm to {self._peer} is closed")
        self._out.put(msg)
        return 0

    def _shut(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._in.reader_closed = True  # the peer's writes now fail
        self._in.wake()
        try:
            self._out.put(_CLOSE)  # the peer reads what was sent, then sees the end
        except CommClosedError:
            pass

    async def close(self) -> None:
        self._shut()

    def abort(self) -> None:
        self._shut()


class InProcListener(Listener):
    """Accepts in-process connections on one ``inproc://`` address."""

    def __init__(self, location: str, handle_comm: HandleComm, deserialize: bool) -> None:
        self.address = f"inproc://{location}" if location else new_address()
        self.handle_comm = handle_comm
        self.deserialize = deserialize
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        with _listeners_lock:
            if self.address in _listeners:
                raise OSError(f"{self.address} is already in use by another listener")
            _listeners[self.address] = self

    def stop(self) -> None:
        with _listeners_lock:
            if _listeners.get(self.address) is self:
                del _listeners[self.address]

    @property
    def contact_address(self) -> str:
        return self.address

    def _accept(self, comm: InProcComm) -> None:
        task = asyncio.get_running_loop().create_task(self.handle_comm(comm))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("handling a comm on %s failed", self.address, exc_info=task.exception())


class InProcBackend(Backend):
    networked = False  # never leaves the process: no TLS, no exposure

    async def connect(self, location: str, deserialize: bool, timeout: float,
                      **connection_args: Any) -> Comm:
        address = f"inproc://{location}"
        with _listeners_lock:
            listener = _listeners.get(address)
        if listener is None or listener.loop is None or listener.loop.is_closed():
            raise ConnectionRefusedError(f"no in-process listener at {address}")
        to_server = _Channel(listener.loop)
        to_client = _Channel(asyncio.get_running_loop())
        local = new_address()
        server_end = InProcComm(address, local, to_server, to_client, listener.deserialize)
        client_end = InProcComm(local, address, to_client, to_server, deserialize)
        if listener.loop is asyncio.get_running_loop():
            listener._accept(server_end)
        else:
            listener.loop.call_soon_threadsafe(listener._accept, server_end)
        return client_end

    def listener(self, location: str, handle_comm: HandleComm, deserialize: bool,
                 **connection_args: Any) -> Listener:
        return InProcListener(location, handle_comm, deserialize)


register_backend("inproc", InProcBackend())

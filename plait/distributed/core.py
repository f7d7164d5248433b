"""RPC on comms: ``Server`` dispatches ``{"op": ...}`` messages; ``ConnectionPool`` calls them.

A server reads messages from each comm it accepts, calls ``handlers[op](comm=comm,
**rest)`` and writes the result back (unless the message says ``"reply": False``). A
handler may return ``Server.DETACH`` to take the comm over: registration handlers turn
it into a long-lived stream with ``handle_stream``. A handler that raises makes an
error reply ``{"status": "error", "exception": ..., "traceback": str, "text": str}``;
``ConnectionPool.send_recv`` raises that exception again on the caller's side, with the
remote traceback attached.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from plait.distributed.comm import (
    Comm, CommClosedError, Listener, connect, deserialize, listen, normalize_address,
    serialize,
)

__all__ = [
    "ConnectionPool", "RemoteError", "Server", "error_message", "raise_remote", "send_recv",
]

logger = logging.getLogger("plait.distributed.core")


class RemoteError(RuntimeError):
    """A remote exception whose type could not be recreated here (its text is kept)."""


def error_message(exc: BaseException) -> dict:
    """The error reply for ``exc``: status, pickled exception, traceback text, message text.

    An exception that cannot be pickled is replaced by a ``RemoteError`` with its text.

    >>> error_message(ValueError("bad"))["text"]
    'ValueError: bad'
    """
    text = f"{type(exc).__name__}: {exc}"
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        pickled = serialize(exc)
    except Exception:
        pickled = serialize(RemoteError(text))
    return {"status": "error", "exception": pickled, "traceback": tb, "text": text}


def raise_remote(reply: dict) -> None:
    """Raise the exception carried by an error reply (see ``error_message``).

    The remote traceback text is attached as ``exc.remote_traceback`` and as a note.
    """
    tb = reply.get("traceback")
    tb_text = tb if isinstance(tb, str) else ""
    try:
        exc = reply["exception"]  # already unpickled when the comm deserializes
        if not isinstance(exc, BaseException):
            exc = deserialize(exc)
        if not isinstance(exc, BaseException):
            raise TypeError(f"not an exception: {exc!r}")
    except Exception as why:
        exc = RemoteError(reply.get("text") or "remote error (no message)")
        exc.add_note(f"(the original exception could not be recreated here: {why})")
    try:
        exc.remote_traceback = tb_text  # type: ignore[attr-defined]
    except AttributeError:  # exceptions with __slots__
        pass
    if tb_text:
        exc.add_note("Remote traceback:\n" + tb_text.rstrip())
    raise exc


def _is_error(reply: Any) -> bool:
    return type(reply) is dict and reply.get("status") == "error" and "exception" in reply


async def send_recv(comm: Comm, msg: dict) -> Any:
    """Write ``msg`` on ``comm``, read the reply; raise the remote exception if it is one."""
    await comm.write(msg)
    reply = await comm.read()
    if _is_error(reply):
        raise_remote(reply)
    return reply


class _Detach:
    def __repr__(self) -> str:
        return "Server.DETACH"


class Server:
    """Serves rpc handlers (and, on detached comms, stream handlers) on listened addresses.

    Parameters
    ----------
    handlers : dict
        ``op -> callable(comm=comm, **msg)``; sync or async; the result is the reply.
    stream_handlers : dict, optional
        ``op -> callable(**msg, **extra)`` for messages read by ``handle_stream``.
    name : str, optional
        Shown in logs.
    security : Security, None or False
        TLS and shared-secret settings of its listeners (None: from config; False:
        explicitly insecure). See :class:`plait.distributed.Security`.
    role : str
        "scheduler", "worker" or "client": the TLS certificate its listeners present.
    deserialize : bool
        Whether accepted comms unpickle ``Serialize`` values (False: they stay
        ``Serialized``, for a scheduler that only forwards user data).
    """

    DETACH = _Detach()

    def __init__(self, handlers: dict[str, Callable],
                 stream_handlers: dict[str, Callable] | None = None,
                 name: str | None = None, security: Any = None, role: str = "scheduler",
                 deserialize: bool = True) -> None:
        from .security import resolve_security

        self.security = resolve_security(security)
        self.role = role
        self.handlers = dict(handlers)
        self.stream_handlers = dict(stream_handlers or {})
        self.name = name or type(self).__name__
        self.deserialize = deserialize
        self.listeners: list[Listener] = []
        self.comms: set[Comm] = set()
        self._tasks: set[asyncio.Task] = set()
        self.status = "init"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.status} at {self._address_or_none()}>"

    def _address_or_none(self) -> str | None:
        return self.listeners[0].contact_address if self.listeners else None

    @property
    def address(self) -> str:
        """The first listener's contact address."""
        if not self.listeners:
            raise RuntimeError(f"{self.name} is not listening: await server.listen(address) first")
        return self.listeners[0].contact_address

    async def listen(self, address: str = "tcp://127.0.0.1:0") -> Listener:
        """Accept comms on ``address`` (port 0: a free port), with this server's
        ``security`` and ``role``."""
        listener = await listen(address, self.handle_comm, security=self.security,
                                role=self.role, deserialize=self.deserialize)
        self.listeners.append(listener)
        self.status = "running"
        return listener

    async def handle_comm(self, comm: Comm) -> None:
        """Serve rpc requests on ``comm`` until it closes or a handler detaches it."""
        self.comms.add(comm)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        detached = False
        try:
            while not comm.closed():
                try:
                    msg = await comm.read()
                except CommClosedError:
                    return
                except Exception as exc:  # e.g. a payload that cannot be unpickled
                    if not await self._reply(comm, error_message(exc)):
                        return
                    continue
                if type(msg) is not dict or type(msg.get("op")) is not str:
                    err = ValueError(f"{self.name} expects a dict with an 'op' entry "
                                     f"naming an operation, got {type(msg).__name__}")
                    if not await self._reply(comm, error_message(err)):
                        return
                    continue
                op = msg.pop("op")
                wants_reply = msg.pop("reply", True)
                result = await self._call(op, comm, msg)
                if result is Server.DETACH:
                    detached = True
                    return
                if wants_reply and not await self._reply(comm, result):
                    return
        finally:
            if task is not None:
                self._tasks.discard(task)
            self.comms.discard(comm)
            if not detached and not comm.closed():
                await comm.close()

    async def _call(self, op: str, comm: Comm, msg: dict) -> Any:
        handler = self.handlers.get(op)
        if handler is None:
            known = ", ".join(sorted(self.handlers))
            return error_message(ValueError(
                f"{self.name} has no handler for op {op!r}; known ops: {known}"))
        try:
            result = handler(comm=comm, **msg)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            logger.info("%s: handler %r raised %s: %s", self.name, op, type(exc).__name__, exc)
            return error_message(exc)
        return result

    async def _reply(self, comm: Comm, reply: Any) -> bool:
        """Write ``reply``; False when the comm is gone. An unserializable reply is
        answered with an error instead."""
        try:
            await comm.write(reply)
        except CommClosedError:
            return False
        except Exception as exc:
            try:
                await comm.write(error_message(exc))
            except CommClosedError:
                return False
        return True

    async def handle_stream(self, comm: Comm, **extra: Any) -> None:
        """Read batches from ``comm`` and call ``stream_handlers[op](**msg, **extra)``.

        Each read may be one message or a list of them (``BatchedSend``). Returns when
        the comm closes; a failing handler is logged and the stream goes on.
        """
        self.comms.add(comm)
        handlers = self.stream_handlers
        try:
            while True:
                try:
                    batch = await comm.read()
                except CommClosedError:
                    return
                for msg in batch if type(batch) is list else (batch,):
                    op = msg.pop("op", None) if type(msg) is dict else None
                    handler = handlers.get(op) if type(op) is str else None
                    if handler is None:
                        logger.error("%s: stream from %s sent unknown op %r (known: %s)",
                                     self.name, comm.peer_address, op,
                                     ", ".join(sorted(handlers)))
                        continue
                    try:
                        result = handler(**msg, **extra)
                        if inspect.isawaitable(result):
                            await result
                    except Exception:
                        logger.exception("%s: stream handler %r failed", self.name, op)
        finally:
            self.comms.discard(comm)

    async def close(self, timeout: float = 5) -> None:
        """Stop listening, close every live comm and end its serving task within ``timeout``."""
        if self.status == "closed":
            return
        self.status = "closed"
        for listener in self.listeners:
            listener.stop()
        comms = list(self.comms)
        if comms:
            _, pending = await asyncio.wait(
                [asyncio.ensure_future(c.close()) for c in comms], timeout=timeout)
            for fut in pending:
                fut.cancel()
            for comm in comms:  # those whose graceful close did not finish in time
                if not comm.closed():
                    comm.abort()
        tasks = [t for t in self._tasks if t is not asyncio.current_task() and not t.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for t in pending:
                t.cancel()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class ConnectionPool:
    """Reusable comms per address, at most ``limit`` open in all.

    ``send_recv`` borrows a comm, sends one request, reads one reply and gives the comm
    back. When ``limit`` comms are open, an idle comm to another address is closed to make
    room; with none idle, callers wait for one to be returned. New comms are opened with
    ``security`` (None: from config; False: explicitly insecure) as ``role``.
    """

    def __init__(self, limit: int = 512, timeout: float = 10, deserialize: bool = True,
                 security: Any = None, role: str = "client") -> None:
        from .security import resolve_security

        if limit < 1:
            raise ValueError(f"ConnectionPool limit must be at least 1, got {limit}")
        self.security = resolve_security(security)
        self.role = role
        self.limit = limit
        self.timeout = timeout
        self.deserialize = deserialize
        self.available: defaultdict[str, deque[Comm]] = defaultdict(deque)
        self.occupied: defaultdict[str, set[Comm]] = defaultdict(set)
        self._opening = 0
        self._released: asyncio.Condition | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<ConnectionPool open={self.open} active={self.active} limit={self.limit}>"

    @property
    def open(self) -> int:
        """Comms open (idle or in use) and being opened."""
        return self.active + sum(len(d) for d in self.available.values())

    @property
    def active(self) -> int:
        """Comms in use, including those being opened."""
        return sum(len(s) for s in self.occupied.values()) + self._opening

    def _condition(self) -> asyncio.Condition:
        if self._released is None:
            self._released = asyncio.Condition()
        return self._released

    async def acquire(self, address: str) -> Comm:
        """A comm to ``address``: an idle one if any, else a new one (waiting for room)."""
        if self._closed:
            raise RuntimeError("the ConnectionPool is closed")
        address = normalize_address(address)
        idle = self.available[address]
        while idle:
            comm = idle.popleft()
            if not comm.closed():
                self.occupied[address].add(comm)
                return comm
        cond = self._condition()
        async with cond:
            while self.open >= self.limit:
                if not self._close_one_idle():
                    await cond.wait()
                if self._closed:
                    raise RuntimeError("the ConnectionPool is closed")
            self._opening += 1
        try:
            comm = await connect(address, timeout=self.timeout, security=self.security,
                                 role=self.role, deserialize=self.deserialize)
        except BaseException:
            self._opening -= 1
            await self._notify()
            raise
        self._opening -= 1
        self.occupied[address].add(comm)
        return comm

    def _close_one_idle(self) -> bool:
        for idle in self.available.values():
            while idle:
                comm = idle.popleft()
                if not comm.closed():
                    comm.abort()  # idle: nothing in flight on it
                    return True
        return False

    async def _notify(self) -> None:
        cond = self._condition()
        async with cond:
            cond.notify()

    async def release(self, comm: Comm, address: str, reuse: bool = True) -> None:
        """Give ``comm`` back: kept idle for reuse, or closed when ``reuse`` is False."""
        address = normalize_address(address)
        self.occupied[address].discard(comm)
        if reuse and not self._closed and not comm.closed():
            self.available[address].append(comm)
        elif not comm.closed():
            comm.abort()
        await self._notify()

    @asynccontextmanager
    async def connection(self, address: str) -> AsyncIterator[Comm]:
        """``async with pool.connection(addr) as comm``: borrow a comm for a conversation.

        If the block raises (or is cancelled) the comm may hold an unread reply, so it is
        closed instead of reused.
        """
        comm = await self.acquire(address)
        ok = False
        try:
            yield comm
            ok = True
        finally:
            await self.release(comm, address, reuse=ok)

    async def send_recv(self, address: str, op: str, /, **kwargs: Any) -> Any:
        """Send ``{"op": op, **kwargs}`` to ``address`` and return the reply.

        ``address`` and ``op`` are positional-only, so messages may carry an
        ``address`` field of their own (``register-worker``, ``unregister``).

        Raises the remote exception (its own type when it unpickles here, else
        ``RemoteError``) with ``remote_traceback`` and a note holding the remote traceback.
        """
        async with self.connection(address) as comm:
            await comm.write({"op": op, **kwargs})
            reply = await comm.read()
        if _is_error(reply):
            raise_remote(reply)
        return reply

    async def close(self) -> None:
        """Close every comm, idle or in use; later ``acquire`` calls fail."""
        self._closed = True
        comms = [c for d in self.available.values() for c in d]
        comms += [c for s in self.occupied.values() for c in s]
        self.available.clear()
        for comm in comms:
            comm.abort()
        if self._released is not None:
            async with self._released:
                self._released.notify_all()

    async def __aenter__(self) -> ConnectionPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

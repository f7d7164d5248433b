"""Futures: handles on results that live on a cluster.

A :class:`Future` names one key. Its state (:class:`FutureState`) is shared by every
Future of that key held by one client and changes only on the client's event loop, when
the scheduler reports on its stream (``key-in-memory``, ``task-erred``,
``cancelled-keys``, ``lost-data``).

Reference counting: each Future counts once for its key at its client; when the last one
is garbage collected the client tells the scheduler (``client-releases-keys``, batched),
so data nobody can ask for any more is freed on the workers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import threading
from typing import Any, Callable

from ..local.errors import RemoteTraceback, annotate

__all__ = ["Future", "FutureState", "FutureCancelledError", "FutureLostError"]

PENDING, FINISHED, ERROR, CANCELLED, LOST = "pending", "finished", "error", "cancelled", "lost"


class FutureCancelledError(concurrent.futures.CancelledError):
    """The result of a cancelled future was asked for.

    (A ``concurrent.futures.CancelledError``, an ordinary Exception: asyncio's own
    CancelledError would cancel the coroutine that reports it.)"""

    def __init__(self, key: Any, reason: str | None = None):
        self.key = key
        self.reason = reason
        text = f"task {key!r} was cancelled"
        super().__init__(text + (f": {reason}" if reason else ""))


class FutureLostError(RuntimeError):
    """The data of a finished future was lost (its worker left) and cannot be recomputed."""


class FutureState:
    """The state of one key as the client knows it; changed on the client's loop only."""

    __slots__ = ("key", "status", "type", "exception", "traceback", "text", "reason",
                 "cause", "_event", "_callbacks")

    def __init__(self, key: Any):
        self.key = key
        self.status = PENDING
        self.type: str | None = None
        self.exception: BaseException | None = None
        self.traceback: Any = None
        self.text: str | None = None  # the remote traceback, as text
        self.reason: str | None = None
        self.cause: Any = None  # the key whose task raised (this key or a dependency)
        self._event: asyncio.Event | None = None
        self._callbacks: list[Callable[["FutureState"], None]] = []

    def done(self) -> bool:
        return self.status != PENDING

    def _settle(self, status: str) -> None:
        self.status = status
        if self._event is not None:
            self._event.set()
        callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb(self)

    def finish(self, type: str | None = None) -> None:
        self.type = type
        self._settle(FINISHED)

    def set_error(self, exception: BaseException, traceback: Any = None,
                  text: str | None = None, cause: Any = None) -> None:
        self.exception = exception
        self.traceback = traceback
        self.text = text
        self.cause = cause
        self._settle(ERROR)

    def cancel(self, reason: str | None = None) -> None:
        self.reason = reason
        self._settle(CANCELLED)

    def lose(self) -> None:
        self._settle(LOST)

    def reset(self) -> None:
        """Pending again (the key is being recomputed)."""
        self.status = PENDING
        self.type = self.exception = self.traceback = self.text = self.cause = None
        if self._event is not None:
            self._event = asyncio.Event()

    def on_done(self, callback: Callable[["FutureState"], None]) -> None:
        """Call ``callback(state)`` on the loop once the key settles (now if it has)."""
        if self.done():
            callback(self)
        else:
            self._callbacks.append(callback)

    async def wait(self, timeout: float | None = None) -> None:
        if self.done():
            return
        if self._event is None:
            self._event = asyncio.Event()
        if timeout is None:
            await self._event.wait()
        else:
            await asyncio.wait_for(self._event.wait(), timeout)

    def error_to_raise(self) -> BaseException:
        """The exception for ``result()``: the task's own, key named, remote traceback
        chained; or why there is no result."""
        if self.status == ERROR:
            # A copy each time: a raised exception collects the frames it passes
            # through (Future.result's holds the Future), and the one kept here lives
            # as long as the client holds the key, so raising it would keep the
            # Future, hence the key, alive for good.
            exc = _fresh_copy(self.exception)
            if self.text and not isinstance(exc.__cause__, RemoteTraceback):
                exc.__cause__ = RemoteTraceback(self.text)
            cause = self.cause
            if cause is not None and cause != self.key:
                # A dependent: name the task that raised, then the one asked for.
                annotate(exc, cause, "distributed")
                note = f"plait: task {self.key!r} needs it, so it failed too"
                if note not in (getattr(exc, "__notes__", None) or ()):
                    exc.add_note(note)
                return exc
            return annotate(exc, self.key, "distributed")
        if self.status == CANCELLED:
            return FutureCancelledError(self.key, self.reason)
        if self.status == LOST:
            return FutureLostError(f"the data of task {self.key!r} was lost with its worker")
        raise AssertionError(f"future {self.key!r} is {self.status}, not failed")

    def __repr__(self) -> str:
        return f"<FutureState {self.key!r} {self.status}>"


def _fresh_copy(exc: BaseException) -> BaseException:
    """A new exception equal to ``exc`` (same type, args, attributes and notes) with no
    traceback; ``exc`` itself when its type cannot be rebuilt from its args.

    >>> e = ValueError("bad"); e.add_note("n")
    >>> c = _fresh_copy(e)
    >>> (type(c), c.args, c.__notes__, c is e)
    (<class 'ValueError'>, ('bad',), ['n'], False)
    """
    try:
        new = copy.copy(exc)
    except Exception:  # noqa: BLE001 - any failure to rebuild: raise the original
        return exc
    if type(new) is not type(exc):
        return exc
    new.__traceback__ = None
    new.__cause__ = exc.__cause__
    new.__suppress_context__ = exc.__suppress_context__
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        new.__notes__ = list(notes)  # notes added to the copy stay on the copy
    return new


class Future:
    """A remote result, computed or being computed on the cluster.

    Made by :meth:`Client.submit`, :meth:`Client.map`, :meth:`Client.scatter`,
    :meth:`Client.compute` and :meth:`Client.persist`, never by hand. Futures passed
    as arguments to ``submit``/``map`` become dependencies: the worker gets the data
    from its peers, not through the client.

    ``await future`` gives the result in asynchronous code.
    """

    __slots__ = ("key", "_client", "_state", "_bound", "__weakref__")

    def __init__(self, key: Any, client: Any = None, state: FutureState | None = None,
                 inform: bool = False):
        self.key = key
        self._bound = False
        if client is None:
            from .worker_client import _client_for_unpickled_future

            client = _client_for_unpickled_future()
        self._client = client
        self._state = state
        if client is not None:
            self._bind()
            if inform:
                client._desire_keys([key])

    def _bind(self) -> None:
        self._state = self._client._acquire_key(self.key, self._state)
        self._bound = True

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError(
                f"future {self.key!r} has no client: it was unpickled where no plait "
                "Client is running; create one with plait.distributed.Client(address)"
            )
        return self._client

    @property
    def status(self) -> str:
        """``"pending"``, ``"finished"``, ``"error"``, ``"cancelled"`` or ``"lost"``."""
        return self._state.status if self._state is not None else PENDING

    def done(self) -> bool:
        """Whether the task finished, failed or was cancelled."""
        return self._state is not None and self._state.done()

    def cancelled(self) -> bool:
        return self.status == CANCELLED

    @property
    def type(self) -> str | None:
        return self._state.type if self._state is not None else None

    def result(self, timeout: float | None = None) -> Any:
        """The value, once computed; the task's exception (same type, key named, remote
        traceback chained as ``__cause__``) if it failed.

        Raises ``TimeoutError`` if it is not done within ``timeout`` seconds.
        """
        client = self.client
        if client.asynchronous and client._on_loop_thread():
            return self._result_async(timeout)
        state = self._state
        if state.done() and state.status != FINISHED:
            raise state.error_to_raise()  # known here: no need for the (maybe gone) loop
        return client.sync(self._result_async, timeout)

    async def _result_async(self, timeout: float | None = None, raiseit: bool = True) -> Any:
        await self._wait_async(timeout)
        state = self._state
        if state.status != FINISHED:
            exc = state.error_to_raise()
            if raiseit:
                raise exc
            return exc
        values = await self._client._gather_keys([self.key], errors="raise")
        return values[self.key]

    async def _wait_async(self, timeout: float | None = None) -> None:
        try:
            await self._state.wait(timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(
                f"future {self.key!r} was not done within {timeout} s (status {self.status})"
            ) from None

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The task's exception once it settles, or None if it succeeded."""
        client = self.client
        if client.asynchronous and client._on_loop_thread():
            return self._exception_async(timeout)
        return client.sync(self._exception_async, timeout)

    async def _exception_async(self, timeout: float | None = None) -> BaseException | None:
        await self._wait_async(timeout)
        if self._state.status == ERROR:
            return self._state.error_to_raise()
        return None

    def traceback(self, timeout: float | None = None) -> Any:
        """The failed task's traceback: a traceback object when one could travel,
        otherwise the remote traceback as text; None if the task succeeded."""
        client = self.client
        if client.asynchronous and client._on_loop_thread():
            return self._traceback_async(timeout)
        return client.sync(self._traceback_async, timeout)

    async def _traceback_async(self, timeout: float | None = None) -> Any:
        await self._wait_async(timeout)
        state = self._state
        if state.status != ERROR:
            return None
        return state.traceback if state.traceback is not None else state.text

    def cancel(self, force: bool = False) -> None:
        """Ask the scheduler to cancel this task (and forget its result)."""
        self.client.cancel([self], force=force)

    def retry(self) -> Any:
        """Run this failed future again (see :meth:`Client.retry`)."""
        return self.client.retry([self])

    def release(self) -> None:
        """Drop this handle's claim on the key now instead of at garbage collection."""
        if self._bound:
            self._bound = False
            self._client._release_key(self.key)

    def add_done_callback(self, fn: Callable[["Future"], Any]) -> None:
        """Call ``fn(future)`` once the future settles, on a separate thread (so that
        the callback may block, e.g. call ``result()``)."""
        client = self.client

        def settled(_state: FutureState) -> None:
            threading.Thread(target=_run_callback, args=(fn, self), daemon=True,
                             name=f"plait-future-callback-{self.key}").start()

        client._call_on_loop(lambda: self._state.on_done(settled))

    def __await__(self):
        return self._result_async().__await__()

    def __del__(self) -> None:
        try:
            if self._bound:
                self._bound = False
                self._client._release_key(self.key)
        except Exception:  # interpreter shutdown: modules may be gone
            pass

    def __reduce__(self):
        from .pickling import note_pickled_future

        note_pickled_future(self.key)  # the client is packing a graph: a dependency
        return (_rebuild_future, (self.key,))

    def __plait_tokenize__(self) -> Any:
        return ("future", self.key)

    def __repr__(self) -> str:
        status = self.status
        if status == FINISHED and self.type:
            return f"<Future: finished, type: {self.type}, key: {self.key!r}>"
        return f"<Future: {status}, key: {self.key!r}>"

    def _repr_html_(self) -> str:
        import html

        return (f"<b>Future: {html.escape(str(self.key))}</b> "
                f"<span>status: {html.escape(self.status)}</span>"
                + (f", <span>type: {html.escape(self.type)}</span>" if self.type else ""))


def _run_callback(fn: Callable, future: Future) -> None:
    try:
        fn(future)
    except Exception:  # a callback's failure must not kill the client; show it
        import traceback

        traceback.print_exc()


def _rebuild_future(key: Any) -> Future:
    """A future unpickled inside a task or another process: bound to the client of the
    place it lands in (the worker's client inside a task, else the default client)."""
    return Future(key, inform=True)

"""Waiting on many futures: :func:`wait` and :class:`as_completed`.

Both do their waiting on the client's event loop with one callback per future (no
polling): ``wait`` parks on one event that the last (or first) settling future sets;
``as_completed`` is fed by the same callbacks into a thread-safe queue.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import namedtuple
from typing import Any, Iterable

from .future import FINISHED, Future

__all__ = ["wait", "as_completed", "DoneAndNotDoneFutures", "ALL_COMPLETED",
           "FIRST_COMPLETED", "FIRST_EXCEPTION"]

ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION = "ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"

DoneAndNotDoneFutures = namedtuple("DoneAndNotDoneFutures", ["done", "not_done"])


def _futures_in(fs: Any, strict: bool = True) -> list[Future]:
    """The futures inside ``fs`` (lists, tuples, sets, dict values); other objects are
    an error when ``strict``, else skipped."""
    if isinstance(fs, Future):
        return [fs]
    out: list[Future] = []
    stack = [fs]
    while stack:
        obj = stack.pop()
        if isinstance(obj, Future):
            out.append(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif strict:
            raise TypeError(f"wait() and as_completed() take futures (or lists of them); "
                            f"got {type(obj).__name__} {obj!r}")
    out.reverse()
    return out


async def _wait_async(futures: list[Future], timeout: float | None, return_when: str) -> None:
    if not futures:
        return
    pending = [f for f in futures if not f.done()]
    if not pending:
        return
    if return_when == FIRST_COMPLETED and len(pending) < len(futures):
        return
    if return_when == FIRST_EXCEPTION and any(f.status not in (FINISHED, "pending")
                                              for f in futures):
        return
    event = asyncio.Event()
    left = [len(pending)]

    def settled(state: Any) -> None:
        left[0] -= 1
        if left[0] == 0 or return_when == FIRST_COMPLETED or (
                return_when == FIRST_EXCEPTION and state.status != FINISHED):
            event.set()

    for f in pending:
        f._state.on_done(settled)
    try:
        if timeout is None:
            await event.wait()
        else:
            await asyncio.wait_for(event.wait(), timeout)
    except asyncio.TimeoutError:
        n = sum(not f.done() for f in futures)
        raise TimeoutError(f"wait: {n} of {len(futures)} futures not done within "
                           f"{timeout} s") from None


def wait(fs: Any, timeout: float | None = None,
         return_when: str = ALL_COMPLETED) -> Any:
    """Wait until all (or the first) of the futures ``fs`` are done.

    Returns ``DoneAndNotDoneFutures(done, not_done)`` (two sets). Raises ``TimeoutError``
    if that has not happened within ``timeout`` seconds. With an asynchronous client,
    returns an awaitable.
    """
    if return_when not in (ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION):
        raise ValueError(f"return_when must be 'ALL_COMPLETED', 'FIRST_COMPLETED' or "
                         f"'FIRST_EXCEPTION', got {return_when!r}")
    futures = _futures_in(fs)
    if not futures:
        return DoneAndNotDoneFutures(set(), set())
    client = futures[0].client

    def result() -> DoneAndNotDoneFutures:
        done = {f for f in futures if f.done()}
        return DoneAndNotDoneFutures(done, {f for f in futures if f not in done})

    if client.asynchronous and client._on_loop_thread():
        async def run() -> DoneAndNotDoneFutures:
            await _wait_async(futures, timeout, return_when)
            return result()
        return run()
    client.sync(_wait_async, futures, timeout, return_when)
    return result()


class as_completed:
    """Iterate over futures in the order they finish.

    >>> for future in as_completed(futures):  # doctest: +SKIP
    ...     print(future.result())

    ``with_results=True`` yields ``(future, result)`` pairs (gathered as each settles);
    ``raise_errors=False`` then yields the exception as the result instead of raising.
    ``add(future)`` and ``update(futures)`` put more in while iterating; ``count()`` is
    how many are still to come; ``is_empty()`` / ``has_ready()`` / ``next_batch()``
    mirror Dask's. Works with ``for`` and ``async for``.
    """

    def __init__(self, futures: Iterable[Future] | None = None, loop: Any = None,
                 with_results: bool = False, raise_errors: bool = True):
        self.with_results = with_results
        self.raise_errors = raise_errors
        self._lock = threading.Lock()
        self._ready: "queue.Queue[Future]" = queue.Queue()
        self._waiting = 0
        self._async_waiter: asyncio.Event | None = None
        self._client = None
        if futures is not None:
            self.update(futures)

    def update(self, futures: Iterable[Future]) -> None:
        for f in _futures_in(list(futures)):
            self.add(f)

    def add(self, future: Future) -> None:
        """Also yield ``future`` once it settles."""
        if not isinstance(future, Future):
            raise TypeError(f"as_completed.add takes a Future, got {type(future).__name__}")
        self._client = future.client
        with self._lock:
            self._waiting += 1

        def settled(_state: Any) -> None:
            self._ready.put(future)
            event = self._async_waiter
            if event is not None:
                event.set()

        future.client._call_on_loop(lambda: future._state.on_done(settled))

    def count(self) -> int:
        """How many futures have not been yielded yet."""
        with self._lock:
            return self._waiting

    def is_empty(self) -> bool:
        return self.count() == 0

    def has_ready(self) -> bool:
        return not self._ready.empty()

    def clear(self) -> None:
        with self._lock:
            self._waiting = 0
        while not self._ready.empty():
            self._ready.get_nowait()

    def __len__(self) -> int:
        return self.count()

    def _take(self, future: Future) -> None:
        with self._lock:
            self._waiting -= 1

    def _with_result(self, future: Future) -> Any:
        if not self.with_results:
            return future
        if future.status == FINISHED:
            return future, future.result()
        exc = future._state.error_to_raise()
        if self.raise_errors:
            raise exc
        return future, exc

    def __iter__(self) -> "as_completed":
        return self

    def __next__(self) -> Any:
        if self.count() == 0:
            raise StopIteration
        while True:
            try:
                future = self._ready.get(timeout=0.5)
                break
            except queue.Empty:
                if self.count() == 0:
                    raise StopIteration from None
        self._take(future)
        return self._with_result(future)

    def next_batch(self, block: bool = True) -> list:
        """Every future ready now (at least one if ``block``)."""
        out = []
        if block and self.count():
            out.append(next(self))
        while not self._ready.empty():
            future = self._ready.get_nowait()
            self._take(future)
            out.append(self._with_result(future))
        return out

    def batches(self):
        """Yield lists of the futures ready at each step."""
        while self.count():
            yield self.next_batch(block=True)

    def __aiter__(self) -> "as_completed":
        return self

    async def __anext__(self) -> Any:
        while True:
            if self.count() == 0:
                raise StopAsyncIteration
            try:
                future = self._ready.get_nowait()
                break
            except queue.Empty:
                self._async_waiter = event = asyncio.Event()
                if self._ready.empty():
                    await event.wait()
                self._async_waiter = None
        self._take(future)
        if not self.with_results:
            return future
        if future.status == FINISHED:
            return future, await future._result_async()
        exc = future._state.error_to_raise()
        if self.raise_errors:
            raise exc
        return future, exc

"""An asyncio event loop on a daemon thread, and calling into it from other threads.

Synchronous APIs (the Client outside ``asynchronous=True``, ``LocalCluster``) keep their
servers on a ``LoopRunner`` loop and call coroutines there with ``run_sync``:

>>> async def add(a, b):
...     return a + b
>>> with LoopRunner() as runner:
...     runner.run_sync(add, 1, 2)
3
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["LoopRunner", "new_event_loop", "sync"]


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's when uvloop is installed, else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def sync(loop: asyncio.AbstractEventLoop | LoopRunner, coro_fn: Callable[..., Any], *args: Any,
         timeout: float | None = None, **kwargs: Any) -> Any:
    """Run ``coro_fn(*args, **kwargs)`` on ``loop`` (running in another thread); return its result.

    Exceptions from the coroutine are raised here. After ``timeout`` seconds the
    coroutine is cancelled and ``TimeoutError`` raised. Calling this from ``loop``'s own
    thread raises ``RuntimeError`` (it would wait for itself forever): await instead.
    """
    if isinstance(loop, LoopRunner):
        loop = loop.loop
    name = getattr(coro_fn, "__qualname__", repr(coro_fn))
    if _on_loop_thread(loop):
        raise RuntimeError(
            f"cannot run {name} synchronously from the event loop's own thread: that would "
            "block the loop waiting for itself; use 'await' there instead"
        )
    if loop.is_closed() or not loop.is_running():
        raise RuntimeError(f"cannot run {name}: the event loop is not running "
                           "(start the LoopRunner first)")

    async def call() -> Any:
        result = coro_fn(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    future = asyncio.run_coroutine_threadsafe(call(), loop)
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        if future.done() and not future.cancelled():
            raise  # the coroutine itself raised TimeoutError
        future.cancel()
        raise TimeoutError(f"{name} did not finish within {timeout} s (cancelled)") from None
    except BaseException:
        future.cancel()  # e.g. KeyboardInterrupt while waiting: stop the coroutine too
        raise


class LoopRunner:
    """Owns an event loop running on a daemon thread.

    ``start`` is idempotent; ``stop`` cancels what still runs on the loop, closes it and
    joins the thread. Use as a context manager to do both.
    """

    def __init__(self, name: str = "plait-loop") -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<LoopRunner {self.name!r} {'running' if self.is_running() else 'stopped'}>"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop; raises when not started."""
        if self._loop is None:
            raise RuntimeError(f"LoopRunner {self.name!r} is not started: call start() first")
        return self._loop

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def is_running(self) -> bool:
        return self._loop is not None and self._loop.is_running()

    def start(self) -> LoopRunner:
        """Start the loop on its thread (no-op when already running); returns self."""
        with self._lock:
            if self._loop is not None:
                return self
            loop = new_event_loop()
            started = threading.Event()
            thread = threading.Thread(target=self._run, args=(loop, started), name=self.name,
                                      daemon=True)
            thread.start()
            if not started.wait(10):
                raise RuntimeError(f"LoopRunner {self.name!r}: the loop did not start in 10 s")
            self._loop, self._thread = loop, thread
        return self

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(started.set)
        try:
            loop.run_forever()
            # Cancel what is left so that no task is destroyed while pending.
            tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def run_sync(self, coro_fn: Callable[..., Any], *args: Any, timeout: float | None = None,
                 **kwargs: Any) -> Any:
        """``sync(self.loop, coro_fn, *args, timeout=timeout, **kwargs)``."""
        return sync(self.loop, coro_fn, *args, timeout=timeout, **kwargs)

    def stop(self, timeout: float = 10) -> None:
        """Stop the loop, cancel its remaining tasks, close it and join its thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None:
                return
            if _on_loop_thread(loop):
                raise RuntimeError("LoopRunner.stop() cannot be called from the loop's own "
                                   "thread: it would wait for itself")
            self._loop = self._thread = None
        if not loop.is_closed():
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:  # closed in between
                pass
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError(f"LoopRunner {self.name!r}: the loop thread did not stop "
                               f"within {timeout} s")

    def __enter__(self) -> LoopRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

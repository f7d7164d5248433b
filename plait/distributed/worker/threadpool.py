"""The worker's threads: daemon threads that run submitted calls, grown on demand.

Unlike ``concurrent.futures.ThreadPoolExecutor`` there is no per-call ``Future`` (the
worker learns outcomes through its own event queue) and no bound on threads: the
worker's state machine decides how many tasks hold a slot, and a task that secedes keeps
its thread while another thread takes the freed slot. Threads are daemons, so a task
that never returns cannot keep the process alive after the worker closes.

>>> import threading
>>> pool = ThreadPool("doc")
>>> done = threading.Event()
>>> pool.submit(done.set)
>>> done.wait(5)
True
>>> pool.shutdown(timeout=5)
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ThreadPool"]

logger = logging.getLogger("plait.distributed.worker")

_STOP = object()


class ThreadPool:
    """Run calls on daemon threads named ``<name>-<n>``, reusing idle ones."""

    def __init__(self, name: str = "plait-worker", idle_timeout: float = 60.0,
                 keep: int = 1):
        self.name = name
        self.idle_timeout = idle_timeout
        self.keep = keep  # threads kept past idle_timeout
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._counter = 0
        self._closed = False

    @property
    def threads(self) -> int:
        return len(self._threads)

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._closed:
            raise RuntimeError(f"thread pool {self.name!r} is shut down")
        self._queue.put((fn, args))
        if not self._idle.acquire(blocking=False):
            self._spawn()

    def _spawn(self) -> None:
        with self._lock:
            self._counter += 1
            thread = threading.Thread(target=self._work, name=f"{self.name}-{self._counter}",
                                      daemon=True)
            self._threads.add(thread)
        thread.start()

    def _work(self) -> None:
        me = threading.current_thread()
        get = self._queue.get
        try:
            while True:
                try:
                    item = get(timeout=self.idle_timeout)
                except queue.Empty:
                    with self._lock:
                        if len(self._threads) > self.keep:
                            # Leaving: take back the idle token this thread handed out.
                            if self._idle.acquire(blocking=False):
                                return
                    continue
                if item is _STOP:
                    return
                fn, args = item
                try:
                    fn(*args)
                except BaseException:  # the callers report their own failures
                    logger.exception("%s: call %r failed", me.name, fn)
                self._idle.release()
        finally:
            with self._lock:
                self._threads.discard(me)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop idle threads and wait up to ``timeout`` s for busy ones (then leave them:
        they are daemons)."""
        self._closed = True
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(_STOP)
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread is threading.current_thread():
                continue
            thread.join(max(0.0, deadline - time.monotonic()))

"""``BatchedSend``: many small messages, few writes.

``send(*msgs)`` only appends to a buffer; a background task writes the buffer as one
list-message at most every ``interval`` seconds (at once when the comm has been idle
longer than that). The reader of such a comm gets lists of messages. ``close()`` flushes
everything still buffered before closing the comm.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from plait.distributed.comm.core import Comm, CommClosedError

__all__ = ["BatchedSend"]

logger = logging.getLogger("plait.distributed.comm")


class BatchedSend:
    """Coalesce messages sent within ``interval`` seconds into one write on a comm.

    ``send`` must be called from the event loop's thread that runs the comm. Messages
    sent before ``start`` are kept and go out first. After the comm closes (either end),
    ``send`` raises ``CommClosedError``; messages that could not be written are kept in
    ``unsent``.

    Parameters
    ----------
    interval : float
        Seconds to wait after a write before the next one, so messages accumulate.
    name : str, optional
        Shown in logs and errors.
    """

    def __init__(self, interval: float = 0.002, name: str | None = None) -> None:
        self.interval = interval
        self.name = name
        self.comm: Comm | None = None
        self.buffer: list = []
        self.unsent: list = []
        self.error: BaseException | None = None
        self.message_count = 0
        self.batch_count = 0
        self.byte_count = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._closing = False
        self._last_write = float("-inf")

    def __repr__(self) -> str:
        peer = self.comm.peer_address if self.comm is not None else "not started"
        state = "closed" if self.closed() else "open"
        return f"<BatchedSend {self.name or ''} to {peer} {state}, {len(self.buffer)} buffered>"

    def start(self, comm: Comm) -> None:
        """Begin writing to ``comm`` from a background task on the running loop."""
        if self._task is not None:
            raise RuntimeError("BatchedSend.start called twice")
        self.comm = comm
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._background())
        self._task.add_done_callback(self._background_done)
        if self.buffer:
            self._wake.set()

    def closed(self) -> bool:
        return self._closing or self.error is not None or (
            self.comm is not None and self.comm.closed())

    def send(self, *msgs: Any) -> None:
        """Queue ``msgs`` for the next write (does not block)."""
        if self._closing or self.error is not None or (
                self.comm is not None and self.comm.closed()):
            raise CommClosedError(self._closed_text())
        self.buffer.extend(msgs)
        wake = self._wake
        if wake is not None and not wake.is_set():
            wake.set()

    def _closed_text(self) -> str:
        peer = self.comm.peer_address if self.comm is not None else "(never started)"
        why = f": {self.error}" if self.error is not None else ""
        return f"BatchedSend {self.name or ''} to {peer} is closed{why}"

    async def _background(self) -> None:
        loop = asyncio.get_running_loop()
        assert self.comm is not None and self._wake is not None
        while True:
            if not self.buffer:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            delay = self._last_write + self.interval - loop.time()
            if delay > 0 and not self._closing:
                await asyncio.sleep(delay)
            batch, self.buffer = self.buffer, []
            try:
                try:
                    nbytes = await self.comm.write(batch)
                except CommClosedError:
                    raise
                except Exception as exc:  # a message that cannot be serialized
                    nbytes = await self._write_one_by_one(batch, exc)
            except CommClosedError as exc:
                self.error = exc
                self.unsent = batch + self.buffer
                self.buffer = []
                if self.unsent:
                    logger.warning("%s: %d messages not sent: %s", self._closed_text(),
                                   len(self.unsent), exc)
                return
            self.message_count += len(batch)
            self.batch_count += 1
            self.byte_count += nbytes
            self._last_write = loop.time()

    def _background_done(self, task: asyncio.Task) -> None:
        # A bug in the writer must not leave send() buffering into the void.
        if not task.cancelled() and task.exception() is not None:
            self.error = task.exception()
            logger.error("%s: the writer task failed", self.name or "BatchedSend",
                         exc_info=self.error)

    async def _write_one_by_one(self, batch: list, error: BaseException) -> int:
        """Send what can be sent of a batch one of whose messages failed to serialize."""
        nbytes = 0
        assert self.comm is not None
        for i, msg in enumerate(batch):
            try:
                nbytes += await self.comm.write([msg])
            except CommClosedError:
                raise
            except Exception as exc:
                op = msg.get("op") if isinstance(msg, dict) else None
                logger.error("%s: dropped message %r that cannot be sent: %s",
                             self.name or "BatchedSend", op, exc)
        return nbytes

    async def close(self, timeout: float | None = 10) -> None:
        """Write everything buffered (waiting at most ``timeout`` s), then close the comm."""
        self._closing = True
        if self._task is not None:
            assert self._wake is not None
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
                self.unsent = self.buffer
                logger.warning("%s: flush timed out after %s s; %d messages not sent",
                               self.name or "BatchedSend", timeout, len(self.unsent))
        if self.comm is not None:
            await self.comm.close()

    def abort(self) -> None:
        """Drop what is buffered and abort the comm."""
        self._closing = True
        self.buffer = []
        if self._task is not None:
            self._task.cancel()
        if self.comm is not None:
            self.comm.abort()

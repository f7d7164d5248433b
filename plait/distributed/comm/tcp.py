"""The ``tcp://`` transport on asyncio (uvloop's loop works the same way); ``tls.py``
runs it under asyncio's SSL layer for ``tls://``.

Wire format of one message, the frames of ``serialize.dumps``::

    u64 nframes | u64 length * nframes | frame 0 (msgpack header) | frame 1 | ...

all little-endian. Small frames are joined with the length prefix into one write; a
frame of ``LARGE_FRAME`` bytes or more is handed to the transport as its own buffer, so
it is never copied into a joined bytes object. Reading uses ``asyncio.BufferedProtocol``:
small frames pass through a reusable staging buffer, while a large frame gets its own
preallocated buffer (uninitialised NumPy memory once NumPy is imported) and the kernel
writes straight into it, so a received NumPy array is backed by that buffer, uncopied.
A large frame is handed to the transport 1 MiB at a time, each chunk once the previous
one is in the kernel, so asyncio never copies it into its own write buffer: at most the
kernel's copy on each side.

Malformed input (a frame count or frame length above the limits, bytes that are not
msgpack) drops that connection only. Until the handshake is done the limits are tiny
(``handshake.PREAUTH_MAX_FRAME``); then ``comm.set_max_frame_size`` raises the frame
limit to config ``distributed.comm.max-frame-size``. A frame is allocated when its
length is read, so that limit bounds what one peer can make this process hold.

Sockets get ``TCP_NODELAY`` (small messages go out at once). Socket buffer sizes are
left to the kernel: setting ``SO_SNDBUF``/``SO_RCVBUF`` turns Linux's autotuning off,
and fixed sizes measured no faster over loopback than autotuned ones (up to 4 MiB send,
32 MiB receive by default).
"""

from __future__ import annotations

import asyncio
import logging
import mmap
import socket
import struct
import sys
from collections import deque
from typing import Any

from plait.distributed.comm.core import (
    Backend, Comm, CommClosedError, HandleComm, Listener, parse_host_port, register_backend,
    unparse_host_port,
)
from plait.distributed.comm.handshake import PREAUTH_MAX_FRAME
from plait.distributed.comm.serialize import DeserializationError, dumps, frame_nbytes, loads

__all__ = ["LARGE_FRAME", "TCPBackend", "TCPComm", "TCPListener"]

logger = logging.getLogger("plait.distributed.comm")

#: Frames at least this big are written and read without passing through a copy.
LARGE_FRAME = 64 * 1024
_STAGING = 256 * 1024
#: Stop reading from the socket while this many unread messages are queued.
_MAX_QUEUED = 10_000
_CLOSE_TIMEOUT = 5.0
#: Large frames are handed to the transport this much at a time.
_CHUNK = 1 << 20
_U64 = struct.Struct("<Q")
_MAX_FRAMES = 1 << 24  # more frames than this in one message means garbage input
_PREAUTH_MAX_FRAMES = 4  # handshake messages are one frame
#: Seconds a TLS handshake may take (server side; clients use their connect timeout).
TLS_HANDSHAKE_TIMEOUT = 10.0


def _new_buffer(nbytes: int) -> Any:
    """A writable buffer of ``nbytes``: NumPy's uninitialised memory when NumPy is
    already imported (no zero-filling pass), else a bytearray, or for 1 MiB and more an
    anonymous memory map. NumPy is never imported here: a process without it (the
    scheduler) would pay ~0.1 s on its first big frame. Neither NumPy's memory nor a
    map takes up physical memory before bytes arrive in it, so a peer that announces a
    big frame and sends little of it costs little (a bytearray would be zero-filled)."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        return numpy.empty(nbytes, dtype=numpy.uint8)
    if nbytes >= _CHUNK:
        return mmap.mmap(-1, nbytes)
    return bytearray(nbytes)


class _Protocol(asyncio.BufferedProtocol):
    """Parses incoming bytes into frame lists; tracks write flow control and loss."""

    def __init__(self, on_connection: Any = None) -> None:
        self.on_connection = on_connection
        self.transport: asyncio.Transport | None = None
        self.messages: deque[list] = deque()
        self.waiter: asyncio.Future | None = None
        self.lost: BaseException | None = None
        self.lost_future: asyncio.Future | None = None
        self.paused_writing = False
        self.drain_waiters: list[asyncio.Future] = []
        self.reading_paused = False
        self._staging = bytearray(_STAGING)
        self._view = memoryview(self._staging)
        self._start = 0  # staging[start:end] holds received, unparsed bytes
        self._end = 0
        self._lengths: list[int] | None = None  # frame lengths of the message being read
        self._frames: list = []
        self._big: Any = None  # the large frame being filled, its view, and bytes so far
        self._big_view: memoryview | None = None
        self._big_filled = 0
        # Tiny until the handshake is done (see handshake.py); then set_max_frame_size.
        self.max_frame = PREAUTH_MAX_FRAME
        self.max_frames = _PREAUTH_MAX_FRAMES

    # -- connection ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.lost_future = asyncio.get_running_loop().create_future()
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Latency of small messages matters more than packet count.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Pause as soon as anything is left in the transport's buffer and resume once it
        # is empty: a large frame is then handed over in chunks the kernel takes whole,
        # instead of being copied into asyncio's buffer.
        # Over TLS the data is encrypted into new buffers anyway, and asyncio's SSL layer
        # only resumes a paused writer once its buffer is below the low-water mark: its
        # default marks are kept there.
        if transport.get_extra_info("ssl_object") is None:
            transport.set_write_buffer_limits(high=0)  # type: ignore[attr-defined]
        if self.on_connection is not None:
            self.on_connection(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = CommClosedError(
            f"connection closed{': ' + str(exc) if exc else ' by the peer or locally'}"
        )
        self._wake()
        for fut in self.drain_waiters:
            if not fut.done():
                fut.set_exception(self.lost)
                fut.exception()  # mark retrieved: nobody may be awaiting it any more
        self.drain_waiters.clear()
        if self.lost_future is not None and not self.lost_future.done():
            self.lost_future.set_result(None)

    def eof_received(self) -> bool:
        return False  # close our side too

    def pause_writing(self) -> None:
        self.paused_writing = True

    def resume_writing(self) -> None:
        self.paused_writing = False
        for fut in self.drain_waiters:
            if not fut.done():
                fut.set_result(None)
        self.drain_waiters.clear()

    async def drain(self) -> None:
        if self.lost is not None:
            raise self.lost
        if self.paused_writing:
            fut = asyncio.get_running_loop().create_future()
            self.drain_waiters.append(fut)
            await fut

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- reading -------------------------------------------------------------------
    def get_buffer(self, sizehint: int) -> memoryview:
        if self._big is not None:
            return self._big_view[self._big_filled:]  # type: ignore[index]
        if self._end == len(self._staging):
            self._compact()
        return self._view[self._end:]

    def _compact(self) -> None:
        """Move unparsed bytes to the front of the staging buffer (growing it if full)."""
        start, end = self._start, self._end
        if start == 0:  # a huge length prefix fills the buffer: make room for more
            bigger = bytearray(2 * len(self._staging))
            bigger[:end] = self._view[:end]
            self._view.release()
            self._staging, self._view = bigger, memoryview(bigger)
            return
        self._view[:end - start] = self._view[start:end]
        self._start, self._end = 0, end - start

    def buffer_updated(self, nbytes: int) -> None:
        if self._big is not None:
            self._big_filled += nbytes
            if self._big_filled < len(self._big_view):  # type: ignore[arg-type]
                return
            self._frames.append(self._big)
            self._big = self._big_view = None
        else:
            self._end += nbytes
        self._parse()

    def _bad_input(self, what: str) -> None:
        """The peer does not speak this protocol: drop the connection."""
        logger.warning("closing connection from %s: %s (not a plait comm?)",
                       self.transport.get_extra_info("peername"), what)  # type: ignore[union-attr]
        self._frames, self._lengths = [], None
        self._big = self._big_view = None
        self._start = self._end = 0
        self.transport.abort()  # type: ignore[union-attr]

    def _parse(self) -> None:
        view = self._view
        while True:
            start, end = self._start, self._end
            avail = end - start
            lengths = self._lengths
            if lengths is None:
                if avail < 8:
                    break
                (nframes,) = _U64.unpack_from(view, start)
                if not 0 < nframes <= self.max_frames:
                    self._bad_input(f"a message announced {nframes} frames")
                    return
                need = 8 + 8 * nframes
                if avail < need:
                    break
                lengths = list(struct.unpack_from(f"<{nframes}Q", view, start + 8))
                if max(lengths) > self.max_frame:
                    # Checked before anything is allocated for the frame.
                    self._bad_input(f"a frame of {max(lengths)} bytes was announced, above "
                                    f"the limit of {self.max_frame} (config "
                                    f"distributed.comm.max-frame-size)")
                    return
                self._lengths = lengths
                self._start = start = start + need
                avail -= need
            frames = self._frames
            i = len(frames)
            if i == len(lengths):
                self.messages.append(frames)
                self._frames, self._lengths = [], None
                if len(self.messages) >= _MAX_QUEUED and not self.reading_paused:
                    self.reading_paused = True
                    self.transport.pause_reading()  # type: ignore[union-attr]
                self._wake()
                continue
            length = lengths[i]
            if length >= LARGE_FRAME:
                buf = _new_buffer(length)
                bview = memoryview(buf)
                if bview.format != "B":
                    bview = bview.cast("B")
                take = min(avail, length)
                bview[:take] = view[start:start + take]
                self._start = start + take
                if take == length:
                    frames.append(buf)
                    continue
                self._big, self._big_view, self._big_filled = buf, bview, take
                self._start = self._end = 0  # staging is empty now
                break
            if avail < length:
                break
            # A bytearray (not bytes), so small NumPy arrays arrive writable too.
            frames.append(bytearray(view[start:start + length]))
            self._start = start + length
        if self._start == self._end:
            self._start = self._end = 0


class TCPComm(Comm):
    """A comm over one TCP connection."""

    def __init__(self, protocol: _Protocol, deserialize: bool = True,
                 scheme: str = "tcp") -> None:
        super().__init__(deserialize)
        self._protocol = protocol
        self._transport: asyncio.Transport = protocol.transport  # type: ignore[assignment]
        self._closed = False
        self._write_lock = asyncio.Lock()
        self._local = _sock_address(self._transport.get_extra_info("sockname"), scheme)
        self._peer = _sock_address(self._transport.get_extra_info("peername"), scheme)

    def set_max_frame_size(self, nbytes: int) -> None:
        self._protocol.max_frame = nbytes
        self._protocol.max_frames = _MAX_FRAMES

    @property
    def local_address(self) -> str:
        return self._local

    @property
    def peer_address(self) -> str:
        return self._peer

    def closed(self) -> bool:
        return self._closed or self._protocol.lost is not None

    def _closed_error(self) -> CommClosedError:
        if self._closed:
            return CommClosedError(f"comm to {self._peer} was closed locally")
        return CommClosedError(
            f"comm to {self._peer} was closed by the peer: {self._protocol.lost}")

    async def read(self, deserialize: bool | None = None) -> Any:
        protocol = self._protocol
        while not protocol.messages:
            if self.closed():
                raise self._closed_error()
            waiter = protocol.waiter = asyncio.get_running_loop().create_future()
            await waiter
        if self._closed:
            raise self._closed_error()
        frames = protocol.messages.popleft()
        if protocol.reading_paused and len(protocol.messages) < _MAX_QUEUED // 2:
            protocol.reading_paused = False
            self._transport.resume_reading()
        try:
            return loads(frames, self.deserialize if deserialize is None else deserialize)
        except DeserializationError:
            raise  # a well-formed message holding a value that does not unpickle here
        except Exception as exc:
            # The frames are not a message this side wrote: nothing after them can be
            # trusted to be framed right either.
            logger.warning("closing connection from %s: unreadable message (%s: %s)",
                           self._peer, type(exc).__name__, exc)
            self.abort()
            raise CommClosedError(f"comm to {self._peer} was dropped: it sent an "
                                  f"unreadable message ({type(exc).__name__})") from None

    async def write(self, msg: Any) -> int:
        frames = dumps(msg)  # serialization errors leave the comm untouched
        if self.closed():
            raise self._closed_error()
        lengths = [frame_nbytes(f) for f in frames]
        prefix = struct.pack(f"<{len(frames) + 1}Q", len(frames), *lengths)
        nbytes = len(prefix) + sum(lengths)
        if nbytes - len(prefix) < LARGE_FRAME and not self._write_lock.locked():
            # The common small message: one write, no await before it is all handed
            # to the transport, so concurrent writers cannot interleave with it.
            self._transport.write(b"".join([prefix, *frames]) if len(frames) > 1
                                  else prefix + frames[0])
            if self._protocol.paused_writing:
                await self._protocol.drain()
            return nbytes
        async with self._write_lock:  # large frames are written over several awaits
            try:
                await self._write_frames(prefix, frames, lengths)
            except BaseException:
                # Cancelled or cut off halfway through a message: whatever follows on
                # this stream would be misread, so the comm cannot be used any more.
                self.abort()
                raise
        return nbytes

    async def _write_frames(self, prefix: bytes, frames: list, lengths: list[int]) -> None:
        write, protocol = self._transport.write, self._protocol
        pending: list = [prefix]
        for frame, length in zip(frames, lengths):
            if length < LARGE_FRAME:
                pending.append(frame)
                continue
            write(b"".join(pending))
            pending = []
            view = memoryview(frame)
            if view.format != "B" or view.ndim != 1:
                view = view.cast("B")
            for start in range(0, length, _CHUNK):
                if protocol.paused_writing:
                    await protocol.drain()
                elif protocol.lost is not None:
                    raise self._closed_error()
                # The kernel usually takes the whole chunk: asyncio copies only the rest.
                write(view[start:start + _CHUNK])
        if pending:
            write(b"".join(pending))
        if protocol.paused_writing:
            await protocol.drain()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._protocol._wake()
        self._transport.close()  # sends what is buffered, then closes
        lost = self._protocol.lost_future
        if lost is not None and not lost.done():
            try:
                await asyncio.wait_for(asyncio.shield(lost), _CLOSE_TIMEOUT)
            except TimeoutError:
                self._transport.abort()

    def abort(self) -> None:
        self._closed = True
        self._protocol._wake()
        self._transport.abort()  # also cuts short a close() still flushing

    def __del__(self) -> None:
        # A comm dropped without close() would keep its socket registered forever.
        try:
            if not self.closed() and not self._transport.is_closing():
                self._transport.abort()
        except Exception:  # the loop may already be closed at interpreter exit
            pass


def _sock_address(sockname: Any, scheme: str = "tcp") -> str:
    if isinstance(sockname, tuple):
        return f"{scheme}://" + unparse_host_port(sockname[0], sockname[1])
    return f"{scheme}://{sockname}"


class TCPListener(Listener):
    """Accepts TCP connections; each becomes a ``TCPComm`` handed to ``handle_comm``."""

    def __init__(self, location: str, handle_comm: HandleComm, deserialize: bool,
                 ssl_context: Any = None, scheme: str = "tcp") -> None:
        self.host, self.port = parse_host_port(location)
        self.handle_comm = handle_comm
        self.deserialize = deserialize
        self.ssl_context = ssl_context
        self.scheme = scheme
        self.server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        extra: dict = {}
        if self.ssl_context is not None:
            extra = {"ssl": self.ssl_context,
                     "ssl_handshake_timeout": TLS_HANDSHAKE_TIMEOUT}
        self.server = await loop.create_server(
            lambda: _Protocol(self._on_connection), self.host, self.port,
            reuse_address=True, backlog=1024, **extra,
        )
        host, port = self.server.sockets[0].getsockname()[:2]
        self._contact = f"{self.scheme}://" + unparse_host_port(host, port)

    def _on_connection(self, protocol: _Protocol) -> None:
        comm = TCPComm(protocol, self.deserialize, self.scheme)
        task = asyncio.get_running_loop().create_task(self.handle_comm(comm))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("handling a comm on %s failed", self.contact_address,
                         exc_info=task.exception())

    def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    @property
    def contact_address(self) -> str:
        if self.server is None:
            raise RuntimeError("the listener is not started: await listener.start() first")
        return self._contact


class TCPBackend(Backend):
    scheme = "tcp"

    async def connect(self, location: str, deserialize: bool, timeout: float,
                      ssl_context: Any = None) -> Comm:
        host, port = parse_host_port(location)
        if port == 0:
            raise ValueError(f"cannot connect to port 0 in {location!r}: name the server's port")
        loop = asyncio.get_running_loop()
        extra: dict = {}
        if ssl_context is not None:
            # Host names are not checked (see Security.ssl_context); the CA signature is.
            extra = {"ssl": ssl_context, "server_hostname": host,
                     "ssl_handshake_timeout": max(min(timeout, TLS_HANDSHAKE_TIMEOUT), 0.1)}
        _, protocol = await asyncio.wait_for(
            loop.create_connection(_Protocol, host, port, **extra), timeout
        )
        return TCPComm(protocol, deserialize, self.scheme)

    def listener(self, location: str, handle_comm: HandleComm, deserialize: bool,
                 ssl_context: Any = None) -> Listener:
        return TCPListener(location, handle_comm, deserialize, ssl_context, self.scheme)


register_backend("tcp", TCPBackend())

"""Messages between plait's distributed processes: transports, framing, batching.

Using it
--------
A server listens and handles each incoming comm in its own task; a client connects::

    from plait.distributed.comm import CommClosedError, Serialize, connect, listen

    async def handle(comm):                      # one task per accepted comm
        try:
            while True:
                msg = await comm.read()          # one whole message
                await comm.write({"status": "OK", "echo": msg["x"]})
        except CommClosedError:                  # the peer went away
            pass

    listener = await listen("tcp://127.0.0.1:0", handle)   # port 0: a free port
    comm = await connect(listener.contact_address, timeout=10)
    await comm.write({"op": "ping", "x": ("key", 0)})
    reply = await comm.read()                    # {'status': 'OK', 'echo': ('key', 0)}
    await comm.close(); listener.stop()

Most code uses the layer above instead: ``plait.distributed.core.Server`` (dispatch of
``{"op": ...}`` messages to handlers) and ``ConnectionPool.send_recv`` (request/reply
with remote exceptions re-raised), and ``BatchedSend`` for streams.

Addresses
    ``tcp://host:port`` (a bare ``host:port`` means tcp; an empty host is 127.0.0.1),
    ``tls://host:port`` (TLS with certificates from ``Security``) and
    ``inproc://host/pid/n`` (same process; ``listen("inproc://")`` picks a fresh one).
    ``listener.contact_address`` is what peers connect to. ``connect`` retries refused
    connections until ``timeout`` and then raises ``ConnectTimeoutError`` (a
    ``TimeoutError``, so an ``OSError``) naming the address.

Security
    ``connect(address, timeout=None, security=None, role="client")`` and
    ``listen(address, handle_comm, security=None, role="scheduler")``: ``security`` is a
    ``plait.distributed.Security`` (None: from config; False: explicitly insecure),
    ``role`` picks the TLS certificate. Every comm opens with a handshake
    (``comm.handshake``): with a shared secret, both sides prove they know it before any
    message is read, and a peer that cannot is dropped (``AuthenticationError`` on the
    connecting side, a log line on the listening side). Listening on a non-loopback
    address needs TLS, a secret or ``security=False``; ``require_encryption`` refuses
    ``tcp://``. Frames longer than ``distributed.comm.max-frame-size`` and bytes that
    are not messages drop the connection that sent them, nothing else.

What a message may hold
    Any nest of dict/list/tuple/str/bytes/int/float/bool/None; tuples stay tuples, also
    as dict keys. Anything else must be wrapped: ``Serialize(obj)`` is pickled (protocol
    5, cloudpickle when needed) with NumPy/pandas buffers, ``bytes`` and ``memoryview``
    sent as separate frames, never copied into the message. An unpicklable object makes
    ``write`` raise ``SerializationError`` naming its type; the comm stays usable.

Reading without unpickling
    ``connect(..., deserialize=False)``, ``listen(..., deserialize=False)`` or
    ``comm.read(deserialize=False)`` give, for every ``Serialize`` the writer sent, a
    ``Serialized`` (header + frames) that can be put in another message and written on
    unchanged: the scheduler forwards user data this way. ``deserialize(value, key=k)``
    unpickles it later (a failure names ``k`` and the type). Over ``inproc://`` nothing
    is pickled: a deserializing reader sees the objects, a non-deserializing one sees the
    ``Serialize`` wrappers themselves. Code that forwards values must treat both
    ``Serialize`` and ``Serialized`` as opaque; ``deserialize`` accepts both.

Received buffers
    Over tcp a large frame (64 KiB or more) is read straight into its own buffer, so a
    received NumPy array is backed by it (writable, no copy after the socket read).
    In-process, the receiver gets the sender's very object: do not mutate a message or
    its arrays after writing them.

Streams
    ``bs = BatchedSend(interval=0.002); bs.start(comm); bs.send(msg1, msg2)`` queues
    without blocking (call it on the comm's event loop thread); the messages go out as
    one list per write, at most one write per ``interval``. The reader gets lists.
    ``await bs.close()`` flushes and closes the comm; ``send`` on a closed stream raises
    ``CommClosedError``.

Threads and loops
    Comms belong to the event loop that made them. Synchronous code runs coroutines on a
    ``plait.distributed.loop.LoopRunner`` loop with ``runner.run_sync(fn, *args)``.

New transports subclass ``Comm``, ``Listener`` and ``Backend`` (see ``core``) and call
``register_backend(scheme, backend)``.

Note: ``plait.distributed.comm.serialize`` as an attribute is the ``serialize``
function; ``from plait.distributed.comm.serialize import ...`` still reaches the module.
"""

from plait.distributed.comm import inproc, tcp, tls  # noqa: F401  (register the schemes)
from plait.distributed.comm.batched import BatchedSend
from plait.distributed.comm.core import (
    AuthenticationError, Comm, CommClosedError, ConnectTimeoutError, Listener, connect, listen,
    normalize_address, parse_address, parse_host_port, register_backend, unparse_address,
    unparse_host_port,
)
from plait.distributed.comm.serialize import (
    DeserializationError, SerializationError, Serialize, Serialized, deserialize, dumps,
    loads, serialize, to_serialize,
)

__all__ = [
    "AuthenticationError", "BatchedSend", "Comm", "CommClosedError", "ConnectTimeoutError", "DeserializationError",
    "Listener", "SerializationError", "Serialize", "Serialized", "connect", "deserialize",
    "dumps", "listen", "loads", "normalize_address", "parse_address", "parse_host_port",
    "register_backend", "serialize", "to_serialize", "unparse_address", "unparse_host_port",
]

"""What every transport provides: ``Comm``, ``Listener``, addresses, ``connect``, ``listen``.

Transports register a ``Backend`` under their scheme (``tcp``, ``inproc``; ``tls`` can
come later). An address is ``scheme://location``; a bare ``host:port`` means tcp.

>>> parse_address("127.0.0.1:8786")
('tcp', '127.0.0.1:8786')
>>> normalize_address("inproc://127.0.0.1/12/3")
'inproc://127.0.0.1/12/3'
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = [
    "Backend", "Comm", "CommClosedError", "ConnectTimeoutError", "Listener", "backends",
    "connect", "listen", "normalize_address", "parse_address", "parse_host_port",
    "register_backend", "unparse_address", "unparse_host_port",
]

DEFAULT_SCHEME = "tcp"
DEFAULT_HOST = "127.0.0.1"


class CommClosedError(IOError):
    """The comm (or its peer) is closed: nothing more can be read or written."""


class ConnectTimeoutError(TimeoutError):
    """No connection could be made within the timeout (names the address)."""


class Comm(abc.ABC):
    """One bidirectional message channel to a peer.

    ``read`` and ``write`` each move one whole message (see ``serialize.dumps`` for what a
    message may contain). At most one ``read`` may wait at a time; concurrent ``write``
    calls are sent one after the other, never interleaved.
    """

    def __init__(self, deserialize: bool = True) -> None:
        self.deserialize = deserialize
        self.name: str | None = None

    @abc.abstractmethod
    async def read(self, deserialize: bool | None = None) -> Any:
        """The next message. ``deserialize`` overrides the comm's default for this read.

        Raises ``CommClosedError`` once the comm is closed and no message is left.
        """

    @abc.abstractmethod
    async def write(self, msg: Any) -> int:
        """Send one message; returns the bytes written (0 for in-process comms)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Finish pending writes (bounded wait), then close both directions."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Close at once, dropping whatever is not yet sent."""

    @abc.abstractmethod
    def closed(self) -> bool:
        """True once the comm is closed locally or by its peer."""

    @property
    @abc.abstractmethod
    def local_address(self) -> str:
        """This end's address, with scheme."""

    @property
    @abc.abstractmethod
    def peer_address(self) -> str:
        """The other end's address, with scheme."""

    def __repr__(self) -> str:
        state = "closed" if self.closed() else "open"
        name = f" {self.name}" if self.name else ""
        return (f"<{type(self).__name__}{name} {state} local={self.local_address} "
                f"peer={self.peer_address}>")


HandleComm = Callable[[Comm], Awaitable[None]]


class Listener(abc.ABC):
    """Accepts comms on an address and hands each to ``handle_comm`` in a new task."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Start accepting connections."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop accepting connections (comms already handed out stay open)."""

    @property
    @abc.abstractmethod
    def contact_address(self) -> str:
        """The address peers connect to, with scheme (the real port when 0 was asked)."""

    async def __aenter__(self) -> Listener:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop()


class Backend(abc.ABC):
    """A transport: makes connectors and listeners for one scheme."""

    @abc.abstractmethod
    async def connect(self, location: str, deserialize: bool, timeout: float) -> Comm:
        """One connection attempt to ``location`` (no scheme) within ``timeout``."""

    @abc.abstractmethod
    def listener(self, location: str, handle_comm: HandleComm, deserialize: bool) -> Listener:
        """A listener on ``location`` (not yet started)."""


backends: dict[str, Backend] = {}


def register_backend(scheme: str, backend: Backend) -> None:
    """Make ``scheme://`` addresses use ``backend``."""
    backends[scheme] = backend


def parse_address(address: str) -> tuple[str, str]:
    """Split ``address`` into (scheme, location); a bare location means tcp.

    >>> parse_address("inproc://127.0.0.1/5/1")
    ('inproc', '127.0.0.1/5/1')
    """
    if not isinstance(address, str):
        raise TypeError(f"an address must be a string like 'tcp://127.0.0.1:8786', "
                        f"got {address!r}")
    scheme, sep, location = address.partition("://")
    if not sep:
        return DEFAULT_SCHEME, address
    return scheme, location


def unparse_address(scheme: str, location: str) -> str:
    """``scheme://location``.

    >>> unparse_address("tcp", "127.0.0.1:1234")
    'tcp://127.0.0.1:1234'
    """
    return f"{scheme}://{location}"


def normalize_address(address: str) -> str:
    """``address`` with its scheme spelled out.

    >>> normalize_address("localhost:80")
    'tcp://localhost:80'
    """
    return unparse_address(*parse_address(address))


def parse_host_port(location: str, default_port: int = 0) -> tuple[str, int]:
    """(host, port) from ``host:port``, ``[v6]:port``, ``host`` or ``:port``.

    An empty host is 127.0.0.1, a missing port is ``default_port``.

    >>> parse_host_port(":8786")
    ('127.0.0.1', 8786)
    >>> parse_host_port("[::1]:80")
    ('::1', 80)
    """
    if location.startswith("["):
        host, _, rest = location[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif location.count(":") > 1:  # bare IPv6 address, no port
        host, port_text = location, ""
    else:
        host, _, port_text = location.partition(":")
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise ValueError(f"invalid port {port_text!r} in address {location!r}; "
                         "expected host:port, e.g. 127.0.0.1:8786") from None
    return host or DEFAULT_HOST, port


def unparse_host_port(host: str, port: int) -> str:
    """``host:port``, bracketing IPv6 hosts.

    >>> unparse_host_port("::1", 80)
    '[::1]:80'
    """
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _backend_for(scheme: str, address: str) -> Backend:
    try:
        return backends[scheme]
    except KeyError:
        known = ", ".join(f"{s}://" for s in sorted(backends))
        raise ValueError(f"unknown scheme {scheme!r} in address {address!r}; "
                         f"known schemes: {known}") from None


async def connect(address: str, timeout: float = 10, deserialize: bool = True) -> Comm:
    """Open a comm to ``address``, retrying refused connections until ``timeout`` s.

    Raises ``ConnectTimeoutError`` (a ``TimeoutError``, and so an ``OSError``) naming the
    address and the last failure when no connection could be made in time.
    """
    scheme, location = parse_address(address)
    backend = _backend_for(scheme, address)
    deadline = time.monotonic() + timeout
    delay = 0.01
    last_error: BaseException | None = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            return await backend.connect(location, deserialize, left)
        except (TimeoutError, OSError) as exc:
            # Refused or unreachable: the server may still be starting, so try again.
            last_error = exc
        left = deadline - time.monotonic()
        if left <= 0:
            break
        await asyncio.sleep(min(delay, left))
        delay = min(delay * 2, 0.5)
    reason = f": {type(last_error).__name__}: {last_error}" if last_error else ""
    raise ConnectTimeoutError(
        f"timed out after {timeout:g} s trying to connect to {normalize_address(address)}"
        f"{reason}"
    )


async def listen(address: str, handle_comm: HandleComm, deserialize: bool = True) -> Listener:
    """Start a listener on ``address`` (port 0: a free port; empty host: 127.0.0.1).

    Each accepted comm is passed to ``await handle_comm(comm)`` in its own task.
    """
    scheme, location = parse_address(address)
    listener = _backend_for(scheme, address).listener(location, handle_comm, deserialize)
    await listener.start()
    return listener

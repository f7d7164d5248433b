"""What every transport provides: ``Comm``, ``Listener``, addresses, ``connect``, ``listen``.

Transports register a ``Backend`` under their scheme (``tcp``, ``tls``, ``inproc``). An
address is ``scheme://location``; a bare ``host:port`` means tcp.

``connect`` and ``listen`` take ``security=`` (a :class:`plait.distributed.Security`;
None: from config; False: explicitly insecure) and ``role=`` ("client", "scheduler" or
"worker": which TLS certificate to present). Every new comm passes the handshake of
:mod:`plait.distributed.comm.handshake` (the shared secret, when one is set) before it is
returned or handed to ``handle_comm``.

>>> parse_address("127.0.0.1:8786")
('tcp', '127.0.0.1:8786')
>>> normalize_address("inproc://127.0.0.1/12/3")
'inproc://127.0.0.1/12/3'
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = [
    "AuthenticationError", "Backend", "Comm", "CommClosedError", "ConnectTimeoutError",
    "Listener", "backends",
    "connect", "listen", "normalize_address", "parse_address", "parse_host_port",
    "register_backend", "unparse_address", "unparse_host_port",
]

DEFAULT_SCHEME = "tcp"
DEFAULT_HOST = "127.0.0.1"
ROLES = ("client", "scheduler", "worker")

logger = logging.getLogger("plait.distributed.comm")


class CommClosedError(IOError):
    """The comm (or its peer) is closed: nothing more can be read or written."""


class ConnectTimeoutError(TimeoutError):
    """No connection could be made within the timeout (names the address)."""


class AuthenticationError(ConnectionError):
    """The handshake failed: a missing or wrong shared secret on either side, or a peer
    that is not plait (the message names the address and the fix). Not retried."""


class Comm(abc.ABC):
    """One bidirectional message channel to a peer.

    ``read`` and ``write`` each move one whole message (see ``serialize.dumps`` for what a
    message may contain). At most one ``read`` may wait at a time; concurrent ``write``
    calls are sent one after the other, never interleaved.
    """

    def __init__(self, deserialize: bool = True) -> None:
        self.deserialize = deserialize
        self.name: str | None = None

    def set_max_frame_size(self, nbytes: int) -> None:
        """Drop the connection when the peer announces a frame longer than ``nbytes``.

        Transports that parse bytes from a socket enforce it; in-process comms ignore it.
        """

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

    #: Whether the transport needs an ``ssl_context`` (given to connect and listener).
    uses_tls = False
    #: Whether the transport crosses the network (tcp, tls: not inproc).
    networked = True

    @abc.abstractmethod
    async def connect(self, location: str, deserialize: bool, timeout: float,
                      **connection_args: Any) -> Comm:
        """One connection attempt to ``location`` (no scheme) within ``timeout``.
        ``connection_args``: ``ssl_context`` for TLS transports."""

    @abc.abstractmethod
    def listener(self, location: str, handle_comm: HandleComm, deserialize: bool,
                 **connection_args: Any) -> Listener:
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


def seconds(value: Any) -> float:
    """Seconds from a number or a string such as ``"30s"``, ``"500ms"``, ``"2 minutes"``.

    >>> seconds("30s"), seconds("500ms"), seconds(2), seconds("1.5 minutes")
    (30.0, 0.5, 2.0, 90.0)
    """
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().lower()
    units = [("milliseconds", 1e-3), ("millisecond", 1e-3), ("ms", 1e-3),
             ("minutes", 60.0), ("minute", 60.0), ("min", 60.0), ("m", 60.0),
             ("hours", 3600.0), ("hour", 3600.0), ("h", 3600.0),
             ("seconds", 1.0), ("second", 1.0), ("s", 1.0)]
    for unit, scale in units:
        if text.endswith(unit):
            return float(text[: -len(unit)].strip()) * scale
    return float(text)


def _default_timeout() -> float:
    from plait import config

    return seconds(config.get("distributed.comm.timeouts.connect", "30s"))


def _max_frame_size() -> int:
    from plait import config
    from plait.utils.sizes import parse_bytes

    return parse_bytes(config.get("distributed.comm.max-frame-size", "4GiB"))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")


def _connection_args(scheme: str, backend: Backend, address: str, security: Any,
                     role: str, server_side: bool) -> dict:
    """The transport arguments for ``security`` (an SSL context for TLS); refuses plain
    tcp when encryption is required."""
    if backend.uses_tls:
        return {"ssl_context": security.ssl_context(role, server_side)}
    if backend.networked and security.require_encryption:
        verb = "listen on" if server_side else "connect to"
        raise ValueError(
            f"cannot {verb} {address}: encryption is required (Security("
            f"require_encryption=True) or config distributed.security.require-encryption) "
            f"and {scheme}:// is not encrypted; use a tls:// address")
    return {}


async def connect(address: str, timeout: float | None = None, security: Any = None,
                  role: str = "client", deserialize: bool = True) -> Comm:
    """Open a comm to ``address``, retrying refused connections until ``timeout`` s
    (None: config ``distributed.comm.timeouts.connect``), and run the handshake.

    ``security``: a ``Security`` (None: from config; False: explicitly insecure);
    ``role``: which TLS certificate this end presents ("client", "scheduler", "worker").

    Raises ``ConnectTimeoutError`` (a ``TimeoutError``, and so an ``OSError``) naming the
    address and the last failure when no connection could be made in time, and
    ``AuthenticationError`` (not retried) when the handshake fails.
    """
    from plait.distributed.comm.handshake import client_handshake
    from plait.distributed.security import resolve_security

    _check_role(role)
    security = resolve_security(security)
    if timeout is None:
        timeout = _default_timeout()
    scheme, location = parse_address(address)
    backend = _backend_for(scheme, address)
    args = _connection_args(scheme, backend, normalize_address(address), security, role,
                            server_side=False)
    deadline = time.monotonic() + timeout
    delay = 0.01
    last_error: BaseException | None = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            comm = await backend.connect(location, deserialize, left, **args)
        except AuthenticationError:
            raise
        except (TimeoutError, OSError) as exc:
            # Refused or unreachable: the server may still be starting, so try again.
            last_error = exc
        else:
            await client_handshake(comm, security.secret_bytes, role,
                                   normalize_address(address),
                                   max(deadline - time.monotonic(), min(timeout, 5.0)))
            comm.set_max_frame_size(_max_frame_size())
            return comm
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


def _check_exposure(scheme: str, backend: Backend, location: str, security: Any,
                    address: str) -> None:
    """Refuse (or, when explicitly insecure, warn about) a plain listener that hosts
    other than this one can reach."""
    from plait.distributed.security import is_loopback

    if not backend.networked or backend.uses_tls or security.secret_bytes is not None:
        return
    host, port = parse_host_port(location)
    if is_loopback(host):
        return
    if security.insecure:
        logger.warning(
            "listening on %s without TLS or a shared secret (security=False): any "
            "program on any host that can reach %s port %d can connect, send work and "
            "have it run in this process", address, "every interface of this machine"
            if host in ("0.0.0.0", "::", "") else host, port)
        return
    raise ValueError(
        f"refusing to listen on {address} without TLS or a shared secret: any host that "
        f"can reach it could run code in this process. Use a tls:// address with "
        f"Security(...) certificates, set a shared secret (Security(secret=...), config "
        f"distributed.security.secret, $PLAIT_SECRET or --secret), listen on 127.0.0.1, "
        f"or pass security=False (--insecure on the command line) to accept the risk")


async def listen(address: str, handle_comm: HandleComm, security: Any = None,
                 role: str = "scheduler", deserialize: bool = True) -> Listener:
    """Start a listener on ``address`` (port 0: a free port; empty host: 127.0.0.1).

    Each accepted comm first passes the handshake (see ``connect``); a refused one is
    dropped and logged; the others are passed to ``await handle_comm(comm)`` in their
    own task. ``security``/``role`` as for ``connect``. Raises ValueError, naming the
    fix, for a non-loopback address without TLS or a secret unless ``security`` is False
    (then a warning says who can reach it), and for tcp:// when encryption is required.
    """
    from plait.distributed.comm.handshake import server_handshake
    from plait.distributed.security import resolve_security

    _check_role(role)
    security = resolve_security(security)
    scheme, location = parse_address(address)
    backend = _backend_for(scheme, address)
    address = normalize_address(address)
    args = _connection_args(scheme, backend, address, security, role, server_side=True)
    _check_exposure(scheme, backend, location, security, address)
    secret = security.secret_bytes
    timeout = min(_default_timeout(), 10.0)
    max_frame = _max_frame_size()

    async def guarded(comm: Comm) -> None:
        if await server_handshake(comm, secret, timeout, max_frame):
            await handle_comm(comm)

    listener = backend.listener(location, guarded, deserialize, **args)
    await listener.start()
    return listener

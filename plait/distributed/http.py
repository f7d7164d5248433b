"""The HTTP endpoint of a scheduler or worker: tornado on the dashboard address.

It always serves ``/health`` (``ok``), which orchestration tools probe; the scheduler adds
the dashboard's routes (:mod:`plait.distributed.dashboard`). It listens on 127.0.0.1
unless an address with another host is given, speaks HTTPS when given an SSL context
(the cluster's TLS certificate), and with ``fallback=True`` takes a free port when the
one asked for is taken (two clusters on one machine both asking for 8787).
"""

from __future__ import annotations

import errno
import logging
import socket
from typing import Any

logger = logging.getLogger("plait.distributed.http")

__all__ = ["HTTPServer", "parse_http_address"]


def parse_http_address(address: Any, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``(host, port)`` from ``":8787"``, ``"0.0.0.0:8787"``, ``8787`` or ``"host"``.

    >>> parse_http_address(":0"), parse_http_address(8787), parse_http_address("10.0.0.2:80")
    (('127.0.0.1', 0), ('127.0.0.1', 8787), ('10.0.0.2', 80))
    """
    if isinstance(address, int):
        return default_host, address
    if not isinstance(address, str):
        raise TypeError(f"dashboard_address must be like ':8787' or 'host:port', got {address!r}")
    text = address.split("://", 1)[-1]
    if text.startswith("["):  # [v6]:port
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    elif text.isdigit():
        host, port = "", text
    else:
        host, port = text, "0"
    try:
        port_n = int(port or 0)
    except ValueError:
        raise ValueError(f"dashboard_address {address!r}: port {port!r} is not a number") from None
    return host or default_host, port_n


class HTTPServer:
    """A tornado HTTP server with the scheduler's routes.

    Parameters
    ----------
    scheduler:
        Handlers may read it (``/health`` does not).
    address:
        Where to listen (see :func:`parse_http_address`).
    """

    def __init__(self, scheduler: Any, address: Any = ":0", routes: list | None = None,
                 ssl_context: Any = None, fallback: bool = False):
        self.scheduler = scheduler
        self.host, self.requested_port = parse_http_address(address)
        self.routes = list(routes or [])
        self.ssl_context = ssl_context
        self.fallback = fallback
        self.server: Any = None
        self.port: int | None = None

    def start(self) -> None:
        import tornado.httpserver
        import tornado.netutil
        import tornado.web

        class HealthHandler(tornado.web.RequestHandler):
            def get(self) -> None:
                self.set_header("Content-Type", "text/plain")
                self.write("ok")

        app = tornado.web.Application([(r"/health", HealthHandler)] + self.routes)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sockets = tornado.netutil.bind_sockets(self.requested_port, address=self.host,
                                                   family=family)
        except OSError as exc:
            if not (self.fallback and exc.errno == errno.EADDRINUSE and self.requested_port):
                raise
            sockets = tornado.netutil.bind_sockets(0, address=self.host, family=family)
            logger.warning("port %d is in use: the dashboard is at port %d instead",
                           self.requested_port, sockets[0].getsockname()[1])
        self.port = sockets[0].getsockname()[1]
        self.server = tornado.httpserver.HTTPServer(app, ssl_options=self.ssl_context)
        self.server.add_sockets(sockets)

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            await self.server.close_all_connections()
            self.server = None

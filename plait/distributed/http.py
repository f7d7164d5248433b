"""The scheduler's HTTP endpoint: ``/health`` over tornado on the dashboard address.

The dashboard issue adds its pages to the same server; this issue serves only
``/health`` (``ok``), which orchestration tools probe. It listens on 127.0.0.1 unless an
address with another host is given.
"""

from __future__ import annotations

import socket
from typing import Any

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

    def __init__(self, scheduler: Any, address: Any = ":0", routes: list | None = None):
        self.scheduler = scheduler
        self.host, self.requested_port = parse_http_address(address)
        self.routes = list(routes or [])
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
        sockets = tornado.netutil.bind_sockets(self.requested_port, address=self.host,
                                               family=family)
        self.port = sockets[0].getsockname()[1]
        self.server = tornado.httpserver.HTTPServer(app)
        self.server.add_sockets(sockets)

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            await self.server.close_all_connections()
            self.server = None

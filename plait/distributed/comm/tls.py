"""The ``tls://`` transport: the tcp transport under asyncio's SSL layer.

The SSL context comes from ``Security.ssl_context(role, server_side)``: both sides
present a certificate and verify the peer's against the CA before any frame is read.
Framing, flow control and limits are those of ``tcp.py``; under TLS the transport keeps
asyncio's default write-buffer marks (see ``tcp._Protocol.connection_made``).
"""

from __future__ import annotations

import ssl
from typing import Any

from plait.distributed.comm.core import (
    AuthenticationError, Comm, HandleComm, Listener, register_backend,
)
from plait.distributed.comm.tcp import TCPBackend

__all__ = ["TLSBackend"]


class TLSBackend(TCPBackend):
    """``tls://``: TCP under asyncio's SSL layer; needs an ``ssl_context``."""

    scheme = "tls"
    uses_tls = True

    async def connect(self, location: str, deserialize: bool, timeout: float,
                      ssl_context: Any = None) -> Comm:
        if ssl_context is None:
            raise ValueError("tls:// needs an SSL context (from Security)")
        try:
            return await super().connect(location, deserialize, timeout, ssl_context)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as exc:
            # The TCP connection was made, so the server is up: retrying cannot help.
            raise AuthenticationError(
                f"TLS handshake with tls://{location} failed ({type(exc).__name__}: "
                f"{exc}); is it a tls:// server whose certificate was signed by this "
                f"Security's tls_ca_file?") from exc

    def listener(self, location: str, handle_comm: HandleComm, deserialize: bool,
                 ssl_context: Any = None) -> Listener:
        if ssl_context is None:
            raise ValueError("tls:// needs an SSL context (from Security)")
        return super().listener(location, handle_comm, deserialize, ssl_context)


register_backend("tls", TLSBackend())

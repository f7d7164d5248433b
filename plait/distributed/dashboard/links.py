"""The dashboard link that clusters, clients and ``plait scheduler`` show.

The template is the config key ``distributed.dashboard.link`` (default
``"{scheme}://{host}:{port}/status"``); it may also use environment variables, e.g.
``"{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status"`` behind a notebook proxy.

>>> class H: host, port, ssl_context = "127.0.0.1", 8787, None
>>> dashboard_link(H())
'http://127.0.0.1:8787/status'
>>> dashboard_link(None) is None
True
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["dashboard_link"]


def dashboard_link(http: Any) -> str | None:
    """The link to the status page served by ``http`` (an HTTPServer), or None."""
    if http is None or getattr(http, "port", None) is None:
        return None
    from plait import config

    template = config.get("distributed.dashboard.link", "{scheme}://{host}:{port}/status")
    host = http.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"  # where a browser on this machine reaches it
    if ":" in host:
        host = f"[{host}]"
    fields = dict(os.environ, scheme="https" if http.ssl_context is not None else "http",
                  host=host, port=http.port)
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"distributed.dashboard.link {template!r} cannot be filled: {exc}; "
                         "it may use {scheme}, {host}, {port} and environment variables"
                         ) from None

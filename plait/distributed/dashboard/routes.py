"""Tornado handlers of the dashboard: pages, ``/ws`` (live updates), ``/api/v1/...``,
``/metrics`` and the static files (ours, and BokehJS from the bokeh package).

Access: with no secret the dashboard is open to whoever can reach its address, which is
127.0.0.1 unless the scheduler was told otherwise. With the cluster's shared secret set,
every route except ``/health`` asks for it: ``?token=<secret>`` once (it then lives in an
HttpOnly, SameSite=Strict cookie holding an HMAC of the secret, never the secret itself),
or an ``Authorization: Bearer <secret>`` header for scripts and Prometheus. Every route
only reads; there is no proxy and nothing that changes the cluster.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from typing import Any

from .. import profile as profiling
from . import metrics as prom
from . import snapshot
from .live import INTERVAL, PageFeed, worker_query
from .pages import PAGES, render_page
from .plugin import TaskRecorder

__all__ = ["dashboard_routes"]

logger = logging.getLogger("plait.distributed.dashboard")
STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
COOKIE = "plait-dashboard"


def _secret(scheduler: Any) -> bytes | None:
    """The cluster's shared secret as bytes, or None when it has none."""
    security = getattr(scheduler, "security", None)
    secret = getattr(security, "secret", None) if security not in (None, False) else None
    if not secret:
        return None
    return secret.encode() if isinstance(secret, str) else bytes(secret)


def _cookie_value(secret: bytes) -> str:
    return hmac.new(secret, b"plait-dashboard", hashlib.sha256).hexdigest()


def dashboard_routes(scheduler: Any) -> list:
    """The dashboard's routes for :class:`plait.distributed.http.HTTPServer`; registers a
    :class:`TaskRecorder` plugin on the scheduler (``scheduler.dashboard_recorder``)."""
    import tornado.ioloop
    import tornado.web
    import tornado.websocket
    from bokeh.util.paths import bokehjs_path

    from ..logbuffer import attach

    attach()  # the info page shows the scheduler's log from here on
    recorder = TaskRecorder()
    recorder.scheduler = scheduler
    scheduler.state.add_plugin(recorder, name=recorder.name)
    scheduler.dashboard_recorder = recorder

    class Base(tornado.web.RequestHandler):
        def set_default_headers(self) -> None:
            self.set_header("X-Content-Type-Options", "nosniff")
            self.set_header("X-Frame-Options", "DENY")
            self.set_header("Referrer-Policy", "no-referrer")
            self.set_header("Content-Security-Policy",
                            "default-src 'self'; script-src 'self' 'unsafe-eval'; "
                            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                            "connect-src 'self'")

        def prepare(self) -> None:
            secret = _secret(scheduler)
            if secret is None:
                return
            expected = _cookie_value(secret)
            token = self.get_query_argument("token", None)
            auth = self.request.headers.get("Authorization", "")
            if auth.startswith("Bearer "):
                token = auth[7:]
            if token is not None and hmac.compare_digest(token.encode(), secret):
                self.set_cookie(COOKIE, expected, httponly=True, samesite="Strict",
                                secure=self.request.protocol == "https")
                return
            if hmac.compare_digest(self.get_cookie(COOKIE, "").encode(), expected.encode()):
                return
            self.set_status(401)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish("This cluster's dashboard needs its shared secret: open this page "
                        "with ?token=<secret> once (or send 'Authorization: Bearer "
                        "<secret>').\n")

        def write_json(self, data: Any) -> None:
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps(data, default=str))

    class Page(Base):
        def get(self, page: str = "status") -> None:
            if page not in PAGES:
                raise tornado.web.HTTPError(404)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(render_page(page))

    class Root(Base):
        def get(self) -> None:
            self.redirect("status")

    class Metrics(Base):
        def get(self) -> None:
            self.set_header("Content-Type", prom.CONTENT_TYPE)
            self.finish(prom.render(prom.scheduler_metrics(scheduler, recorder)))

    class Api(Base):
        async def get(self, what: str) -> None:
            if what == "workers":
                return self.write_json({"workers": snapshot.workers(scheduler)})
            if what == "tasks":
                limit = int(self.get_query_argument("limit", "1000"))
                state = self.get_query_argument("state", None)
                return self.write_json({"tasks": snapshot.tasks(scheduler, limit, state)})
            if what == "summary":
                return self.write_json(snapshot.cluster_summary(scheduler))
            if what == "progress":
                return self.write_json({"progress": recorder.progress()})
            if what == "task-stream":
                since = int(self.get_query_argument("since", "0"))
                recorder.ingest_worker_reports()
                cursor, rows = recorder.stream_since(since)
                return self.write_json({"cursor": cursor, "rows": rows})
            if what == "graph":
                return self.write_json(snapshot.task_graph(scheduler))
            if what == "profile":
                replies = await worker_query(scheduler, "profile")
                trees = [t for r in replies.values() for t in (r.get("profile") or {}).values()]
                return self.write_json({"workers": len(replies),
                                        "profile": profiling.merge_trees(trees)})
            raise tornado.web.HTTPError(404)

    class Live(tornado.websocket.WebSocketHandler):
        # tornado refuses cross-origin websocket upgrades by default (check_origin),
        # so another site open in the same browser cannot read the cluster's feed.
        def prepare(self) -> None:
            Base.prepare(self)  # type: ignore[arg-type]

        def open(self) -> None:
            page = self.get_query_argument("page", "status")
            if page not in PAGES:
                self.close(code=1008, reason="unknown page")
                return
            self.feed = PageFeed(scheduler, recorder, page)
            tornado.ioloop.IOLoop.current().spawn_callback(self._push)

        async def _push(self) -> None:
            import asyncio

            while self.ws_connection is not None and not self.ws_connection.is_closing():
                try:
                    message = await self.feed.message()
                    await self.write_message(json.dumps(message, default=str,
                                                        separators=(",", ":")))
                except tornado.websocket.WebSocketClosedError:
                    return
                except Exception:  # a bad snapshot must not kill the feed
                    logger.exception("dashboard: building the %s update failed",
                                     self.feed.page)
                await asyncio.sleep(INTERVAL)

        def on_message(self, message: str | bytes) -> None:
            try:
                data = json.loads(message)
            except ValueError:
                return
            if isinstance(data, dict):
                self.feed.receive(data)

    return [
        (r"/", Root),
        (r"/(status|workers|graph|profile|info)", Page),
        (r"/ws", Live),
        (r"/metrics", Metrics),
        (r"/api/v1/(workers|tasks|summary|progress|task-stream|graph|profile)", Api),
        (r"/statics/plait/(.*)", tornado.web.StaticFileHandler, {"path": STATIC}),
        (r"/statics/bokeh/(.*)", tornado.web.StaticFileHandler, {"path": bokehjs_path()}),
    ]


def serve(scheduler: Any, address: Any) -> Any:
    """Start the scheduler's HTTP server at ``address`` with the dashboard's routes.

    Without bokeh installed it serves ``/health`` only (and says so once in the log).
    With the cluster's TLS certificate for the scheduler it speaks HTTPS. A port that is
    taken falls back to a free one, so a second cluster on a machine still gets a
    dashboard (``dashboard_link`` names the port it got).
    """
    from ..http import HTTPServer

    try:
        routes = dashboard_routes(scheduler)
    except ImportError as exc:
        logger.warning("the dashboard needs bokeh (pip install 'plait[diagnostics]'): "
                       "serving /health only (%s)", exc)
        routes = []
    security = getattr(scheduler, "security", None)
    ssl_context = None
    if security not in (None, False) and getattr(security, "has_tls", None) is not None \
            and security.has_tls("scheduler"):
        ssl_context = _https_context(security)
    http = HTTPServer(scheduler, address, routes=routes, ssl_context=ssl_context,
                      fallback=True)
    http.start()
    return http


def _https_context(security: Any) -> Any:
    """HTTPS with the scheduler's certificate. Unlike the cluster's own connections it
    asks for no client certificate (a browser has none); the secret guards access."""
    import ssl

    from ..security import _load_cert_chain

    cert, key = security.cert_and_key("scheduler")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.verify_mode = ssl.CERT_NONE
    _load_cert_chain(ctx, cert, key)
    return ctx

"""The live dashboard of a plait cluster, served by the scheduler over HTTP.

Pages (``/status``, ``/workers``, ``/graph``, ``/profile``, ``/info``) update over a
websocket; ``/metrics`` speaks the Prometheus text format; ``/api/v1/...`` returns the
same data as JSON. See ``docs/distributed/dashboard.md`` for what each page shows.
"""

from .plugin import TaskRecorder
from .routes import dashboard_routes, serve

__all__ = ["TaskRecorder", "dashboard_routes", "serve"]

"""The worker's request/reply operations, for peers and clients.

A mixin of :class:`.server.Worker`; each method is an rpc handler (it receives the
comm as ``comm=`` and returns the reply): ``get_data`` and ``update_data`` move values
between workers and clients, ``run`` and ``upload_file`` run or install the user's code
here, ``identity``, ``keys`` and ``terminate`` describe and stop the worker.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import os
import sys
from typing import Any

from plait.sizeof import sizeof

from ..comm import Serialize, serialize
from ..comm.serialize import SerializationError, type_name
from .events import UpdateData

__all__ = ["WorkerRPC"]

logger = logging.getLogger("plait.distributed.worker")


class WorkerRPC:
    """Mixin: rpc handlers of the worker."""

    def get_data(self, comm: Any = None, keys: list = (), who: str | None = None) -> dict:
        """Values of ``keys`` this worker holds, each serialized (absent ones left out)."""
        data = self.data
        out = {}
        for key in keys:
            if key not in data:
                continue
            value = data[key]
            try:
                out[key] = serialize(value)
            except Exception as exc:
                raise SerializationError(
                    f"worker {self.address} cannot send the result of {key!r} "
                    f"(a {type_name(value)}) to {who or 'the client'}: it cannot be "
                    f"serialized ({exc}); make the task return a picklable value"
                ) from exc
        known = getattr(data, "nbytes", {})
        self.activity.sent(sum(known.get(k) or 0 for k in out))
        return {"status": "OK", "data": out}

    def update_data(self, comm: Any = None, data: dict | None = None,
                    report: bool = True) -> dict:
        """Store values sent by a client or a peer (``scatter``)."""
        data = data or {}
        nbytes = {k: sizeof(v) for k, v in data.items()}
        self._handle_events([UpdateData(data, nbytes, report)])
        return {"status": "OK", "nbytes": nbytes}

    async def run_function(self, comm: Any = None, function: Any = None, args: Any = (),
                           kwargs: Any = None, wait: bool = True) -> dict:
        """``client.run``: call ``function`` here (with ``plait_worker=``/``dask_worker=``
        this worker when its signature has that parameter)."""
        args = tuple(args or ())
        kwargs = dict(kwargs or {})
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        for name in ("plait_worker", "dask_worker"):
            if name in params:
                kwargs[name] = self
        if not wait:
            async def background() -> None:
                try:
                    result = function(*args, **kwargs)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    logger.exception("worker %s: run(%r) failed", self.name, function)

            self._spawn(background())
            return {"status": "OK", "result": Serialize(None)}
        result = function(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return {"status": "OK", "result": Serialize(result)}

    def upload_file(self, comm: Any = None, filename: str = "", data: bytes = b"",
                    load: bool = True) -> dict:
        """Write ``data`` to ``filename`` in the local directory; import it when ``load``."""
        base = os.path.basename(filename)
        if not base or base != filename.replace("\\", "/").split("/")[-1]:
            raise ValueError(f"upload_file needs a plain file name, got {filename!r}")
        path = os.path.join(self.local_directory, base)
        with open(path, "wb") as f:
            f.write(data)
        if load:
            stem, ext = os.path.splitext(base)
            if ext in (".zip", ".egg"):
                if path not in sys.path:
                    sys.path.insert(0, path)
            elif ext == ".py":
                importlib.invalidate_caches()
                if stem in sys.modules:
                    importlib.reload(sys.modules[stem])
                else:
                    importlib.import_module(stem)
        return {"status": "OK", "nbytes": len(data)}

    def identity(self, comm: Any = None) -> dict:
        return {"status": "OK", "type": "Worker", "id": self.name,
                "address": self._address_or_none(), "nthreads": self.nthreads,
                "memory_limit": self.memory_limit, "resources": self.resources,
                "pid": self.pid, "scheduler": self.scheduler_address,
                "dashboard_link": self.dashboard_link}

    @property
    def dashboard_link(self) -> str | None:
        """``http://host:port`` of this worker's HTTP server, or None."""
        return self.http.address if self.http is not None else None

    def keys(self, comm: Any = None) -> dict:
        return {"status": "OK", "keys": list(self.data)}

    def terminate(self, comm: Any = None, report: bool = True) -> dict:
        """Close this worker (after replying)."""
        if self.status == "running":
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(self.close(report=report)))
        return {"status": "OK"}

"""The scheduler's request/reply operations (queries, data, code to run, plugins).

A mixin of :class:`.server.Scheduler`; each method is an rpc handler (it receives the
comm as ``comm=`` and returns the reply). Data and code from clients stay pickled
(``Serialized``) unless the operation exists to run them here.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Iterable
from typing import Any

from ..comm import Serialize, deserialize
from ..core import error_message

__all__ = ["SchedulerRPC"]

logger = logging.getLogger("plait.distributed.scheduler")


def _unwrap(value: Any) -> Any:
    """The object inside a ``Serialize``/``Serialized`` wrapper (code to run here)."""
    if isinstance(value, Serialize):
        return value.data
    try:
        return deserialize(value)
    except TypeError:
        return value


class SchedulerRPC:
    """Mixin: rpc handlers of the scheduler."""

    def who_has(self, comm: Any = None, keys: Iterable | None = None, **_: Any) -> dict:
        return self.state.who_has(keys)

    def has_what(self, comm: Any = None, workers: Iterable | None = None, **_: Any) -> dict:
        return self.state.has_what(workers)

    def ncores(self, comm: Any = None, workers: Iterable | None = None, **_: Any) -> dict:
        return self.state.ncores(workers)

    def task_status(self, comm: Any = None, keys: Iterable = (), **_: Any) -> dict:
        return self.state.task_status(keys)

    def identity(self, comm: Any = None, **_: Any) -> dict:
        info = self.state.identity()
        info.update({"id": self.id, "address": self.address, "started": self.start_time,
                     "services": {"dashboard": self.http.port} if self.http else {},
                     "dashboard_link": self.dashboard_link})
        return info

    def update_data(self, comm: Any = None, who_has: dict | None = None,
                    nbytes: dict | None = None, client: str | None = None, **_: Any) -> dict:
        self.send_all(self.state.update_data(who_has or {}, nbytes, client=client))
        return {"status": "OK"}

    def retry(self, comm: Any = None, keys: Iterable = (), client: str | None = None,
              **_: Any) -> dict:
        self.send_all(self.state.retry(list(keys), client))
        return {"status": "OK"}

    async def gather(self, comm: Any = None, keys: Iterable = (), **_: Any) -> dict:
        """Values of ``keys``, fetched from the workers holding them and forwarded
        still pickled."""
        keys = list(keys)
        per_worker: dict[str, list] = {}
        missing = []
        for key in keys:
            ts = self.state.tasks.get(key)
            if ts is None or not ts.who_has:
                missing.append(key)
                continue
            ws = min(ts.who_has, key=lambda w: len(w.processing))
            per_worker.setdefault(ws.address, []).append(key)
        data: dict = {}

        async def fetch(address: str, ks: list) -> None:
            try:
                reply = await self.rpc.send_recv(address, "get_data", keys=ks, who=self.address)
            except Exception as exc:
                logger.info("gather: get_data from %s failed: %s", address, exc)
                return
            data.update(reply.get("data", {}) if isinstance(reply, dict) else {})

        await asyncio.gather(*(fetch(a, ks) for a, ks in per_worker.items()))
        missing += [k for k in keys if k not in data and k not in missing]
        if missing:
            return {"status": "error", "keys": missing}
        return {"status": "OK", "data": data}

    async def broadcast(self, comm: Any = None, msg: dict | None = None,
                        workers: Iterable[str] | None = None, **_: Any) -> dict:
        """Send ``msg`` (an rpc message) to each worker; ``{address: reply}``."""
        addresses = list(self.state.workers) if workers is None else [
            self.state.aliases.get(w, w) for w in workers]

        async def one(address: str) -> tuple:
            try:
                async with self.rpc.connection(address) as c:
                    await c.write(dict(msg or {}))
                    return address, await c.read()
            except Exception as exc:
                return address, error_message(exc)

        return dict(await asyncio.gather(*(one(a) for a in addresses)))

    async def run_function(self, comm: Any = None, function: Any = None, args: Any = (),
                           kwargs: Any = None, **_: Any) -> dict:
        """Run a function in the scheduler (``Client.run_on_scheduler``); a parameter
        named ``dask_scheduler`` or ``plait_scheduler`` receives this scheduler."""
        func = _unwrap(function)
        args = _unwrap(args) or ()
        kwargs = dict(_unwrap(kwargs) or {})
        try:
            params = inspect.signature(func).parameters
        except (TypeError, ValueError):
            params = {}
        for name in ("dask_scheduler", "plait_scheduler"):
            if name in params:
                kwargs[name] = self
        result = func(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return {"status": "OK", "result": Serialize(result)}

    async def register_scheduler_plugin(self, comm: Any = None, plugin: Any = None,
                                        name: str | None = None, **_: Any) -> dict:
        await self.add_plugin(_unwrap(plugin), name=name)
        return {"status": "OK"}

"""The ``Scheduler`` server: moves messages between comms and the state machine.

Workers and clients register over rpc (``register-worker`` / ``register-client``);
the same comm then becomes a stream in both directions: the scheduler reads their
batches with :meth:`Server.handle_stream` and writes to each through its own
:class:`BatchedSend`, so every message the state machine produces for one destination
during one event-loop tick goes out in one write. Everything the scheduler decides
happens in :class:`.state.SchedulerState`; this module only translates.

User data and code stay opaque here: comms are read with ``deserialize=False``, so
run specs and results are forwarded as ``Serialized`` frames, never unpickled (except
for ``run_function`` and plugin registration, which exist to run code here).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from typing import Any

from ... import config
from ..comm import BatchedSend, CommClosedError, Serialize
from ..core import ConnectionPool, Server, error_message
from ..security import resolve_security
from .lifecycle import WorkerLifecycle
from .rpc import SchedulerRPC
from .state import SchedulerState, parse_seconds

__all__ = ["Scheduler"]

logger = logging.getLogger("plait.distributed.scheduler")


class Scheduler(WorkerLifecycle, SchedulerRPC, Server):
    """The central scheduler of a plait cluster.

    Parameters
    ----------
    host, port:
        Where to listen (``127.0.0.1`` and a free port by default).
    dashboard_address:
        Serve the dashboard, ``/metrics``, ``/api/v1`` and ``/health`` over HTTP there
        (default ``":8787"`` on the scheduler's host; ``":0"`` picks a free port; a
        taken port falls back to a free one); None: no HTTP.
    protocol:
        ``"tcp"``, ``"tls"`` or ``"inproc"`` (same process, for tests and
        ``processes=False``); by default ``"tls"`` when the security requires
        encryption, else ``"tcp"``.
    extensions:
        ``{name: callable(scheduler)}`` run at start; by default those of
        ``plait.distributed.coordination.SCHEDULER_EXTENSIONS`` (locks, queues, ...).
    validate:
        Check the state machine's invariants after every event (tests).
    **kwargs:
        ``heartbeat_interval`` (seconds told to workers, default 1), ``worker_ttl``
        (remove a worker not heard from for that long, default
        ``distributed.scheduler.worker-ttl`` or 300 s), ``steal_interval`` (0.1 s;
        0 disables stealing), ``saturation`` (see :class:`SchedulerState`),
        ``allowed_failures`` (worker deaths a task may cause before it errs with
        ``KilledWorker``; ``distributed.scheduler.allowed-failures``, default 3).
    security:
        A :class:`plait.distributed.Security` for the listener and the connections
        the scheduler opens; None: from the config; False: explicitly none.

    Examples
    --------
    >>> import asyncio
    >>> async def main():
    ...     async with Scheduler(protocol="inproc") as s:
    ...         return s.address.startswith("inproc://"), len(s.state.workers)
    >>> asyncio.run(main())
    (True, 0)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        dashboard_address: Any = ":8787",
        protocol: str | None = None,
        extensions: Any = None,
        validate: bool = False,
        heartbeat_interval: float | None = None,
        worker_ttl: Any = None,
        steal_interval: float = 0.1,
        saturation: float | None = None,
        allowed_failures: int | None = None,
        security: Any = None,
        **kwargs: Any,
    ):
        if kwargs:
            raise TypeError(
                f"Scheduler() got unknown arguments {sorted(kwargs)}; known: host, port, "
                "dashboard_address, protocol, extensions, validate, heartbeat_interval, "
                "worker_ttl, steal_interval, saturation, allowed_failures, security"
            )
        from ..comm.core import backends

        self.security = resolve_security(security)
        if protocol is None:
            protocol = "tls" if self.security.require_encryption else "tcp"
        if protocol not in backends:
            raise ValueError(
                f"protocol {protocol!r} is not a registered transport; use one of "
                f"{sorted(backends)} (e.g. protocol='tcp')"
            )
        self.id = f"Scheduler-{uuid.uuid4()}"
        self.host, self.port, self.protocol = host, port, protocol
        self.dashboard_address = dashboard_address
        self.state = SchedulerState(saturation=saturation, validate=validate, owner=self,
                                    allowed_failures=allowed_failures)
        self.state.make_error = lambda exc: (Serialize(exc), None)
        ttl = worker_ttl if worker_ttl is not None else config.get(
            "distributed.scheduler.worker-ttl", "300s")
        self.worker_ttl = parse_seconds(ttl) if ttl is not None else None
        if heartbeat_interval is None:
            # At least five heartbeats fit in the ttl, so one late beat removes nobody.
            heartbeat_interval = min(1.0, self.worker_ttl / 5) if self.worker_ttl else 1.0
        self.heartbeat_interval = float(heartbeat_interval)
        # Why workers died, as their nannies report it (``worker-died``), until the
        # scheduler removes them; and the workers expected to go (restart, retire).
        self.death_reports: dict[str, tuple[str, str]] = {}
        self._death_events: dict[str, asyncio.Event] = {}
        self.death_report_timeout = 1.0
        self.expected_exits: set[str] = set()
        self.steal_interval = steal_interval
        # Worker streams write once per event-loop tick (no added delay): a worker
        # holds only about nthreads + 1 root tasks, so every millisecond a
        # compute-task waits is a millisecond the worker may idle. Client streams
        # gather a couple of milliseconds of reports per write.
        self.worker_stream_interval = 0.0
        self.client_stream_interval = 0.002
        self.worker_streams: dict[str, BatchedSend] = {}
        self.client_streams: dict[str, BatchedSend] = {}
        self.rpc = ConnectionPool(deserialize=False, security=self.security, role="scheduler")
        self.http: Any = None
        self._extensions_arg = extensions
        self.extensions: dict[str, Any] = {}
        self._loops: list[asyncio.Task] = []
        self._stream_tasks: set[asyncio.Task] = set()
        self.start_time = time.time()
        handlers = {
            "register-worker": self.register_worker,
            "register-client": self.register_client,
            "heartbeat-worker": self.heartbeat_worker,
            "unregister": self.unregister_worker,
            "gather": self.gather,
            "who_has": self.who_has,
            "has_what": self.has_what,
            "ncores": self.ncores,
            "identity": self.identity,
            "update-data": self.update_data,
            "broadcast": self.broadcast,
            "run_function": self.run_function,
            "retire_workers": self.retire_workers,
            "task-status": self.task_status,
            "retry": self.retry,
            "register-scheduler-plugin": self.register_scheduler_plugin,
            "register-nanny": self.register_nanny,
            "worker-died": self.worker_died,
            "restart": self.restart,
        }
        state = self.state
        stream_handlers = {
            # worker -> scheduler
            "task-finished": self._event(state.task_finished),
            "task-erred": self._event(state.task_erred),
            "missing-data": self._event(state.missing_data),
            "add-keys": self._event(state.add_keys),
            "release-worker-data": self._event(state.release_worker_data),
            "long-running": self._event(state.long_running),
            "reschedule": self._event(state.reschedule),
            "steal-response": self._event(state.steal_response),
            "worker-status-change": self._event(state.set_worker_status_from_worker),
            # client -> scheduler
            "update-graph": self._event(state.update_graph),
            "client-desires-keys": self.client_desires_keys,
            "client-releases-keys": self.client_releases_keys,
            "cancel-keys": self._event(state.cancel),
            "close-client": self.close_client,
        }
        super().__init__(handlers, stream_handlers, name="scheduler", deserialize=False,
                         security=self.security, role="scheduler")

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> Scheduler:
        if self.status == "running":
            return self
        if self.protocol == "inproc":
            address = "inproc://"
        else:
            host = f"[{self.host}]" if ":" in self.host else self.host
            address = f"{self.protocol}://{host}:{self.port}"
        await self.listen(address)
        if self.dashboard_address is not None:
            from ..dashboard import serve

            where = self.dashboard_address
            if isinstance(where, str) and where.startswith(":"):
                host = f"[{self.host}]" if ":" in self.host else self.host
                where = f"{host}{where}"  # the dashboard binds where the scheduler does
            self.http = serve(self, where)
        for name, ext in self._load_extensions().items():
            self.extensions[name] = ext(self)
        for plugin in list(self.state.plugins.values()):
            await self._start_plugin(plugin)
        if self.steal_interval:
            self._loops.append(asyncio.ensure_future(self._balance_loop()))
        if self.worker_ttl:
            self._loops.append(asyncio.ensure_future(self._ttl_loop()))
        logger.info("scheduler at %s", self.address)
        return self

    def __await__(self):
        return self.start().__await__()

    async def __aenter__(self) -> Scheduler:
        return await self.start()

    def _load_extensions(self) -> dict:
        exts = self._extensions_arg
        if exts is None:
            try:
                from ..coordination import SCHEDULER_EXTENSIONS as exts  # type: ignore
            except ImportError:
                exts = {}
        if isinstance(exts, dict):
            return dict(exts)
        return {getattr(e, "__name__", repr(e)): e for e in exts}

    @property
    def http_server(self) -> Any:
        """The HTTP server (``.port``, ``.address``), or None without a dashboard."""
        return self.http

    @property
    def dashboard_link(self) -> str | None:
        """The dashboard's status page (None without HTTP)."""
        from ..dashboard.links import dashboard_link

        return dashboard_link(self.http)

    async def close(self, timeout: float = 5, close_workers: bool = True) -> None:
        """Tell clients (``stream-closed``) and workers (``close``), then stop, within
        about ``timeout`` seconds."""
        if self.status in ("closing", "closed"):
            return
        self.status = "closing"
        for task in self._loops:
            task.cancel()
        for bs in self.client_streams.values():
            try:
                bs.send({"op": "stream-closed"})
            except CommClosedError:
                pass
        if close_workers:
            for bs in self.worker_streams.values():
                try:
                    bs.send({"op": "close"})
                except CommClosedError:
                    pass
        streams = list(self.client_streams.values()) + list(self.worker_streams.values())
        if streams:
            _, pending = await asyncio.wait(
                [asyncio.ensure_future(bs.close(timeout=timeout)) for bs in streams],
                timeout=timeout)
            for fut in pending:
                fut.cancel()
        for bs in streams:
            if not bs.closed():
                bs.abort()
        for plugin in list(self.state.plugins.values()):
            try:
                result = plugin.close()
                if inspect.isawaitable(result):
                    await asyncio.wait_for(result, timeout)
            except Exception:
                logger.exception("scheduler plugin %r failed to close", plugin)
        if self.http is not None:
            await self.http.stop()
        await self.rpc.close()
        await super().close(timeout=timeout)
        for task in list(self._stream_tasks):
            task.cancel()

    # -- sending -------------------------------------------------------------------------
    def send_all(self, msgs: tuple) -> None:
        """Hand the state machine's output to the per-destination streams."""
        clients, workers = msgs
        if workers:
            streams = self.worker_streams
            for address, ms in workers.items():
                bs = streams.get(address)
                if bs is not None:
                    try:
                        bs.send(*ms)
                    except CommClosedError:
                        pass  # the stream's reader removes the worker
        if clients:
            streams = self.client_streams
            for client, ms in clients.items():
                bs = streams.get(client)
                if bs is not None:
                    try:
                        bs.send(*ms)
                    except CommClosedError:
                        pass

    def _event(self, method):
        send_all = self.send_all

        def handler(**msg: Any) -> None:
            send_all(method(**msg))

        handler.__name__ = method.__name__
        return handler

    # -- workers -------------------------------------------------------------------------
    async def register_worker(self, comm: Any, address: str, nthreads: int = 1,
                              name: Any = None, memory_limit: Any = None,
                              resources: dict | None = None, pid: int | None = None,
                              local_directory: str | None = None,
                              nbytes: dict | None = None, **extra: Any) -> Any:
        if self.status != "running":
            return error_message(RuntimeError("the scheduler is closing"))
        try:
            msgs = self.state.add_worker(
                address, nthreads=nthreads, name=name, memory_limit=memory_limit,
                resources=resources, pid=pid, local_directory=local_directory,
                nbytes=nbytes, **extra)
        except ValueError as exc:
            return error_message(exc)
        # Messages for the new worker wait in the BatchedSend until the reply is out.
        bs = BatchedSend(interval=self.worker_stream_interval, name=f"scheduler->{address}")
        self.worker_streams[address] = bs
        self.send_all(msgs)
        self.send_all(self.state.balance())
        try:
            await comm.write({"status": "OK", "time": time.time(),
                              "heartbeat_interval": self.heartbeat_interval})
        except CommClosedError:
            self.worker_streams.pop(address, None)
            self.send_all(self.state.remove_worker(address))
            return Server.DETACH
        bs.start(comm)
        self._spawn(self._serve_worker(comm, address, bs))
        return Server.DETACH

    async def _serve_worker(self, comm: Any, address: str, bs: BatchedSend) -> None:
        try:
            await self.handle_stream(comm, worker=address)
        finally:
            if self.worker_streams.get(address) is bs:
                del self.worker_streams[address]
                bs.abort()
                if self.status == "running":
                    await self._worker_gone(address)

    def heartbeat_worker(self, comm: Any = None, address: str | None = None,
                         metrics: dict | None = None, **_: Any) -> dict:
        known = self.state.heartbeat_worker(address, metrics)
        return {"status": "OK" if known else "missing", "time": time.time(),
                "heartbeat_interval": self.heartbeat_interval}

    def unregister_worker(self, comm: Any = None, address: str | None = None, **_: Any) -> dict:
        """A worker leaving cleanly: what it was running goes elsewhere."""
        bs = self.worker_streams.pop(address, None)
        self.expected_exits.discard(address)
        self.send_all(self.state.remove_worker(address, stimulus_id="unregister", safe=True))
        if bs is not None:
            self._spawn(bs.close(timeout=2))
        return {"status": "OK"}

    # -- clients -------------------------------------------------------------------------
    async def register_client(self, comm: Any, client: str, name: Any = None,
                              **_: Any) -> Any:
        if self.status != "running":
            return error_message(RuntimeError("the scheduler is closing"))
        bs = BatchedSend(interval=self.client_stream_interval, name=f"scheduler->{client}")
        old = self.client_streams.get(client)
        if old is not None:
            old.abort()
        self.client_streams[client] = bs
        self.send_all(self.state.add_client(client))
        try:
            await comm.write({"status": "OK", "time": time.time(), "id": self.id})
        except CommClosedError:
            self.client_streams.pop(client, None)
            self.send_all(self.state.remove_client(client))
            return Server.DETACH
        bs.start(comm)
        self._spawn(self._serve_client(comm, client, bs))
        return Server.DETACH

    async def _serve_client(self, comm: Any, client: str, bs: BatchedSend) -> None:
        try:
            await self.handle_stream(comm, client=client)
        finally:
            if self.client_streams.get(client) is bs:
                del self.client_streams[client]
                bs.abort()
                if self.status == "running":
                    self.send_all(self.state.remove_client(client))

    def client_desires_keys(self, keys: list, client: str, holder: str | None = None,
                            **_: Any) -> None:
        # ``holder`` names a pseudo-client ("fire-and-forget") that keeps keys alive
        # after the real client lets them go.
        self.send_all(self.state.client_desires_keys(keys, holder or client))

    def client_releases_keys(self, keys: list, client: str, holder: str | None = None,
                             **_: Any) -> None:
        self.send_all(self.state.client_releases_keys(keys, holder or client))

    def close_client(self, client: str, **_: Any) -> None:
        bs = self.client_streams.pop(client, None)
        self.send_all(self.state.remove_client(client))
        if bs is not None:
            self._spawn(bs.close(timeout=2))

    # -- plugins -------------------------------------------------------------------------
    async def add_plugin(self, plugin: Any, name: str | None = None) -> None:
        """Register a :class:`plait.distributed.plugins.SchedulerPlugin` (started now
        when the scheduler runs)."""
        self.state.add_plugin(plugin, name=name)
        if self.status == "running":
            await self._start_plugin(plugin)

    def remove_plugin(self, name: str) -> None:
        self.state.remove_plugin(name)

    async def _start_plugin(self, plugin: Any) -> None:
        start = getattr(plugin, "start", None)
        if start is not None:
            result = start(self)
            if inspect.isawaitable(result):
                await result

    # -- background --------------------------------------------------------------------
    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._stream_tasks.add(task)
        task.add_done_callback(self._stream_tasks.discard)
        return task

    async def _balance_loop(self) -> None:
        while True:
            await asyncio.sleep(self.steal_interval)
            if len(self.state.workers) > 1:
                try:
                    self.send_all(self.state.balance())
                except Exception:
                    logger.exception("work stealing failed")

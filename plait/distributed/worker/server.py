"""The ``Worker`` server: carries out what the worker's state machine decides.

A worker registers with the scheduler (``register-worker``) and keeps that comm as its
stream: the scheduler's ``compute-task``/``free-keys``/... messages arrive in batches
and go to :class:`~.state.WorkerState` as one batch of events; the instructions that
come back start tasks on the thread pool, start fetches from peers, and queue messages
on the worker's ``BatchedSend``. Threads hand their outcomes back through one queue that
is drained once per event-loop wake-up, so a thousand finished tasks cost one drain, one
state-machine call and one write to the scheduler, never a round trip each.

Peers and clients call the rpc handlers ``get_data`` and ``update_data`` (and ``run``,
``upload_file``, ``identity``, ``terminate``: :mod:`.rpc`); the scheduler connection
(registering, the stream, heartbeats, reconnecting) is :mod:`.link`.

Memory (:mod:`.memory_manager`): with a ``memory_limit`` results spill to disk past
``target``, the process's RSS is watched every ``monitor-interval`` (spill, pause,
resume). A lost scheduler (its stream closes, or a heartbeat answers "missing") makes
the worker drop every task and result and register again, retrying with a backoff of up
to a second for ``distributed.worker.reconnect-timeout``, after which it closes; a
``close`` message from the scheduler closes it at once.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Hashable
from typing import Any

from plait import config
from plait.sizeof import sizeof
from plait.utils.sizes import format_bytes

from ..comm import BatchedSend, CommClosedError, Serialize
from ..comm.core import parse_address
from ..comm.core import seconds as _seconds
from ..core import ConnectionPool, Server, send_recv
from .activity import Activity
from .events import (
    Execute,
    GatherDep,
    GatherDepFailure,
    GatherDepNetworkFailure,
    GatherDepSuccess,
    RejoinEvent,
    Resume,
    SecedeEvent,
    Send,
    StateMachineEvent,
)
from .execute import picklable_exception, run_task
from .link import SchedulerLink
from .localdir import LocalDirectory
from .memory import parse_memory_limit
from .memory_manager import WorkerMemoryManager
from .rpc import WorkerRPC
from .state import WorkerState
from .store import DataStore
from .threadpool import ThreadPool

__all__ = ["Worker"]

logger = logging.getLogger("plait.distributed.worker")


class Worker(SchedulerLink, WorkerRPC, Server):
    """A worker process's server: runs tasks and holds their results.

    Parameters
    ----------
    scheduler_address : str
        Address of the scheduler to register with.
    nthreads : int
        Tasks run at once.
    name : str or int, optional
        Shown by the scheduler and the cluster; the address by default.
    memory_limit : int or str, optional
        Bytes this worker may use (``"4GB"``, ``"auto"``: the machine's memory);
        None: no limit (nothing spills or pauses). See :mod:`.memory_manager`.
    memory_target_fraction, memory_spill_fraction, memory_pause_fraction : float or False
        Override ``distributed.worker.memory.target`` / ``spill`` / ``pause``.
    memory_monitor_interval : float, optional
        Seconds between memory measurements (``distributed.worker.memory.monitor-interval``).
    resources : dict, optional
        Abstract resources, e.g. ``{"GPU": 1}``, for tasks submitted with
        ``resources=``.
    local_directory : str, optional
        Where to make this worker's own scratch directory (uploaded files, spilled
        results): the ``temporary-directory`` config key or the system's temporary
        directory by default. Removed on close; one left by a killed worker is removed
        by the next worker started there.
    peer_connect_timeout : float
        Seconds to keep trying to connect to a peer before asking another holder.
    host, port :
        Where to listen (127.0.0.1 and a free port by default). A worker of an
        ``inproc://`` scheduler listens in-process.
    dashboard_address : str or int, optional
        Serve HTTP there (``":0"``: a free port on ``host``): ``/health`` for
        orchestration probes; None (default) serves none.
    security : Security, bool or None
        TLS and shared-secret settings for listening and connecting (None: from the
        config; False: none).
    """

    def __init__(
        self,
        scheduler_address: str,
        nthreads: int = 1,
        name: Any = None,
        memory_limit: int | None = None,
        resources: dict | None = None,
        local_directory: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        protocol: str | None = None,
        heartbeat_interval: float | None = None,
        data: Any = None,
        transfer_incoming_count_limit: int = 4,
        peer_connect_timeout: float = 3.0,
        dashboard_address: Any = None,
        memory_target_fraction: Any = None,
        memory_spill_fraction: Any = None,
        memory_pause_fraction: Any = None,
        memory_monitor_interval: float | None = None,
        security: Any = None,
    ):
        if not isinstance(nthreads, int) or nthreads < 1:
            raise ValueError(f"Worker nthreads must be a positive int, got {nthreads!r}")
        if memory_limit is not None and not isinstance(memory_limit, int):
            memory_limit = parse_memory_limit(memory_limit, 1)
        self.activity = Activity(_profile_interval())
        handlers = {
            "profile": self.activity.profile,
            "get_logs": self.activity.get_logs,
            "get_data": self.get_data,
            "update_data": self.update_data,
            "run": self.run_function,
            "upload_file": self.upload_file,
            "identity": self.identity,
            "terminate": self.terminate,
            "keys": self.keys,
        }
        super().__init__(handlers, name=f"Worker {name}" if name is not None else "Worker",
                         security=security, role="worker")
        self.scheduler_address = scheduler_address
        self.nthreads = nthreads
        self.worker_name = name
        self.memory_limit = memory_limit
        self.resources = dict(resources or {})
        self.host = host
        self.port = port
        scheme = parse_address(scheduler_address)[0]
        if protocol is None:
            # Listen the way the scheduler does: a tls:// scheduler (or a Security that
            # requires encryption) gets tls:// workers.
            if scheme in ("inproc", "tls"):
                protocol = scheme
            else:
                protocol = "tls" if self.security.require_encryption else "tcp"
        self.protocol = protocol
        self._heartbeat_interval = heartbeat_interval
        self.dashboard_address = dashboard_address
        self.http: Any = None
        self._local_directory_arg = local_directory
        self.local_directory: str | None = None
        self._directory: LocalDirectory | None = None
        self.memory = WorkerMemoryManager(
            self, memory_limit, memory_target_fraction, memory_spill_fraction,
            memory_pause_fraction, memory_monitor_interval)
        self._data_given = data is not None
        self.state = WorkerState(
            nthreads=nthreads,
            resources=self.resources,
            data=DataStore() if data is None else data,
            transfer_incoming_count_limit=transfer_incoming_count_limit,
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self.rpc = ConnectionPool(
            limit=64, timeout=_seconds(config.get("distributed.comm.timeouts.connect", "30s")),
            security=self.security, role="worker")
        # Peers get a short connect timeout: a peer that refuses connections for long is
        # gone, and its keys are better asked of another holder (or the scheduler).
        self.peers = ConnectionPool(limit=256, timeout=peer_connect_timeout,
                                    security=self.security, role="worker")
        self.batched_stream = BatchedSend(interval=0, name="worker->scheduler")
        self._pool = ThreadPool(name="plait-task")
        self._pending: list[StateMachineEvent] = []
        self._pending_lock = threading.Lock()
        self._drain_scheduled = False
        self._rejoin_events: dict[Hashable, threading.Event] = {}
        self._background: set[asyncio.Task] = set()
        self._closed_event: asyncio.Event | None = None
        self._plait_client: Any = None
        self._stream_comm: Any = None
        self._close_task: asyncio.Future | None = None
        self._reconnecting = False
        self.reconnect_count = 0
        self.pid = os.getpid()
        if data is not None:
            self.memory.use_store(data)

    # -- public properties -------------------------------------------------------------

    @property
    def data(self):
        """The results this worker holds (a mapping from key to value)."""
        return self.state.data

    @property
    def name(self) -> Any:  # type: ignore[override]
        return self.worker_name if self.worker_name is not None else self._address_or_none()

    @name.setter
    def name(self, value: Any) -> None:  # Server.__init__ sets its log name here
        self._log_name = value

    @property
    def executing_count(self) -> int:
        return len(self.state.executing)

    @property
    def paused(self) -> bool:
        """Memory is above the pause threshold: no new task starts here."""
        return self.state.paused

    def __repr__(self) -> str:
        return (f"<Worker {self.name!r} at {self._address_or_none()}, {self.status}, "
                f"threads: {self.nthreads}, executing: {self.executing_count}, "
                f"in memory: {len(self.data)}>")

    # -- life cycle --------------------------------------------------------------------

    async def start(self) -> Worker:
        """Listen, register with the scheduler and start serving its stream."""
        if self.status == "running":
            return self
        self.loop = asyncio.get_running_loop()
        self._closed_event = asyncio.Event()
        self._make_local_directory()
        try:
            await self._start_serving()
        except BaseException:
            # Nothing left behind: no listener, no directory, no counted limit.
            await self.close(report=False)
            raise
        self._spawn(self._heartbeat_loop())
        self._spawn(self._missing_loop())
        self._spawn(self.memory.monitor_loop())
        self.activity.start()
        logger.info("worker %s at %s: %d thread(s), memory limit %s, scheduler %s",
                    self.name, self.address, self.nthreads,
                    format_bytes(self.memory_limit) if self.memory_limit else "none",
                    self.scheduler_address)
        return self

    async def _start_serving(self) -> None:
        if not self._data_given:
            self.state.data = self.memory.make_store(self.local_directory)
        if self.protocol == "inproc":
            await self.listen("inproc://")
        else:
            await self.listen(f"{self.protocol}://{self.host}:{self.port}")
        self.state.address = self.address
        if self.dashboard_address is not None:
            from ..http import HTTPServer, parse_http_address

            where = self.dashboard_address
            if isinstance(where, str) and where.startswith(":"):
                where = f"{self.host}{where}"  # ":0" listens where the worker does
            parse_http_address(where)  # a bad address fails here, named
            self.http = HTTPServer(self, where)
            self.http.start()
        if self.worker_name is None:
            self.worker_name = self.address
        await self._register()

    def __await__(self):
        return self.start().__await__()

    async def __aenter__(self) -> Worker:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _make_local_directory(self) -> None:
        # A fresh directory of our own inside the given one (or the temporary
        # directory), removed on close: workers sharing a base never collide.
        base = self._local_directory_arg
        if base is None:
            base = config.get("temporary-directory", None) or tempfile.gettempdir()
        self._directory = LocalDirectory(base)
        self.local_directory = self._directory.path
        if self.local_directory not in sys.path:
            sys.path.insert(0, self.local_directory)

    async def _rpc(self, _address: str, /, **msg: Any) -> Any:
        """One request/reply to ``address`` (``msg`` holds ``op``; it may also hold
        ``address``, which ``ConnectionPool.send_recv`` cannot take as a keyword)."""
        async with self.rpc.connection(_address) as comm:
            return await send_recv(comm, msg)

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def close(self, timeout: float = 5, report: bool = True) -> None:
        """Unregister (when ``report``), stop serving and release everything, within
        about ``timeout`` seconds even if tasks are still running."""
        if self.status in ("closing", "closed"):
            if self._closed_event is not None and self.status == "closing":
                try:
                    await asyncio.wait_for(self._closed_event.wait(), timeout)
                except TimeoutError:
                    pass
            return
        self.status = "closing"
        try:
            await self._close(timeout, report)
        finally:
            # Whatever failed or was cancelled above, the worker ends closed, its
            # directory gone and its waiters woken (or a process would wait forever).
            self.status = "closed"
            self.memory.close()
            self.activity.close()
            if self._directory is not None:
                try:
                    sys.path.remove(self.local_directory)
                except ValueError:
                    pass
                self._directory.close()
            if self._closed_event is not None:
                self._closed_event.set()

    async def _close(self, timeout: float, report: bool) -> None:
        current = asyncio.current_task()
        for task in list(self._background):
            if task is not current:
                task.cancel()
        if report and not self.batched_stream.closed():
            try:
                await asyncio.wait_for(
                    self._rpc(self.scheduler_address, op="unregister",
                              address=self._address_or_none()),
                    min(timeout, 2))
            except Exception as exc:  # the scheduler may be gone already
                logger.debug("worker %s: unregister failed: %s", self.name, exc)
        if self.batched_stream.closed():
            # (aborted after a lost scheduler: close() would re-raise the cancellation
            # of its writer task)
            self.batched_stream.abort()
        else:
            try:
                await asyncio.wait_for(self.batched_stream.close(), min(timeout, 2))
            except Exception:
                self.batched_stream.abort()
        client = self._plait_client
        if client is not None:
            # The tasks' shared client lives on this loop: close it with its coroutine
            # (its synchronous close() cannot run on the loop's own thread).
            closer = getattr(client, "_close", None) or client.close
            try:
                result = closer()
                if inspect.isawaitable(result):
                    await asyncio.wait_for(result, min(timeout, 2))
            except Exception as exc:
                logger.debug("worker %s: closing the tasks' client failed: %s",
                             self.name, exc)
        for event in list(self._rejoin_events.values()):
            event.set()
        if self.http is not None:
            await self.http.stop()
        await self.rpc.close()
        await self.peers.close()
        await Server.close(self, timeout=min(timeout, 2))
        self.status = "closed"
        # Do not block the loop on running tasks: threads are daemons.
        await asyncio.get_running_loop().run_in_executor(
            None, self._pool.shutdown, min(timeout, 0.5))

    async def finished(self) -> None:
        """Wait until the worker has closed."""
        if self._closed_event is None:
            return
        await self._closed_event.wait()

    def _spawn_close(self) -> None:
        # Not a _background task: close() cancels those. Held here, since the loop
        # keeps only weak references to tasks.
        self._close_task = asyncio.ensure_future(self.close(report=False))

    def _handle_events(self, events: list[StateMachineEvent]) -> None:
        if self.status != "running":
            return
        self.memory.maybe_check()
        try:
            instructions = self.state.handle(*events)
        except Exception:
            # A bug in the state machine: say so loudly and leave, rather than hang
            # with tasks that will never finish.
            logger.exception("worker %s: state machine failed on %d events (first: %r); "
                             "closing the worker", self.name, len(events), events[0])
            self._spawn_close()
            return
        sends = []
        for inst in instructions:
            t = type(inst)
            if t is Send:
                sends.append(inst.msg)
            elif t is Execute:
                ts = self.state.tasks[inst.key]
                self._pool.submit(self._execute, inst.key, ts.run_spec)
            elif t is GatherDep:
                self._spawn(self._gather_dep(inst.worker, inst.keys))
            elif t is Resume:
                event = self._rejoin_events.get(inst.key)
                if event is not None:
                    event.set()
        if sends:
            try:
                self.batched_stream.send(*sends)
            except CommClosedError:
                pass  # the stream reader notices and closes the worker

    # -- threads -> loop ---------------------------------------------------------------

    def _execute(self, key: Hashable, run_spec: Any) -> None:
        activity = self.activity
        activity.task_started(key)  # the profiler samples this thread under key's prefix
        try:
            event = run_task(self, key, run_spec, self.data)
        finally:
            activity.task_done()
        self._post(event)

    def _post(self, event: StateMachineEvent) -> None:
        """Hand an event to the loop from any thread; one wake-up per batch."""
        with self._pending_lock:
            self._pending.append(event)
            if self._drain_scheduled:
                return
            self._drain_scheduled = True
        try:
            self.loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop is closed: the worker is gone
            pass

    def _drain(self) -> None:
        with self._pending_lock:
            events, self._pending = self._pending, []
            self._drain_scheduled = False
        if events:
            self._handle_events(events)

    def _secede(self, key: Hashable) -> None:
        self._post(SecedeEvent(key))

    def _rejoin(self, key: Hashable) -> None:
        event = threading.Event()
        self._rejoin_events[key] = event
        self._post(RejoinEvent(key))
        try:
            while not event.wait(1.0):
                if self.status != "running":
                    return
        finally:
            self._rejoin_events.pop(key, None)

    # -- fetching from peers -----------------------------------------------------------

    async def _gather_dep(self, worker: str, keys: list) -> None:
        start = time.time()
        try:
            reply = await self.peers.send_recv(worker, "get_data", keys=keys,
                                               who=self._address_or_none())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if hasattr(exc, "remote_traceback"):  # the peer answered with an error
                event: StateMachineEvent = GatherDepFailure(
                    worker, Serialize(picklable_exception(exc)), None,
                    f"{type(exc).__name__}: {exc}", getattr(exc, "remote_traceback", ""))
            else:
                event = GatherDepNetworkFailure(worker, f"{type(exc).__name__}: {exc}")
        else:
            data = reply.get("data") or {} if isinstance(reply, dict) else {}
            nbytes = {k: sizeof(v) for k, v in data.items()}
            self.activity.fetched(worker, start, time.time(), sum(nbytes.values()), len(data))
            event = GatherDepSuccess(worker, data, nbytes)
        self._handle_events([event])

    # -- reporting ---------------------------------------------------------------------

    def metrics(self) -> dict:
        """What heartbeats report: activity, memory (see :mod:`.memory_manager` for the
        ``memory``, ``status``, ``cpu`` and spill keys) and reconnections."""
        data = self.data
        out = {
            "executing": len(self.state.executing),
            "long_running": len(self.state.long_running),
            "ready": len(self.state.ready),
            "in_memory": len(data),
            "in_flight": sum(len(k) for k in self.state.in_flight_workers.values()),
            "managed_bytes": getattr(data, "total_nbytes", None),
            "reconnects": self.reconnect_count,
            "time": time.time(),
        }
        out.update(self.memory.metrics())
        out.update(self.activity.report())
        return out


def _profile_interval() -> float | None:
    """``distributed.worker.profile-interval`` in seconds (None: no profiling)."""
    from plait import config

    value = config.get("distributed.worker.profile-interval", "10ms")
    return _seconds(value) if value not in (None, 0, "0", "") else None

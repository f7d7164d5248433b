"""The nanny: a small server that starts a worker process, watches it and restarts it.

One nanny per worker process (the default for ``LocalCluster(processes=True)`` and
``plait worker``). It

- starts the worker in a fresh interpreter (:class:`~.cluster.WorkerProcess`) and tells
  the scheduler which worker it looks after (``register-nanny``);
- watches the process: when it dies it tells the scheduler why (``worker-died`` with
  reason ``"memory"``, ``"signal"`` or ``"exit"`` and a detail such as ``"killed by
  SIGKILL"``: the text a :class:`~.scheduler.errors.KilledWorker` quotes), removes the
  dead worker's local directory (spill files included) and starts a new worker, at most
  ``distributed.nanny.max-restarts`` times in a row (a restart more than a minute after
  the last one starts the count again); a worker that exits with code 0 left on
  purpose (the scheduler closed it) and the nanny closes with it;
- measures the worker's resident memory every ``distributed.worker.memory.
  monitor-interval`` and kills it (SIGKILL: a process that close to its limit may be one
  allocation from the operating system's OOM killer, which would leave no reason
  behind) once it passes ``distributed.worker.memory.terminate`` (0.95) of its
  ``memory_limit``;
- answers the scheduler's ``restart`` (a new worker, for ``Client.restart``) and
  ``close`` rpcs.

>>> Nanny("tcp://127.0.0.1:8786", nthreads=2).nthreads
2
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import time
from typing import Any

from plait import config
from .cluster.worker_process import WorkerProcess
from .core import ConnectionPool, Server
from .scheduler.state import parse_seconds
from .security import resolve_security
from .worker.memory import parse_memory_limit

__all__ = ["Nanny", "death_reason"]

logger = logging.getLogger("plait.distributed.nanny")

#: Seconds between checks of whether the worker process is alive.
POLL_INTERVAL = 0.05
#: A restart more than this many seconds after the previous one starts the count again.
RESTART_WINDOW = 60.0
#: Seconds between repeated ``register-nanny`` messages.
REGISTER_INTERVAL = 10.0


def death_reason(returncode: int, memory: str | None = None) -> tuple[str, str]:
    """``(reason, detail)`` for a worker process that ended with ``returncode``.

    >>> death_reason(-9), death_reason(3), death_reason(-9, "RSS 1 GiB")
    (('signal', 'killed by SIGKILL'), ('exit', 'exit code 3'), ('memory', 'RSS 1 GiB'))
    """
    if memory is not None:
        return "memory", memory
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return "signal", f"killed by {name}"
    return "exit", f"exit code {returncode}"


def _fmt(n: float) -> str:
    from plait.utils.sizes import format_bytes

    return format_bytes(int(n))


class Nanny(Server):
    """Starts, watches and restarts one worker process.

    Parameters
    ----------
    scheduler_address : str
        The scheduler the worker (and the nanny) talk to.
    nthreads, name, memory_limit, resources, local_directory :
        The worker's arguments (``memory_limit`` also sets when the nanny kills it).
    host : str
        Where the nanny and its worker listen (127.0.0.1 by default).
    port : int
        The nanny's own port (0: a free one).
    worker_port : int
        The worker's port (0: a free one).
    security : Security, False or None
        For the nanny's listener, its connections and the worker (handed to the worker
        process through its stdin, never its command line).
    max_restarts : int, optional
        Restarts in a row before giving up (``distributed.nanny.max-restarts``, 10).
    terminate : float or False, optional
        Fraction of ``memory_limit`` at which the worker is killed
        (``distributed.worker.memory.terminate``, 0.95); False: never.
    monitor_interval : float or str, optional
        How often memory is measured (``distributed.worker.memory.monitor-interval``).
    **worker_kwargs
        More ``Worker`` arguments (``dashboard_address``, ...), JSON-friendly.
    """

    def __init__(self, scheduler_address: str, nthreads: int = 1, name: Any = None,
                 memory_limit: Any = None, host: str = "127.0.0.1", port: int = 0,
                 worker_port: int = 0, security: Any = None,
                 max_restarts: int | None = None, terminate: Any = None,
                 monitor_interval: Any = None, **worker_kwargs: Any):
        resolved = resolve_security(security)
        super().__init__(
            {"restart": self._restart_rpc, "close": self._close_rpc,
             "terminate": self._close_rpc, "kill": self._kill_rpc,
             "identity": self.identity},
            name=f"Nanny {name}" if name is not None else "Nanny",
            security=resolved, role="worker")
        if memory_limit is not None and not isinstance(memory_limit, int):
            memory_limit = parse_memory_limit(memory_limit, 1)
        self.scheduler_address = scheduler_address
        self.nthreads = nthreads
        self.worker_name = name
        self.memory_limit = memory_limit
        self.host = host
        self.port = port
        self.worker_port = worker_port
        # The worker process gets what was given (None: it reads the same config).
        self.security = security
        self.protocol = "tls" if (resolved.require_encryption or scheduler_address.startswith(
            "tls://")) else "tcp"
        self.worker_kwargs = worker_kwargs
        if max_restarts is None:
            max_restarts = int(config.get("distributed.nanny.max-restarts", 10))
        self.max_restarts = max_restarts
        if terminate is None:
            terminate = config.get("distributed.worker.memory.terminate", 0.95)
        self.terminate_fraction = float(terminate) if terminate else None
        if monitor_interval is None:
            monitor_interval = config.get("distributed.worker.memory.monitor-interval",
                                          "100ms")
        self.monitor_interval = parse_seconds(monitor_interval)
        self.process: WorkerProcess | None = None
        self.rpc = ConnectionPool(limit=4, timeout=10, security=resolved, role="worker")
        self.restarts = 0  # restarts in a row (see RESTART_WINDOW)
        self.total_restarts = 0
        self.deaths: list[tuple[str, str, str]] = []  # (worker address, reason, detail)
        self._last_restart = 0.0
        self._memory_kill: str | None = None
        self._lock: asyncio.Lock | None = None
        self._watcher: asyncio.Task | None = None
        self._closed: asyncio.Event | None = None

    # -- what the cluster and tests look at ----------------------------------------------
    @property
    def name(self) -> Any:  # type: ignore[override]
        return self.worker_name

    @name.setter
    def name(self, value: Any) -> None:  # Server.__init__ sets its log name here
        self._log_name = value

    @property
    def worker_address(self) -> str | None:
        return self.process.address if self.process is not None else None

    @property
    def pid(self) -> int | None:
        """The worker process's pid (not the nanny's)."""
        return self.process.pid if self.process is not None else None

    @property
    def dashboard_link(self) -> str | None:
        return self.process.dashboard_link if self.process is not None else None

    @property
    def local_directory(self) -> str | None:
        return self.process.local_directory if self.process is not None else None

    def is_alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def __repr__(self) -> str:
        return (f"<Nanny {self.worker_name!r} {self.status} worker={self.worker_address} "
                f"pid={self.pid} restarts={self.total_restarts}>")

    def identity(self, comm: Any = None) -> dict:
        return {"status": "OK", "type": "Nanny", "address": self._address_or_none(),
                "worker": self.worker_address, "pid": self.pid, "name": self.worker_name,
                "restarts": self.total_restarts}

    # -- life cycle ----------------------------------------------------------------------
    async def start(self, timeout: float = 60) -> Nanny:
        if self.status == "running":
            return self
        self._lock = asyncio.Lock()
        self._closed = asyncio.Event()
        host = f"[{self.host}]" if ":" in self.host else self.host
        await self.listen(f"{self.protocol}://{host}:{self.port}")
        try:
            async with self._lock:
                await self._start_worker(timeout)
        except BaseException:
            await self._stop_server()
            raise
        self._watcher = asyncio.ensure_future(self._watch())
        return self

    def __await__(self):
        return self.start().__await__()

    async def __aenter__(self) -> Nanny:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _start_worker(self, timeout: float = 60) -> None:
        spec = dict(self.worker_kwargs, nthreads=self.nthreads, name=self.worker_name,
                    memory_limit=self.memory_limit, host=self.host, port=self.worker_port)
        proc = WorkerProcess(self.scheduler_address, security=self.security, **spec)
        self.process = proc
        self._memory_kill = None
        await proc.start(timeout=timeout)
        self.worker_name = proc.name
        await self._register(proc)

    async def _register(self, proc: WorkerProcess) -> None:
        try:
            await asyncio.wait_for(self.rpc.send_recv(
                self.scheduler_address, "register-nanny", worker=proc.address,
                nanny=self.address), 10)
        except Exception as exc:
            logger.warning("nanny %s: could not register with the scheduler at %s: %s",
                           self.address, self.scheduler_address, exc)

    async def _stop_worker(self, timeout: float) -> None:
        proc = self.process
        if proc is None:
            return
        await proc.close(timeout=timeout)
        self._remove_directory(proc)

    @staticmethod
    def _remove_directory(proc: WorkerProcess) -> None:
        # A worker that closes removes its own directory; a killed one cannot.
        if proc.local_directory and os.path.isdir(proc.local_directory):
            shutil.rmtree(proc.local_directory, ignore_errors=True)

    async def close(self, timeout: float = 5) -> None:
        """Stop the worker (it unregisters), then the nanny."""
        if self.status in ("closing", "closed"):
            if self._closed is not None:
                try:
                    await asyncio.wait_for(self._closed.wait(), timeout)
                except TimeoutError:
                    pass
            return
        self.status = "closing"
        current = asyncio.current_task()
        if self._watcher is not None and self._watcher is not current:
            self._watcher.cancel()
        try:
            await self._stop_worker(timeout)
        finally:
            await self._stop_server()

    async def _stop_server(self) -> None:
        await self.rpc.close()
        await Server.close(self, timeout=2)
        self.status = "closed"
        if self._closed is not None:
            self._closed.set()

    async def finished(self) -> None:
        """Wait until the nanny has closed."""
        if self._closed is not None:
            await self._closed.wait()

    def kill(self) -> None:
        """Kill the worker process now, by pid (for exit hooks; no restart follows
        because the nanny's loop is gone or closing)."""
        self.status = "closing" if self.status == "running" else self.status
        if self.process is not None:
            self.process.kill()
            self._remove_directory(self.process)

    # -- watching ------------------------------------------------------------------------
    async def _watch(self) -> None:
        next_memory = 0.0
        # Say again now and then which worker this nanny watches: a scheduler that was
        # restarted at the same address, and that the worker rejoined, learns it too.
        next_register = time.monotonic() + REGISTER_INTERVAL
        registering: asyncio.Task | None = None
        while self.status == "running":
            await asyncio.sleep(POLL_INTERVAL)
            if self._lock.locked():
                continue  # a restart or close owns the process right now
            proc = self.process
            if proc is None:
                continue
            if proc.returncode is not None:
                try:
                    await self._on_exit(proc)
                except Exception:
                    logger.exception("nanny %s: handling the worker's exit failed",
                                     self.address)
                continue
            now = time.monotonic()
            if now >= next_register and (registering is None or registering.done()):
                next_register = now + REGISTER_INTERVAL
                if proc.address is not None:
                    registering = asyncio.ensure_future(self._register(proc))
            if self.memory_limit and self.terminate_fraction and now >= next_memory:
                next_memory = now + self.monitor_interval
                self._check_memory(proc)

    def _check_memory(self, proc: WorkerProcess) -> None:
        import psutil

        try:
            rss = psutil.Process(proc.pid).memory_info().rss
        except psutil.Error:
            return  # it is exiting: the poll sees that
        limit = self.memory_limit * self.terminate_fraction
        if rss > limit and self._memory_kill is None:
            self._memory_kill = (
                f"process memory {_fmt(rss)} passed {self.terminate_fraction:.0%} of its "
                f"{_fmt(self.memory_limit)} memory_limit; the nanny killed it")
            logger.warning("nanny %s: worker %s (pid %s) uses %s, over %.0f%% of its "
                           "memory limit %s; killing it", self.address, proc.address,
                           proc.pid, _fmt(rss), 100 * self.terminate_fraction,
                           _fmt(self.memory_limit))
            proc._signal(signal.SIGKILL)

    async def _on_exit(self, proc: WorkerProcess) -> None:
        async with self._lock:
            if proc is not self.process or self.status != "running":
                return
            code = proc.returncode
            proc.kill()  # reaps it and forgets its pid (it has exited: no signal sent)
            self._remove_directory(proc)
            if code == 0 and self._memory_kill is None:
                logger.info("nanny %s: worker %s exited cleanly; closing the nanny",
                            self.address, proc.address)
                self.status = "closing"
            else:
                reason, detail = death_reason(code, self._memory_kill)
                self.deaths.append((proc.address, reason, detail))
                logger.warning("nanny %s: worker %s died (%s: %s)", self.address,
                               proc.address, reason, detail)
                await self._report(proc.address, reason, detail)
                now = time.monotonic()
                self.restarts = self.restarts + 1 if now - self._last_restart < RESTART_WINDOW else 1
                self._last_restart = now
                if self.restarts > self.max_restarts:
                    logger.error("nanny %s: the worker died %d times in a row "
                                 "(distributed.nanny.max-restarts is %d); giving up",
                                 self.address, self.restarts, self.max_restarts)
                    self.status = "closing"
                else:
                    self.total_restarts += 1
                    await self._start_again()
        if self.status == "closing":
            await self._stop_server()

    async def _start_again(self) -> None:
        """Start a new worker; a failed start counts as one more restart (with a short
        pause before the next try) until ``max_restarts``."""
        attempt = 0
        while True:
            try:
                await self._start_worker()
                return
            except Exception as exc:
                attempt += 1
                self.restarts += 1
                if self.restarts > self.max_restarts:
                    logger.error("nanny %s: could not start a new worker (%s); giving up "
                                 "after %d restarts", self.address, exc, self.restarts)
                    self.status = "closing"
                    return
                logger.warning("nanny %s: could not start a new worker (%s); trying again",
                               self.address, exc)
                await asyncio.sleep(min(0.5 * attempt, 5.0))

    async def _report(self, address: str | None, reason: str, detail: str) -> None:
        try:
            await asyncio.wait_for(self.rpc.send_recv(
                self.scheduler_address, "worker-died", address=address, reason=reason,
                detail=detail), 5)
        except Exception as exc:
            logger.info("nanny %s: could not tell the scheduler that %s died: %s",
                        self.address, address, exc)

    # -- rpc -----------------------------------------------------------------------------
    async def _restart_rpc(self, comm: Any = None, timeout: float | None = None,
                           **_: Any) -> dict:
        """Stop the worker and start a new one (the scheduler's ``restart``)."""
        timeout = 60.0 if timeout is None else float(timeout)
        if self.status != "running":
            raise RuntimeError(f"nanny {self._address_or_none()} is {self.status}")
        async with self._lock:
            old = self.process
            await self._stop_worker(min(timeout / 4, 5))
            await self._start_worker(timeout)
        return {"status": "OK", "worker": self.worker_address,
                "old_worker": old.address if old is not None else None}

    def _close_rpc(self, comm: Any = None, **_: Any) -> dict:
        if self.status == "running":
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.close()))
        return {"status": "OK"}

    def _kill_rpc(self, comm: Any = None, **_: Any) -> dict:
        """Kill the worker (SIGKILL); the nanny sees the death and restarts it."""
        if self.process is not None:
            self.process._signal(signal.SIGKILL)
        return {"status": "OK"}

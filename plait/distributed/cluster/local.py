"""``LocalCluster``: a scheduler and workers on this machine, started and stopped together.

The scheduler runs in the creating process, on an event loop of its own thread
(:class:`~plait.distributed.loop.LoopRunner`), or on the caller's loop with
``asynchronous=True``. With ``processes=True`` (the default) each worker is a separate
process, watched by a :class:`~plait.distributed.nanny.Nanny` on the cluster's loop
that restarts it when it dies and kills it before it runs out of memory (``nanny=False``:
bare :class:`~.worker_process.WorkerProcess` handles); every process is stopped by its
pid when the cluster closes. With ``processes=False`` the workers run on the scheduler's
loop, in-process, and everything talks over ``inproc://`` (no sockets, no copies).
Scaling down retires workers: their results are copied to the remaining workers first.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import logging
import weakref
from typing import Any

from plait.utils.sizes import format_bytes

from ..loop import LoopRunner
from ..worker.memory import cpu_count, parse_memory_limit, total_memory  # noqa: F401
from .worker_process import WorkerProcess

__all__ = ["LocalCluster", "default_sizing", "parse_memory_limit", "cpu_count"]

logger = logging.getLogger("plait.distributed.cluster")


def default_sizing(n_workers: int | None, threads_per_worker: int | None, processes: bool,
                   cores: int | None = None) -> tuple[int, int]:
    """``(n_workers, threads_per_worker)`` so that workers x threads = cores.

    >>> default_sizing(None, None, True, cores=8), default_sizing(None, None, False, cores=8)
    ((8, 1), (1, 8))
    >>> default_sizing(2, None, True, cores=8), default_sizing(None, 4, True, cores=8)
    ((2, 4), (2, 4))
    """
    cores = cores or cpu_count()
    if n_workers is not None and (not isinstance(n_workers, int) or n_workers < 0):
        raise ValueError(f"n_workers must be a non-negative int, got {n_workers!r}")
    if threads_per_worker is not None and (
            not isinstance(threads_per_worker, int) or threads_per_worker < 1):
        raise ValueError(
            f"threads_per_worker must be a positive int, got {threads_per_worker!r}")
    if n_workers is None and threads_per_worker is None:
        return (cores, 1) if processes else (1, cores)
    if n_workers is None:
        return max(1, cores // threads_per_worker), threads_per_worker
    if threads_per_worker is None:
        return n_workers, max(1, cores // max(n_workers, 1))
    return n_workers, threads_per_worker


class LocalCluster:
    """A scheduler plus workers on this machine.

    Parameters
    ----------
    n_workers, threads_per_worker : int, optional
        By default workers x threads = cores: one single-threaded worker per core with
        processes, one worker with a thread per core without.
    processes : bool
        Workers in their own processes (True) or in this process (False).
    memory_limit : str, int, float or None
        Per worker: ``"4GB"``, bytes, a fraction of the machine's memory, or ``"auto"``
        (the machine's memory divided among the workers).
    host, scheduler_port :
        Where the scheduler listens (127.0.0.1 and a free port by default).
    dashboard_address : str or None
        Where the scheduler serves its dashboard (``":8787"`` by default, on the
        scheduler's host; a taken port falls back to a free one; ``":0"`` picks a free
        port; None: no dashboard).
    asynchronous : bool
        Use ``await LocalCluster(..., asynchronous=True)`` (or ``async with``) inside a
        running event loop; methods then return awaitables.
    nanny : bool, optional
        Watch each worker process with a nanny (default: with ``processes``).
    security : Security, bool or None
        ``True``: a fresh ``Security.temporary()`` (TLS with a self-signed certificate);
        a ``Security``: that; None: from the config; False: none.
    scheduler_kwargs : dict, optional
        More ``Scheduler`` arguments (``worker_ttl``, ``allowed_failures``, ...).
    **worker_kwargs
        More ``Worker`` arguments (``resources``, ``local_directory``, ...).

    Examples
    --------
    >>> with LocalCluster(n_workers=2, processes=False) as cluster:
    ...     print(len(cluster.workers))
    2
    """

    def __init__(self, n_workers: int | None = None, threads_per_worker: int | None = None,
                 processes: bool = True, memory_limit: Any = "auto",
                 host: str = "127.0.0.1", scheduler_port: int = 0,
                 dashboard_address: str | None = ":8787", asynchronous: bool = False,
                 protocol: str | None = None, nanny: bool | None = None,
                 security: Any = None, scheduler_kwargs: dict | None = None,
                 **worker_kwargs: Any):
        self.n_workers, self.threads_per_worker = default_sizing(
            n_workers, threads_per_worker, processes)
        self.processes = processes
        self.nanny = processes if nanny is None else bool(nanny)
        if self.nanny and not processes:
            raise ValueError("nanny=True needs processes=True (a nanny watches a worker "
                             "process); pass processes=True or nanny=False")
        if security is True:
            from ..security import Security

            security = Security.temporary()
        self.security = security
        self.scheduler_kwargs = dict(scheduler_kwargs or {})
        self.memory_limit = parse_memory_limit(memory_limit, max(self.n_workers, 1))
        self.host = host
        self.scheduler_port = scheduler_port
        self.dashboard_address = dashboard_address
        self.asynchronous = asynchronous
        if protocol is None and processes:
            from ..security import resolve_security

            protocol = "tls" if resolve_security(security).require_encryption else "tcp"
        self.protocol = protocol or "inproc"
        self.worker_kwargs = worker_kwargs
        self.scheduler: Any = None
        self.workers: dict[Any, Any] = {}
        self.status = "created"
        self._names = itertools.count()
        self._runner: LoopRunner | None = None
        self._lock: asyncio.Lock | None = None
        self._procs: list[Any] = []  # WorkerProcess or Nanny handles, killed at exit
        # A cluster dropped without close() still leaves no process behind.
        self._finalizer = weakref.finalize(self, _kill_all, self._procs)
        if not asynchronous:
            self._runner = LoopRunner(name="plait-cluster").start()
            try:
                self._runner.run_sync(self._start)
            except BaseException:
                self._kill_now()
                raise

    # -- properties --------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the scheduler (and in-process workers) run on."""
        if self._runner is not None:
            return self._runner.loop
        return self._loop if hasattr(self, "_loop") else None

    @property
    def scheduler_address(self) -> str:
        if self.scheduler is None:
            raise RuntimeError("the LocalCluster has not started (await it first)")
        return self.scheduler.address

    @property
    def dashboard_link(self) -> str | None:
        """The dashboard's status page (None without a dashboard)."""
        from ..dashboard.links import dashboard_link

        return dashboard_link(getattr(self.scheduler, "http", None))

    def _worker_infos(self) -> list[tuple[int, int | None]]:
        return [(getattr(w, "nthreads", 0), getattr(w, "memory_limit", None))
                for w in self.workers.values()]

    def __repr__(self) -> str:
        infos = self._worker_infos()
        threads = sum(n for n, _ in infos)
        memory = sum(m or 0 for _, m in infos)
        address = self.scheduler.address if self.scheduler is not None else None
        return (f"LocalCluster({address!r}, workers={len(infos)}, threads={threads}, "
                f"memory={format_bytes(memory)}, status={self.status})")

    def _repr_html_(self) -> str:
        infos = self._worker_infos()
        threads = sum(n for n, _ in infos)
        memory = sum(m or 0 for _, m in infos)
        address = self.scheduler.address if self.scheduler is not None else "not started"
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in [("Scheduler", str(address)), ("Workers", str(len(infos))),
                         ("Threads", str(threads)), ("Memory", format_bytes(memory)),
                         ("Processes", str(self.processes)), ("Status", self.status)])
        link = self.dashboard_link
        if link:
            href = html.escape(link, quote=True)
            rows += (f"<tr><th style='text-align:left'>Dashboard</th><td><a href='{href}' "
                     f"target='_blank'>{href}</a></td></tr>")
        return f"<div><strong>LocalCluster</strong><table>{rows}</table></div>"

    # -- sync/async plumbing -----------------------------------------------------------

    def _call(self, coro_fn, *args: Any, timeout: float | None = None) -> Any:
        if self.asynchronous:
            return coro_fn(*args)
        return self._runner.run_sync(coro_fn, *args, timeout=timeout)

    def __await__(self):
        async def start() -> LocalCluster:
            if self.status == "created":
                await self._start()
            return self
        return start().__await__()

    async def __aenter__(self) -> LocalCluster:
        return await self

    async def __aexit__(self, *exc: Any) -> None:
        await self._close()

    def __enter__(self) -> LocalCluster:
        if self.asynchronous:
            raise TypeError("an asynchronous LocalCluster needs 'async with'")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- starting ----------------------------------------------------------------------

    async def _start(self) -> None:
        from ..scheduler import Scheduler

        self._loop = asyncio.get_running_loop()
        self._lock = asyncio.Lock()
        self.status = "starting"
        kwargs = dict(self.scheduler_kwargs)
        if self.security is not None:
            kwargs["security"] = self.security
        self.scheduler = Scheduler(host=self.host, port=self.scheduler_port,
                                   dashboard_address=self.dashboard_address,
                                   protocol=self.protocol, **kwargs)
        await self.scheduler.start()
        try:
            await self._scale(self.n_workers)
        except BaseException:
            await self._close()
            raise
        self.status = "running"

    def _worker_spec(self, name: Any) -> dict:
        spec = {"nthreads": self.threads_per_worker, "name": name,
                "memory_limit": self.memory_limit, "host": self.host}
        spec.update(self.worker_kwargs)
        return spec

    async def _new_worker(self, name: Any) -> Any:
        spec = self._worker_spec(name)
        if self.security is not None:
            spec["security"] = self.security
        if self.processes:
            if self.nanny:
                from ..nanny import Nanny

                proc: Any = Nanny(self.scheduler.address, **spec)
            else:
                proc = WorkerProcess(self.scheduler.address, **spec)
            self._procs.append(proc)
            return await proc.start()
        from ..worker import Worker

        spec.pop("host", None)
        return await Worker(self.scheduler.address, **spec).start()

    async def _scale(self, n: int) -> None:
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"scale(n) needs a non-negative int, got {n!r}")
        async with self._lock:
            if n > len(self.workers):
                names = [next(self._names) for _ in range(n - len(self.workers))]
                started = await asyncio.gather(*[self._new_worker(name) for name in names],
                                               return_exceptions=True)
                errors = [r for r in started if isinstance(r, BaseException)]
                for name, result in zip(names, started):
                    if not isinstance(result, BaseException):
                        self.workers[name] = result
                if errors:
                    raise errors[0]
            elif n < len(self.workers):
                # The newest workers go first, their results copied to the others.
                leaving = list(self.workers)[n:]
                await self._retire(leaving)
                await asyncio.gather(*[self._close_worker(name) for name in leaving])
            self.n_workers = len(self.workers)

    def scale(self, n: int) -> Any:
        """Have ``n`` workers: start new ones or close the newest."""
        return self._call(self._scale, n, timeout=120)

    async def _retire(self, names: list) -> None:
        addresses = [getattr(self.workers[n], "worker_address", None)
                     or getattr(self.workers[n], "address", None) for n in names]
        addresses = [a for a in addresses if a is not None]
        if not addresses or self.scheduler is None:
            return
        try:
            await asyncio.wait_for(self.scheduler.retire_workers(
                workers=addresses, close_workers=False, timeout=30), 40)
        except Exception as exc:  # their data is then computed again where needed
            logger.warning("LocalCluster: retiring %s failed: %s", addresses, exc)

    async def _close_worker(self, name: Any) -> None:
        worker = self.workers.pop(name, None)
        if worker is None:
            return
        await worker.close()
        if worker in self._procs:
            self._procs.remove(worker)

    # -- closing -----------------------------------------------------------------------

    async def _close(self) -> None:
        if self.status in ("closing", "closed"):
            return
        self.status = "closing"
        try:
            names = list(self.workers)
            await asyncio.gather(*[self._close_worker(name) for name in names],
                                 return_exceptions=True)
            if self.scheduler is not None:
                await asyncio.wait_for(self.scheduler.close(), 10)
        except Exception:
            logger.exception("LocalCluster: error while closing")
        finally:
            _kill_all(self._procs)
            self.status = "closed"

    def close(self, timeout: float | None = 30) -> Any:
        """Close the workers (killing any that linger) and the scheduler."""
        if self.asynchronous:
            return self._close()
        if self._runner is None:
            return None
        try:
            if self.status not in ("closing", "closed"):
                self._runner.run_sync(self._close, timeout=timeout)
        except BaseException:
            self._kill_now()
            raise
        finally:
            runner, self._runner = self._runner, None
            _kill_all(self._procs)
            runner.stop()
        return None

    def _kill_now(self) -> None:
        _kill_all(self._procs)
        if self._runner is not None:
            runner, self._runner = self._runner, None
            try:
                runner.stop()
            except Exception:
                pass
        self.status = "closed"


def _kill_all(procs: list) -> None:
    for proc in list(procs):
        proc.kill()

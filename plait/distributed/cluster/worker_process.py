"""Worker processes: start one in a fresh interpreter, learn its address, stop it by pid.

:class:`WorkerProcess` (the parent's handle) runs ``python -c <entry>`` (the entry calls
:func:`_main` here) and writes one JSON line to its stdin: the ``Worker`` arguments, and
the :class:`~plait.distributed.Security` pickled, so no secret or key ever appears on a
command line (which any local user can list). A fresh interpreter, rather than ``fork``,
gives the worker a clean
process with no copied threads or locks, and rather than ``multiprocessing`` it never
re-imports the user's ``__main__`` script, so a script that makes a ``LocalCluster``
at its top level without an ``if __name__ == "__main__"`` guard still works.

The child prints one line ``plait-worker-ready {json}`` (address, pid, name,
local_directory, dashboard_link) on stdout
when its worker has registered, then sends stdout to stderr. It ignores SIGINT (Ctrl-C
in a terminal reaches the whole process group; the parent decides), closes cleanly on
SIGTERM, and closes by itself when the parent process is gone or the scheduler's stream
closes, so no worker outlives its cluster. The parent asks a worker to close with the
``terminate`` rpc, waits a bounded time, then kills it by pid; an ``atexit`` hook kills
any worker still alive when the parent exits.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from typing import Any

__all__ = ["WorkerProcess", "run_worker", "live_pids"]

logger = logging.getLogger("plait.distributed.cluster")

READY = "plait-worker-ready "
PARENT_POLL_INTERVAL = 0.5

_ENTRY = ("import sys; from plait.distributed.cluster.worker_process import _main; "
          "sys.exit(_main(sys.argv))")

_live: dict[int, subprocess.Popen] = {}
_live_lock = threading.Lock()


def live_pids() -> list[int]:
    """Pids of worker processes this process started that have not been reaped."""
    with _live_lock:
        return [pid for pid, proc in _live.items() if proc.poll() is None]


@atexit.register
def _kill_leftovers() -> None:
    with _live_lock:
        procs = list(_live.values())
        _live.clear()
    for proc in procs:
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except OSError:
                pass
    for proc in procs:
        try:
            proc.wait(2)
        except Exception:
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _plait_path() -> str:
    import plait

    return os.path.dirname(os.path.dirname(os.path.abspath(plait.__file__)))


class WorkerProcess:
    """A worker running in its own process (the parent's handle to it).

    Parameters
    ----------
    scheduler_address : str
        Where the worker registers.
    security : Security, False or None
        Handed to the child's ``Worker`` through its stdin (pickled), never on its
        command line.
    **worker_kwargs
        ``Worker`` arguments (``nthreads``, ``name``, ``memory_limit``, ``resources``,
        ``local_directory``, ``host``, ``port``); they must be JSON-friendly.
    """

    def __init__(self, scheduler_address: str, security: Any = None, **worker_kwargs: Any):
        self.scheduler_address = scheduler_address
        self.security = security
        self.worker_kwargs = worker_kwargs
        self.name = worker_kwargs.get("name")
        self.nthreads = worker_kwargs.get("nthreads", 1)
        self.memory_limit = worker_kwargs.get("memory_limit")
        self.address: str | None = None
        self.local_directory: str | None = None
        self.dashboard_link: str | None = None
        self.pid: int | None = None
        self.process: subprocess.Popen | None = None
        self.status = "init"

    def __repr__(self) -> str:
        return (f"<WorkerProcess {self.name!r} pid={self.pid} {self.status} "
                f"at {self.address}, threads: {self.nthreads}>")

    async def start(self, timeout: float = 60) -> WorkerProcess:
        """Start the process and wait (at most ``timeout`` s) until its worker is up."""
        spec = {"scheduler_address": self.scheduler_address, "parent_pid": os.getpid(),
                "worker": self.worker_kwargs}
        if self.security is not None:
            spec["security"] = base64.b64encode(pickle.dumps(self.security)).decode()
        env = dict(os.environ)
        path = _plait_path()
        env["PYTHONPATH"] = os.pathsep.join(
            [path] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        proc = subprocess.Popen(
            [sys.executable, "-c", _ENTRY],
            stdout=subprocess.PIPE, stdin=subprocess.PIPE, env=env,
        )
        self.process, self.pid = proc, proc.pid
        with _live_lock:
            _live[proc.pid] = proc
        try:  # one line, far below a pipe's buffer: this write does not block
            proc.stdin.write(json.dumps(spec).encode() + b"\n")
            proc.stdin.close()
        except OSError:
            pass  # it died already: the readline below says so
        loop = asyncio.get_running_loop()
        try:
            line = await asyncio.wait_for(
                loop.run_in_executor(None, proc.stdout.readline), timeout)
        except asyncio.CancelledError:
            self.kill()  # e.g. the cluster closed while this worker was starting
            raise
        except TimeoutError:
            alive = proc.poll() is None
            self.kill()
            raise TimeoutError(
                f"worker process {proc.pid} did not start within {timeout} s (it was "
                f"{'still running' if alive else f'gone, exit code {proc.returncode}'}; "
                "its stderr above may say why)") from None
        finally:
            proc.stdout.close()
        text = line.decode(errors="replace").strip()
        if not text.startswith(READY.strip()):
            code = proc.poll()
            self.kill()
            raise RuntimeError(
                f"worker process {proc.pid} failed to start (exit code {code}); its "
                f"output: {text!r}; see its stderr above for the reason"
            )
        info = json.loads(text[len(READY):])
        self.address = info["address"]
        self.local_directory = info.get("local_directory")
        self.dashboard_link = info.get("dashboard_link")
        self.name = info["name"]
        self.status = "running"
        return self

    def __await__(self):
        return self.start().__await__()

    def is_alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit code once it has exited (``-N``: killed by signal N), else None."""
        return self.process.poll() if self.process is not None else None

    async def close(self, timeout: float = 5) -> None:
        """Ask the worker to close (it unregisters), then kill it if it lingers."""
        if self.process is None or self.status == "closed":
            return
        self.status = "closing"
        if self.is_alive() and self.address is not None:
            from ..core import ConnectionPool

            pool = ConnectionPool(limit=1, timeout=min(timeout, 2), security=self.security,
                                  role="client")
            try:
                await asyncio.wait_for(pool.send_recv(self.address, "terminate"),
                                       min(timeout, 2))
            except Exception as exc:
                logger.debug("worker %s: terminate failed: %s", self.name, exc)
                self._signal(signal.SIGTERM)
            finally:
                await pool.close()
        deadline = time.monotonic() + timeout
        while self.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        self.kill()

    def kill(self) -> None:
        """Kill the process by its pid now (no-op once it has exited) and reap it."""
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            self._signal(signal.SIGKILL)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            logger.error("worker process %s did not die after SIGKILL", proc.pid)
        with _live_lock:
            _live.pop(proc.pid, None)
        self.status = "closed"

    def _signal(self, sig: int) -> None:
        try:
            os.kill(self.pid, sig)
        except OSError:
            pass


async def run_worker(scheduler_address: str, worker_kwargs: dict,
                     parent_pid: int | None = None, on_ready=None,
                     security: Any = None) -> int:
    """Run one ``Worker`` on the running loop until it closes; returns an exit code.

    SIGTERM (and SIGINT unless ignored) close the worker cleanly; when ``parent_pid``
    is given, the worker also closes once that process is gone.
    """
    from ..worker import Worker

    kwargs = dict(worker_kwargs)
    if security is not None:
        kwargs["security"] = security
    worker = Worker(scheduler_address, **kwargs)
    await worker.start()
    loop = asyncio.get_running_loop()

    def stop() -> None:
        asyncio.ensure_future(worker.close())

    # Handlers first, then the ready line: a SIGTERM sent as soon as the parent reads
    # it closes the worker cleanly (exit 0) rather than killing it (which a nanny
    # would take for a death and answer with a restart).
    for sig in (signal.SIGTERM, signal.SIGINT):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            try:
                loop.add_signal_handler(sig, stop)
            except (NotImplementedError, RuntimeError, ValueError):
                pass
    if on_ready is not None:
        on_ready(worker)

    async def watch_parent() -> None:
        while worker.status == "running":
            await asyncio.sleep(PARENT_POLL_INTERVAL)
            if os.getppid() != parent_pid or not _pid_alive(parent_pid):
                logger.warning("worker %s: parent process %s is gone; closing",
                               worker.name, parent_pid)
                await worker.close(report=False)

    watcher = asyncio.ensure_future(watch_parent()) if parent_pid else None
    await worker.finished()
    if watcher is not None:
        watcher.cancel()
    return 0


def _read_spec(argv: list[str]) -> dict:
    line = argv[1] if len(argv) > 1 else sys.stdin.readline()
    spec = json.loads(line)
    if spec.get("security") is not None:
        spec["security"] = pickle.loads(base64.b64decode(spec["security"]))
    return spec


def _main(argv: list[str]) -> int:
    spec = _read_spec(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # stderr shows warnings; plait's INFO records still reach the log buffer that the
    # dashboard's info page reads (plait owns this process's logging).
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
    logging.getLogger("plait").setLevel(logging.INFO)
    stdout = sys.stdout

    def ready(worker: Any) -> None:
        info = {"address": worker.address, "pid": os.getpid(), "name": worker.name,
                "local_directory": getattr(worker, "local_directory", None),
                "dashboard_link": getattr(worker, "dashboard_link", None)}
        stdout.write(READY + json.dumps(info) + "\n")
        stdout.flush()
        # From now on the parent no longer reads our stdout: send it to stderr.
        os.dup2(2, 1)

    from ..loop import new_event_loop

    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(run_worker(
            spec["scheduler_address"], spec["worker"], spec.get("parent_pid"), ready,
            security=spec.get("security")))
    except Exception as exc:
        stdout.write(f"error: {type(exc).__name__}: {exc}\n")
        stdout.flush()
        return 1
    finally:
        loop.close()


if __name__ == "__main__":
    sys.exit(_main(sys.argv))

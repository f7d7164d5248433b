"""The default process pool: created on first use, reused, and killed on Ctrl-C.

Workers start with the ``forkserver`` method where the platform has it (``spawn``
elsewhere): forking a process that runs threads can deadlock the child, and both
methods give workers a clean interpreter. Workers ignore SIGINT, so Ctrl-C in a
terminal reaches only the caller, which then kills the workers by their process ids.
Functions and data travel with cloudpickle, so lambdas and functions defined in
``__main__`` work.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor

__all__ = ["default_pool", "discard_pool", "start_method"]

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_size = 0


def start_method() -> str:
    """``forkserver`` where available, else ``spawn`` (never plain ``fork``)."""
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


def _init_worker(caller_pid: int | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if caller_pid is not None:
        threading.Thread(target=_exit_with, args=(caller_pid,), daemon=True,
                         name="plait-parent-watch").start()


def _exit_with(caller_pid: int, interval: float = 1.0) -> None:
    """Exit when the process that made the pool is gone. A caller killed outright
    (SIGKILL, a test timeout) runs no atexit hook, and a pool worker blocked on its
    call queue would otherwise live on as an orphan."""
    import time

    while True:
        time.sleep(interval)
        try:
            os.kill(caller_pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # the pid now belongs to someone else's process
            os._exit(0)


def default_pool(num_workers: int) -> ProcessPoolExecutor:
    """The shared pool with ``num_workers`` processes (rebuilt if the size changes)."""
    global _pool, _pool_size
    with _lock:
        if _pool is not None and (_pool_size != num_workers or _broken(_pool)):
            _shutdown(_pool)
            _pool = None
        if _pool is None:
            ctx = multiprocessing.get_context(start_method())
            if ctx.get_start_method() == "forkserver":
                ctx.set_forkserver_preload(["plait", "cloudpickle"])
            _pool = ProcessPoolExecutor(num_workers, mp_context=ctx, initializer=_init_worker,
                                        initargs=(os.getpid(),))
            _pool_size = num_workers
        return _pool


def _broken(pool: ProcessPoolExecutor) -> bool:
    return bool(getattr(pool, "_broken", False))


def _kill(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's worker processes by their pids, then release the pool."""
    procs = dict(getattr(pool, "_processes", None) or {})
    for pid, proc in procs.items():
        try:
            proc.kill()
        except Exception:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    for proc in procs.values():
        proc.join(timeout=5)
    pool.shutdown(wait=False, cancel_futures=True)


def _shutdown(pool: ProcessPoolExecutor) -> None:
    pool.shutdown(wait=True, cancel_futures=True)


def discard_pool() -> None:
    """Kill the default pool's workers now (after Ctrl-C or a dead worker)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        _kill(pool)


@atexit.register
def _close_at_exit() -> None:
    global _pool
    pool, _pool = _pool, None
    if pool is not None:
        _kill(pool)

"""A worker's scratch directory: made fresh, locked while in use, removed on close.

Every worker gets its own ``plait-worker-*`` directory inside a shared base (the
``temporary-directory`` config key, else the system's temporary directory). Uploaded
files and spilled results live there. A worker that closes removes it; a worker that was
killed (SIGKILL, the out-of-memory killer, a power cut) cannot, so each directory holds a
``worker.lock`` file that its worker keeps locked with ``flock`` for its whole life. The
operating system drops that lock when the process dies, however it dies, so the next
worker to start in the same base can tell a dead worker's directory from a live one
without trusting process ids (which get reused) and removes it.

>>> import tempfile
>>> base = tempfile.mkdtemp()
>>> d = LocalDirectory(base)
>>> os.path.isdir(d.path), os.path.basename(d.path).startswith("plait-worker-")
(True, True)
>>> clean_stale_directories(base)  # d is alive: kept
[]
>>> d.close(); os.path.exists(d.path)
False
>>> os.rmdir(base)
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
import weakref

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no stale-directory detection
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "PREFIX", "LocalDirectory", "clean_stale_directories"]

logger = logging.getLogger("plait.distributed.worker")

PREFIX = "plait-worker-"
LOCK_NAME = "worker.lock"

# Directories still open: removed when the interpreter exits normally, in case their
# workers were never closed (a script that ends without closing its cluster).
_open: weakref.WeakSet = weakref.WeakSet()
_open_lock = threading.Lock()


@atexit.register
def _remove_open_directories() -> None:
    with _open_lock:
        left = list(_open)
    for d in left:
        d.close()


class LocalDirectory:
    """A fresh ``plait-worker-*`` directory in ``base``, locked until :meth:`close`.

    Parameters
    ----------
    base : str
        Directory to create it in (made if missing). Stale directories of dead
        workers found there are removed first.
    """

    def __init__(self, base: str) -> None:
        os.makedirs(base, exist_ok=True)
        self.base = base
        self.removed_stale = clean_stale_directories(base)
        self.path = tempfile.mkdtemp(prefix=PREFIX, dir=base)
        self._lock_fd: int | None = None
        if fcntl is not None:
            fd = os.open(os.path.join(self.path, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
            # Lock first, then write the pid: a scanner that can take the lock of a file
            # that already holds a pid knows its owner is dead (see clean_stale_...).
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, str(os.getpid()).encode())
            self._lock_fd = fd
        with _open_lock:
            _open.add(self)

    def __repr__(self) -> str:
        return f"<LocalDirectory {self.path}>"

    def close(self) -> None:
        """Remove the directory and everything in it (spill files, uploads)."""
        with _open_lock:
            _open.discard(self)
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock_fd is not None:
            try:
                os.close(self._lock_fd)  # releases the flock
            except OSError:
                pass
            self._lock_fd = None


def clean_stale_directories(base: str) -> list[str]:
    """Remove the ``plait-worker-*`` directories in ``base`` whose worker is dead.

    A directory counts as stale when its ``worker.lock`` holds a pid but nobody holds
    the lock. Directories without a lock file (still being made, or not ours) are left
    alone. Returns the paths removed.
    """
    if fcntl is None or not os.path.isdir(base):
        return []
    removed = []
    try:
        names = os.listdir(base)
    except OSError:
        return []
    for name in names:
        if not name.startswith(PREFIX):
            continue
        path = os.path.join(base, name)
        try:
            fd = os.open(os.path.join(path, LOCK_NAME), os.O_RDONLY)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # a live worker holds it
            owner = os.read(fd, 32).decode(errors="replace").strip()
            if not owner:
                continue  # its worker has made it but not locked it yet
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
            logger.info("removed the directory %s of a dead worker (pid %s)", path, owner)
        finally:
            os.close(fd)
    return removed

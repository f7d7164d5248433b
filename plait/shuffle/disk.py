"""The "disk" shuffle: pieces travel through files on this machine's disk.

Graph, for N inputs and M outputs::

    setup ──┬── split 0 ──┐
            ├── split 1 ──┼── barrier ──┬── output 0
            └── ...     ──┘             └── ...

``setup`` makes a fresh run directory under the shuffle's workspace
(``<temporary-directory>/plait-shuffle-<token>/<run>``): every shuffle has its own
token and every compute its own run, so concurrent shuffles, and concurrent computes of
one shuffle, never share a file. Each split task appends its pieces to one file per
output partition (``<run>/<i>``) as frames ``(input index, length, pickle)``, under an
exclusive ``flock`` where the platform has one. The barrier waits for all splits and
notes which outputs got data. Output task ``i`` reads its frames back in input order,
joins them, and deletes its file; the last output task to finish removes the run
directory.

Memory: a split task holds one input partition and its pieces, an output task one
output partition; no task ever holds the whole data set, whatever its size.

Cleanup when things go wrong: a split or output task that fails removes the whole run
at once. A run left behind otherwise (a failure elsewhere in the graph, or outputs that
were never computed) is removed when the graph that holds the shuffle is
garbage-collected in the process that built it, or when that process exits. Removal
renames a directory before deleting it, so a task still writing finds no directory to
write into rather than recreating one.

Only for schedulers whose workers all share this machine's file system (sync, threads,
processes): a distributed cluster has to use "tasks".
"""

from __future__ import annotations

import os
import pickle
import shutil
import struct
import tempfile
import time
import uuid
import weakref
from typing import Any, Callable, NoReturn

import cloudpickle

from .. import config
from ..graph import Ref, Task
from .core import split_pieces

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Workspace", "disk_layer", "discard"]

_HEADER = struct.Struct("<QQ")  # input partition index, payload length
_LOST_GRACE = 0.5  # seconds; see _run_lost
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)


class Workspace:
    """The directory of one disk shuffle; removed when the object that the process
    building the graph holds is garbage-collected (or at exit). Copies that travel to
    worker processes own nothing.

    >>> ws = Workspace(os.path.join(tempfile.gettempdir(), "plait-doctest-ws"))
    >>> pickle.loads(pickle.dumps(ws)).path == ws.path
    True
    """

    __slots__ = ("path", "__weakref__")

    def __init__(self, path: str, owner: bool = True):
        self.path = path
        if owner:
            weakref.finalize(self, _remove_workspace, path, os.getpid())

    def __reduce__(self):
        return (Workspace, (self.path, False))

    def __repr__(self) -> str:
        return f"Workspace({self.path!r})"


def _remove_workspace(path: str, pid: int) -> None:
    if os.getpid() == pid:  # never from a forked child that inherited the object
        discard(path)


def discard(path: str) -> None:
    """Remove the directory ``path`` and everything in it, if it exists.

    It is renamed first, so that tasks still running find it gone instead of writing
    into it again. The new name is fixed, so tasks that discard the same directory at
    once all work on the one tree, and whichever returns first leaves it removed.

    >>> d = tempfile.mkdtemp()
    >>> discard(d); os.path.exists(d), os.path.exists(d + ".discarded")
    (False, False)
    """
    trash = f"{path}.discarded"
    try:
        os.rename(path, trash)
    except FileNotFoundError:  # gone, or being removed by another task: help it
        pass
    except OSError:
        trash = path
    shutil.rmtree(trash, ignore_errors=True)


def _temporary_root() -> str:
    root = config.get("temporary-directory", None) or tempfile.gettempdir()
    return os.path.abspath(os.path.expanduser(os.fspath(root)))


def disk_layer(inputs: list, npartitions: int, split: Callable, concat: Callable,
               empty: Callable | None, name: str, token: str) -> dict:
    """The tasks of a disk shuffle of ``inputs`` into ``npartitions`` outputs
    ``(name, i)``; see the module docstring."""
    workspace = Workspace(os.path.join(_temporary_root(), f"plait-shuffle-{token}"))
    setup = f"shuffle-disk-setup-{token}"
    split_name = f"shuffle-disk-split-{token}"
    barrier = f"shuffle-disk-barrier-{token}"
    layer: dict = {setup: Task(setup, _setup, workspace)}
    for j, key in enumerate(inputs):
        layer[(split_name, j)] = Task((split_name, j), _write_pieces, split, npartitions,
                                      j, Ref(key), Ref(setup))
    layer[barrier] = Task(barrier, _barrier, npartitions, Ref(setup),
                          *[Ref((split_name, j)) for j in range(len(inputs))])
    for i in range(npartitions):
        layer[(name, i)] = Task((name, i), _read_output, concat, empty, i, Ref(barrier))
    return layer


# -- task functions (module level: they travel to worker processes) ------------------

def _setup(workspace: Workspace) -> str:
    """Make this run's directory; returns its path."""
    for _ in range(10):
        run = os.path.join(workspace.path, uuid.uuid4().hex)
        try:
            os.makedirs(run, mode=0o700)
            return run
        except FileNotFoundError:  # another run removed the workspace meanwhile
            continue
    raise RuntimeError(f"could not create a shuffle directory under {workspace.path}")


def _dumps(obj: Any) -> bytes:
    try:
        return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # lambdas, classes from __main__, ...
        return cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _append(path: str, j: int, payload: bytes) -> int:
    """Append one frame to the file at ``path``; fails if its directory is gone."""
    header = _HEADER.pack(j, len(payload))
    fd = os.open(path, _OPEN_FLAGS, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            _write_all(fd, header)
            _write_all(fd, payload)
        else:  # one write with O_APPEND: no other frame lands inside it
            _write_all(fd, header + payload)
    finally:
        os.close(fd)  # releases the lock
    return len(header) + len(payload)


def _abandon(run: str) -> None:
    """A task of this run failed: remove the run, and the workspace if now empty."""
    discard(run)
    try:
        os.rmdir(os.path.dirname(run))
    except OSError:
        pass


def _run_lost(run: str, what: str) -> NoReturn:
    # Another task removed the run because it failed; wait a moment so that its error,
    # not this consequence of it, is the one the scheduler reports first.
    time.sleep(_LOST_GRACE)
    raise RuntimeError(
        f"{what}: the directory of this disk shuffle run ({run}) is gone. Another task "
        "of the shuffle failed (its error is the one to look at), or something else "
        "removed the directory"
    )


def _write_pieces(split: Callable, m: int, j: int, part: Any, run: str) -> int:
    """Split input partition ``j`` and append its pieces; returns the bytes written."""
    try:
        written = 0
        for i, piece in split_pieces(split, part, m).items():
            written += _append(os.path.join(run, str(i)), j, _dumps(piece))
        return written
    except FileNotFoundError:
        if not os.path.isdir(run):
            _run_lost(run, f"cannot write the pieces of input partition {j}")
        _abandon(run)
        raise
    except BaseException:
        _abandon(run)
        raise


def _barrier(m: int, run: str, *written: int) -> tuple[str, bytes]:
    """All splits are done: which outputs have a file (one byte per output)."""
    present = bytearray(m)
    for entry in os.listdir(run):
        if entry.isdigit() and int(entry) < m:
            present[int(entry)] = 1
    if not any(present):
        _remove_empty(run)
    return run, bytes(present)


def _remove_empty(run: str) -> None:
    """Remove the run directory, then the workspace, where they are empty (never the
    temporary directory above them)."""
    for path in (run, os.path.dirname(run)):
        try:
            os.rmdir(path)
        except OSError:
            return


def _read_frames(f: Any, path: str) -> list[tuple[int, int, int, int]]:
    """``(input index, sequence, offset, length)`` of every frame in the file."""
    size = os.fstat(f.fileno()).st_size
    frames = []
    offset = 0
    while offset < size:
        f.seek(offset)
        header = f.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise RuntimeError(f"shuffle file {path} is truncated at byte {offset}")
        j, length = _HEADER.unpack(header)
        start = offset + _HEADER.size
        if start + length > size:
            raise RuntimeError(f"shuffle file {path} is truncated at byte {offset}")
        frames.append((j, len(frames), start, length))
        offset = start + length
    return frames


def _read_output(concat: Callable, empty: Callable | None, i: int,
                 barrier: tuple[str, bytes]) -> Any:
    """Read output ``i``'s pieces in input order, join them, delete the file."""
    run, present = barrier
    if not present[i]:
        return empty() if empty is not None else concat([])
    path = os.path.join(run, str(i))
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        if not os.path.isdir(run):
            _run_lost(run, f"cannot read output partition {i}")
        raise
    try:
        with f:
            frames = _read_frames(f, path)
            frames.sort()  # by input index, then order of writing
            pieces = []
            for _, _, start, length in frames:
                f.seek(start)
                pieces.append(pickle.loads(f.read(length)))
        result = concat(pieces)
    except BaseException:
        _abandon(run)
        raise
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    _remove_empty(run)
    return result

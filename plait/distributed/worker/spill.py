"""A :class:`~.store.DataStore` that moves least recently used values to disk.

Values live in memory in least-recently-used order. Whenever the bytes held in memory
pass ``target``, the oldest values are written to files in ``directory`` (one file each,
see :mod:`.spillfile`) and dropped from memory until the total is back under ``target``;
a value larger than ``target`` on its own goes to disk at once. Reading a spilled key
loads it back (it becomes the most recently used value; others may spill to make room),
so callers never see the difference. The worker's memory monitor also calls
:meth:`SpillStore.evict` when the whole process, not just the tracked values, uses too
much memory.

Every operation holds one lock: the worker's event loop stores and frees values while
its task threads read inputs and its monitor thread evicts.

A value that cannot be pickled stays in memory (it is logged once and never tried
again); so does every value when the disk refuses a write (full, read-only), until a
later eviction succeeds.

>>> import tempfile
>>> store = SpillStore(tempfile.mkdtemp(), target=100)
>>> store.put("a", b"x" * 60, nbytes=60)
>>> store.put("b", b"y" * 60, nbytes=60)  # 120 > 100: "a", the oldest, spills
>>> sorted(store.in_memory), sorted(store.on_disk)
(['b'], ['a'])
>>> store["a"] == b"x" * 60  # loaded back; now "b" is the oldest and spills
True
>>> sorted(store.in_memory), store.total_nbytes, store.spill_count
(['a'], 120, 2)
>>> store.close(); len(store)
0
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Any

from plait.sizeof import sizeof

from ..comm.serialize import SerializationError
from .spillfile import read_value, write_value
from .store import DataStore

__all__ = ["SpillStore"]

logger = logging.getLogger("plait.distributed.worker")


class SpillStore(DataStore):
    """Results in memory up to ``target`` bytes, the least recently used on disk.

    Parameters
    ----------
    directory : str
        Where spill files go (made if missing, removed by :meth:`close`).
    target : int or None
        Bytes of values to keep in memory; None spills only when :meth:`evict` is
        called.
    compression : {"auto", "zlib", None}
        How spill files are compressed (see :mod:`.spillfile`).

    Attributes
    ----------
    nbytes : dict
        Size of every value held, in memory or on disk (from :func:`plait.sizeof`).
    total_nbytes, memory_nbytes, spilled_nbytes : int
        Sizes of all values, of those in memory, of those on disk (in-memory size).
    disk_nbytes : int
        Bytes the spill files take on disk now.
    spill_count, spilled_bytes, unspill_count, unspilled_bytes : int
        Totals since the store was made: values written to disk and loaded back.
    """

    def __init__(self, directory: str, target: int | None = None,
                 compression: str | None = "auto") -> None:
        super().__init__()
        if compression not in ("auto", "zlib", None):
            raise ValueError(
                f"spill compression must be 'auto', 'zlib' or None, got {compression!r}")
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self.target = target
        self.compression = compression
        self._fast: OrderedDict[Hashable, Any] = OrderedDict()  # oldest first
        self._pinned: dict[Hashable, Any] = {}  # in memory, cannot be pickled
        self._slow: dict[Hashable, tuple[str, int]] = {}  # key -> (path, disk bytes)
        self._lock = threading.RLock()
        self._counter = 0
        self.memory_nbytes = 0
        self.spilled_nbytes = 0
        self.disk_nbytes = 0
        self.spill_count = 0
        self.spilled_bytes = 0
        self.unspill_count = 0
        self.unspilled_bytes = 0
        self.spill_time = 0.0
        # (start, stop) of the writes the last put caused, for the task stream.
        self.last_put_spill: tuple[float, float] | None = None
        self._disk_error_logged = False
        self._closed = False

    # -- views --------------------------------------------------------------------------

    @property
    def in_memory(self) -> list[Hashable]:
        """Keys whose values are in memory, least recently used first."""
        with self._lock:
            return [*self._pinned, *self._fast]

    @property
    def on_disk(self) -> list[Hashable]:
        """Keys whose values are in spill files."""
        with self._lock:
            return list(self._slow)

    def __repr__(self) -> str:
        return (f"<SpillStore: {len(self._fast) + len(self._pinned)} keys in memory "
                f"({self.memory_nbytes} bytes), {len(self._slow)} on disk "
                f"({self.spilled_nbytes} bytes)>")

    # -- the mapping --------------------------------------------------------------------

    def put(self, key: Hashable, value: Any, nbytes: int | None = None) -> None:
        """Store ``value``; spill what no longer fits under ``target``."""
        if nbytes is None:
            nbytes = sizeof(value)
        with self._lock:
            self.last_put_spill = None
            spills = self.spill_count
            start = time.time()
            if key in self.nbytes:
                self._remove(key)
            self.nbytes[key] = nbytes
            self.total_nbytes += nbytes
            self._fast[key] = value
            self.memory_nbytes += nbytes
            target = self.target
            if target is not None and nbytes > target:
                # Bigger than the whole budget: straight to disk, sparing the others.
                self._spill(key)
            if target is not None:
                while self.memory_nbytes > target and self._fast:
                    if self.evict() is None:
                        break
            if self.spill_count != spills:
                self.last_put_spill = (start, time.time())

    def load(self, key: Hashable) -> tuple[Any, bool]:
        """``(value, True)`` when the value had to be read from disk, else
        ``(value, False)``."""
        with self._lock:
            on_disk = key in self._slow
            return self[key], on_disk

    def __getitem__(self, key: Hashable) -> Any:
        with self._lock:
            fast = self._fast
            if key in fast:
                fast.move_to_end(key)
                return fast[key]
            if key in self._pinned:
                return self._pinned[key]
            try:
                path, stored = self._slow[key]
            except KeyError:
                raise KeyError(key) from None
            value = read_value(path, key)
            nbytes = self.nbytes[key]
            self.unspill_count += 1
            self.unspilled_bytes += nbytes
            target = self.target
            if target is not None and nbytes > target:
                return value  # would only spill again: leave it on disk
            del self._slow[key]
            self.spilled_nbytes -= nbytes
            self.disk_nbytes -= stored
            _remove_file(path)
            fast[key] = value
            self.memory_nbytes += nbytes
            if target is not None:
                while self.memory_nbytes > target and len(fast) > 1:
                    if self.evict() is None:
                        break
            return value

    def __delitem__(self, key: Hashable) -> None:
        with self._lock:
            if key not in self.nbytes:
                raise KeyError(key)
            self._remove(key)

    def _remove(self, key: Hashable) -> None:
        nbytes = self.nbytes.pop(key)
        self.total_nbytes -= nbytes
        if key in self._fast:
            del self._fast[key]
            self.memory_nbytes -= nbytes
        elif key in self._pinned:
            del self._pinned[key]
            self.memory_nbytes -= nbytes
        else:
            path, stored = self._slow.pop(key)
            self.spilled_nbytes -= nbytes
            self.disk_nbytes -= stored
            _remove_file(path)

    def __contains__(self, key: object) -> bool:
        return key in self.nbytes

    def __iter__(self) -> Iterator[Hashable]:
        with self._lock:
            return iter(list(self.nbytes))

    def __len__(self) -> int:
        return len(self.nbytes)

    def get(self, key: Hashable, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    # -- spilling -----------------------------------------------------------------------

    def evict(self) -> int | None:
        """Spill the least recently used value in memory; its size, or None when
        nothing in memory can be spilled."""
        with self._lock:
            while self._fast:
                key = next(iter(self._fast))
                nbytes = self.nbytes[key]
                if self._spill(key):
                    return nbytes
                if key in self._fast:
                    return None  # the disk refuses writes: stop trying for now
            return None

    def _spill(self, key: Hashable) -> bool:
        """Write ``key``'s value (in ``_fast``) to disk; False if it stays in memory."""
        value = self._fast[key]
        nbytes = self.nbytes[key]
        self._counter += 1
        path = os.path.join(self.directory, f"{self._counter}.spill")
        start = time.perf_counter()
        try:
            stored = write_value(path, value, self.compression)
        except SerializationError as exc:
            # It can never be spilled: keep it in memory, out of the eviction order.
            logger.warning("cannot spill %r to disk, keeping it in memory: %s", key, exc)
            del self._fast[key]
            self._pinned[key] = value
            return False
        except OSError as exc:
            if not self._disk_error_logged:
                logger.error("cannot write spill file %s (%s): values stay in memory "
                             "until the disk accepts writes again", path, exc)
                self._disk_error_logged = True
            return False
        self._disk_error_logged = False
        self.spill_time += time.perf_counter() - start
        del self._fast[key]
        self._slow[key] = (path, stored)
        self.memory_nbytes -= nbytes
        self.spilled_nbytes += nbytes
        self.disk_nbytes += stored
        self.spill_count += 1
        self.spilled_bytes += nbytes
        return True

    def close(self) -> None:
        """Forget every value and remove the spill directory."""
        with self._lock:
            self._fast.clear()
            self._pinned.clear()
            self._slow.clear()
            self.nbytes.clear()
            self.total_nbytes = self.memory_nbytes = 0
            self.spilled_nbytes = self.disk_nbytes = 0
            self._closed = True
            shutil.rmtree(self.directory, ignore_errors=True)


def _remove_file(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass

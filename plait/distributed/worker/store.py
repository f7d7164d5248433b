"""Where a worker keeps its results: a mapping from key to value that knows sizes.

The worker only uses the :class:`DataStore` interface below (a ``MutableMapping`` plus
:meth:`~DataStore.put` with a known size and :attr:`~DataStore.total_nbytes`), so that
the resilience work can put a store that spills to disk behind the same interface
without touching the worker.

>>> store = DataStore()
>>> store.put("x", b"abc", nbytes=3)
>>> store["y"] = [1, 2]
>>> sorted(store), store.total_nbytes >= 3, store.nbytes["x"]
(['x', 'y'], True, 3)
>>> del store["x"]; store.total_nbytes == store.nbytes["y"]
True
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, MutableMapping
from typing import Any

from plait.sizeof import sizeof

__all__ = ["DataStore"]


class DataStore(MutableMapping):
    """Results held in memory, with the size of each one (from :func:`plait.sizeof`)."""

    def __init__(self) -> None:
        self._data: dict[Hashable, Any] = {}
        self.nbytes: dict[Hashable, int] = {}
        self.total_nbytes = 0

    def put(self, key: Hashable, value: Any, nbytes: int | None = None) -> None:
        """Store ``value`` under ``key``; ``nbytes`` saves measuring it again."""
        if nbytes is None:
            nbytes = sizeof(value)
        old = self.nbytes.get(key)
        if old is not None:
            self.total_nbytes -= old
        self._data[key] = value
        self.nbytes[key] = nbytes
        self.total_nbytes += nbytes

    def __setitem__(self, key: Hashable, value: Any) -> None:
        self.put(key, value)

    def __getitem__(self, key: Hashable) -> Any:
        return self._data[key]

    def __delitem__(self, key: Hashable) -> None:
        del self._data[key]
        self.total_nbytes -= self.nbytes.pop(key)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"<DataStore: {len(self._data)} keys, {self.total_nbytes} bytes>"

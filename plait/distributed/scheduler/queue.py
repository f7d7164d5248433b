"""The scheduler-side queue of root-ish tasks, in priority order.

A heap with lazy removal: a task leaving the queue (released, cancelled, erred) is only
marked, and stale heap entries are skipped when popped. Each push stamps the task with a
fresh ``queue_token`` so a task queued, removed and queued again is not seen twice.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from .model import TaskState

__all__ = ["TaskQueue"]


class TaskQueue:
    """Queued tasks; ``pop`` returns the one with the smallest ``priority``.

    >>> from plait.distributed.scheduler.model import TaskPrefix
    >>> p = TaskPrefix("x")
    >>> a, b = TaskState("a", None, p), TaskState("b", None, p)
    >>> a.priority, b.priority = (0, 1, 5), (0, 1, 2)
    >>> q = TaskQueue(); q.push(a); q.push(b); q.discard(b)
    >>> len(q), q.pop().key, len(q)
    (1, 'a', 0)
    """

    __slots__ = ("_counter", "_heap", "_members")

    def __init__(self) -> None:
        self._heap: list = []
        self._members: set[TaskState] = set()
        self._counter = 0

    def push(self, ts: TaskState) -> None:
        self._counter += 1
        ts.queue_token = self._counter
        self._members.add(ts)
        heapq.heappush(self._heap, (ts.priority, self._counter, ts))

    def discard(self, ts: TaskState) -> None:
        self._members.discard(ts)
        if not self._members:
            self._heap.clear()

    def pop(self) -> TaskState:
        """Remove and return the highest-priority task; ``IndexError`` when empty."""
        heap = self._heap
        members = self._members
        while heap:
            _, token, ts = heapq.heappop(heap)
            if ts in members and ts.queue_token == token:
                members.discard(ts)
                return ts
        raise IndexError("pop from an empty TaskQueue")

    def peek(self) -> TaskState | None:
        heap = self._heap
        members = self._members
        while heap:
            _, token, ts = heap[0]
            if ts in members and ts.queue_token == token:
                return ts
            heapq.heappop(heap)
        return None

    def __contains__(self, ts: object) -> bool:
        return ts in self._members

    def __len__(self) -> int:
        return len(self._members)

    def __bool__(self) -> bool:
        return bool(self._members)

    def __iter__(self) -> Iterator[TaskState]:
        return iter(self._members)

"""The scheduling core: a pure state machine over one run of a graph.

Given a graph of nodes and the keys wanted, :class:`GraphState` answers three
questions for an executor, and nothing else:

- which tasks are ready, in priority order (``take``);
- after a task finished, which results may now be released because no remaining task
  needs them and nobody asked for them (``finish`` returns those keys);
- whether the run is complete (``done``).

It knows nothing of threads, processes or sockets: the sync loop, the thread pool and
the process pool all drive this one class, which makes it testable with plain unit
tests. It is not thread-safe; an executor serialises calls (one lock, or one thread).

State, per key:
``waiting[k]``   number of dependencies of ``k`` not yet finished (absent once ready);
``holders[k]``   number of dependents of ``k`` not yet finished (its value is kept
                 while this is above zero, or forever if ``k`` is wanted);
``ready``        a stack of ready keys; the top is run first. Newly ready dependents
                 are pushed on top, lowest priority number last, so a run finishes
                 what it started before starting something new: the behaviour the
                 static order (:func:`plait.graph.order`) was computed for.

A failed task stops the run: ``fail`` records it and ``take`` hands out nothing more.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from ..graph.algorithms import CycleError, MissingDependencyError, find_cycle
from ..graph.order import order as _order
from ..graph.spec import Key, Node

__all__ = ["GraphState"]

_NO_RELEASE: tuple = ()


class GraphState:
    """Bookkeeping of one run: ready set, priorities, release of intermediates.

    Parameters
    ----------
    dsk:
        The graph, ``{key: Node}``, already culled to what ``targets`` need.
    targets:
        Keys whose values the caller wants; they are never released.
    priority:
        ``{key: int}``, lower runs first; by default :func:`plait.graph.order`.
    available:
        Keys whose values the executor already holds (given data); they count as
        finished from the start.

    Examples
    --------
    >>> from operator import add
    >>> from plait.graph import convert_graph
    >>> g = convert_graph({"a": 1, "b": (add, "a", 1), "c": (add, "b", 1)})
    >>> s = GraphState(g, ["c"])
    >>> s.take()
    ['a']
    >>> s.finish("a")
    ()
    >>> s.take(), s.finish("b"), s.take(), s.finish("c"), s.done
    (['b'], ['a'], ['c'], ['b'], True)
    """

    __slots__ = (
        "dsk",
        "targets",
        "priority",
        "waiting",
        "users",
        "holders",
        "ready",
        "running",
        "finished",
        "total",
        "failed",
    )

    def __init__(
        self,
        dsk: Mapping[Key, Node],
        targets: Iterable[Key],
        priority: Mapping[Key, int] | None = None,
        available: Iterable[Key] = (),
    ):
        self.dsk = dsk
        self.targets = targets = set(targets)
        for k in targets:
            if k not in dsk:
                raise KeyError(f"key {k!r} was asked for but is not in the graph")
        self.priority = priority = _order(dsk, targets) if priority is None else priority
        waiting: dict = {}
        users: dict = {}
        holders: dict = {}
        ready: list = []
        available = set(available)
        for k, node in dsk.items():
            n = 0
            for d in node.dependencies:
                if d in available:
                    continue
                if d not in dsk:
                    raise MissingDependencyError(d, k)
                n += 1
                u = users.get(d)
                if u is None:
                    users[d] = [k]
                else:
                    u.append(k)
            if n:
                waiting[k] = n
            else:
                ready.append(k)
            for d in node.dependencies:
                holders[d] = holders.get(d, 0) + 1
        if len(ready) > 1:
            ready.sort(key=priority.__getitem__, reverse=True)
        if not ready and dsk:
            cycle = find_cycle(dsk)
            raise CycleError(cycle or list(waiting))
        self.waiting = waiting
        self.users = users
        self.holders = holders
        self.ready = ready
        self.running = 0
        self.finished = 0
        self.total = len(dsk)
        self.failed: tuple | None = None

    # -- queries -------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """All tasks finished (a failed run is never done)."""
        return self.finished == self.total

    @property
    def idle(self) -> bool:
        """Nothing ready and nothing running: a finished run, or a stalled one."""
        return not self.ready and not self.running

    def statistics(self) -> dict:
        """Plain counts for diagnostics.

        >>> GraphState({}, []).statistics()
        {'total': 0, 'finished': 0, 'running': 0, 'ready': 0, 'waiting': 0}
        """
        return {
            "total": self.total,
            "finished": self.finished,
            "running": self.running,
            "ready": len(self.ready),
            "waiting": len(self.waiting),
        }

    # -- transitions ---------------------------------------------------------------
    def take(self, n: int = 1) -> list:
        """Up to ``n`` ready keys, highest priority first; they count as running."""
        ready = self.ready
        if self.failed is not None or not ready:
            return []
        if n == 1:
            self.running += 1
            return [ready.pop()]
        batch = ready[-n:]
        del ready[-n:]
        batch.reverse()
        self.running += len(batch)
        return batch

    def claim_chain(self, key: Key) -> Key | None:
        """If ``key``'s only dependent waits on nothing else, mark it running and return
        it, so an executor can run both in one round trip; else None."""
        users = self.users.get(key)
        if users is None or len(users) != 1 or key in self.targets:
            return None
        u = users[0]
        if self.waiting.get(u) != 1:
            return None
        del self.waiting[u]
        self.running += 1
        return u

    def finish(self, key: Key) -> tuple | list:
        """Record that ``key`` finished; return keys whose values may be dropped now."""
        self.running -= 1
        self.finished += 1
        released = _NO_RELEASE
        holders = self.holders
        targets = self.targets
        for d in self.dsk[key].dependencies:
            n = holders.get(d)
            if n is None:
                continue
            if n == 1:
                del holders[d]
                if d not in targets:
                    if released is _NO_RELEASE:
                        released = [d]
                    else:
                        released.append(d)
            else:
                holders[d] = n - 1
        users = self.users.get(key)
        if users is not None:
            waiting = self.waiting
            if len(users) == 1:
                u = users[0]
                n = waiting.get(u)
                if n == 1:
                    del waiting[u]
                    self.ready.append(u)
                elif n is not None:
                    waiting[u] = n - 1
            else:
                newly = []
                for u in users:
                    n = waiting.get(u)
                    if n == 1:
                        del waiting[u]
                        newly.append(u)
                    elif n is not None:
                        waiting[u] = n - 1
                if newly:
                    if len(newly) > 1:
                        newly.sort(key=self.priority.__getitem__, reverse=True)
                    self.ready.extend(newly)
        elif key not in targets and key not in holders:
            # Nothing needs it and nobody asked for it (a graph with dead ends).
            if released is _NO_RELEASE:
                released = [key]
            else:
                released.append(key)
        return released

    def fail(self, key: Key, exc: BaseException) -> None:
        """Record that ``key`` raised ``exc``; no more tasks are handed out."""
        self.running -= 1
        if self.failed is None:
            self.failed = (key, exc)

    def __repr__(self) -> str:
        s = self.statistics()
        return "<GraphState " + " ".join(f"{k}={v}" for k, v in s.items()) + ">"


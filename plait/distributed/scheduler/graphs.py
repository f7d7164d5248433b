"""Graph submission: ``update_graph`` and the checks on what a client sends.

A mixin of :class:`.state.SchedulerState`. New tasks are linked to their dependencies
(old or new), given their priority and restrictions, checked for unknown dependencies
and cycles (those err at once, with an error naming the keys), and the released ones a
client or dependent needs start waiting, highest priority first.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from ...graph.spec import Key
from .errors import GraphCycleError, UnknownDependencyError
from .model import TaskState

__all__ = ["Graphs"]

Messages = tuple


class Graphs:
    """Mixin: ``update_graph``."""

    def update_graph(
        self,
        client: str,
        tasks: Mapping[Key, Any],
        dependencies: Mapping[Key, Iterable[Key]],
        keys: Iterable[Key],
        priority: Mapping[Key, int] | None = None,
        user_priority: int = 0,
        retries: int | None = None,
        resources: dict | None = None,
        workers: Any = None,
        allow_other_workers: bool = False,
        annotations: Mapping[Key, dict] | None = None,
        stimulus_id: str | None = None,
        **_: Any,
    ) -> Messages:
        """New tasks from ``client``, which holds futures for ``keys``.

        Keys already known keep their state (a key in memory or processing is not
        computed again); new tasks get priority ``(-user_priority, generation,
        priority[key])``: higher user priority first, then earlier submissions, then
        the graph's static order.
        """
        stimulus_id = stimulus_id or f"update-graph-{time.time()}"
        self.generation += 1
        generation = self.generation
        cs = self._client(client)
        known = self.tasks
        new: list[TaskState] = []
        for key, run_spec in tasks.items():
            ts = known.get(key)
            if ts is None:
                new.append(self._new_task(key, run_spec))
            elif ts.run_spec is None and ts.state == "released":
                ts.run_spec = run_spec
                new.append(ts)
        priority = priority or {}
        annotations = annotations or {}
        host = _as_host_set(workers)
        recs: dict = {}
        missing: list = []
        for ts in new:
            key = ts.key
            for dep in dependencies.get(key, ()):
                dts = known.get(dep)
                if dts is None:
                    missing.append((ts, dep))
                    continue
                ts.dependencies.add(dts)
                dts.dependents.add(ts)
            ann = annotations.get(key)
            if ann:
                ts.annotations = ann
                up = ann.get("priority", user_priority)
                ts.priority = (-(up or 0), generation, priority.get(key, 0))
                ts.retries = ann.get("retries", retries) or 0
                res = ann.get("resources", resources)
                ts.resource_restrictions = dict(res) if res else None
                h = _as_host_set(ann["workers"]) if "workers" in ann else host
                ts.host_restrictions = h
                ts.loose_restrictions = bool(ann.get("allow_other_workers", allow_other_workers))
            else:
                ts.priority = (-user_priority, generation, priority.get(key, 0))
                if retries:
                    ts.retries = retries
                if resources:
                    ts.resource_restrictions = dict(resources)
                if host is not None:
                    ts.host_restrictions = host
                    ts.loose_restrictions = bool(allow_other_workers)
        for key in keys:
            ts = known.get(key)
            if ts is not None:
                self._desire(ts, cs, recs)
            else:  # a future for a key nobody defined: answer rather than hang
                self._to_client(client, {"op": "cancelled-keys", "keys": [key]})
        bad = self._reject_bad(new, missing)
        # Released new tasks start waiting, highest priority last: recommendations are
        # applied last in, first out (pop, then set, moves a key to the end).
        start = []
        for ts in new:
            if ts.state == "released" and ts not in bad:
                if ts.who_wants or ts.dependents:
                    start.append(ts)
                else:
                    recs[ts.key] = "forgotten"  # submitted, but nobody asked for it
        if len(start) > 1:
            start.sort(key=_priority_of, reverse=True)
        for ts in start:
            recs.pop(ts.key, None)
            recs[ts.key] = "waiting"
        if bad:
            # Tasks erred by _reject_bad (and their dependents) stay erred.
            recs = {k: v for k, v in recs.items()
                    if k in known and known[k].state == "released"}
        if self.plugins:
            self._plugins_call("update_graph", self.owner, client=client, keys=list(keys),
                               tasks=[ts.key for ts in new], annotations=dict(annotations),
                               priority=dict(priority), dependencies=dependencies,
                               stimulus_id=stimulus_id)
        self.transitions(recs, stimulus_id)
        return self._flush()

    def _reject_bad(self, new: list, missing: list) -> set:
        """Err tasks that need unknown keys or lie on a cycle; returns them."""
        bad: set = set()
        recs: dict = {}
        for ts, dep in missing:
            exc = UnknownDependencyError(
                f"task {ts.key!r} depends on {dep!r}, which the scheduler does not know "
                "(its future was released, or it was never submitted); submit it again"
            )
            recs.update(self._err_from_scheduler(ts, exc))
            bad.add(ts)
        cycle = _find_cycle(new)
        if cycle:
            path = " -> ".join(repr(t.key) for t in cycle + cycle[:1])
            exc = GraphCycleError(f"the submitted tasks form a cycle: {path}; break the cycle")
            on_cycle = set(cycle)
            for ts in cycle:  # cut the cycle's edges, or its tasks would hold each other
                for dts in ts.dependencies & on_cycle:
                    ts.dependencies.discard(dts)
                    dts.dependents.discard(ts)
            for ts in cycle:
                if ts not in bad:
                    recs.update(self._err_from_scheduler(ts, exc))
                    bad.add(ts)
        if bad:
            for ts in bad:
                for dts in ts.dependents:
                    if dts.state == "released":
                        recs[dts.key] = "erred"
            self.transitions(recs, "update-graph-errors")
        return bad

    def _err_from_scheduler(self, ts: TaskState, exc: BaseException) -> dict:
        ts.exception, ts.traceback = self.make_error(exc)
        ts.exception_text = f"{type(exc).__name__}: {exc}"
        ts.traceback_text = ""
        recs = self._set_erred(ts, ts, {})
        self._record(ts, "released", "update-graph")
        return recs


def _priority_of(ts: TaskState) -> tuple:
    return ts.priority


def _as_host_set(workers: Any) -> frozenset | None:
    if workers is None:
        return None
    if isinstance(workers, (str, bytes)):
        return frozenset([workers])
    return frozenset(workers)


def _find_cycle(new: list[TaskState]) -> list | None:
    """A cycle among the new tasks (old tasks cannot close one: their dependencies were
    fixed before the new tasks existed)."""
    new_set = set(new)
    state: dict = {}
    for root in new:
        if root in state:
            continue
        path = [root]
        state[root] = 1
        iters = [iter(root.dependencies)]
        while iters:
            for d in iters[-1]:
                if d not in new_set:
                    continue
                s = state.get(d)
                if s == 1:
                    return path[path.index(d):]
                if s is None:
                    state[d] = 1
                    path.append(d)
                    iters.append(iter(d.dependencies))
                    break
            else:
                state[path.pop()] = 2
                iters.pop()
    return None

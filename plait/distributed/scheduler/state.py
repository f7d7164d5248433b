"""The scheduler's state machine: events in, messages out, no I/O.

:class:`SchedulerState` holds every task, worker and client the scheduler knows
(:mod:`.model`), and one public method per event (*stimulus*): ``update_graph``,
``task_finished``, ``task_erred``, ``add_worker``, ``remove_worker``,
``client_desires_keys``, ``client_releases_keys``, ``cancel``, ``update_data``,
``missing_data``, ``steal_response``, ... Each returns ``(client_msgs, worker_msgs)``:
``{client_id: [msg, ...]}`` and ``{worker_address: [msg, ...]}``, plain dicts in the
vocabulary of :mod:`plait.distributed.protocol`, that the server sends, one batch per
destination. Tests drive it with plain calls.

Task states: ``released`` (known, not needed or not yet started), ``waiting`` (inputs
not all in memory), ``queued`` (a root-ish task waiting for a free worker slot),
``no-worker`` (no worker meets its restrictions), ``processing`` (sent to a worker),
``memory`` (held by at least one worker), ``erred`` (it, or a dependency, failed),
``forgotten`` (dropped from the tables). Worker states: ``running`` (gets tasks),
``paused`` (keeps its data, gets no new tasks), ``closing``.

Why not :class:`plait.scheduling.core.GraphState`? That core runs one fixed graph for
one caller: its counters only go down, its ready stack is built once, and it stops at
the first failure. Here graphs arrive incrementally from many clients, a key lives as
long as any client or dependent wants it (reference counts), tasks move backwards when a
worker is lost, failures poison only their dependents, and each ready task needs a
worker. The same ideas (dependency counts as ``waiting_on``, holders as ``waiters``,
priority order, releasing what nothing needs) are kept, as per-task sets that can grow
back. Priorities come from :func:`plait.graph.order` on the client, as for the local
schedulers.

Recommendations are applied last in, first out, so work a transition unlocks runs
before unrelated work: a task's dependents are placed before the next root is.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any, Iterable, Mapping

from ... import config
from ...graph.spec import Key, key_prefix
from .errors import GraphCycleError, InvalidTransition, UnknownDependencyError
from .model import ClientState, TaskPrefix, TaskState, WorkerState
from .placement import task_slots, worker_allowed
from .queue import TaskQueue
from .stealing import WorkStealing
from .queries import Queries
from .reports import Reports
from .transitions import ARROWS, Transitions

__all__ = ["SchedulerState"]

Messages = tuple  # (client_msgs: dict[str, list[dict]], worker_msgs: dict[str, list[dict]])


def _float_config(key: str, default: float) -> float:
    value = config.get(key, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"config {key!r} must be a number, got {value!r}") from None


def _identity_error(exc: BaseException) -> tuple:
    return exc, None


class SchedulerState(Transitions, Reports, Queries):
    """Every task, worker and client, and the transitions between task states.

    Parameters
    ----------
    saturation:
        Root-ish tasks per worker thread kept processing
        (``distributed.scheduler.worker-saturation``, default 1.1); ``inf`` disables
        queuing.
    unknown_duration:
        Seconds assumed for a task whose prefix has no measured duration yet.
    bandwidth:
        Bytes per second assumed between workers, for placement and stealing.
    validate:
        Check every invariant after each event (slow; for tests).
    owner:
        The object plugins receive as ``scheduler`` (the server; else this state).
    root_latency, max_boost:
        Root tasks measured shorter than ``root_latency`` seconds (about one round trip
        scheduler -> worker -> scheduler) widen each worker's root-task window by up to
        ``max_boost`` times, so tiny tasks are not throttled by latency; 1 turns this off.

    Examples
    --------
    >>> s = SchedulerState()
    >>> _ = s.add_worker("tcp://127.0.0.1:1", nthreads=1)
    >>> clients, workers = s.update_graph("c1", {"x": b"spec"}, {}, ["x"])
    >>> [m["op"] for m in workers["tcp://127.0.0.1:1"]]
    ['compute-task']
    >>> clients, workers = s.task_finished("x", "tcp://127.0.0.1:1", nbytes=8)
    >>> clients["c1"][0]["op"], s.tasks["x"].state
    ('key-in-memory', 'memory')
    >>> _ = s.client_releases_keys(["x"], "c1"); s.tasks
    {}
    """

    def __init__(
        self,
        saturation: float | None = None,
        unknown_duration: float | None = None,
        bandwidth: float | None = None,
        validate: bool = False,
        owner: Any = None,
        transition_log_length: int = 10_000,
        root_latency: float = 0.002,
        max_boost: float = 8.0,
    ):
        if saturation is None:
            saturation = _float_config("distributed.scheduler.worker-saturation", 1.1)
        if not saturation > 0:
            raise ValueError(
                f"worker-saturation must be > 0 (or inf to turn queuing off), got {saturation!r}"
            )
        self.saturation = float(saturation)
        self.queuing = math.isfinite(self.saturation)
        # The window actually used for root tasks: saturation x root_boost, where the
        # boost (1, 2, 4 or 8) grows only while root tasks take less than about one
        # scheduler round trip (see Transitions._learn_root_duration).
        self.root_latency = root_latency
        self.max_boost = max_boost
        self.root_duration: float | None = None
        self.root_boost = 1.0
        self.root_saturation = self.saturation
        self.unknown_duration = (
            _float_config("distributed.scheduler.unknown-task-duration", 0.5)
            if unknown_duration is None else unknown_duration
        )
        self.bandwidth = (
            _float_config("distributed.scheduler.bandwidth", 100e6) if bandwidth is None else bandwidth
        )
        self.validate = validate
        self.owner = self if owner is None else owner
        self.tasks: dict[Key, TaskState] = {}
        self.prefixes: dict[str, TaskPrefix] = {}
        self.workers: dict[str, WorkerState] = {}
        self.running: dict[str, WorkerState] = {}
        self.aliases: dict[Any, str] = {}
        self.clients: dict[str, ClientState] = {}
        self.queue = TaskQueue()
        self.unrunnable: set[TaskState] = set()
        self.open_slots: set[WorkerState] = set()
        self.total_nthreads = 0
        self.generation = 0
        self.plugins: dict[str, Any] = {}
        self.transition_log: deque = deque(maxlen=transition_log_length)
        self.events: dict[str, deque] = {}
        self.transition_counter = 0
        self.make_error = _identity_error
        self.stealing = WorkStealing(self)
        self._cmsgs: dict = {}
        self._wmsgs: dict = {}
        self._arrows = {pair: getattr(self, "_" + "_".join(p.replace("-", "_") for p in pair))
                        for pair in ARROWS}

    # -- the engine ------------------------------------------------------------------
    def _flush(self) -> Messages:
        c, w = self._cmsgs, self._wmsgs
        self._cmsgs, self._wmsgs = {}, {}
        if self.validate:
            from .validate import validate_state

            validate_state(self)
        return c, w

    def _transition(self, ts: TaskState, finish: str, stimulus_id: str, **kw: Any) -> dict:
        start = ts.state
        if start == finish:
            return {}
        arrow = self._arrows.get((start, finish))
        if arrow is not None:
            recs = arrow(ts, **kw) if kw else arrow(ts)
            if ts.state != start:
                self._record(ts, start, stimulus_id)
            return recs
        first = self._arrows.get((start, "released"))
        second = self._arrows.get(("released", finish))
        if first is None or second is None:
            if finish == "processing" or start == "forgotten":
                return {}  # a stale recommendation: the task already moved on
            raise InvalidTransition(f"no transition for {ts.key!r} from {start} to {finish}")
        recs = first(ts)
        if ts.state != "released":
            return recs
        self._record(ts, start, stimulus_id)
        recs.pop(ts.key, None)
        recs.update(second(ts, **kw) if kw else second(ts))
        if ts.state != "released":
            self._record(ts, "released", stimulus_id)
        return recs

    def _record(self, ts: TaskState, start: str, stimulus_id: str) -> None:
        self.transition_counter += 1
        self.transition_log.append((ts.key, start, ts.state, stimulus_id))
        if self.plugins:
            if ts.processing_on is not None:
                worker = ts.processing_on.address
            elif ts.state == "memory" and len(ts.who_has) == 1:
                worker = next(iter(ts.who_has)).address
            else:
                worker = None
            for plugin in list(self.plugins.values()):
                try:
                    plugin.transition(ts.key, start, ts.state, stimulus_id=stimulus_id,
                                      worker=worker)
                except Exception as e:  # a broken plugin must not break the scheduler
                    self.log_event("plugin-error", {"plugin": repr(plugin), "error": repr(e)})

    def transitions(self, recommendations: dict, stimulus_id: str) -> None:
        """Apply ``{key: finish}`` recommendations and all those they lead to."""
        tasks = self.tasks
        while recommendations:
            key, finish = recommendations.popitem()
            ts = tasks.get(key)
            if ts is None:
                continue
            new = self._transition(ts, finish, stimulus_id)
            if new:
                recommendations.update(new)

    def log_event(self, topic: str, msg: Any) -> None:
        """Append ``(time, msg)`` to a bounded per-topic log (``events[topic]``)."""
        log = self.events.get(topic)
        if log is None:
            log = self.events[topic] = deque(maxlen=1000)
        log.append((time.time(), msg))

    def _plugins_call(self, method: str, *args: Any, **kwargs: Any) -> None:
        for plugin in list(self.plugins.values()):
            try:
                getattr(plugin, method)(*args, **kwargs)
            except Exception as e:
                self.log_event("plugin-error", {"plugin": repr(plugin), "method": method,
                                                "error": repr(e)})

    def add_plugin(self, plugin: Any, name: str | None = None) -> None:
        """Register a :class:`plait.distributed.plugins.SchedulerPlugin`."""
        name = name or getattr(plugin, "name", None) or f"{type(plugin).__name__}-{id(plugin):x}"
        self.plugins[name] = plugin

    def remove_plugin(self, name: str) -> None:
        if name not in self.plugins:
            raise KeyError(f"no scheduler plugin named {name!r}; known: {sorted(self.plugins)}")
        del self.plugins[name]

    # -- helpers -------------------------------------------------------------------------
    def _client(self, client: str) -> ClientState:
        cs = self.clients.get(client)
        if cs is None:
            cs = self.clients[client] = ClientState(client)
        return cs

    def _prefix(self, key: Key) -> TaskPrefix:
        name = key_prefix(key)
        p = self.prefixes.get(name)
        if p is None:
            p = self.prefixes[name] = TaskPrefix(name)
        p.count += 1
        return p

    def _new_task(self, key: Key, run_spec: Any) -> TaskState:
        ts = self.tasks[key] = TaskState(key, run_spec, self._prefix(key))
        return ts

    # -- clients -------------------------------------------------------------------------
    def add_client(self, client: str) -> Messages:
        cs = self._client(client)
        self._plugins_call("add_client", self.owner, client=client)
        del cs
        return self._flush()

    def remove_client(self, client: str, stimulus_id: str = "remove-client") -> Messages:
        """The client went away: everything it held is released."""
        cs = self.clients.pop(client, None)
        if cs is not None:
            self._release_for(cs, list(cs.wants_what), stimulus_id)
            self._plugins_call("remove_client", self.owner, client=client)
        return self._flush()

    def client_desires_keys(self, keys: Iterable[Key], client: str,
                            stimulus_id: str = "client-desires-keys") -> Messages:
        cs = self._client(client)
        recs: dict = {}
        for key in keys:
            ts = self.tasks.get(key)
            if ts is None:
                # Dask answers a key it does not know with a cancellation, so a Future
                # for it does not wait forever.
                self._to_client(client, {"op": "cancelled-keys", "keys": [key]})
                continue
            self._desire(ts, cs, recs)
        self.transitions(recs, stimulus_id)
        return self._flush()

    def _desire(self, ts: TaskState, cs: ClientState, recs: dict) -> None:
        if cs in ts.who_wants:
            return
        ts.who_wants.add(cs)
        cs.wants_what.add(ts)
        if ts.state == "memory":
            self._to_client(cs.client_key, {"op": "key-in-memory", "key": ts.key, "type": ts.type})
        elif ts.state == "erred":
            blame = ts.exception_blame
            self._to_client(cs.client_key, {
                "op": "task-erred", "key": ts.key, "exception": blame.exception,
                "traceback": blame.traceback, "exception_text": blame.exception_text,
                "traceback_text": blame.traceback_text, "cause": blame.key,
            })
        elif ts.state == "released":
            recs[ts.key] = "waiting"

    def client_releases_keys(self, keys: Iterable[Key], client: str,
                             stimulus_id: str = "client-releases-keys") -> Messages:
        """Reference counting: ``client`` dropped its futures for ``keys``."""
        cs = self.clients.get(client)
        if cs is not None:
            self._release_for(cs, [self.tasks[k] for k in keys if k in self.tasks], stimulus_id)
        return self._flush()

    def _release_for(self, cs: ClientState, tss: list, stimulus_id: str) -> None:
        recs: dict = {}
        for ts in tss:
            if cs not in ts.who_wants:
                continue
            ts.who_wants.discard(cs)
            cs.wants_what.discard(ts)
            if ts.who_wants or ts.waiters:
                continue
            if ts.state in ("released", "erred"):
                if not ts.dependents:
                    recs[ts.key] = "forgotten"
            else:
                recs[ts.key] = "released"
        self.transitions(recs, stimulus_id)

    # -- graphs --------------------------------------------------------------------------
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

    # -- workers -------------------------------------------------------------------------
    def add_worker(
        self,
        address: str,
        nthreads: int = 1,
        name: Any = None,
        memory_limit: int | None = None,
        resources: dict | None = None,
        pid: int | None = None,
        local_directory: str | None = None,
        nbytes: Mapping[Key, int] | None = None,
        now: float | None = None,
        stimulus_id: str = "add-worker",
        **extra: Any,
    ) -> Messages:
        """A worker joined (``register-worker``)."""
        if address in self.workers:
            raise ValueError(f"a worker at {address!r} is already registered")
        if not isinstance(nthreads, int) or nthreads < 1:
            raise ValueError(f"a worker needs nthreads >= 1, got {nthreads!r} from {address!r}")
        if name is not None and name in self.aliases and self.aliases[name] != address:
            raise ValueError(
                f"a worker named {name!r} is already registered (at {self.aliases[name]!r}); "
                "give each worker a unique name"
            )
        ws = WorkerState(address, nthreads, name, memory_limit, resources, pid, local_directory)
        ws.last_seen = time.time() if now is None else now
        ws.extra = extra
        self.workers[address] = ws
        self.running[address] = ws
        self.aliases[ws.name] = address
        self.total_nthreads += nthreads
        self._update_slots(ws)
        recs: dict = {}
        for key, n in (nbytes or {}).items():
            ts = self.tasks.get(key)
            if ts is None or ts.state in ("erred", "forgotten"):
                self._free_on(address, key)
            elif ts.state == "memory":
                if n is not None and ts.nbytes < 0:
                    ts.nbytes = n
                self._add_replica(ts, ws)
            else:
                recs.update(self._force_memory(ts, ws, n, stimulus_id))
        self._plugins_call("add_worker", self.owner, worker=address)
        self._fill(ws, recs)
        self.transitions(recs, stimulus_id)
        return self._flush()

    def _fill(self, ws: WorkerState, recs: dict) -> None:
        """Give a newly running worker queued root tasks and the tasks it can unblock."""
        if ws.status != "running":
            return
        n = task_slots(ws, self.root_saturation)
        queue = self.queue
        while n > 0 and queue:
            recs[queue.pop().key] = "processing"
            n -= 1
        for ts in list(self.unrunnable):
            if ts.loose_restrictions or worker_allowed(ts, ws):
                recs[ts.key] = "processing"

    def remove_worker(self, address: str, stimulus_id: str = "remove-worker",
                      safe: bool = False) -> Messages:
        """A worker left or died: its tasks go back to waiting; data only it held is
        computed again if still needed (scattered data is reported lost)."""
        ws = self.workers.pop(address, None)
        if ws is None:
            return self._flush()
        self.running.pop(address, None)
        if self.aliases.get(ws.name) == address:
            del self.aliases[ws.name]
        self.total_nthreads -= ws.nthreads
        self.open_slots.discard(ws)
        ws.status = "closed"
        self.stealing.remove_worker(ws)
        recs: dict = {}
        for ts in list(ws.processing):
            if not safe:
                ts.suspicious += 1
            recs.update(self._transition(ts, "released", stimulus_id))
        for ts in list(ws.has_what):
            self._remove_replica(ts, ws)
            if not ts.who_has:
                recs[ts.key] = "released"
        self._plugins_call("remove_worker", self.owner, worker=address, stimulus_id=stimulus_id)
        self.transitions(recs, stimulus_id)
        return self._flush()

    def set_worker_status(self, address: str, status: str,
                          stimulus_id: str = "worker-status-change") -> Messages:
        """``running`` / ``paused`` / ``closing``: only running workers get new tasks."""
        if status not in ("running", "paused", "closing"):
            raise ValueError(f"worker status must be running, paused or closing, not {status!r}")
        ws = self.workers.get(address)
        if ws is None or ws.status == status:
            return self._flush()
        ws.status = status
        recs: dict = {}
        if status == "running":
            self.running[address] = ws
            self._update_slots(ws)
            self._fill(ws, recs)
        else:
            self.running.pop(address, None)
            self.open_slots.discard(ws)
        self.transitions(recs, stimulus_id)
        return self._flush()

    def heartbeat_worker(self, address: str, metrics: dict | None = None,
                         now: float | None = None) -> bool:
        """Record a heartbeat; False when the worker is unknown (it should re-register)."""
        ws = self.workers.get(address)
        if ws is None:
            return False
        ws.last_seen = time.time() if now is None else now
        if metrics:
            ws.metrics = metrics
        return True

    def stale_workers(self, now: float, ttl: float) -> list[str]:
        """Addresses of workers not heard from for more than ``ttl`` seconds."""
        return [a for a, ws in self.workers.items() if now - ws.last_seen > ttl]

    def __repr__(self) -> str:
        return (f"<SchedulerState tasks={len(self.tasks)} workers={len(self.workers)} "
                f"clients={len(self.clients)} queued={len(self.queue)}>")


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

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
from typing import Any

from ... import config
from ...graph.spec import Key, key_prefix
from ...utils.sizes import parse_bytes
from .errors import InvalidTransition
from .graphs import Graphs
from .membership import Membership
from .model import ClientState, TaskPrefix, TaskState, WorkerState
from .queries import Queries
from .queue import TaskQueue
from .reports import Reports
from .stealing import WorkStealing
from .transitions import ARROWS, Transitions

__all__ = ["SchedulerState", "parse_seconds"]

Messages = tuple  # (client_msgs: dict[str, list[dict]], worker_msgs: dict[str, list[dict]])


def _float_config(key: str, default: float) -> float:
    value = config.get(key, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"config {key!r} must be a number, got {value!r}") from None


def parse_seconds(value: Any) -> float:
    """Seconds from ``5``, ``"500ms"``, ``"30s"``, ``"5 minutes"``.

    >>> parse_seconds("500ms"), parse_seconds("2 minutes"), parse_seconds(3)
    (0.5, 120.0, 3.0)
    """
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().lower().replace(" ", "")
    try:
        for suffix, factor in (("ms", 1e-3), ("minutes", 60), ("minute", 60), ("min", 60),
                               ("m", 60), ("hours", 3600), ("h", 3600), ("seconds", 1),
                               ("second", 1), ("s", 1)):
            if text.endswith(suffix):
                return float(text[: -len(suffix)]) * factor
        return float(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a duration; write seconds as a number or a string such as "
            "'500ms', '30s' or '5 minutes'"
        ) from None


def _identity_error(exc: BaseException) -> tuple:
    return exc, None


class SchedulerState(Transitions, Graphs, Membership, Reports, Queries):
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
    allowed_failures:
        Workers that may die while running one task before the task errs with
        :class:`~.errors.KilledWorker` (``distributed.scheduler.allowed-failures``,
        default 3: the fourth death fails it).
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
        allowed_failures: int | None = None,
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
        if unknown_duration is None:
            unknown_duration = parse_seconds(
                config.get("distributed.scheduler.unknown-task-duration", "500ms"))
        self.unknown_duration = float(unknown_duration)
        if bandwidth is None:
            bandwidth = parse_bytes(config.get("distributed.scheduler.bandwidth", 100_000_000))
        self.bandwidth = float(bandwidth)
        if allowed_failures is None:
            allowed_failures = config.get("distributed.scheduler.allowed-failures", 3)
        if not isinstance(allowed_failures, int) or isinstance(allowed_failures, bool) \
                or allowed_failures < 0:
            raise ValueError(
                "allowed-failures (distributed.scheduler.allowed-failures) must be an int "
                f">= 0, got {allowed_failures!r}"
            )
        self.allowed_failures = allowed_failures
        # What worker losses cost (reported by identity() and the failure tests):
        # tasks sent elsewhere because their worker died while running them, and
        # results computed again because every copy was lost.
        self.loss_counts = {"workers_lost": 0, "rescheduled": 0, "recomputed": 0,
                            "killed_worker": 0}
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
                self._record(ts, start, stimulus_id, kw)
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

    def _record(self, ts: TaskState, start: str, stimulus_id: str,
                kw: dict | None = None) -> None:
        self.transition_counter += 1
        self.transition_log.append((ts.key, start, ts.state, stimulus_id))
        if self.plugins:
            if ts.processing_on is not None:
                worker = ts.processing_on.address
            elif ts.state == "memory" and len(ts.who_has) == 1:
                worker = next(iter(ts.who_has)).address
            else:
                worker = None
            # What the worker reported (compute/transfer intervals, its thread) goes
            # to plugins too: the dashboard's task stream is drawn from it.
            extra = {k: v for k in ("startstops", "thread") if (v := kw.get(k))} if kw else {}
            for plugin in list(self.plugins.values()):
                try:
                    plugin.transition(ts.key, start, ts.state, stimulus_id=stimulus_id,
                                      worker=worker, **extra)
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

    def _plugins_call_one(self, plugin: Any, method: str, *args: Any) -> None:
        try:
            getattr(plugin, method)(*args)
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

    def __repr__(self) -> str:
        return (f"<SchedulerState tasks={len(self.tasks)} workers={len(self.workers)} "
                f"clients={len(self.clients)} queued={len(self.queue)}>")

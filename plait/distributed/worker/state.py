"""The worker's state machine: events in, instructions out, no I/O.

Each key the worker knows has a :class:`TaskState` in one of these states:

``released``    known, nothing under way (a fresh key starts here; it is then forgotten)
``waiting``     to be computed here; some dependencies are not local yet
``ready``       to be computed here; every dependency is local; waits for a thread slot
``constrained`` like ready, but also waits for its ``resources=`` to be free
``executing``   running on one of the ``nthreads`` slots
``long-running`` running, but seceded (``secede()``): it no longer holds a slot
``fetch``       a dependency to copy from a peer; waits for a transfer slot
``flight``      being copied from a peer (``ts.coming_from``)
``missing``     needed, but no peer is known to hold it: the worker asks the scheduler
``memory``      the value is in :attr:`WorkerState.data`
``error``       the task raised; the scheduler has been told
``cancelled``   the scheduler freed the key while a thread or a transfer was still busy
                with it; the outcome will be dropped unless a new request resumes it
                (``ts.previous`` says what it was doing)

Every move is an arrow ``(start, finish)`` in :data:`TRANSITIONS`, one method per arrow,
so an impossible move fails loudly with both states named. Event handlers
(``_handle_<event>``) pick arrows; after each batch of events the machine starts what it
can (:meth:`WorkerState._ensure_computing`, :meth:`WorkerState._ensure_fetching`).

The machine never talks to anyone: it returns :class:`~.events.Execute`,
:class:`~.events.GatherDep`, :class:`~.events.Send` and :class:`~.events.Resume`
instructions that the :class:`~plait.distributed.worker.Worker` server carries out.

>>> from plait.distributed.worker.events import ComputeTask, ExecuteSuccess
>>> ws = WorkerState(nthreads=1, address="tcp://127.0.0.1:1")
>>> ws.handle(ComputeTask("x", run_spec="spec", priority=(0,)))
[Execute(key='x')]
>>> [i.msg["op"] for i in ws.handle(ExecuteSuccess("x", 1, 28, "int", []))]
['task-finished']
>>> ws.tasks["x"].state, ws.data["x"]
('memory', 1)
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Hashable, MutableMapping
from typing import Any

from .events import (
    AcquireReplicas,
    ComputeTask,
    Execute,
    ExecuteFailure,
    ExecuteSuccess,
    FreeKeys,
    GatherDep,
    GatherDepFailure,
    GatherDepNetworkFailure,
    GatherDepSuccess,
    Instruction,
    PauseEvent,
    RefreshWhoHas,
    RejoinEvent,
    RescheduleEvent,
    Resume,
    SchedulerLost,
    SecedeEvent,
    Send,
    StateMachineEvent,
    StealRequest,
    UpdateData,
)
from .store import DataStore

Key = Hashable

__all__ = ["TaskState", "WorkerState", "InvalidTransition", "TRANSITIONS"]

#: States of a task that still needs its dependencies' values on this worker.
NEEDS_DEPENDENCIES = frozenset({"waiting", "ready", "constrained", "executing", "long-running"})
#: States from which a steal-request may take a task back (it has not started).
STEALABLE = frozenset({"waiting", "ready", "constrained"})
#: Priority of replicas the scheduler asked for: after every dependency of a task.
REPLICA_PRIORITY = (float("inf"),)


class InvalidTransition(RuntimeError):
    """The machine was asked for a move that is not an arrow of :data:`TRANSITIONS`."""


class TaskState:
    """What the worker knows about one key."""

    __slots__ = (
        "key", "state", "previous", "run_spec", "priority", "dependencies", "dependents",
        "waiting_for_data", "who_has", "nbytes", "resource_restrictions", "duration",
        "wanted", "reported", "coming_from", "type", "startstops", "error", "deps_info",
    )

    def __init__(self, key: Key):
        self.key = key
        self.state = "released"
        self.previous: str | None = None
        self.run_spec: Any = None
        self.priority: tuple = (0,)
        self.dependencies: set[TaskState] = set()
        self.dependents: set[TaskState] = set()
        self.waiting_for_data: set[Key] = set()
        self.who_has: set[str] = set()
        self.nbytes: int | None = None
        self.resource_restrictions: dict | None = None
        self.duration: float | None = None
        # The scheduler wants the value kept here (computed here, a replica, scattered).
        self.wanted = False
        # The scheduler believes this worker holds the value.
        self.reported = False
        self.coming_from: str | None = None
        self.type: str | None = None
        self.startstops: list = []
        self.error: ExecuteFailure | None = None
        # who_has/nbytes of a compute request that arrived while the key was in flight.
        self.deps_info: tuple[dict, dict] | None = None

    def __repr__(self) -> str:
        return f"<TaskState {self.key!r} {self.state}>"


class WorkerState:
    """The pure state of one worker (see the module docstring).

    Parameters
    ----------
    nthreads : int
        Tasks that may execute at once.
    address : str
        This worker's own address (never fetched from).
    resources : dict, optional
        Abstract resources this worker has, e.g. ``{"GPU": 1}``.
    data : MutableMapping, optional
        Where values are kept; a :class:`~.store.DataStore` by default.
    transfer_incoming_count_limit : int
        Peers fetched from at once.
    transfer_message_bytes_limit : int
        Bytes asked of one peer in one request (at least one key is always asked).
    """

    def __init__(
        self,
        nthreads: int = 1,
        address: str = "",
        resources: dict | None = None,
        data: MutableMapping | None = None,
        transfer_incoming_count_limit: int = 4,
        transfer_message_bytes_limit: int = 50_000_000,
    ):
        if nthreads < 1:
            raise ValueError(f"nthreads must be at least 1, got {nthreads}")
        self.nthreads = nthreads
        self.address = address
        self.data: MutableMapping = DataStore() if data is None else data
        self.tasks: dict[Key, TaskState] = {}
        self.total_resources = dict(resources or {})
        self.available_resources = dict(self.total_resources)
        self.transfer_incoming_count_limit = transfer_incoming_count_limit
        self.transfer_message_bytes_limit = transfer_message_bytes_limit
        self.executing: set[Key] = set()  # holding a slot (cancelled ones too)
        self.long_running: set[Key] = set()
        self.rejoining: deque[Key] = deque()
        self.ready: list = []  # heap of (priority, counter, key)
        self.constrained: list = []
        self.fetch_heap: list = []
        self.fetch_by_worker: dict[str, set[Key]] = {}
        self.in_flight_workers: dict[str, set[Key]] = {}
        self.missing: set[Key] = set()
        # Memory above the pause threshold: no new task starts, no new fetch.
        self.paused = False
        self.transition_counter = 0
        self._counter = itertools.count()
        self._handlers: dict[type, Callable] = {
            ComputeTask: self._handle_compute_task,
            FreeKeys: self._handle_free_keys,
            AcquireReplicas: self._handle_acquire_replicas,
            StealRequest: self._handle_steal_request,
            UpdateData: self._handle_update_data,
            RefreshWhoHas: self._handle_refresh_who_has,
            ExecuteSuccess: self._handle_execute_success,
            ExecuteFailure: self._handle_execute_failure,
            RescheduleEvent: self._handle_reschedule,
            SecedeEvent: self._handle_secede,
            RejoinEvent: self._handle_rejoin,
            GatherDepSuccess: self._handle_gather_dep_success,
            GatherDepNetworkFailure: self._handle_gather_dep_network_failure,
            GatherDepFailure: self._handle_gather_dep_failure,
            PauseEvent: self._handle_pause,
            SchedulerLost: self._handle_scheduler_lost,
        }

    # -- entry point -------------------------------------------------------------------

    def handle(self, *events: StateMachineEvent) -> list[Instruction]:
        """Apply ``events`` in order; return what the server must do next."""
        out: list[Instruction] = []
        handlers = self._handlers
        for event in events:
            try:
                handler = handlers[type(event)]
            except KeyError:
                raise TypeError(
                    f"WorkerState.handle got {type(event).__name__}; it takes the events "
                    "of plait.distributed.worker.events"
                ) from None
            handler(event, out)
        self._ensure_computing(out)
        self._ensure_fetching(out)
        return out

    @property
    def executing_count(self) -> int:
        return len(self.executing)

    def story(self, key: Key) -> str:
        """A one-line summary of what the worker knows about ``key`` (for error text)."""
        ts = self.tasks.get(key)
        if ts is None:
            return f"{key!r}: unknown"
        return (f"{key!r}: {ts.state}, held by {sorted(ts.who_has)}, "
                f"waiting for {sorted(map(repr, ts.waiting_for_data))}")

    def validate(self) -> None:
        """Check the machine's invariants (tests call this after every step)."""
        tasks = self.tasks
        ready = {entry[2] for entry in self.ready}
        constrained = {entry[2] for entry in self.constrained}
        fetch = {entry[2] for entry in self.fetch_heap}
        flying = {k for keys in self.in_flight_workers.values() for k in keys}
        for key, ts in tasks.items():
            where = f"task {key!r} in state {ts.state!r}"
            assert ts.key == key, where
            state = ts.state
            if state == "memory":
                assert key in self.data, f"{where}: value missing from data"
            elif state == "waiting":
                assert ts.waiting_for_data, f"{where}: waits for nothing"
                for dep in ts.waiting_for_data:
                    dts = tasks.get(dep)
                    assert dts is not None and dts.state != "memory", \
                        f"{where}: waits for {dep!r} which is {getattr(dts, 'state', None)}"
            elif state == "ready":
                assert key in ready, f"{where}: not in the ready heap"
            elif state == "constrained":
                assert key in constrained, f"{where}: not in the constrained heap"
            elif state == "fetch":
                assert ts.who_has and key in fetch, f"{where}: no holder or not queued"
                for w in ts.who_has:
                    assert key in self.fetch_by_worker.get(w, ()), f"{where}: not under {w}"
            elif state == "flight" or (state == "cancelled" and ts.previous == "flight"):
                assert key in self.in_flight_workers.get(ts.coming_from, ()), \
                    f"{where}: not in flight from {ts.coming_from}"
            elif state == "missing":
                assert key in self.missing, where
            elif state in ("executing", "long-running") or (
                    state == "cancelled" and ts.previous in ("executing", "long-running")):
                assert key in self.executing or key in self.long_running, \
                    f"{where}: holds no slot"
        for key in self.data:
            ts = tasks.get(key)
            assert ts is not None and ts.state == "memory", \
                f"data holds {key!r} but its task is {getattr(ts, 'state', None)}"
        for key in self.executing | self.long_running:
            ts = tasks.get(key)
            assert ts is None or ts.state in ("executing", "long-running", "cancelled",
                                              "memory", "released"), \
                f"slot held by {key!r} in state {ts.state}"
        assert not self.executing & self.long_running
        assert flying >= {k for k, ts in tasks.items() if ts.state == "flight"}
        for name, amount in self.available_resources.items():
            assert amount >= 0, f"resource {name} over-committed: {amount}"

    # -- bookkeeping -------------------------------------------------------------------

    def _ensure_task(self, key: Key) -> TaskState:
        ts = self.tasks.get(key)
        if ts is None:
            ts = self.tasks[key] = TaskState(key)
        return ts

    def _transition(self, ts: TaskState, finish: str, out: list, *args: Any) -> None:
        try:
            arrow = TRANSITIONS[ts.state, finish]
        except KeyError:
            raise InvalidTransition(
                f"worker {self.address}: task {ts.key!r} cannot go from {ts.state!r} to "
                f"{finish!r}; allowed from {ts.state!r}: "
                f"{sorted(f for s, f in TRANSITIONS if s == ts.state)}"
            ) from None
        self.transition_counter += 1
        arrow(self, ts, out, *args)

    def _needed(self, ts: TaskState) -> bool:
        if ts.wanted:
            return True
        for dependent in ts.dependents:
            if dependent.state in NEEDS_DEPENDENCIES or (
                dependent.state == "cancelled" and dependent.previous == "flight"
                and dependent.run_spec is not None
            ):
                return True
        return False

    def _maybe_release(self, ts: TaskState, out: list) -> None:
        """Drop ``ts`` if neither the scheduler nor a local task needs it any more."""
        if self.tasks.get(ts.key) is not ts or self._needed(ts):
            return
        state = ts.state
        if state in ("memory", "fetch", "missing", "error", "released"):
            self._transition(ts, "released", out)
            self._forget(ts, out)
        elif state == "flight":
            self._transition(ts, "cancelled", out)

    def _forget(self, ts: TaskState, out: list) -> None:
        """Remove a released task and let go of the dependencies only it needed."""
        if ts.state != "released" or self.tasks.get(ts.key) is not ts:
            return
        if any(d.state in NEEDS_DEPENDENCIES for d in ts.dependents):
            return
        del self.tasks[ts.key]
        for dependent in ts.dependents:
            dependent.dependencies.discard(ts)
        deps = ts.dependencies
        ts.dependencies = set()
        for dep in deps:
            dep.dependents.discard(ts)
            self._maybe_release(dep, out)

    def _push(self, heap: list, ts: TaskState) -> None:
        heapq.heappush(heap, (ts.priority, next(self._counter), ts.key))

    def _add_fetch(self, ts: TaskState) -> None:
        for w in ts.who_has:
            self.fetch_by_worker.setdefault(w, set()).add(ts.key)
        self._push(self.fetch_heap, ts)

    def _remove_fetch(self, ts: TaskState) -> None:
        for w in ts.who_has:
            keys = self.fetch_by_worker.get(w)
            if keys is not None:
                keys.discard(ts.key)
                if not keys:
                    del self.fetch_by_worker[w]

    def _set_who_has(self, ts: TaskState, holders) -> None:
        """Merge new holders (never ourselves) into ``ts.who_has``."""
        new = {h for h in holders if h != self.address} - ts.who_has
        if not new:
            return
        ts.who_has |= new
        if ts.state == "fetch":
            for w in new:
                self.fetch_by_worker.setdefault(w, set()).add(ts.key)

    def _put_in_memory(self, ts: TaskState, value: Any, nbytes: int | None, out: list) -> None:
        if isinstance(self.data, DataStore):
            self.data.put(ts.key, value, nbytes)
        else:
            self.data[ts.key] = value
        if nbytes is not None:
            ts.nbytes = nbytes
        ts.state = "memory"
        key = ts.key
        for dependent in ts.dependents:
            waiting = dependent.waiting_for_data
            if key in waiting:
                waiting.discard(key)
                if not waiting and dependent.state == "waiting":
                    self._transition(dependent, "ready", out)

    def _setup_compute(self, ts: TaskState, who_has: dict, nbytes: dict, out: list) -> None:
        """Link a released compute task to its dependencies; it becomes waiting or ready."""
        waiting = ts.waiting_for_data
        waiting.clear()
        for dep, holders in who_has.items():
            dts = self._ensure_task(dep)
            if dts is ts:
                continue
            ts.dependencies.add(dts)
            dts.dependents.add(ts)
            if dts.nbytes is None:
                dts.nbytes = nbytes.get(dep)
            if dts.state == "memory":
                continue
            waiting.add(dep)
            self._set_who_has(dts, holders)
            if dts.priority > ts.priority or dts.state == "released":
                dts.priority = ts.priority
            if dts.state == "released":
                self._transition(dts, "fetch", out)
            elif dts.state == "missing" and dts.who_has:
                self._transition(dts, "fetch", out)
            elif dts.state == "cancelled" and dts.previous == "flight":
                self._transition(dts, "flight", out)
        if waiting:
            ts.state = "waiting"
        else:
            self._transition(ts, "ready", out)

    # -- arrows ------------------------------------------------------------------------

    def _released_fetch(self, ts: TaskState, out: list) -> None:
        if not ts.who_has:
            ts.state = "missing"
            self.missing.add(ts.key)
            return
        ts.state = "fetch"
        self._add_fetch(ts)

    def _missing_fetch(self, ts: TaskState, out: list) -> None:
        self.missing.discard(ts.key)
        ts.state = "released"
        self._released_fetch(ts, out)

    def _fetch_flight(self, ts: TaskState, out: list, worker: str) -> None:
        self._remove_fetch(ts)
        ts.state = "flight"
        ts.coming_from = worker

    def _flight_fetch(self, ts: TaskState, out: list) -> None:
        ts.coming_from = None
        ts.state = "released"
        self._released_fetch(ts, out)

    def _flight_memory(self, ts: TaskState, out: list, value: Any, nbytes: int | None) -> None:
        ts.coming_from = None
        self._put_in_memory(ts, value, nbytes, out)
        ts.reported = True
        if ts.run_spec is not None and ts.wanted:
            # The scheduler asked us to compute a key we were already copying.
            out.append(Send({"op": "task-finished", "key": ts.key, "nbytes": ts.nbytes,
                             "type": type(value).__name__, "startstops": [],
                             "thread": None}))
        else:
            out.append(Send({"op": "add-keys", "keys": [ts.key]}))

    def _to_released(self, ts: TaskState, out: list) -> None:
        """Leave any state for released, undoing the state's own bookkeeping."""
        state = ts.state
        if state == "memory":
            if ts.key in self.data:
                del self.data[ts.key]
            if ts.reported:
                out.append(Send({"op": "release-worker-data", "key": ts.key}))
                ts.reported = False
        elif state == "fetch":
            self._remove_fetch(ts)
        elif state == "missing":
            self.missing.discard(ts.key)
        elif state in ("waiting", "ready", "constrained"):
            ts.waiting_for_data.clear()
        ts.coming_from = None
        ts.previous = None
        ts.state = "released"

    def _waiting_ready(self, ts: TaskState, out: list) -> None:
        if ts.resource_restrictions:
            ts.state = "constrained"
            self._push(self.constrained, ts)
        else:
            ts.state = "ready"
            self._push(self.ready, ts)

    def _ready_executing(self, ts: TaskState, out: list) -> None:
        for name, amount in (ts.resource_restrictions or {}).items():
            self.available_resources[name] -= amount
        ts.state = "executing"
        self.executing.add(ts.key)
        out.append(Execute(ts.key))

    def _release_slot(self, ts: TaskState) -> None:
        if ts.key in self.executing or ts.key in self.long_running:
            self.executing.discard(ts.key)
            self.long_running.discard(ts.key)
            for name, amount in (ts.resource_restrictions or {}).items():
                self.available_resources[name] += amount

    def _executing_memory(self, ts: TaskState, out: list, ev: ExecuteSuccess) -> None:
        self._release_slot(ts)
        ts.type = ev.type
        ts.startstops = ev.startstops
        self._put_in_memory(ts, ev.value, ev.nbytes, out)
        spilled = getattr(self.data, "last_put_spill", None)
        if spilled is not None:  # storing the result wrote values to disk
            ev.startstops.append(("disk-write", *spilled))
        ts.reported = True
        out.append(Send({"op": "task-finished", "key": ts.key, "nbytes": ev.nbytes,
                         "type": ev.type, "startstops": ev.startstops,
                         "thread": ev.thread}))
        for dep in list(ts.dependencies):
            self._maybe_release(dep, out)

    def _executing_error(self, ts: TaskState, out: list, ev: ExecuteFailure) -> None:
        self._release_slot(ts)
        self._record_error(ts, ev, out)

    def _waiting_error(self, ts: TaskState, out: list, ev: ExecuteFailure) -> None:
        ts.waiting_for_data.clear()
        self._record_error(ts, ev, out)

    def _record_error(self, ts: TaskState, ev: ExecuteFailure, out: list) -> None:
        ts.state = "error"
        ts.error = ev
        out.append(Send({"op": "task-erred", "key": ts.key, "exception": ev.exception,
                         "traceback": ev.traceback, "exception_text": ev.exception_text,
                         "traceback_text": ev.traceback_text,
                         "startstops": ev.startstops}))
        for dep in list(ts.dependencies):
            self._maybe_release(dep, out)

    def _executing_long_running(self, ts: TaskState, out: list) -> None:
        self.executing.discard(ts.key)
        self.long_running.add(ts.key)
        ts.state = "long-running"
        out.append(Send({"op": "long-running", "key": ts.key}))

    def _long_running_executing(self, ts: TaskState, out: list) -> None:
        self.long_running.discard(ts.key)
        self.executing.add(ts.key)
        ts.state = "executing"
        out.append(Resume(ts.key))

    def _busy_cancelled(self, ts: TaskState, out: list) -> None:
        ts.previous = ts.state
        ts.state = "cancelled"

    def _cancelled_resumed(self, ts: TaskState, out: list) -> None:
        ts.state, ts.previous = ts.previous, None

    def _cancelled_released(self, ts: TaskState, out: list) -> None:
        self._release_slot(ts)
        ts.coming_from = None
        ts.previous = None
        ts.state = "released"

    # -- event handlers ----------------------------------------------------------------

    def _handle_compute_task(self, ev: ComputeTask, out: list) -> None:
        ts = self._ensure_task(ev.key)
        ts.wanted = True
        state = ts.state
        if state == "memory":
            ts.reported = True
            out.append(Send({"op": "task-finished", "key": ts.key, "nbytes": ts.nbytes,
                             "type": ts.type or type(self.data.get(ts.key)).__name__,
                             "startstops": ts.startstops, "thread": None}))
            return
        if state in NEEDS_DEPENDENCIES:
            return  # a repeated request for work under way
        ts.run_spec = ev.run_spec
        ts.priority = tuple(ev.priority) if ev.priority is not None else (0,)
        ts.duration = ev.duration
        if not (state == "cancelled" and ts.previous != "flight"):
            # (a thread still runs it under the restrictions it started with)
            ts.resource_restrictions = ev.resource_restrictions or None
        if state == "cancelled":
            if ts.previous == "flight":
                ts.deps_info = (ev.who_has, ev.nbytes)
            self._transition(ts, ts.previous, out)
            return
        if state == "flight":
            ts.deps_info = (ev.who_has, ev.nbytes)
            return
        if state != "released":
            self._transition(ts, "released", out)
        self._setup_compute(ts, ev.who_has, ev.nbytes, out)

    def _handle_free_keys(self, ev: FreeKeys, out: list) -> None:
        for key in ev.keys:
            ts = self.tasks.get(key)
            if ts is None:
                continue
            ts.wanted = False
            ts.reported = False
            state = ts.state
            if state in ("executing", "long-running"):
                self._transition(ts, "cancelled", out)
            elif state in STEALABLE:
                ts.run_spec = None
                self._transition(ts, "released", out)
                self._forget(ts, out)
            elif state == "flight":
                ts.run_spec = None
                self._maybe_release(ts, out)
            elif state != "cancelled":
                ts.run_spec = None
                self._maybe_release(ts, out)

    def _handle_acquire_replicas(self, ev: AcquireReplicas, out: list) -> None:
        for key, holders in ev.who_has.items():
            ts = self._ensure_task(key)
            ts.wanted = True
            if ts.nbytes is None:
                ts.nbytes = ev.nbytes.get(key)
            self._set_who_has(ts, holders)
            if ts.state == "released":
                ts.priority = REPLICA_PRIORITY
                self._transition(ts, "fetch", out)
            elif ts.state == "missing" and ts.who_has:
                self._transition(ts, "fetch", out)
            elif ts.state == "cancelled" and ts.previous == "flight":
                self._transition(ts, "flight", out)

    def _handle_steal_request(self, ev: StealRequest, out: list) -> None:
        ts = self.tasks.get(ev.key)
        state = ts.state if ts is not None else None
        out.append(Send({"op": "steal-response", "key": ev.key, "state": state}))
        if ts is not None and state in STEALABLE:
            ts.wanted = False
            ts.run_spec = None
            self._transition(ts, "released", out)
            self._forget(ts, out)

    def _handle_update_data(self, ev: UpdateData, out: list) -> None:
        for key, value in ev.data.items():
            ts = self._ensure_task(key)
            # Scattered data is the scheduler's to free (it hears of it from us with
            # add-keys, or from the client with update-data when report is False):
            # never dropped here because no local task needs it any more.
            ts.wanted = True
            state = ts.state
            nbytes = ev.nbytes.get(key)
            if state in ("executing", "long-running", "cancelled", "flight"):
                # A thread or a transfer is still busy with the key: take the value now;
                # the late outcome finds the key in memory and is dropped (a thread's
                # slot stays taken until it returns).
                ts.coming_from = None
                ts.previous = None
                ts.state = "released"
            elif state != "released":
                self._transition(ts, "released", out)
            self._put_in_memory(ts, value, nbytes, out)
            ts.type = type(value).__name__
            ts.reported = True
        if ev.report and ev.data:
            out.append(Send({"op": "add-keys", "keys": list(ev.data)}))

    def _handle_refresh_who_has(self, ev: RefreshWhoHas, out: list) -> None:
        for key, holders in ev.who_has.items():
            ts = self.tasks.get(key)
            if ts is None:
                continue
            self._set_who_has(ts, holders)
            if ts.state == "missing" and ts.who_has:
                self._transition(ts, "fetch", out)

    def _handle_execute_success(self, ev: ExecuteSuccess, out: list) -> None:
        self._execute_done(ev, "memory", out)

    def _handle_execute_failure(self, ev: ExecuteFailure, out: list) -> None:
        self._execute_done(ev, "error", out)

    def _execute_done(self, ev: ExecuteSuccess | ExecuteFailure, finish: str,
                      out: list) -> None:
        """A run ended: ``finish`` ("memory" or "error") if the task still wants the
        result; a cancelled task is forgotten; one whose value arrived by other means
        meanwhile (update_data) just frees its thread slot."""
        ts = self.tasks.get(ev.key)
        if ts is None:
            self.executing.discard(ev.key)
            self.long_running.discard(ev.key)
            return
        if ts.state in ("executing", "long-running"):
            self._transition(ts, finish, out, ev)
        elif ts.state == "cancelled":
            self._transition(ts, "released", out)
            self._forget(ts, out)
        else:
            self._release_slot(ts)

    def _handle_reschedule(self, ev: RescheduleEvent, out: list) -> None:
        ts = self.tasks.get(ev.key)
        if ts is None:
            return
        if ts.state in ("executing", "long-running"):
            self._release_slot(ts)
            out.append(Send({"op": "reschedule", "key": ts.key}))
            ts.wanted = False
            ts.run_spec = None
            ts.state = "released"
            self._forget(ts, out)
        elif ts.state == "cancelled":
            self._transition(ts, "released", out)
            self._forget(ts, out)

    def _handle_secede(self, ev: SecedeEvent, out: list) -> None:
        ts = self.tasks.get(ev.key)
        if ts is None or ev.key not in self.executing:
            return
        if ts.state == "executing":
            self._transition(ts, "long-running", out)
        elif ts.state == "cancelled":
            self.executing.discard(ts.key)
            self.long_running.add(ts.key)
            if ts.previous == "executing":
                ts.previous = "long-running"

    def _handle_rejoin(self, ev: RejoinEvent, out: list) -> None:
        if ev.key in self.long_running:
            self.rejoining.append(ev.key)

    def _handle_gather_dep_success(self, ev: GatherDepSuccess, out: list) -> None:
        keys = self.in_flight_workers.pop(ev.worker, set())
        for key in keys:
            ts = self.tasks.get(key)
            if ts is None or ts.coming_from != ev.worker:
                continue
            if key in ev.data:
                if ts.state == "flight":
                    if not self._needed(ts):
                        self._transition(ts, "cancelled", out)
                        self._transition(ts, "released", out)
                        self._forget(ts, out)
                    else:
                        self._transition(ts, "memory", out, ev.data[key], ev.nbytes.get(key))
                else:  # cancelled
                    self._transition(ts, "released", out)
                    self._forget(ts, out)
                continue
            # The peer no longer had it.
            self._lost_holder(ts, ev.worker, out)

    def _lost_holder(self, ts: TaskState, worker: str, out: list) -> None:
        ts.who_has.discard(worker)
        out.append(Send({"op": "missing-data", "key": ts.key, "errant_worker": worker}))
        if ts.state == "cancelled":
            self._transition(ts, "released", out)
            self._forget(ts, out)
        elif ts.deps_info is not None and ts.run_spec is not None:
            who_has, nbytes = ts.deps_info
            ts.deps_info = None
            ts.coming_from = None
            ts.state = "released"
            self._setup_compute(ts, who_has, nbytes, out)
        else:
            self._transition(ts, "fetch", out)

    def _handle_gather_dep_network_failure(self, ev: GatherDepNetworkFailure,
                                           out: list) -> None:
        keys = self.in_flight_workers.pop(ev.worker, set())
        # The peer is gone: forget it as a holder of everything.
        for key in self.fetch_by_worker.pop(ev.worker, set()):
            ts = self.tasks.get(key)
            if ts is not None:
                ts.who_has.discard(ev.worker)
                if not ts.who_has and ts.state == "fetch":
                    ts.state = "missing"
                    self.missing.add(key)
        for ts in self.tasks.values():
            ts.who_has.discard(ev.worker)
        for key in keys:
            ts = self.tasks.get(key)
            if ts is None or ts.coming_from != ev.worker:
                continue
            self._lost_holder(ts, ev.worker, out)

    def _handle_gather_dep_failure(self, ev: GatherDepFailure, out: list) -> None:
        keys = self.in_flight_workers.pop(ev.worker, set())
        for key in keys:
            ts = self.tasks.get(key)
            if ts is None or ts.coming_from != ev.worker:
                continue
            # The peer cannot send it (e.g. it cannot serialize the value): every task
            # here that needs it fails with that reason, rather than waiting forever.
            for dependent in list(ts.dependents):
                if dependent.state == "waiting":
                    failure = ExecuteFailure(dependent.key, ev.exception, ev.traceback,
                                             ev.exception_text, ev.traceback_text, [])
                    self._transition(dependent, "error", out, failure)
            if ts.state == "flight":
                self._transition(ts, "cancelled", out)
            self._transition(ts, "released", out)
            self._forget(ts, out)

    def _handle_pause(self, ev: PauseEvent, out: list) -> None:
        # Resuming needs nothing more: handle() starts what it can after every batch.
        self.paused = ev.paused

    def _handle_scheduler_lost(self, ev: SchedulerLost, out: list) -> None:
        """Forget everything; what threads and transfers are still busy with becomes
        cancelled, so that their outcomes are dropped when they arrive."""
        scratch: list = []  # nothing goes to the next scheduler about the old keys
        busy = []
        for ts in list(self.tasks.values()):
            ts.wanted = False
            ts.reported = False
            ts.run_spec = None
            ts.deps_info = None
            state = ts.state
            if state in ("executing", "long-running", "flight"):
                self._transition(ts, "cancelled", scratch)
            if ts.state == "cancelled":
                busy.append(ts)
                continue
            if state != "released":
                self._transition(ts, "released", scratch)
            del self.tasks[ts.key]
        for ts in busy:
            ts.dependencies = set()
            ts.dependents = set()
            ts.waiting_for_data = set()
            ts.who_has = set()
        self.ready.clear()
        self.constrained.clear()
        self.fetch_heap.clear()
        self.fetch_by_worker.clear()
        self.missing.clear()

    # -- starting work -----------------------------------------------------------------

    def _next_ready(self) -> TaskState | None:
        tasks = self.tasks
        ready = self.ready
        while ready:
            ts = tasks.get(ready[0][2])
            if ts is not None and ts.state == "ready":
                break
            heapq.heappop(ready)
        constrained = self.constrained
        while constrained:
            ts = tasks.get(constrained[0][2])
            if ts is not None and ts.state == "constrained":
                break
            heapq.heappop(constrained)
        if constrained:
            ts = tasks[constrained[0][2]]
            fits = all(self.available_resources.get(name, 0) >= amount
                       for name, amount in ts.resource_restrictions.items())
            if fits and (not ready or constrained[0] < ready[0]):
                heapq.heappop(constrained)
                return ts
        if ready:
            return tasks[heapq.heappop(ready)[2]]
        return None

    def _ensure_computing(self, out: list) -> None:
        while self.rejoining and len(self.executing) < self.nthreads:
            key = self.rejoining.popleft()
            ts = self.tasks.get(key)
            if key not in self.long_running:
                continue
            if ts is not None and ts.state == "long-running":
                self._transition(ts, "executing", out)
            else:  # cancelled while seceded: it still gets its slot back
                self.long_running.discard(key)
                self.executing.add(key)
                if ts is not None and ts.previous == "long-running":
                    ts.previous = "executing"
                out.append(Resume(key))
        if self.paused:
            return
        while len(self.executing) < self.nthreads:
            ts = self._next_ready()
            if ts is None:
                break
            self._transition(ts, "executing", out)

    def _ensure_fetching(self, out: list) -> None:
        if self.paused:
            return
        heap = self.fetch_heap
        skipped = []
        limit = self.transfer_incoming_count_limit
        while heap and len(self.in_flight_workers) < limit:
            entry = heapq.heappop(heap)
            ts = self.tasks.get(entry[2])
            if ts is None or ts.state != "fetch":
                continue
            holders = [w for w in ts.who_has if w not in self.in_flight_workers]
            if not holders:
                skipped.append(entry)
                continue
            # The holder with the most of what we need: fewer, larger requests.
            worker = max(holders, key=lambda w: (len(self.fetch_by_worker.get(w, ())), w))
            keys = [ts.key]
            total = ts.nbytes or 0
            others = [self.tasks[k] for k in self.fetch_by_worker.get(worker, ())
                      if k != ts.key]
            others.sort(key=lambda t: t.priority)
            for other in others:
                size = other.nbytes or 0
                if total + size > self.transfer_message_bytes_limit:
                    break
                keys.append(other.key)
                total += size
            for key in keys:
                self._transition(self.tasks[key], "flight", out, worker)
            self.in_flight_workers[worker] = set(keys)
            out.append(GatherDep(worker, keys, total))
        for entry in skipped:
            heapq.heappush(heap, entry)


#: Every allowed move ``(start, finish) -> method(self, ts, out, *args)``.
TRANSITIONS: dict[tuple[str, str], Callable] = {
    ("released", "fetch"): WorkerState._released_fetch,
    ("missing", "fetch"): WorkerState._missing_fetch,
    ("fetch", "flight"): WorkerState._fetch_flight,
    ("flight", "fetch"): WorkerState._flight_fetch,
    ("flight", "memory"): WorkerState._flight_memory,
    ("flight", "cancelled"): WorkerState._busy_cancelled,
    ("waiting", "ready"): WorkerState._waiting_ready,
    ("released", "ready"): WorkerState._waiting_ready,
    ("waiting", "error"): WorkerState._waiting_error,
    ("ready", "executing"): WorkerState._ready_executing,
    ("constrained", "executing"): WorkerState._ready_executing,
    ("executing", "memory"): WorkerState._executing_memory,
    ("long-running", "memory"): WorkerState._executing_memory,
    ("executing", "error"): WorkerState._executing_error,
    ("long-running", "error"): WorkerState._executing_error,
    ("executing", "long-running"): WorkerState._executing_long_running,
    ("long-running", "executing"): WorkerState._long_running_executing,
    ("executing", "cancelled"): WorkerState._busy_cancelled,
    ("long-running", "cancelled"): WorkerState._busy_cancelled,
    ("cancelled", "executing"): WorkerState._cancelled_resumed,
    ("cancelled", "long-running"): WorkerState._cancelled_resumed,
    ("cancelled", "flight"): WorkerState._cancelled_resumed,
    ("cancelled", "released"): WorkerState._cancelled_released,
    ("memory", "released"): WorkerState._to_released,
    ("fetch", "released"): WorkerState._to_released,
    ("missing", "released"): WorkerState._to_released,
    ("waiting", "released"): WorkerState._to_released,
    ("ready", "released"): WorkerState._to_released,
    ("constrained", "released"): WorkerState._to_released,
    ("error", "released"): WorkerState._to_released,
    ("released", "released"): WorkerState._to_released,
}

"""The arrows of the task state machine: one method per ``(start, finish)`` pair.

Each arrow moves one task, keeps every cross reference consistent, appends the
messages the move implies (``compute-task``/``free-keys`` per worker, ``key-in-memory``/
``task-erred``/``lost-data`` per client) and returns *recommendations*: ``{key: finish}``
for other tasks (or the same one) that should move next. The engine in
:mod:`.state` applies them until none is left.

An arrow whose preconditions no longer hold (a recommendation made earlier in the same
step went stale) leaves the task where it is and returns ``{}``.

Arrows (``ARROWS`` lists them)::

    released   -> waiting | forgotten | erred | memory
    waiting    -> processing (or queued / no-worker when no worker fits) | released | erred
    queued     -> processing | waiting (an input was lost) | released | erred
    no-worker  -> processing | waiting (an input was lost) | released | erred
    processing -> memory | erred | released
    memory     -> released
    erred      -> released | forgotten

Any other move goes through ``released`` (``memory -> released -> forgotten``).
"""

from __future__ import annotations

from typing import Any

from .errors import LostDataError
from .model import TaskState, WorkerState
from .placement import (
    decide_worker,
    is_rootish,
    pick_rootish_worker,
    task_slots,
    transfer_bytes,
)

__all__ = ["ARROWS", "Transitions"]

ARROWS = (
    ("released", "waiting"),
    ("released", "forgotten"),
    ("released", "erred"),
    ("released", "memory"),
    ("waiting", "processing"),
    ("waiting", "released"),
    ("waiting", "erred"),
    ("queued", "processing"),
    ("queued", "waiting"),
    ("queued", "released"),
    ("queued", "erred"),
    ("no-worker", "processing"),
    ("no-worker", "waiting"),
    ("no-worker", "released"),
    ("no-worker", "erred"),
    ("processing", "memory"),
    ("processing", "erred"),
    ("processing", "released"),
    ("memory", "released"),
    ("erred", "released"),
    ("erred", "forgotten"),
)

_ACTIVE = frozenset(("waiting", "queued", "no-worker", "processing", "memory"))
FIRE_AND_FORGET = "fire-and-forget"


class Transitions:
    """Mixin of the arrows; :class:`.state.SchedulerState` supplies the attributes."""

    # -- messages ------------------------------------------------------------------
    def _to_worker(self, address: str, msg: dict) -> None:
        out = self._wmsgs.get(address)
        if out is None:
            self._wmsgs[address] = [msg]
        else:
            out.append(msg)

    def _free_on(self, address: str, key: Any) -> None:
        out = self._wmsgs.get(address)
        if out is None:
            self._wmsgs[address] = [{"op": "free-keys", "keys": [key]}]
            return
        last = out[-1]
        if last["op"] == "free-keys":  # fold consecutive frees into one message
            last["keys"].append(key)
        else:
            out.append({"op": "free-keys", "keys": [key]})

    def _to_client(self, client_key: str, msg: dict) -> None:
        out = self._cmsgs.get(client_key)
        if out is None:
            self._cmsgs[client_key] = [msg]
        else:
            out.append(msg)

    def _report_erred(self, ts: TaskState) -> None:
        blame = ts.exception_blame
        msg = {
            "op": "task-erred",
            "key": ts.key,
            "exception": blame.exception,
            "traceback": blame.traceback,
            "exception_text": blame.exception_text,
            "traceback_text": blame.traceback_text,
            "cause": blame.key,
        }
        for cs in ts.who_wants:
            self._to_client(cs.client_key, msg)

    def _release_fire_and_forget(self, ts: TaskState) -> None:
        # The pseudo-client "fire-and-forget" holds a key only until it is computed
        # (or fails): nobody will ever ask for the result.
        cs = self.clients.get(FIRE_AND_FORGET)
        if cs is not None and cs in ts.who_wants:
            ts.who_wants.discard(cs)
            cs.wants_what.discard(ts)

    # -- shared steps ----------------------------------------------------------------
    def _update_slots(self, ws: WorkerState) -> None:
        if ws.status == "running" and task_slots(ws, self.root_saturation) > 0:
            self.open_slots.add(ws)
        else:
            self.open_slots.discard(ws)

    def _start_processing(self, ts: TaskState, ws: WorkerState) -> dict:
        ts.state = "processing"
        ts.processing_on = ws
        duration = ts.prefix.duration_average
        if duration is None:
            duration = self.unknown_duration
        deps = ts.dependencies
        cost = duration + transfer_bytes(ts, ws) / self.bandwidth if deps else duration
        ws.processing[ts] = cost
        ws.occupancy += cost
        if ws in self.open_slots and task_slots(ws, self.root_saturation) <= 0:
            self.open_slots.discard(ws)
        if deps:
            who_has = {d.key: [w.address for w in d.who_has] for d in deps}
            nbytes = {d.key: d.nbytes for d in deps}
        else:
            who_has = nbytes = {}
        self._to_worker(
            ws.address,
            {
                "op": "compute-task",
                "key": ts.key,
                "run_spec": ts.run_spec,
                "priority": ts.priority,
                "who_has": who_has,
                "nbytes": nbytes,
                "resource_restrictions": ts.resource_restrictions,
                "duration": duration,
            },
        )
        return {}

    def _exit_processing(self, ts: TaskState, recs: dict) -> WorkerState:
        """Take ``ts`` off its worker; hand the freed slot to the next queued task."""
        ws = ts.processing_on
        ts.processing_on = None
        cost = ws.processing.pop(ts, 0.0)
        ws.occupancy = max(ws.occupancy - cost, 0.0) if ws.processing else 0.0
        ws.long_running.discard(ts)
        if ws.status == "running" and ws.address in self.running:
            if task_slots(ws, self.root_saturation) > 0:
                self.open_slots.add(ws)
                if self.queue:
                    nxt = self.queue.pop()
                    recs[nxt.key] = "processing"
        return ws

    def _add_replica(self, ts: TaskState, ws: WorkerState) -> None:
        if ws not in ts.who_has:
            ts.who_has.add(ws)
            ws.has_what[ts] = None
            ws.nbytes += max(ts.nbytes, 0)

    def _remove_replica(self, ts: TaskState, ws: WorkerState) -> None:
        if ws in ts.who_has:
            ts.who_has.discard(ws)
            del ws.has_what[ts]
            ws.nbytes -= max(ts.nbytes, 0)

    def _add_to_memory(self, ts: TaskState, ws: WorkerState, nbytes: int | None, type: str | None) -> dict:
        recs: dict = {}
        if nbytes is not None and nbytes >= 0:
            ts.nbytes = nbytes
        if type is not None:
            ts.type = type
        ts.state = "memory"
        self._add_replica(ts, ws)
        for dts in ts.dependents:
            waiting_on = dts.waiting_on
            if ts in waiting_on:
                waiting_on.discard(ts)
                if not waiting_on and dts.state == "waiting":
                    recs[dts.key] = "processing"
        for dts in ts.dependencies:
            waiters = dts.waiters
            waiters.discard(ts)
            if not waiters and not dts.who_wants and dts.state == "memory":
                recs[dts.key] = "released"
        if ts.who_wants:
            self._release_fire_and_forget(ts)
        if ts.who_wants:
            msg = {"op": "key-in-memory", "key": ts.key, "type": ts.type}
            for cs in ts.who_wants:
                self._to_client(cs.client_key, msg)
        elif not ts.waiters:
            recs[ts.key] = "released"  # a dead end nobody asked for
        return recs

    def _propagate_released(self, ts: TaskState, recs: dict) -> dict:
        """After ``ts`` became released: run it again if still needed, else let its
        inputs go, and forget it when nothing refers to it any more."""
        ts.waiting_on.clear()
        if ts.who_wants or ts.waiters:
            recs[ts.key] = "waiting"
            return recs
        for dts in ts.dependencies:
            waiters = dts.waiters
            waiters.discard(ts)
            if not waiters and not dts.who_wants and dts.state in _ACTIVE:
                recs[dts.key] = "released"
        if not ts.dependents:
            recs[ts.key] = "forgotten"
        return recs

    def _set_erred(self, ts: TaskState, blame: TaskState, recs: dict) -> dict:
        ts.state = "erred"
        ts.exception_blame = blame
        ts.waiting_on.clear()
        ts.waiters.clear()
        for dts in ts.dependencies:
            waiters = dts.waiters
            waiters.discard(ts)
            if not waiters and not dts.who_wants and dts.state in _ACTIVE:
                recs[dts.key] = "released"
        for dts in ts.dependents:
            if dts.state in ("waiting", "queued", "no-worker"):
                recs[dts.key] = "erred"
        if ts.who_wants:
            self._release_fire_and_forget(ts)
        if ts.who_wants:
            self._report_erred(ts)
        elif not ts.dependents:
            recs[ts.key] = "forgotten"  # nobody will ever ask for this error
        return recs

    def _forget(self, ts: TaskState) -> dict:
        recs: dict = {}
        ts.state = "forgotten"
        for dts in ts.dependencies:
            dts.dependents.discard(ts)
            dts.waiters.discard(ts)
            if not dts.dependents and not dts.who_wants:
                recs[dts.key] = "forgotten"
        ts.dependencies.clear()
        del self.tasks[ts.key]
        ts.prefix.count -= 1
        return recs

    # -- arrows ------------------------------------------------------------------------
    def _released_waiting(self, ts: TaskState) -> dict:
        if ts.run_spec is None:
            return self._lost(ts, {})
        recs: dict = {}
        for dts in ts.dependencies:
            if dts.exception_blame is not None:
                return self._set_erred(ts, dts.exception_blame, recs)
        ts.state = "waiting"
        waiting_on = ts.waiting_on
        for dts in ts.dependencies:
            if dts.state != "memory":
                waiting_on.add(dts)
                if dts.state == "released":
                    recs[dts.key] = "waiting"
            dts.waiters.add(ts)
        if not waiting_on:
            recs[ts.key] = "processing"
        return recs

    def _released_forgotten(self, ts: TaskState) -> dict:
        if ts.who_wants or ts.dependents:
            return {}
        return self._forget(ts)

    def _released_erred(self, ts: TaskState) -> dict:
        for dts in ts.dependencies:
            if dts.exception_blame is not None:
                return self._set_erred(ts, dts.exception_blame, {})
        return {}

    def _released_memory(self, ts: TaskState, worker: WorkerState, nbytes: int | None = None,
                         type: str | None = None, **_: Any) -> dict:
        return self._add_to_memory(ts, worker, nbytes, type)

    def _waiting_processing(self, ts: TaskState) -> dict:
        if ts.waiting_on:
            return {}
        if self.queuing and is_rootish(ts, self.total_nthreads):
            ws = pick_rootish_worker(self.open_slots)
            if ws is None:
                ts.state = "queued"
                self.queue.push(ts)
                return {}
            return self._start_processing(ts, ws)
        ws = decide_worker(ts, self.running, self.bandwidth)
        if ws is None:
            ts.state = "no-worker"
            self.unrunnable.add(ts)
            return {}
        return self._start_processing(ts, ws)

    def _waiting_released(self, ts: TaskState) -> dict:
        if ts.who_wants or ts.waiters:
            return {}
        for dts in ts.dependencies:
            if dts.exception_blame is not None:
                # Its input failed: it is erred, not merely unneeded (a pending
                # "erred" recommendation can be overtaken by this "released" one).
                return self._set_erred(ts, dts.exception_blame, {})
        ts.state = "released"
        return self._propagate_released(ts, {})

    def _waiting_erred(self, ts: TaskState) -> dict:
        return self._released_erred(ts)

    def _queued_processing(self, ts: TaskState) -> dict:
        ws = pick_rootish_worker(self.open_slots)
        if ws is None:
            if ts not in self.queue:
                self.queue.push(ts)
            return {}
        self.queue.discard(ts)
        return self._start_processing(ts, ws)

    def _queued_released(self, ts: TaskState) -> dict:
        if ts.who_wants or ts.waiters:
            return {}
        self.queue.discard(ts)
        ts.state = "released"
        return self._propagate_released(ts, {})

    def _queued_erred(self, ts: TaskState) -> dict:
        self.queue.discard(ts)
        recs = self._released_erred(ts)
        if ts.state == "queued":
            self.queue.push(ts)
        return recs

    def _queued_waiting(self, ts: TaskState) -> dict:
        self.queue.discard(ts)
        return self._back_to_waiting(ts)

    def _no_worker_waiting(self, ts: TaskState) -> dict:
        self.unrunnable.discard(ts)
        return self._back_to_waiting(ts)

    def _back_to_waiting(self, ts: TaskState) -> dict:
        ts.state = "waiting"
        recs: dict = {}
        for dts in ts.dependencies:
            if dts.state != "memory":
                ts.waiting_on.add(dts)
                if dts.state == "released":
                    recs[dts.key] = "waiting"
        if not ts.waiting_on:
            recs[ts.key] = "processing"
        return recs

    def _no_worker_processing(self, ts: TaskState) -> dict:
        ws = decide_worker(ts, self.running, self.bandwidth)
        if ws is None:
            return {}
        self.unrunnable.discard(ts)
        return self._start_processing(ts, ws)

    def _no_worker_released(self, ts: TaskState) -> dict:
        if ts.who_wants or ts.waiters:
            return {}
        self.unrunnable.discard(ts)
        ts.state = "released"
        return self._propagate_released(ts, {})

    def _no_worker_erred(self, ts: TaskState) -> dict:
        recs = self._released_erred(ts)
        if ts.state == "erred":
            self.unrunnable.discard(ts)
        return recs

    def _processing_memory(self, ts: TaskState, worker: WorkerState, nbytes: int | None = None,
                           type: str | None = None, startstops: Any = None, **_: Any) -> dict:
        recs: dict = {}
        ws = self._exit_processing(ts, recs)
        if ws is not worker and ws.address in self.workers:
            self._free_on(ws.address, ts.key)  # another worker got there first
        if startstops:
            for action, start, stop in startstops:
                if action == "compute":
                    ts.prefix.add_duration(stop - start)
                    if not ts.dependencies and self.queuing:
                        self._learn_root_duration(stop - start, recs)
        if ts.computed:
            self.loss_counts["recomputed"] += 1
        ts.computed = True
        recs.update(self._add_to_memory(ts, worker, nbytes, type))
        return recs

    def _learn_root_duration(self, seconds: float, recs: dict) -> None:
        """Widen each worker's root-task window when root tasks are much shorter than
        a round trip to the worker.

        With ``nthreads + 1`` tasks on a worker and tasks of 50 us, the worker idles
        for most of each scheduler round trip (about ``root_latency``): throughput is
        then bounded by latency, not by work. The window grows (by powers of two, at
        most ``max_boost`` times) just enough to cover a round trip; tasks that short
        cannot build large results, so the memory bound queuing exists for holds.
        """
        avg = self.root_duration
        avg = seconds if avg is None else 0.8 * avg + 0.2 * seconds
        self.root_duration = avg
        boost = 1.0
        limit = self.root_latency
        while boost < self.max_boost and avg * boost < limit:
            boost *= 2
        boost = min(boost, self.max_boost)
        if boost != self.root_boost:
            self.root_boost = boost
            self.root_saturation = self.saturation * boost
            queue = self.queue
            for ws in self.running.values():
                self._update_slots(ws)
                if ws in self.open_slots:
                    n = task_slots(ws, self.root_saturation)
                    while n > 0 and queue:
                        recs[queue.pop().key] = "processing"
                        n -= 1

    def _processing_erred(self, ts: TaskState, worker: WorkerState | None = None,
                          exception: Any = None, traceback: Any = None, exception_text: str = "",
                          traceback_text: str = "", **_: Any) -> dict:
        recs: dict = {}
        ws = self._exit_processing(ts, recs)
        ts.erred_on.add((worker or ws).address)
        ts.exception = exception
        ts.traceback = traceback
        ts.exception_text = exception_text
        ts.traceback_text = traceback_text
        return self._set_erred(ts, ts, recs)

    def _processing_released(self, ts: TaskState) -> dict:
        recs: dict = {}
        ws = self._exit_processing(ts, recs)
        if ws.address in self.workers:
            self._free_on(ws.address, ts.key)  # the worker cancels it or drops its result
        ts.state = "released"
        return self._propagate_released(ts, recs)

    def _memory_released(self, ts: TaskState) -> dict:
        if ts.who_has and (ts.who_wants or ts.waiters):
            return {}  # still needed and still held: a stale recommendation
        for ws in list(ts.who_has):
            self._remove_replica(ts, ws)
            self._free_on(ws.address, ts.key)
        ts.state = "released"
        recs: dict = {}
        for dts in ts.dependents:
            state = dts.state
            if state == "waiting":
                dts.waiting_on.add(ts)
            elif state == "processing":
                recs[dts.key] = "released"
            elif state in ("queued", "no-worker"):
                recs[dts.key] = "waiting"  # ready no more: an input is gone
        if ts.run_spec is None and (ts.who_wants or ts.waiters):
            return self._lost(ts, recs)
        return self._propagate_released(ts, recs)

    def _lost(self, ts: TaskState, recs: dict) -> dict:
        """Data that cannot be recomputed (it was scattered) is gone: the task and its
        dependents err, and its clients hear ``lost-data``."""
        exc = LostDataError(
            f"the data of {ts.key!r} was scattered to workers that are gone and cannot be "
            "recomputed; scatter it again"
        )
        ts.exception, ts.traceback = self.make_error(exc)
        ts.exception_text = str(exc)
        ts.traceback_text = ""
        for cs in ts.who_wants:
            self._to_client(cs.client_key, {"op": "lost-data", "key": ts.key})
        return self._set_erred(ts, ts, recs)

    def _erred_released(self, ts: TaskState) -> dict:
        for address in ts.erred_on:
            if address in self.workers:
                self._free_on(address, ts.key)
        ts.erred_on.clear()
        ts.suspicious = 0  # a retried task gets its allowance of worker deaths again
        ts.deaths = None
        ts.exception = ts.traceback = ts.exception_blame = None
        ts.exception_text = ts.traceback_text = ""
        ts.state = "released"
        recs: dict = {}
        for dts in ts.dependents:
            if dts.state == "erred":
                recs[dts.key] = "waiting"
        return self._propagate_released(ts, recs)

    def _erred_forgotten(self, ts: TaskState) -> dict:
        if ts.who_wants or ts.dependents:
            return {}
        for address in ts.erred_on:
            if address in self.workers:
                self._free_on(address, ts.key)
        return self._forget(ts)

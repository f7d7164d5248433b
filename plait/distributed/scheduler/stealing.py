"""Work stealing: move tasks a busy worker has not started to a worker with idle threads.

Queuing already keeps root tasks at the scheduler until a worker has room, so a new
worker picks those up as soon as it registers. Stealing covers what queuing cannot:
tasks already sent to a worker (non-root tasks placed by data locality, or everything
when queuing is off) while another worker sits idle.

The handshake keeps a task from running twice: the scheduler sends ``steal-request``
to the victim and marks the task *in flight*; the victim drops the task if it has not
started it and answers ``steal-response`` with the state the task was in. Only a task
the victim had not started (``MOVABLE`` states) moves to the thief; one that is
executing or done stays where it is. A task reported finished in the meantime is simply
finished: the response then finds it no longer processing on the victim and does
nothing.

What to steal: victims are workers with more tasks than threads (the excess waits in
the worker's own queue); from each we take the tasks it would run last (largest
priority tuple), as long as fetching their inputs to the thief costs less than about
twice their expected run time, and never tasks known to take under ``min_duration``
(5 ms): moving one costs a round trip, more than running it.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

from ...graph.spec import Key
from .model import TaskState, WorkerState
from .placement import transfer_bytes, worker_allowed

if TYPE_CHECKING:  # pragma: no cover
    from .state import SchedulerState

__all__ = ["MOVABLE", "WorkStealing"]

#: Worker-side task states in which a task has not started running and may move (the
#: worker drops a task it answers with one of these).
MOVABLE = frozenset(("waiting", "ready", "constrained"))


def _priority(ts: TaskState) -> tuple:
    return ts.priority


class WorkStealing:
    """The stealing policy of one :class:`SchedulerState` (by composition)."""

    def __init__(self, state: SchedulerState, cost_factor: float = 2.0,
                 min_transfer: float = 0.005, min_duration: float = 0.005):
        self.state = state
        self.cost_factor = cost_factor
        self.min_transfer = min_transfer
        self.min_duration = min_duration
        self.in_flight: dict[TaskState, tuple[WorkerState, WorkerState]] = {}
        self.count = 0  # tasks moved so far

    def remove_worker(self, ws: WorkerState) -> None:
        for ts, (victim, thief) in list(self.in_flight.items()):
            if victim is ws or thief is ws:
                del self.in_flight[ts]

    def _worth_it(self, ts: TaskState, thief: WorkerState) -> bool:
        if ts.has_restrictions and not ts.loose_restrictions and not worker_allowed(ts, thief):
            return False
        st = self.state
        duration = ts.prefix.duration_average
        if duration is None:
            duration = st.unknown_duration
        elif duration < self.min_duration:
            return False  # the steal's own round trip costs more than running it
        if not ts.dependencies:
            return True
        transfer = transfer_bytes(ts, thief) / st.bandwidth
        return transfer <= max(self.cost_factor * duration, self.min_transfer)

    def balance(self) -> int:
        """Send ``steal-request`` messages; returns how many were sent."""
        st = self.state
        if len(st.workers) < 2:
            return 0
        in_flight = self.in_flight
        incoming: dict = {}
        outgoing: dict = {}
        for victim, thief in in_flight.values():
            incoming[thief] = incoming.get(thief, 0) + 1
            outgoing[victim] = outgoing.get(victim, 0) + 1
        thieves = []
        for ws in st.running.values():
            free = ws.nthreads - (len(ws.processing) - len(ws.long_running)) - incoming.get(ws, 0)
            if free > 0:
                thieves.append([ws, free])
        if not thieves:
            return 0
        victims = []
        for ws in st.workers.values():
            excess = (len(ws.processing) - len(ws.long_running) - ws.nthreads
                      - outgoing.get(ws, 0))
            if excess > 0:
                victims.append((ws.occupancy / ws.nthreads, ws.address, ws, excess))
        if not victims:
            return 0
        victims.sort(reverse=True)
        sent = 0
        for _, _, victim, excess in victims:
            candidates = heapq.nlargest(
                excess,
                (ts for ts in victim.processing
                 if ts not in in_flight and ts not in victim.long_running),
                key=_priority,
            )
            for ts in candidates:
                thieves = [t for t in thieves if t[1] > 0]
                if not thieves:
                    return sent
                # The thief with the most free threads that the task may go to.
                thieves.sort(key=lambda t: (-t[1], t[0].occupancy, t[0].address))
                for entry in thieves:
                    thief = entry[0]
                    if thief is not victim and self._worth_it(ts, thief):
                        in_flight[ts] = (victim, thief)
                        entry[1] -= 1
                        st._to_worker(victim.address, {"op": "steal-request", "key": ts.key})
                        sent += 1
                        break
        return sent

    def response(self, key: Key, worker: str, state: Any, stimulus_id: str) -> dict:
        """Handle the victim's ``steal-response``; returns recommendations."""
        st = self.state
        ts = st.tasks.get(key)
        entry = self.in_flight.pop(ts, None) if ts is not None else None
        if entry is None:
            return {}
        victim, thief = entry
        if victim.address != worker or ts.state != "processing" or ts.processing_on is not victim:
            return {}
        if state not in MOVABLE:
            return {}  # already running or done where it is
        recs: dict = {}
        st._exit_processing(ts, recs)
        self.count += 1
        st.log_event("stealing", {"key": key, "victim": victim.address, "thief": thief.address})
        if thief.status == "running" and thief.address in st.running:
            st._start_processing(ts, thief)
            return recs
        # The thief went away meanwhile: place the task afresh.
        ts.state = "released"
        st._record(ts, "processing", stimulus_id)
        recs[ts.key] = "waiting"
        return recs

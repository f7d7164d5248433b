"""Who is connected: clients (and the keys they hold) and workers.

A mixin of :class:`.state.SchedulerState`: ``add_client`` / ``remove_client``,
reference counting with ``client_desires_keys`` / ``client_releases_keys``,
``add_worker`` / ``remove_worker`` / ``set_worker_status`` and heartbeats. Removing a
worker sends its processing tasks back to be placed again and recomputes data it alone
held; a task that was running on too many workers that died errs with ``KilledWorker``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from ...graph.spec import Key
from .errors import killed_worker_error
from .model import ClientState, TaskState, WorkerState
from .placement import task_slots, worker_allowed

__all__ = ["Membership"]

Messages = tuple


class Membership:
    """Mixin: clients and workers joining and leaving."""

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
                      safe: bool = False, reason: str | None = None,
                      detail: str = "") -> Messages:
        """A worker left or died: its tasks go back to waiting; data only it held is
        computed again if still needed (scattered data is reported lost).

        Unless ``safe`` (a clean departure), each task it was running counts the death
        against itself (``suspicious``); a task past ``allowed_failures`` deaths errs
        with :class:`~.errors.KilledWorker` naming every worker that died under it
        and why: ``reason`` (``"memory"``, ``"signal"``, ``"exit"``, ``"heartbeat"``,
        ``"connection"``) and ``detail`` (text from the nanny or the scheduler).
        """
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
        reason = reason or ("closed" if safe else "connection")
        recs: dict = {}
        counts = self.loss_counts
        if not safe:
            counts["workers_lost"] += 1
        killed = []
        processing = list(ws.processing)
        for ts in processing:
            if safe:
                recs.update(self._transition(ts, "released", stimulus_id))
                continue
            ts.suspicious += 1
            if ts.deaths is None:
                ts.deaths = []
            ts.deaths.append((address, reason, detail))
            if ts.suspicious > self.allowed_failures:
                exc = killed_worker_error(ts.key, ts.deaths, self.allowed_failures)
                error, tb = self.make_error(exc)
                recs.update(self._transition(
                    ts, "erred", stimulus_id, worker=ws, exception=error, traceback=tb,
                    exception_text=f"KilledWorker: {exc}", traceback_text=""))
                counts["killed_worker"] += 1
                killed.append(ts.key)
            else:
                counts["rescheduled"] += 1
                recs.update(self._transition(ts, "released", stimulus_id))
        lost = 0
        for ts in list(ws.has_what):
            self._remove_replica(ts, ws)
            if not ts.who_has:
                recs[ts.key] = "released"
                lost += 1
        self.log_event("worker-removed", {
            "worker": address, "reason": reason, "detail": detail, "safe": safe,
            "processing": len(processing), "lost_keys": lost, "killed_worker": killed,
            "stimulus_id": stimulus_id,
        })
        self._plugins_call("remove_worker", self.owner, worker=address, stimulus_id=stimulus_id)
        self.transitions(recs, stimulus_id)
        return self._flush()

    def restart(self, stimulus_id: str = "restart") -> Messages:
        """Forget every task (``Client.restart``): each client hears ``cancelled-keys``
        for the keys it held, each worker ``free-keys`` for what it runs or holds.
        Workers and clients stay registered."""
        for cs in self.clients.values():
            if cs.wants_what:
                self._to_client(cs.client_key, {
                    "op": "cancelled-keys", "keys": [ts.key for ts in cs.wants_what]})
                cs.wants_what = set()
        for ws in self.workers.values():
            keys = [ts.key for ts in ws.processing] + [ts.key for ts in ws.has_what]
            if keys:
                self._to_worker(ws.address, {"op": "free-keys", "keys": keys})
            ws.processing.clear()
            ws.long_running.clear()
            ws.has_what.clear()
            ws.nbytes = 0
            ws.occupancy = 0.0
            self._update_slots(ws)
        for ts in self.tasks.values():
            start = ts.state
            ts.state = "forgotten"
            ts.who_has.clear()
            ts.processing_on = None
            ts.who_wants.clear()
            self._record(ts, start, stimulus_id)
        self.tasks.clear()
        for prefix in self.prefixes.values():
            prefix.count = 0
        self.queue = type(self.queue)()
        self.unrunnable.clear()
        self.stealing.in_flight.clear()
        self.log_event("restart", {"stimulus_id": stimulus_id})
        for plugin in list(self.plugins.values()):
            if hasattr(plugin, "restart"):  # Dask's hook; plait's base class has none
                self._plugins_call_one(plugin, "restart", self.owner)
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

    def set_worker_status_from_worker(self, status: str, worker: str,
                                      stimulus_id: str = "worker-status-change",
                                      **_: Any) -> Messages:
        """A worker paused (memory) or resumed: ``worker-status-change`` on its stream."""
        return self.set_worker_status(worker, status, stimulus_id)

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

"""Stimuli from workers' streams and the client operations that move data or tasks.

A mixin of :class:`.state.SchedulerState`: each public method is one event, applies its
transitions and returns ``(client_msgs, worker_msgs)``. Reports that no longer match
the scheduler's view (a task that finished on a worker it was taken from, a worker the
scheduler already removed) are answered so that nothing leaks: the worker is told to
free the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ...graph.spec import Key
from .model import TaskState, WorkerState

__all__ = ["Reports"]

_ACTIVE = frozenset(("waiting", "queued", "no-worker", "processing", "memory"))


class Reports:
    """Mixin: stimuli from workers (task results, replicas, stealing) and data moves."""

    def task_finished(self, key: Key, worker: str, nbytes: int | None = None,
                      type: str | None = None, startstops: Any = None,
                      stimulus_id: str = "task-finished", thread: Any = None, **_: Any):
        """A worker computed ``key`` and holds the result (``nbytes`` bytes)."""
        ws = self.workers.get(worker)
        if ws is None:
            return self._flush()  # a late report from a worker already removed
        ts = self.tasks.get(key)
        if ts is None:
            self._free_on(worker, key)
            return self._flush()
        state = ts.state
        if state == "processing":
            recs = self._transition(ts, "memory", stimulus_id, worker=ws, nbytes=nbytes,
                                    type=type, startstops=startstops, thread=thread)
            if recs:
                self.transitions(recs, stimulus_id)
        elif state == "memory":
            self._add_replica(ts, ws)
        else:
            self._free_on(worker, key)
        return self._flush()

    def task_erred(self, key: Key, worker: str, exception: Any = None, traceback: Any = None,
                   exception_text: str = "", traceback_text: str = "", startstops: Any = None,
                   stimulus_id: str = "task-erred", thread: Any = None, **_: Any):
        """A task raised. With retries left it runs again; otherwise it and every
        dependent waiting on it err, and clients holding any of them are told."""
        ws = self.workers.get(worker)
        ts = self.tasks.get(key)
        if ws is None or ts is None or ts.state != "processing" or ts.processing_on is not ws:
            return self._flush()
        if ts.retries > 0:
            ts.retries -= 1
            recs = self._transition(ts, "released", stimulus_id)
        else:
            recs = self._transition(ts, "erred", stimulus_id, worker=ws, exception=exception,
                                    traceback=traceback, exception_text=exception_text,
                                    traceback_text=traceback_text, startstops=startstops,
                                    thread=thread)
        self.transitions(recs, stimulus_id)
        return self._flush()

    def missing_data(self, key: Key, errant_worker: str, worker: str | None = None,
                     stimulus_id: str = "missing-data", **_: Any):
        """A worker could not fetch ``key`` from ``errant_worker``: that copy is gone."""
        ts = self.tasks.get(key)
        ws = self.workers.get(errant_worker)
        if ts is not None and ws is not None and ws in ts.who_has:
            self._remove_replica(ts, ws)
            # If the copy is there after all (a passing network failure), it must not
            # linger unaccounted for on that worker.
            self._free_on(errant_worker, key)
            if ts.state == "memory" and not ts.who_has:
                self.transitions({key: "released"}, stimulus_id)
        return self._flush()

    def add_keys(self, keys: Iterable[Key], worker: str, stimulus_id: str = "add-keys", **_: Any):
        """``worker`` now holds copies of ``keys`` (replicas it fetched)."""
        ws = self.workers.get(worker)
        if ws is not None:
            for key in keys:
                ts = self.tasks.get(key)
                if ts is not None and ts.state == "memory":
                    self._add_replica(ts, ws)
                else:
                    self._free_on(worker, key)
        return self._flush()

    def release_worker_data(self, key: Key, worker: str,
                            stimulus_id: str = "release-worker-data", **_: Any):
        """``worker`` dropped its copy of ``key``."""
        ts = self.tasks.get(key)
        ws = self.workers.get(worker)
        if ts is not None and ws is not None and ws in ts.who_has:
            self._remove_replica(ts, ws)
            if ts.state == "memory" and not ts.who_has:
                self.transitions({key: "released"}, stimulus_id)
        return self._flush()

    def long_running(self, key: Key, worker: str, stimulus_id: str = "long-running", **_: Any):
        """The task called ``secede()``: it no longer occupies a thread."""
        ts = self.tasks.get(key)
        ws = self.workers.get(worker)
        if ts is None or ws is None or ts.processing_on is not ws or ts in ws.long_running:
            return self._flush()
        ws.long_running.add(ts)
        ws.occupancy = max(ws.occupancy - ws.processing[ts], 0.0)
        ws.processing[ts] = 0.0
        recs: dict = {}
        self._update_slots(ws)
        if ws in self.open_slots and self.queue:
            recs[self.queue.pop().key] = "processing"
        self.transitions(recs, stimulus_id)
        return self._flush()

    def reschedule(self, key: Key, worker: str, stimulus_id: str = "reschedule", **_: Any):
        """The task raised ``Reschedule``: place it again."""
        ts = self.tasks.get(key)
        ws = self.workers.get(worker)
        if ts is not None and ts.state == "processing" and ts.processing_on is ws:
            recs = self._transition(ts, "released", stimulus_id)
            self.transitions(recs, stimulus_id)
        return self._flush()

    # -- stealing ------------------------------------------------------------------------
    def balance(self):
        """Ask overloaded workers for tasks they have not started (``steal-request``)."""
        self.stealing.balance()
        return self._flush()

    def steal_response(self, key: Key, worker: str, state: str | None = None,
                       stimulus_id: str = "steal-response", **_: Any):
        """The victim's answer to ``steal-request``: move the task if it had not started."""
        recs = self.stealing.response(key, worker, state, stimulus_id)
        self.transitions(recs, stimulus_id)
        return self._flush()

    # -- client operations ---------------------------------------------------------------
    def cancel(self, keys: Iterable[Key], client: str, force: bool = False,
               stimulus_id: str = "cancel", **_: Any):
        """Drop ``client``'s interest in ``keys`` and in their dependents it holds (every
        client's interest with ``force``); the clients concerned hear ``cancelled-keys``.
        Tasks nobody else needs stop (``free-keys`` to their workers) and are forgotten.
        """
        cs = self.clients.get(client)
        if cs is None:
            return self._flush()
        seen: set = set()
        stack = [self.tasks[k] for k in keys if k in self.tasks]
        told: dict = {}
        while stack:
            ts = stack.pop()
            if ts in seen:
                continue
            seen.add(ts)
            stack.extend(ts.dependents)
            holders = list(ts.who_wants) if force else ([cs] if cs in ts.who_wants else [])
            for c in holders:
                told.setdefault(c, []).append(ts)
        for c, tss in told.items():
            self._to_client(c.client_key, {"op": "cancelled-keys", "keys": [t.key for t in tss]})
            self._release_for(c, tss, stimulus_id)
        return self._flush()

    def retry(self, keys: Iterable[Key], client: str | None = None,
              stimulus_id: str = "retry", **_: Any):
        """Run erred ``keys`` again from the tasks that actually failed.

        Every erred task downstream of those failures is released first and only then
        are they put back to waiting: a dependent reset before its erred input would
        err again on the input's stale error (and tell its clients so).
        """
        stack = []
        for key in keys:
            ts = self.tasks.get(key)
            if ts is not None and ts.state == "erred" and ts.exception_blame is not None:
                stack.append(ts.exception_blame)
        closure: list = []
        seen: set = set()
        while stack:
            ts = stack.pop()
            if ts in seen or ts.state != "erred":
                continue
            seen.add(ts)
            closure.append(ts)
            stack.extend(ts.dependents)
        recs: dict = {}
        for ts in closure:
            if ts.state == "erred":
                recs.update(self._transition(ts, "released", stimulus_id))
        self.transitions(recs, stimulus_id)
        return self._flush()

    def update_data(self, who_has: Mapping[Key, list], nbytes: Mapping[Key, int] | None = None,
                    client: str | None = None, stimulus_id: str = "update-data", **_: Any):
        """Data was put on workers directly (``scatter``): record where it is."""
        nbytes = nbytes or {}
        recs: dict = {}
        for key, addresses in who_has.items():
            wss = [self.workers[a] for a in addresses if a in self.workers]
            if not wss:
                raise ValueError(
                    f"update-data for {key!r} names workers {list(addresses)!r}, none of "
                    "which is registered with this scheduler"
                )
            ts = self.tasks.get(key)
            if ts is None:
                ts = self._new_task(key, None)
            if ts.state == "memory":
                for ws in wss:
                    self._add_replica(ts, ws)
            else:
                recs.update(self._force_memory(ts, wss[0], nbytes.get(key), stimulus_id))
                for ws in wss[1:]:
                    self._add_replica(ts, ws)
        if client is not None:
            cs = self._client(client)
            for key in who_has:
                self._desire(self.tasks[key], cs, recs)
        self.transitions(recs, stimulus_id)
        return self._flush()

    def _force_memory(self, ts: TaskState, ws: WorkerState, nbytes: int | None,
                      stimulus_id: str) -> dict:
        """Put ``ts`` in memory on ``ws`` whatever it was doing (its value arrived from
        outside: scatter, or a worker that registered holding it)."""
        start = ts.state
        if start == "processing":
            return self._transition(ts, "memory", stimulus_id, worker=ws, nbytes=nbytes)
        recs: dict = {}
        if start in ("waiting", "queued", "no-worker"):
            self.queue.discard(ts)
            self.unrunnable.discard(ts)
            ts.waiting_on.clear()
            for dts in ts.dependencies:
                dts.waiters.discard(ts)
                if not dts.waiters and not dts.who_wants and dts.state in _ACTIVE:
                    recs[dts.key] = "released"
        elif start == "erred":
            for address in ts.erred_on:
                if address in self.workers:
                    self._free_on(address, ts.key)
            ts.erred_on.clear()
            ts.exception = ts.traceback = ts.exception_blame = None
            ts.exception_text = ts.traceback_text = ""
        recs.update(self._add_to_memory(ts, ws, nbytes, None))
        self._record(ts, start, stimulus_id)
        return recs

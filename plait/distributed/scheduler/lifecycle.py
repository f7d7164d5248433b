"""Workers coming and going on purpose or by accident: nannies, deaths, restart, retire.

A mixin of :class:`.server.Scheduler`: removing workers whose stream closed (waiting a
moment for their nanny's reason) or whose heartbeats stopped (``worker-ttl``), and the
rpc handlers

- ``register-nanny`` (a nanny says which worker it watches, so ``restart`` can reach it
  and a death can wait for its report),
- ``worker-died`` (the nanny's report of why its worker died: ``memory``, ``signal`` or
  ``exit``, with a detail text; :class:`~.errors.KilledWorker` quotes it),
- ``restart`` (forget every task, have every nanny restart its worker, wait for them),
- ``retire_workers`` (copy the data only the leaving workers hold to the others, then
  close them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

from ..comm import CommClosedError
from ..core import error_message

__all__ = ["WorkerLifecycle"]

logger = logging.getLogger("plait.distributed.scheduler")

#: Death reports kept for workers the scheduler has not removed yet (a bound, in case a
#: nanny reports workers the scheduler never knew).
MAX_DEATH_REPORTS = 1000


class WorkerLifecycle:
    """Mixin: nanny registration, death reports, restart and retirement."""

    # -- nannies -------------------------------------------------------------------------
    def register_nanny(self, comm: Any = None, worker: str | None = None,
                       nanny: str | None = None, **_: Any) -> dict:
        """The nanny at ``nanny`` watches (and restarts) the worker at ``worker``."""
        if not worker or not nanny:
            return error_message(ValueError("register-nanny needs worker= and nanny="))
        ws = self.state.workers.get(worker)
        if ws is not None:  # a worker already gone is not remembered
            ws.nanny = nanny
        return {"status": "OK", "known": ws is not None}

    def worker_died(self, comm: Any = None, address: str | None = None,
                    reason: str = "exit", detail: str = "", **_: Any) -> dict:
        """The nanny saw its worker die; remove the worker with that reason now (or
        hand the reason to the removal already waiting for it)."""
        if address is None or address in self.expected_exits:
            return {"status": "OK"}
        logger.warning("worker %s died (%s: %s)", address, reason, detail)
        if len(self.death_reports) >= MAX_DEATH_REPORTS:
            self.death_reports.pop(next(iter(self.death_reports)))
        self.death_reports[address] = (str(reason), str(detail))
        event = self._death_events.get(address)
        if event is not None:  # its stream closed first: _worker_gone waits for this
            event.set()
            return {"status": "OK"}
        if address in self.state.workers:
            bs = self.worker_streams.pop(address, None)
            if bs is not None:
                bs.abort()
            self.death_reports.pop(address, None)
            self.send_all(self.state.remove_worker(address, stimulus_id="worker-died",
                                                   reason=str(reason), detail=str(detail)))
        return {"status": "OK"}

    # -- deaths ----------------------------------------------------------------------------
    async def _worker_gone(self, address: str) -> None:
        """The worker's stream closed without ``unregister``: remove it, with the
        reason its nanny reports when it has one (waiting a moment for that report, so
        that a ``KilledWorker`` can say why the worker died)."""
        ws = self.state.workers.get(address)
        if ws is None:
            return
        if address in self.expected_exits:
            self.expected_exits.discard(address)
            self.send_all(self.state.remove_worker(address, stimulus_id="worker-closed",
                                                   safe=True))
            return
        if ws.nanny is not None and address not in self.death_reports:
            # No new tasks while we wait; what it was running is placed again below.
            self.send_all(self.state.set_worker_status(address, "closing"))
            event = self._death_events.setdefault(address, asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), self.death_report_timeout)
            except TimeoutError:
                pass
            finally:
                self._death_events.pop(address, None)
        reason, detail = self.death_reports.pop(address, (
            "connection",
            "its connection to the scheduler closed (process gone or network lost)"))
        self.send_all(self.state.remove_worker(address, stimulus_id="worker-stream-closed",
                                               reason=reason, detail=detail))

    async def _ttl_loop(self) -> None:
        ttl = self.worker_ttl
        while True:
            await asyncio.sleep(min(ttl / 4, 10.0))
            now = time.time()
            for address in self.state.stale_workers(now, ttl):
                silent = now - self.state.workers[address].last_seen
                logger.warning("removing worker %s: no heartbeat for %.1f s (worker-ttl "
                               "is %s s)", address, silent, ttl)
                bs = self.worker_streams.pop(address, None)
                if bs is not None:
                    bs.abort()
                self.send_all(self.state.remove_worker(
                    address, stimulus_id="worker-ttl", reason="heartbeat",
                    detail=f"no heartbeat for {silent:.1f} s (worker-ttl {ttl:g} s)"))

    # -- restart -------------------------------------------------------------------------
    async def restart(self, comm: Any = None, timeout: float | None = None,
                      wait_for_workers: bool = True, **_: Any) -> dict:
        """Forget every task (clients hear ``cancelled-keys``), have each nanny restart
        its worker, and (``wait_for_workers``) wait until as many workers as before are
        registered, all within ``timeout`` seconds (60 by default). Workers without a
        nanny stay, their data freed."""
        timeout = 60.0 if timeout is None else float(timeout)
        state = self.state
        deadline = time.monotonic() + timeout
        n_before = len(state.workers)
        nannies = {a: ws.nanny for a, ws in state.workers.items() if ws.nanny is not None}
        self.expected_exits.update(nannies)
        self.send_all(state.restart(stimulus_id=f"restart-{time.time()}"))

        async def one(nanny: str) -> Any:
            return await self.rpc.send_recv(nanny, "restart", timeout=timeout)

        results = await asyncio.gather(
            *(asyncio.wait_for(one(n), timeout) for n in nannies.values()),
            return_exceptions=True)
        failed = {a: r for a, r in zip(nannies, results) if isinstance(r, BaseException)}
        if wait_for_workers:
            while time.monotonic() < deadline and (
                    len(state.workers) < n_before or any(a in state.workers for a in nannies)):
                await asyncio.sleep(0.02)
            if len(state.workers) < n_before:
                return error_message(TimeoutError(
                    f"restart: {len(state.workers)} of {n_before} workers were back within "
                    f"{timeout:g} s (nannies that failed: "
                    f"{ {a: repr(e) for a, e in failed.items()} }); pass a longer timeout "
                    "or look at the workers' logs"))
        if failed:
            return error_message(RuntimeError(
                f"restart: the nannies of {sorted(failed)} did not restart their workers: "
                f"{ {a: repr(e) for a, e in failed.items()} }"))
        return {"status": "OK", "workers": list(state.workers)}

    # -- retirement ----------------------------------------------------------------------
    async def retire_workers(self, comm: Any = None, workers: Iterable[str] | None = None,
                             close_workers: bool = True, timeout: float | None = 60,
                             **_: Any) -> dict:
        """Close ``workers`` (all when None) gracefully: they get no new tasks, finish
        what they run, and every result only they hold that is still needed is copied
        to the remaining workers (``acquire-replicas``) before they close, so nothing
        is computed again. After ``timeout`` seconds they close anyway (what was not
        copied is then recomputed). Returns ``{address: worker info}``."""
        state = self.state
        addresses = list(state.workers) if workers is None else [
            state.aliases.get(w, w) for w in workers]
        leaving = [a for a in dict.fromkeys(addresses) if a in state.workers]
        out = {a: state.workers[a].identity() for a in leaving}
        for address in leaving:
            self.send_all(state.set_worker_status(address, "closing"))
        if any(a not in leaving for a in state.running):
            await self._copy_unique_data(leaving, timeout)
        for address in leaving:
            ws = state.workers.get(address)
            if ws is None:
                continue
            nanny = ws.nanny
            # Its stream leaves the table first, so its closing is not taken for a
            # death; a nanny reports nothing for a worker that exits with code 0.
            bs = self.worker_streams.pop(address, None)
            self.send_all(state.remove_worker(address, stimulus_id="retire-workers",
                                              safe=True))
            if not close_workers:
                # Whoever asked closes it (LocalCluster.scale does, through the nanny);
                # closing its stream here would only make it register again.
                continue
            if bs is not None:
                try:
                    bs.send({"op": "close"})
                except CommClosedError:
                    pass
                self._spawn(bs.close(timeout=2))
            if nanny is not None:  # or it would start the worker again
                self._spawn(self._close_nanny(nanny))
        return out

    async def _close_nanny(self, nanny: str) -> None:
        try:
            await asyncio.wait_for(self.rpc.send_recv(nanny, "close"), 10)
        except Exception as exc:
            logger.info("closing nanny %s failed: %s", nanny, exc)

    async def _copy_unique_data(self, leaving: list[str], timeout: float | None) -> None:
        state = self.state
        gone = {state.workers[a] for a in leaving if a in state.workers}
        deadline = None if timeout is None else time.monotonic() + timeout
        asked: dict = {}  # key -> when a copy was last requested
        while True:
            unique = []
            busy = False
            for ws in list(gone):
                if ws.address not in state.workers:
                    gone.discard(ws)
                    continue
                busy = busy or bool(ws.processing)
                for ts in ws.has_what:
                    if not (ts.who_has - gone) and (ts.who_wants or ts.waiters):
                        unique.append((ts, ws))
            if not unique and not busy:
                return
            targets = [w for w in state.running.values() if w not in gone]
            if not targets:
                return
            if deadline is not None and time.monotonic() > deadline:
                logger.warning("retire_workers: %d keys not copied within %s s; they will "
                               "be computed again where needed", len(unique), timeout)
                return
            now = time.monotonic()
            planned: dict = {}
            extra = {w: 0 for w in targets}
            for ts, ws in unique:
                if now - asked.get(ts.key, -1e9) < 2.0:
                    continue  # asked recently: give the fetch time
                asked[ts.key] = now
                target = min(targets, key=lambda w: w.nbytes + extra[w])
                extra[target] += max(ts.nbytes, 0)
                msg = planned.setdefault(target.address, {"op": "acquire-replicas",
                                                          "who_has": {}, "nbytes": {}})
                msg["who_has"][ts.key] = [ws.address]
                msg["nbytes"][ts.key] = ts.nbytes
            if planned:
                self.send_all(({}, {a: [m] for a, m in planned.items()}))
            await asyncio.sleep(0.02)

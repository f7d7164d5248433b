"""The worker's side of its scheduler connection: registering, the stream, heartbeats.

A mixin of :class:`.server.Worker`. The worker registers (``register-worker``) and keeps
that comm as its stream; :meth:`SchedulerLink._read_stream` turns the scheduler's
batches into state-machine events. When the stream closes without a ``close`` message,
or a heartbeat is answered "missing", :meth:`SchedulerLink._reconnect` forgets every
task and result and registers again with a backoff (50 ms doubling to
:data:`RECONNECT_MAX_DELAY`) until ``distributed.worker.reconnect-timeout`` runs out,
then closes the worker. Memory pauses and resumes reach the scheduler as
``worker-status-change``.
"""

from __future__ import annotations

import asyncio
import logging

from plait import config

from ..comm import BatchedSend, CommClosedError, connect
from ..comm.core import seconds
from .events import (
    AcquireReplicas,
    ComputeTask,
    FreeKeys,
    PauseEvent,
    RefreshWhoHas,
    SchedulerLost,
    StateMachineEvent,
    StealRequest,
)

__all__ = ["MISSING_REFRESH_INTERVAL", "RECONNECT_MAX_DELAY", "SchedulerLink"]

logger = logging.getLogger("plait.distributed.worker")

#: Seconds between asking the scheduler where ``missing`` keys went.
MISSING_REFRESH_INTERVAL = 1.0
#: Longest pause between two attempts to register again with a lost scheduler.
RECONNECT_MAX_DELAY = 1.0


class SchedulerLink:
    """Mixin: how a :class:`~.server.Worker` talks to its scheduler."""

    async def _register(self, timeout: float | None = None) -> None:
        if timeout is None:
            timeout = seconds(config.get("distributed.comm.timeouts.connect", "30s"))
        comm = await connect(self.scheduler_address, timeout=timeout, deserialize=False,
                             security=self.security, role="worker")
        try:
            await comm.write({
                "op": "register-worker",
                "address": self.address,
                "name": self.worker_name,
                "nthreads": self.nthreads,
                "memory_limit": self.memory_limit,
                "resources": self.resources,
                "pid": self.pid,
                "local_directory": self.local_directory,
                "nbytes": dict(getattr(self.data, "nbytes", {})),
            })
            reply = await asyncio.wait_for(comm.read(), timeout)
        except BaseException:
            comm.abort()  # no half-registered connection left open
            raise
        if not isinstance(reply, dict) or reply.get("status") != "OK":
            comm.abort()
            text = reply.get("text") if isinstance(reply, dict) else repr(reply)
            raise RuntimeError(
                f"worker {self.address}: the scheduler at {self.scheduler_address} "
                f"refused the registration: {text}"
            )
        if self._heartbeat_interval is None:
            self._heartbeat_interval = float(reply.get("heartbeat_interval") or 1.0)
        if self.batched_stream.comm is not None:  # registering again: a fresh stream
            self.batched_stream = BatchedSend(interval=0, name="worker->scheduler")
        self.batched_stream.start(comm)
        self._stream_comm = comm
        if self.paused:  # a scheduler we register with afresh believes we run
            self.batched_stream.send({"op": "worker-status-change", "status": "paused"})
        self._spawn(self._read_stream(comm))

    async def _read_stream(self, comm) -> None:
        handle = self._handle_events
        close = False
        try:
            while True:
                try:
                    batch = await comm.read()
                except CommClosedError:
                    break
                events: list[StateMachineEvent] = []
                for msg in batch if type(batch) is list else (batch,):
                    op = msg.get("op")
                    if op == "compute-task":
                        priority = msg.get("priority")
                        events.append(ComputeTask(
                            msg["key"], msg.get("run_spec"),
                            tuple(priority) if priority is not None else (0,),
                            msg.get("who_has") or {}, msg.get("nbytes") or {},
                            msg.get("resource_restrictions"), msg.get("duration")))
                    elif op == "free-keys":
                        events.append(FreeKeys(msg["keys"]))
                    elif op == "acquire-replicas":
                        events.append(AcquireReplicas(msg["who_has"], msg.get("nbytes") or {}))
                    elif op == "steal-request":
                        events.append(StealRequest(msg["key"]))
                    elif op == "close":
                        close = True
                    else:
                        logger.error("worker %s: unknown op %r from the scheduler",
                                     self.name, op)
                if events:
                    handle(events)
                if close:
                    break
        except asyncio.CancelledError:
            return
        except Exception:
            logger.exception("worker %s: the scheduler stream failed", self.name)
            close = False
        if self.status != "running" or comm is not self._stream_comm:
            return  # closing, or an old stream we gave up on ourselves
        if close:
            self._spawn_close()  # the scheduler asked us to go
        else:
            self._spawn(self._reconnect("its stream closed"))

    async def _reconnect(self, reason: str) -> None:
        """The scheduler is gone (``reason``): drop everything, register again with
        a backoff until ``distributed.worker.reconnect-timeout`` runs out, then close."""
        if self._reconnecting or self.status != "running":
            return
        self._reconnecting = True
        try:
            timeout = seconds(config.get("distributed.worker.reconnect-timeout", 0) or 0)
            logger.warning(
                "worker %s: lost the scheduler at %s (%s); dropping %d tasks and %d "
                "results, trying to register again for up to %g s",
                self.name, self.scheduler_address, reason, len(self.state.tasks),
                len(self.data), timeout)
            old = self._stream_comm
            self._stream_comm = None
            self.batched_stream.abort()
            if old is not None and not old.closed():
                old.abort()
            self._handle_events([SchedulerLost()])
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            delay = 0.05
            connect_timeout = seconds(
                config.get("distributed.comm.timeouts.connect", "30s"))
            last_error: BaseException | None = None
            while self.status == "running":
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    await self._register(timeout=max(min(left, connect_timeout), 0.1))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    last_error = exc
                    await asyncio.sleep(min(delay, max(deadline - loop.time(), 0)))
                    delay = min(delay * 2, RECONNECT_MAX_DELAY)
                    continue
                self.reconnect_count += 1
                logger.warning("worker %s: registered again with the scheduler at %s",
                               self.name, self.scheduler_address)
                return
            if self.status == "running":
                logger.error(
                    "worker %s: no scheduler at %s within the reconnect timeout (%g s, "
                    "distributed.worker.reconnect-timeout); closing. Last error: %s",
                    self.name, self.scheduler_address, timeout, last_error)
                self._spawn_close()
        finally:
            self._reconnecting = False

    def _set_paused(self, paused: bool, rss: int | None = None) -> None:
        """Pause or resume (memory); the scheduler hears ``worker-status-change``."""
        if paused == self.paused or self.status != "running":
            return
        limit = self.memory.monitor.process_limit()
        if paused:
            logger.warning(
                "worker %s: paused, process memory %s MiB is above %d%% of the %s MiB "
                "limit; no new tasks start until it falls", self.name,
                (rss or 0) >> 20, round(100 * (self.memory.monitor.pause or 0)),
                limit >> 20)
        else:
            logger.warning("worker %s: resumed, process memory %s MiB", self.name,
                           (rss or 0) >> 20)
        self._handle_events([PauseEvent(paused)])
        try:
            self.batched_stream.send({"op": "worker-status-change",
                                      "status": "paused" if paused else "running"})
        except CommClosedError:
            pass  # registering again sends it

    async def _heartbeat_loop(self) -> None:
        while self.status == "running":
            await asyncio.sleep(self._heartbeat_interval or 1.0)
            try:
                reply = await asyncio.wait_for(self._rpc(
                    self.scheduler_address, op="heartbeat-worker", address=self.address,
                    metrics=self.metrics()), 10)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self._reconnecting:
                    logger.info("worker %s: heartbeat failed: %s", self.name, exc)
                continue
            if (isinstance(reply, dict) and reply.get("status") == "missing"
                    and not self._reconnecting):
                # The scheduler dropped us (e.g. heartbeats were late): our results are
                # no longer known there. Start afresh.
                self._spawn(self._reconnect("it no longer knows this worker"))

    async def _missing_loop(self) -> None:
        while self.status == "running":
            await asyncio.sleep(MISSING_REFRESH_INTERVAL)
            missing = list(self.state.missing)
            if not missing:
                continue
            try:
                who_has = await asyncio.wait_for(self.rpc.send_recv(
                    self.scheduler_address, "who_has", keys=missing), 10)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.info("worker %s: who_has for missing keys failed: %s", self.name, exc)
                continue
            if isinstance(who_has, dict):
                who_has = {k: v for k, v in who_has.items() if k != "status"}
                self._handle_events([RefreshWhoHas(who_has)])


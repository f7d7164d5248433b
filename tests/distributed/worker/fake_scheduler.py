"""A scheduler stand-in that speaks the worker side of the protocol, for Worker tests.

It accepts ``register-worker`` (and keeps the comm as that worker's stream), answers
heartbeats, ``unregister`` and ``who_has``, records every stream message workers send,
and lets a test push ``compute-task``/``free-keys``/... to a worker.
"""

from __future__ import annotations

import asyncio
from typing import Any

from plait.distributed.comm import BatchedSend, CommClosedError, serialize
from plait.distributed.core import Server


class FakeScheduler(Server):
    def __init__(self) -> None:
        super().__init__(
            handlers={
                "register-worker": self.register_worker,
                "heartbeat-worker": lambda comm, **kw: {"status": "OK"},
                "unregister": self.unregister,
                "who_has": self.who_has,
            },
            deserialize=False,
        )
        self.streams: dict[str, BatchedSend] = {}
        self.registered: dict[str, dict] = {}
        self.unregistered: list[str] = []
        self.messages: list[dict] = []
        self.who_has_table: dict = {}
        self._changed: asyncio.Condition | None = None

    async def register_worker(self, comm: Any, address: str, **info: Any) -> Any:
        await comm.write({"status": "OK", "time": 0.0, "heartbeat_interval": 0.5})
        stream = BatchedSend(interval=0.001)
        stream.start(comm)
        self.streams[address] = stream
        self.registered[address] = info
        asyncio.ensure_future(self._read(comm, address))
        return Server.DETACH

    async def _read(self, comm: Any, address: str) -> None:
        while True:
            try:
                batch = await comm.read()
            except CommClosedError:
                return
            for msg in batch if isinstance(batch, list) else [batch]:
                msg["worker"] = address
                self.messages.append(msg)
            await self._notify()

    async def _notify(self) -> None:
        cond = self._condition()
        async with cond:
            cond.notify_all()

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    def unregister(self, comm: Any, address: str) -> dict:
        self.unregistered.append(address)
        return {"status": "OK"}

    def who_has(self, comm: Any, keys: list) -> dict:
        return {k: self.who_has_table.get(k, []) for k in keys}

    def compute(self, worker: str, key: Any, func: Any, *args: Any, who_has=None,
                priority=(0,), **extra: Any) -> None:
        from plait.graph.spec import Task

        self.streams[worker].send({
            "op": "compute-task", "key": key,
            # raw=True (inproc only): the Task object itself, for closures over locks
            "run_spec": Task(key, func, *args) if extra.get("raw") else
            serialize(Task(key, func, *args)),
            "priority": priority, "who_has": who_has or {}, "nbytes": {},
            "resource_restrictions": extra.get("resources"), "duration": None,
        })

    def send(self, worker: str, **msg: Any) -> None:
        self.streams[worker].send(msg)

    async def wait_for(self, op: str, key: Any = None, count: int = 1,
                       timeout: float = 10) -> list[dict]:
        """Messages of ``op`` (for ``key``), once at least ``count`` have arrived."""
        cond = self._condition()

        def found() -> list[dict]:
            return [m for m in self.messages
                    if m["op"] == op and (key is None or m.get("key") == key)]

        async def wait() -> list[dict]:
            async with cond:
                while len(found()) < count:
                    await cond.wait()
            return found()

        return await asyncio.wait_for(wait(), timeout)

    async def close(self, timeout: float = 5) -> None:
        for stream in self.streams.values():  # as if the process died
            stream.abort()
        await super().close(timeout)

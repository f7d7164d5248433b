"""A one-process stand-in for a scheduler with one worker, speaking the client's side of
the protocol (plait/distributed/protocol.py) over real comms.

It lets the client's own logic (futures, reference counting, gather, scatter, packing)
be tested without the scheduler and worker packages: tasks run one by one on the loop,
in dependency order, and the "worker" is the same server. Tests against the real
scheduler and workers live next to these ones.
"""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

from plait.distributed.comm import BatchedSend, Serialize, Serialized, deserialize
from plait.distributed.core import Server
from plait.distributed.loop import LoopRunner


class FakeScheduler(Server):
    def __init__(self) -> None:
        super().__init__(
            handlers={
                "register-client": self.register_client, "who_has": self.who_has,
                "get_data": self.get_data, "gather": self.gather, "ncores": self.ncores,
                "identity": self.identity, "update_data": self.update_data_worker,
                "update-data": self.update_data, "broadcast": self.broadcast,
                "run_function": self.run_function, "has_what": self.has_what,
            },
            stream_handlers={
                "update-graph": self.update_graph,
                "client-releases-keys": self.client_releases_keys,
                "client-desires-keys": self.client_desires_keys,
                "cancel-keys": self.cancel_keys, "close-client": lambda **kw: None,
            },
            deserialize=False,
        )
        self.data: dict = {}
        self.tasks: dict = {}  # key -> Serialized run spec, waiting
        self.deps: dict = {}
        self.wanted: dict = {}  # key -> set of holders
        self.streams: dict = {}
        self.errors: dict = {}
        self.log: list = []
        from plait.distributed.coordination import SCHEDULER_EXTENSIONS

        self.extensions = [ext(self) for ext in SCHEDULER_EXTENSIONS]

    async def register_client(self, comm: Any, client: str, **kw: Any) -> Any:
        await comm.write({"status": "OK", "time": 0.0})
        stream = BatchedSend(interval=0.001)
        stream.start(comm)
        self.streams[client] = stream
        asyncio.ensure_future(self.handle_stream(comm, client=client))
        return Server.DETACH

    def _report(self, msg: dict) -> None:
        for s in self.streams.values():
            s.send(msg)

    def update_graph(self, tasks: dict, dependencies: dict, keys: list, client: str,
                     **kw: Any) -> None:
        self.log.append(("update-graph", sorted(map(str, tasks)), kw.get("annotations"),
                         kw.get("priority")))
        for k in keys:
            self.wanted.setdefault(k, set()).add(client)
        self.tasks.update(tasks)
        self.deps.update(dependencies)
        self._run_ready()
        for k in keys:
            if k in self.data:
                self._report({"op": "key-in-memory", "key": k, "type": type(self.data[k]).__name__})

    def _run_ready(self) -> None:
        progress = True
        while progress:
            progress = False
            for k in list(self.tasks):
                deps = self.deps.get(k, [])
                if any(d in self.errors for d in deps):
                    self.tasks.pop(k)
                    self.errors[k] = self.errors[next(d for d in deps if d in self.errors)]
                    self._report_error(k)
                    progress = True
                    continue
                if not all(d in self.data for d in deps):
                    continue
                spec = self.tasks.pop(k)
                node = deserialize(spec, k)
                try:
                    value = node.run({d: self.data[d] for d in deps})
                except Exception as exc:
                    self.errors[k] = exc
                    self._report_error(k)
                else:
                    self.data[k] = value
                    self._report({"op": "key-in-memory", "key": k, "type": type(value).__name__})
                progress = True

    def _report_error(self, k: Any) -> None:
        exc = self.errors[k]
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self._report({"op": "task-erred", "key": k, "exception": Serialize(exc),
                      "traceback": None, "exception_text": repr(exc), "traceback_text": text})

    def client_releases_keys(self, keys: list, client: str, holder: Any = None,
                             **kw: Any) -> None:
        if holder is None:
            self.log.append(("release", list(keys)))
        for k in keys:
            holders = self.wanted.get(k, set())
            holders.discard(holder or client)
            if not holders:
                self.wanted.pop(k, None)
                self.data.pop(k, None)

    def client_desires_keys(self, keys: list, client: str, holder: Any = None,
                            **kw: Any) -> None:
        self.log.append(("desire", list(keys), holder or client))
        for k in keys:
            self.wanted.setdefault(k, set()).add(holder or client)
            if k in self.data:
                self._report({"op": "key-in-memory", "key": k,
                              "type": type(self.data[k]).__name__})

    def cancel_keys(self, keys: list, client: str, **kw: Any) -> None:
        for k in keys:
            self.tasks.pop(k, None)
        self._report({"op": "cancelled-keys", "keys": list(keys)})

    def who_has(self, comm: Any, keys: Any = None) -> dict:
        keys = self.data if keys is None else keys
        return {k: [self.address] for k in keys if k in self.data}

    def has_what(self, comm: Any, workers: Any = None) -> dict:
        return {self.address: list(self.data)}

    def get_data(self, comm: Any, keys: list, who: Any = None) -> dict:
        return {"status": "OK", "data": {k: Serialize(self.data[k]) for k in keys
                                         if k in self.data}}

    def gather(self, comm: Any, keys: list) -> dict:
        return {"status": "OK", "data": {k: Serialize(self.data[k]) for k in keys
                                         if k in self.data}}

    def ncores(self, comm: Any) -> dict:
        return {self.address: 1}

    def identity(self, comm: Any) -> dict:
        return {"type": "FakeScheduler", "id": "fake", "address": self.address,
                "workers": {self.address: {"nthreads": 1, "memory_limit": 2**30}}}

    def update_data_worker(self, comm: Any, data: dict, report: bool = False) -> dict:
        for k, v in data.items():
            self.data[k] = deserialize(v, k) if isinstance(v, (Serialized, Serialize)) else v
        return {"status": "OK", "nbytes": {k: 8 for k in data}}

    def update_data(self, comm: Any, who_has: dict, nbytes: dict, client: str) -> dict:
        for k in who_has:
            self.wanted.setdefault(k, set()).add(client)
        return {"status": "OK"}

    def broadcast(self, comm: Any, msg: dict, workers: Any = None) -> dict:
        if msg["op"] == "run":
            f = deserialize(msg["function"])
            args, kwargs = deserialize(msg["args"]), deserialize(msg["kwargs"])
            return {self.address: {"status": "OK", "result": Serialize(f(*args, **kwargs))}}
        return {self.address: {"status": "OK"}}

    def run_function(self, comm: Any, function: Any, args: Any, kwargs: Any) -> dict:
        f = deserialize(function)
        return {"status": "OK", "result": Serialize(f(*deserialize(args), **deserialize(kwargs)))}


class FakeCluster:
    """``Client(FakeCluster())`` works like ``Client(LocalCluster(processes=False))``."""

    def __init__(self) -> None:
        self.runner = LoopRunner("fake-cluster").start()
        self.loop = self.runner.loop
        self.scheduler = FakeScheduler()

        async def start() -> None:
            await self.scheduler.listen("inproc://")

        self.runner.run_sync(start)
        self.scheduler_address = self.scheduler.address
        self.dashboard_link = None

    def close(self) -> None:
        if self.runner is not None:
            self.runner.run_sync(self.scheduler.close)
            self.runner.stop()
            self.runner = None

    def __enter__(self) -> "FakeCluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

"""The Scheduler server with fake workers and clients speaking the protocol over comms."""

from __future__ import annotations

import asyncio
import urllib.request

import pytest

from plait.distributed.comm import BatchedSend, CommClosedError, Serialize, connect
from plait.distributed.core import ConnectionPool, Server
from plait.distributed.plugins import SchedulerPlugin
from plait.distributed.scheduler import Scheduler


async def wait_for(cond, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


class FakeWorker:
    """Registers, then answers compute-task with task-finished (or task-erred)."""

    def __init__(self, scheduler, nthreads=1, name=None, fail=(), hold=False):
        self.scheduler = scheduler
        self.nthreads, self.name, self.fail, self.hold = nthreads, name, set(fail), hold
        self.data: dict = {}
        self.received: list = []
        self.held: list = []
        self.closed_by_scheduler = False

    async def start(self):
        self.server = Server({"get_data": self.get_data}, name="fake-worker")
        await self.server.listen("inproc://")
        self.address = self.server.address
        self.comm = await connect(self.scheduler.address)
        await self.comm.write({"op": "register-worker", "address": self.address,
                               "name": self.name, "nthreads": self.nthreads, "nbytes": {}})
        self.reply = await self.comm.read()
        if self.reply.get("status") != "OK":
            return self
        self.bs = BatchedSend(interval=0.001)
        self.bs.start(self.comm)
        self.reader = asyncio.ensure_future(self._read())
        return self

    def get_data(self, comm=None, keys=(), who=None):
        return {"status": "OK", "data": {k: Serialize(self.data[k]) for k in keys
                                          if k in self.data}}

    def run(self, key):
        if key in self.fail:
            self.bs.send({"op": "task-erred", "key": key,
                          "exception": Serialize(ZeroDivisionError(f"failed {key}")),
                          "traceback": None, "exception_text": "ZeroDivisionError",
                          "traceback_text": "", "startstops": []})
        else:
            self.data[key] = f"value-{key}"
            self.bs.send({"op": "task-finished", "key": key, "nbytes": 10, "type": "str",
                          "startstops": [("compute", 0.0, 0.001)]})

    async def _read(self):
        try:
            while True:
                batch = await self.comm.read()
                for msg in batch:
                    self.received.append(msg)
                    op = msg["op"]
                    if op == "compute-task":
                        if self.hold:
                            self.held.append(msg["key"])
                        else:
                            self.run(msg["key"])
                    elif op == "free-keys":
                        for k in msg["keys"]:
                            self.data.pop(k, None)
                    elif op == "steal-request":
                        k = msg["key"]
                        state = "ready" if k in self.held else "memory"
                        if k in self.held:
                            self.held.remove(k)
                        self.bs.send({"op": "steal-response", "key": k, "state": state})
                    elif op == "close":
                        self.closed_by_scheduler = True
                        return
        except CommClosedError:
            return

    async def close(self):
        self.reader.cancel()
        self.bs.abort()
        await self.server.close()


class FakeClient:
    def __init__(self, scheduler, id="client-1"):
        self.scheduler, self.id = scheduler, id
        self.received: list = []

    async def start(self):
        self.comm = await connect(self.scheduler.address)
        await self.comm.write({"op": "register-client", "client": self.id, "reply": True})
        self.reply = await self.comm.read()
        self.bs = BatchedSend(interval=0.001)
        self.bs.start(self.comm)
        self.reader = asyncio.ensure_future(self._read())
        return self

    async def _read(self):
        try:
            while True:
                batch = await self.comm.read()
                self.received.extend(batch)
        except CommClosedError:
            return

    def ops(self, op):
        return [m for m in self.received if m["op"] == op]

    def submit(self, tasks, deps, keys, **kw):
        self.bs.send({"op": "update-graph", "tasks": tasks, "dependencies": deps,
                      "keys": keys, **kw})

    async def close(self):
        self.reader.cancel()
        self.bs.abort()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_start_close_and_health_endpoint():
    async def main():
        s = Scheduler(dashboard_address=":0")
        await s.start()
        assert s.address.startswith("tcp://127.0.0.1:")
        link = s.dashboard_link
        assert link.startswith("http://127.0.0.1:") and link.endswith("/status")
        loop = asyncio.get_running_loop()
        base = link.rsplit("/", 1)[0]
        body = await loop.run_in_executor(
            None, lambda: urllib.request.urlopen(base + "/health", timeout=5).read())
        assert body == b"ok"
        await s.close()
        assert s.status == "closed"

    run(main())


def test_graph_runs_on_fake_workers_and_memory_is_released():
    async def main():
        async with Scheduler(protocol="inproc", validate=True) as s:
            w1 = await FakeWorker(s).start()
            w2 = await FakeWorker(s, nthreads=2).start()
            c = await FakeClient(s).start()
            assert c.reply["status"] == "OK"
            n = 200
            tasks = {("inc", i): Serialize(i) for i in range(n)}
            tasks["total"] = Serialize("sum")
            c.submit(tasks, {"total": [("inc", i) for i in range(n)]}, ["total"],
                     priority={("inc", i): i for i in range(n)})
            await wait_for(lambda: c.ops("key-in-memory"))
            assert [m["key"] for m in c.ops("key-in-memory")] == ["total"]
            assert w1.data.keys() | w2.data.keys() >= {"total"}
            # Intermediates are freed on the workers.
            await wait_for(lambda: set(w1.data) | set(w2.data) == {"total"})
            # compute-task messages were batched: far fewer writes than tasks.
            ws_batches = [s.worker_streams[w.address].batch_count for w in (w1, w2)]
            assert sum(ws_batches) < n
            who = s.who_has(keys=["total"])
            holder = who["total"][0]
            reply = await s.gather(keys=["total"])
            assert reply["status"] == "OK" and set(reply["data"]) == {"total"}
            c.bs.send({"op": "client-releases-keys", "keys": ["total"]})
            await wait_for(lambda: not s.state.tasks)
            await wait_for(lambda: not w1.data and not w2.data)
            assert holder in (w1.address, w2.address)
            for x in (w1, w2, c):
                await x.close()

    run(main())


def test_errors_reach_the_client_with_the_root_cause():
    async def main():
        async with Scheduler(protocol="inproc", validate=True) as s:
            w = await FakeWorker(s, fail={"a"}).start()
            c = await FakeClient(s).start()
            c.submit({"a": Serialize(1), "b": Serialize(2)}, {"b": ["a"]}, ["b"])
            await wait_for(lambda: c.ops("task-erred"))
            (msg,) = c.ops("task-erred")
            assert msg["key"] == "b" and msg["cause"] == "a"
            assert isinstance(msg["exception"], ZeroDivisionError)
            await w.close()
            await c.close()

    run(main())


def test_lost_worker_tasks_go_to_another_worker():
    async def main():
        async with Scheduler(protocol="inproc", validate=True, steal_interval=0) as s:
            w1 = await FakeWorker(s, hold=True).start()
            c = await FakeClient(s).start()
            c.submit({"x": Serialize(1)}, {}, ["x"])
            await wait_for(lambda: w1.held)
            w2 = await FakeWorker(s).start()
            w1.comm.abort()  # the worker dies
            await wait_for(lambda: c.ops("key-in-memory"))
            assert "x" in w2.data and w1.address not in s.state.workers
            await w2.close()
            await c.close()

    run(main())


def test_new_worker_steals_work_through_the_server():
    async def main():
        async with Scheduler(protocol="inproc", validate=True, saturation=float("inf"),
                             steal_interval=0.01) as s:
            w1 = await FakeWorker(s, hold=True).start()
            c = await FakeClient(s).start()
            tasks = {("t", i): Serialize(i) for i in range(6)}
            c.submit(tasks, {}, list(tasks))
            await wait_for(lambda: len(w1.held) == 6)
            w2 = await FakeWorker(s, nthreads=2).start()
            await wait_for(lambda: len(w2.data) >= 2)
            assert s.state.stealing.count >= 2
            for x in (w1, w2, c):
                await x.close()

    run(main())


def test_close_tells_clients_and_workers():
    async def main():
        s = await Scheduler(protocol="inproc").start()
        w = await FakeWorker(s).start()
        c = await FakeClient(s).start()
        await wait_for(lambda: w.address in s.state.workers)
        await s.close()
        await wait_for(lambda: w.closed_by_scheduler)
        await wait_for(lambda: c.ops("stream-closed"))
        await w.close()

    run(main())


def test_rpc_handlers_answer_over_a_connection_pool():
    async def main():
        calls = []

        def ext(scheduler):
            scheduler.handlers["ping_ext"] = lambda comm=None: "pong"
            calls.append(scheduler)
            return "ext-state"

        async with Scheduler(extensions={"demo": ext}) as s:
            assert calls == [s] and s.extensions == {"demo": "ext-state"}
            pool = ConnectionPool()
            try:
                assert await pool.send_recv(s.address, "ping_ext") == "pong"
                assert await pool.send_recv(s.address, "ncores") == {}
                ident = await pool.send_recv(s.address, "identity")
                assert ident["type"] == "Scheduler" and ident["address"] == s.address

                def on_scheduler(dask_scheduler=None):
                    return len(dask_scheduler.state.tasks)

                reply = await pool.send_recv(s.address, "run_function",
                                             function=Serialize(on_scheduler),
                                             args=Serialize(()), kwargs=Serialize({}))
                assert reply["result"] == 0
                with pytest.raises(ValueError, match="no handler for op"):
                    await pool.send_recv(s.address, "no-such-op")
            finally:
                await pool.close()

    run(main())


def test_duplicate_worker_registration_is_refused():
    async def main():
        async with Scheduler(protocol="inproc") as s:
            w = await FakeWorker(s, name="same").start()
            w2 = await FakeWorker(s, name="same").start()
            assert w2.reply["status"] == "error" and "unique name" in w2.reply["text"]
            await w.close()
            await w2.server.close()

    run(main())


def test_plugins_registered_on_the_server_start_and_see_events():
    async def main():
        seen = []

        class P(SchedulerPlugin):
            name = "p"

            async def start(self, scheduler):
                seen.append(("start", scheduler))

            def transition(self, key, start, finish, **kw):
                seen.append((key, finish))

        async with Scheduler(protocol="inproc") as s:
            await s.add_plugin(P())
            w = await FakeWorker(s).start()
            c = await FakeClient(s).start()
            c.submit({"x": Serialize(1)}, {}, ["x"])
            await wait_for(lambda: ("x", "memory") in seen)
            assert seen[0] == ("start", s)
            await w.close()
            await c.close()

    run(main())


def test_a_worker_reporting_paused_gets_no_new_tasks():
    async def main():
        async with Scheduler(protocol="inproc", validate=True, steal_interval=0) as s:
            w1 = await FakeWorker(s).start()
            w2 = await FakeWorker(s).start()
            w2.bs.send({"op": "worker-status-change", "status": "paused"})
            await wait_for(lambda: s.state.workers[w2.address].status == "paused")
            c = await FakeClient(s).start()
            tasks = {("t", i): Serialize(i) for i in range(20)}
            c.submit(tasks, {}, list(tasks))
            await wait_for(lambda: len(c.ops("key-in-memory")) == 20)
            assert len(w1.data) == 20 and not w2.data
            for x in (w1, w2, c):
                await x.close()

    run(main())


def test_bad_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="registered transport"):
        Scheduler(protocol="carrier-pigeon")
    with pytest.raises(TypeError, match="unknown arguments"):
        Scheduler(colour="blue")


def test_silent_worker_is_removed_after_the_ttl_and_heartbeats_keep_one():
    async def main():
        async with Scheduler(protocol="inproc", worker_ttl=0.3) as s:
            silent = await FakeWorker(s).start()
            alive = await FakeWorker(s).start()
            pool = ConnectionPool()
            try:
                for _ in range(12):
                    reply = await pool.send_recv(s.address, "heartbeat-worker",
                                                 address=alive.address, metrics={"cpu": 1})
                    assert reply["status"] == "OK"
                    await asyncio.sleep(0.05)
                await wait_for(lambda: silent.address not in s.state.workers)
                assert alive.address in s.state.workers
                assert s.state.workers[alive.address].metrics == {"cpu": 1}
                reply = await pool.send_recv(s.address, "heartbeat-worker",
                                             address=silent.address, metrics={})
                assert reply["status"] == "missing"
            finally:
                await pool.close()
            await silent.close()
            await alive.close()

    run(main())

import asyncio
import functools
import threading

import numpy as np
import pytest

from plait.distributed.comm import BatchedSend, CommClosedError, Serialize, connect
from plait.distributed.core import ConnectionPool, RemoteError, Server, send_recv

TRANSPORTS = pytest.mark.parametrize("address", ["tcp://127.0.0.1:0", "inproc://"],
                                     ids=["tcp", "inproc"])


def run_async(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        async def main():
            return await asyncio.wait_for(fn(*args, **kwargs), 20)

        return asyncio.run(main())

    return wrapper


class CustomError(Exception):
    pass


class UnpicklableError(Exception):
    def __init__(self, msg):
        super().__init__(msg)
        self.lock = threading.Lock()


def make_server(**extra_handlers):
    async def slow_add(comm, x, y, delay=0.0):
        await asyncio.sleep(delay)
        return x + y

    def fail(comm, kind="custom"):
        if kind == "custom":
            raise CustomError("it broke")
        raise UnpicklableError("cannot pickle me")

    def echo_data(comm, data):
        return {"status": "OK", "data": Serialize(data)}

    handlers = {"add": lambda comm, x, y: x + y, "slow_add": slow_add, "fail": fail,
                "echo_data": echo_data, **extra_handlers}
    return Server(handlers, name="test-server")


@TRANSPORTS
@run_async
async def test_dispatch_sync_and_async_handlers(address):
    server = make_server()
    await server.listen(address)
    async with ConnectionPool() as pool:
        assert await pool.send_recv(server.address, "add", x=1, y=2) == 3
        assert await pool.send_recv(server.address, "slow_add", x=("a",), y=("b",)) == ("a", "b")
        x = np.arange(10)
        reply = await pool.send_recv(server.address, "echo_data", data=Serialize(x))
        np.testing.assert_array_equal(reply["data"], x)
    await server.close()


@TRANSPORTS
@run_async
async def test_remote_exception_type_and_traceback(address):
    server = make_server()
    await server.listen(address)
    async with ConnectionPool() as pool:
        with pytest.raises(CustomError, match="it broke") as info:
            await pool.send_recv(server.address, "fail")
        assert "in fail" in info.value.remote_traceback
        assert any("Remote traceback" in n for n in info.value.__notes__)
        with pytest.raises(RemoteError, match="UnpicklableError: cannot pickle me") as info:
            await pool.send_recv(server.address, "fail", kind="unpicklable")
        assert "UnpicklableError" in info.value.remote_traceback
        # the server survived both and the comm is reused
        assert await pool.send_recv(server.address, "add", x=2, y=2) == 4
        assert pool.open == 1
    await server.close()


@TRANSPORTS
@run_async
async def test_unknown_op_names_op_and_known_ops(address):
    server = make_server()
    await server.listen(address)
    async with ConnectionPool() as pool:
        with pytest.raises(ValueError,
                           match=r"no handler for op 'nope'; known ops: add, echo_data"):
            await pool.send_recv(server.address, "nope")
        comm = await connect(server.address)
        with pytest.raises(ValueError, match="expects a dict with an 'op'"):
            await send_recv(comm, [1, 2])
        with pytest.raises(TypeError, match="unexpected keyword"):
            await send_recv(comm, {"op": "add", "x": 1, "z": 2})
        await comm.close()
    await server.close()


@TRANSPORTS
@run_async
async def test_reply_false_sends_nothing(address):
    seen = []
    server = make_server(note=lambda comm, value: seen.append(value))
    await server.listen(address)
    comm = await connect(server.address)
    await comm.write({"op": "note", "value": 1, "reply": False})
    await comm.write({"op": "add", "x": 1, "y": 1})
    assert await comm.read() == 2  # the first reply is for "add": "note" answered nothing
    assert seen == [1]
    await comm.close()
    await server.close()


@TRANSPORTS
@run_async
async def test_detach_turns_comm_into_stream(address):
    events = []
    ended = asyncio.get_running_loop().create_future()

    async def register(comm, name):
        await comm.write({"status": "OK"})
        asyncio.ensure_future(stream(comm, name))
        return Server.DETACH

    async def stream(comm, name):
        await server.handle_stream(comm, source=name)
        ended.set_result(True)

    def task_done(key, source):
        events.append((key, source))

    async def slow(key, source):
        await asyncio.sleep(0)
        events.append(("slow", key))

    def broken(source):
        raise RuntimeError("stream handler bug")

    server = Server({"register": register},
                    stream_handlers={"task-done": task_done, "slow": slow, "broken": broken})
    await server.listen(address)
    comm = await connect(server.address)
    assert await send_recv(comm, {"op": "register", "name": "w1"}) == {"status": "OK"}
    bs = BatchedSend(interval=0.001)
    bs.start(comm)
    bs.send({"op": "task-done", "key": ("x", 0)}, {"op": "broken"}, {"op": "unknown-op"},
            {"op": "slow", "key": 1})
    bs.send({"op": "task-done", "key": ("x", 1)})
    await bs.close()
    assert await asyncio.wait_for(ended, 5)
    assert events == [(("x", 0), "w1"), ("slow", 1), (("x", 1), "w1")]
    await server.close()


@TRANSPORTS
@run_async
async def test_pool_reuses_comms_and_respects_limit(address):
    servers = [make_server() for _ in range(3)]
    for s in servers:
        await s.listen(address)
    pool = ConnectionPool(limit=2)
    a, b, c = (s.address for s in servers)
    await pool.send_recv(a, "add", x=1, y=1)
    async with pool.connection(a) as comm1:
        pass
    async with pool.connection(a) as comm2:
        assert comm2 is comm1  # reused
    # two concurrent calls to one address need two comms
    await asyncio.gather(*(pool.send_recv(a, "slow_add", x=1, y=1, delay=0.05) for _ in range(2)))
    assert pool.open == 2
    # a third address: an idle comm is closed to make room, never more than 2 open
    assert await pool.send_recv(c, "add", x=1, y=2) == 3
    assert pool.open <= 2
    # with both comms busy, a third caller waits until one is given back
    results = await asyncio.gather(
        pool.send_recv(a, "slow_add", x=1, y=0, delay=0.05),
        pool.send_recv(b, "slow_add", x=2, y=0, delay=0.05),
        pool.send_recv(c, "slow_add", x=3, y=0, delay=0.05),
    )
    assert results == [1, 2, 3] and pool.open <= 2
    await pool.close()
    assert pool.open == 0
    with pytest.raises(RuntimeError, match="closed"):
        await pool.send_recv(a, "add", x=1, y=1)
    for s in servers:
        await s.close()


@run_async
async def test_pool_drops_comm_after_cancelled_call():
    server = make_server()
    await server.listen("tcp://127.0.0.1:0")
    pool = ConnectionPool()
    call = asyncio.ensure_future(pool.send_recv(server.address, "slow_add", x=1, y=1, delay=1))
    await asyncio.sleep(0.05)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert pool.open == 0  # its reply may still come: the comm is not reused
    assert await pool.send_recv(server.address, "add", x=1, y=1) == 2
    await pool.close()
    await server.close()


@run_async
async def test_pool_connect_timeout_names_address():
    pool = ConnectionPool(timeout=0.2)
    with pytest.raises(OSError, match="127.0.0.1:9"):
        await pool.send_recv("tcp://127.0.0.1:9", "add", x=1, y=1)
    assert pool.open == 0
    await pool.close()


@TRANSPORTS
@run_async
async def test_server_close_closes_live_comms_quickly(address):
    async def forever(comm):
        await asyncio.sleep(3600)

    server = make_server(forever=forever)
    await server.listen(address)
    idle = await connect(server.address)
    busy = await connect(server.address)
    await busy.write({"op": "forever"})
    await asyncio.sleep(0.05)
    await server.close(timeout=1)  # the handler sleeping for an hour does not hold it up
    for comm in (idle, busy):
        with pytest.raises(CommClosedError):
            await comm.read()
    with pytest.raises(OSError):
        await connect(server.address, timeout=0.2)
    assert server.status == "closed"


@run_async
async def test_address_before_listen_is_an_error():
    with pytest.raises(RuntimeError, match="not listening"):
        Server({}).address


@TRANSPORTS
@run_async
async def test_unsendable_reply_becomes_an_error_reply(address):
    server = make_server(bad_reply=lambda comm: {"value": {1, 2}})
    await server.listen(address)
    async with ConnectionPool() as pool:
        if address.startswith("tcp"):
            with pytest.raises(TypeError, match="builtins.set"):
                await pool.send_recv(server.address, "bad_reply")
        else:  # in-process replies are handed over as they are
            assert await pool.send_recv(server.address, "bad_reply") == {"value": {1, 2}}
        assert await pool.send_recv(server.address, "add", x=1, y=1) == 2
    await server.close()


@TRANSPORTS
@run_async
async def test_non_deserializing_server_forwards_opaque_values(address):
    from plait.distributed.comm import Serialize, Serialized

    seen = []

    def keep(comm, data):
        seen.append(data)
        return {"status": "OK", "data": data}  # forwarded without unpickling

    server = Server({"keep": keep}, deserialize=False)
    await server.listen(address)
    async with ConnectionPool() as pool:
        reply = await pool.send_recv(server.address, "keep", data=Serialize(np.arange(4)))
    assert isinstance(seen[0], (Serialize, Serialized))
    np.testing.assert_array_equal(reply["data"], np.arange(4))
    await server.close()


@run_async
async def test_send_recv_message_may_carry_an_address_field():
    server = Server({"unregister": lambda comm, address: f"bye {address}"})
    await server.listen("inproc://")
    async with ConnectionPool() as pool:
        reply = await pool.send_recv(server.address, "unregister", address="tcp://w:1")
    assert reply == "bye tcp://w:1"
    await server.close()

import asyncio
import threading

import pytest

from plait.distributed.comm import BatchedSend, CommClosedError, Serialize, connect, listen

from .conftest import run_async


async def collecting_pair(address):
    """A BatchedSend to a server that records every batch it reads."""
    batches = []
    finished = asyncio.get_running_loop().create_future()

    async def record(comm):
        try:
            while True:
                batches.append(await comm.read())
        except CommClosedError:
            finished.set_result(None)

    listener = await listen(address, record)
    comm = await connect(listener.contact_address)
    bs = BatchedSend(interval=0.01, name="test")
    bs.start(comm)
    return listener, bs, batches, finished


@run_async
async def test_order_batching_and_flush_on_close(listen_address):
    listener, bs, batches, finished = await collecting_pair(listen_address)
    for i in range(1000):
        bs.send({"op": "i", "i": i})
        if i % 100 == 0:
            await asyncio.sleep(0)
    await bs.close()  # everything buffered goes out before the comm closes
    await asyncio.wait_for(finished, 5)
    assert all(type(b) is list for b in batches)
    flat = [m["i"] for b in batches for m in b]
    assert flat == list(range(1000))
    assert len(batches) < 100  # coalesced into few writes
    assert bs.message_count == 1000 and bs.batch_count == len(batches)
    listener.stop()


@run_async
async def test_send_many_at_once_and_before_start(listen_address):
    batches = []
    done = asyncio.get_running_loop().create_future()

    async def record(comm):
        try:
            while True:
                batches.append(await comm.read())
        except CommClosedError:
            done.set_result(None)

    listener = await listen(listen_address, record)
    bs = BatchedSend(interval=0.001)
    bs.send({"op": "early"})  # kept until start
    bs.start(await connect(listener.contact_address))
    bs.send({"op": "a"}, {"op": "b"})
    await bs.close()
    await asyncio.wait_for(done, 5)
    assert [m["op"] for b in batches for m in b] == ["early", "a", "b"]
    listener.stop()


@run_async
async def test_send_after_close_raises(listen_address):
    listener, bs, _, _ = await collecting_pair(listen_address)
    await bs.close()
    assert bs.closed()
    with pytest.raises(CommClosedError, match="BatchedSend test .* is closed"):
        bs.send({"op": "late"})
    listener.stop()


@run_async
async def test_send_after_peer_closed_raises(listen_address):
    async def close_at_once(comm):
        await comm.close()

    listener = await listen(listen_address, close_at_once)
    bs = BatchedSend(interval=0.001)
    bs.start(await connect(listener.contact_address))
    with pytest.raises(CommClosedError):
        for _ in range(500):
            bs.send({"op": "x"})
            await asyncio.sleep(0.01)
    assert bs.closed()
    await bs.close()
    listener.stop()


@run_async
async def test_unserializable_message_is_dropped_others_delivered():
    listener, bs, batches, finished = await collecting_pair("tcp://127.0.0.1:0")
    bs.send({"op": "a"}, {"op": "bad", "v": Serialize(threading.Lock())}, {"op": "b"})
    await bs.close()
    await asyncio.wait_for(finished, 5)
    assert [m["op"] for b in batches for m in b] == ["a", "b"]
    listener.stop()


@run_async
async def test_abort_drops_buffer(listen_address):
    listener, bs, batches, finished = await collecting_pair(listen_address)
    await asyncio.sleep(0.02)
    bs.send({"op": "x"})
    bs.abort()
    assert bs.closed()
    with pytest.raises(CommClosedError):
        bs.send({"op": "y"})
    await asyncio.wait_for(finished, 5)
    listener.stop()


@run_async
async def test_start_twice_is_an_error():
    listener, bs, _, _ = await collecting_pair("inproc://")
    with pytest.raises(RuntimeError, match="twice"):
        bs.start(bs.comm)
    await bs.close()
    listener.stop()

import asyncio
import socket

import numpy as np
import pytest

from plait.distributed.comm import (
    CommClosedError, ConnectTimeoutError, SerializationError, Serialize, Serialized, connect,
    deserialize, listen, parse_address,
)

from .conftest import run_async


async def echo(comm):
    """Write back every message read, until the comm closes."""
    while True:
        try:
            msg = await comm.read()
        except CommClosedError:
            return
        await comm.write(msg)


async def echo_pair(address, deserialize_server=False):
    listener = await listen(address, echo, deserialize=deserialize_server)
    comm = await connect(listener.contact_address, timeout=5)
    return listener, comm


@run_async
async def test_roundtrip_nested_message(listen_address):
    listener, comm = await echo_pair(listen_address)
    msg = {"op": "x", "keys": [("a", 0), ("b", 1, 2)], ("t", 1): {"n": None, "f": 1.5},
           "bytes": b"\x00" * 10, "bool": False}
    await comm.write(msg)
    assert await comm.read() == msg
    await comm.close()
    listener.stop()


@run_async
async def test_addresses(listen_address):
    listener, comm = await echo_pair(listen_address)
    scheme = parse_address(listen_address)[0]
    assert listener.contact_address.startswith(scheme + "://")
    assert comm.peer_address == listener.contact_address
    assert comm.local_address.startswith(scheme + "://")
    assert comm.local_address != comm.peer_address
    if scheme == "tcp":
        assert listener.contact_address.startswith("tcp://127.0.0.1:")
        assert not listener.contact_address.endswith(":0")
    else:
        assert listener.contact_address.count("/") == 4  # inproc://host/pid/n
    await comm.close()
    listener.stop()


@run_async
async def test_bare_host_port_means_tcp():
    listener = await listen("127.0.0.1:0", echo)
    port = listener.contact_address.rsplit(":", 1)[1]
    comm = await connect(f"127.0.0.1:{port}")
    await comm.write({"x": 1})
    assert await comm.read() == {"x": 1}
    await comm.close()
    listener.stop()


@run_async
async def test_numpy_roundtrip_is_zero_copy_on_receive(listen_address):
    listener, comm = await echo_pair(listen_address)
    x = np.random.default_rng(0).random((500, 300))
    await comm.write({"data": Serialize(x), "small": Serialize(np.arange(3))})
    opaque = await comm.read(deserialize=False)
    if listen_address.startswith("tcp"):
        data = opaque["data"]
        assert isinstance(data, Serialized)
        y = deserialize(data)
        np.testing.assert_array_equal(y, x)
        # The array is backed by the received frame buffer itself: no copy after recv.
        assert np.shares_memory(y, np.frombuffer(data.frames[1], dtype=np.uint8))
        assert y.flags.writeable
    else:  # in-process: the very object crosses over
        assert opaque["data"].data is x
    await comm.write({"small": Serialize(np.arange(3))})
    small = (await comm.read())["small"]
    np.testing.assert_array_equal(small, np.arange(3))
    assert small.flags.writeable  # small frames arrive writable too
    await comm.close()
    listener.stop()


@run_async
async def test_inproc_reader_sees_objects_not_wrappers():
    got = asyncio.get_running_loop().create_future()

    async def handler(comm):
        got.set_result(await comm.read())

    listener = await listen("inproc://", handler)
    comm = await connect(listener.contact_address)
    x = np.arange(5)
    await comm.write({"v": Serialize(x), "nested": [(Serialize(b"ab"),)]})
    msg = await got
    assert msg["v"] is x and msg["nested"] == [(b"ab",)]
    await comm.close()
    listener.stop()


@run_async
async def test_many_messages_arrive_in_order_with_mixed_sizes(listen_address):
    listener, comm = await echo_pair(listen_address, deserialize_server=False)
    big = np.arange(200_000)
    for i in range(50):
        payload = Serialize(big) if i % 10 == 0 else i
        await comm.write({"i": i, "p": payload})
    for i in range(50):
        msg = await comm.read()
        assert msg["i"] == i
        if i % 10 == 0:
            np.testing.assert_array_equal(msg["p"], big)
    await comm.close()
    listener.stop()


@run_async
async def test_concurrent_writes_do_not_interleave(listen_address):
    listener, comm = await echo_pair(listen_address)
    arrays = [np.full(100_000, i) for i in range(8)]
    await asyncio.gather(*(comm.write({"i": i, "a": Serialize(a)}) for i, a in enumerate(arrays)))
    seen = set()
    for _ in arrays:
        msg = await comm.read()
        assert (msg["a"] == msg["i"]).all()
        seen.add(msg["i"])
    assert seen == set(range(8))
    await comm.close()
    listener.stop()


@run_async
async def test_unpicklable_write_fails_cleanly_and_comm_stays_usable(listen_address):
    import threading

    listener, comm = await echo_pair(listen_address)
    if listen_address.startswith("tcp"):
        with pytest.raises(SerializationError, match="_thread.lock"):
            await comm.write({"v": Serialize(threading.Lock())})
        with pytest.raises(TypeError, match="builtins.set"):
            await comm.write({"v": {1, 2}})
    await comm.write({"ok": 1})
    assert await comm.read() == {"ok": 1}
    await comm.close()
    listener.stop()


@run_async
async def test_closed_comm_raises(listen_address):
    listener, comm = await echo_pair(listen_address)
    await comm.close()
    assert comm.closed()
    with pytest.raises(CommClosedError):
        await comm.write({"x": 1})
    with pytest.raises(CommClosedError):
        await comm.read()
    await comm.close()  # idempotent
    comm.abort()
    listener.stop()


@run_async
async def test_peer_close_ends_pending_read(listen_address):
    server_side = asyncio.get_running_loop().create_future()

    async def keep(comm):
        server_side.set_result(comm)

    listener = await listen(listen_address, keep)
    comm = await connect(listener.contact_address)
    peer = await server_side
    reading = asyncio.ensure_future(comm.read())
    await asyncio.sleep(0.01)
    await peer.write({"last": True})
    await peer.close()
    assert await reading == {"last": True}  # what was sent before closing still arrives
    with pytest.raises(CommClosedError):
        await comm.read()
    assert comm.closed()
    with pytest.raises(CommClosedError):
        await comm.write({"x": 1})
    listener.stop()


@run_async
async def test_local_close_wakes_pending_read(listen_address):
    listener, comm = await echo_pair(listen_address)
    reading = asyncio.ensure_future(comm.read())
    await asyncio.sleep(0.01)
    await comm.close()
    with pytest.raises(CommClosedError):
        await reading
    listener.stop()


@run_async
async def test_abort(listen_address):
    listener, comm = await echo_pair(listen_address)
    comm.abort()
    assert comm.closed()
    with pytest.raises(CommClosedError):
        await comm.write({})
    listener.stop()


def _unused_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@run_async
async def test_connect_timeout_names_address():
    port = _unused_port()
    with pytest.raises(ConnectTimeoutError, match=rf"tcp://127.0.0.1:{port}") as info:
        await connect(f"tcp://127.0.0.1:{port}", timeout=0.2)
    assert isinstance(info.value, OSError) and isinstance(info.value, TimeoutError)
    with pytest.raises(ConnectTimeoutError, match="inproc://127.0.0.1/1/999999"):
        await connect("inproc://127.0.0.1/1/999999", timeout=0.1)


@run_async
async def test_connect_retries_until_server_appears():
    port = _unused_port()

    async def start_later():
        await asyncio.sleep(0.2)
        return await listen(f"tcp://127.0.0.1:{port}", echo)

    starter = asyncio.ensure_future(start_later())
    comm = await connect(f"tcp://127.0.0.1:{port}", timeout=5)
    await comm.write({"x": 1})
    assert await comm.read() == {"x": 1}
    await comm.close()
    (await starter).stop()


@run_async
async def test_bad_addresses():
    with pytest.raises(ValueError, match="unknown scheme 'udp'.*inproc://.*tcp://"):
        await connect("udp://127.0.0.1:1")
    with pytest.raises(ValueError, match="invalid port"):
        await connect("tcp://127.0.0.1:http")
    with pytest.raises(TypeError, match="address must be a string"):
        await connect(("127.0.0.1", 80))


@run_async
async def test_listener_stop_refuses_new_connections(listen_address):
    listener = await listen(listen_address, echo)
    address = listener.contact_address
    listener.stop()
    with pytest.raises(ConnectTimeoutError):
        await connect(address, timeout=0.2)


@run_async
async def test_inproc_address_in_use():
    listener = await listen("inproc://", echo)
    with pytest.raises(OSError, match="already in use"):
        await listen(listener.contact_address, echo)
    listener.stop()


def test_inproc_across_event_loops_on_threads():
    from plait.distributed.loop import LoopRunner

    with LoopRunner() as server_loop:
        listener = server_loop.run_sync(listen, "inproc://", echo)

        async def client():
            comm = await connect(listener.contact_address)
            for i in range(20):
                await comm.write({"i": i})
            out = [(await comm.read())["i"] for _ in range(20)]
            await comm.close()
            return out

        assert asyncio.run(client()) == list(range(20))
        listener.stop()


def _owner(array):
    """The array at the root of ``array``'s base chain (owns the memory)."""
    root = array
    while isinstance(getattr(root, "base", None), np.ndarray):
        root = root.base
    base = getattr(root, "base", None)
    while base is not None and not isinstance(base, np.ndarray):
        obj = getattr(base, "obj", None)  # memoryview / PickleBuffer wrappers
        if obj is None:
            break
        base = obj
    return base if isinstance(base, np.ndarray) else root


@run_async
async def test_received_frames_are_freed_without_the_cyclic_gc():
    import gc
    import weakref

    listener, comm = await echo_pair("tcp://127.0.0.1:0")
    gc.disable()
    try:
        await comm.write({"data": Serialize(np.arange(1_000_000))})
        msg = await comm.read()
        ref = weakref.ref(_owner(msg["data"]))
        assert ref() is not None
        del msg
        assert ref() is None  # no reference cycle keeps a received buffer alive
    finally:
        gc.enable()
    await comm.close()
    listener.stop()


@run_async
async def test_frame_sizes_around_the_large_frame_and_staging_limits():
    from plait.distributed.comm.tcp import LARGE_FRAME

    listener, comm = await echo_pair("tcp://127.0.0.1:0")
    sizes = [0, 1, LARGE_FRAME - 1, LARGE_FRAME, LARGE_FRAME + 1, 256 * 1024 - 3,
             256 * 1024 + 5, 3 * 2**20 + 7]
    payloads = [bytes([i % 251]) * n for i, n in enumerate(sizes)]
    # all in one message, and each in its own message written back to back
    await comm.write({"all": [Serialize(p) for p in payloads]})
    for p in payloads:
        await comm.write({"one": Serialize(p)})
    assert (await comm.read())["all"] == payloads
    for p in payloads:
        assert (await comm.read())["one"] == p
    await comm.close()
    listener.stop()


@run_async
async def test_many_frames_in_one_message():
    listener, comm = await echo_pair("tcp://127.0.0.1:0")
    # 40,000 frames: the length prefix alone outgrows the reader's staging buffer
    values = {("k", i): Serialize(str(i).encode()) for i in range(40_000)}
    await comm.write({"data": values, "array": Serialize(np.arange(5))})
    out = await comm.read()
    assert out["data"] == {k: v.data for k, v in values.items()}
    np.testing.assert_array_equal(out["array"], np.arange(5))
    await comm.close()
    listener.stop()


@run_async
async def test_unread_messages_pause_the_socket_and_resume():
    from plait.distributed.comm import tcp

    server_side = asyncio.get_running_loop().create_future()

    async def keep(comm):
        server_side.set_result(comm)

    listener = await listen("tcp://127.0.0.1:0", keep)
    comm = await connect(listener.contact_address)
    peer = await server_side
    n = tcp._MAX_QUEUED + 2_000
    for i in range(n):
        await comm.write({"i": i})
    for _ in range(1000):  # let the reader queue fill up
        if peer._protocol.reading_paused:
            break
        await asyncio.sleep(0.01)
    assert peer._protocol.reading_paused
    assert [(await peer.read())["i"] for _ in range(n)] == list(range(n))
    assert not peer._protocol.reading_paused
    await comm.close()
    await peer.close()
    listener.stop()


@run_async
async def test_garbage_from_a_non_plait_peer_drops_the_connection():
    handled = []

    async def handler(comm):  # never reached: the handshake fails first
        handled.append(comm)

    listener = await listen("tcp://127.0.0.1:0", handler)
    host, port = listener.contact_address[len("tcp://"):].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # the server hung up
    assert handled == []
    writer.close()
    listener.stop()


@run_async
async def test_listen_on_a_port_in_use_fails_clearly():
    listener = await listen("tcp://127.0.0.1:0", echo)
    with pytest.raises(OSError, match="address already in use"):
        await listen(listener.contact_address, echo)
    listener.stop()


@run_async
async def test_write_cancelled_halfway_closes_the_comm():
    server_side = asyncio.get_running_loop().create_future()

    async def keep(comm):  # never reads: the sender's large write cannot finish
        server_side.set_result(comm)

    listener = await listen("tcp://127.0.0.1:0", keep)
    comm = await connect(listener.contact_address)
    peer = await server_side
    peer._transport.pause_reading()  # socket buffers fill up, then the write waits
    writing = asyncio.ensure_future(comm.write({"x": Serialize(np.zeros(100 * 2**20 // 8))}))
    await asyncio.sleep(0.2)
    assert not writing.done()
    writing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writing
    assert comm.closed()  # half a message was sent: the stream is unusable
    with pytest.raises(CommClosedError):
        await comm.write({"y": 1})
    peer.abort()
    listener.stop()


def test_large_frames_do_not_import_numpy():
    # A scheduler only forwards bytes: receiving a big frame must not import NumPy.
    import subprocess
    import sys

    code = (
        "import asyncio, sys\n"
        "from plait.distributed.comm import Serialize, connect, listen\n"
        "async def main():\n"
        "    async def echo(c):\n"
        "        await c.write(await c.read())\n"
        "    listener = await listen('tcp://127.0.0.1:0', echo, deserialize=False)\n"
        "    comm = await connect(listener.contact_address)\n"
        "    await comm.write({'b': Serialize(b'x' * 300_000), 'k': [('k', 1)] * 20_000})\n"
        "    reply = await comm.read()\n"
        "    assert len(reply['b']) == 300_000 and reply['k'][-1] == ('k', 1)\n"
        "    await comm.close()\n"
        "    print('numpy' in sys.modules)\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=50)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@run_async
async def test_frame_limits_before_and_after_the_handshake():
    from plait import config

    got = []

    async def handler(comm):
        try:
            got.append(await comm.read())
            got.append(await comm.read())
        except CommClosedError as exc:
            got.append(exc)

    with config.set({"distributed.comm.max-frame-size": "1MiB"}):
        listener = await listen("tcp://127.0.0.1:0", handler, deserialize=False)
        comm = await connect(listener.contact_address, timeout=5)
    await comm.write({"small": b"x" * 1000})
    await comm.write({"big": b"x" * (2 << 20)})  # its 2 MiB frame is over the limit
    for _ in range(200):
        if len(got) == 2:
            break
        await asyncio.sleep(0.01)
    assert got[0] == {"small": b"x" * 1000}
    assert isinstance(got[1], CommClosedError)
    # Before the handshake only a few KiB are accepted: a peer announcing 64 KiB as
    # its hello is dropped before sending it.
    host, port = listener.contact_address[len("tcp://"):].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write((1).to_bytes(8, "little") + (65536).to_bytes(8, "little"))
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    await comm.close()
    listener.stop()

"""Wire fuzzing: whatever bytes a peer sends, only its own connection suffers.

Truncated frames, absurd length prefixes (up to 2**64 - 1), absurd frame counts,
garbage msgpack headers, random msgpack values and random bytes are sent before and
after a valid handshake (with a shared secret, so the authenticated path is fuzzed too)
to an rpc Server on a loop thread, and then to a real scheduler and worker process while
a computation runs: every connection ends, the servers keep answering, the computation's
result is right, and the servers' memory stays bounded.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import socket
import struct
import threading

import msgpack
import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plait.distributed.comm import dumps, loads
from plait.distributed.comm.serialize import frame_nbytes
from plait.distributed.core import ConnectionPool, Server
from plait.distributed.loop import LoopRunner
from plait.distributed.security import Security

SECRET = "fuzz-secret"
MAX_U64 = 2**64 - 1
DEFAULT_LIMIT = 4 * 2**30  # distributed.comm.max-frame-size

FUZZ = settings(deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))

# -- a blocking raw peer ---------------------------------------------------------------------


def frame(msg) -> bytes:
    """A message as it goes on the wire (see comm/tcp.py)."""
    frames = dumps(msg)
    lengths = [frame_nbytes(f) for f in frames]
    return (struct.pack(f"<{len(frames) + 1}Q", len(frames), *lengths)
            + b"".join(bytes(f) for f in frames))


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return bytes(out)


def _recv_message(sock: socket.socket):
    (n,) = struct.unpack("<Q", _recv_exact(sock, 8))
    lengths = struct.unpack(f"<{n}Q", _recv_exact(sock, 8 * n))
    return loads([_recv_exact(sock, k) for k in lengths], deserialize=False)


def open_peer(port: int, handshake: bool, secret: str | None = SECRET) -> socket.socket:
    """A TCP connection to 127.0.0.1:port, past the handshake when ``handshake``."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if handshake:
        mine = os.urandom(32)
        sock.sendall(frame({"plait-handshake": 1, "role": "client", "challenge": mine}))
        hello = _recv_message(sock)
        proof = None
        if secret is not None:
            proof = hmac.new(secret.encode(), b"plait client" + hello["challenge"] + mine,
                             hashlib.sha256).digest()
        sock.sendall(frame({"plait-handshake": 1, "proof": proof}))
        assert _recv_message(sock)["status"] == "OK"
    return sock


def ends(sock: socket.socket, payload: bytes, half_close: bool) -> bool:
    """Send ``payload`` (then close our writing side when ``half_close``) and read
    until the server ends the connection: True when it does within 10 s."""
    try:
        sock.sendall(payload)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        while sock.recv(1 << 16):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    finally:
        sock.close()


# -- what is sent ------------------------------------------------------------------------


def _prefix(nframes: int, lengths: list[int]) -> bytes:
    return struct.pack("<Q", nframes) + b"".join(struct.pack("<Q", n) for n in lengths)


absurd_lengths = st.one_of(st.sampled_from([2**63, MAX_U64, DEFAULT_LIMIT + 1, 2**40]),
                           st.integers(DEFAULT_LIMIT + 1, MAX_U64))
absurd_counts = st.one_of(st.sampled_from([2**63, MAX_U64, 2**24 + 1]),
                          st.integers(2**24 + 1, MAX_U64))

# Closed by the server on its own, as soon as the prefix is read.
self_closing = st.one_of(
    st.builds(lambda n, tail: _prefix(1, [n]) + tail, absurd_lengths, st.binary(max_size=64)),
    st.builds(lambda n, tail: _prefix(n, []) + tail, absurd_counts, st.binary(max_size=64)),
    st.builds(lambda k, n: _prefix(k, [5] * (k - 1) + [n]), st.integers(2, 4), absurd_lengths),
)

msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, MAX_U64) | st.floats()
    | st.text(max_size=20) | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=8) | st.integers(-2**63, MAX_U64), inner, max_size=5),
    max_leaves=20,
)


def _packed(value, op) -> bytes:
    if op is not None:
        value = {"op": op, "args": value}
    return msgpack.packb(value, use_bin_type=True)


def _ext(code: int, data: bytes) -> bytes:
    """A msgpack ext8 value with any type code (negative ones are msgpack's own)."""
    return b"\xc7" + bytes([len(data)]) + struct.pack("b", code) + data


headers = st.one_of(
    st.binary(min_size=1, max_size=300),                       # garbage header bytes
    st.builds(_packed, msgpack_values,                          # well-formed, wrong content
              st.none() | st.sampled_from(["identity", "ping", "no-such-op", "who_has",
                                           "ncores", "keys"])),
    st.builds(_ext, st.integers(-128, 127), st.binary(max_size=60)),  # stray extensions
)


@st.composite
def messages_then_anything(draw) -> bytes:
    """Framed headers (some with extra frames), possibly cut short, then random bytes."""
    out = b""
    for header in draw(st.lists(headers, min_size=1, max_size=3)):
        extra = draw(st.lists(st.binary(max_size=50), max_size=2))
        out += _prefix(1 + len(extra), [len(header)] + [len(e) for e in extra])
        out += header + b"".join(extra)
    cut = draw(st.integers(0, len(out)))
    return out[: len(out) - cut] + draw(st.binary(max_size=100))


half_closed = st.one_of(st.binary(max_size=2000), messages_then_anything())


# -- an rpc server on a loop thread ----------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    runner = LoopRunner(name="fuzz-server").start()

    async def start():
        s = Server({"ping": lambda comm: "pong"}, security=Security(secret=SECRET))
        await s.listen("tcp://127.0.0.1:0")
        return s

    s = runner.run_sync(start, timeout=10)
    port = int(s.address.rsplit(":", 1)[1])
    yield s, port, runner
    runner.run_sync(s.close, timeout=10)
    runner.stop()


def alive(address: str, runner: LoopRunner) -> bool:
    async def ping():
        async with ConnectionPool(security=Security(secret=SECRET), timeout=5) as pool:
            return await pool.send_recv(address, "ping")
    return runner.run_sync(ping, timeout=10) == "pong"


@pytest.fixture
def no_errors_logged(caplog):
    """Garbage is dropped with a warning, never by a crash: no ERROR record (asyncio's
    "Fatal error: protocol.buffer_updated() call failed", a handler's traceback)."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors[:3]]


@settings(FUZZ, max_examples=600)
@given(payload=self_closing, handshake=st.booleans())
def test_absurd_prefixes_drop_the_connection(server, no_errors_logged, payload, handshake):
    s, port, runner = server
    # Not half-closed: the server must hang up by itself, without waiting for more.
    assert ends(open_peer(port, handshake), payload, half_close=False)


@settings(FUZZ, max_examples=700)
@given(payload=st.binary(max_size=2000), handshake=st.booleans())
def test_random_bytes_drop_only_that_connection(server, no_errors_logged, payload,
                                                handshake):
    s, port, runner = server
    assert ends(open_peer(port, handshake), payload, half_close=True)


@settings(FUZZ, max_examples=700)
@given(payload=messages_then_anything(), handshake=st.booleans())
def test_truncated_frames_and_garbage_headers_drop_only_that_connection(
        server, no_errors_logged, payload, handshake):
    s, port, runner = server
    assert ends(open_peer(port, handshake), payload, half_close=True)


def test_server_survived_the_fuzzing(server):
    s, port, runner = server
    assert alive(s.address, runner)
    # Every fuzzing connection was dropped: none is left open on the server.
    assert runner.run_sync(_open_comms, s, timeout=10) == 0


async def _open_comms(s):
    import asyncio

    for _ in range(100):
        if not s.comms:
            break
        await asyncio.sleep(0.05)
    return len(s.comms)


# -- a real scheduler and worker, with a computation running -----------------------------


def _slow_square(x):
    import time

    time.sleep(0.002)
    return x * x


@settings(FUZZ, max_examples=1)
@given(data=st.data())
def test_fuzzing_a_real_cluster_while_it_computes(no_errors_logged, data):
    from plait.distributed import Client
    from plait.distributed.cluster import LocalCluster

    sec = Security(secret=SECRET)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, nanny=False,
                      memory_limit="1GB", security=sec) as cluster, \
            Client(cluster, set_as_default=False) as client:
        info = client.scheduler_info()["workers"]
        (worker_address,) = info
        worker = psutil.Process(info[worker_address]["pid"])
        me = psutil.Process()
        targets = [int(a.rsplit(":", 1)[1]) for a in (cluster.scheduler_address,
                                                      worker_address)]
        client.submit(sum, [1]).result()  # warm up before measuring memory
        rss_before = {"scheduler": me.memory_info().rss, "worker": worker.memory_info().rss}

        futures = client.map(_slow_square, range(400))
        total = client.submit(sum, futures)
        outcome: dict = {}
        done = threading.Event()

        def wait_for_result():
            try:
                outcome["value"] = total.result(timeout=120)
            except BaseException as exc:  # reported below
                outcome["error"] = exc
            done.set()

        threading.Thread(target=wait_for_result, daemon=True).start()
        # Draw the cases up front: hypothesis needs the same draws when it replays a
        # failure, and how long the computation runs depends on the machine.
        drawn = data.draw(st.lists(
            st.tuples(st.booleans(), st.one_of(self_closing.map(lambda p: (p, False)),
                                               half_closed.map(lambda p: (p, True)))),
            min_size=300, max_size=300))
        cases = 0
        dropped = 0
        # Fuzz for the whole computation (and at least the 300 cases drawn).
        while (cases < len(drawn) or not done.is_set()) and cases < 5000:
            port = targets[cases % 2]
            handshake, (payload, half) = drawn[cases % len(drawn)]
            dropped += ends(open_peer(port, handshake), payload, half_close=half)
            cases += 1
        assert dropped == cases
        assert done.wait(120), "the computation did not finish"
        assert outcome.get("value") == sum(i * i for i in range(400)), outcome
        # Both still serve, and hold no more than a little extra memory.
        assert client.submit(_slow_square, 12).result(timeout=30) == 144
        growth = {"scheduler": me.memory_info().rss - rss_before["scheduler"],
                  "worker": worker.memory_info().rss - rss_before["worker"]}
        print(f"fuzz figures: {cases} cases on a live cluster, RSS growth MiB "
              f"{ {k: round(v / 2**20, 1) for k, v in growth.items()} }")
        assert max(growth.values()) < 64 * 2**20, growth


@pytest.mark.stress
@pytest.mark.timeout(600)  # about 2 minutes on a busy 2-core machine
@settings(FUZZ, max_examples=20_000)
@given(payload=st.one_of(self_closing.map(lambda p: (p, False)),
                         half_closed.map(lambda p: (p, True))),
       handshake=st.booleans())
def test_stress_twenty_thousand_cases(server, no_errors_logged, payload, handshake):
    s, port, runner = server
    data, half = payload
    assert ends(open_peer(port, handshake), data, half_close=half)

"""Security: the Security object, TLS, the shared-secret handshake, exposure rules, and
"no connection without the secret or TLS gets in, nor makes the server run code"."""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import struct

import numpy as np
import pytest

from plait import config
from plait.distributed.comm import (
    AuthenticationError, CommClosedError, Serialize, Serialized, connect, dumps, listen, loads,
)
from plait.distributed.comm.core import _check_exposure, backends
from plait.distributed.comm.serialize import frame_nbytes
from plait.distributed.core import ConnectionPool, Server
from plait.distributed.security import Security, resolve_security
from plait.distributed.testing import run_async



@pytest.fixture(autouse=True)
def _no_ambient_secret(monkeypatch):
    """These tests say which secret each side has: none from the environment."""
    monkeypatch.delenv("PLAIT_SECRET", raising=False)


# -- the Security object ------------------------------------------------------------------


def test_repr_never_shows_the_secret_or_keys():
    sec = Security.temporary(secret="hunter2")
    text = repr(sec)
    assert "hunter2" not in text and "PRIVATE KEY" not in text
    assert "secret='***'" in text and "tls_worker_key='***'" in text
    assert "tls_ca_file=<PEM text>" in text and "require_encryption=True" in text


def test_pickles_and_its_tls_contexts_work_after():
    sec = Security.temporary(secret=b"k")
    sec.ssl_context("worker", server_side=True)  # cached contexts must not break pickling
    back = pickle.loads(pickle.dumps(sec))
    assert back == sec and back.secret_bytes == b"k"
    assert back.ssl_context("client", server_side=False).verify_mode.name == "CERT_REQUIRED"


def test_from_config_and_environment(monkeypatch):
    monkeypatch.delenv("PLAIT_SECRET", raising=False)
    assert Security.from_config().secret is None
    monkeypatch.setenv("PLAIT_SECRET", "from-env")
    assert Security.from_config().secret == "from-env"
    with config.set({"distributed.security.secret": "from-config",
                     "distributed.security.require-encryption": True}):
        sec = Security.from_config()
        assert sec.secret == "from-config" and sec.require_encryption is True
    # An explicit argument wins; security=False ignores config and environment.
    assert Security(secret="arg").secret == "arg"
    insecure = resolve_security(False)
    assert insecure.insecure and insecure.secret is None and not insecure.require_encryption


def test_bad_arguments_name_the_fix():
    with pytest.raises(ValueError, match="tls_min_version"):
        Security(tls_min_version="1.0")
    with pytest.raises(TypeError, match="security=True"):
        resolve_security(True)
    with pytest.raises(TypeError, match="Security"):
        resolve_security("secret")
    with pytest.raises(ValueError, match="tls_ca_file"):
        Security(tls_worker_cert="x").ssl_context("worker", server_side=True)


def test_tls_files_on_disk_work_like_pem_text(tmp_path):
    sec = Security.temporary()
    paths = {}
    for name in ("tls_ca_file", "tls_worker_cert", "tls_worker_key"):
        path = tmp_path / f"{name}.pem"
        path.write_text(getattr(sec, name))
        paths[name] = str(path)
    from_files = Security(**paths, tls_client_cert=sec.tls_client_cert,
                          tls_client_key=sec.tls_client_key)

    @run_async
    async def check():
        listener = await listen("tls://127.0.0.1:0", echo, security=from_files, role="worker")
        comm = await connect(listener.contact_address, security=sec, timeout=5)
        await comm.write({"x": 1})
        assert await comm.read() == {"x": 1}
        await comm.close()
        listener.stop()

    check()


# -- TLS ----------------------------------------------------------------------------------


async def echo(comm):
    while True:
        try:
            msg = await comm.read()
        except CommClosedError:
            return
        await comm.write(msg)


@run_async
async def test_tls_roundtrip_with_large_buffers():
    sec = Security.temporary()
    listener = await listen("tls://127.0.0.1:0", echo, security=sec, deserialize=False)
    assert listener.contact_address.startswith("tls://127.0.0.1:")
    comm = await connect(listener.contact_address, security=sec, timeout=5)
    assert comm.peer_address == listener.contact_address
    x = np.random.default_rng(0).random(1_000_000)  # 8 MB: the chunked write path
    await comm.write({"x": Serialize(x), "small": [1, ("k", 2)]})
    back = await comm.read()
    np.testing.assert_array_equal(back["x"], x)
    assert back["small"] == [1, ("k", 2)]
    await comm.close()
    listener.stop()


@run_async
async def test_tls_refuses_other_cas_and_plain_peers():
    sec, other = Security.temporary(), Security.temporary()
    listener = await listen("tls://127.0.0.1:0", echo, security=sec)
    port = listener.contact_address.rsplit(":", 1)[1]
    # The server's certificate is not signed by the client's CA.
    with pytest.raises(AuthenticationError, match="TLS handshake"):
        await connect(listener.contact_address, security=other, timeout=5)
    # The client trusts the server, but its own certificate is from another CA.
    mixed = Security(tls_ca_file=sec.tls_ca_file, tls_client_cert=other.tls_client_cert,
                     tls_client_key=other.tls_client_key)
    with pytest.raises(AuthenticationError):
        await connect(listener.contact_address, security=mixed, timeout=5)
    # Plain TCP to the TLS port, and TLS to a plain port: refused at once, not retried.
    with pytest.raises(AuthenticationError):
        await connect(f"tcp://127.0.0.1:{port}", security=False, timeout=5)
    plain = await listen("tcp://127.0.0.1:0", echo)
    with pytest.raises(AuthenticationError):
        await connect(plain.contact_address.replace("tcp://", "tls://"), security=sec,
                      timeout=5)
    listener.stop()
    plain.stop()


@run_async
async def test_require_encryption_refuses_plain_tcp_but_not_inproc():
    sec = Security(require_encryption=True, secret=None)
    with pytest.raises(ValueError, match="tls://"):
        await listen("tcp://127.0.0.1:0", echo, security=sec)
    with pytest.raises(ValueError, match="encryption is required"):
        await connect("tcp://127.0.0.1:9", security=sec, timeout=1)
    listener = await listen("inproc://", echo, security=sec)  # never leaves the process
    comm = await connect(listener.contact_address, security=sec)
    await comm.write({"a": 1})
    assert await comm.read() == {"a": 1}
    await comm.close()
    listener.stop()


# -- exposure -----------------------------------------------------------------------------


@run_async
async def test_non_loopback_listen_needs_tls_a_secret_or_an_explicit_opt_in(caplog):
    with pytest.raises(ValueError, match="security=False"):
        await listen("tcp://0.0.0.0:0", echo, security=Security(secret=None))
    with pytest.raises(ValueError, match="--insecure"):
        await listen("tcp://10.1.2.3:0", echo, security=None)
    tcp = backends["tcp"]
    # Allowed (checked without binding: tests listen on 127.0.0.1 only).
    _check_exposure("tcp", tcp, "0.0.0.0:8786", Security(secret="s"), "tcp://0.0.0.0:8786")
    _check_exposure("tcp", tcp, "127.0.0.1:8786", Security(secret=None), "tcp://127.0.0.1:8786")
    _check_exposure("tcp", tcp, "localhost:8786", Security(secret=None), "tcp://localhost:8786")
    _check_exposure("tls", backends["tls"], "0.0.0.0:8786", Security(), "tls://0.0.0.0:8786")
    with caplog.at_level(logging.WARNING, logger="plait.distributed.comm"):
        _check_exposure("tcp", tcp, "0.0.0.0:8786", resolve_security(False),
                        "tcp://0.0.0.0:8786")
    assert "every interface of this machine" in caplog.text and "port 8786" in caplog.text


# -- the shared secret --------------------------------------------------------------------


@pytest.fixture(params=["tcp://127.0.0.1:0", "inproc://"], ids=["tcp", "inproc"])
def address(request):
    return request.param


@run_async
async def test_same_secret_connects(address):
    sec = Security(secret="correct horse")
    listener = await listen(address, echo, security=sec, deserialize=False)
    comm = await connect(listener.contact_address, security=sec, timeout=5)
    await comm.write({"big": Serialize(np.arange(100_000))})  # past the pre-auth limits
    np.testing.assert_array_equal((await comm.read())["big"], np.arange(100_000))
    await comm.close()
    listener.stop()


@run_async
async def test_wrong_or_missing_secret_is_refused_and_logged(address, caplog):
    handled = []

    async def handler(comm):
        handled.append(comm)
        await echo(comm)

    listener = await listen(address, handler, security=Security(secret="right"))
    with caplog.at_level(logging.WARNING, logger="plait.distributed.comm"):
        with pytest.raises(AuthenticationError, match="shared secret presented is wrong"):
            await connect(listener.contact_address, security=Security(secret="wrong"),
                          timeout=5)
        with pytest.raises(AuthenticationError, match="PLAIT_SECRET"):
            await connect(listener.contact_address, security=False, timeout=5)
        await asyncio.sleep(0.05)
    assert handled == []
    assert caplog.text.count("refused a connection") == 2
    assert "right" not in caplog.text  # the secret is never logged
    listener.stop()


@run_async
async def test_client_with_a_secret_refuses_a_server_without_one(address):
    handled = []

    async def handler(comm):
        handled.append(comm)

    listener = await listen(address, handler, security=False)
    with pytest.raises(AuthenticationError, match="does not ask for a shared secret"):
        await connect(listener.contact_address, security=Security(secret="s"), timeout=5)
    listener.stop()


@run_async
async def test_secret_and_tls_together():
    sec = Security.temporary(secret="both")
    listener = await listen("tls://127.0.0.1:0", echo, security=sec)
    comm = await connect(listener.contact_address, security=sec, timeout=5)
    await comm.write({"k": ("a", 1)})
    assert await comm.read() == {"k": ("a", 1)}
    await comm.close()
    no_secret = Security.temporary()
    no_secret.tls_ca_file, no_secret.tls_client_cert, no_secret.tls_client_key = (
        sec.tls_ca_file, sec.tls_client_cert, sec.tls_client_key)
    no_secret.secret = None
    with pytest.raises(AuthenticationError, match="requires a shared secret"):
        await connect(listener.contact_address, security=no_secret, timeout=5)
    listener.stop()


@run_async
async def test_server_and_pool_use_their_security():
    sec = Security(secret="pool")
    server = Server({"ping": lambda comm: "pong"}, security=sec)
    await server.listen("tcp://127.0.0.1:0")
    async with ConnectionPool(security=sec) as pool:
        assert await pool.send_recv(server.address, "ping") == "pong"
    async with ConnectionPool(security=Security(secret="nope"), timeout=5) as pool:
        with pytest.raises(AuthenticationError):
            await pool.send_recv(server.address, "ping")
        assert pool.open == 0
    await server.close()


# -- attacks: raw bytes from a peer without the secret ------------------------------------


class _Touch:
    """Unpickling this creates the file at ``path``: proof that code ran."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _frame(msg) -> bytes:
    frames = dumps(msg)
    lengths = [frame_nbytes(f) for f in frames]
    return (struct.pack(f"<{len(frames) + 1}Q", len(frames), *lengths)
            + b"".join(bytes(f) for f in frames))


async def _read_message(reader, limit=1 << 16):
    (n,) = struct.unpack("<Q", await reader.readexactly(8))
    lengths = struct.unpack(f"<{n}Q", await reader.readexactly(8 * n))
    assert sum(lengths) < limit
    return loads([await reader.readexactly(k) for k in lengths], deserialize=False)


def _evil(path: str) -> Serialized:
    return Serialized({"serializer": "pickle", "type": "x"}, [pickle.dumps(_Touch(path))])


async def _attack(host: str, port: int, kind: str, path: str, replay: dict) -> bool:
    """One connection attempt of ``kind``; True when the server hung up on it without
    handing it over (reading the server's answers never unpickles anything)."""
    reader, writer = await asyncio.open_connection(host, port)
    evil = {"op": "register-client", "client": "x", "data": _evil(path)}
    hello = {"plait-handshake": 1, "role": "client", "challenge": os.urandom(32)}
    try:
        if kind == "no-handshake":
            writer.write(_frame(evil))
        elif kind == "evil-challenge":
            writer.write(_frame({**hello, "challenge": _evil(path)}))
        else:
            writer.write(_frame(hello))
            server_hello = await asyncio.wait_for(_read_message(reader), 5)
            assert server_hello["secret"] is True
            proof = {"no-proof": None, "wrong-proof": os.urandom(32),
                     "evil-proof": _evil(path),
                     "replayed-proof": replay.get("proof", os.urandom(32))}[kind]
            # The attacker pipelines its payload right behind the proof.
            writer.write(_frame({"plait-handshake": 1, "proof": proof}) + _frame(evil))
        await writer.drain()
        while True:  # whatever comes back, the connection must end
            data = await asyncio.wait_for(reader.read(1 << 16), 5)
            if not data:
                return True
            if b"refused" not in data:
                return False
    except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError):
        return True
    finally:
        writer.close()


ATTACKS = ["no-handshake", "evil-challenge", "no-proof", "wrong-proof", "evil-proof",
           "replayed-proof"]


async def _recorded_proof(address: str, sec: Security) -> dict:
    """A real client's proof message, captured (for the replay attack)."""
    from plait.distributed.comm import handshake

    captured: dict = {}
    original = handshake._proof

    def spy(secret, label, cs, cc):
        value = original(secret, label, cs, cc)
        if label == b"plait client":
            captured["proof"] = value
        return value

    handshake._proof = spy
    try:
        comm = await connect(address, security=sec, role="client", timeout=5)
        await comm.close()
    finally:
        handshake._proof = original
    return captured


@run_async(timeout=50)
async def test_no_attempt_without_the_secret_gets_in_or_runs_code(tmp_path):
    """100% of attempts without the secret are refused, against a comm listener that
    unpickles (deserialize=True), a real Scheduler and a real Worker; none creates the
    file its pickled payload would create; the cluster computes afterwards."""
    from plait.distributed import Client
    from plait.distributed.testing import in_process_cluster

    sec = Security(secret="the real one")
    path = str(tmp_path / "pwned")
    handled = []

    async def handler(comm):
        handled.append(await comm.read())

    listener = await listen("tcp://127.0.0.1:0", handler, security=sec, deserialize=True)
    async with in_process_cluster(n_workers=1, protocol="tcp",
                                  scheduler_kwargs={"security": sec}, security=sec) as (s, ws):
        targets = [listener.contact_address, s.address, ws[0].address]
        outcomes = []
        for target in targets:
            host, port = target[len("tcp://"):].rsplit(":", 1)
            replay = await _recorded_proof(target, sec)
            for _ in range(5):
                for kind in ATTACKS:
                    outcomes.append(await _attack(host, int(port), kind, path, replay))
        assert len(outcomes) == 3 * 5 * len(ATTACKS)
        assert all(outcomes), f"{outcomes.count(False)} attempts were not refused"
        assert handled == []
        assert not os.path.exists(path)
        async with Client(s.address, asynchronous=True, security=sec) as client:
            assert await client.submit(sum, [1, 2, 3]) == 6
    listener.stop()
    assert not os.path.exists(path)


@run_async(timeout=50)
async def test_tls_required_refuses_every_plain_attempt(tmp_path):
    from plait.distributed import Client
    from plait.distributed.testing import in_process_cluster

    sec = Security.temporary()
    path = str(tmp_path / "pwned")
    async with in_process_cluster(n_workers=1, protocol="tls",
                                  scheduler_kwargs={"security": sec}, security=sec) as (s, ws):
        assert s.address.startswith("tls://") and ws[0].address.startswith("tls://")
        outcomes = []
        for target in (s.address, ws[0].address):
            host, port = target[len("tls://"):].rsplit(":", 1)
            for _ in range(5):
                for kind in ("no-handshake", "evil-challenge"):
                    outcomes.append(await _attack(host, int(port), kind, path, {}))
        assert all(outcomes) and len(outcomes) == 20
        assert not os.path.exists(path)
        async with Client(s.address, asynchronous=True, security=sec) as client:
            assert await client.submit(sum, [1, 2, 3]) == 6


# -- whole clusters -----------------------------------------------------------------------


def test_process_cluster_with_tls_and_a_secret():
    """LocalCluster(security=...) hands the Security to its worker processes; a client
    of the cluster object uses it; a client without it is refused, naming the address."""
    from plait.distributed import Client
    from plait.distributed.cluster import LocalCluster

    sec = Security.temporary(secret="cluster secret")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, protocol="tls",
                      memory_limit="512MB", security=sec) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        with Client(cluster, set_as_default=False) as client:
            assert client.security == sec
            (worker,) = client.scheduler_info()["workers"]
            assert worker.startswith("tls://")
            x = np.arange(200_000.0)
            [fx] = client.scatter([x])
            assert client.submit(np.sum, fx).result(timeout=30) == x.sum()
        wrong = Security.temporary(secret="cluster secret")  # another CA
        with pytest.raises(OSError, match=address):
            Client(address, security=wrong, timeout=5, set_as_default=False)
        no_secret = Security(**{k: getattr(sec, k) for k in (
            "tls_ca_file", "tls_client_cert", "tls_client_key")}, secret=None)
        no_secret.secret = None
        with pytest.raises(AuthenticationError, match="shared secret"):
            Client(address, security=no_secret, timeout=5, set_as_default=False)


def test_local_cluster_security_true_and_client_security_true():
    from plait.distributed import Client

    with Client(n_workers=1, threads_per_worker=1, processes=False, protocol="tls",
                security=True, set_as_default=False) as client:
        assert client.security.require_encryption and client.security.tls_ca_file
        assert client.scheduler_address.startswith("tls://")
        assert client.submit(sum, [1, 2]).result(timeout=30) == 3
    with pytest.raises(TypeError, match="cluster.security"):
        Client("tcp://127.0.0.1:1", security=True)


@run_async
async def test_client_of_a_scheduler_object_uses_its_security():
    from plait.distributed import Client
    from plait.distributed.testing import in_process_cluster

    sec = Security(secret="object")
    async with in_process_cluster(n_workers=1, protocol="tcp",
                                  scheduler_kwargs={"security": sec}, security=sec) as (s, _):
        async with Client(s, asynchronous=True, set_as_default=False) as client:
            assert client.security == sec
            assert await client.submit(sum, [4, 5]) == 9
        with pytest.raises(AuthenticationError, match=s.address):
            await Client(s.address, asynchronous=True, set_as_default=False,
                         security=Security(secret="other"), timeout=5)

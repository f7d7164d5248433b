"""Worker(security=...) reaches its listener, the scheduler connection and its peers."""

from __future__ import annotations

import pytest

from plait.distributed.comm.core import AuthenticationError
from plait.distributed.core import ConnectionPool
from plait.distributed.security import Security
from plait.distributed.testing import FakeScheduler, run_async
from plait.distributed.worker import Worker
from plait.graph.spec import Ref


def inc(x: int) -> int:
    return x + 1


async def secured_scheduler(security: Security, address: str) -> FakeScheduler:
    s = FakeScheduler()
    s.security = security  # what Server(security=...) would set
    await s.listen(address)
    return s


@pytest.mark.parametrize("kind", ["secret", "tls"])
@run_async(timeout=50)
async def test_workers_with_the_cluster_security_register_and_share_data(kind):
    if kind == "secret":
        sec, address = Security(secret="worker-test-secret"), "tcp://127.0.0.1:0"
    else:
        sec, address = Security.temporary(), "tls://127.0.0.1:0"
    s = await secured_scheduler(sec, address)
    a = await Worker(s.address, security=sec).start()
    b = await Worker(s.address, security=sec).start()
    try:
        scheme = "tls://" if kind == "tls" else "tcp://"
        assert a.address.startswith(scheme) and b.address.startswith(scheme)
        s.compute(a.address, "x", inc, 1)
        await s.wait_for("task-finished", key="x")
        # b fetches x from a: the peer connection carries the same security.
        s.compute(b.address, "y", inc, Ref("x"), who_has={"x": [a.address]})
        await s.wait_for("task-finished", key="y")
        assert b.data["y"] == 3
        # The worker's own listener refuses a caller without the secret / certificate.
        # (TLS: a certificate from another authority.)
        stranger = Security.temporary() if kind == "tls" else False
        pool = ConnectionPool(limit=1, timeout=2, security=stranger)
        with pytest.raises((AuthenticationError, OSError)):
            await pool.send_recv(a.address, "identity")
        await pool.close()
        assert a.data["x"] == 2
    finally:
        await a.close()
        await b.close()
        await s.close()


@run_async(timeout=50)
async def test_a_worker_without_the_secret_cannot_register():
    s = await secured_scheduler(Security(secret="right"), "tcp://127.0.0.1:0")
    try:
        with pytest.raises(AuthenticationError):
            await Worker(s.address, security=Security(secret="wrong")).start()
        with pytest.raises(AuthenticationError):
            await Worker(s.address, security=False).start()
        assert s.registered == {}
    finally:
        await s.close()

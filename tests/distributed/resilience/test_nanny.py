"""The nanny on its own: a clean exit closes it, deaths are reported and restarted up to
``max-restarts``, its rpcs; the scheduler waits a moment for the nanny's reason."""

from __future__ import annotations

import asyncio
import os
import signal

import psutil

from plait.distributed.core import ConnectionPool
from plait.distributed.nanny import Nanny, death_reason
from plait.distributed.scheduler import Scheduler
from plait.distributed.testing import async_wait_until, run_async


def removals(s, address):
    return [m for _, m in s.state.events.get("worker-removed", ()) if m["worker"] == address]


@run_async(timeout=60)
async def test_deaths_reported_restarted_until_max_restarts_then_nanny_gives_up():
    async with Scheduler(port=0) as s:
        nanny = await Nanny(s.address, name="n", max_restarts=1).start()
        try:
            first = nanny.worker_address
            await async_wait_until(lambda: first in s.state.workers
                                   and s.state.workers[first].nanny == nanny.address)
            os.kill(nanny.pid, signal.SIGKILL)
            await async_wait_until(lambda: nanny.worker_address != first
                                   and nanny.worker_address in s.state.workers, timeout=30)
            assert removals(s, first)[-1]["reason"] == "signal"
            assert removals(s, first)[-1]["detail"] == "killed by SIGKILL"
            second = nanny.worker_address
            os.kill(nanny.pid, signal.SIGTERM)  # a clean close on SIGTERM exits 0 ...
            await async_wait_until(lambda: nanny.status == "closed", timeout=30)
            # ... so the nanny took it as the worker leaving on purpose: no restart.
            assert nanny.total_restarts == 1 and second not in s.state.workers
            assert not removals(s, second) or removals(s, second)[-1]["safe"]
        finally:
            await nanny.close()


@run_async(timeout=60)
async def test_max_restarts_reached():
    async with Scheduler(port=0) as s:
        nanny = await Nanny(s.address, max_restarts=1).start()
        try:
            for _ in range(2):
                address, pid = nanny.worker_address, nanny.pid
                await async_wait_until(lambda: address in s.state.workers, timeout=30)
                os.kill(pid, signal.SIGKILL)
                await async_wait_until(
                    lambda: nanny.status == "closed" or (
                        nanny.worker_address not in (None, address)
                        and nanny.worker_address in s.state.workers), timeout=30)
            await async_wait_until(lambda: nanny.status == "closed", timeout=30)
            assert nanny.total_restarts == 1 and len(nanny.deaths) == 2
            assert not nanny.is_alive() and not s.state.workers
        finally:
            await nanny.close()


@run_async(timeout=60)
async def test_rpcs_identity_kill_and_close():
    async with Scheduler(port=0) as s, ConnectionPool(limit=2) as pool:
        nanny = await Nanny(s.address, name="r").start()
        try:
            info = await pool.send_recv(nanny.address, "identity")
            assert info["type"] == "Nanny" and info["worker"] == nanny.worker_address
            assert info["pid"] == nanny.pid != os.getpid()
            old = nanny.worker_address
            await pool.send_recv(nanny.address, "kill")
            await async_wait_until(lambda: nanny.worker_address != old
                                   and nanny.worker_address in s.state.workers, timeout=30)
            pid = nanny.pid
            await pool.send_recv(nanny.address, "close")
            await async_wait_until(lambda: nanny.status == "closed", timeout=30)
            await async_wait_until(lambda: not psutil.pid_exists(pid)
                                   or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
        finally:
            await nanny.close()


@run_async(timeout=30)
async def test_scheduler_waits_briefly_for_the_nannys_reason():
    # The stream of a worker with a nanny closes first; the reason comes after.
    async with Scheduler(port=0, dashboard_address=None) as s:
        from plait.distributed.worker import Worker

        s.death_report_timeout = 30.0  # a loaded machine must not end the wait early
        w = await Worker(s.address).start()
        s.register_nanny(worker=w.address, nanny="tcp://127.0.0.1:9")
        assert s.state.workers[w.address].nanny == "tcp://127.0.0.1:9"
        w.batched_stream.abort()  # as if the process died
        await asyncio.sleep(0.2)
        assert w.address in s.state.workers  # waiting for the report
        s.worker_died(address=w.address, reason="memory", detail="RSS past 95%")
        await async_wait_until(lambda: w.address not in s.state.workers, timeout=5)
        assert removals(s, w.address)[-1]["reason"] == "memory"
        await w.close(report=False)


def test_death_reasons():
    assert death_reason(-signal.SIGKILL) == ("signal", "killed by SIGKILL")
    assert death_reason(-signal.SIGSEGV) == ("signal", "killed by SIGSEGV")
    assert death_reason(1) == ("exit", "exit code 1")
    assert death_reason(-9, "over the limit") == ("memory", "over the limit")


def test_nanny_cluster_with_tls_and_a_secret_restarts_workers():
    # The Security reaches the worker processes through their stdin: neither the
    # secret nor any key appears on a command line; the nanny listens on tls:// and
    # its death reports pass the secret check.
    from plait.distributed import Client
    from plait.distributed.cluster import LocalCluster
    from plait.distributed.security import Security
    from plait.distributed.testing import wait_until

    sec = Security.temporary(secret="nanny secret 42")
    with LocalCluster(n_workers=1, threads_per_worker=1, memory_limit=None,
                      security=sec) as cluster, \
            Client(cluster, set_as_default=False) as client:
        (nanny,) = cluster.workers.values()
        assert cluster.scheduler_address.startswith("tls://")
        assert nanny.address.startswith("tls://") and nanny.worker_address.startswith("tls://")
        cmdline = " ".join(psutil.Process(nanny.pid).cmdline())
        assert "nanny secret 42" not in cmdline and "PRIVATE KEY" not in cmdline
        assert "scheduler_address" not in cmdline  # the whole spec went through stdin
        assert client.submit(sum, [1, 2]).result(timeout=30) == 3
        old = nanny.worker_address
        os.kill(nanny.pid, signal.SIGKILL)
        state = cluster.scheduler.state
        wait_until(lambda: nanny.worker_address not in (None, old)
                   and nanny.worker_address in state.workers, timeout=60)
        assert removals(cluster.scheduler, old)[-1]["detail"] == "killed by SIGKILL"
        assert client.submit(sum, [3, 4]).result(timeout=30) == 7

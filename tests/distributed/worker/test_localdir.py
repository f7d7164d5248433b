"""Worker directories: removed on close and on SIGTERM; a killed worker's is removed by
the next worker that starts in the same place, a live worker's never."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from plait import config
from plait.distributed.cluster.worker_process import WorkerProcess
from plait.distributed.scheduler import Scheduler
from plait.distributed.testing import async_wait_until, run_async
from plait.distributed.worker import Worker
from plait.distributed.worker.localdir import (
    LOCK_NAME,
    PREFIX,
    LocalDirectory,
    clean_stale_directories,
)

HOLD = textwrap.dedent("""
    import sys, time
    from plait.distributed.worker.localdir import LocalDirectory
    d = LocalDirectory(sys.argv[1])
    open(d.path + "/data.spill", "wb").write(b"x" * 1000)
    print(d.path, flush=True)
    time.sleep(60)
""")


def hold_directory(base: str) -> tuple[subprocess.Popen, str]:
    """A child process that makes a worker directory in ``base`` and waits."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))))] + sys.path))
    proc = subprocess.Popen([sys.executable, "-c", HOLD, base], stdout=subprocess.PIPE,
                            env=env)
    path = proc.stdout.readline().decode().strip()
    return proc, path


def test_a_killed_owner_s_directory_is_removed_a_live_one_is_kept(tmp_path):
    base = str(tmp_path)
    live, live_path = hold_directory(base)
    dead, dead_path = hold_directory(base)
    try:
        os.kill(dead.pid, signal.SIGKILL)
        dead.wait(10)
        unrelated = tmp_path / "plait-worker-notours"  # no lock file: not touched
        unrelated.mkdir()
        other = tmp_path / "something-else"
        other.mkdir()
        assert os.path.isdir(dead_path) and os.path.isdir(live_path)
        mine = LocalDirectory(base)
        assert mine.removed_stale == [dead_path]
        assert not os.path.exists(dead_path)
        assert os.path.isfile(os.path.join(live_path, "data.spill"))
        assert unrelated.is_dir() and other.is_dir()
        assert clean_stale_directories(base) == []  # mine is locked too
        mine.close()
        assert not os.path.exists(mine.path)
    finally:
        live.kill()
        live.wait(10)
    # Its owner gone, the live one is stale now.
    assert clean_stale_directories(base) == [live_path]


def test_directories_left_open_are_removed_when_the_interpreter_exits(tmp_path):
    code = ("import sys; from plait.distributed.worker.localdir import LocalDirectory; "
            "d = LocalDirectory(sys.argv[1]); open(d.path + '/f', 'w').write('x'); "
            "print(d.path)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip().startswith(str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_lock_file_names_its_pid(tmp_path):
    d = LocalDirectory(str(tmp_path))
    assert os.path.basename(d.path).startswith(PREFIX)
    with open(os.path.join(d.path, LOCK_NAME)) as f:
        assert f.read() == str(os.getpid())
    d.close()


@run_async
async def test_worker_removes_its_directory_on_close(tmp_path):
    s = await Scheduler(protocol="inproc").start()
    # A limit far above this process's RSS; a target far below the value.
    w = await Worker(s.address, local_directory=str(tmp_path), memory_limit="100GB",
                     memory_target_fraction=1e-6).start()
    w.update_data(data={"x": np.arange(200_000)})
    assert w.data.on_disk == ["x"]
    assert len(os.listdir(tmp_path)) == 1
    await w.close()
    await s.close()
    assert os.listdir(tmp_path) == []


def _spill_something(plait_worker=None):
    plait_worker.update_data(data={"big": np.arange(300_000)})
    plait_worker.data.evict()
    return plait_worker.local_directory, plait_worker.data.on_disk


@run_async(timeout=50)
async def test_sigterm_removes_the_directory_and_sigkill_leaves_it_to_the_next(tmp_path):
    from plait.distributed import Client

    base = str(tmp_path)
    s = await Scheduler(protocol="tcp").start()
    kwargs = {"local_directory": base, "memory_limit": 200_000_000}
    try:
        wp = await WorkerProcess(s.address, **kwargs).start()
        async with Client(s.address, asynchronous=True) as c:
            await async_wait_until(lambda: len(s.state.workers) == 1, timeout=20)
            directory = os.listdir(base)
            assert len(directory) == 1
            # A round trip: the worker's loop is past start-up, its SIGTERM handler set.
            assert list((await c.run(os.getpid)).values()) == [wp.pid]
            os.kill(wp.pid, signal.SIGTERM)
            await async_wait_until(lambda: not wp.is_alive(), timeout=20)
            wp.kill()  # reaps it
            assert os.listdir(base) == []  # closed cleanly: removed

            killed = await WorkerProcess(s.address, **kwargs).start()
            await async_wait_until(lambda: len(s.state.workers) == 1, timeout=20)
            (where, on_disk), = (await c.run(_spill_something)).values()
            assert on_disk == ["big"] and os.listdir(os.path.join(where, "storage"))
            killed.kill()  # SIGKILL: no chance to clean up
            assert os.listdir(base) == [os.path.basename(where)]

            nxt = await WorkerProcess(s.address, **kwargs).start()
            assert len(os.listdir(base)) == 1 and not os.path.exists(where)
            await nxt.close()
    finally:
        await s.close()
    assert os.listdir(base) == []


@run_async
async def test_a_worker_that_fails_to_start_leaves_no_directory(tmp_path):
    import socket

    s = await Scheduler(protocol="tcp").start()
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        w = Worker(s.address, port=taken.getsockname()[1], local_directory=str(tmp_path),
                   memory_limit="1GB")
        try:
            await w.start()
        except OSError:
            pass
        else:  # a platform that allowed the shared port: nothing to check
            await w.close()
        assert w.status == "closed" and os.listdir(tmp_path) == []
        # A scheduler that is not there: registration fails, the directory goes too.
        with config.set({"distributed.comm.timeouts.connect": "0.3s"}):
            w2 = Worker("tcp://127.0.0.1:9", local_directory=str(tmp_path))
            with pytest.raises(OSError):
                await w2.start()
        assert w2.status == "closed" and os.listdir(tmp_path) == []
    finally:
        taken.close()
        await s.close()


@run_async
async def test_a_close_that_fails_halfway_still_ends_closed_and_clean(tmp_path):
    s = await Scheduler(protocol="inproc").start()
    w = await Worker(s.address, local_directory=str(tmp_path)).start()

    async def broken() -> None:
        raise RuntimeError("peer pool would not close")

    w.peers.close = broken
    with pytest.raises(RuntimeError, match="would not close"):
        await w.close()
    await w.finished()  # does not wait forever
    assert w.status == "closed" and os.listdir(tmp_path) == []
    await s.close()

"""Worker processes never outlive the process that made the LocalCluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import psutil
import pytest

from plait.distributed.testing import wait_until

SCRIPT = """
import json, sys, time
from plait.distributed import LocalCluster
cluster = LocalCluster(n_workers=1, threads_per_worker=1, memory_limit=None)
print(json.dumps([w.pid for w in cluster.workers.values()]), flush=True)
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_workers_exit_with_their_parent(sig):
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE,
                            text=True)
    try:
        pids = json.loads(proc.stdout.readline())
        assert len(pids) == 1 and all(psutil.pid_exists(p) for p in pids)
        os.kill(proc.pid, sig)
        proc.wait(20)
        # SIGINT: the parent's exit hooks kill them; SIGKILL: they notice the parent
        # is gone (and their scheduler stream closed) and exit by themselves.
        wait_until(lambda: all(_gone(p) for p in pids), timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)

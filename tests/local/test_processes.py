"""The default process pool: its workers never outlive the process that made them."""

import os
import signal
import subprocess
import sys
import textwrap

import psutil

SCRIPT = textwrap.dedent("""
    import os, signal, plait
    from plait.local import processes
    if __name__ == "__main__":
        assert plait.delayed(sum)([1, 2]).compute(scheduler="processes") == 3
        pool = processes.default_pool(2)
        print(" ".join(str(p) for p in pool._processes), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)   # no atexit hook runs
""")


def test_pool_workers_exit_when_their_caller_is_killed(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(SCRIPT)
    # Output to a file, not a pipe: the orphans under test would hold a pipe open.
    log = tmp_path / "out.txt"
    with open(log, "w") as f:
        rc = subprocess.run([sys.executable, str(script)], stdout=f, stderr=subprocess.STDOUT,
                            timeout=60, env={**os.environ, "PYTHONPATH": os.getcwd()}).returncode
    assert rc == -signal.SIGKILL, log.read_text()
    pids = [int(p) for p in log.read_text().splitlines()[0].split()]
    assert pids
    workers = []
    for pid in pids:
        try:
            workers.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    gone, alive = psutil.wait_procs(workers, timeout=10)
    for proc in alive:  # clean up by pid before failing
        proc.kill()
    assert not alive, f"pool workers {[p.pid for p in alive]} outlived their caller"

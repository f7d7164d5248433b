"""``plait scheduler`` and ``plait worker`` started as real subprocesses on 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import psutil
import pytest

from plait.distributed import Client
from plait.distributed.testing import wait_until


class Proc:
    """A command whose output lines are collected by a reader thread."""

    def __init__(self, *args: str):
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "plait.cli", *args], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, pattern: str, timeout: float = 30) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                m = re.search(pattern, line)
                if m:
                    return m
            if self.popen.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"no line matching {pattern!r}; output:\n" + "\n".join(self.lines))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, sig)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)
            raise AssertionError(f"pid {self.popen.pid} ignored {sig!r}:\n" +
                                 "\n".join(self.lines)) from None

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)


@pytest.fixture
def scheduler_proc():
    proc = Proc("scheduler", "--port", "0", "--dashboard-address", "127.0.0.1:0")
    try:
        address = proc.wait_for_line(r"plait scheduler at: (tcp://127\.0\.0\.1:\d+)").group(1)
        yield proc, address
    finally:
        proc.kill()


def inc(x):
    return x + 1


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_scheduler_worker_client_and_sigterm(scheduler_proc, tmp_path):
    sched, address = scheduler_proc
    assert sched.wait_for_line(r"dashboard at: (\S+)").group(1) != "none"
    port = _free_port()
    worker = Proc("worker", address.replace("tcp://", ""), "--nthreads", "2",
                  "--name", "alice", "--memory-limit", "1GB", "--port", str(port),
                  "--host", "127.0.0.1", "--local-directory", str(tmp_path),
                  "--dashboard-address", ":0")
    try:
        worker.wait_for_line(rf"plait worker at: tcp://127\.0\.0\.1:{port}\b")
        link = worker.wait_for_line(r"dashboard at: (http://127\.0\.0\.1:\d+)").group(1)
        with urllib.request.urlopen(link + "/health", timeout=10) as reply:
            assert reply.read() == b"ok"
        with Client(address, timeout=10) as c:
            assert c.submit(sum, [1, 2, 3]).result(timeout=20) == 6
            info = c.scheduler_info()["workers"]
            (w,) = info.values()
            assert w["name"] == "alice" and w["nthreads"] == 2
            assert w["memory_limit"] == 10**9
            assert os.path.dirname(w["local_directory"]) == str(tmp_path)
            assert worker.stop(signal.SIGTERM) == 0  # unregisters and exits
            wait_until(lambda: not c.scheduler_info()["workers"], timeout=10)
    finally:
        worker.kill()
    assert sched.stop(signal.SIGINT) == 0
    assert any("closed" in line for line in sched.lines)


def test_nworkers_and_scheduler_shutdown_closes_workers(scheduler_proc):
    sched, address = scheduler_proc
    workers = Proc("worker", address, "--nworkers", "2", "--nthreads", "1")
    try:
        workers.wait_for_line(r"plait worker at: .*name \S+-1\)")
        children = psutil.Process(workers.popen.pid).children()
        assert len(children) == 2
        with Client(address, timeout=10) as c:
            assert sorted(c.nthreads().values()) == [1, 1]
            assert c.gather(c.map(abs, [-1, -2, 3])) == [1, 2, 3]
        assert sched.stop(signal.SIGTERM) == 0
        # The scheduler told its workers to close: the processes and their parent exit.
        assert workers.popen.wait(20) == 0
        for child in children:
            wait_until(lambda: not child.is_running() or
                       child.status() == psutil.STATUS_ZOMBIE, timeout=10)
    finally:
        workers.kill()


def test_worker_bad_options_fail_with_a_message():
    # In-process (click's runner): option checks need no interpreter start-up; the
    # commands as subprocesses are exercised above.
    from click.testing import CliRunner

    from plait.distributed.cli import worker

    for args, name in [(["--memory-limit", "heaps"], "--memory-limit"),
                       (["--port", "70000"], "--port"), (["--nworkers", "0"], "--nworkers"),
                       (["--dashboard-address", "host:port"], "--dashboard-address")]:
        result = CliRunner().invoke(worker, ["127.0.0.1:1", *args])
        assert result.exit_code != 0 and name in result.output, (args, result.output)


def test_worker_under_a_nanny_is_restarted_and_no_nanny_runs_in_process(scheduler_proc):
    sched, address = scheduler_proc
    nannied = Proc("worker", address, "--nthreads", "1", "--name", "kept")
    bare = Proc("worker", address, "--nthreads", "1", "--name", "bare", "--no-nanny")
    try:
        m = nannied.wait_for_line(r"plait worker at: (\S+) \(pid (\d+), nanny (\S+), name kept\)")
        first, pid = m.group(1), int(m.group(2))
        bare.wait_for_line(r"plait worker at: ")
        assert [c.pid for c in psutil.Process(nannied.popen.pid).children()] == [pid]
        assert not psutil.Process(bare.popen.pid).children()  # the worker is the process
        with Client(address, timeout=10) as c:
            wait_until(lambda: len(c.scheduler_info()["workers"]) == 2, timeout=20)
            os.kill(pid, signal.SIGKILL)
            # The nanny starts a new worker process under the same name.
            wait_until(lambda: first not in c.scheduler_info()["workers"] and
                       len(c.scheduler_info()["workers"]) == 2, timeout=30)
            names = sorted(w["name"] for w in c.scheduler_info()["workers"].values())
            assert names == ["bare", "kept"]
            assert c.submit(inc, 1).result(timeout=20) == 2
        assert nannied.stop(signal.SIGTERM) == 0 and bare.stop(signal.SIGTERM) == 0
    finally:
        nannied.kill()
        bare.kill()


def test_security_options_are_checked():
    from click.testing import CliRunner

    from plait.distributed.cli import worker

    result = CliRunner().invoke(worker, ["127.0.0.1:1", "--insecure", "--secret", "s"])
    assert result.exit_code != 0 and "--insecure" in result.output
    result = CliRunner().invoke(worker, ["127.0.0.1:1", "--tls-cert", "c.pem"])
    assert result.exit_code != 0 and "--tls-key" in result.output


def test_secret_from_the_environment_and_exposure_needs_insecure():
    from plait.distributed.security import Security

    env_secret = {"PLAIT_SECRET": "cli secret 7"}
    old = {k: os.environ.get(k) for k in env_secret}
    os.environ.update(env_secret)
    try:
        sched = Proc("scheduler", "--port", "0", "--dashboard-address", "none")
        worker = None
        try:
            address = sched.wait_for_line(r"plait scheduler at: (tcp://\S+)").group(1)
            worker = Proc("worker", address, "--nthreads", "1")
            worker.wait_for_line(r"plait worker at: ")
        finally:
            for k, v in old.items():
                if v is None:
                    del os.environ[k]
                else:
                    os.environ[k] = v
        with Client(address, timeout=10, security=Security(secret="cli secret 7"),
                    set_as_default=False) as c:
            assert c.submit(inc, 1).result(timeout=20) == 2
        with pytest.raises(Exception, match="secret"):
            Client(address, timeout=5, security=False, set_as_default=False)
    finally:
        if worker is not None:
            worker.kill()
        sched.kill()
    exposed = Proc("scheduler", "--host", "0.0.0.0", "--port", "0",
                   "--dashboard-address", "none")
    try:
        assert exposed.popen.wait(30) == 1
        exposed._reader.join(10)
        assert any("--insecure" in line for line in exposed.lines), exposed.lines
    finally:
        exposed.kill()


def test_tls_files_on_the_command_line(tmp_path):
    # Certificates given as files: the scheduler listens on tls://, a nannied worker
    # joins over tls://, a client with the CA and a certificate computes.
    from plait.distributed.security import Security

    sec = Security.temporary()
    files = {}
    for name in ("tls_ca_file", "tls_scheduler_cert", "tls_scheduler_key"):
        path = tmp_path / f"{name}.pem"
        path.write_text(getattr(sec, name))
        os.chmod(path, 0o600)
        files[name] = str(path)
    tls = ["--tls-ca-file", files["tls_ca_file"], "--tls-cert", files["tls_scheduler_cert"],
           "--tls-key", files["tls_scheduler_key"]]
    sched = Proc("scheduler", "--port", "0", "--dashboard-address", "none", *tls)
    worker = None
    try:
        address = sched.wait_for_line(r"plait scheduler at: (\S+)").group(1)
        assert address.startswith("tls://127.0.0.1:")
        worker = Proc("worker", address, "--nthreads", "1", *tls)
        m = worker.wait_for_line(r"plait worker at: (\S+) \(pid \d+, nanny (\S+),")
        assert m.group(1).startswith("tls://") and m.group(2).startswith("tls://")
        with Client(address, timeout=10, security=sec, set_as_default=False) as c:
            assert c.submit(inc, 1).result(timeout=20) == 2
    finally:
        if worker is not None:
            worker.kill()
        sched.kill()

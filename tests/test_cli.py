"""The ``plait`` command: version, lazy subcommands, and ``plait demo`` end to end."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import click
import psutil
import pytest
from click.testing import CliRunner

import plait
import plait.cli
import plait.demo
from plait.cli import main

REPO = Path(__file__).resolve().parents[1]


def child_env() -> dict:
    """The environment for a child python: this checkout first on the path, no colour."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.pop("NO_COLOR", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def plait_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "plait.cli", *args]


# -- version and the command group ---------------------------------------------------------

def test_version_with_cli_runner():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"plait {plait.__version__}\n"


def test_version_with_python_dash_m():
    proc = subprocess.run(plait_command("--version"), capture_output=True, text=True,
                          env=child_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"plait {plait.__version__}"


def test_help_lists_demo_and_its_options():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.output
    result = CliRunner().invoke(main, ["demo", "--help"])
    assert result.exit_code == 0
    assert "--keep-open" in result.output and "--quick" in result.output


def test_unknown_subcommand_fails():
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output


def test_importing_the_cli_does_not_import_the_demo():
    code = ("import sys, plait.cli\n"
            "assert 'plait.demo' not in sys.modules, 'plait.cli imported plait.demo'\n")
    subprocess.run([sys.executable, "-c", code], check=True, env=child_env(), timeout=60)


@click.command()
@click.argument("who")
def _hello(who: str) -> None:
    """Say hello (registered lazily by a test)."""
    click.echo(f"hello {who}")


_not_a_command = object()


def test_commands_registry_imports_subcommands_lazily(monkeypatch):
    monkeypatch.setitem(plait.cli.COMMANDS, "hello", f"{__name__}:_hello")
    runner = CliRunner()
    assert "hello" in runner.invoke(main, ["--help"]).output
    result = runner.invoke(main, ["hello", "world"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello world\n"


def test_commands_registry_rejects_what_is_not_a_command(monkeypatch):
    monkeypatch.setitem(plait.cli.COMMANDS, "broken", f"{__name__}:_not_a_command")
    result = CliRunner().invoke(main, ["broken"])
    assert isinstance(result.exception, TypeError)
    assert "not a click.Command" in str(result.exception)


# -- run_demo in this process ----------------------------------------------------------------

def _wrong_section(tour: plait.demo.Tour) -> None:
    tour.check("right", 2, 2)
    tour.check("wrong on purpose", 3, 4)


def test_run_demo_reports_a_mismatch_and_returns_1():
    out = io.StringIO()
    status = plait.demo.run_demo(quick=True, out=out, sections=[_wrong_section])
    text = out.getvalue()
    assert status == 1
    assert "MISMATCH: got 3, expected 4" in text
    assert "right" in text and "OK" in text
    assert "1 of 2 results differ from plain Python" in text
    assert "\x1b[" not in text  # not a terminal: no colour codes


def test_cli_demo_exits_non_zero_on_a_mismatch(monkeypatch):
    monkeypatch.setattr(plait.demo, "SECTIONS", [_wrong_section])
    result = CliRunner().invoke(main, ["demo", "--quick"])
    assert result.exit_code == 1, result.output
    assert "MISMATCH" in result.output


def test_run_demo_checks_types_not_only_equality():
    def section(tour):
        tour.check("float for an int", 88.0, 88)

    out = io.StringIO()
    assert plait.demo.run_demo(quick=True, out=out, sections=[section]) == 1


def test_what_a_section_started_is_stopped_even_when_it_fails():
    stopped = []

    def section(tour):
        tour.started("a thing", lambda: stopped.append("a thing"))
        tour.started("another thing", lambda: stopped.append("another thing"))
        raise RuntimeError("section failed")

    out = io.StringIO()
    with pytest.raises(RuntimeError, match="section failed"):
        plait.demo.run_demo(quick=True, out=out, sections=[section])
    assert stopped == ["another thing", "a thing"]  # newest first
    assert "Stopped a thing." in out.getvalue()


def test_the_demo_sections_compute_correct_results_in_process():
    out = io.StringIO()
    try:
        status = plait.demo.run_demo(quick=True, out=out,
                                     sections=[plait.demo.sleeping_tasks])
    finally:
        plait.local.processes.discard_pool()
    text = out.getvalue()
    assert status == 0, text
    assert text.count(" 88  OK") == 4


# -- plait demo --quick in a subprocess ------------------------------------------------------

def _watch_descendants(proc: psutil.Popen, seen: dict, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            for child in proc.children(recursive=True):
                seen.setdefault(child.pid, child)
        except psutil.Error:
            return
        stop.wait(0.02)


def _assert_all_gone(seen: dict) -> None:
    """Every process the demo started has exited (helpers may need a moment)."""
    _, alive = psutil.wait_procs(list(seen.values()), timeout=15)
    left = []
    for p in alive:  # report, then stop, what was left behind
        try:
            left.append((p.pid, p.cmdline()))
            p.kill()
        except psutil.Error:
            pass
    assert not left, f"processes started by the demo are still running: {left}"


def _start_demo(log: Path, *args: str):
    """Start ``plait demo`` with its output going to ``log`` (a file, not a pipe: a
    leftover child holding a pipe open would make reading wait for it)."""
    with open(log, "w") as out:
        proc = psutil.Popen(plait_command("demo", *args), stdout=out,
                            stderr=subprocess.STDOUT, text=True, env=child_env())
    seen: dict = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_descendants, args=(proc, seen, stop), daemon=True)
    watcher.start()
    return proc, seen, stop, watcher


@pytest.mark.timeout(180)
def test_plait_demo_quick_runs_checks_and_leaves_no_process_behind(tmp_path):
    log = tmp_path / "demo.txt"
    proc, seen, stop, watcher = _start_demo(log, "--quick")
    try:
        proc.wait(timeout=120)
    finally:
        stop.set()
        watcher.join()
        if proc.poll() is None:
            proc.kill()
    output = log.read_text()
    assert proc.returncode == 0, output
    for heading in ["1. Sleeping tasks", "2. Pure-Python work", "3. Overhead",
                    "4. Bags: word count", "5. Arrays", "6. DataFrames", "7. A local cluster",
                    "8. Results against plain Python"]:
        assert heading in output, output
    for row in ["plain Python, one call after another", "delayed, linear sum, sync",
                "delayed, tree reduction, threads", "us/task", "compute, processes"]:
        assert row in output, output
    result_lines = [line for line in output.splitlines() if line.rstrip().endswith("  OK")]
    assert len(result_lines) == 22, output
    assert "MISMATCH" not in output
    assert "results match plain Python: OK" in output
    assert "Stopped process pool" in output
    assert "\x1b[" not in output  # not a terminal: plain text
    assert seen, "the demo started no process at all: the processes scheduler did not run"
    _assert_all_gone(seen)


@pytest.mark.timeout(180)
@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to a child")
def test_plait_demo_keep_open_waits_for_ctrl_c_then_stops_everything(tmp_path):
    log = tmp_path / "demo.txt"
    proc, seen, stop, watcher = _start_demo(log, "--quick", "--keep-open")
    try:
        deadline = time.monotonic() + 120
        while "waiting for Ctrl-C" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        time.sleep(0.5)
        assert proc.poll() is None, "the demo exited without waiting for Ctrl-C"
        assert "Stopped" not in log.read_text()  # nothing is stopped before Ctrl-C
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0, log.read_text()
    finally:
        stop.set()
        watcher.join()
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "- process pool (" in text, text
    assert "Stopped process pool" in text, text
    _assert_all_gone(seen)

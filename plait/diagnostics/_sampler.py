"""The sampling process behind ResourceProfiler (run as a script, not imported).

``python _sampler.py PID DT`` watches process PID and its children (not itself). It
reads commands from stdin, one per line: ``collect`` starts sampling every DT seconds,
``stop`` takes a last sample and answers ``stopped``, ``exit`` (or the end of stdin,
which is also what happens when the parent dies) ends it. Each sample is written to
stdout as ``sample TIME MEM_MIB CPU_PERCENT``; TIME is ``time.perf_counter()``, a
system-wide monotonic clock on Linux, macOS and Windows, so the parent can put samples
on the same axis as its own task times.

It runs in its own process so that sampling never waits for the parent's GIL: while
tasks run pure Python on threads, a sampling thread in the parent gets one sample in
several tenths of a second instead of one every DT. It uses only the standard library
and psutil.
"""

import os
import queue
import sys
import threading
import time

_MIB = 2**20


def _read_commands(commands: "queue.Queue[str]") -> None:
    for line in sys.stdin:
        commands.put(line.strip())
    commands.put("exit")


class _Watch:
    """The watched process tree, with the psutil objects kept between samples (their
    ``cpu_percent`` measures from the previous call)."""

    def __init__(self, psutil, pid: int):
        self.psutil = psutil
        self.parent = psutil.Process(pid)
        self.me = os.getpid()
        self.procs = {pid: self.parent}
        self.next_refresh = 0.0

    def refresh(self) -> None:
        t0 = time.perf_counter()
        try:
            children = self.parent.children(recursive=True)
        except self.psutil.Error:
            children = []
        found = [self.parent] + [c for c in children if c.pid != self.me]
        self.procs = {p.pid: self.procs.get(p.pid, p) for p in found}
        # psutil finds children by reading every process's status: on a machine with
        # thousands of processes, rescan less often than every sample.
        took = time.perf_counter() - t0
        self.next_refresh = time.perf_counter() + 10 * took

    def prime(self) -> None:
        self.refresh()
        for p in list(self.procs.values()):
            try:
                p.cpu_percent(None)
            except self.psutil.Error:
                pass

    def sample(self) -> str:
        if time.perf_counter() >= self.next_refresh:
            self.refresh()
        now = time.perf_counter()
        mem = cpu = 0.0
        for pid, p in list(self.procs.items()):
            try:
                mem += p.memory_info().rss
                cpu += p.cpu_percent(None)
            except self.psutil.Error:  # exited since the last refresh
                self.procs.pop(pid, None)
        return f"sample {now!r} {mem / _MIB!r} {cpu!r}"


def main(argv: list) -> int:
    import psutil

    pid, dt = int(argv[1]), float(argv[2])
    watch = _Watch(psutil, pid)
    commands: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=_read_commands, args=(commands,), daemon=True).start()
    out = sys.stdout

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    say("ready")
    collecting = False
    next_at = 0.0
    while True:
        timeout = max(0.0, next_at - time.perf_counter()) if collecting else None
        try:
            command = commands.get(timeout=timeout)
        except queue.Empty:
            command = ""
        try:
            if command == "exit":
                return 0
            if command == "collect":
                watch.prime()
                collecting = True
                next_at = time.perf_counter() + dt
            elif command == "stop":
                if collecting:
                    say(watch.sample())
                collecting = False
                say("stopped")
            elif collecting and time.perf_counter() >= next_at:
                say(watch.sample())
                next_at += dt
                if next_at < time.perf_counter():  # fell behind: skip, do not burst
                    next_at = time.perf_counter() + dt
        except psutil.NoSuchProcess:  # the watched process is gone
            return 0
        except OSError:  # nobody listens any more (a broken pipe)
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

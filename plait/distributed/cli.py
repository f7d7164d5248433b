"""``plait scheduler`` and ``plait worker``: start a cluster by hand, one command each.

    $ plait scheduler                      # prints its address and the dashboard's
    $ plait worker 127.0.0.1:8786 --nthreads 8

and then, in Python, ``Client("127.0.0.1:8786")``.

Both listen on 127.0.0.1 unless ``--host`` says otherwise. SIGINT (Ctrl-C) and SIGTERM
shut down cleanly: a worker unregisters before it exits; a scheduler closes its
workers' streams, and those workers exit too. ``--nworkers N`` starts N worker
processes and stops them by their pids when it is stopped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import Any

import click

__all__ = ["scheduler", "worker"]

logger = logging.getLogger("plait.distributed.cli")


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


def _say(text: str) -> None:
    click.echo(text)
    sys.stdout.flush()


def _run(main) -> int:
    from .loop import new_event_loop

    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(main()) or 0
    finally:
        loop.close()


def _stop_on_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    def handler(signum: int) -> None:
        logger.info("received %s: shutting down", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, handler, sig)


def _dashboard_text(sched: Any, host: str) -> str:
    address = getattr(sched, "dashboard_address", None)
    http = getattr(sched, "http_server", None)
    port = getattr(http, "port", None) if http is not None else None
    if isinstance(address, str) and address and "://" in address:
        return address
    if port:
        return f"http://{host}:{port}/"
    return str(address) if address else "none"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (0.0.0.0 listens on every interface).")
@click.option("--port", default=8786, show_default=True, type=int,
              help="Port to listen on; 0 picks a free one.")
@click.option("--dashboard-address", default=":8787", show_default=True,
              help="Where the HTTP endpoints (/health) listen, e.g. ':8787' or "
                   "'127.0.0.1:0'; 'none' for no HTTP server.")
def scheduler(host: str, port: int, dashboard_address: str) -> None:
    """Start a plait scheduler; workers and clients connect to the address it prints."""
    _setup_logging()
    from .scheduler import Scheduler

    dashboard = None if dashboard_address.lower() in ("none", "") else dashboard_address
    if dashboard is not None and dashboard.startswith(":"):
        dashboard = f"{host}{dashboard}"

    async def main() -> int:
        stop = asyncio.Event()
        _stop_on_signals(asyncio.get_running_loop(), stop)
        sched = Scheduler(host=host, port=port, dashboard_address=dashboard)
        await sched.start()
        _say(f"plait scheduler at: {sched.address}")
        _say(f"dashboard at: {_dashboard_text(sched, host)}")
        await stop.wait()
        await asyncio.wait_for(sched.close(), 30)
        _say("plait scheduler closed")
        return 0

    sys.exit(_run(main))


def _parse_resources(text: str | None) -> dict:
    """``"GPU=2,MEMORY=10e9"`` -> ``{"GPU": 2.0, "MEMORY": 1e10}``."""
    if not text:
        return {}
    out = {}
    for part in text.replace(" ", ",").split(","):
        if not part:
            continue
        name, sep, value = part.partition("=")
        try:
            out[name] = float(value)
        except ValueError:
            raise click.BadParameter(
                f"{part!r} is not NAME=NUMBER (e.g. --resources 'GPU=2,MEMORY=10e9')",
                param_hint="--resources") from None
        if not sep or not name:
            raise click.BadParameter(f"{part!r} is not NAME=NUMBER", param_hint="--resources")
    return out


def _worker_dashboards(text: str, host: str, n: int) -> list:
    """The HTTP address of each of ``n`` workers from ``--dashboard-address`` (None:
    no HTTP server; a fixed port is counted up per worker).

    >>> _worker_dashboards(":8790", "127.0.0.1", 2), _worker_dashboards("none", "h", 1)
    (['127.0.0.1:8790', '127.0.0.1:8791'], [None])
    """
    from .http import parse_http_address

    if text.strip().lower() in ("none", ""):
        return [None] * n
    try:
        h, port = parse_http_address(text if not text.startswith(":") else host + text)
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--dashboard-address") from None
    if not 0 <= port <= 65535 - (n - 1 if port else 0):
        raise click.BadParameter(f"{port} is not a port from 0 to 65535",
                                 param_hint="--dashboard-address")
    return [f"{h}:{port + i if port else 0}" for i in range(n)]


def _memory_limit_value(text: str) -> Any:
    """The --memory-limit text as parse_memory_limit takes it (numbers become numbers)."""
    if text.strip().lower() in ("0", "none", ""):
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return number if 0 < number <= 1 else int(number)


@click.command()
@click.argument("address")
@click.option("--nthreads", type=int, default=None,
              help="Threads per worker [default: cores / nworkers].")
@click.option("--nworkers", type=int, default=1, show_default=True,
              help="Worker processes to start.")
@click.option("--memory-limit", default="auto", show_default=True,
              help="Bytes per worker: '4GB', a fraction of the machine's memory, 'auto' "
                   "(the machine's memory / nworkers) or 0 for none.")
@click.option("--name", default=None, help="Worker name (with --nworkers: NAME-0, NAME-1...).")
@click.option("--local-directory", default=None, help="Directory for scratch files.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", "--worker-port", "port", type=int, default=0, show_default=True,
              help="Port to listen on; 0 picks a free one (with --nworkers N: workers "
                   "take PORT, PORT+1, ...).")
@click.option("--dashboard-address", default="none", show_default=True,
              help="Where the worker serves HTTP (/health), e.g. ':0' or '127.0.0.1:8789' "
                   "(with --nworkers N: ports PORT..PORT+N-1); 'none' for no HTTP server.")
@click.option("--resources", default=None,
              help="Abstract resources for resources= constraints, e.g. 'GPU=2'.")
def worker(address: str, nthreads: int | None, nworkers: int, memory_limit: str,
           name: str | None, local_directory: str | None, host: str, port: int,
           dashboard_address: str, resources: str | None) -> None:
    """Start plait worker(s) for the scheduler at ADDRESS (e.g. 127.0.0.1:8786)."""
    _setup_logging()
    from .worker.memory import cpu_count, parse_memory_limit

    if nworkers < 1:
        raise click.BadParameter(f"needs at least 1, got {nworkers}", param_hint="--nworkers")
    if nthreads is not None and nthreads < 1:
        raise click.BadParameter(f"needs at least 1, got {nthreads}", param_hint="--nthreads")
    if not 0 <= port <= 65535 or (port and port + nworkers - 1 > 65535):
        raise click.BadParameter(f"{port} is not a port from 0 to 65535 (for {nworkers} "
                                 f"workers)", param_hint="--port")
    threads = nthreads or max(1, cpu_count() // nworkers)
    try:
        limit = parse_memory_limit(_memory_limit_value(memory_limit), nworkers)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--memory-limit") from None
    if "://" not in address:
        address = f"tcp://{address}"
    dashboards = _worker_dashboards(dashboard_address, host, nworkers)
    spec = {"nthreads": threads, "memory_limit": limit, "host": host,
            "resources": _parse_resources(resources), "local_directory": local_directory}
    if nworkers == 1:
        sys.exit(_run(lambda: _one_worker(
            address, dict(spec, name=name, port=port, dashboard_address=dashboards[0]))))
    spec["port"] = port
    spec["dashboards"] = dashboards
    sys.exit(_run(lambda: _many_workers(address, spec, nworkers, name)))


async def _one_worker(address: str, spec: dict) -> int:
    from .cluster.worker_process import run_worker

    def ready(w: Any) -> None:
        _say(f"plait worker at: {w.address}")
        _say(f"  scheduler: {address}, threads: {w.nthreads}, name: {w.name}")
        if getattr(w, "dashboard_link", None):
            _say(f"  dashboard at: {w.dashboard_link}")

    try:
        code = await run_worker(address, spec, on_ready=ready)
    except OSError as exc:
        click.echo(f"could not start a worker for {address}: {exc}", err=True)
        return 1
    _say("plait worker closed")
    return code


async def _many_workers(address: str, spec: dict, n: int, name: str | None) -> int:
    from .cluster.worker_process import WorkerProcess

    stop = asyncio.Event()
    _stop_on_signals(asyncio.get_running_loop(), stop)
    base_port = spec.pop("port", 0) or 0
    dashboards = spec.pop("dashboards", [None] * n)
    procs = [WorkerProcess(address, **dict(spec, name=f"{name or os.getpid()}-{i}",
                                           port=base_port + i if base_port else 0,
                                           dashboard_address=dashboards[i]))
             for i in range(n)]
    results = await asyncio.gather(*[p.start() for p in procs], return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        await asyncio.gather(*[p.close() for p in procs], return_exceptions=True)
        click.echo(f"could not start {n} workers: {errors[0]}", err=True)
        return 1
    for p in procs:
        _say(f"plait worker at: {p.address} (pid {p.pid}, name {p.name})")
    while not stop.is_set() and any(p.is_alive() for p in procs):
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except TimeoutError:
            pass
    await asyncio.gather(*[p.close() for p in procs], return_exceptions=True)
    _say("plait workers closed")
    return 0

"""``plait scheduler`` and ``plait worker``: start a cluster by hand, one command each.

    $ plait scheduler                      # prints its address and the dashboard's
    $ plait worker 127.0.0.1:8786 --nthreads 8

and then, in Python, ``Client("127.0.0.1:8786")``.

Both listen on 127.0.0.1 unless ``--host`` says otherwise. SIGINT (Ctrl-C) and SIGTERM
shut down cleanly: a worker unregisters before it exits; a scheduler closes its
workers' streams, and those workers exit too. ``plait worker`` runs each worker in its
own process under a nanny that restarts it when it dies (``--no-nanny``: one worker in
this process, or ``--nworkers N`` bare processes); ``--nworkers N`` starts N and stops
them by their pids when it is stopped.

Security options (both commands): ``--secret`` (default ``$PLAIT_SECRET``),
``--tls-ca-file``, ``--tls-cert``, ``--tls-key``, ``--require-encryption``; without any,
the ``distributed.security`` config applies. ``--insecure`` is the explicit opt-in to
listen on a non-loopback interface with neither TLS nor a secret.
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


def security_options(f):
    """The security options shared by ``plait scheduler`` and ``plait worker``."""
    options = [
        click.option("--secret", envvar="PLAIT_SECRET", default=None,
                     help="Shared secret every client and worker must present "
                          "[default: $PLAIT_SECRET, else the config]."),
        click.option("--tls-ca-file", default=None,
                     help="CA certificate (PEM) that peers' certificates must be signed by."),
        click.option("--tls-cert", default=None, help="This server's certificate (PEM)."),
        click.option("--tls-key", default=None, help="This server's private key (PEM)."),
        click.option("--require-encryption", is_flag=True, default=False,
                     help="Refuse connections that are not TLS."),
        click.option("--insecure", is_flag=True, default=False,
                     help="Allow listening on a non-loopback interface with neither TLS "
                          "nor a secret (anyone who can reach it can run code)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_security(role: str, secret: str | None, tls_ca_file: str | None,
                  tls_cert: str | None, tls_key: str | None, require_encryption: bool,
                  insecure: bool) -> Any:
    """The ``security=`` value for the command's options: False (``--insecure``),
    None (no option: the config decides) or a ``Security``.

    >>> make_security("worker", None, None, None, None, False, True)
    False
    >>> make_security("worker", None, None, None, None, False, False) is None
    True
    """
    given = [secret, tls_ca_file, tls_cert, tls_key, require_encryption or None]
    if insecure:
        if any(v is not None for v in given):
            raise click.BadParameter(
                "--insecure turns security off; it cannot be combined with --secret or "
                "--tls-* options", param_hint="--insecure")
        return False
    if all(v is None for v in given):
        return None
    if (tls_cert is None) != (tls_key is None):
        raise click.BadParameter("--tls-cert and --tls-key go together (a certificate "
                                 "and its private key)", param_hint="--tls-cert")
    from .security import Security

    kwargs: dict = {"secret": secret, "tls_ca_file": tls_ca_file,
                    "require_encryption": True if require_encryption else None}
    if tls_cert is not None:
        kwargs[f"tls_{role}_cert"] = tls_cert
        kwargs[f"tls_{role}_key"] = tls_key
        if role != "client":  # its outgoing connections present the same certificate
            kwargs["tls_client_cert"] = tls_cert
            kwargs["tls_client_key"] = tls_key
    return Security(**kwargs)


def _dashboard_text(sched: Any, host: str) -> str:
    link = getattr(sched, "dashboard_link", None)
    if link:
        return link
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
@security_options
def scheduler(host: str, port: int, dashboard_address: str, **security_kw: Any) -> None:
    """Start a plait scheduler; workers and clients connect to the address it prints."""
    _setup_logging()
    from .scheduler import Scheduler

    security = make_security("scheduler", **security_kw)
    dashboard = None if dashboard_address.lower() in ("none", "") else dashboard_address
    if dashboard is not None and dashboard.startswith(":"):
        dashboard = f"{host}{dashboard}"

    async def main() -> int:
        stop = asyncio.Event()
        _stop_on_signals(asyncio.get_running_loop(), stop)
        # A certificate given on the command line means TLS, even without
        # --require-encryption.
        tls = bool(security) and getattr(security, "tls_scheduler_cert", None) is not None
        sched = Scheduler(host=host, port=port, dashboard_address=dashboard,
                          security=security, protocol="tls" if tls else None)
        try:
            await sched.start()
        except (OSError, ValueError) as exc:
            click.echo(f"could not start the scheduler: {exc}", err=True)
            await sched.close()
            return 1
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
@click.option("--nanny/--no-nanny", default=True, show_default=True,
              help="Run each worker in its own process under a nanny that restarts it "
                   "when it dies and kills it before it runs out of memory.")
@click.option("--nanny-port", type=int, default=0, show_default=True,
              help="Port of the (first) nanny; 0 picks a free one.")
@security_options
def worker(address: str, nthreads: int | None, nworkers: int, memory_limit: str,
           name: str | None, local_directory: str | None, host: str, port: int,
           dashboard_address: str, resources: str | None, nanny: bool, nanny_port: int,
           **security_kw: Any) -> None:
    """Start plait worker(s) for the scheduler at ADDRESS (e.g. 127.0.0.1:8786)."""
    _setup_logging()
    security = make_security("worker", **security_kw)
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
    if not 0 <= nanny_port <= 65535 - (nworkers - 1 if nanny_port else 0):
        raise click.BadParameter(f"{nanny_port} is not a port from 0 to 65535",
                                 param_hint="--nanny-port")
    if "://" not in address:
        address = f"{_default_scheme(security)}://{address}"
    dashboards = _worker_dashboards(dashboard_address, host, nworkers)
    spec = {"nthreads": threads, "memory_limit": limit, "host": host,
            "resources": _parse_resources(resources), "local_directory": local_directory}
    if not nanny and nworkers == 1:
        sys.exit(_run(lambda: _one_worker(
            address, dict(spec, name=name, port=port, dashboard_address=dashboards[0]),
            security)))
    spec["port"] = port
    spec["dashboards"] = dashboards
    sys.exit(_run(lambda: _many_workers(address, spec, nworkers, name, security,
                                        nanny_port if nanny else None)))


def _default_scheme(security: Any) -> str:
    """``tls`` when the security asks for encryption, else ``tcp``."""
    if security and getattr(security, "require_encryption", False):
        return "tls"
    return "tcp"


async def _one_worker(address: str, spec: dict, security: Any = None) -> int:
    from .cluster.worker_process import run_worker

    def ready(w: Any) -> None:
        _say(f"plait worker at: {w.address}")
        _say(f"  scheduler: {address}, threads: {w.nthreads}, name: {w.name}")
        if getattr(w, "dashboard_link", None):
            _say(f"  dashboard at: {w.dashboard_link}")

    try:
        code = await run_worker(address, spec, on_ready=ready, security=security)
    except (OSError, ValueError, RuntimeError) as exc:
        click.echo(f"could not start a worker for {address}: {exc}", err=True)
        return 1
    _say("plait worker closed")
    return code


async def _many_workers(address: str, spec: dict, n: int, name: str | None,
                        security: Any = None, nanny_port: int | None = None) -> int:
    """Start ``n`` worker processes (under nannies unless ``nanny_port`` is None) and
    wait until a signal, or until none is left (the scheduler closed them)."""
    from .cluster.worker_process import WorkerProcess
    from .nanny import Nanny

    stop = asyncio.Event()
    _stop_on_signals(asyncio.get_running_loop(), stop)
    base_port = spec.pop("port", 0) or 0
    dashboards = spec.pop("dashboards", [None] * n)
    names = [name if n == 1 and name else f"{name or os.getpid()}-{i}" for i in range(n)]
    procs: list[Any] = []
    for i in range(n):
        kw = dict(spec, name=names[i], dashboard_address=dashboards[i])
        port = base_port + i if base_port else 0
        if nanny_port is None:
            procs.append(WorkerProcess(address, security=security, port=port, **kw))
        else:
            procs.append(Nanny(address, security=security, worker_port=port,
                               port=nanny_port + i if nanny_port else 0, **kw))
    results = await asyncio.gather(*[p.start() for p in procs], return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        await asyncio.gather(*[p.close() for p in procs], return_exceptions=True)
        click.echo(f"could not start {n} worker{'s' if n > 1 else ''}: {errors[0]}", err=True)
        return 1
    for p in procs:
        if nanny_port is None:
            _say(f"plait worker at: {p.address} (pid {p.pid}, name {p.name})")
        else:
            _say(f"plait worker at: {p.worker_address} (pid {p.pid}, nanny {p.address}, "
                 f"name {p.name})")
        if getattr(p, "dashboard_link", None):
            _say(f"  dashboard at: {p.dashboard_link}")

    def running(p: Any) -> bool:
        return p.status == "running" if nanny_port is not None else p.is_alive()

    while not stop.is_set() and any(running(p) for p in procs):
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except TimeoutError:
            pass
    await asyncio.gather(*[p.close() for p in procs], return_exceptions=True)
    _say("plait workers closed")
    return 0

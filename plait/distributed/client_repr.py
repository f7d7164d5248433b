"""How a Client shows itself: one line in a terminal, a small table in a notebook."""

from __future__ import annotations

import html
from typing import Any

from ..utils.sizes import format_bytes

__all__ = ["client_repr", "client_repr_html", "cluster_summary"]


def cluster_summary(identity: dict) -> tuple[int, int, int]:
    """(workers, threads, memory in bytes) from the scheduler's ``identity`` reply."""
    workers = identity.get("workers") or {}
    threads = sum(int(w.get("nthreads", 0) or 0) for w in workers.values())
    memory = sum(int(w.get("memory_limit", 0) or 0) for w in workers.values())
    return len(workers), threads, memory


def client_repr(client: Any) -> str:
    """``<Client: 'tcp://127.0.0.1:8786' processes=2 threads=2, memory=4.00 GiB>``."""
    address = client.scheduler_address
    if client.status != "running":
        return f"<Client: {client.status}, scheduler={address!r}>"
    n, threads, memory = cluster_summary(client._scheduler_identity or {})
    text = f"<Client: {address!r} processes={n} threads={threads}"
    if memory:
        text += f", memory={format_bytes(memory)}"
    return text + ">"


def client_repr_html(client: Any) -> str:
    """A notebook table: scheduler, dashboard link, workers, threads, memory."""
    ident = client._scheduler_identity or {}
    n, threads, memory = cluster_summary(ident)
    link = client.dashboard_link
    rows = [("Scheduler", html.escape(str(client.scheduler_address))),
            ("Status", html.escape(client.status))]
    if link:
        url = html.escape(link)
        rows.append(("Dashboard", f'<a href="{url}" target="_blank">{url}</a>'))
    rows += [("Workers", str(n)), ("Threads", str(threads)),
             ("Memory", format_bytes(memory) if memory else "unlimited")]
    body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>"
                   for k, v in rows)
    name = html.escape(client.name or client.id)
    return f"<div><h3 style='margin:0'>Client {name}</h3><table>{body}</table></div>"

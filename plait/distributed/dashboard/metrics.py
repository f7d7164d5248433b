"""``/metrics``: the scheduler's counts in the Prometheus text exposition format (0.0.4).

>>> print(render([Metric("plait_workers", "gauge", "Workers connected.", [({}, 2)])]))
# HELP plait_workers Workers connected.
# TYPE plait_workers gauge
plait_workers 2
<BLANKLINE>
>>> escape_label('a"b\\\\c')
'a\\\\"b\\\\\\\\c'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from . import snapshot

__all__ = ["Metric", "render", "scheduler_metrics", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

TASK_STATES = ("released", "waiting", "queued", "no-worker", "processing", "memory", "erred")


class Metric(NamedTuple):
    name: str
    kind: str  # gauge | counter
    help: str
    samples: list  # [(labels dict, value)]


def escape_label(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _value(v: float) -> str:
    if v != v:
        return "NaN"
    return repr(int(v)) if float(v).is_integer() else repr(float(v))


def render(metrics: Iterable[Metric]) -> str:
    lines = []
    for m in metrics:
        lines.append(f"# HELP {m.name} {m.help}")
        lines.append(f"# TYPE {m.name} {m.kind}")
        for labels, value in m.samples:
            if labels:
                text = ",".join(f'{k}="{escape_label(v)}"' for k, v in labels.items())
                lines.append(f"{m.name}{{{text}}} {_value(value)}")
            else:
                lines.append(f"{m.name} {_value(value)}")
    return "\n".join(lines) + "\n"


def scheduler_metrics(scheduler: Any, recorder: Any = None) -> list[Metric]:
    """Tasks by state, workers, clients, memory (managed/unmanaged/spilled), transfers."""
    rows = snapshot.workers(scheduler)
    summary = snapshot.cluster_summary(scheduler, rows)
    by_state = summary["tasks_by_state"]
    out = [
        Metric("plait_scheduler_workers", "gauge", "Workers connected to the scheduler.",
               [({}, summary["workers"])]),
        Metric("plait_scheduler_threads", "gauge", "Worker threads in the cluster.",
               [({}, summary["threads"])]),
        Metric("plait_scheduler_clients", "gauge", "Clients connected to the scheduler.",
               [({}, summary["clients"])]),
        Metric("plait_scheduler_tasks", "gauge", "Tasks the scheduler knows, by state.",
               [({"state": s}, by_state.get(s, 0)) for s in TASK_STATES]),
    ]
    if recorder is not None:
        out.append(Metric("plait_scheduler_tasks_completed_total", "counter",
                          "Tasks finished (computed into memory), by task prefix.",
                          [({"prefix": p}, n) for p, n in sorted(recorder.done.items())]))
    per_worker = [
        ("plait_worker_memory_bytes", "gauge",
         "Memory of each worker process, by kind: managed (results in memory), "
         "unmanaged (the rest of the process), spilled (results on disk).",
         lambda r: [({"worker": r["address"], "type": t}, r[t])
                    for t in ("managed", "unmanaged", "spilled")]),
        ("plait_worker_memory_limit_bytes", "gauge", "Memory limit of each worker.",
         lambda r: [({"worker": r["address"]}, r["memory_limit"])]),
        ("plait_worker_threads", "gauge", "Threads of each worker.",
         lambda r: [({"worker": r["address"]}, r["nthreads"])]),
        ("plait_worker_tasks_processing", "gauge", "Tasks assigned to each worker.",
         lambda r: [({"worker": r["address"]}, r["processing"])]),
        ("plait_worker_cpu_percent", "gauge", "CPU use of each worker process.",
         lambda r: [({"worker": r["address"]}, r["cpu"])]),
        ("plait_worker_paused", "gauge", "1 when the worker is paused for memory.",
         lambda r: [({"worker": r["address"]}, int(r["status"] == "paused"))]),
        ("plait_worker_network_read_bytes", "gauge",
         "Bytes per second each worker received on the network.",
         lambda r: [({"worker": r["address"]}, r["read_bytes"])]),
        ("plait_worker_network_write_bytes", "gauge",
         "Bytes per second each worker sent on the network.",
         lambda r: [({"worker": r["address"]}, r["write_bytes"])]),
        ("plait_worker_spill_count_total", "counter", "Values each worker spilled to disk.",
         lambda r: [({"worker": r["address"]}, r["spill_count"])]),
    ]
    for name, kind, text, fn in per_worker:
        out.append(Metric(name, kind, text, [s for r in rows for s in fn(r)]))
    return out

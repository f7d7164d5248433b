"""The dashboard's data: recorder, snapshots, figure layouts and /metrics, on a real
scheduler state machine (no servers, no browser)."""

from __future__ import annotations

import pytest

pytest.importorskip("bokeh")
prom_parser = pytest.importorskip("prometheus_client.parser")

from plait.distributed import profile
from plait.distributed.dashboard import layout, metrics, snapshot
from plait.distributed.dashboard.plugin import TaskRecorder
from plait.distributed.scheduler import SchedulerState

W1, W2 = "tcp://127.0.0.1:1", "tcp://127.0.0.1:2"


class FakeScheduler:
    """What the dashboard reads of a Scheduler server: ``state`` and ``address``."""

    def __init__(self):
        self.state = SchedulerState()
        self.address = "tcp://127.0.0.1:0"


def cluster_with_work(n: int = 6):
    s = FakeScheduler()
    rec = TaskRecorder()
    rec.scheduler = s
    s.state.add_plugin(rec)
    s.state.add_worker(W1, nthreads=2, memory_limit=1000)
    s.state.add_worker(W2, nthreads=1, memory_limit=1000)
    tasks = {f"inc-abcd{i:04x}": b"" for i in range(n)}
    tasks["total-99ffee00"] = b""
    deps = {"total-99ffee00": list(tasks)[:-1]}
    s.state.update_graph("c", tasks, deps, ["total-99ffee00"])
    return s, rec


def finish(s, key, worker, t0=100.0):
    s.state.task_finished(key, worker, nbytes=10, startstops=[("compute", t0, t0 + 0.5)],
                          thread=11)


def test_recorder_counts_progress_and_stream():
    s, rec = cluster_with_work(6)
    processing = [ts for ts in s.state.tasks.values() if ts.state == "processing"]
    assert processing
    for i, ts in enumerate(processing):
        finish(s, ts.key, ts.processing_on.address, t0=100.0 + i)
    prog = rec.progress()
    done = len(processing)
    assert prog["inc"]["done"] == done
    assert prog["inc"]["memory"] == done
    assert prog["inc"]["total"] == 6
    assert prog["inc"]["waiting"] + prog["inc"]["processing"] + prog["inc"]["memory"] == 6
    assert prog["total"]["waiting"] == 1
    cursor, rows = rec.stream_since(0)
    assert cursor == done and len(rows) == done
    assert {r["prefix"] for r in rows} == {"inc"}
    assert all(r["thread"] == 11 and r["stop"] - r["start"] == 0.5 for r in rows)
    assert rec.stream_since(cursor) == (cursor, [])


def test_recorder_marks_errors():
    s, rec = cluster_with_work(1)
    ts = s.state.tasks["inc-abcd0000"]
    s.state.task_erred(ts.key, ts.processing_on.address, exception=b"", traceback=None,
                       exception_text="boom", startstops=[("compute", 1.0, 2.0)])
    _, rows = rec.stream_since(0)
    assert [r["action"] for r in rows] == ["error"]
    assert rec.progress()["inc"]["erred"] == 1


def test_workers_snapshot_memory_split():
    s, _ = cluster_with_work(2)
    ws = s.state.workers[W1]
    ws.metrics = {"memory": {"rss": 900, "managed": 500, "managed_in_memory": 300,
                             "spilled": 200, "unmanaged": 600, "limit": 1000},
                  "cpu": 55.0, "status": "running"}
    rows = {r["address"]: r for r in snapshot.workers(s)}
    assert rows[W1]["managed"] == 300 and rows[W1]["spilled"] == 200
    assert rows[W1]["unmanaged"] == 600 and rows[W1]["cpu"] == 55.0
    assert rows[W2]["memory_limit"] == 1000 and rows[W1]["nthreads"] == 2
    summary = snapshot.cluster_summary(s)
    assert summary["workers"] == 2 and summary["threads"] == 3
    assert summary["tasks"] == 3 and summary["spilled"] == 200
    alerts = snapshot.alerts(s, list(rows.values()))
    assert any("spilled" in a["text"] for a in alerts)
    s.state.set_worker_status(W2, "paused")
    alerts = snapshot.alerts(s, snapshot.workers(s))
    assert any("paused" in a["text"] and a["worker"] == W2 for a in alerts)


def test_alert_for_lost_worker():
    s, rec = cluster_with_work(2)
    s.state.remove_worker(W2, stimulus_id="worker-died")
    alerts = snapshot.alerts(s, snapshot.workers(s), rec)
    assert any(a["level"] == "error" and W2 in a["text"] for a in alerts)


def test_task_graph_layers_and_truncation():
    s, _ = cluster_with_work(4)
    g = snapshot.task_graph(s)
    nodes = g["nodes"]
    x = dict(zip(nodes["key"], nodes["x"]))
    assert x["total-99ffee00"] == 1 and x["inc-abcd0000"] == 0
    assert len(g["edges"]["xs"]) == 4 and not g["truncated"]
    cut = snapshot.task_graph(s, limit=2)
    assert cut["truncated"] and len(cut["nodes"]["key"]) == 2 and cut["total"] == 5


def test_layout_progress_widths_and_stream_lanes():
    out = layout.progress({"a": {"waiting": 2, "processing": 1, "memory": 1, "erred": 1,
                                 "done": 1, "total": 5}})
    rects = out["rects"]
    full = [b - a for a, b, label in zip(rects["left"], rects["right"], rects["label"])
            if label != "memory"]
    assert sum(full) == pytest.approx(1.0)
    lanes = layout.lanes([{"worker": W1, "thread": 1}, {"worker": W2, "thread": 1},
                          {"worker": W1, "thread": 1}], {})
    assert lanes == {(W1, 1): 0, (W2, 1): 1}
    rows = [{"key": "k", "prefix": "p", "worker": W2, "thread": 1, "start": 1.0,
             "stop": 2.0, "action": "transfer"}]
    ts = layout.task_stream(rows, lanes)
    assert ts["rects"]["left"] == [1000.0] and ts["rects"]["right"] == [2000.0]
    assert ts["rects"]["bottom"][0] > 1 and ts["rects"]["colour"] == ["#d62728"]


def test_layout_memory_stacks_and_flame():
    out = layout.memory({"worker": [W1], "managed": [10], "unmanaged": [5], "spilled": [3],
                         "limit": [100]})
    r = out["rects"]
    assert r["label"] == ["managed", "unmanaged", "spilled", "limit"]
    assert r["left"][:3] == [0.0, 10.0, 15.0] and r["right"][2] == 18.0
    tree = profile.new_tree()
    profile.add_stack(tree, [("f", "a.py", 1), ("g", "a.py", 2)])
    profile.add_stack(tree, [("f", "a.py", 1), ("h", "a.py", 3)])
    fl = layout.flame(profile.flame_rects(tree))
    assert fl["rows"] == 2 and sorted(fl["rects"]["label"]) == ["f", "g", "h"]


def test_metrics_parse_with_prometheus_parser():
    s, rec = cluster_with_work(3)
    for ts in [t for t in s.state.tasks.values() if t.state == "processing"]:
        finish(s, ts.key, ts.processing_on.address)
    s.state.workers[W1].metrics = {"memory": {"rss": 900, "managed_in_memory": 300,
                                              "spilled": 200, "unmanaged": 600,
                                              "limit": 1000}, "cpu": 12.5}
    text = metrics.render(metrics.scheduler_metrics(s, rec))
    families = {f.name: f for f in prom_parser.text_string_to_metric_families(text)}
    assert families["plait_scheduler_workers"].samples[0].value == 2
    by_state = {x.labels["state"]: x.value for x in families["plait_scheduler_tasks"].samples}
    assert by_state["memory"] == 3 and by_state["processing"] == 1
    mem = {(x.labels["worker"], x.labels["type"]): x.value
           for x in families["plait_worker_memory_bytes"].samples}
    assert mem[(W1, "spilled")] == 200 and mem[(W1, "managed")] == 300
    done = families["plait_scheduler_tasks_completed"].samples
    assert {x.labels["prefix"]: x.value for x in done} == {"inc": 3}


def test_metrics_escape_label_values():
    text = metrics.render([metrics.Metric("m", "gauge", "h", [({"k": 'a"b\\c\nd'}, 1)])])
    sample = next(prom_parser.text_string_to_metric_families(text)).samples[0]
    assert sample.labels["k"] == 'a"b\\c\nd'

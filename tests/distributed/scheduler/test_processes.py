"""One smoke test over TCP with real worker processes (LocalCluster, processes=True)."""

from __future__ import annotations

import time

from plait.distributed import Client


def inc(x):
    return x + 1


def boom(x):
    raise KeyError(f"no {x}")


def scheduler_task_count(dask_scheduler=None):
    return len(dask_scheduler.state.tasks)


def test_map_gather_errors_and_release_over_tcp(cluster_processes):
    with Client(cluster_processes) as client:
        futs = client.map(inc, range(200))
        total = client.submit(sum, futs)
        assert total.result(timeout=30) == sum(range(1, 201))
        bad = client.submit(boom, 1)
        after = client.submit(inc, bad)
        exc = after.exception(timeout=30)
        assert isinstance(exc, KeyError) and "no 1" in str(exc)
        del futs, total, bad, after, exc
        deadline = time.monotonic() + 10
        while client.run_on_scheduler(scheduler_task_count) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.run_on_scheduler(scheduler_task_count) == 0

"""Worker loss for real: SIGKILL one of four worker processes in the middle of a
10,000-task graph; every result must equal the sync scheduler's and nothing may hang.
Two rounds in the suite, ten in the stress tier; the figures (tasks rescheduled and
recomputed per round) are printed (``pytest -s``) and recorded as test properties."""

from __future__ import annotations

import pytest

from plait.distributed import Client
from plait.distributed.cluster import LocalCluster
from plait.distributed.testing import kill_round, wait_until


def _rounds(n: int, record_property) -> list[dict]:
    figures = []
    with LocalCluster(n_workers=4, threads_per_worker=1, memory_limit=None) as cluster, \
            Client(cluster) as client:
        for salt in range(n):
            fig = kill_round(client, cluster, salt, timeout=120)
            print("kill round:", fig)
            figures.append(fig)
            # The nanny restarted the killed worker: the cluster is whole again.
            wait_until(lambda: len(cluster.scheduler.state.workers) == 4, timeout=60)
        # Nothing is left behind on the scheduler once the futures are gone.
        state = cluster.scheduler.state
        wait_until(lambda: not state.tasks, timeout=30,
                   message=f"{len(state.tasks)} tasks left on the scheduler")
        assert all(not ws.has_what for ws in state.workers.values())
    record_property("kill_rounds", figures)
    for fig in figures:
        assert fig["workers_lost"] == 1
        # The victim held results the client wanted: some had to be computed again.
        assert fig["victim_keys"] > 0 and fig["recomputed"] > 0
    return figures


def test_kill_one_of_four_workers_mid_graph_two_rounds(record_property):
    _rounds(2, record_property)


@pytest.mark.stress
@pytest.mark.timeout(900)
def test_kill_one_of_four_workers_mid_graph_ten_rounds(record_property):
    _rounds(10, record_property)

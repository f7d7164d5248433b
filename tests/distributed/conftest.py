"""Fixtures for every distributed test: no child process may outlive its test.

``cluster_inproc`` is a LocalCluster with in-process workers (fast); ``cluster_processes``
a LocalCluster with two real worker processes, shared by the whole session to save
start-up time. Async tests use ``plait.distributed.testing.run_async`` (no plugin needed).
"""

from __future__ import annotations

import pytest

from plait.distributed.testing import ProcessLeakCheck


@pytest.fixture(autouse=True)
def _no_leftover_processes(request):
    """Fail a test that leaves a child process alive after a bounded wait (5 s); the
    leftover is killed by its pid."""
    leak = ProcessLeakCheck()
    yield
    found = leak.check(timeout=5)
    if found:
        pytest.fail("child processes left behind (killed now):\n" + "\n".join(found),
                    pytrace=False)


@pytest.fixture
def cluster_inproc():
    from plait.distributed.cluster import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def cluster_processes():
    # One per test process (pytest -n 2: at most two): starting worker processes is
    # the slowest thing these tests do. Tests use it through their own Client and
    # leave its workers as they found them.
    from plait.distributed.cluster import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      memory_limit="1GB") as cluster:
        yield cluster

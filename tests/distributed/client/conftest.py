"""Clients for the client tests: one on a one-process fake scheduler (fast, isolates the
client's own logic) and, where the cluster package is there, one on a real in-process
LocalCluster."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from fake_cluster import FakeCluster  # noqa: E402

import plait  # noqa: E402
from plait.distributed import Client  # noqa: E402


@pytest.fixture
def fake_cluster():
    with FakeCluster() as cluster:
        yield cluster


@pytest.fixture
def c(fake_cluster):
    """A client of the fake cluster, default scheduler while the test runs."""
    before = plait.config.get("scheduler", None)
    client = Client(fake_cluster)
    try:
        yield client
    finally:
        client.close()
    assert plait.config.get("scheduler", None) == before

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "client"))

from fake_cluster import FakeCluster  # noqa: E402

from plait.distributed import Client  # noqa: E402


@pytest.fixture
def fake_cluster():
    with FakeCluster() as cluster:
        yield cluster


@pytest.fixture
def c(fake_cluster):
    client = Client(fake_cluster)
    try:
        yield client
    finally:
        client.close()

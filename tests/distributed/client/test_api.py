"""plait.distributed exports the names a Dask user reaches for, and nothing else."""

from __future__ import annotations

import inspect

import plait.distributed as pd

EXPECTED = {
    "Client", "Event", "Future", "FutureCancelledError", "KilledWorker", "LocalCluster",
    "Lock", "Nanny", "Queue", "Scheduler", "Security", "Semaphore", "Variable", "Worker",
    "as_completed", "default_client", "fire_and_forget", "futures_of", "get_client",
    "get_worker", "progress", "rejoin", "secede", "wait", "worker_client",
}


def test_all_is_the_curated_list_and_every_name_resolves():
    assert set(pd.__all__) == EXPECTED
    for name in pd.__all__:
        assert getattr(pd, name) is not None, name
    assert set(pd.__all__) <= set(dir(pd))


def test_client_signature_mirrors_dask():
    params = inspect.signature(pd.Client).parameters
    for name in ("address", "loop", "timeout", "set_as_default", "asynchronous", "name"):
        assert name in params
    for method, names in {
        "submit": ("func", "key", "workers", "resources", "retries", "priority",
                   "allow_other_workers", "pure"),
        "map": ("func", "key", "workers", "retries", "resources", "priority", "pure",
                "batch_size"),
        "gather": ("futures", "errors"),
        "scatter": ("data", "workers", "broadcast", "hash"),
        "compute": ("collections", "sync", "optimize_graph", "workers", "retries",
                    "priority"),
        "persist": ("collections", "optimize_graph", "workers", "retries", "priority"),
        "get": ("dsk", "keys", "sync"),
        "run": ("function", "workers", "wait"),
        "upload_file": ("filename",),
    }.items():
        got = inspect.signature(getattr(pd.Client, method)).parameters
        assert all(n in got for n in names), (method, set(names) - set(got))


def test_unknown_attribute_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        pd.Nope  # noqa: B018

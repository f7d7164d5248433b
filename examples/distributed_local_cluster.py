"""A local cluster: ``Client()`` starts one, takes over ``.compute()``, and agrees with the
local schedulers.

From the seeds "Dask tutorial: Schedulers / Distributed" (seeds/000_2953597c246db7d8.txt),
"Dask introduction" (seeds/001_9932d384dd3fed1d.txt) and "Dask and xarray on a cluster"
(seeds/004_3076b3509ccd6f79.txt): ``client = Client()`` sets up a scheduler and one
worker process per core; ``largest_delay.compute(scheduler=client)`` (the seeds'
``get=client.get``) runs a collection there, and then plain ``largest_delay.compute()``
does too, because a new Client becomes the default scheduler. ``LocalCluster()`` plus
``Client(cluster)`` is the same thing in two steps. The flights data of the seed is
replaced by generated records, so the example needs no download.

Run with ``python examples/distributed_local_cluster.py``.
"""

from __future__ import annotations

import random
import time

import plait
from plait.distributed import Client, LocalCluster


def make_flights(seed: int, n: int = 2000) -> list[dict]:
    """One day's flights: origin airport and departure delay in minutes."""
    rng = random.Random(seed)
    airports = ["EWR", "JFK", "LGA"]
    return [{"Origin": rng.choice(airports), "DepDelay": rng.randint(-10, 300)}
            for _ in range(n)]


def max_delay(flights: list[dict]) -> int:
    return max(f["DepDelay"] for f in flights)


def main() -> None:
    delayed = plait.delayed
    days = [delayed(make_flights)(seed) for seed in range(8)]
    largest_delay = delayed(max)([delayed(max_delay)(day) for day in days])

    expected = max(max_delay(make_flights(seed)) for seed in range(8))
    local = {name: largest_delay.compute(scheduler=name) for name in ("sync", "threads")}

    start = time.perf_counter()
    client = Client()                      # a local cluster: one worker process per core
    print(f"started {client!r} in {time.perf_counter() - start:.2f} s")
    print(f"dashboard: {client.dashboard_link}")
    try:
        on_cluster_explicit = largest_delay.compute(scheduler=client)
        start = time.perf_counter()
        on_cluster_default = largest_delay.compute()   # the client took over
        print(f"largest delay {on_cluster_default} min, on the cluster in "
              f"{time.perf_counter() - start:.3f} s")
        assert plait.config.get("scheduler") is client
    finally:
        client.close()

    # The same in two steps, with an explicit cluster shape.
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, \
            Client(cluster) as client2:
        print(f"explicit cluster: {client2!r}")
        two_step = largest_delay.compute()

    results = [local["sync"], local["threads"], on_cluster_explicit, on_cluster_default,
               two_step]
    if any(r != expected for r in results):
        raise SystemExit(f"results differ: {results} vs plain Python {expected}")
    if plait.config.get("scheduler", None) is not None:
        raise SystemExit("closing the clients did not give the default scheduler back")
    print(f"The cluster agrees with the local schedulers: largest delay {expected} min.")


if __name__ == "__main__":
    main()

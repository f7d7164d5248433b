"""Futures on a cluster: the seed's incs / decs / adds / total.

From the seed "Dask distributed with the Bokeh dashboard" (seeds/003_c978eb60d478d740.txt):
``client.map(inc, range(100))`` and ``client.map(dec, range(100))`` start 200 tasks at
once; ``client.map(add, incs, decs)`` passes futures as arguments, so each add runs
where its inputs are (workers fetch them from each other, never through the client);
``client.submit(sum, adds)`` adds them up. Deleting the lists of futures releases their
results on the workers. The seed's random sleeps are kept, shorter. Then the same with
``as_completed``, ``wait``, ``gather`` and ``scatter``.

Run with ``python examples/distributed_futures.py``.
"""

from __future__ import annotations

import random
from operator import add as plain_add
from time import sleep

from plait.distributed import Client, LocalCluster, as_completed, wait


def inc(x):
    sleep(random.random() / 200)
    return x + 1


def dec(x):
    sleep(random.random() / 200)
    return x - 1


def add(x, y):
    sleep(random.random() / 200)
    return x + y


def main() -> None:
    expected = sum(plain_add(i + 1, i - 1) for i in range(100))
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, \
            Client(cluster) as client:
        print(client)
        incs = client.map(inc, range(100))
        decs = client.map(dec, range(100))
        adds = client.map(add, incs, decs)
        total = client.submit(sum, adds)

        del incs, decs, adds                 # released on the cluster when no longer needed
        result = total.result()
        print(f"total = {result}")

        futures = client.map(inc, range(20))
        done, not_done = wait(futures)
        in_order_of_finish = [f.result() for f in as_completed(client.map(dec, range(20)))]
        gathered = client.gather(futures)
        [data] = client.scatter([list(range(10))])
        scattered_sum = client.submit(sum, data).result()

    checks = {
        "total": (result, expected),
        "wait": (len(done), 20),
        "as_completed": (sorted(in_order_of_finish), [i - 1 for i in range(20)]),
        "gather": (gathered, [i + 1 for i in range(20)]),
        "scatter": (scattered_sum, 45),
    }
    bad = {name: got for name, (got, want) in checks.items() if got != want}
    if bad or not_done:
        raise SystemExit(f"results differ from plain Python: {bad}")
    print(f"Futures agree with plain Python: total {expected}.")


if __name__ == "__main__":
    main()

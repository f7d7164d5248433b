"""Run in a child process by test_disk_memory.py: set_index through the disk shuffle
on data four times the memory budget, each output partition written to a file; prints
the peak RSS above the baseline as JSON. Not a test module itself."""

import functools
import json
import os
import pickle
import sys
import warnings

import numpy as np
import pandas as pd
import psutil

import plait
import plait.dataframe as dd
from plait.utils.memory import peak_rss, reset_peak_rss


def rows_for(budget: int, nparts: int) -> int:
    return 4 * budget // nparts // 24  # three 8-byte columns: the data is 4x the budget


def make(i: int, rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(i)
    return pd.DataFrame({"id": rng.integers(0, 1 << 40, rows), "x": rng.normal(size=rows),
                         "y": rng.random(rows)})


def write(part: pd.DataFrame, out: str) -> pd.DataFrame:
    # named by the first key, so that sorting the names puts the partitions in order
    first = f"{part.index[0]:020d}" if len(part) else f"empty-{len(os.listdir(out))}"
    path = os.path.join(out, f"{first}.pkl")
    with open(path, "wb") as f:
        pickle.dump(part, f, protocol=5)
    return pd.DataFrame({"rows": [len(part)]})


def main() -> None:
    budget, nparts, out_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rows = rows_for(budget, nparts)
    warnings.simplefilter("ignore", UserWarning)  # the budget key may be missing from plait.yaml
    with plait.config.set({"scheduler": "sync", "shuffling.memory-budget": budget,
                           "dataframe.shuffle.method": None, "shuffle": None}):
        # warm the code paths on a tiny frame (imports, caches), not data-sized buffers
        small = dd.from_pandas(make(0, 1000), npartitions=2)
        small.set_index("id", shuffle_method="disk").compute()
        baseline = psutil.Process().memory_info().rss
        reset_peak_rss()
        df = dd.from_map(functools.partial(make, rows=rows), range(nparts))
        out = df.set_index("id")  # the sampling pass runs here
        graph = out.__plait_graph__()
        method = "disk" if any("shuffle-disk" in str(k) for k in graph) else "tasks"
        counts = out.map_partitions(write, out_dir, meta={"rows": "i8"}).compute()
        peak = peak_rss()
    print(json.dumps({"baseline": baseline, "peak": peak, "method": method,
                      "npartitions": out.npartitions, "rows": int(counts.rows.sum()),
                      "data_bytes": nparts * rows * 24}))


if __name__ == "__main__":
    main()

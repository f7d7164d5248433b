"""The disk shuffle's memory stays within its budget on data four times larger.

A child process (memory_child.py) runs ``set_index`` through the disk shuffle with
config ``shuffling.memory-budget`` set, on data generated partition by partition (never
whole in memory) and written out partition by partition. It reports its RSS before
the computation and its peak RSS during it (VmHWM, reset just before; ``ru_maxrss``
would include the parent's size, which Linux carries over into a child). The peak must
stay under that baseline plus the budget, and the partitions written must equal
pandas' result.
"""

import json
import os
import pickle
import subprocess
import sys

import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from memory_child import make, rows_for

BUDGET = 16 * 2**20
NPARTS = 16


def test_disk_shuffle_peak_rss_within_budget(tmp_path):
    out_dir = tmp_path / "parts"
    out_dir.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, os.path.join(HERE, "memory_child.py"), str(BUDGET),
                           str(NPARTS), str(out_dir)], capture_output=True, text=True,
                          timeout=50, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["method"] == "disk"  # chosen because the data exceeds the budget
    assert report["data_bytes"] >= 4 * BUDGET - 1000
    over = report["peak"] - report["baseline"]
    assert over <= BUDGET, f"peak RSS {over / 2**20:.1f} MiB above baseline, budget {BUDGET / 2**20:.0f} MiB"

    files = sorted(os.listdir(out_dir))
    assert len(files) == report["npartitions"]
    parts = []
    for name in files:
        with open(out_dir / name, "rb") as f:
            parts.append(pickle.load(f))
    result = pd.concat(parts)
    rows = rows_for(BUDGET, NPARTS)
    expected = pd.concat([make(i, rows) for i in range(NPARTS)], ignore_index=True)
    expected = expected.set_index("id").sort_index(kind="stable")
    pd.testing.assert_frame_equal(result, expected)

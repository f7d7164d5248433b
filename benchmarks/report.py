"""Ratio tables from benchmark JSON lines: how plait compares with a peer.

``python -m benchmarks.report benchmarks/results/latest.jsonl`` prints the table for
saved results; the harness prints the same table at the end of ``--library all``.
A ratio below 1 means plait took less time (or memory) than the peer.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

Key = tuple[str, str]  # (benchmark name, scheduler)


def load(paths: list[Path]) -> list[dict[str, Any]]:
    records = []
    for path in paths:
        for line in path.read_text().splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
    return records


def medians(records: list[dict[str, Any]], library: str) -> dict[Key, dict[str, float | None]]:
    """Median seconds and peak MiB per (name, scheduler) over the successful runs."""
    grouped: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        if rec.get("library") == library and "error" not in rec:
            grouped[(rec["name"], rec["scheduler"])].append(rec)
    return {
        key: {
            "seconds": statistics.median(r["seconds"] for r in runs),
            "peak_mib": statistics.median(r["peak_mib"] for r in runs),
        }
        for key, runs in grouped.items()
    }


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}"


def _num(x: float | None, fmt: str) -> str:
    width = int(fmt.split(".")[0])
    return f"{'-':>{width}}" if x is None else format(x, fmt)


def ratio_table(records: list[dict[str, Any]], ours: str = "plait", peer: str = "dask") -> str:
    """A plain-text table of ``ours / peer`` time and peak-memory ratios.

    Keys present for only one side are listed with ``-`` (for instance a run that
    errored), so a missing comparison is visible rather than silently dropped.
    """
    mine, theirs = medians(records, ours), medians(records, peer)
    order: list[Key] = []
    for rec in records:
        key = (rec.get("name"), rec.get("scheduler"))
        if key not in order and None not in key:
            order.append(key)
    header = (f"{'benchmark':<28} {'scheduler':<10} {ours + ' s':>10} {peer + ' s':>10} "
              f"{'time x':>7} {ours + ' MiB':>10} {peer + ' MiB':>10} {'mem x':>6}")
    lines = [f"{ours}/{peer} ratios (median of runs; below 1 means {ours} is better)",
             header, "-" * len(header)]
    for key in order:
        a, b = mine.get(key, {}), theirs.get(key, {})
        lines.append(
            f"{key[0]:<28} {key[1]:<10} {_num(a.get('seconds'), '10.3f')} "
            f"{_num(b.get('seconds'), '10.3f')} {_ratio(a.get('seconds'), b.get('seconds')):>7} "
            f"{_num(a.get('peak_mib'), '10.1f')} {_num(b.get('peak_mib'), '10.1f')} "
            f"{_ratio(a.get('peak_mib'), b.get('peak_mib')):>6}"
        )
    failed = [r for r in records if "error" in r]
    if failed:
        names = sorted({f"{r.get('library')}:{r.get('name')}/{r.get('scheduler')}" for r in failed})
        lines.append(f"{len(failed)} run(s) failed, see their 'error' field: {', '.join(names)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        print("usage: python -m benchmarks.report RESULTS.jsonl [MORE.jsonl ...]", file=sys.stderr)
        return 2
    print(ratio_table(load(paths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

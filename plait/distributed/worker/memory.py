"""A worker's memory budget: parsing ``memory_limit``, what the machine has, and the
process's peak (:func:`plait.utils.memory.peak_rss`, re-exported). Spilling and
pausing live in :mod:`.memory_manager`, the nanny's limit in :mod:`plait.distributed.nanny`.
"""

from __future__ import annotations

import os
from typing import Any

from plait.utils.memory import peak_rss
from plait.utils.sizes import parse_bytes

__all__ = ["cpu_count", "total_memory", "parse_memory_limit", "peak_rss"]


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def total_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().total)


def parse_memory_limit(memory_limit: Any, n_workers: int, total: int | None = None) -> int | None:
    """Bytes per worker from ``"4GB"``, a byte count, a fraction of the machine's memory,
    ``"auto"`` (the machine's memory shared by ``n_workers``) or None/0 (no limit).

    >>> parse_memory_limit("4GB", 2), parse_memory_limit(None, 2), parse_memory_limit(0, 2)
    (4000000000, None, None)
    >>> parse_memory_limit("auto", 4, total=8_000), parse_memory_limit(0.5, 4, total=8_000)
    (2000, 4000)
    """
    if memory_limit is None or memory_limit == 0:
        return None
    if memory_limit == "auto":
        total = total or total_memory()
        return max(1, total // max(n_workers, 1))
    if isinstance(memory_limit, float) and 0 < memory_limit <= 1:
        return int((total or total_memory()) * memory_limit)
    try:
        value = parse_bytes(memory_limit)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"memory_limit={memory_limit!r} is not a size: give bytes (4_000_000_000), a "
            "string ('4GB', '512MiB'), a fraction of the machine's memory (0.5), 'auto' "
            "or None"
        ) from exc
    if value < 0:
        raise ValueError(f"memory_limit must not be negative, got {memory_limit!r}")
    return value or None

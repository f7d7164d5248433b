"""This process's peak resident memory, as the kernel counts it.

>>> peak_rss() >= 0
True
"""

from __future__ import annotations

__all__ = ["peak_rss", "reset_peak_rss"]


def peak_rss() -> int:
    """This process's peak resident memory in bytes (0 where unknown).

    Linux's ``VmHWM`` counts this program only. ``getrusage``'s ``ru_maxrss`` (the
    fallback elsewhere) is kept across fork and ``exec``, so a child of a large process
    would report the parent's peak as its own.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
    except Exception:
        return 0


def reset_peak_rss() -> None:
    """Start :func:`peak_rss` afresh from the current size (Linux; elsewhere nothing)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass

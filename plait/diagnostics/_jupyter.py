"""Whether we run inside a Jupyter (IPython) kernel, without importing IPython."""

from __future__ import annotations

import sys

__all__ = ["in_ipython_kernel"]


def in_ipython_kernel() -> bool:
    """True inside a Jupyter kernel; False in a terminal IPython, a script or a test.

    >>> in_ipython_kernel()
    False
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:  # a kernel always has IPython imported already
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None

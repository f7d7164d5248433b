"""Diagnostics for the local schedulers: a progress bar and profilers.

:class:`ProgressBar` shows how far a compute is; :class:`Profiler` records when each
task ran and on which worker; :class:`ResourceProfiler` samples CPU and memory;
:class:`CacheProfiler` measures the results held over time. :func:`visualize` draws
profilers on one interactive page (bokeh, imported only when drawing). All are
:class:`Callback` objects: use them in a ``with`` block around a compute, or
``register()`` them for every compute.
"""

from ..callbacks import Callback
from .cache import CacheProfiler
from .plots import visualize
from .profile import Profiler
from .progress import ProgressBar
from .resource import ResourceProfiler

__all__ = [
    "Callback",
    "CacheProfiler",
    "ProgressBar",
    "Profiler",
    "ResourceProfiler",
    "visualize",
]

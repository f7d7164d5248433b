"""``plait.multiprocessing.get``: the process-pool get-function, under the name Dask
users know."""

from .local.execute import get_processes as get

__all__ = ["get"]

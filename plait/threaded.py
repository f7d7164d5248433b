"""``plait.threaded.get``: the thread-pool get-function, under the name Dask users know."""

from .local.execute import get_threads as get

__all__ = ["get"]

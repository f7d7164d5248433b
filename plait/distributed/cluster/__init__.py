"""Clusters: a scheduler and workers started and stopped together (``LocalCluster``)."""

from .local import LocalCluster
from .worker_process import WorkerProcess

__all__ = ["LocalCluster", "WorkerProcess"]

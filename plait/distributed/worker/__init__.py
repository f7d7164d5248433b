"""The worker: runs tasks on a thread pool, keeps results, fetches inputs from peers."""

from .state import TaskState, WorkerState

__all__ = ["TaskState", "WorkerState"]

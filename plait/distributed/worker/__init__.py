"""The worker: runs tasks on a thread pool, keeps results, fetches inputs from peers.

``Worker`` is the server; ``WorkerState`` its pure state machine. Inside a task,
``get_worker()`` is the worker running it, and ``secede()``/``rejoin()`` give its thread
slot back while it waits on other work. With a memory limit, results spill to disk
(:mod:`.spill`), the process's memory is watched (:mod:`.memory_manager`) and the worker
pauses before it runs out; a lost scheduler is waited for (:mod:`.link`).
"""

from .context import get_worker, rejoin, secede
from .execute import Reschedule
from .server import Worker
from .state import TaskState, WorkerState

__all__ = ["Reschedule", "TaskState", "Worker", "WorkerState", "get_worker", "rejoin",
           "secede"]

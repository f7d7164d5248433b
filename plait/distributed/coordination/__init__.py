"""Coordination between clients and tasks of one cluster: ``Lock``, ``Semaphore``,
``Event``, ``Variable``, ``Queue``.

Each primitive is a small client-side object naming shared state that the scheduler
keeps through an extension (:data:`SCHEDULER_EXTENSIONS`: the scheduler calls
``ext(scheduler)`` for each at start, and each adds its ``<name>_<verb>`` rpc handlers
to ``scheduler.handlers``; the ops are listed in :mod:`plait.distributed.protocol`).
"""

from .event import Event, EventExtension
from .lock import Lock, LockExtension, Semaphore, SemaphoreExtension
from .variable import Queue, QueueExtension, Variable, VariableExtension

__all__ = ["Event", "Lock", "Queue", "SCHEDULER_EXTENSIONS", "Semaphore", "Variable"]

SCHEDULER_EXTENSIONS = [LockExtension, SemaphoreExtension, EventExtension,
                        VariableExtension, QueueExtension]

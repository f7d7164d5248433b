"""The distributed scheduler: a pure state machine (``SchedulerState``) and the server
around it (``Scheduler``)."""

from .server import Scheduler
from .state import SchedulerState

__all__ = ["Scheduler", "SchedulerState"]

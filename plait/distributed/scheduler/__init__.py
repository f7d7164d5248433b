"""The distributed scheduler: a pure state machine (``SchedulerState``) and the server
around it (``Scheduler``)."""

from .state import SchedulerState

__all__ = ["SchedulerState"]

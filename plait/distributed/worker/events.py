"""What the worker's state machine takes in (events) and hands out (instructions).

The machine in :mod:`plait.distributed.worker.state` does no I/O: the :class:`Worker`
server turns scheduler messages, finished threads and finished fetches into the events
below, feeds them to :meth:`WorkerState.handle`, and carries out the instructions it
gets back (start a task on a thread, fetch keys from a peer, send a message on the
scheduler stream). Each class is a small slotted record so that building one per task
costs little.

>>> ComputeTask("x", run_spec=None, priority=(0,))
ComputeTask(key='x', run_spec=None, priority=(0,), who_has={}, nbytes={}, resource_restrictions=None, duration=None)
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

Key = Hashable

__all__ = [
    "StateMachineEvent",
    "ComputeTask",
    "FreeKeys",
    "AcquireReplicas",
    "StealRequest",
    "UpdateData",
    "ExecuteSuccess",
    "ExecuteFailure",
    "RescheduleEvent",
    "SecedeEvent",
    "RejoinEvent",
    "GatherDepSuccess",
    "GatherDepNetworkFailure",
    "GatherDepFailure",
    "RefreshWhoHas",
    "PauseEvent",
    "SchedulerLost",
    "Instruction",
    "Execute",
    "GatherDep",
    "Send",
    "Resume",
]


class StateMachineEvent:
    """Base class of everything :meth:`WorkerState.handle` accepts."""

    __slots__ = ()


# -- from the scheduler --------------------------------------------------------------


@dataclass(slots=True)
class ComputeTask(StateMachineEvent):
    """``compute-task``: run ``run_spec`` here once its dependencies are local."""

    key: Key
    run_spec: Any
    priority: tuple = (0,)
    who_has: dict = field(default_factory=dict)
    nbytes: dict = field(default_factory=dict)
    resource_restrictions: dict | None = None
    duration: float | None = None


@dataclass(slots=True)
class FreeKeys(StateMachineEvent):
    """``free-keys``: the scheduler no longer needs these keys on this worker."""

    keys: list


@dataclass(slots=True)
class AcquireReplicas(StateMachineEvent):
    """``acquire-replicas``: fetch copies of these keys and keep them."""

    who_has: dict
    nbytes: dict = field(default_factory=dict)


@dataclass(slots=True)
class StealRequest(StateMachineEvent):
    """``steal-request``: give ``key`` back if it has not started."""

    key: Key


@dataclass(slots=True)
class UpdateData(StateMachineEvent):
    """Values pushed to this worker (``update_data`` from a client or a peer)."""

    data: dict
    nbytes: dict
    report: bool = True


@dataclass(slots=True)
class RefreshWhoHas(StateMachineEvent):
    """Fresh holders of keys this worker could not find anywhere (``missing``)."""

    who_has: dict


# -- from the worker's own monitors ------------------------------------------------


@dataclass(slots=True)
class PauseEvent(StateMachineEvent):
    """Memory is above (``paused=True``) or back below the pause threshold: start no
    new task or fetch while paused; what runs or is in flight finishes."""

    paused: bool


@dataclass(slots=True)
class SchedulerLost(StateMachineEvent):
    """The scheduler went away: forget every task and value (a new scheduler knows
    none of them); tasks still running on threads finish into nothing."""


# -- from the worker's own threads and fetches -----------------------------------------


@dataclass(slots=True)
class ExecuteSuccess(StateMachineEvent):
    """A task returned ``value``."""

    key: Key
    value: Any
    nbytes: int
    type: str
    startstops: list
    thread: int | None = None


@dataclass(slots=True)
class ExecuteFailure(StateMachineEvent):
    """A task raised; ``exception``/``traceback`` are already wrapped for the wire."""

    key: Key
    exception: Any
    traceback: Any
    exception_text: str
    traceback_text: str
    startstops: list


@dataclass(slots=True)
class RescheduleEvent(StateMachineEvent):
    """A task raised ``Reschedule``: hand it back to the scheduler."""

    key: Key


@dataclass(slots=True)
class SecedeEvent(StateMachineEvent):
    """A task called ``secede()``: it no longer holds one of the ``nthreads`` slots."""

    key: Key


@dataclass(slots=True)
class RejoinEvent(StateMachineEvent):
    """A seceded task called ``rejoin()``: it waits for a slot."""

    key: Key


@dataclass(slots=True)
class GatherDepSuccess(StateMachineEvent):
    """A peer answered ``get_data``; keys it no longer had are absent from ``data``."""

    worker: str
    data: dict
    nbytes: dict = field(default_factory=dict)


@dataclass(slots=True)
class GatherDepNetworkFailure(StateMachineEvent):
    """The peer could not be reached or the connection broke: try other holders."""

    worker: str
    exception_text: str = ""


@dataclass(slots=True)
class GatherDepFailure(StateMachineEvent):
    """The peer answered with an error (e.g. a value it cannot serialize)."""

    worker: str
    exception: Any
    traceback: Any
    exception_text: str
    traceback_text: str = ""


# -- instructions -------------------------------------------------------------------


class Instruction:
    """Base class of what :meth:`WorkerState.handle` returns."""

    __slots__ = ()


@dataclass(slots=True)
class Execute(Instruction):
    """Run the task ``key`` on a thread."""

    key: Key


@dataclass(slots=True)
class GatherDep(Instruction):
    """Fetch ``keys`` from the peer ``worker`` with one ``get_data`` request."""

    worker: str
    keys: list
    total_nbytes: int


@dataclass(slots=True)
class Send(Instruction):
    """Send ``msg`` to the scheduler on the batched stream."""

    msg: dict


@dataclass(slots=True)
class Resume(Instruction):
    """Wake the seceded task ``key`` that waits in ``rejoin()``: it has a slot again."""

    key: Key

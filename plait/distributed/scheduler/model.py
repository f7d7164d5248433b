"""The records the scheduler's state machine keeps: one per task, worker, client, prefix.

They are plain slotted objects with no behaviour beyond cheap properties; every change
to them happens inside :class:`plait.distributed.scheduler.state.SchedulerState`, which
keeps the cross references consistent (a task in ``memory`` is in each holder's
``has_what``; a task ``processing`` is in its worker's ``processing``; ...).

Links are object references, not keys, so a transition walks the graph without dict
look-ups; messages carry keys.
"""

from __future__ import annotations

from typing import Any

from ...graph.spec import Key

__all__ = ["TASK_STATES", "ClientState", "TaskPrefix", "TaskState", "WorkerState"]

#: Every state a task can be in, in the order of a task's ordinary life.
TASK_STATES = (
    "released",
    "waiting",
    "queued",
    "no-worker",
    "processing",
    "memory",
    "erred",
    "forgotten",
)


class TaskPrefix:
    """What the scheduler learns about all tasks of one name (``"inc"`` for
    ``"inc-3f2a..."``): how long they take, how many there are.

    >>> p = TaskPrefix("inc")
    >>> p.add_duration(0.2); p.add_duration(0.4); round(p.duration_average, 3)
    0.3
    """

    __slots__ = ("count", "duration_average", "n_durations", "name", "nbytes_total")

    def __init__(self, name: str):
        self.name = name
        self.duration_average: float | None = None
        self.n_durations = 0
        self.count = 0  # live TaskStates with this prefix
        self.nbytes_total = 0

    def add_duration(self, seconds: float) -> None:
        # An exponentially weighted mean adapts when a function's cost changes with
        # its input (the first chunks of a file are often smaller than the rest).
        if self.duration_average is None:
            self.duration_average = seconds
        else:
            self.duration_average = 0.5 * self.duration_average + 0.5 * seconds
        self.n_durations += 1

    def __repr__(self) -> str:
        return f"<TaskPrefix {self.name!r} count={self.count} avg={self.duration_average}>"


class TaskState:
    """One key the scheduler knows about.

    ``waiting_on`` holds the dependencies not yet in memory (while ``waiting``);
    ``waiters`` holds the dependents still to run that need this task's data; the data
    is released when ``waiters`` and ``who_wants`` are both empty, and the record is
    forgotten when in addition no dependent is left.
    """

    __slots__ = (
        "annotations",
        "computed",
        "deaths",
        "dependencies",
        "dependents",
        "erred_on",
        "exception",
        "exception_blame",
        "exception_text",
        "host_restrictions",
        "key",
        "loose_restrictions",
        "nbytes",
        "prefix",
        "priority",
        "processing_on",
        "queue_token",
        "resource_restrictions",
        "retries",
        "run_spec",
        "state",
        "suspicious",
        "traceback",
        "traceback_text",
        "type",
        "waiters",
        "waiting_on",
        "who_has",
        "who_wants",
    )

    def __init__(self, key: Key, run_spec: Any, prefix: TaskPrefix):
        self.key = key
        self.prefix = prefix
        self.run_spec = run_spec
        self.priority: tuple = (0, 0, 0)
        self.state = "released"
        self.dependencies: set[TaskState] = set()
        self.dependents: set[TaskState] = set()
        self.waiting_on: set[TaskState] = set()
        self.waiters: set[TaskState] = set()
        self.who_has: set[WorkerState] = set()
        self.processing_on: WorkerState | None = None
        self.who_wants: set[ClientState] = set()
        self.nbytes = -1
        self.type: str | None = None
        self.exception: Any = None
        self.traceback: Any = None
        self.exception_text = ""
        self.traceback_text = ""
        self.exception_blame: TaskState | None = None
        self.erred_on: set[str] = set()
        self.retries = 0
        self.suspicious = 0
        self.computed = False  # finished once already: a second finish is a recompute
        # (address, reason, detail) of each worker that died while running this task
        # (None until one does): what KilledWorker reports.
        self.deaths: list | None = None
        self.host_restrictions: frozenset | None = None
        self.resource_restrictions: dict | None = None
        self.loose_restrictions = False
        self.annotations: dict | None = None
        self.queue_token = 0

    @property
    def has_restrictions(self) -> bool:
        return self.host_restrictions is not None or self.resource_restrictions is not None

    def __repr__(self) -> str:
        return f"<TaskState {self.key!r} {self.state}>"


class WorkerState:
    """One worker as the scheduler sees it.

    ``processing`` maps each task sent to the worker and not yet reported back to the
    estimated seconds it costs (run time plus transfers); ``occupancy`` is their sum.
    ``has_what`` keeps insertion order so that listings are stable.
    """

    __slots__ = (
        "address",
        "extra",
        "has_what",
        "host",
        "last_seen",
        "local_directory",
        "long_running",
        "memory_limit",
        "metrics",
        "name",
        "nanny",
        "nbytes",
        "nthreads",
        "occupancy",
        "pid",
        "processing",
        "resources",
        "status",
    )

    def __init__(
        self,
        address: str,
        nthreads: int = 1,
        name: Any = None,
        memory_limit: int | None = None,
        resources: dict | None = None,
        pid: int | None = None,
        local_directory: str | None = None,
    ):
        self.address = address
        self.host = address_host(address)
        self.name = address if name is None else name
        self.nthreads = nthreads
        self.memory_limit = memory_limit
        self.resources: dict = dict(resources or {})
        self.pid = pid
        self.local_directory = local_directory
        self.status = "running"
        self.processing: dict[TaskState, float] = {}
        self.long_running: set[TaskState] = set()
        self.has_what: dict[TaskState, None] = {}
        self.nbytes = 0
        self.occupancy = 0.0
        self.last_seen = 0.0
        self.metrics: dict = {}
        self.extra: dict = {}
        self.nanny: str | None = None  # address of the nanny that restarts it, if any

    def identity(self) -> dict:
        """Plain data describing the worker (for ``identity`` and ``scheduler_info``)."""
        return {
            "type": "Worker",
            "id": self.name,
            "name": self.name,
            "host": self.host,
            "nthreads": self.nthreads,
            "memory_limit": self.memory_limit,
            "resources": dict(self.resources),
            "pid": self.pid,
            "local_directory": self.local_directory,
            "status": self.status,
            "last_seen": self.last_seen,
            "metrics": dict(self.metrics),
            "nbytes": self.nbytes,
            "processing": len(self.processing),
            "keys": len(self.has_what),
            "nanny": self.nanny,
        }

    def __repr__(self) -> str:
        return (
            f"<WorkerState {self.address!r} {self.status} nthreads={self.nthreads} "
            f"processing={len(self.processing)} memory={len(self.has_what)}>"
        )


class ClientState:
    """One client: the keys it holds futures for."""

    __slots__ = ("client_key", "last_seen", "wants_what")

    def __init__(self, client_key: str):
        self.client_key = client_key
        self.wants_what: set[TaskState] = set()
        self.last_seen = 0.0

    def __repr__(self) -> str:
        return f"<ClientState {self.client_key!r} wants={len(self.wants_what)}>"


def address_host(address: str) -> str:
    """The host part of a worker address.

    >>> address_host("tcp://127.0.0.1:8786"), address_host("inproc://10.0.0.1/42/1")
    ('127.0.0.1', '10.0.0.1')
    """
    rest = address.split("://", 1)[-1]
    if rest.startswith("["):  # IPv6 literal
        return rest[1 : rest.find("]")]
    rest = rest.split("/", 1)[0]
    return rest.rsplit(":", 1)[0] if ":" in rest else rest

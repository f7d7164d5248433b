"""Running one task on a worker thread and describing the outcome as an event.

:func:`run_task` is what a worker thread calls: deserialize the run spec, look up the
dependencies' values, call ``node.run``, time it and measure the result, and return an
:class:`~.events.ExecuteSuccess` or :class:`~.events.ExecuteFailure` for the state
machine. Nothing here raises: every failure (an unpicklable run spec, a missing input, the
task's own exception) becomes a failure event that names the key.

A task's exception travels to the client pickled. Exceptions that do not survive a
pickle round trip (unpicklable attributes, an ``__init__`` that ``pickle`` cannot call
again) are replaced by :func:`picklable_exception`: an exception of a class with the same
name whose message is the original's text. The traceback travels as a
``traceback.StackSummary`` of the task's own frames (worker frames are cut off), with its
text alongside.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
import traceback
from collections.abc import Hashable, Mapping
from typing import Any

import cloudpickle

from plait.graph.spec import Node
from plait.sizeof import sizeof

from ..comm.serialize import Serialize, Serialized, deserialize
from . import context
from .events import ExecuteFailure, ExecuteSuccess, RescheduleEvent, StateMachineEvent

__all__ = ["Reschedule", "run_task", "failure_event", "picklable_exception",
           "RemoteException"]

# Frames from these files are the worker's own machinery, not the task's.
_OWN_FILES = {
    os.path.abspath(__file__),
    os.path.abspath(Node.run.__code__.co_filename),
}


class Reschedule(Exception):
    """Raise inside a task to hand it back to the scheduler to be placed again."""


class RemoteException(Exception):
    """Base of the stand-ins for exceptions that could not be pickled."""

    type_name = "RemoteException"

    def __reduce__(self):
        return (_remote_exception, (self.type_name, str(self)))


_stand_ins: dict[str, type] = {}
_stand_ins_lock = threading.Lock()


def _remote_exception(type_name: str, message: str) -> RemoteException:
    with _stand_ins_lock:
        cls = _stand_ins.get(type_name)
        if cls is None:
            cls = type(type_name, (RemoteException,), {"type_name": type_name,
                                                      "__module__": __name__})
            _stand_ins[type_name] = cls
    return cls(message)


def picklable_exception(exc: BaseException) -> BaseException:
    """``exc`` itself if it survives a pickle round trip, else a same-named stand-in.

    >>> class Odd(Exception):
    ...     def __init__(self, a, b):
    ...         super().__init__(f"{a} and {b}")
    >>> e = picklable_exception(Odd(1, 2))
    >>> type(e).__name__, str(e), isinstance(e, RemoteException)
    ('Odd', '1 and 2', True)
    >>> picklable_exception(ValueError("x")).__class__ is ValueError
    True
    """
    try:
        pickle.loads(cloudpickle.dumps(exc, protocol=5))
        return exc
    except Exception:
        try:
            message = str(exc)
        except Exception:
            message = f"<{type(exc).__name__}: str() failed>"
        return _remote_exception(type(exc).__name__, message)


def _task_frames(tb) -> traceback.StackSummary:
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) in _OWN_FILES:
        tb = tb.tb_next
    return traceback.extract_tb(tb)


def failure_event(key: Hashable, exc: BaseException, startstops: list) -> ExecuteFailure:
    """The event for a task ``key`` that raised ``exc`` (wrapped for the wire)."""
    frames = _task_frames(exc.__traceback__)
    try:
        exception_text = f"{type(exc).__name__}: {exc}"
    except Exception:
        exception_text = type(exc).__name__
    return ExecuteFailure(
        key,
        Serialize(picklable_exception(exc)),
        Serialize(frames),
        exception_text,
        "".join(frames.format()),
        startstops,
    )


def run_task(worker: Any, key: Hashable, run_spec: Any, data: Mapping) -> StateMachineEvent:
    """Run the task ``key`` on this thread; its inputs are read from ``data``.

    ``startstops`` of the outcome: ``("disk-read", start, stop)`` when inputs had to be
    loaded from spill files, then ``("compute", start, stop)``.
    """
    start = time.time()
    startstops: list = []
    try:
        node = deserialize(run_spec, key) if isinstance(run_spec, (Serialized, Serialize)) \
            else run_spec
        if not isinstance(node, Node):
            raise TypeError(
                f"the run spec of {key!r} is a {type(node).__name__}, not a plait graph "
                "node (Task, Data or Alias)"
            )
        deps = node.dependencies
        load = getattr(data, "load", None)
        try:
            if load is None:
                inputs = {dep: data[dep] for dep in deps}
            else:  # a spilling store: say when inputs came from disk
                inputs = {}
                from_disk = False
                for dep in deps:
                    inputs[dep], was_on_disk = load(dep)
                    from_disk = from_disk or was_on_disk
                if from_disk:
                    loaded = time.time()
                    startstops.append(("disk-read", start, loaded))
                    start = loaded
        except KeyError as missing:
            raise RuntimeError(
                f"input {missing.args[0]!r} of task {key!r} is not on worker "
                f"{getattr(worker, 'address', '?')}"
            ) from None
    except Exception as exc:
        return failure_event(key, exc, [("compute", start, time.time())])
    local = context.thread_state
    local.worker, local.key, local.seceded = worker, key, False
    try:
        value = node.run(inputs)
    except Reschedule:
        return RescheduleEvent(key)
    except BaseException as exc:  # SystemExit in a task fails the task, not the thread
        return failure_event(key, exc, [*startstops, ("compute", start, time.time())])
    finally:
        local.worker = local.key = None
        local.seceded = False
    stop = time.time()
    return ExecuteSuccess(key, value, sizeof(value), type(value).__name__,
                          [*startstops, ("compute", start, stop)], threading.get_ident())

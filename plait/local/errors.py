"""How a task's failure reaches the caller: same exception, key named, traceback kept."""

from __future__ import annotations

import traceback
from typing import Any, NoReturn


class RemoteTraceback(Exception):
    """The traceback of a task that failed in another process, as text."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return "\n" + self.text


def annotate(exc: BaseException, key: Any, label: str) -> BaseException:
    """Name the failing key on ``exc`` (once), as a note shown under its traceback."""
    if key is None:
        return exc
    note = f"plait: raised by task {key!r} (scheduler: {label})"
    notes = getattr(exc, "__notes__", None)
    if not notes or note not in notes:
        exc.add_note(note)
    try:
        exc.plait_key = key  # lets callers find the key programmatically
    except Exception:  # exceptions with __slots__
        pass
    return exc


def raise_task_error(exc: BaseException, key: Any, label: str) -> NoReturn:
    """Raise the task's own exception with its key named and its traceback kept."""
    annotate(exc, key, label)
    raise exc.with_traceback(exc.__traceback__)


def format_exception(exc: BaseException) -> str:
    """The full traceback text of ``exc`` (for sending across processes)."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def raise_outcome(state: Any, label: str) -> None:
    """After a run: raise the first task failure, or an error if the run stalled."""
    if state.failed is not None:
        key, exc = state.failed
        raise_task_error(exc, key, label)
    if not state.done:
        raise RuntimeError(
            f"the {label} scheduler stopped with {state.total - state.finished} of "
            f"{state.total} tasks unfinished and none ready; this is a bug in plait, "
            "please report it with the graph"
        )

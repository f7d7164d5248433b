"""Errors the scheduler itself gives a task (as opposed to errors a task raised).

They are plain exceptions whose only argument is their message, so they pickle and
reach the client's ``Future.result()`` like any task error.
"""

from __future__ import annotations

__all__ = ["GraphCycleError", "InvalidTransition", "LostDataError", "UnknownDependencyError"]


class LostDataError(RuntimeError):
    """Data that was scattered (not computed) lived only on workers that are gone."""


class UnknownDependencyError(KeyError):
    """A submitted task needs a key the scheduler does not know."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class GraphCycleError(ValueError):
    """Submitted tasks depend on each other in a cycle."""


class InvalidTransition(RuntimeError):
    """The state machine was asked for a move it has no arrow for (a bug)."""

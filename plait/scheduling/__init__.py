"""The scheduling core shared by every executor (pure; no threads, no I/O)."""

from .core import GraphState
from .hooks import Hooks

__all__ = ["GraphState", "Hooks"]

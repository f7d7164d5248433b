"""The one place where readers meet the expression layer: parts + reader -> DataFrame."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["from_parts"]


def from_parts(reader: Callable, parts: Sequence, meta: Any, divisions: Any = None,
               label: str | None = None) -> Any:
    """A collection with one partition per part: partition i is ``reader(parts[i])``.

    The reader is called as ``reader(part, columns=..., filters=...)`` once the optimizer
    has pushed a column selection (and, when ``reader.supports_filters``, row filters)
    into the read.
    """
    from ..core import new_collection
    from ..expr import FromParts

    return new_collection(FromParts(reader, list(parts), meta, divisions=divisions,
                                    label=label))

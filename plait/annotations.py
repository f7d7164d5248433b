"""``plait.annotate``: scheduling hints attached to the tasks built inside a ``with``.

>>> with annotate(priority=10, retries=2):
...     current()
{'priority': 10, 'retries': 2}
>>> current() is None
True

How annotations travel, and why it costs nothing without them: while an ``annotate``
block is open, collection constructors (Delayed, Array, Bag) call :func:`note` with the
keys of the layer they made (one attribute check when no block is open). :func:`note`
records ``{key: annotations}`` in a side table that lives as long as the collection that
made those keys (a weak reference removes them). When a distributed Client sends a graph,
it looks its keys up in the table (:func:`for_keys`, free when the table is empty); keys
that graph optimisation fused away hand their annotations to the task that absorbed them
(:func:`plait.distributed.packing.annotations_for`). Local schedulers ignore annotations.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Iterable, Mapping

__all__ = ["annotate", "current", "note", "for_keys", "KNOWN"]

KNOWN = ("priority", "retries", "resources", "workers", "allow_other_workers")

# The merged annotations of the open blocks; None when no block is open. Constructors
# test this one module attribute, so building graphs without annotations pays nothing.
_current: dict | None = None
_lock = threading.RLock()  # re-entrant: a weakref callback may fire during GC inside note()
_by_key: dict = {}  # key -> annotations (the dict object recorded by one owner)
_owners: dict = {}  # id(collection) -> (weakref, keys, annotations)


def _check(name: str, value: Any) -> Any:
    if name in ("priority", "retries"):
        if type(value) is not int:
            raise TypeError(f"annotate({name}=...) takes an int, got {type(value).__name__} "
                            f"{value!r}: write annotate({name}=2)")
        if name == "retries" and value < 0:
            raise ValueError(f"annotate(retries={value}) must be >= 0")
    elif name == "resources":
        if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, (int, float)) for k, v in value.items()):
            raise TypeError(f"annotate(resources=...) takes a dict of resource name to "
                            f"amount, e.g. {{'GPU': 1}}; got {value!r}")
        value = dict(value)
    elif name == "workers":
        if isinstance(value, str):
            value = [value]
        elif not isinstance(value, (list, tuple, set)) or not all(
                isinstance(w, str) for w in value):
            raise TypeError(f"annotate(workers=...) takes an address or a list of worker "
                            f"addresses/names, got {value!r}")
        value = list(value)
    elif name == "allow_other_workers":
        if type(value) is not bool:
            raise TypeError(f"annotate(allow_other_workers=...) takes True or False, "
                            f"got {value!r}")
    return value


class annotate:
    """Attach scheduling hints to every task of the collections built in the block.

    Parameters
    ----------
    priority : int, optional
        Higher runs first (among tasks that are ready at the same time).
    retries : int, optional
        How many times to rerun a task that raised before giving up.
    resources : dict, optional
        Abstract resources each task needs on a worker, e.g. ``{"GPU": 1}``.
    workers : str or list of str, optional
        Worker addresses or names the tasks must run on.
    allow_other_workers : bool, optional
        With ``workers``: whether other workers may run them if those are busy or gone.
    **other
        Further annotations, passed to the scheduler as they are.

    Blocks nest; an inner value replaces an outer one. Only the distributed scheduler
    acts on annotations.
    """

    def __init__(self, priority: int | None = None, retries: int | None = None,
                 resources: Mapping | None = None, workers: Any = None,
                 allow_other_workers: bool | None = None, **other: Any):
        given = dict(priority=priority, retries=retries, resources=resources,
                     workers=workers, allow_other_workers=allow_other_workers)
        given.update(other)
        self.annotations = {k: _check(k, v) for k, v in given.items() if v is not None}
        self._previous: list = []

    def __enter__(self) -> "annotate":
        global _current
        with _lock:
            self._previous.append(_current)
            merged = dict(_current or {})
            merged.update(self.annotations)
            _current = merged or None
        return self

    def __exit__(self, *exc: Any) -> None:
        global _current
        with _lock:
            _current = self._previous.pop()


def current() -> dict | None:
    """The annotations of the open ``annotate`` blocks (None outside any)."""
    return None if _current is None else dict(_current)


def _forget(owner_id: int) -> None:
    with _lock:
        entry = _owners.pop(owner_id, None)
        if entry is None:
            return
        _, keys, ann = entry
        for k in keys:
            if _by_key.get(k) is ann:
                del _by_key[k]


def note(owner: Any, keys: Iterable) -> None:
    """Record the open blocks' annotations for ``keys``, the layer ``owner`` made.

    Called by collection constructors only when ``annotations._current`` is not None.
    The record lasts while ``owner`` does.
    """
    ann = _current
    if ann is None:
        return
    keys = list(keys)
    oid = id(owner)
    ref = weakref.ref(owner, lambda _r, oid=oid: _forget(oid))
    with _lock:
        previous = _owners.get(oid)
        if previous is not None:
            keys = list(dict.fromkeys(previous[1] + keys))
        _owners[oid] = (ref, keys, ann)
        for k in keys:
            _by_key[k] = ann


def for_keys(keys: Iterable) -> dict:
    """``{key: annotations}`` for those of ``keys`` built inside an annotate block.

    >>> for_keys(["no-such-key"])
    {}
    """
    if not _by_key:
        return {}
    table = _by_key
    return {k: table[k] for k in keys if k in table}

"""Callbacks: the hook points of every local executor, for diagnostics.

A :class:`Callback` bundles up to five functions. Used as a context manager it is
active for the computations inside the block; ``register()`` makes it active for every
computation until ``unregister()``. Subclasses override ``_start``, ``_start_state``,
``_pretask``, ``_posttask`` and ``_finish`` (the names Dask users know).

``pretask`` and ``posttask`` run in the thread that runs the task under the sync and
threads schedulers, and in the calling process (at dispatch and on return) under the
process pool, so they must be cheap and thread-safe.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

from .scheduling.hooks import Hooks

__all__ = ["Callback", "active_hooks"]


class Callback:
    """Functions called at the start, around each task and at the end of a compute.

    Parameters
    ----------
    start : callable(dsk), optional
    start_state : callable(dsk, state), optional
    pretask : callable(key, dsk, state), optional
    posttask : callable(key, result, dsk, state, worker_id), optional
    finish : callable(dsk, state, errored), optional

    Examples
    --------
    >>> import plait
    >>> seen = []
    >>> with Callback(posttask=lambda key, result, dsk, state, wid: seen.append(result)):
    ...     plait.delayed(sum)([1, 2]).compute(scheduler="sync")
    3
    >>> seen
    [3]
    """

    active: ClassVar[set] = set()

    def __init__(
        self,
        start: Callable | None = None,
        start_state: Callable | None = None,
        pretask: Callable | None = None,
        posttask: Callable | None = None,
        finish: Callable | None = None,
    ):
        if start is not None:
            self._start = start
        if start_state is not None:
            self._start_state = start_state
        if pretask is not None:
            self._pretask = pretask
        if posttask is not None:
            self._posttask = posttask
        if finish is not None:
            self._finish = finish

    # Subclasses override these; None means "not used" so executors skip them.
    _start: Any = None
    _start_state: Any = None
    _pretask: Any = None
    _posttask: Any = None
    _finish: Any = None

    def __enter__(self) -> "Callback":
        Callback.active.add(self)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        Callback.active.discard(self)

    def register(self) -> None:
        """Activate for every computation until :meth:`unregister`."""
        Callback.active.add(self)

    def unregister(self) -> None:
        Callback.active.discard(self)


def active_hooks(extra: Any = None) -> Hooks:
    """The hooks of all active callbacks plus ``extra`` (a Callback, a list, or None)."""
    cbs = list(Callback.active)
    if extra is not None:
        if isinstance(extra, (list, tuple, set)):
            cbs.extend(extra)
        else:
            cbs.append(extra)
    return Hooks.from_callbacks(cbs) if cbs else Hooks()

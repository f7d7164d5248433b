"""The shuffle entry point: pick a method, build its graph layer, hand it back.

A shuffle moves the items of N input partitions into M output partitions. The
collection describes its data with small functions, and this module never looks
inside a partition:

``split(part, m) -> {i: piece}``
    Cut one input partition into pieces by output partition ``i`` (``0 <= i < m``),
    each piece keeping the partition's order; every item goes into exactly one piece.
    Called once per input partition. ``part`` is whatever the input key holds; for
    collections that stream partitions (bags), it may be any iterable.
``concat(pieces) -> partition``
    Join pieces meant for one output partition, in the order given (input partition
    order), into one value of the kind ``split`` makes pieces of. The result of a
    ``concat`` may be joined again by a later ``concat``.
``empty() -> partition`` (optional)
    The value of an output partition that receives nothing; ``concat([])`` without it.

Every function must be picklable (module level, or a ``functools.partial`` of one), as
tasks run in other processes.

Methods, named as in Dask:

``"tasks"``
    In memory, as graph tasks (:mod:`plait.shuffle.tasks`): an all-to-all for small
    N×M, a staged shuffle with ``max_branch`` inputs per task for large N×M.
``"disk"``
    Through files on this machine's disk (:mod:`plait.shuffle.disk`): no task holds
    more than one partition, however large the data. Only for schedulers whose
    workers all share this machine's file system (sync, threads, processes).

``method=None`` takes the configured method (config ``shuffle``, then
``dataframe.shuffle.method``), else "tasks" while N×M is at most config
``shuffling.disk-threshold`` (default 10,000, e.g. 100 partitions into 100) and
"disk" above it, where the pieces in flight would otherwise be the whole data set.
"""

from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .. import config
from ..graph import Key

__all__ = ["METHODS", "ShuffleLayer", "choose_method", "distributed_client_active",
           "shuffle", "split_pieces"]

#: The shuffle methods plait runs, by the names Dask uses.
METHODS: tuple[str, ...] = ("tasks", "disk")

#: Config keys that name a shuffle method, read in this order when none is given.
CONFIG_KEYS: tuple[str, ...] = ("shuffle", "dataframe.shuffle.method")

# Settings live in plait.yaml under "shuffling" (not "shuffle": that key already names
# the method): shuffling.max-branch and shuffling.disk-threshold.


@dataclass(frozen=True)
class ShuffleLayer:
    """What :func:`shuffle` builds: the new tasks and where the outputs are.

    Output partition ``i`` is key ``(name, i)`` of ``layer``; ``layer`` holds only the
    shuffle's own tasks (the inputs stay in the collection's graph).
    """

    layer: dict
    name: str
    npartitions: int
    method: str

    def keys(self) -> list:
        """The output keys, in order.

        >>> ShuffleLayer({}, "out", 2, "tasks").keys()
        [('out', 0), ('out', 1)]
        """
        return [(self.name, i) for i in range(self.npartitions)]


def _check_method(method: str, source: str) -> str:
    if isinstance(method, str) and method.lower() in METHODS:
        return method.lower()
    valid = ", ".join(repr(m) for m in METHODS)
    hint = ""
    if method == "p2p":
        hint = "; 'p2p' needs a distributed cluster, which plait does not run it on yet"
    raise ValueError(f"unknown shuffle method {method!r} ({source}); valid methods are "
                     f"{valid}{hint}, e.g. method='tasks'")


def distributed_client_active(scheduler: Any = None) -> bool:
    """Whether ``scheduler`` (default: config ``scheduler``, which a distributed Client
    sets when it becomes the default) is a plait distributed Client.

    >>> distributed_client_active("threads")
    False
    """
    if scheduler is None:
        scheduler = config.get("scheduler", None)
    if scheduler is None or isinstance(scheduler, str) or callable(scheduler):
        return False
    module = type(scheduler).__module__ or ""
    # plait's Client (plait.distributed.client), or any object that runs graphs on
    # remote workers through a ``get`` method and a scheduler address
    return module.startswith("plait.distributed") or hasattr(scheduler, "scheduler_address")


def _refuse_disk_on_cluster(source: str) -> None:
    if distributed_client_active():
        raise ValueError(
            f"the 'disk' shuffle method ({source}) cannot run on a distributed Client: its "
            "files live on one machine's local disk, which the other workers cannot read. "
            "Use shuffle_method='tasks' (or config dataframe.shuffle.method='tasks')"
        )


def choose_method(method: str | None, ninputs: int, noutputs: int,
                  config_keys: Sequence[str] = CONFIG_KEYS) -> str:
    """The shuffle method to use: ``method``, else the configured one, else by size.

    Parameters
    ----------
    method : str or None
        "tasks" or "disk"; None to choose.
    ninputs, noutputs : int
        Numbers of input and output partitions.
    config_keys : sequence of str
        Config keys that may name the method, the first one set wins.

    Examples
    --------
    >>> choose_method("tasks", 10, 10)
    'tasks'
    >>> with config.set({"shuffle": None, "dataframe.shuffle.method": None}):
    ...     choose_method(None, 10, 10), choose_method(None, 1000, 1000)
    ('tasks', 'disk')
    >>> choose_method("memory", 1, 1)
    Traceback (most recent call last):
    ...
    ValueError: unknown shuffle method 'memory' (given); valid methods are 'tasks', 'disk', e.g. method='tasks'
    """
    if method is not None:
        method = _check_method(method, "given")
        if method == "disk":
            _refuse_disk_on_cluster("given")
        return method
    for key in config_keys:
        value = config.get(key, None)
        if value:
            method = _check_method(value, f"from config {key!r}")
            if method == "disk":
                _refuse_disk_on_cluster(f"from config {key!r}")
            return method
    if distributed_client_active():
        return "tasks"  # a cluster's workers share no disk
    threshold = int(config.get("shuffling.disk-threshold", 10_000))
    return "disk" if ninputs * noutputs > threshold else "tasks"


def shuffle(inputs: Sequence[Key], npartitions: int, split: Callable,
            concat: Callable, empty: Callable | None = None, *,
            method: str | None = None, max_branch: int | None = None,
            name: str | None = None,
            config_keys: Sequence[str] = CONFIG_KEYS) -> ShuffleLayer:
    """Build the tasks that move the items of ``inputs`` into ``npartitions`` outputs.

    Parameters
    ----------
    inputs : sequence of keys
        The keys of the input partitions, in order.
    npartitions : int
        Number of output partitions, at least 1.
    split, concat, empty : callable
        The collection's functions (see the module docstring).
    method : {"tasks", "disk"}, optional
        How to move the data; None chooses (see :func:`choose_method`).
    max_branch : int, optional
        For "tasks": most pieces one task joins (default config
        ``shuffling.max-branch``, 32). Small N×M (up to ``max_branch**2``) shuffle in
        one all-to-all step; larger ones in stages, about N·log(N) tasks.
    name : str, optional
        Name of the output keys; default ``shuffle-<unique token>``.
    config_keys : sequence of str
        Config keys that may name the method (dataframes put their own first).

    Returns
    -------
    ShuffleLayer
        The new tasks (``layer``), the output ``name`` and ``npartitions``, and the
        ``method`` used.

    Notes
    -----
    "disk" writes to this machine's disk (config ``temporary-directory``, else the
    system's temporary directory) and works only where all workers share that file
    system: the sync, threads and processes schedulers. Use "tasks" on a cluster.

    Examples
    --------
    >>> from plait.graph import Data
    >>> from plait.local import get_sync
    >>> def split(part, m):
    ...     pieces = {}
    ...     for x in part:
    ...         pieces.setdefault(x % m, []).append(x)
    ...     return pieces
    >>> def concat(pieces):
    ...     return [x for p in pieces for x in p]
    >>> graph = {("in", 0): Data(("in", 0), [0, 1, 2]), ("in", 1): Data(("in", 1), [3, 4])}
    >>> out = shuffle([("in", 0), ("in", 1)], 2, split, concat, method="tasks")
    >>> graph.update(out.layer)
    >>> get_sync(graph, out.keys())
    ([0, 2, 4], [1, 3])
    """
    if not isinstance(npartitions, int) or isinstance(npartitions, bool) or npartitions < 1:
        raise ValueError(f"npartitions must be a positive int, got {npartitions!r}")
    inputs = list(inputs)
    method = choose_method(method, len(inputs), npartitions, config_keys)
    token = uuid.uuid4().hex
    name = name or f"shuffle-{token}"
    if method == "tasks":
        from .tasks import tasks_layer

        if max_branch is None:
            max_branch = int(config.get("shuffling.max-branch", 32))
        if not isinstance(max_branch, int) or max_branch < 2:
            raise ValueError(f"max_branch must be an int of at least 2, got {max_branch!r}")
        layer = tasks_layer(inputs, npartitions, split, concat, empty, name, token,
                            max_branch)
    else:
        from .disk import disk_layer

        layer = disk_layer(inputs, npartitions, split, concat, empty, name, token)
    return ShuffleLayer(layer, name, npartitions, method)


def split_pieces(split: Callable, part: Any, m: int) -> Mapping:
    """``split(part, m)``, checked: its keys must be output partitions ``0 .. m-1``
    (NumPy integers become ints).

    >>> split_pieces(lambda part, m: {1: part}, [5], 2)
    {1: [5]}
    >>> split_pieces(lambda part, m: {2: part}, [5], 2)
    Traceback (most recent call last):
    ...
    ValueError: the split function '<lambda>' returned a piece for output partition 2; its keys must be ints in range(2)
    """
    pieces = split(part, m)
    fixed = None
    for i in pieces:
        if type(i) is int and 0 <= i < m:
            continue
        try:
            j = operator.index(i)
        except TypeError:
            j = -1
        if not 0 <= j < m or isinstance(i, bool):
            name = getattr(getattr(split, "func", split), "__name__", None) or repr(split)
            raise ValueError(
                f"the split function {name!r} returned a piece for output partition "
                f"{i!r}; its keys must be ints in range({m})"
            )
        fixed = True
    if fixed:
        pieces = {operator.index(i): p for i, p in pieces.items()}
    return pieces

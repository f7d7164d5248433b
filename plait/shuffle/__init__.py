"""plait.shuffle: move the items of N partitions into M partitions, for any collection.

Collections (bags, dataframes) describe their partitions with a ``split`` and a
``concat`` function; :func:`shuffle` builds the tasks, in memory ("tasks") or through
the local disk ("disk"), and returns them as a :class:`ShuffleLayer` for the
collection to wrap. :func:`stable_hash` and :func:`partition_of` send equal keys to
the same partition in every process.
"""

from .core import (
    METHODS,
    ShuffleLayer,
    choose_method,
    distributed_client_active,
    shuffle,
    split_pieces,
)
from .hashing import partition_of, stable_hash

__all__ = [
    "METHODS",
    "ShuffleLayer",
    "choose_method",
    "distributed_client_active",
    "partition_of",
    "shuffle",
    "split_pieces",
    "stable_hash",
]

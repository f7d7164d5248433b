"""The logical expression layer of plait.dataframe: expressions, optimizer, lowering.

User calls build a tree of :class:`Expr` nodes (nothing runs); :func:`optimize`
rewrites it (projection and predicate pushdown, no-op removal; equal sub-expressions
share names and so tasks); :func:`to_graph` lowers it to tasks, one per partition for
each run of partition-wise steps.

Adding an operation
-------------------
- Partition-wise (partition i from partition i of the inputs): subclass
  :class:`Blockwise`; give ``_parameters``, ``_operation()`` and ``_call_args()``
  (expressions among the arguments stand for their partitions), or use
  :class:`MapPartitions` / :class:`PartitionMethod` directly. It is fused with its
  neighbours automatically. Override ``_child_needs`` (and ``_narrow``) to let column
  selections pass through it; set ``_row_local`` when each output row depends only on
  the same input row (filters may then be pushed below it).
- A new source: build on :class:`FromParts` with a ``reader(part, columns=,
  filters=)``; projection (and, with ``reader.supports_filters``, predicate)
  pushdown then reach it.
- Anything else (reductions, shuffles, repartitioning): subclass :class:`Expr` with
  ``_compute_meta``, ``_compute_divisions`` and ``_layer`` (tasks keyed
  ``(self._name, i)``), or reuse :class:`TreeReduce`. A node may return a lower-level
  equivalent from ``_lower()`` (it keeps the node's name) and a simpler one from
  ``_simplify()``.
"""

from .base import Expr, walk
from .blockwise import ALL, Blockwise, MapPartitions, no_default
from .columns import (
    Assign,
    Astype,
    Elemwise,
    Filter,
    PartitionMethod,
    Projection,
    Rename,
)
from .io import FromGraph, FromPandas, FromParts, apply_filters
from .lower import FusedPartition, to_graph
from .optimize import optimize
from .reductions import Head, Partitions, Tail, TreeReduce

__all__ = [
    "ALL", "Assign", "Astype", "Blockwise", "Elemwise", "Expr", "Filter", "FromGraph",
    "FromPandas", "FromParts", "FusedPartition", "Head", "MapPartitions", "PartitionMethod",
    "Partitions", "Projection", "Rename", "Tail", "TreeReduce", "apply_filters",
    "no_default", "optimize", "to_graph", "walk",
]

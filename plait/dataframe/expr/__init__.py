"""The logical expression layer of plait.dataframe: expressions, optimizer, lowering.

User calls build a tree of :class:`Expr` nodes (nothing runs); :func:`optimize`
rewrites it (projection and predicate pushdown, no-op removal; equal sub-expressions
share names and so tasks); :func:`to_graph` lowers it to tasks, one per partition for
each run of partition-wise steps.
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

"""Task graphs: the node spec and pure algorithms on graphs (no threads, no I/O)."""

from .algorithms import (
    CycleError,
    MissingDependencyError,
    check_dependencies,
    cull,
    dependencies,
    dependents,
    find_cycle,
    toposort,
)
from .optimize import fuse_linear, inline, inline_functions
from .order import order
from .spec import Alias, Data, Key, Node, Ref, Task, as_node, convert_graph, is_key, key_prefix

__all__ = [
    "Alias",
    "CycleError",
    "Data",
    "Key",
    "MissingDependencyError",
    "Node",
    "Ref",
    "Task",
    "as_node",
    "check_dependencies",
    "convert_graph",
    "cull",
    "dependencies",
    "dependents",
    "find_cycle",
    "fuse_linear",
    "inline",
    "inline_functions",
    "is_key",
    "key_prefix",
    "order",
    "toposort",
]

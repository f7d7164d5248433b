"""Pictures of task graphs: DOT through the graphviz package, rendered by ``dot``.

Each task is a circle labelled with its function; each value a box (empty label unless
``verbose``); an arrow goes from a value to every task that uses it. ``color="order"``
and its variants colour nodes by plait's static order (see :mod:`plait.graph.order`),
which is how one sees why a schedule holds little or much memory.
"""

from __future__ import annotations

import colorsys
import os
import warnings
from typing import Any, Mapping

from .graph import Alias, Task, convert_graph, key_prefix, order

__all__ = ["visualize", "to_graphviz", "GraphImage", "COLOR_MODES"]

LARGE_GRAPH = 2_000
TOO_LARGE_GRAPH = 50_000
COLOR_MODES = ("order", "order-age", "order-freed", "memorypressure")
_FORMATS = ("png", "svg", "pdf", "jpeg", "jpg", "dot")


class GraphImage:
    """A rendered graph that shows itself inline in Jupyter (PNG or SVG)."""

    def __init__(self, data: bytes, format: str):
        self.data = data
        self.format = format

    def _repr_png_(self) -> bytes | None:
        return self.data if self.format == "png" else None

    def _repr_svg_(self) -> str | None:
        return self.data.decode() if self.format == "svg" else None

    def __repr__(self) -> str:
        return f"<GraphImage {self.format}, {len(self.data)} bytes>"


def _label(key: Any, verbose: bool) -> str:
    if verbose:
        return str(key)
    if isinstance(key, tuple):
        return ", ".join(str(i) for i in key[1:])
    return ""


def _func_label(node: Task) -> str:
    f = node.func
    name = getattr(f, "__name__", None)
    if not isinstance(name, str):
        name = type(f).__name__
    return key_prefix(node.key) if name in ("_Evaluate", "literal") else name


def _color_values(dsk: Mapping, mode: str) -> dict:
    """A number per key for the colour scale of ``mode``."""
    prio = order(dsk)
    if mode == "order":
        return prio
    users: dict = {k: [] for k in dsk}
    for k, node in dsk.items():
        for d in node.dependencies:
            if d in users:
                users[d].append(k)
    if mode == "order-age":  # how long the value stays alive, in steps of the order
        return {k: (max(prio[u] for u in us) - prio[k]) if us else 0 for k, us in users.items()}
    if mode == "order-freed":  # how many values running this task lets go
        freed = {k: 0 for k in dsk}
        for k, us in users.items():
            if us:
                freed[max(us, key=prio.__getitem__)] += 1
        return freed
    if mode == "memorypressure":  # values alive when the task runs
        alive = 0
        out = {}
        remaining = {k: len(us) for k, us in users.items()}
        for k in sorted(dsk, key=prio.__getitem__):
            out[k] = alive
            alive += 1
            for d in dsk[k].dependencies:
                if d in remaining:
                    remaining[d] -= 1
                    if remaining[d] == 0:
                        alive -= 1
        return out
    raise ValueError(
        f"unknown color mode {mode!r}; use one of {', '.join(map(repr, COLOR_MODES))} or None"
    )


def _hex(value: float, top: float) -> str:
    """Blue (low) to red (high) on a perceptually even-ish HSV ramp."""
    t = 0.0 if top <= 0 else min(1.0, value / top)
    r, g, b = colorsys.hsv_to_rgb(0.66 * (1 - t), 0.75, 0.95)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def to_graphviz(dsk: Mapping, rankdir: str = "BT", color: str | None = None,
                collapse_outputs: bool = False, verbose: bool = False,
                graph_attr: dict | None = None, node_attr: dict | None = None,
                edge_attr: dict | None = None, **kwargs: Any):
    """A ``graphviz.Digraph`` of the graph ``dsk`` (needs the graphviz package)."""
    try:
        import graphviz
    except ImportError as exc:
        raise ImportError(
            "drawing task graphs needs the graphviz Python package: "
            "pip install graphviz (or pip install 'plait[diagnostics]'), plus the "
            "`dot` program from your OS (apt-get install graphviz, brew install graphviz)"
        ) from exc
    dsk = convert_graph(dsk)
    g = graphviz.Digraph(
        graph_attr={"rankdir": rankdir, **(graph_attr or {})},
        node_attr={"fontname": "helvetica", **(node_attr or {})},
        edge_attr=edge_attr or {},
    )
    colors: dict = {}
    if color is not None:
        values = _color_values(dsk, color)
        top = max(values.values(), default=0)
        colors = {k: _hex(v, top) for k, v in values.items()}
    used = set()
    for node in dsk.values():
        used.update(node.dependencies)
    ids = {k: str(i) for i, k in enumerate(dsk)}  # stable DOT names for equal graphs
    for k, node in dsk.items():
        fill = {"style": "filled", "fillcolor": colors[k]} if k in colors else {}
        box = f"v{ids[k]}"
        show_box = not (collapse_outputs and k not in used and type(node) is Task)
        if type(node) is Task:
            circle = f"t{ids[k]}"
            g.node(circle, label=_func_label(node), shape="circle", **fill)
            if show_box:
                g.node(box, label=_label(k, verbose), shape="box", **fill)
                g.edge(circle, box)
            for d in node.dependencies:
                if d in ids:
                    g.edge(f"v{ids[d]}", circle)
        elif type(node) is Alias:
            g.node(box, label=_label(k, verbose), shape="box", **fill)
            if node.target in ids:
                g.edge(f"v{ids[node.target]}", box)
        else:  # Data
            g.node(box, label=_label(k, verbose) or key_prefix(k), shape="box", **fill)
    return g


def _graph_of(args: tuple, optimize_graph: bool) -> dict:
    from .collection import collections_to_graph, unpack_collections

    collections, _ = unpack_collections(*args)
    graphs = [a for a in args if isinstance(a, Mapping)]
    if not collections and not graphs:
        raise TypeError(
            "visualize needs plait collections (e.g. Delayed values) or a graph dict; "
            f"got {', '.join(type(a).__name__ for a in args) or 'nothing'}"
        )
    dsk: dict = {}
    if collections:
        dsk.update(collections_to_graph(collections, optimize_graph))
    for gr in graphs:
        dsk.update(convert_graph(gr))
    return dsk


def visualize(*args: Any, filename: str | None = "mydask", format: str | None = None,
              optimize_graph: bool = False, color: str | None = None,
              rankdir: str = "BT", collapse_outputs: bool = False, verbose: bool = False,
              engine: str = "graphviz", **kwargs: Any) -> GraphImage:
    """Draw the task graph of one or more collections (or graph dicts).

    Writes ``filename`` with the extension of ``format`` (PNG by default; SVG, PDF,
    JPEG or DOT) and returns a :class:`GraphImage` that displays inline in Jupyter.
    ``filename=None`` writes nothing. ``color`` is one of ``COLOR_MODES`` or None.
    """
    if engine != "graphviz":
        raise ValueError(f"engine {engine!r} is not supported; use engine='graphviz'")
    fmt = format
    if filename is not None:
        root, ext = os.path.splitext(filename)
        if ext.lstrip(".").lower() in _FORMATS:
            fmt = fmt or ext.lstrip(".").lower()
            filename = root
    fmt = (fmt or "png").lower()
    if fmt not in _FORMATS:
        raise ValueError(f"format {fmt!r} is not supported; use one of {', '.join(_FORMATS)}")
    dsk = _graph_of(args, optimize_graph)
    n = len(dsk)
    if n > TOO_LARGE_GRAPH:
        raise ValueError(
            f"the graph has {n} tasks; graphviz cannot lay out more than "
            f"{TOO_LARGE_GRAPH} in a useful time. Draw a smaller piece (fewer chunks or "
            "partitions, or one output), or use optimize_graph=True"
        )
    if n > LARGE_GRAPH:
        warnings.warn(
            f"drawing a graph of {n} tasks; graphviz may take a while and the picture "
            "will be dense. Fewer chunks or partitions make a clearer picture",
            UserWarning,
            stacklevel=2,
        )
    g = to_graphviz(dsk, rankdir=rankdir, color=color, collapse_outputs=collapse_outputs,
                    verbose=verbose, **kwargs)
    if fmt == "dot":
        data = g.source.encode()
    else:
        data = _render(g, "jpeg" if fmt == "jpg" else fmt)
    if filename is not None:
        with open(f"{filename}.{fmt}", "wb") as f:
            f.write(data)
    return GraphImage(data, fmt)


def _render(g: Any, fmt: str) -> bytes:
    import graphviz

    try:
        return g.pipe(format=fmt)
    except graphviz.ExecutableNotFound as exc:
        raise RuntimeError(
            "the `dot` program of Graphviz was not found on PATH, so the graph cannot be "
            "rendered. Install it: apt-get install graphviz (Debian/Ubuntu), "
            "brew install graphviz (macOS), conda install graphviz; or pass "
            "format='dot' to get the DOT source without rendering"
        ) from exc

"""How an array shows itself in Jupyter: a table of its metadata and a picture of its
chunk grid (SVG, drawn here; no plotting library needed)."""

from __future__ import annotations

import html
import math
from typing import Any

from ..utils.sizes import format_bytes

__all__ = ["array_html", "grid_svg"]

_SIDE = 120  # pixels of the longest side of the picture


def _lines(chunks: tuple, length: float, limit: int = 50) -> list:
    """Positions of block boundaries along one side (at most ``limit`` drawn)."""
    total = sum(chunks)
    if not total or not math.isfinite(total):
        return [0.0, length]
    step = max(1, len(chunks) // limit)
    out = [0.0]
    acc = 0
    for i, c in enumerate(chunks):
        acc += c
        if (i + 1) % step == 0 or i == len(chunks) - 1:
            out.append(length * acc / total)
    return out


def grid_svg(chunks: tuple) -> str:
    """An SVG of the chunk grid of the last two axes (one axis: a strip)."""
    if not chunks:
        return ""
    rows = chunks[-2] if len(chunks) >= 2 else (1,)
    cols = chunks[-1]
    h_total, w_total = (sum(rows) or 1), (sum(cols) or 1)
    if not (math.isfinite(h_total) and math.isfinite(w_total)):
        return ""
    scale = _SIDE / max(h_total, w_total)
    width = max(w_total * scale, 10)
    height = max(h_total * scale, 10) if len(chunks) >= 2 else 20
    parts = [f'<svg width="{width + 10:.0f}" height="{height + 10:.0f}" '
             'style="stroke:rgb(0,0,0);stroke-width:1">']
    for y in _lines(rows, height):
        parts.append(f'<line x1="5" y1="{y + 5:.1f}" x2="{width + 5:.1f}" y2="{y + 5:.1f}" />')
    for x in _lines(cols, width):
        parts.append(f'<line x1="{x + 5:.1f}" y1="5" x2="{x + 5:.1f}" y2="{height + 5:.1f}" />')
    parts.append(f'<polygon points="5,5 {width + 5:.1f},5 {width + 5:.1f},{height + 5:.1f} '
                 f'5,{height + 5:.1f}" style="fill:#ECB172A0;stroke-width:0"/>')
    parts.append("</svg>")
    return "".join(parts)


def array_html(x: Any) -> str:
    """The table and picture shown for ``x`` in a notebook."""
    chunk_bytes = math.prod(x.chunksize) * x.dtype.itemsize if x.chunks else x.dtype.itemsize
    rows = [
        ("Bytes", format_bytes(x.nbytes) if math.isfinite(x.nbytes) else "unknown",
         format_bytes(chunk_bytes)),
        ("Shape", x.shape, x.chunksize),
        ("Graph", f"{x.npartitions} chunks in {len(x.__plait_graph__())} tasks", ""),
        ("Data type", f"{x.dtype} numpy.ndarray", ""),
    ]
    table = ["<table><thead><tr><td></td><th>Array</th><th>Chunk</th></tr></thead><tbody>"]
    for label, whole, chunk in rows:
        table.append(f"<tr><th>{html.escape(label)}</th><td>{html.escape(str(whole))}</td>"
                     f"<td>{html.escape(str(chunk))}</td></tr>")
    table.append("</tbody></table>")
    return ('<table><tr><td>' + "".join(table) + "</td><td>" + grid_svg(x.chunks)
            + "</td></tr></table>")

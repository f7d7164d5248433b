"""``repr`` and ``_repr_html_`` of the collections: the structure (columns, dtypes,
partitions, divisions), never the data, so showing a collection computes nothing."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

__all__ = ["frame_html", "frame_repr"]


def _division_labels(frame: Any) -> list:
    d = frame.divisions
    if not frame.known_divisions:
        return ["..."] * len(d)
    return [str(x) for x in d]


def _structure(frame: Any, rows: int = 4) -> pd.DataFrame:
    """A table with one row per shown division and one column per column, whose cells
    are the dtypes (and '...' below the first row)."""
    meta = frame._meta
    labels = _division_labels(frame)
    if len(labels) > rows:
        labels = labels[: rows - 2] + ["..."] + labels[-1:]
    if isinstance(meta, pd.DataFrame):
        cols = list(meta.columns)
        dtypes = [str(t) for t in meta.dtypes]
    else:
        cols = [meta.name if meta.name is not None else ""]
        dtypes = [str(meta.dtype)]
    data = {i: [dtypes[i]] + ["..."] * (len(labels) - 1) for i in range(len(cols))}
    table = pd.DataFrame(data, index=pd.Index(labels, name="npartitions=%d" % frame.npartitions))
    table.columns = [str(c) for c in cols]
    return table


def frame_repr(frame: Any) -> str:
    """The text repr: structure and the expression's label."""
    kind = type(frame).__name__
    table = _structure(frame)
    with pd.option_context("display.max_columns", 20, "display.width", 100):
        body = table.to_string()
    return (f"plait.dataframe.{kind} Structure:\n{body}\n"
            f"plait.dataframe expression: {frame.expr.label}, npartitions={frame.npartitions}")


def frame_html(frame: Any) -> str:
    """The notebook repr: the same structure as an HTML table."""
    kind = type(frame).__name__
    table = _structure(frame).to_html()
    return (f"<div><strong>plait.dataframe.{html.escape(kind)} Structure:</strong></div>"
            f"{table}<div>plait.dataframe expression: {html.escape(frame.expr.label)}, "
            f"npartitions={frame.npartitions}</div>")

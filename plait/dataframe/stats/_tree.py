"""One helper for the statistics modules: build a tree reduction collection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def tree(objs: Any, chunk: Callable, combine: Callable | None, aggregate: Callable,
         meta: Any, split_every: int | None = None, chunk_kwargs: dict | None = None,
         combine_kwargs: dict | None = None, aggregate_kwargs: dict | None = None,
         label: str | None = None) -> Any:
    """``aggregate(combine(... chunk(*parts_i) ...))`` over the aligned collections
    ``objs`` as a plait collection (a one-partition frame/series, or a Scalar)."""
    from ..core import new_collection
    from ..expr import TreeReduce

    objs = objs if isinstance(objs, (list, tuple)) else [objs]
    expr = TreeReduce([o.expr for o in objs], chunk, combine, aggregate, meta,
                      split_every=split_every, chunk_kwargs=chunk_kwargs,
                      combine_kwargs=combine_kwargs, aggregate_kwargs=aggregate_kwargs,
                      label=label)
    return new_collection(expr)


def is_frame(obj: Any) -> bool:
    import pandas as pd

    return isinstance(obj._meta, pd.DataFrame)

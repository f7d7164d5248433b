"""User-defined group-by aggregations: :class:`Aggregation` (Dask's ``dd.Aggregation``).

``chunk`` gets each partition's grouped column (a pandas ``SeriesGroupBy``) and returns
a Series or a tuple of Series indexed by group. ``agg`` gets, for each element of that
tuple, a ``SeriesGroupBy`` over the concatenated pieces grouped by group key, and returns
a Series or tuple again; it is used at every merge of the tree. ``finalize`` (optional)
turns the last ``agg`` output(s) into the result.

>>> import pandas as pd
>>> custom_mean = Aggregation("custom_mean",
...     chunk=lambda s: (s.count(), s.sum()),
...     agg=lambda count, total: (count.sum(), total.sum()),
...     finalize=lambda count, total: total / count)
>>> parts = [pd.DataFrame({"k": [1, 1], "x": [1.0, 3.0]}),
...          pd.DataFrame({"k": [1, 2], "x": [5.0, 4.0]})]
>>> pieces = [custom_chunk(custom_mean, p.groupby("k")["x"]) for p in parts]
>>> custom_finish(custom_mean, custom_merge(custom_mean, pieces)).tolist()
[3.0, 4.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from ..categorical import concat_unifying_categories

__all__ = ["Aggregation", "custom_chunk", "custom_finish", "custom_merge"]


class Aggregation:
    """A group-by reduction given as ``chunk``, ``agg`` and ``finalize`` functions."""

    def __init__(self, name: str, chunk: Callable, agg: Callable,
                 finalize: Callable | None = None):
        if not isinstance(name, str):
            raise TypeError(f"Aggregation name must be a str, got {name!r}")
        self.__name__ = name
        self.chunk = chunk
        self.agg = agg
        self.finalize = finalize

    def __repr__(self) -> str:
        return f"Aggregation({self.__name__!r})"

    def _token(self) -> str:
        # deterministic over pickling (functions are hashed by their code), so copies
        # made for other processes compare equal
        from ...tokenize import tokenize

        return tokenize("Aggregation", self.__name__, self.chunk, self.agg, self.finalize)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Aggregation) and other._token() == self._token()

    def __hash__(self) -> int:
        return hash(self._token())

    def __plait_tokenize__(self) -> Any:
        return self._token()


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def custom_chunk(aggregation: Aggregation, grouped: Any) -> tuple:
    """The partial of one partition: ``chunk(grouped)`` as a tuple of Series."""
    return _as_tuple(aggregation.chunk(grouped))


def custom_merge(aggregation: Aggregation, pieces: list[tuple], sort: bool = False,
                 observed: bool = True) -> tuple:
    """``agg`` over the concatenated pieces, element by element, grouped by key."""
    width = len(pieces[0])
    grouped = []
    for j in range(width):
        parts = [p[j] for p in pieces if len(p[j])] or [pieces[0][j]]
        cat = concat_unifying_categories(parts)
        levels = list(range(cat.index.nlevels))
        grouped.append(cat.groupby(level=levels if len(levels) > 1 else 0, sort=sort,
                                   dropna=False, observed=observed))
    return _as_tuple(aggregation.agg(*grouped))


def custom_finish(aggregation: Aggregation, merged: tuple) -> pd.Series:
    """The result Series: ``finalize(*merged)``, or the one merged Series."""
    if aggregation.finalize is not None:
        return aggregation.finalize(*merged)
    if len(merged) != 1:
        raise ValueError(f"Aggregation {aggregation.__name__!r}: agg returned "
                         f"{len(merged)} values and there is no finalize to combine them")
    return merged[0]

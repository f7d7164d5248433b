"""Making dataframe collections from pandas objects, dicts, arrays, delayed values and
functions mapped over inputs."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..delayed import Delayed
from ..tokenize import tokenize
from .core import new_collection
from .expr import FromGraph, FromPandas, FromParts, apply_filters
from .expr.base import Expr
from .meta import make_meta

__all__ = [
    "from_array",
    "from_delayed",
    "from_dict",
    "from_map",
    "from_pandas",
    "to_delayed",
]


def _split_locations(index: pd.Index, npartitions: int, sort: bool) -> list:
    n = len(index)
    if n == 0:
        return [0, 0]
    step = n / npartitions
    locs = sorted({int(round(step * i)) for i in range(npartitions)} | {n})
    if sort and not index.is_unique:
        # never split equal index values between partitions: divisions must be strict
        fixed = [0]
        for loc in locs[1:-1]:
            while loc < n and index[loc] == index[loc - 1]:
                loc += 1
            if loc > fixed[-1] and loc < n:
                fixed.append(loc)
        locs = fixed + [n]
    return locs


def from_pandas(data: Any, npartitions: int | None = None, chunksize: int | None = None,
                sort: bool = True, name: str | None = None) -> Any:
    """Split a pandas DataFrame or Series into ``npartitions`` partitions (or
    partitions of ``chunksize`` rows).

    With ``sort=True`` the data is sorted by its index first and the divisions (the
    index value at each partition boundary) are known, which enables ``loc`` and
    alignment between collections.

    >>> import pandas as pd
    >>> df = from_pandas(pd.DataFrame({"x": range(6)}), npartitions=3)
    >>> df.npartitions, df.divisions
    (3, (0, 2, 4, 5))
    """
    if isinstance(data, Expr) or hasattr(data, "expr"):
        raise TypeError("from_pandas needs a pandas DataFrame or Series, got a plait "
                        "collection (it is already partitioned)")
    if isinstance(data, pd.Index):
        data = data.to_series()
    if not isinstance(data, (pd.DataFrame, pd.Series)):
        raise TypeError(f"from_pandas needs a pandas DataFrame or Series, got "
                        f"{type(data).__name__}; for dicts use from_dict, for arrays "
                        "from_array")
    if (npartitions is None) == (chunksize is None):
        raise ValueError("from_pandas needs exactly one of npartitions= and chunksize=, "
                         f"got npartitions={npartitions!r}, chunksize={chunksize!r}")
    if chunksize is not None:
        if int(chunksize) < 1:
            raise ValueError(f"chunksize must be a positive integer, got {chunksize!r}")
        npartitions = max(1, math.ceil(len(data) / int(chunksize)))
    elif int(npartitions) < 1:
        raise ValueError(f"npartitions must be a positive integer, got {npartitions!r}")
    if sort and not data.index.is_monotonic_increasing:
        data = data.sort_index()
    locations = _split_locations(data.index, int(npartitions), sort)
    if sort and len(data):
        idx = data.index
        divisions = tuple(idx[loc] for loc in locations[:-1]) + (idx[-1],)
        divisions = tuple(d.item() if isinstance(d, np.generic) else d for d in divisions)
    else:
        divisions = (None,) * len(locations)
    return new_collection(FromPandas(data, tuple(locations), divisions))


def from_dict(data: dict, npartitions: int, orient: str = "columns", dtype: Any = None,
              columns: Any = None, sort: bool = True) -> Any:
    """A partitioned DataFrame from a dict (see ``pandas.DataFrame.from_dict``).

    >>> from_dict({"a": [1, 2, 3]}, npartitions=2).a.sum().compute()
    np.int64(6)
    """
    frame = pd.DataFrame.from_dict(data, orient=orient, dtype=dtype, columns=columns)
    return from_pandas(frame, npartitions=npartitions, sort=sort)


# -- arrays ------------------------------------------------------------------------------

def _block_to_pandas(block: np.ndarray, start: int | None, columns: Any, name: Any,
                     columns_wanted: Any = None) -> Any:
    index = pd.RangeIndex(start, start + len(block)) if start is not None else None
    if block.ndim == 1:
        if columns is not None and not isinstance(columns, list):
            return pd.Series(block, index=index, name=columns)
        if columns is None:
            return pd.Series(block, index=index, name=name)
        return pd.DataFrame({columns[0]: block}, index=index)
    return pd.DataFrame(block, index=index, columns=columns)


class _ArrayBlocks(Expr):
    """Partitions converted from the row blocks of a plait array."""

    _parameters = ("array_name", "graph", "starts", "columns_", "meta", "divisions_")

    @property
    def label(self) -> str:
        return "from-array"

    @property
    def _name(self) -> str:
        # the array's name already identifies its graph
        name = self._cache.get("name")
        if name is None:
            name = f"from-array-{tokenize(self.array_name, self.starts, self.columns_, self.meta, self.divisions_)}"
            self._cache["name"] = name
        return name

    def dependencies(self) -> list:
        return []

    def replace_dependencies(self, mapping: dict) -> Expr:
        return self

    def _compute_meta(self) -> Any:
        return self.meta

    def _compute_divisions(self) -> tuple:
        return self.divisions_

    def _layer(self) -> dict:
        from ..graph import Ref, Task

        layer = dict(self.graph)
        name = self._name
        cols = self.columns_
        series_name = self.meta.name if isinstance(self.meta, pd.Series) else None
        for i, start in enumerate(self.starts):
            key = (name, i)
            ref = Ref((self.array_name, i) + ((0,) if self.meta.ndim == 2 else ()))
            layer[key] = Task(key, _block_to_pandas, ref, start, cols, series_name)
        return layer

    def _child_needs(self, needed: Any) -> dict:
        return {}

    def _tree_repr_args(self) -> list:
        return [f"array={self.array_name}", f"npartitions={len(self.starts)}"]


def _columns_for(ndim: int, width: int, columns: Any) -> Any:
    if ndim == 1:
        return columns
    if columns is None:
        return list(range(width))
    if len(columns) != width:
        raise ValueError(f"from_array: {width} columns need {width} names, got "
                         f"{len(columns)}: {list(columns)!r}")
    return list(columns)


def from_array(x: Any, chunksize: int = 50000, columns: Any = None, meta: Any = None) -> Any:
    """A DataFrame (2-d input) or Series (1-d) from a NumPy or plait array, one
    partition per block of rows; the index is 0..n-1 and divisions are known.

    >>> import numpy as np
    >>> from_array(np.arange(6).reshape(3, 2), chunksize=2, columns=["a", "b"]).b.sum().compute()
    np.int64(9)
    """
    from ..array.core import Array

    if isinstance(x, Array):
        return _from_plait_array(x, columns, meta)
    arr = np.asarray(x)
    if arr.ndim not in (1, 2):
        raise ValueError(f"from_array needs a 1-d or 2-d array, got {arr.ndim} dimensions")
    if arr.dtype.names:
        frame = pd.DataFrame.from_records(arr)
    elif arr.ndim == 1:
        frame = pd.Series(arr, name=columns if not isinstance(columns, list) else None)
        if isinstance(columns, list):
            frame = frame.to_frame(columns[0])
    else:
        frame = pd.DataFrame(arr, columns=_columns_for(2, arr.shape[1], columns))
    return from_pandas(frame, chunksize=max(1, int(chunksize)))


def _from_plait_array(x: Any, columns: Any, meta: Any) -> Any:
    if x.ndim not in (1, 2):
        raise ValueError(f"from_array needs a 1-d or 2-d array, got {x.ndim} dimensions")
    if x.ndim == 2 and len(x.chunks[1]) > 1:
        x = x.rechunk({1: x.shape[1]})
    cols = _columns_for(x.ndim, x.shape[1] if x.ndim == 2 else 1, columns)
    lengths = x.chunks[0]
    known = not any(math.isnan(c) for c in lengths)
    starts: list = []
    pos = 0
    for c in lengths:
        starts.append(pos if known else None)
        pos = pos + c if known else pos
    if known and pos > 0:
        divisions = tuple(starts) + (pos - 1,)
    else:
        divisions = (None,) * (len(lengths) + 1)
    sample = np.zeros((0,) + x.shape[1:], dtype=x.dtype)
    out_meta = make_meta(meta) if meta is not None else _block_to_pandas(sample, 0, cols, None)
    from ..collection import collections_to_graph

    graph = collections_to_graph([x])
    return new_collection(_ArrayBlocks(x.name, graph, tuple(starts), cols, out_meta,
                                       divisions))


# -- delayed and mapped inputs ---------------------------------------------------------

def from_delayed(dfs: Any, meta: Any = None, divisions: Any = None, prefix: str | None = None,
                 verify_meta: bool = True) -> Any:
    """A collection with one partition per Delayed value (each a pandas object).

    Without ``meta`` the first value is computed to learn the structure.
    """
    if isinstance(dfs, Delayed):
        dfs = [dfs]
    dfs = list(dfs)
    if not dfs or not all(isinstance(d, Delayed) for d in dfs):
        raise TypeError("from_delayed needs a list of plait Delayed values, each computing "
                        "a pandas DataFrame or Series")
    if meta is None:
        meta = make_meta(dfs[0].compute())
    else:
        meta = make_meta(meta)
    if divisions is None or divisions == "sorted":
        divs = (None,) * (len(dfs) + 1)
    else:
        divs = tuple(divisions)
        if len(divs) != len(dfs) + 1:
            raise ValueError(f"from_delayed: {len(dfs)} values need {len(dfs) + 1} "
                             f"divisions, got {len(divs)}")
    from ..collection import collections_to_graph

    graph = collections_to_graph(dfs)
    keys = [d.key for d in dfs]
    name = f"{prefix or 'from-delayed'}-{tokenize(keys, divs)}"
    return new_collection(FromGraph(graph, keys, meta, divs, name))


class _MapReader:
    """A reader for :class:`FromParts` built from ``from_map``'s function."""

    supports_filters = False

    def __init__(self, func: Callable, args: tuple, kwargs: dict, packed: bool):
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.packed = packed
        self.__name__ = getattr(func, "__name__", "from-map").replace("_", "-")

    def __call__(self, part: Any, columns: Any = None, filters: Any = None) -> Any:
        if self.packed:
            out = self.func(*part, *self.args, **self.kwargs)
        else:
            out = self.func(part, *self.args, **self.kwargs)
        if filters:
            out = apply_filters(out, filters)
        if columns is not None and isinstance(out, pd.DataFrame):
            out = out[columns]
        return out

    def __plait_tokenize__(self) -> Any:
        # hashed once: rewrites of the reading node ask again and again
        token = self.__dict__.get("_token")
        if token is None:
            token = tokenize(self.func, self.args, self.kwargs, self.packed)
            self._token = token
        return ("map-reader", token)

    def __reduce__(self):
        return (_MapReader, (self.func, self.args, self.kwargs, self.packed))


def from_map(func: Callable, *iterables: Iterable, args: tuple | None = None,
             meta: Any = None, divisions: Any = None, label: str | None = None,
             token: str | None = None, enforce_metadata: bool = True, **kwargs: Any) -> Any:
    """One partition per input: ``func(item, *args, **kwargs)`` for each item of the
    iterable (items of several iterables are zipped and passed as separate arguments).

    >>> import pandas as pd
    >>> ddf = from_map(lambda i: pd.DataFrame({"x": [i, i]}), [1, 2, 3])
    >>> ddf.npartitions, int(ddf.x.sum().compute())
    (3, 12)
    """
    if not iterables:
        raise ValueError("from_map needs at least one iterable of inputs")
    if len(iterables) > 1:
        parts = list(zip(*iterables))
        packed = True
    else:
        parts = list(iterables[0])
        packed = False
    if not parts:
        raise ValueError("from_map: the iterable of inputs is empty")
    reader = _MapReader(func, tuple(args or ()), kwargs, packed)
    if meta is None:
        meta = make_meta(reader(parts[0]))
    else:
        meta = make_meta(meta)
    return new_collection(FromParts(reader, parts, meta, divisions=divisions,
                                    label=label or token))


def to_delayed(df: Any, optimize_graph: bool = True) -> list:
    """One Delayed value per partition of ``df``."""
    return df.to_delayed(optimize_graph=optimize_graph)

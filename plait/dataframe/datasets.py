"""Made-up data sets for trying things out: ``timeseries()``.

Each partition is generated when its task runs, from a random generator seeded by the
data set's seed and the partition's number (and the column's name), so the same seed
gives the same numbers under every scheduler, in any order, for any column selection.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

__all__ = ["timeseries"]

NAMES = ("Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
         "Ken", "Laura", "Mallory", "Nina", "Oscar", "Peggy", "Quentin", "Rupert", "Sybil",
         "Trent", "Ursula", "Victor", "Walter", "Xena", "Yusuf", "Zoe")


@dataclass(frozen=True)
class _Span:
    """Partition ``index``: timestamps from ``start`` (inclusive) to ``stop`` (exclusive)."""

    index: int
    start: Any
    stop: Any


class TimeseriesReader:
    """Generates one partition of :func:`timeseries` (only the columns asked for)."""

    supports_filters = True
    filters_exact = True
    __name__ = "timeseries"

    def __init__(self, dtypes: dict, freq: str, seed: int, meta: Any) -> None:
        self.dtypes = dtypes
        self.freq = freq
        self.seed = seed
        self.meta = meta

    def __repr__(self) -> str:
        return "timeseries"

    def __plait_tokenize__(self) -> Any:
        return ("timeseries", repr(self.dtypes), self.freq, self.seed)

    def _column(self, span: _Span, name: str, n: int) -> Any:
        import numpy as np
        import pandas as pd

        # one generator per (seed, partition, column): a column's values do not depend
        # on which other columns were asked for
        rng = np.random.default_rng([self.seed, span.index, zlib.crc32(name.encode())])
        dtype = self.meta[name].dtype
        if pd.api.types.is_float_dtype(dtype):
            return (rng.random(n) * 2 - 1).astype(dtype)
        if pd.api.types.is_integer_dtype(dtype):
            return rng.poisson(1000, n).astype(dtype)
        if pd.api.types.is_bool_dtype(dtype):
            return rng.random(n) < 0.5
        codes = rng.integers(0, len(NAMES), n)
        if isinstance(dtype, pd.CategoricalDtype):
            return pd.Categorical.from_codes(codes, dtype=dtype)
        return pd.array(np.array(NAMES, dtype=object)[codes], dtype=dtype)

    def __call__(self, span: _Span, columns: list | None = None,
                 filters: list | None = None) -> Any:
        import pandas as pd

        from .expr.io import apply_filters

        columns = list(self.meta.columns) if columns is None else list(columns)
        wanted = list(dict.fromkeys(columns + [f[0] for f in filters or []]))
        index = pd.date_range(span.start, span.stop, freq=self.freq, inclusive="left",
                              name="timestamp", unit="ns")
        df = pd.DataFrame({c: self._column(span, c, len(index)) for c in wanted}, index=index)
        df = apply_filters(df, filters)
        return df[columns]


def timeseries(start: Any = "2000-01-01", end: Any = "2000-01-31", freq: str = "1s",
               partition_freq: str = "1D", dtypes: dict | None = None,
               seed: int | None = None, **kwargs: Any) -> Any:
    """A random DataFrame indexed by time, one partition per ``partition_freq``.

    Parameters
    ----------
    start, end : str or Timestamp
        The first timestamp and the end (exclusive).
    freq : str
        Time between rows (``"1s"``).
    partition_freq : str
        Time covered by one partition (``"1D"``); divisions are known.
    dtypes : dict, optional
        ``{column: dtype}``; default ``{"name": str, "id": int, "x": float, "y":
        float}``. Text columns hold first names, integers are Poisson(1000) counts,
        floats are uniform on [-1, 1).
    seed : int, optional
        Equal seeds give equal data; None picks a seed once, when the frame is made.

    Examples
    --------
    >>> import plait
    >>> df = plait.datasets.timeseries(end="2000-01-03", freq="1h", seed=0)
    >>> df.npartitions, list(df.columns)
    (2, ['name', 'id', 'x', 'y'])
    >>> len(df)
    48
    """
    import numpy as np
    import pandas as pd

    if kwargs:
        raise TypeError(f"timeseries() got unexpected keyword arguments {sorted(kwargs)}; "
                        f"give the columns with dtypes={{name: dtype}}")
    if dtypes is None:
        dtypes = {"name": str, "id": int, "x": float, "y": float}
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end <= start:
        raise ValueError(f"timeseries: end ({end}) must come after start ({start})")
    divisions = list(pd.date_range(start, end, freq=partition_freq, unit="ns"))
    if not divisions or divisions[0] != start:
        divisions.insert(0, start)
    if divisions[-1] < end:
        divisions.append(end)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**32)
    meta = pd.DataFrame({c: pd.Series([], dtype=_dtype(d)) for c, d in dtypes.items()},
                        index=pd.DatetimeIndex([], name="timestamp", dtype="datetime64[ns]"))
    reader = TimeseriesReader(dict(dtypes), freq, int(seed), meta)
    spans = [_Span(i, a, b) for i, (a, b) in enumerate(zip(divisions[:-1], divisions[1:]))]
    from .io._collection import from_parts

    return from_parts(reader, spans, meta, divisions=tuple(divisions), label="timeseries")


def _dtype(d: Any) -> Any:
    import pandas as pd

    if d == "category" or d is pd.CategoricalDtype:
        return pd.CategoricalDtype(list(NAMES))  # known categories: every name
    if d is str:
        return "str"
    if d is int:
        return "int64"
    if d is float:
        return "float64"
    return d

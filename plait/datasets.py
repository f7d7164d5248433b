"""Made-up data sets (``plait.datasets.timeseries()``), as ``dask.datasets``.

Importing this module is cheap; pandas is imported when a data set is made.
"""

from __future__ import annotations

from typing import Any

__all__ = ["timeseries"]


def timeseries(start: Any = "2000-01-01", end: Any = "2000-01-31", freq: str = "1s",
               partition_freq: str = "1D", dtypes: dict | None = None,
               seed: int | None = None, **kwargs: Any) -> Any:
    """A random DataFrame indexed by time; see :func:`plait.dataframe.datasets.timeseries`."""
    from .dataframe.datasets import timeseries as make

    return make(start=start, end=end, freq=freq, partition_freq=partition_freq,
                dtypes=dtypes, seed=seed, **kwargs)

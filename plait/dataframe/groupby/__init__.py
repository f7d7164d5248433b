"""Group-by on plait dataframes without a shuffle: tree reductions of per-group partials.

:func:`groupby` is what ``DataFrame.groupby`` and ``Series.groupby`` call. The modules:
:mod:`.spec` (what to compute: aggregation names, lists, dicts, named aggregation ->
a plan), :mod:`.kernels` (chunk/combine/aggregate on pandas partitions),
:mod:`.value_counts`, :mod:`.custom` (user-defined :class:`Aggregation`), :mod:`.keys` (``by=``/``level=`` normalisation) and :mod:`.core`
(the lazy ``DataFrameGroupBy``/``SeriesGroupBy`` objects).
"""

from .core import DataFrameGroupBy, SeriesGroupBy, groupby
from .custom import Aggregation
from .spec import AGGREGATIONS

__all__ = ["AGGREGATIONS", "Aggregation", "DataFrameGroupBy", "SeriesGroupBy", "groupby"]

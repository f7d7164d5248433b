"""plait.dataframe: a DataFrame split along its index into pandas partitions, with
the pandas API, built on a logical expression layer (see ``expr/``).

``import plait.dataframe as dd`` then ``dd.from_pandas``, ``dd.read_csv``, ...
"""

from ..collection import compute, persist
from .convert import isna, to_datetime, to_numeric, to_timedelta
from .core import DataFrame, Index, Scalar, Series, map_partitions, new_collection
from .creation import from_array, from_delayed, from_dict, from_map, from_pandas, to_delayed

__all__ = [
    "DataFrame",
    "Index",
    "Scalar",
    "Series",
    "compute",
    "from_array",
    "from_delayed",
    "from_dict",
    "from_map",
    "from_pandas",
    "isna",
    "map_partitions",
    "new_collection",
    "persist",
    "to_datetime",
    "to_delayed",
    "to_numeric",
    "to_timedelta",
]

# --- shuffles, joins, reshaping (owned by the shuffle helper) ---
from .merge import merge, merge_asof  # noqa: E402
from .reshape import concat, get_dummies, melt, pivot_table  # noqa: E402

__all__ += ["concat", "get_dummies", "melt", "merge", "merge_asof", "pivot_table"]
# --- end shuffles ---

# --- io (owned by the io helper) ---
from . import datasets  # noqa: E402
from .io import read_csv, read_fwf, read_json, read_table, to_csv, to_json  # noqa: E402

__all__ += ["datasets", "read_csv", "read_fwf", "read_json", "read_table", "to_csv", "to_json"]
from .io.parquet import read_parquet, to_parquet  # noqa: E402

__all__ += ["read_parquet", "to_parquet"]
# --- end io ---

# --- groupby / accessors / stats (owned by the groupby helper) ---
from .groupby import Aggregation  # noqa: E402

__all__ += ["Aggregation"]
# --- end groupby / accessors / stats ---

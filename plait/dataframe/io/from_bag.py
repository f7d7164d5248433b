"""``Bag.to_dataframe``: a bag of records (dicts or tuples) as a DataFrame.

Every bag partition becomes one DataFrame partition (a RangeIndex from 0, divisions
unknown), built by :class:`pandas.DataFrame` from the partition's records and checked
against ``meta``. Without ``meta``, the first record is computed to learn the columns
and dtypes; pass ``meta=`` when the first record is not typical (a missing value later
in an integer field, ...).
"""

from __future__ import annotations

from typing import Any

from .coerce import coerce_to_meta

__all__ = ["bag_to_dataframe"]


def _records_to_frame(records: Any, meta: Any, index: int) -> Any:
    import pandas as pd

    records = list(records)
    if not records:
        return meta.iloc[:0].copy()
    cols = list(meta.columns)
    if isinstance(records[0], dict):
        df = pd.DataFrame.from_records(records, columns=cols)
    else:
        df = pd.DataFrame.from_records([tuple(r) for r in records], columns=cols)
    return coerce_to_meta(df, meta, f"bag partition {index}", "Bag.to_dataframe")


def bag_to_dataframe(bag: Any, meta: Any = None, columns: Any = None,
                     optimize_graph: bool = True) -> Any:
    """A DataFrame with one partition per partition of ``bag``.

    Parameters
    ----------
    bag : Bag
        Items are dicts (keys become columns) or tuples/lists (one value per column).
    meta : pandas.DataFrame, dict or list of (name, dtype), optional
        The columns and dtypes; inferred from the first item when not given.
    columns : list, optional
        Column names for tuple items (when ``meta`` is not given); default 0, 1, ...

    Examples
    --------
    >>> import plait.bag as db
    >>> b = db.from_sequence([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}], npartitions=2)
    >>> bag_to_dataframe(b).compute(scheduler="sync")
       a  b
    0  1  x
    0  2  y
    """
    import pandas as pd

    from ...delayed import delayed

    if meta is None:
        # the first partition is usually enough; look further only when it is empty
        first = bag.take(1, npartitions=1, warn=False) or bag.take(1, npartitions=-1,
                                                                    warn=False)
        if not first:
            raise ValueError("Bag.to_dataframe: the bag is empty, so its columns cannot be "
                             "inferred; pass meta={column: dtype, ...}")
        item = first[0]
        if isinstance(item, dict):
            sample = pd.DataFrame.from_records([item], columns=columns)
        else:
            sample = pd.DataFrame.from_records([tuple(item)], columns=columns)
        meta = sample.iloc[:0]
    elif isinstance(meta, dict):
        meta = pd.DataFrame({k: pd.Series([], dtype=v) for k, v in meta.items()})
    elif isinstance(meta, (list, tuple)):
        meta = pd.DataFrame({k: pd.Series([], dtype=v) for k, v in meta})
    else:
        meta = meta.iloc[:0]
    meta = meta.set_axis(pd.RangeIndex(0), axis=0)
    make = delayed(_records_to_frame, pure=True)
    parts = [make(p, meta, i) for i, p in enumerate(bag.to_delayed(optimize_graph))]
    from .. import from_delayed

    return from_delayed(parts, meta=meta, verify_meta=False)

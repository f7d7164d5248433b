"""Parquet: ``read_parquet`` with column and row-group pushdown, and ``to_parquet``."""

from .read import read_parquet
from .write import to_parquet

__all__ = ["read_parquet", "to_parquet"]

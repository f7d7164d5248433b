"""Reading and writing partitioned DataFrames: CSV, fixed-width, JSON, bags.

Every reader builds on one expression, ``FromParts``: a list of parts (byte blocks
of files, generated spans, ...) and a reader ``reader(part, columns=, filters=)``
that the optimizer can narrow to the columns and rows a query uses.
"""

from .csv import read_csv, read_fwf, read_table
from .json import read_json
from .write import to_csv, to_json

__all__ = ["read_csv", "read_fwf", "read_json", "read_table", "to_csv", "to_json"]

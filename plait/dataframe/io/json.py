"""``read_json``: JSON files into a DataFrame (line-delimited JSON in blocks).

With ``lines=True`` (the default for ``orient="records"``) every line is one record,
so a file can be cut into line-aligned blocks exactly like a CSV file (``blocksize=``).
Other layouts are one document per file and are read whole, one partition per file.
Columns and dtypes come from ``meta=`` or from parsing a sample (line-delimited) or
the first file (other layouts); every partition is checked against them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from ..expr.io import apply_filters
from .coerce import coerce_to_meta, empty_like_meta
from .files import Block, codec_for, expand_paths, plan_blocks, read_block, read_head

__all__ = ["JSONReader", "read_json"]


class JSONReader:
    """Reads one :class:`~.files.Block` of a JSON file into a pandas DataFrame."""

    supports_filters = True
    filters_exact = True  # the same pandas comparisons as the filter step

    def __init__(self, engine: Callable, orient: str, lines: bool, kwargs: dict, meta: Any,
                 path_column: str | None, path_dtype: Any, path_converter: Callable | None,
                 encoding: str) -> None:
        self.engine = engine
        self.orient = orient
        self.lines = lines
        self.kwargs = kwargs
        self.meta = meta
        self.path_column = path_column
        self.path_dtype = path_dtype
        self.path_converter = path_converter
        self.encoding = encoding

    def __repr__(self) -> str:
        return "read_json"

    def __plait_tokenize__(self) -> Any:
        return ("read_json", self.orient, self.lines, repr(sorted(self.kwargs.items())),
                repr(self.meta.dtypes.to_dict()), self.path_column)

    def parse(self, data: bytes) -> Any:
        import pandas as pd

        if not data or data.isspace():
            return pd.DataFrame()
        text = io.StringIO(data.decode(self.encoding))
        return self.engine(text, orient=self.orient, lines=self.lines, **self.kwargs)

    def __call__(self, block: Block, columns: list | None = None,
                 filters: list | None = None) -> Any:
        columns = list(self.meta.columns) if columns is None else list(columns)
        filters = list(filters or [])
        import numpy as np

        df = self.parse(read_block(block))
        if len(df) == 0:
            return empty_like_meta(self.meta, columns)
        where = f"file {block.path!r}" + ("" if block.first and block.end is None
                                          else f" (block of bytes {block.start}-{block.end})")
        file_cols = [c for c in self.meta.columns if c != self.path_column]
        missing = [c for c in file_cols if c not in df.columns]
        for c in missing:  # records may leave keys out; those values are missing
            df[c] = np.nan
        df = coerce_to_meta(df[file_cols], self.meta, where, "read_json")
        if self.path_column is not None:
            import pandas as pd

            value = self.path_converter(block.path) if self.path_converter else block.path
            code = self.path_dtype.categories.get_loc(value)
            df[self.path_column] = pd.Categorical.from_codes([code] * len(df),
                                                             dtype=self.path_dtype)
        df = apply_filters(df, filters)
        return df[columns] if list(df.columns) != columns else df


def read_json(url_path: Any, orient: str = "records", lines: bool | None = None,
              storage_options: dict | None = None, blocksize: Any = None,
              sample: int = 2**20, encoding: str = "utf-8", errors: str = "strict",
              compression: str | None = "infer", meta: Any = None,
              engine: Callable | None = None, include_path_column: bool | str = False,
              path_converter: Callable | None = None, **kwargs: Any) -> Any:
    """Read JSON files into a DataFrame.

    Parameters
    ----------
    url_path : str, path or list of them
        Paths, glob patterns or fsspec URLs.
    orient : str
        As in :func:`pandas.read_json`; ``"records"`` by default.
    lines : bool, optional
        One record per line; defaults to ``orient == "records"``.
    blocksize : int or str, optional
        Cut line-delimited files into blocks of about this many bytes (at line ends);
        None reads one partition per file. Needs ``lines=True``, ``orient="records"``
        and uncompressed files.
    sample : int
        Bytes of the first file parsed to infer columns and dtypes (line-delimited
        files; other layouts parse the first file whole) unless ``meta=`` is given.
    meta : pandas.DataFrame or dict, optional
        Column names and dtypes, instead of inferring them.
    engine : callable, optional
        The parser, :func:`pandas.read_json` by default.
    include_path_column : bool or str
        Add a categorical column (``"path"`` or the name given) with each row's file,
        passed through ``path_converter`` when given.
    **kwargs
        Passed to the parser (``dtype=``, ``convert_dates=``, ...).

    Examples
    --------
    >>> import os, tempfile
    >>> import plait.dataframe as dd
    >>> d = tempfile.mkdtemp()
    >>> with open(os.path.join(d, "a.json"), "w") as f:
    ...     _ = f.write('{"a": 1, "b": "x"}\\n{"a": 2, "b": "y"}\\n')
    >>> dd.read_json(os.path.join(d, "*.json")).compute(scheduler="sync")
       a  b
    0  1  x
    1  2  y
    """
    import pandas as pd

    if lines is None:
        lines = orient == "records"
    if blocksize is not None and not (lines and orient == "records"):
        raise ValueError("read_json: blocksize= needs lines=True and orient='records' (one "
                         "record per line); other layouts are read one file per partition")
    if errors != "strict":
        raise ValueError("read_json: only errors='strict' is supported")
    engine = engine or pd.read_json
    files = expand_paths(url_path, storage_options, "read_json")
    blocks = plan_blocks(files, blocksize, compression)
    reader = JSONReader(engine, orient, bool(lines), dict(kwargs), None, None, None,
                        path_converter, encoding)
    if meta is None:
        head = pd.DataFrame()
        for fs, path, size, _ in files:
            codec = codec_for(path, compression)
            if lines:
                data = read_head(fs, path, int(sample), codec)
            else:
                data = read_block(Block(fs, path, 0, None, True, codec))
            head = reader.parse(data)
            if len(head.columns):
                break
        meta = head.iloc[:0]
    elif isinstance(meta, dict):
        meta = pd.DataFrame({k: pd.Series([], dtype=v) for k, v in meta.items()})
    else:
        meta = meta.iloc[:0]
    path_column = None
    if include_path_column:
        path_column = "path" if include_path_column is True else include_path_column
        values = [path_converter(p) if path_converter else p for _, p, _, _ in files]
        reader.path_dtype = pd.CategoricalDtype(list(dict.fromkeys(values)))
        meta = meta.assign(**{path_column: pd.Categorical([], dtype=reader.path_dtype)})
    reader.path_column = path_column
    reader.meta = meta.set_axis(pd.RangeIndex(0), axis=0)
    from ._collection import from_parts

    return from_parts(reader, blocks, reader.meta, label="read-json")

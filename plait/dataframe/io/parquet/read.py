"""``read_parquet``: one partition per file or per run of row groups, read with PyArrow.

Planning opens every file's footer once (the graph-building process, not the tasks):
its schema gives ``meta``, its row-group statistics let ``filters=`` drop whole pieces
before any task exists and give ``divisions`` with ``calculate_divisions=True``. A
task reads only the columns and row groups its query needs: the optimizer hands it a
narrowed ``columns`` list and the simple row filters written after ``read_parquet``
(``df[df.x > 0]``, ``df.query("x > 0")``, ``isin``); row groups whose statistics
rule the filter out are never read, and the rows read are filtered with the same
pandas comparisons as the filter step (``filters_exact``), so that step disappears.

Folders are searched recursively; ``key=value`` folder names (hive partitioning) become
categorical columns, which filters also prune without opening the files.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ....utils.sizes import parse_bytes
from .filters import as_dnf, group_stats, may_match, merge_stats, rows_matching
from .paths import expand, footers, hive_values, typed_values

__all__ = ["ParquetPiece", "ParquetReader", "read_parquet"]


@dataclass(frozen=True)
class ParquetPiece:
    """Row groups ``row_groups`` (None: all) of the file ``path``, with the file's hive
    ``partition`` values and the merged statistics of those row groups."""

    fs: Any
    path: str
    row_groups: tuple | None
    partition: tuple = ()
    version: Any = None
    stats: Any = field(default=None, compare=False)

    def __plait_tokenize__(self) -> Any:
        return (str(getattr(self.fs, "protocol", None)), self.path, self.row_groups,
                self.partition, self.version)

    def __repr__(self) -> str:
        groups = "" if self.row_groups is None else f", row_groups={list(self.row_groups)}"
        return f"ParquetPiece({self.path!r}{groups})"


# -- turning a table into the partition ------------------------------------------------------

def _without_index_metadata(table: Any) -> Any:
    """``table`` whose pandas metadata names no index: index columns come back as plain
    columns (with dtypes restored), and the reader sets the index it was asked for."""
    md = table.schema.metadata
    if not md or b"pandas" not in md:
        return table
    info = json.loads(md[b"pandas"])
    info["index_columns"] = []
    return table.replace_schema_metadata({**md, b"pandas": json.dumps(info).encode()})


class ParquetReader:
    """Makes a partition from a :class:`ParquetPiece` (see the module docstring)."""

    supports_filters = True
    filters_exact = True  # rows are filtered with the filter step's own comparisons

    def __init__(self, file_columns: list, index_fields: list, index_names: list,
                 renames: dict, categories: dict, dnf: list | None, meta: Any):
        self.file_columns = file_columns      # columns in the files, by field name
        self.index_fields = index_fields      # fields that become the index
        self.index_names = index_names        # the index's level names
        self.renames = renames                # field name -> column name (pandas index)
        self.categories = categories          # hive key -> its categorical dtype
        self.dnf = dnf                        # read_parquet(filters=), OR of ANDs
        self.meta = meta
        self.use_threads = False              # Arrow's decoding threads (see __call__)

    __name__ = "read_parquet"

    def __plait_tokenize__(self) -> Any:
        return ("parquet-reader", self.file_columns, self.index_fields, self.index_names,
                sorted(self.renames.items()), sorted(self.categories), repr(self.dnf))

    def __repr__(self) -> str:
        return "read_parquet"

    def _dnf(self, filters: list | None) -> list | None:
        if not filters:
            return self.dnf
        if not self.dnf:
            return [list(filters)]
        return [conj + list(filters) for conj in self.dnf]

    def __call__(self, piece: ParquetPiece, columns: list | None = None,
                 filters: list | None = None) -> pd.DataFrame:
        import pyarrow.parquet as pq

        dnf = self._dnf(filters)
        partition = dict(piece.partition)
        want = list(self.meta.columns) if columns is None else list(columns)
        used = set(want) | set(self.index_fields)
        for conj in dnf or ():
            used |= {c for c, _, _ in conj}
        back = {v: k for k, v in self.renames.items()}
        fields = [f for f in self.file_columns
                  if f in used or back.get(f) in used or self.renames.get(f) in used]
        table = None
        positions = None
        if piece.stats is None or may_match(piece.stats, partition, dnf):
            with piece.fs.open(piece.path, "rb") as f:
                pf = pq.ParquetFile(f)
                groups = range(pf.num_row_groups) if piece.row_groups is None \
                    else piece.row_groups
                keep = [g for g in groups
                        if may_match(group_stats(pf.metadata.row_group(g)), partition, dnf)]
                if keep:
                    # one thread: the scheduler already reads partitions side by side,
                    # and Arrow's decoding threads on top of its workers oversubscribe
                    # the cores (TPC-H Q1 under threads: 0.78 s -> 0.52 s)
                    table = pf.read_row_groups(keep, columns=fields,
                                               use_threads=self.use_threads)
                else:
                    table = pf.schema_arrow.empty_table().select(fields)
                if len(keep) < len(groups):
                    positions = _row_positions(pf.metadata, list(groups), keep)
        return self.frame(table, fields, partition, dnf, want, positions)

    def frame(self, table: Any, fields: list, partition: dict, dnf: list | None,
              want: list, positions: Any = None) -> pd.DataFrame:
        """The partition from an arrow ``table`` (None: nothing matched). Without an
        index column the rows are numbered by their place in the whole piece
        (``positions``, when row groups were skipped), so that a filter pushed into
        the read leaves the labels a filter after it would: ``df[df.x > 0]`` then
        aligns with ``df`` as in pandas."""
        if table is None:
            return self.meta[want].copy()
        df = _without_index_metadata(table).to_pandas()
        n = len(df)
        for key, dtype in self.categories.items():
            value = partition.get(key)
            df[key] = pd.Categorical([value] * n, dtype=dtype)
        if not self.index_fields:
            df.index = pd.RangeIndex(n) if positions is None else pd.Index(positions)
        if dnf:
            df = df[rows_matching(df.rename(columns=self.renames), dnf).to_numpy()]
        if self.index_fields:
            df = df.set_index(self.index_fields)
            df.index.names = self.index_names
        df = df.rename(columns=self.renames)
        return df[want]


def _row_positions(md: Any, groups: list, keep: list) -> Any:
    """The row numbers, within the row groups ``groups``, of the rows of ``keep``."""
    import numpy as np

    kept = set(keep)
    out, start = [], 0
    for g in groups:
        rows = md.row_group(g).num_rows
        if g in kept:
            out.append(np.arange(start, start + rows, dtype="int64"))
        start += rows
    return np.concatenate(out) if out else np.zeros(0, dtype="int64")


# -- planning -------------------------------------------------------------------------------

def _pieces_of(fs: Any, path: str, md: Any, partition: tuple, version: Any,
               split_row_groups: Any, blocksize: int | None) -> list:
    n = md.num_row_groups
    stats = [group_stats(md.row_group(g)) for g in range(n)]
    if split_row_groups is False or n <= 1:
        runs = [list(range(n))]
    elif split_row_groups is True:
        runs = [[g] for g in range(n)]
    elif isinstance(split_row_groups, int):
        runs = [list(range(g, min(n, g + split_row_groups)))
                for g in range(0, n, split_row_groups)]
    else:  # "infer"/"adaptive": runs of row groups of about blocksize bytes
        runs, run, size = [], [], 0
        for g in range(n):
            run.append(g)
            size += md.row_group(g).total_byte_size
            if blocksize is not None and size >= blocksize:
                runs.append(run)
                run, size = [], 0
        if run:
            runs.append(run)
    whole = len(runs) == 1
    out = []
    for run in runs:
        merged = merge_stats([stats[g] for g in run]) if run else {}
        rows = sum(md.row_group(g).num_rows for g in run)
        out.append((ParquetPiece(fs, path, None if whole else tuple(run), partition,
                                 version, merged), rows))
    return out


def _index_info(schema: Any, index: Any) -> tuple[list, list, dict]:
    """(index fields, index names, {field: column name}) for ``index=``."""
    pandas_md = schema.pandas_metadata or {}
    names = {c.get("field_name", c.get("name")): c.get("name")
             for c in pandas_md.get("columns", [])}
    stored = [c for c in pandas_md.get("index_columns", []) if isinstance(c, str)]
    renames = {f: (names.get(f) if names.get(f) is not None else f)
               for f in stored if f != names.get(f)}
    if index is None:
        return stored, [names.get(f) for f in stored], \
            {f: n for f, n in renames.items() if f not in stored}
    if index is False:
        return [], [], {f: n for f, n in renames.items()}
    wanted = [index] if isinstance(index, str) else list(index)
    back = {n: f for f, n in renames.items()}
    fields = [back.get(w, w) for w in wanted]
    missing = [w for w, f in zip(wanted, fields) if f not in schema.names]
    if missing:
        raise ValueError(f"read_parquet: index={index!r} names columns not in the files: "
                         f"{missing}; the columns are {list(schema.names)}")
    return fields, wanted, {f: n for f, n in renames.items() if f not in fields}


def _divisions(pieces: list, fields: list, meta: Any) -> tuple | None:
    """Index bounds of the pieces from their statistics, when they are sorted."""
    if len(fields) != 1 or not pieces:
        return None
    bounds = []
    for p in pieces:
        st = (p.stats or {}).get(fields[0])
        if st is None or st[0] is None:
            return None
        bounds.append((st[0], st[1]))
    for (_, hi), (lo, _) in itertools.pairwise(bounds):
        if lo < hi:
            return None  # overlapping or unsorted pieces: divisions unknown
    idx = meta.index
    out = [b[0] for b in bounds] + [bounds[-1][1]]
    if isinstance(idx, pd.DatetimeIndex):
        out = [_timestamp(v, idx.tz) for v in out]
    return tuple(out)


def _timestamp(value: Any, tz: Any) -> pd.Timestamp:
    """A statistics value as a Timestamp in the index's zone (tz-aware columns are
    stored in UTC)."""
    t = pd.Timestamp(value)
    if tz is None:
        return t.tz_convert(None) if t.tzinfo is not None else t
    return t.tz_convert(tz) if t.tzinfo is not None else t.tz_localize("UTC").tz_convert(tz)


def read_parquet(path: Any, columns: Any = None, filters: Any = None, index: Any = None,
                 storage_options: dict | None = None, split_row_groups: Any = "infer",
                 blocksize: Any = "256 MiB", calculate_divisions: bool = False,
                 ignore_metadata_file: bool = False,
                 parquet_file_extension: Any = (".parq", ".parquet", ".pq"),
                 dtype_backend: Any = None, engine: str = "pyarrow", **kwargs: Any) -> Any:
    """Read Parquet files, a folder of them (hive ``key=value`` folders become
    categorical columns) or fsspec URLs into a partitioned DataFrame.

    Parameters
    ----------
    path : str, path or list
        Files, glob patterns, folders, or fsspec URLs (``"memory://data/"``).
    columns : str or list, optional
        Columns to read (a str returns a Series). Selections written later on the
        frame are pushed into the read as well.
    filters : list of (column, op, value), or list of such lists
        Rows to keep: a list is ANDed, a list of lists ORed. Pieces and row groups
        whose statistics (or hive folder values) exclude every row are skipped;
        the rows read are filtered exactly.
    index : str, list or False, optional
        Column(s) to use as the index; default: the index pandas stored; False: none.
    split_row_groups : bool, int or "infer"
        False: one partition per file; True: one per row group; n: n row groups each;
        "infer": runs of row groups of about ``blocksize`` bytes (uncompressed).
    calculate_divisions : bool
        Take divisions from the index column's statistics (when pieces are sorted).
    ignore_metadata_file : bool
        Accepted for compatibility: plait always plans from the files' own footers
        (a ``_metadata`` file is not read).
    parquet_file_extension : str, tuple or None
        Inside folders, read only files ending so (None: every file not starting with
        ``_`` or ``.``). Files named explicitly or by a glob are always read.

    Examples
    --------
    >>> import os, tempfile, pandas as pd, plait.dataframe as dd
    >>> d = tempfile.mkdtemp()
    >>> pd.DataFrame({"x": [1, 2, 3], "y": [4, 5, 6]}).to_parquet(os.path.join(d, "a.parquet"))
    >>> dd.read_parquet(d)[["x"]].compute(scheduler="sync").x.tolist()
    [1, 2, 3]
    """
    from .._collection import from_parts

    if engine not in ("pyarrow", "auto"):
        raise ValueError(f"read_parquet supports engine='pyarrow' only, got {engine!r}")
    if kwargs:
        raise TypeError(f"read_parquet got unexpected keywords {sorted(kwargs)}")
    if dtype_backend is not None:
        raise NotImplementedError("read_parquet(dtype_backend=...) is not supported; "
                                  "convert with astype after reading")
    if isinstance(parquet_file_extension, str):
        parquet_file_extension = (parquet_file_extension,)
    if not (isinstance(split_row_groups, (bool, int)) or split_row_groups in ("infer",
                                                                               "adaptive")):
        raise ValueError("split_row_groups must be True, False, an int or 'infer', got "
                         f"{split_row_groups!r}")
    dnf = as_dnf(filters)
    files = expand(path, storage_options, parquet_file_extension)
    hive = [hive_values(root, p) for _, p, root, _ in files]
    keys = list(dict.fromkeys(k for h in hive for k in h))
    categories = {k: pd.CategoricalDtype(sorted(set(typed_values([h[k] for h in hive if k in h]))))
                  for k in keys}
    size = None if blocksize is None else parse_bytes(blocksize)

    schema = None
    pieces: list = []
    metas = footers([(fs, p) for fs, p, _, _ in files])
    for (fs, p, _, version), h, (md, file_schema) in zip(files, hive, metas):
        if schema is None:
            schema = file_schema
        elif not file_schema.remove_metadata().equals(schema.remove_metadata()):
            raise ValueError(f"read_parquet: {p!r} has another schema than the first file:"
                             f"\n{file_schema.remove_metadata()}\nversus\n"
                             f"{schema.remove_metadata()}")
        typed = {k: typed_values([v])[0] if all(isinstance(c, (int, float))
                                          for c in categories[k].categories) else v
                 for k, v in h.items()}
        partition = tuple(typed.items())
        pieces.extend(_pieces_of(fs, p, md, partition, version, split_row_groups, size))

    index_fields, index_names, renames = _index_info(schema, index)
    file_columns = [f for f in schema.names if f not in keys]
    reader = ParquetReader(file_columns, index_fields, index_names, renames, categories,
                           dnf, None)
    all_columns = [renames.get(f, f) for f in file_columns if f not in index_fields] + keys
    meta = _meta(reader, schema, file_columns, all_columns)
    reader.meta = meta

    # pieces the filters rule out are never planned; empty pieces neither
    kept = [p for p, rows in pieces if rows > 0 and may_match(p.stats, dict(p.partition), dnf)]
    if not kept:
        kept = [pieces[0][0]]
    # one partition: nothing else runs beside it, so let Arrow decode on its threads
    reader.use_threads = len(kept) == 1
    divisions = _divisions(kept, index_fields, meta) if calculate_divisions else None
    df = from_parts(reader, kept, meta, divisions=divisions, label="read-parquet")
    if columns is not None:
        cols = columns if isinstance(columns, str) else list(columns)
        missing = [c for c in ([cols] if isinstance(cols, str) else cols)
                   if c not in meta.columns]
        if missing:
            raise ValueError(f"read_parquet: columns {missing} are not in the files; "
                             f"they hold {list(meta.columns)}")
        df = df[cols]
    return df


def _meta(reader: ParquetReader, schema: Any, fields: Sequence, columns: list) -> Any:
    empty = schema.empty_table()
    df = _without_index_metadata(empty).to_pandas()
    for key, dtype in reader.categories.items():
        df[key] = pd.Categorical([], dtype=dtype)
    if reader.index_fields:
        df = df.set_index(reader.index_fields)
        df.index.names = reader.index_names
    df = df.rename(columns=reader.renames)
    return df[columns]

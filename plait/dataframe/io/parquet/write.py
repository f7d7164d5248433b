"""``to_parquet``: one file per partition (``part.<i>.parquet``), written by PyArrow.

Each partition's task converts it to an Arrow table with the schema of the frame's
``meta`` (so every file has the same column types, even where a partition is empty or
all-missing) and writes it; with ``partition_on`` its rows are split into hive
``key=value`` folders. A final task writes ``_metadata`` (every file's row groups) and
``_common_metadata`` when ``write_metadata_file`` is true. ``append=True`` adds files
after those already there, once the new schema is checked against theirs;
``overwrite=True`` removes the folder first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import pandas as pd

__all__ = ["to_parquet"]


def _schema(meta: pd.DataFrame, write_index: bool) -> Any:
    import pyarrow as pa

    return pa.Schema.from_pandas(meta, preserve_index=write_index)


def _table(part: pd.DataFrame, schema: Any, write_index: bool) -> Any:
    """``part`` as a table with ``schema``'s types where the meta knew them (object
    columns with no values in the meta are typed by the data)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(part, preserve_index=write_index)
    fields = []
    for f in table.schema:
        want = schema.field(f.name) if f.name in schema.names else f
        fields.append(f if pa.types.is_null(want.type) else want)
    target = pa.schema(fields, metadata=table.schema.metadata)
    return table.cast(target) if not target.equals(table.schema) else table


def _write_part(part: pd.DataFrame, fs: Any, root: str, filename: str, schema: Any,
                write_index: bool, partition_on: list, kwargs: dict) -> list:
    """Write one partition; returns ``[(path relative to root, FileMetaData)]``."""
    import pyarrow.parquet as pq

    if partition_on:
        groups = part.groupby(partition_on, observed=True, dropna=False, sort=False)
        pieces = [(keys if isinstance(keys, tuple) else (keys,), g.drop(columns=partition_on))
                  for keys, g in groups]
    else:
        pieces = [((), part)]
    out = []
    for keys, piece in pieces:
        folder = "/".join(f"{k}={v}" for k, v in zip(partition_on, keys))
        rel = f"{folder}/{filename}" if folder else filename
        path = f"{root}/{rel}"
        if folder:
            fs.makedirs(f"{root}/{folder}", exist_ok=True)
        collector: list = []
        table = _table(piece, schema, write_index)
        with fs.open(path, "wb") as f, pq.ParquetWriter(
                f, table.schema, metadata_collector=collector, **kwargs) as writer:
            writer.write_table(table)
        md = collector[0] if collector else None
        if md is not None:
            md.set_file_path(rel)
        out.append((rel, md))
    return out


def _write_metadata(written: list, fs: Any, root: str, schema: Any, existing: list) -> None:
    import pyarrow.parquet as pq

    mds = [md for parts in written for _, md in parts if md is not None]
    if existing:
        mds = existing + mds
    with fs.open(f"{root}/_common_metadata", "wb") as f:
        pq.write_metadata(schema, f)
    if not mds:
        return
    merged = mds[0]
    for md in mds[1:]:
        merged.append_row_groups(md)  # raises if a file's schema differs
    with fs.open(f"{root}/_metadata", "wb") as f:
        merged.write_metadata_file(f)


def _existing(fs: Any, root: str) -> list:
    from .paths import is_data_file

    if not fs.exists(root):
        return []
    return sorted(p for p in fs.find(root) if is_data_file(p)
                  and not any(s.startswith(("_", ".")) for s in
                              p[len(root):].strip("/").split("/")[:-1]))


def _check_append(fs: Any, root: str, files: list, schema: Any, partition_on: list) -> None:
    import pyarrow.parquet as pq

    with fs.open(files[0], "rb") as f:
        old = pq.ParquetFile(f).schema_arrow
    new = schema
    for key in partition_on:
        if key in new.names:
            new = new.remove(new.get_field_index(key))
    old_plain, new_plain = old.remove_metadata(), new.remove_metadata()
    if old_plain.equals(new_plain):
        return
    diffs = []
    for name in dict.fromkeys(old_plain.names + new_plain.names):
        a = old_plain.field(name).type if name in old_plain.names else None
        b = new_plain.field(name).type if name in new_plain.names else None
        if a != b and not (a is not None and b is not None and str(b) == "null"):
            diffs.append(f"{name}: existing {a}, new {b}")
    if diffs:
        raise ValueError("to_parquet(append=True): the frame's schema differs from the files "
                         f"already in {root!r}: " + "; ".join(diffs) +
                         ". Cast the columns to the existing types (astype) or write to a new "
                         "folder (or overwrite=True)")


def _existing_index_max(fs: Any, files: list, schema: Any) -> Any:
    """The largest stored index value in ``files`` (from row-group statistics), or None
    when the index is not stored as one column with statistics."""
    import pyarrow.parquet as pq

    fields = [c for c in (schema.pandas_metadata or {}).get("index_columns", [])
              if isinstance(c, str)]
    if len(fields) != 1:
        return None
    top = None
    for path in files:
        with fs.open(path, "rb") as f:
            md = pq.ParquetFile(f).metadata
        j = md.schema.names.index(fields[0]) if fields[0] in md.schema.names else None
        if j is None:
            return None
        for g in range(md.num_row_groups):
            st = md.row_group(g).column(j).statistics
            if md.row_group(g).num_rows == 0:
                continue
            if st is None or not st.has_min_max:
                return None
            top = st.max if top is None else max(top, st.max)
    return top


def to_parquet(df: Any, path: Any, compression: Any = "snappy", write_index: bool = True,
               append: bool = False, overwrite: bool = False, ignore_divisions: bool = False,
               partition_on: Any = None, storage_options: dict | None = None,
               write_metadata_file: bool | None = None, compute: bool = True,
               compute_kwargs: dict | None = None,
               name_function: Callable[[int], str] | None = None,
               engine: str = "pyarrow", **kwargs: Any) -> Any:
    """Write ``df`` to a folder of Parquet files, one per partition.

    Parameters
    ----------
    path : str or path
        The folder (a local path or an fsspec URL).
    compression : str or dict
        PyArrow codec ("snappy", "gzip", "zstd", "lz4", "brotli", None), or per column.
    write_index : bool
        Store the index (read back as the index by ``read_parquet``).
    append, overwrite : bool
        Add files to an existing folder (its schema must agree with the frame's), or
        remove the folder first.
    ignore_divisions : bool
        With ``append``, allow an index that does not start after the stored one (by
        default such an append is refused, since the files would no longer be sorted).
    partition_on : str or list
        Columns whose values become ``key=value`` folders.
    write_metadata_file : bool
        Also write ``_metadata`` with every file's row groups, and ``_common_metadata``.
    compute : bool
        Write now (returns None), or return a Delayed that writes.

    Examples
    --------
    >>> import os, tempfile, pandas as pd, plait.dataframe as dd
    >>> d = os.path.join(tempfile.mkdtemp(), "out")
    >>> df = dd.from_pandas(pd.DataFrame({"x": range(4)}), npartitions=2)
    >>> df.to_parquet(d, compute_kwargs={"scheduler": "sync"})
    >>> sorted(os.listdir(d))
    ['part.0.parquet', 'part.1.parquet']
    """
    from fsspec.core import url_to_fs

    from ....delayed import delayed

    if engine not in ("pyarrow", "auto"):
        raise ValueError(f"to_parquet supports engine='pyarrow' only, got {engine!r}")
    if append and overwrite:
        raise ValueError("to_parquet: append=True and overwrite=True cannot go together")
    if not isinstance(df._meta, pd.DataFrame):
        df = df.to_frame()
    partition_on = [partition_on] if isinstance(partition_on, str) else list(partition_on or [])
    missing = [c for c in partition_on if c not in df._meta.columns]
    if missing:
        raise ValueError(f"to_parquet: partition_on names columns not in the frame: {missing}")
    fs, root = url_to_fs(os.fspath(path), **(storage_options or {}))
    root = root.rstrip("/")
    if overwrite and fs.exists(root):
        fs.rm(root, recursive=True)
    schema = _schema(df._meta, write_index)
    existing = _existing(fs, root) if append else []
    start = 0
    old_mds: list = []
    if existing:
        _check_append(fs, root, existing, schema, partition_on)
        if write_index and not ignore_divisions and df.known_divisions:
            top = _existing_index_max(fs, existing, schema)
            if top is not None:
                start_label = df.divisions[0]
                try:
                    from .read import _timestamp

                    if isinstance(start_label, pd.Timestamp):
                        top = _timestamp(top, start_label.tz)
                    overlap = start_label <= top
                except TypeError:
                    overlap = False
                if overlap:
                    raise ValueError(
                        f"to_parquet(append=True): the new index starts at {start_label!r}, "
                        f"not after the stored index (which reaches {top!r}), so the files "
                        "would no longer be sorted. Pass ignore_divisions=True to append "
                        "anyway")
        numbers = [int(m.group(1)) for p in existing
                   if (m := re.search(r"part\.(\d+)\.parquet$", p))]
        start = max(numbers) + 1 if numbers else len(existing)
        if write_metadata_file is None:
            write_metadata_file = fs.exists(f"{root}/_metadata")
        if write_metadata_file and fs.exists(f"{root}/_metadata"):
            import pyarrow.parquet as pq

            with fs.open(f"{root}/_metadata", "rb") as f:
                md = pq.read_metadata(f)
            old_mds = [md]
    fs.makedirs(root, exist_ok=True)
    name_function = name_function or (lambda i: f"part.{i}.parquet")
    file_schema = schema
    for key in partition_on:
        file_schema = file_schema.remove(file_schema.get_field_index(key))
    writer_kwargs = dict(kwargs, compression=compression)
    write = delayed(_write_part, pure=False)
    written = [write(part, fs, root, name_function(start + i), schema, write_index,
                     partition_on, writer_kwargs)
               for i, part in enumerate(df.to_delayed())]
    if write_metadata_file:
        final = delayed(_write_metadata, pure=False)(written, fs, root, file_schema, old_mds)
    else:
        final = delayed(_done, pure=False)(written)
    if not compute:
        return final
    final.compute(**(compute_kwargs or {}))
    return None


def _done(written: list) -> None:
    return None

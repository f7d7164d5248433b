"""Finding the data files of a Parquet data set and reading their footers.

Folders are searched recursively; names starting with ``_`` or ``.`` (``_metadata``,
``_SUCCESS``, hidden folders) are skipped, and ``key=value`` folder names between the
root and a file are its hive partition values.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["expand", "footers", "hive_values", "is_data_file", "typed_values"]


def is_data_file(path: str) -> bool:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return not name.startswith(("_", ".")) and not name.endswith(".crc")


def expand(urlpath: Any, storage_options: dict | None,
           extensions: tuple | None = None) -> list:
    """``(fs, path, root, version)`` for each data file ``urlpath`` names (files, globs,
    folders searched recursively, lists of those)."""
    from fsspec.core import url_to_fs

    from ..files import _version

    patterns = list(urlpath) if isinstance(urlpath, (list, tuple)) else [urlpath]
    if not patterns:
        raise ValueError("read_parquet needs at least one path; got an empty list")
    out = []
    for pattern in patterns:
        fs, path = url_to_fs(os.fspath(pattern), **(storage_options or {}))
        if any(c in path for c in "*?["):
            found = fs.glob(path, detail=True)
            files = sorted(p for p, i in found.items() if i.get("type") != "directory")
            if not files:
                raise FileNotFoundError(f"read_parquet: no files match {pattern!r}")
            for p in files:
                out.append((fs, p, p.rsplit("/", 1)[0], _version(found[p])))
            continue
        if not fs.exists(path):
            raise FileNotFoundError(f"read_parquet: no such file or folder: {pattern!r}")
        if fs.isdir(path):
            found = fs.find(path, detail=True)
            root = path.rstrip("/")
            files = sorted(p for p in found if is_data_file(p)
                           and (not extensions or p.endswith(tuple(extensions)))
                           and not any(s.startswith(("_", ".")) for s in
                                       p[len(root):].strip("/").split("/")[:-1]))
            if not files:
                raise FileNotFoundError(f"read_parquet: the folder {pattern!r} holds no "
                                        "data files")
            out.extend((fs, p, root, _version(found[p])) for p in files)
        else:
            out.append((fs, path, path.rsplit("/", 1)[0], _version(fs.info(path))))
    return out


def hive_values(root: str, path: str) -> dict:
    """``key=value`` folder names between ``root`` and ``path``."""
    rel = path[len(root):].strip("/").split("/")[:-1]
    return dict(s.split("=", 1) for s in rel if "=" in s)


def typed_values(values: list) -> list:
    """Hive values as ints or floats where they all read as such (as pyarrow does)."""
    for kind in (int, float):
        try:
            return [kind(v) for v in values]
        except ValueError:
            continue
    return values


def _footer(item: tuple) -> tuple:
    import pyarrow.parquet as pq

    fs, path = item
    with fs.open(path, "rb") as f:
        pf = pq.ParquetFile(f)
        return pf.metadata, pf.schema_arrow


def footers(items: list) -> list:
    """``(metadata, arrow schema)`` of each file; many files are opened a few at a time
    (on object stores each footer is a round trip)."""
    if len(items) < 4:
        return [_footer(i) for i in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(8, len(items))) as pool:
        return list(pool.map(_footer, items))

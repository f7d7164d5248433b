"""``to_csv`` and ``to_json``: one file per partition, or one file in all.

Each partition is written by its own task, named from a path pattern with one ``*``
(``"out/part-*.csv"``; ``name_function(i)`` fills it in, ``str(i)`` by default). With
``single_file=True`` the partitions go into one file one after the other: each write
task depends on the one before, so the file is written in order even under a parallel
scheduler. Writing returns the paths written (or, with ``compute=False``, one Delayed
per file).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["to_csv", "to_json"]


def _write_csv(part: Any, of: Any, kwargs: dict, header: bool, done: Any = None) -> str:
    with of as f:
        part.to_csv(f, header=header, **kwargs)
    return of.path


def _write_json(part: Any, of: Any, kwargs: dict, done: Any = None) -> str:
    text = part.to_json(None, **kwargs)
    if kwargs.get("lines") and text and not text.endswith("\n"):
        text += "\n"  # every record line ends, so files can be concatenated
    with of as f:
        f.write(text)
    return of.path


def _paths_list(*paths: Any) -> list:
    return list(dict.fromkeys(paths))


def _open_files(df: Any, path: Any, name_function: Callable | None, mode: str,
                compression: str | None, encoding: str, storage_options: dict | None,
                writer: str) -> list:
    import fsspec

    n = df.npartitions
    if isinstance(path, (list, tuple)):
        path = [os.fspath(p) for p in path]
        if len(path) != n:
            raise ValueError(f"{writer} needs one path per partition: the frame has {n} "
                             f"partitions and {len(path)} paths were given")
    else:
        path = os.fspath(path)
        if "*" not in path and not path.endswith(("/", os.sep)):
            if n == 1:
                path = [path]
            else:
                raise ValueError(
                    f"{writer}: {path!r} names one file, but the frame has {n} partitions; "
                    f"put a '*' in the name (one file each: 'out/part-*.csv') or pass "
                    f"single_file=True")
    return fsspec.open_files(path, mode=mode, compression=compression, encoding=encoding,
                             name_function=name_function, num=n, **(storage_options or {}))


def _run(values: list, compute: bool, compute_kwargs: dict | None, paths: list) -> Any:
    from ...collection import compute as plait_compute

    if not compute:
        return values
    plait_compute(*values, **(compute_kwargs or {}))
    return paths


def to_csv(df: Any, filename: Any, single_file: bool = False, encoding: str = "utf-8",
           mode: str = "wt", name_function: Callable[[int], str] | None = None,
           compression: str | None = None, compute: bool = True,
           scheduler: Any = None, storage_options: dict | None = None,
           header_first_partition_only: bool | None = None,
           compute_kwargs: dict | None = None, **kwargs: Any) -> Any:
    """Write a DataFrame or Series to CSV files.

    Parameters
    ----------
    df : DataFrame or Series
    filename : str, path or list of them
        A pattern with one ``*`` (one file per partition), a directory (files
        ``0.part``, ...), one path per partition, or, with ``single_file=True``, the
        one file to write.
    single_file : bool
        Write every partition into ``filename``, in order.
    name_function : callable, optional
        ``i -> str`` for the ``*`` of partition ``i`` (default ``str``).
    compression : str, optional
        ``"gzip"``, ``"bz2"``, ``"infer"`` (from the extension), ...
    compute : bool
        Write now and return the paths; False returns a list of Delayed, one per file.
    header_first_partition_only : bool, optional
        With one file per partition, whether only the first gets a header (default:
        every file has one; with ``single_file`` the header is written once).
    compute_kwargs : dict, optional
        Passed to compute (``scheduler=`` may also be given directly).
    **kwargs
        Passed to :meth:`pandas.DataFrame.to_csv` (``index=``, ``sep=``, ...).

    Examples
    --------
    >>> import os, tempfile, pandas as pd
    >>> import plait.dataframe as dd
    >>> d = tempfile.mkdtemp()
    >>> df = dd.from_pandas(pd.DataFrame({"a": [1, 2, 3]}), npartitions=2)
    >>> paths = to_csv(df, os.path.join(d, "part-*.csv"), index=False, scheduler="sync")
    >>> [os.path.basename(p) for p in paths]
    ['part-0.csv', 'part-1.csv']
    >>> open(paths[1]).read()
    'a\\n3\\n'
    """
    from ...delayed import delayed

    compute_kwargs = dict(compute_kwargs or {})
    if scheduler is not None:
        compute_kwargs["scheduler"] = scheduler
    header = kwargs.pop("header", True)
    parts = df.to_delayed()
    write = delayed(_write_csv, pure=False)
    if single_file:
        import fsspec

        first_mode, append_mode = mode, mode.replace("w", "a")
        path = os.fspath(filename)
        values = []
        prev = None
        for i, part in enumerate(parts):
            of = fsspec.open(path, mode=first_mode if i == 0 else append_mode,
                             compression=compression, encoding=encoding,
                             **(storage_options or {}))
            prev = write(part, of, kwargs, header if i == 0 else False, prev)
            values.append(prev)
        # the last write depends on every earlier one: computing it writes the file
        return _run(values[-1:], compute, compute_kwargs, [path])
    files = _open_files(df, filename, name_function, mode, compression, encoding,
                        storage_options, "to_csv")
    only_first = bool(header_first_partition_only)
    values = [write(part, of, kwargs, header if (i == 0 or not only_first) else False)
              for i, (part, of) in enumerate(zip(parts, files))]
    return _run(values, compute, compute_kwargs, [f.path for f in files])


def to_json(df: Any, url_path: Any, orient: str = "records", lines: bool | None = None,
            storage_options: dict | None = None, compute: bool = True,
            encoding: str = "utf-8", errors: str = "strict", compression: str | None = None,
            compute_kwargs: dict | None = None, name_function: Callable | None = None,
            **kwargs: Any) -> Any:
    """Write a DataFrame to JSON files, one per partition.

    ``lines`` defaults to ``orient == "records"`` (one record per line). Returns the
    paths written, or with ``compute=False`` one Delayed per file. Other keywords go to
    :meth:`pandas.DataFrame.to_json`.

    Examples
    --------
    >>> import os, tempfile, pandas as pd
    >>> import plait.dataframe as dd
    >>> d = tempfile.mkdtemp()
    >>> df = dd.from_pandas(pd.DataFrame({"a": [1, 2, 3]}), npartitions=2)
    >>> paths = to_json(df, os.path.join(d, "*.json"), compute_kwargs={"scheduler": "sync"})
    >>> open(paths[0]).read()
    '{"a":1}\\n{"a":2}\\n'
    """
    from ...delayed import delayed

    if lines is None:
        lines = orient == "records"
    if errors != "strict":
        raise ValueError("to_json: only errors='strict' is supported")
    files = _open_files(df, url_path, name_function, "wt", compression, encoding,
                        storage_options, "to_json")
    kwargs = dict(kwargs, orient=orient, lines=lines)
    write = delayed(_write_json, pure=False)
    values = [write(part, of, kwargs) for part, of in zip(df.to_delayed(), files)]
    return _run(values, compute, compute_kwargs, [f.path for f in files])

"""Bags of text lines: ``read_text`` from files (local or any fsspec URL), ``to_textfiles``.

Reading is lazy and streaming: each partition's task opens its file(s) when it runs and
yields one line at a time, so a fused chain ``read_text -> map -> filter -> sum`` never
holds a whole file. Lines keep their endings, as Python's ``readlines`` does.

With ``blocksize=`` a file is split into byte ranges. A line belongs to the block in
which it *starts*: a block's task moves its start forward to the first line start at or
after its nominal offset and reads on to the first line start at or after its nominal
end. Neighbouring blocks make the same decision about the same offset, so no line is
lost or read twice, however long the lines are.
"""

from __future__ import annotations

import codecs
import errno
import io
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..graph import Ref, Task
from ..utils.lines import line_start
from ..utils.sizes import parse_bytes
from .core import Bag, Item, new_name
from .optimize import Lazy

__all__ = ["read_text", "to_textfiles"]

_CHUNK = 1 << 16
# newline= values Python's text layer understands; anything else is a custom delimiter
_PYTHON_NEWLINES = (None, "", "\n", "\r", "\r\n")


@dataclass(frozen=True)
class _LineFormat:
    encoding: str
    errors: str
    linedelimiter: str | None
    include_path: bool

    @property
    def custom(self) -> bool:
        return self.linedelimiter not in _PYTHON_NEWLINES


def read_text(urlpath: Any, blocksize: int | str | None = None, compression: str | None = "infer",
              encoding: str = "utf-8", errors: str = "strict", linedelimiter: str | None = None,
              collection: bool = True, storage_options: dict | None = None,
              files_per_partition: int | None = None, include_path: bool = False) -> Any:
    """A bag of the lines of text files, one partition per file (or per block).

    Parameters
    ----------
    urlpath : str, path or list of them
        File paths, glob patterns (``"logs/2024-*.txt"``) or fsspec URLs
        (``"s3://bucket/*.json.gz"``).
    blocksize : int or str, optional
        Split each (uncompressed) file into blocks of about this many bytes
        (``"64MiB"``), cut at line boundaries.
    compression : str or None
        ``"infer"`` (from the file extension: gz, bz2, xz, ...), a codec name, or None.
    encoding, errors : str
        How bytes become text, as in :func:`open`.
    linedelimiter : str, optional
        None for universal newlines (``"\\r\\n"`` read as ``"\\n"``), one of ``""``,
        ``"\\n"``, ``"\\r"``, ``"\\r\\n"`` (as :func:`open`'s ``newline=``), or any other
        string to split on; every piece but a file's last keeps it at its end.
    collection : bool
        False returns a list of Delayed values, one per partition, instead of a Bag.
    storage_options : dict, optional
        Options for the fsspec filesystem (credentials, ...).
    files_per_partition : int, optional
        Put this many files in each partition.
    include_path : bool
        Give ``(line, path)`` pairs.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> with open(os.path.join(d, "a.txt"), "w") as f:
    ...     _ = f.write("alice 100\\nbob 200\\n")
    >>> b = read_text(os.path.join(d, "*.txt"))
    >>> b.compute(scheduler="sync")
    ['alice 100\\n', 'bob 200\\n']
    >>> b.str.split().pluck(1).map(int).sum().compute(scheduler="sync")
    300
    """
    if blocksize is not None and files_per_partition is not None:
        raise ValueError("give blocksize= or files_per_partition=, not both")
    fmt = _LineFormat(encoding, errors, linedelimiter, bool(include_path))
    files = _expand(urlpath, storage_options)
    if blocksize is None:
        parts = _file_partitions(files, compression, fmt, files_per_partition)
    else:
        parts = _block_partitions(files, compression, fmt, blocksize)
    name = new_name("read-text")
    layer = {(name, i): Task((name, i), Lazy(func), *args) for i, (func, args) in enumerate(parts)}
    bag = Bag(layer, name, len(layer))
    return bag if collection else bag.to_delayed()


def _expand(urlpath: Any, storage_options: dict | None) -> list:
    """``(filesystem, path, size)`` for every file the patterns name, in order."""
    from fsspec.core import url_to_fs

    patterns = list(urlpath) if isinstance(urlpath, (list, tuple)) else [urlpath]
    if not patterns:
        raise ValueError("read_text needs at least one path or pattern; got an empty list")
    files: list = []
    for pattern in patterns:
        pattern = os.fspath(pattern)
        fs, path = url_to_fs(pattern, **(storage_options or {}))
        if any(c in path for c in "*?["):
            found = fs.glob(path, detail=True)
            matched = sorted((p, info.get("size")) for p, info in found.items()
                             if info.get("type") != "directory")
            matched = [(fs, p, size) for p, size in matched]
            if not matched:
                raise FileNotFoundError(errno.ENOENT, "no files match the pattern", pattern)
            files.extend(matched)
            continue
        try:
            info = fs.info(path)
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, "no such file", pattern) from None
        if info.get("type") == "directory":
            raise IsADirectoryError(
                f"{pattern!r} is a directory; to read the files in it, pass "
                f"{pattern.rstrip('/') + '/*'!r}"
            )
        files.append((fs, path, info.get("size")))
    return files


def _file_partitions(files: list, compression: str | None, fmt: _LineFormat,
                     files_per_partition: int | None) -> list:
    from fsspec.core import OpenFile

    per = 1 if files_per_partition is None else files_per_partition
    if not isinstance(per, int) or per < 1:
        raise ValueError(f"files_per_partition must be a positive int, got {per!r}")
    newline = "" if fmt.custom else fmt.linedelimiter
    opened = [OpenFile(fs, path, mode="rt", compression=compression, encoding=fmt.encoding,
                       errors=fmt.errors, newline=newline) for fs, path, _ in files]
    return [(_read_files, (tuple(opened[i:i + per]), fmt)) for i in range(0, len(opened), per)]


def _block_partitions(files: list, compression: str | None, fmt: _LineFormat,
                      blocksize: int | str) -> list:
    from fsspec.core import get_compression

    size = parse_bytes(blocksize)
    if size < 1:
        raise ValueError(f"blocksize must be a positive number of bytes, got {blocksize!r}")
    delimiter = _delimiter_bytes(fmt)
    parts = []
    for fs, path, nbytes in files:
        codec = get_compression(path, compression)
        if codec is not None:
            raise ValueError(
                f"cannot split the {codec}-compressed file {path!r} into blocks: a "
                f"compressed stream can only be read from its start; read it with "
                f"blocksize=None (one partition per file)"
            )
        if nbytes is None:
            nbytes = fs.size(path)
        starts = range(0, nbytes, size) if nbytes else [0]
        for start in starts:
            end = min(start + size, nbytes)
            parts.append((_read_block, (fs, path, start, end, end == nbytes, delimiter, fmt)))
    return parts


def _delimiter_bytes(fmt: _LineFormat) -> bytes:
    """The bytes to cut blocks after; the encoding must keep ASCII as single bytes."""
    enc = codecs.getincrementalencoder(fmt.encoding)()
    enc.encode("a")  # a byte-order mark, if the codec writes one, comes out here
    if enc.encode("\n;|az") != b"\n;|az":
        raise ValueError(
            f"blocksize= needs an encoding that writes ASCII as single bytes (utf-8, "
            f"latin-1, ...) to find line ends in raw bytes; {fmt.encoding!r} does not. "
            f"Read with blocksize=None instead"
        )
    if fmt.custom:
        return fmt.linedelimiter.encode(fmt.encoding)
    # universal newlines: "\r\n" also ends in "\n"; a lone "\r" never splits a block
    return {"\r": b"\r", "\r\n": b"\r\n"}.get(fmt.linedelimiter, b"\n")


# -- tasks (module level so process pools can pickle them) -----------------------------

def _read_files(files: tuple, fmt: _LineFormat) -> Iterator:
    """Lines of each file in turn, read as they are consumed."""
    for of in files:
        with of as f:
            lines = _split_stream(f.read, fmt.linedelimiter) if fmt.custom else f
            for line in lines:
                yield (line, of.path) if fmt.include_path else line


def _read_block(fs: Any, path: str, start: int, end: int, last: bool, delimiter: bytes,
                fmt: _LineFormat) -> Iterator:
    """The lines that start in the byte range ``[start, end)`` of ``path``."""
    with fs.open(path, "rb") as f:
        begin = line_start(f, start, delimiter)
        stop = end if last else line_start(f, end, delimiter)
        if stop <= begin:
            return
        f.seek(begin)
        data = f.read(stop - begin)
    text = data.decode(fmt.encoding, fmt.errors)
    if fmt.linedelimiter in (None, ""):
        lines: Any = io.StringIO(text, newline=fmt.linedelimiter)
    else:
        # not StringIO(newline="\r"): it would rewrite every "\n" in the text
        lines = _split_stream(io.StringIO(text).read, fmt.linedelimiter)
    for line in lines:
        yield (line, path) if fmt.include_path else line


def _split_stream(read: Callable[[int], str], delimiter: str) -> Iterator[str]:
    """Pieces of a text stream, each ending with ``delimiter`` (but maybe the last).

    Chunks are joined only once a delimiter shows up, so a very long piece costs
    linear time.
    """
    k = len(delimiter)
    pending: list = []
    tail = ""
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            break
        if delimiter not in tail + chunk:
            pending.append(chunk)
            tail = (tail + chunk)[-(k - 1):] if k > 1 else ""
            continue
        pieces = "".join(pending + [chunk]).split(delimiter)
        rest = pieces.pop()
        for p in pieces:
            yield p + delimiter
        pending = [rest] if rest else []
        tail = rest[-(k - 1):] if k > 1 else ""
    last = "".join(pending)
    if last:
        yield last


# -- writing -----------------------------------------------------------------------------

def to_textfiles(b: Bag, path: Any, name_function: Callable[[int], str] | None = None,
                 compression: str | None = "infer", encoding: str | None = "utf-8",
                 compute: bool = True, storage_options: dict | None = None,
                 last_endline: bool = False, **kwargs: Any) -> list:
    """Write a bag to text files, one file per partition, one item per line.

    Parameters
    ----------
    b : Bag
        Items are written as ``str(item)`` (bytes are decoded), with ``"\\n"`` between
        them: map ``json.dumps`` first to write records. An item that already ends in
        a newline gets another, as in Dask.
    path : str or list of str
        A pattern with one ``*`` (``"out/*.json.gz"``), replaced by
        ``name_function(i)`` (default ``str(i)``); a directory (files ``0.part``, ...);
        or one path per partition.
    compression : str or None
        ``"infer"`` from the extension, a codec name or None.
    encoding : str or None
        Text encoding; None writes items as bytes (str items as UTF-8).
    compute : bool
        True writes now and returns the paths written; False returns one Delayed
        per file.
    last_endline : bool
        End each file with a newline too.
    **kwargs
        Passed to compute (``scheduler=``, ...).

    Examples
    --------
    >>> import os, tempfile
    >>> import plait.bag as db
    >>> d = tempfile.mkdtemp()
    >>> b = db.from_sequence(["a", "b", "c"], npartitions=2)
    >>> paths = b.to_textfiles(os.path.join(d, "*.txt"), scheduler="sync")
    >>> [os.path.basename(p) for p in paths]
    ['0.txt', '1.txt']
    >>> open(paths[0]).read()
    'a\\nb'
    """
    import fsspec

    n = b.npartitions
    if isinstance(path, (list, tuple)):
        path = [os.fspath(p) for p in path]
        if len(path) != n:
            raise ValueError(
                f"to_textfiles needs one path per partition: the bag has {n} partitions "
                f"and {len(path)} paths were given; pass a pattern like 'out/*.txt' or "
                f"repartition the bag first"
            )
    else:
        path = os.fspath(path)
    mode = "wb" if encoding is None else "wt"
    files = fsspec.open_files(path, mode=mode, compression=compression, encoding=encoding,
                              name_function=name_function, num=n, **(storage_options or {}))
    name = new_name("to-textfiles")
    layer = {
        (name, i): Task((name, i), Lazy(_write_partition), Ref((b.name, i)), f, last_endline)
        for i, f in enumerate(files)
    }
    paths = [f.path for f in files]
    if not compute:
        return Bag(layer, name, n, (b,)).to_delayed()
    done = new_name("to-textfiles-done")
    layer[done] = Task(done, _written, paths, *[Ref(k) for k in layer])
    Item(layer, done, (b,)).compute(**kwargs)
    return paths


def _write_partition(part: Any, of: Any, last_endline: bool) -> None:
    """Write the items of one partition as they come."""
    with of as f:
        text = isinstance(f, io.TextIOBase)
        endline = "\n" if text else b"\n"
        first = True
        for item in part:
            if not first:
                f.write(endline)
            first = False
            f.write(_as_text(item, of.encoding) if text else _as_bytes(item))
        if last_endline:
            f.write(endline)


def _as_text(item: Any, encoding: str) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, (bytes, bytearray)):
        return bytes(item).decode(encoding)
    return str(item)


def _as_bytes(item: Any) -> bytes:
    if isinstance(item, (bytes, bytearray)):
        return bytes(item)
    return str(item).encode("utf-8")


def _written(paths: list, *done: Any) -> list:
    return list(paths)

"""Files and byte blocks for the text readers (CSV, fixed-width, line-delimited JSON).

A partition of a text reader is a :class:`Block`: a byte range of one file, cut so that
a row belongs to the block in which it *starts*. A block's task moves its start to the
first line start at or after its nominal offset and reads on to the first line start at
or after its nominal end; neighbouring blocks decide the same way about the same offset,
so no row is lost or read twice. Compressed files cannot be entered in the middle, so
gzip, bz2, xz, zstd ... files are always one block each.

Blocks are plain picklable data (the fsspec filesystem pickles by its options), so the
processes scheduler and distributed workers can read them.
"""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ...utils.lines import line_start
from ...utils.sizes import parse_bytes

__all__ = ["Block", "expand_paths", "open_block", "plan_blocks", "read_block", "read_head"]

_CHUNK = 1 << 16


@dataclass(frozen=True)
class Block:
    """Bytes ``[start, end)`` (nominal offsets) of ``path``; ``end=None`` reads to the end.

    ``first`` says whether the block starts at the file's beginning (so it holds the
    header), ``compression`` is the codec name or None, ``version`` the file's
    modification stamp (part of the block's token).
    """

    fs: Any
    path: str
    start: int
    end: int | None
    first: bool
    compression: str | None
    version: Any = None

    def __plait_tokenize__(self) -> Any:
        protocol = getattr(self.fs, "protocol", None)
        return (str(protocol), self.path, self.start, self.end, self.compression,
                self.version)

    def __repr__(self) -> str:
        span = "" if self.end is None and self.start == 0 else f"[{self.start}:{self.end}]"
        return f"Block({self.path!r}{span})"


def expand_paths(urlpath: Any, storage_options: dict | None = None,
                 reader: str = "read_csv") -> list[tuple[Any, str, int | None, Any]]:
    """``(filesystem, path, size, version)`` for every file ``urlpath`` names, in order.

    ``urlpath`` is a path, a glob pattern, an fsspec URL, or a list of those. Globs are
    sorted; a pattern matching nothing, a missing file or a directory is an error.
    """
    from fsspec.core import url_to_fs

    patterns = list(urlpath) if isinstance(urlpath, (list, tuple)) else [urlpath]
    if not patterns:
        raise ValueError(f"{reader} needs at least one path or pattern; got an empty list")
    files: list = []
    for pattern in patterns:
        pattern = os.fspath(pattern)
        fs, path = url_to_fs(pattern, **(storage_options or {}))
        if any(c in path for c in "*?["):
            found = fs.glob(path, detail=True)
            matched = sorted((p, info) for p, info in found.items()
                             if info.get("type") != "directory")
            if not matched:
                raise FileNotFoundError(errno.ENOENT, f"{reader}: no files match the pattern",
                                        pattern)
            files.extend((fs, p, info.get("size"), _version(info)) for p, info in matched)
            continue
        try:
            info = fs.info(path)
        except FileNotFoundError:
            raise FileNotFoundError(errno.ENOENT, f"{reader}: no such file", pattern) from None
        if info.get("type") == "directory":
            raise IsADirectoryError(
                f"{pattern!r} is a directory; to read the files in it, pass "
                f"{pattern.rstrip('/') + '/*'!r}"
            )
        files.append((fs, path, info.get("size"), _version(info)))
    return files


def _version(info: dict) -> Any:
    """What changes when a file's contents change (so a rewritten file gets new task
    keys): its modification time, ETag or checksum, whichever the filesystem gives."""
    for key in ("mtime", "LastModified", "last_modified", "ETag", "etag", "md5Hash",
                "checksum", "created"):
        if info.get(key) is not None:
            return str(info[key])
    return None


def codec_for(path: str, compression: str | None) -> str | None:
    """The compression codec of ``path`` (``"infer"`` looks at the extension)."""
    from fsspec.core import get_compression

    return get_compression(path, compression)


def plan_blocks(files: list, blocksize: Any, compression: str | None) -> list[Block]:
    """Split each file into blocks of about ``blocksize`` bytes (None: whole files).

    Compressed files stay whole: a compressed stream can only be read from its start.
    """
    size = None if blocksize is None else parse_bytes(blocksize)
    if size is not None and size < 1:
        raise ValueError(f"blocksize must be a positive number of bytes, got {blocksize!r}")
    blocks: list[Block] = []
    for fs, path, nbytes, version in files:
        codec = codec_for(path, compression)
        if size is None or codec is not None:
            blocks.append(Block(fs, path, 0, None, True, codec, version))
            continue
        if nbytes is None:
            nbytes = fs.size(path)
        if nbytes <= size:
            blocks.append(Block(fs, path, 0, None, True, None, version))
            continue
        # equal blocks, not ``size`` and a remainder: a 73 MB file in 64 MB blocks
        # becomes two of 36.5 MB, which keeps the partitions (and the workers) even
        count = -(-nbytes // size)
        bounds = [nbytes * i // count for i in range(count + 1)]
        for i in range(count):
            blocks.append(Block(fs, path, bounds[i], None if i == count - 1 else bounds[i + 1],
                                i == 0, None, version))
    return blocks


class _BlockStream(io.RawIOBase):
    """A read-only stream of bytes ``[begin, stop)`` of ``f`` (``stop=None``: to the end).

    The parser pulls the block through it in small reads, so a block is never held in
    memory whole.
    """

    def __init__(self, f: Any, begin: int, stop: int | None) -> None:
        super().__init__()
        self._f = f
        self._left = None if stop is None else stop - begin
        f.seek(begin)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        out = memoryview(buffer).cast("B")
        want = len(out) if self._left is None else min(len(out), self._left)
        if want <= 0:
            return 0
        chunk = self._f.read(want)
        out[:len(chunk)] = chunk
        if self._left is not None:
            self._left -= len(chunk)
        return len(chunk)


@contextmanager
def open_block(block: Block, delimiter: bytes = b"\n") -> Iterator[Any]:
    """A binary stream of the rows that start inside ``block``; None when the block
    holds no row start."""
    if block.compression is not None:
        from fsspec.core import OpenFile

        with OpenFile(block.fs, block.path, mode="rb", compression=block.compression) as f:
            yield f
        return
    with block.fs.open(block.path, "rb") as f:
        begin = line_start(f, block.start, delimiter)
        stop = None if block.end is None else line_start(f, block.end, delimiter)
        if stop is not None and stop <= begin:
            yield None
            return
        if block.end is None:
            f.seek(begin)
            if not f.read(1):  # the last block starts at the file's end: no rows
                yield None
                return
        raw = _BlockStream(f, begin, stop)
        yield io.BufferedReader(raw, buffer_size=1 << 18)


def read_block(block: Block, delimiter: bytes = b"\n") -> bytes:
    """The bytes of the rows that start inside ``block`` (decompressed when needed)."""
    if block.compression is not None:
        from fsspec.core import OpenFile

        with OpenFile(block.fs, block.path, mode="rb", compression=block.compression) as f:
            return f.read()
    with block.fs.open(block.path, "rb") as f:
        begin = line_start(f, block.start, delimiter)
        if block.end is None:
            f.seek(begin)
            return f.read()
        stop = line_start(f, block.end, delimiter)
        if stop <= begin:
            return b""
        f.seek(begin)
        return f.read(stop - begin)


def read_head(fs: Any, path: str, nbytes: int, compression: str | None,
              delimiter: bytes = b"\n") -> bytes:
    """About the first ``nbytes`` of a file, cut after its last whole line.

    A file shorter than ``nbytes`` comes back whole; a first line longer than
    ``nbytes`` is read to its end, so the sample always holds the header.
    """
    from fsspec.core import OpenFile

    with OpenFile(fs, path, mode="rb", compression=compression) as f:
        data = f.read(nbytes)
        if len(data) < nbytes:
            return data
        cut = data.rfind(delimiter)
        while cut < 0:  # not one whole line yet: read on until there is one
            more = f.read(_CHUNK)
            if not more:
                return data
            cut = more.find(delimiter)
            if cut >= 0:
                return data + more[:cut + len(delimiter)]
            data += more
        return data[:cut + len(delimiter)]

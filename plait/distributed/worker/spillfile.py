"""One value in one file: pickled (protocol 5, buffers out of band), maybe compressed.

:func:`write_value` pickles a value with :func:`plait.distributed.comm.serialize`
(cloudpickle when plain pickle cannot) and writes its frames one after the other,
followed by a small msgpack trailer that says how long each frame is and how it is
stored, and the trailer's own length in the last 8 bytes. A trailer rather than a
header lets large frames stream to disk (and through zlib) without knowing their stored
size in advance.

Each frame of at least :data:`MIN_COMPRESS_BYTES` is compressed with zlib (level 1:
fast) when a sample of it shrinks by at least :data:`USEFUL_RATIO`; incompressible data
(random floats, already compressed bytes) costs only the sample. :func:`read_value`
reads the frames back into fresh ``bytearray`` buffers (decompressing in pieces, never
holding the compressed and raw frame whole at once), so NumPy arrays come back writable,
as they were.

>>> import os, tempfile, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "x.spill")
>>> value = {"a": np.zeros(100_000), "b": "text"}
>>> stored = write_value(path, value)
>>> stored < value["a"].nbytes  # zeros compress
True
>>> back = read_value(path)
>>> back["b"], bool((back["a"] == 0).all()), back["a"].flags.writeable
('text', True, True)
>>> os.remove(path); os.rmdir(os.path.dirname(path))
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import Any

import msgpack

from ..comm.serialize import Serialized, _as_bytes_view, deserialize, serialize

__all__ = ["MIN_COMPRESS_BYTES", "USEFUL_RATIO", "read_value", "write_value"]

#: Frames smaller than this are stored as they are.
MIN_COMPRESS_BYTES = 4096
#: Compress a frame when a sample shrinks to at most this fraction of its size.
USEFUL_RATIO = 0.9
#: Bytes of a frame compressed to decide whether the whole frame is worth it.
SAMPLE_BYTES = 64 * 1024
#: Pieces in which frames are compressed, written and read.
CHUNK = 1 << 20

_LENGTH = struct.Struct("<Q")


def _worth_compressing(view: memoryview) -> bool:
    n = len(view)
    if n < MIN_COMPRESS_BYTES:
        return False
    # A sample from the middle: headers and padding at the start often compress when
    # the bulk does not.
    start = max(0, n // 2 - SAMPLE_BYTES // 2)
    sample = view[start:start + SAMPLE_BYTES]
    return len(zlib.compress(sample, 1)) <= USEFUL_RATIO * len(sample)


def _write_all(fd: int, data: Any) -> None:
    view = _as_bytes_view(data)
    while view:
        written = os.write(fd, view[:CHUNK])
        view = view[written:]


def write_value(path: str, value: Any, compression: str | None = "auto") -> int:
    """Pickle ``value`` into a new file at ``path``; return the bytes written.

    ``compression``: ``"auto"`` (zlib where it pays), ``"zlib"`` (zlib for every frame
    large enough) or None. Raises :class:`~plait.distributed.comm.SerializationError`
    when ``value`` cannot be pickled (nothing is left on disk) and ``OSError`` when the
    file cannot be written (the partial file is removed).
    """
    if compression not in ("auto", "zlib", None):
        raise ValueError(
            f"spill compression must be 'auto', 'zlib' or None, got {compression!r}")
    serialized = serialize(value)
    entries = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        total = 0
        for frame in serialized.frames:
            view = _as_bytes_view(frame)
            raw = len(view)
            compress = compression is not None and len(view) >= MIN_COMPRESS_BYTES and (
                compression == "zlib" or _worth_compressing(view))
            if compress:
                stored = 0
                z = zlib.compressobj(1)
                for start in range(0, raw, CHUNK):
                    piece = z.compress(view[start:start + CHUNK])
                    if piece:
                        _write_all(fd, piece)
                        stored += len(piece)
                piece = z.flush()
                _write_all(fd, piece)
                stored += len(piece)
            else:
                _write_all(fd, view)
                stored = raw
            entries.append((stored, raw, compress))
            total += stored
        trailer = msgpack.packb({"header": serialized.header, "frames": entries})
        _write_all(fd, trailer)
        _write_all(fd, _LENGTH.pack(len(trailer)))
        total += len(trailer) + _LENGTH.size
    except BaseException:
        os.close(fd)
        fd = -1
        try:
            os.remove(path)
        except OSError:
            pass
        raise
    finally:
        if fd >= 0:
            os.close(fd)
    return total


def _read_exactly(f: Any, into: memoryview) -> None:
    while into:
        n = f.readinto(into[:CHUNK])
        if not n:
            raise EOFError("spill file ended early")
        into = into[n:]


def read_value(path: str, key: Any = None) -> Any:
    """The value :func:`write_value` stored at ``path`` (the file is left in place)."""
    with open(path, "rb", buffering=0) as f:
        f.seek(-_LENGTH.size, os.SEEK_END)
        (length,) = _LENGTH.unpack(f.read(_LENGTH.size))
        f.seek(-_LENGTH.size - length, os.SEEK_END)
        trailer = msgpack.unpackb(f.read(length))
        f.seek(0)
        frames = []
        for stored, raw, compressed in trailer["frames"]:
            buf = bytearray(raw)
            out = memoryview(buf)
            if not compressed:
                _read_exactly(f, out)
            else:
                z = zlib.decompressobj()
                pos = 0
                left = stored
                while left:
                    data = f.read(min(CHUNK, left))
                    if not data:
                        raise EOFError(f"spill file {path} ended early")
                    left -= len(data)
                    # Bounded output pieces: the raw frame is never held twice.
                    while data:
                        piece = z.decompress(data, CHUNK)
                        out[pos:pos + len(piece)] = piece
                        pos += len(piece)
                        data = z.unconsumed_tail
                piece = z.flush()
                out[pos:pos + len(piece)] = piece
                pos += len(piece)
                if pos != raw:
                    raise ValueError(f"spill file {path}: frame of {pos} bytes, expected {raw}")
            frames.append(buf)
    header = trailer["header"]
    return deserialize(Serialized(header, frames), key)


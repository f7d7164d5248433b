"""Where lines start in a byte stream: the boundary rule that text readers (bags,
dataframes) share when they split a file into blocks."""

from __future__ import annotations

from typing import Any

__all__ = ["line_start"]

_CHUNK = 1 << 16


def line_start(f: Any, pos: int, delimiter: bytes) -> int:
    """The first offset ``>= pos`` of the seekable binary file ``f`` at which a line
    starts (or the file's end).

    A line starts at 0 and right after each delimiter; a delimiter that ends exactly at
    ``pos`` makes ``pos`` a line start, hence the search from ``pos - len(delimiter)``.
    So a block ``[start, end)`` owns the lines that start inside it, and neighbouring
    blocks neither lose nor repeat a line.

    >>> import io
    >>> f = io.BytesIO(b"ab\\ncd\\nef")
    >>> [line_start(f, p, b"\\n") for p in (0, 1, 3, 4, 7, 9)]
    [0, 3, 3, 6, 8, 8]
    """
    if pos <= 0:
        return 0
    k = len(delimiter)
    base = max(0, pos - k)
    f.seek(base)
    carry = b""
    while True:
        chunk = f.read(_CHUNK)
        if not chunk:
            return base + len(carry)
        buf = carry + chunk
        i = buf.find(delimiter)
        if i >= 0:
            return base + i + k
        carry = buf[len(buf) - (k - 1):] if k > 1 else b""
        base += len(buf) - len(carry)

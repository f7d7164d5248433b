"""Turning messages into frames and back.

A message is any nest of dict/list/tuple/str/bytes/int/float/bool/None. ``dumps`` packs
it with msgpack into one header frame; tuples travel as a msgpack extension so that
``("x", 0)`` comes back as a tuple, also as a dict key. A ``Serialize(obj)`` anywhere in
the message is pickled (pickle protocol 5, cloudpickle when plain pickle cannot) and its
large buffers (NumPy/pandas memory, ``bytes``, ``memoryview``) become frames of their
own, written and read without being copied into the header. ``loads`` reverses this;
with ``deserialize=False`` each ``Serialize`` comes back as an opaque ``Serialized`` that
can be written again unchanged (the scheduler forwards user data without unpickling it).

>>> frames = dumps({"op": "x", "key": ("a", 0), "data": Serialize([1, 2])})
>>> loads(frames)
{'op': 'x', 'key': ('a', 0), 'data': [1, 2]}
>>> opaque = loads(frames, deserialize=False)["data"]
>>> deserialize(opaque)
[1, 2]
"""

from __future__ import annotations

import gc
import pickle
import threading
from typing import Any

import cloudpickle
import msgpack

__all__ = [
    "DeserializationError", "SerializationError", "Serialize", "Serialized", "deserialize",
    "dumps", "frame_nbytes", "loads", "serialize", "to_serialize", "type_name",
]

_EXT_TUPLE = 1
_EXT_SERIALIZED = 2
_BYTES_TYPES = (bytes, bytearray, memoryview)
_GC_PAUSE_BYTES = 64 * 1024


def _ext(code: int, data: bytes) -> msgpack.ExtType:
    # ExtType's own __new__ re-checks its arguments in Python: a third of the cost of
    # sending a tuple. Ours are always an int and bytes.
    return tuple.__new__(msgpack.ExtType, (code, data))


class SerializationError(TypeError):
    """An object inside ``Serialize`` could not be pickled."""


class DeserializationError(Exception):
    """Received frames could not be turned back into an object."""


class Serialize:
    """Mark ``data`` to be pickled (with out-of-band buffers) when its message is sent.

    >>> Serialize(3)
    <Serialize: int>
    """

    __slots__ = ("data",)

    def __init__(self, data: Any) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"<Serialize: {type(self.data).__name__}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Serialize) and other.data is self.data

    def __hash__(self) -> int:
        return id(self.data)


to_serialize = Serialize


class Serialized:
    """An object already turned into frames: ``header`` (a small dict) plus ``frames``.

    Opaque to whoever holds it; writing it in a message sends the frames unchanged.
    ``deserialize`` turns it back into the object.
    """

    __slots__ = ("frames", "header")

    def __init__(self, header: dict, frames: list) -> None:
        self.header = header
        self.frames = frames

    @property
    def nbytes(self) -> int:
        return sum(frame_nbytes(f) for f in self.frames)

    def __repr__(self) -> str:
        return f"<Serialized: {self.header.get('type')}, {self.nbytes} bytes>"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Serialized) and self.header == other.header
                and [bytes(f) for f in self.frames] == [bytes(f) for f in other.frames])

    __hash__ = None  # type: ignore[assignment]


def type_name(obj: Any) -> str:
    """``module.QualName`` of ``obj``'s type, for error messages.

    >>> type_name(1.5)
    'builtins.float'
    """
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def frame_nbytes(frame: Any) -> int:
    """Size in bytes of a frame (bytes, bytearray or any buffer)."""
    if isinstance(frame, (bytes, bytearray)):
        return len(frame)
    return memoryview(frame).nbytes


def _as_bytes_view(buf: Any) -> memoryview:
    """A flat unsigned-byte view of a contiguous buffer, without copying."""
    view = memoryview(buf)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def serialize(obj: Any) -> Serialized:
    """Pickle ``obj`` (protocol 5) with its large buffers as separate frames.

    ``bytes``/``bytearray``/``memoryview`` are sent as one frame with no pickling.
    Raises ``SerializationError`` naming the type when ``obj`` cannot be pickled.

    >>> s = serialize(b"abc")
    >>> s.header["serializer"], bytes(s.frames[0])
    ('bytes', b'abc')
    """
    t = type(obj)
    if t in _BYTES_TYPES:
        frame = obj if t is not memoryview else _as_bytes_view(obj)
        return Serialized({"serializer": "bytes", "type": t.__name__}, [frame])
    buffers: list[memoryview] = []

    def keep_out_of_band(pb: pickle.PickleBuffer) -> bool:
        try:
            buffers.append(pb.raw())
        except BufferError:  # not contiguous: pickle copies it in band instead
            return True
        return False

    try:
        payload = pickle.dumps(obj, protocol=5, buffer_callback=keep_out_of_band)
        # Functions and classes from __main__ pickle by reference, which no other
        # process can resolve: pickle those by value.
        if b"__main__" in payload:
            raise pickle.PicklingError("refers to __main__")
    except Exception:
        buffers.clear()
        try:
            payload = cloudpickle.dumps(obj, protocol=5, buffer_callback=keep_out_of_band)
        except Exception as exc:
            raise SerializationError(
                f"could not serialize an object of type {type_name(obj)}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return Serialized({"serializer": "pickle", "type": type_name(obj)}, [payload, *buffers])


def deserialize(value: Serialized | Serialize, key: Any = None) -> Any:
    """The object inside a ``Serialized`` (or a ``Serialize``: its ``data``).

    Raises ``DeserializationError`` naming the object's type, and ``key`` when given.

    >>> deserialize(serialize({"a": (1, 2)}))
    {'a': (1, 2)}
    """
    if isinstance(value, Serialize):
        return value.data
    if not isinstance(value, Serialized):
        raise TypeError(f"deserialize expects a Serialized, got a {type_name(value)}")
    header, frames = value.header, value.frames
    try:
        if header["serializer"] == "bytes":
            (frame,) = frames
            kind = header["type"]
            if kind == "bytes":
                return frame if type(frame) is bytes else bytes(frame)
            if kind == "bytearray":
                return frame if type(frame) is bytearray else bytearray(frame)
            return memoryview(frame)
        return pickle.loads(frames[0], buffers=frames[1:])
    except Exception as exc:
        where = f"the value of key {key!r}, " if key is not None else ""
        raise DeserializationError(
            f"could not deserialize {where}an object of type {header.get('type')}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


class _Encoder:
    """msgpack packing with the hooks for tuples and ``Serialize``; one per thread.

    msgpack calls ``default`` for a tuple in the middle of packing, and the tuple's
    items are packed by a second ``Packer`` (one per nesting depth, kept for reuse:
    making a ``Packer`` costs more than packing a small message).
    """

    def __init__(self) -> None:
        self.frames: list = []
        self.depth = 0
        self.packers: list[msgpack.Packer] = []
        self.busy = False

    def pack(self, obj: Any) -> bytes:
        depth = self.depth
        if depth == len(self.packers):
            self.packers.append(msgpack.Packer(default=self.default, strict_types=True,
                                               use_bin_type=True))
        self.depth = depth + 1
        try:
            return self.packers[depth].pack(obj)
        finally:
            self.depth = depth

    def default(self, obj: Any) -> Any:
        t = type(obj)
        if t is tuple:  # the hot path (keys are tuples): pack() inlined
            depth = self.depth
            if depth == len(self.packers):
                self.packers.append(msgpack.Packer(default=self.default, strict_types=True,
                                                   use_bin_type=True))
            self.depth = depth + 1
            try:
                data = self.packers[depth].pack(list(obj))
            finally:
                self.depth = depth
            return tuple.__new__(msgpack.ExtType, (_EXT_TUPLE, data))
        if t is Serialize:
            obj = serialize(obj.data)
            t = Serialized
        if t is Serialized:
            start = len(self.frames)
            self.frames.extend(obj.frames)
            return _ext(_EXT_SERIALIZED, self.pack([obj.header, start, len(obj.frames)]))
        # strict_types sends subclasses here: bring them back to the plain types.
        if isinstance(obj, tuple):
            return _ext(_EXT_TUPLE, self.pack(list(obj)))
        for base in (dict, list, str, bytes, bool, int, float):
            if isinstance(obj, base):
                return base(obj)
        item = getattr(obj, "item", None)  # NumPy scalars
        if item is not None and type(obj).__module__ == "numpy" and getattr(obj, "ndim", 1) == 0:
            return item()
        raise TypeError(
            f"cannot send an object of type {type_name(obj)} in a message; "
            "wrap it in Serialize(...) to send it pickled"
        )


_local = threading.local()


def dumps(msg: Any) -> list:
    """Frames for ``msg``: the msgpack header first, then any ``Serialize`` frames.

    >>> dumps({"a": 1})
    [b'\\x81\\xa1a\\x01']
    """
    encoder = getattr(_local, "encoder", None)
    if encoder is None:
        encoder = _local.encoder = _Encoder()
    elif encoder.busy:  # dumps called from inside a dumps (a __reduce__ sending messages)
        encoder = _Encoder()
    frames: list = [b""]
    encoder.busy, encoder.frames = True, frames
    try:
        frames[0] = encoder.pack(msg)
    finally:
        encoder.busy, encoder.frames, encoder.depth = False, [], 0
    return frames


def loads(frames: list, deserialize: bool = True) -> Any:
    """The message in ``frames`` (as written by ``dumps``).

    With ``deserialize=False``, values sent as ``Serialize`` come back as ``Serialized``.
    """

    unpackb = msgpack.unpackb
    deserialize_value = globals()["deserialize"]  # the function, not the argument

    def ext_hook(code: int, data: bytes) -> Any:
        if code == _EXT_TUPLE:  # the hot path: keys are tuples
            return tuple(unpackb(data, ext_hook=ext_hook, raw=False, strict_map_key=False))
        if code == _EXT_SERIALIZED:
            header, start, n = unpackb(data, ext_hook=ext_hook, raw=False,
                                       strict_map_key=False)
            value = Serialized(header, frames[start:start + n])
            return deserialize_value(value) if deserialize else value
        return msgpack.ExtType(code, data)

    header = frames[0]
    pause_gc = frame_nbytes(header) >= _GC_PAUSE_BYTES and gc.isenabled()
    if pause_gc:
        # A big batch makes many containers at once; the cyclic GC would scan them over
        # and over as they appear (decoding 100,000 messages took twice as long).
        gc.disable()
    try:
        return unpackb(header, ext_hook=ext_hook, raw=False, strict_map_key=False)
    finally:
        if pause_gc:
            gc.enable()
        # ext_hook refers to itself, and through its closure to the frames: without
        # this the frames (a 100 MB array's buffer) would live until the cyclic GC ran.
        ext_hook = None  # type: ignore[assignment]

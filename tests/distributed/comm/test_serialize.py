import pickle
import threading
from collections import OrderedDict

import numpy as np
import pandas as pd
import pytest

from plait.distributed.comm import (
    DeserializationError, SerializationError, Serialize, Serialized, deserialize, dumps, loads,
    serialize,
)


def roundtrip(msg, deserialize=True):
    return loads(dumps(msg), deserialize=deserialize)


def test_nested_message_keeps_tuples_and_tuple_keys():
    msg = {
        "op": "update",
        "keys": [("x", 0), ("x", 1, 2)],
        "who_has": {("x", 0): ["tcp://a:1"], "y": []},
        "nested": {"t": (1, (2.5, None, True), [b"raw", "s"])},
        "n": -(2**40),
    }
    out = roundtrip(msg)
    assert out == msg
    assert type(out["keys"][0]) is tuple and type(out["nested"]["t"][1]) is tuple
    assert type(out["nested"]["t"][2]) is list
    assert list(out["who_has"]) == [("x", 0), "y"]


def test_subclasses_and_numpy_scalars_become_plain_values():
    msg = {"d": OrderedDict(a=1), "i": np.int64(7), "f": np.float32(0.5), "b": np.bool_(True)}
    out = roundtrip(msg)
    assert out == {"d": {"a": 1}, "i": 7, "f": 0.5, "b": True}
    assert type(out["d"]) is dict and type(out["i"]) is int


def test_non_message_type_error_names_type_and_fix():
    with pytest.raises(TypeError, match=r"numpy.ndarray.*Serialize"):
        dumps({"x": np.arange(3)})
    with pytest.raises(TypeError, match="builtins.set"):
        dumps({"x": {1, 2}})


def test_serialize_numpy_uses_out_of_band_frames():
    x = np.arange(100_000, dtype="f8").reshape(1000, 100)
    frames = dumps({"data": Serialize(x)})
    assert len(frames) == 3  # header, pickle stream, the array's buffer
    assert len(frames[1]) < 1000  # the data is not in the pickle stream
    assert np.shares_memory(np.frombuffer(frames[2], dtype="f8"), x)  # sent uncopied
    out = loads(frames)["data"]
    np.testing.assert_array_equal(out, x)
    assert np.shares_memory(out, np.frombuffer(frames[2], dtype="f8"))  # received uncopied


def test_non_contiguous_array_falls_back_in_band():
    x = np.arange(100.0).reshape(10, 10)[:, ::2]
    np.testing.assert_array_equal(roundtrip({"x": Serialize(x)})["x"], x)


def test_pandas_roundtrip():
    df = pd.DataFrame({"a": np.arange(1000), "b": np.linspace(0, 1, 1000),
                       "s": [f"v{i}" for i in range(1000)]})
    out = roundtrip({"df": Serialize(df), "s": Serialize(df["b"])})
    pd.testing.assert_frame_equal(out["df"], df)
    pd.testing.assert_series_equal(out["s"], df["b"])


@pytest.mark.parametrize("value", [b"abc" * 1000, bytearray(b"xyz" * 1000)])
def test_bytes_are_frames_without_pickling(value):
    frames = dumps({"v": Serialize(value)})
    assert frames[1] is value
    out = roundtrip({"v": Serialize(value)})["v"]
    assert type(out) is type(value) and out == value


def test_memoryview_roundtrip():
    buf = np.arange(10, dtype="i4")
    out = roundtrip({"v": Serialize(memoryview(buf))})["v"]
    assert isinstance(out, memoryview) and bytes(out) == buf.tobytes()


def test_functions_from_main_and_lambdas_pickle_by_value():
    f = lambda x: x + 1  # noqa: E731
    assert roundtrip({"f": Serialize(f)})["f"](1) == 2


def test_unpicklable_object_error_names_type():
    with pytest.raises(SerializationError, match=r"_thread\.lock"):
        dumps({"v": Serialize(threading.Lock())})
    with pytest.raises(SerializationError, match=r"_thread\.lock"):
        serialize(threading.Lock())


class _FailsToLoad:
    def __reduce__(self):
        return (_explode, ())


def _explode():
    raise ValueError("cannot rebuild")


def test_deserialize_error_names_type_and_key():
    s = serialize(_FailsToLoad())
    with pytest.raises(DeserializationError, match=r"key \('x', 1\).*_FailsToLoad.*cannot rebuild"):
        deserialize(s, key=("x", 1))
    with pytest.raises(DeserializationError, match="_FailsToLoad"):
        loads(dumps({"v": s}))


def test_serialized_stays_opaque_and_forwards_unchanged():
    x = np.arange(1000)
    opaque = roundtrip({"v": Serialize(x)}, deserialize=False)["v"]
    assert isinstance(opaque, Serialized) and opaque.header["type"] == "numpy.ndarray"
    assert opaque.nbytes >= x.nbytes
    forwarded = roundtrip({"again": opaque})  # written again, read by a deserializing peer
    np.testing.assert_array_equal(forwarded["again"], x)
    assert deserialize(Serialize(5)) == 5
    with pytest.raises(TypeError, match="Serialized"):
        deserialize(5)


def test_serialize_inside_tuples_and_lists():
    msg = {"args": (Serialize(np.ones(3)), [Serialize(b"b"), 1])}
    out = roundtrip(msg)
    np.testing.assert_array_equal(out["args"][0], np.ones(3))
    assert out["args"][1] == [b"b", 1]


def test_frames_pickle_protocol_5_only_for_payload():
    s = serialize({"a": 1})
    assert s.header["serializer"] == "pickle"
    assert pickle.loads(s.frames[0]) == {"a": 1}


def test_loads_leaves_no_cycle_holding_frames():
    import gc
    import weakref

    frames = dumps({"x": Serialize(np.arange(1000)), "k": ("a", 1)})
    buf = np.frombuffer(frames[2], dtype=np.uint8).copy()
    frames[2] = buf
    ref = weakref.ref(buf)
    gc.disable()
    try:
        out = loads(frames)
        assert out["k"] == ("a", 1)
        del out, frames, buf
        assert ref() is None
    finally:
        gc.enable()

"""The spilling store and its files: LRU order, sizes, compression, round trips, removal."""

from __future__ import annotations

import os
import threading

import numpy as np
import pandas as pd
import pytest

from plait.distributed.worker import spillfile
from plait.distributed.worker.spill import SpillStore
from plait.distributed.worker.spillfile import read_value, write_value
from plait.distributed.worker.store import DataStore


class Unpicklable:
    def __reduce__(self):
        raise TypeError("no pickling for this object")


def files(store: SpillStore) -> list[str]:
    return sorted(os.listdir(store.directory))


def test_lru_order_spills_the_least_recently_used(tmp_path):
    store = SpillStore(str(tmp_path / "s"), target=300)
    for k in "abc":
        store.put(k, np.full(10, ord(k)), nbytes=100)
    assert store.in_memory == ["a", "b", "c"] and store.on_disk == []
    store["a"]  # a is now the most recently used: b is the oldest
    store.put("d", np.zeros(10), nbytes=100)
    assert store.on_disk == ["b"] and store.in_memory == ["c", "a", "d"]
    store.put("e", np.zeros(10), nbytes=100)
    assert store.on_disk == ["b", "c"]
    assert len(files(store)) == 2
    # Reading a spilled key loads it back as the newest and spills the oldest (a).
    np.testing.assert_array_equal(store["b"], np.full(10, ord("b")))
    assert store.in_memory == ["d", "e", "b"] and sorted(store.on_disk) == ["a", "c"]
    assert store.spill_count == 3 and store.unspill_count == 1


def test_sizes_add_up_through_put_spill_load_and_delete(tmp_path):
    store = SpillStore(str(tmp_path / "s"), target=250)
    for i in range(6):
        store.put(i, np.arange(1000) * i, nbytes=100)
    assert store.total_nbytes == 600 and len(store) == 6 and set(store) == set(range(6))
    assert store.memory_nbytes == 200 and store.spilled_nbytes == 400
    assert store.disk_nbytes > 0
    assert sum(store.nbytes.values()) == store.total_nbytes
    store.put(0, "replaced", nbytes=10)  # replacing a spilled key drops its file
    assert store.total_nbytes == 510 and store[0] == "replaced"
    for k in list(store):
        del store[k]
    assert store.total_nbytes == store.memory_nbytes == store.spilled_nbytes == 0
    assert store.disk_nbytes == 0 and files(store) == [] and len(store) == 0
    with pytest.raises(KeyError):
        store["gone"]
    with pytest.raises(KeyError):
        del store["gone"]
    assert "gone" not in store


def test_values_round_trip_through_disk(tmp_path):
    frame = pd.DataFrame({"a": np.arange(5), "s": list("vwxyz"),
                          "t": pd.date_range("2024-01-01", periods=5)})
    values = {
        ("x", 0): np.arange(100_000, dtype="int32").reshape(100, 1000)[:, ::3],  # strided
        ("x", 1): frame,
        "bytes": b"\x00\x01" * 10_000,
        "bytearray": bytearray(b"abc" * 5000),
        "text": "héllo" * 1000,
        "lambda": (lambda v: v + 1),
        "nested": {"k": [1, 2.5, None, ("t", 3)], "arr": np.ones((3, 4), "f4")},
        "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
        "series": pd.Series(np.random.default_rng(0).random(10_000)),
    }
    store = SpillStore(str(tmp_path / "s"), target=None)
    for k, v in values.items():
        store.put(k, v, nbytes=1)
    while store.evict() is not None:
        pass
    assert sorted(map(str, store.on_disk)) == sorted(map(str, values))
    for k, v in values.items():
        back = store[k]
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(back, v)
            assert back.dtype == v.dtype and back.flags.writeable
        elif isinstance(v, pd.DataFrame):
            pd.testing.assert_frame_equal(back, v)
        elif isinstance(v, pd.Series):
            pd.testing.assert_series_equal(back, v)
        elif k == "lambda":
            assert back(1) == 2
        elif k == "nested":
            assert back["k"] == v["k"] and (back["arr"] == 1).all()
        else:
            assert back == v and type(back) is type(v)
    assert store.on_disk == [] and files(store) == []


def test_compression_only_where_it_pays(tmp_path):
    zeros = np.zeros(1 << 18)  # 2 MiB of zeros
    noise = np.random.default_rng(1).random(1 << 18)
    p1, p2, p3 = (str(tmp_path / n) for n in ("z", "n", "off"))
    stored_zeros = write_value(p1, zeros)
    stored_noise = write_value(p2, noise)
    stored_off = write_value(p3, zeros, compression=None)
    assert stored_zeros < zeros.nbytes // 50
    assert noise.nbytes <= stored_noise < noise.nbytes + 1024  # stored as it is
    assert zeros.nbytes <= stored_off < zeros.nbytes + 1024
    assert os.path.getsize(p1) == stored_zeros
    np.testing.assert_array_equal(read_value(p1), zeros)
    np.testing.assert_array_equal(read_value(p2), noise)
    np.testing.assert_array_equal(read_value(p3), zeros)
    store = SpillStore(str(tmp_path / "s"), target=None)
    store.put("z", zeros)
    store.put("n", noise)
    store.evict(), store.evict()
    assert store.disk_nbytes < noise.nbytes + zeros.nbytes // 10
    assert store.spilled_nbytes >= noise.nbytes + zeros.nbytes
    with pytest.raises(ValueError, match="spill compression"):
        write_value(str(tmp_path / "bad"), 1, compression="lz4")


def test_compressed_frames_larger_than_a_read_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(spillfile, "CHUNK", 4096)  # many pieces each way
    value = np.tile(np.arange(1000, dtype="i8"), 50)
    path = str(tmp_path / "v")
    stored = write_value(path, value, compression="zlib")
    assert stored < value.nbytes
    np.testing.assert_array_equal(read_value(path), value)


def test_a_value_larger_than_the_target_goes_straight_to_disk(tmp_path):
    store = SpillStore(str(tmp_path / "s"), target=1000)
    store.put("small", b"s" * 10, nbytes=10)
    store.put("big", np.arange(500.0), nbytes=4000)
    assert store.on_disk == ["big"] and store.in_memory == ["small"]
    # Reading it gives the value but leaves it on disk: it would only spill again.
    np.testing.assert_array_equal(store["big"], np.arange(500.0))
    assert store.on_disk == ["big"] and store.memory_nbytes == 10


def test_unpicklable_values_stay_in_memory(tmp_path, caplog):
    store = SpillStore(str(tmp_path / "s"), target=150)
    odd = Unpicklable()
    store.put("odd", odd, nbytes=100)
    store.put("x", b"x" * 10, nbytes=100)  # over target: odd cannot go, x can
    assert store["odd"] is odd
    assert store.on_disk == ["x"] and "odd" in store.in_memory
    assert "cannot spill 'odd'" in caplog.text
    assert store.evict() is None  # nothing left that could go
    del store["odd"]
    assert store.memory_nbytes == 0


def test_a_disk_that_refuses_writes_keeps_values_in_memory(tmp_path, monkeypatch, caplog):
    store = SpillStore(str(tmp_path / "s"), target=100)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("plait.distributed.worker.spill.write_value", full)
    for i in range(4):
        store.put(i, i, nbytes=60)
    assert store.on_disk == [] and len(store.in_memory) == 4
    assert caplog.text.count("No space left on device") == 1  # said once
    monkeypatch.undo()
    assert store.evict() == 60 and store.on_disk == [0]


def test_close_removes_every_file_and_the_directory(tmp_path):
    directory = str(tmp_path / "s")
    store = SpillStore(directory, target=10)
    for i in range(5):
        store.put(i, np.arange(100), nbytes=800)
    assert len(files(store)) == 5
    store.close()
    assert not os.path.exists(directory) and len(store) == 0 and store.total_nbytes == 0


def test_threads_reading_while_the_loop_stores_and_evicts(tmp_path):
    # Task threads read inputs while the event loop stores results and the monitor
    # evicts: every read sees the right value.
    store = SpillStore(str(tmp_path / "s"), target=5 * 8000)
    for i in range(40):
        store.put(i, np.full(1000, i), nbytes=8000)
    errors = []

    def reader(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(200):
            i = int(rng.integers(40))
            value = store[i]
            if not (value == i).all():
                errors.append(i)

    threads = [threading.Thread(target=reader, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    for _ in range(50):
        store.evict()
    for t in threads:
        t.join(30)
    assert not errors
    assert store.memory_nbytes + store.spilled_nbytes == store.total_nbytes == 40 * 8000


def test_bad_compression_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'auto', 'zlib' or None"):
        SpillStore(str(tmp_path), compression="lz4")


def test_plain_datastore_keeps_its_interface():
    store = DataStore()
    store.put("a", np.zeros(10))
    assert store.total_nbytes == store.nbytes["a"] >= 80

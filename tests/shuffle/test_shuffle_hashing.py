"""stable_hash: the same in every process, and alike for keys that are equal."""

import enum
import os
import subprocess
import sys
import threading
from collections import namedtuple
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from plait.shuffle import partition_of, stable_hash
from plait.tokenize import TokenizationError

KEYS = [0, 1, -1, 2**70, -(2**70), 1.5, -0.0, "", "apple", "é€😀", b"bytes", None,
        ("a", 1, (2.5, None)), frozenset({"x", "y"}), True, date(2024, 1, 31)]


def test_same_hash_in_other_processes_with_other_salts():
    code = (
        "import datetime\n"
        "from plait.shuffle import stable_hash\n"
        f"print([stable_hash(k) for k in {KEYS!r}])\n"
    )
    mine = [stable_hash(k) for k in KEYS]
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                             capture_output=True, text=True, timeout=60).stdout
        assert eval(out) == mine
    # the salted builtin hash() differs between those processes, which is the point
    probe = "print(hash('apple'))"
    salted = {subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             env=dict(os.environ, PYTHONHASHSEED=s)).stdout for s in "12"}
    assert len(salted) == 2


class Colour(enum.IntEnum):
    RED = 1


def test_equal_keys_hash_alike():
    assert len({stable_hash(k) for k in (1, 1.0, True, Fraction(1), Decimal(1),
                                         complex(1, 0), Colour.RED)}) == 1
    assert stable_hash(0) == stable_hash(-0.0) == stable_hash(False)
    Point = namedtuple("Point", "x y")
    assert stable_hash(Point(1, "a")) == stable_hash((1, "a")) == stable_hash((1.0, "a"))
    assert stable_hash(frozenset([1, 2, 3])) == stable_hash(frozenset([3, 2, 1]))

    class Name(str):
        pass

    assert stable_hash(Name("bob")) == stable_hash("bob")
    assert stable_hash(float("nan")) == stable_hash(float("nan"))


def test_different_keys_spread_over_partitions():
    counts = [0] * 8
    for i in range(4000):
        counts[partition_of(f"user-{i}", 8)] += 1
    assert min(counts) > 350  # 500 expected in each
    assert {partition_of(i, 8) for i in range(8)} == set(range(8))
    assert stable_hash((1, 2)) != stable_hash((2, 1))
    assert all(stable_hash(k) >= 0 for k in KEYS)


def test_numpy_scalars_hash_like_python_numbers():
    np = pytest.importorskip("numpy")
    assert stable_hash(np.int64(7)) == stable_hash(7)
    assert stable_hash(np.float64(2.5)) == stable_hash(2.5)


def test_keys_without_a_deterministic_hash_are_refused():
    with pytest.raises(TokenizationError, match="group by a plain value"):
        stable_hash(threading.Lock())


def test_numpy_bools_hash_like_python_bools():
    np = pytest.importorskip("numpy")
    assert stable_hash(np.True_) == stable_hash(True) == stable_hash(1)
    assert stable_hash(np.False_) == stable_hash(0.0)

"""A TPC-H-like data set written locally as Parquet, seeded, with NumPy and pandas.

Not the official ``dbgen``: the eight-table schema is cut to the columns the queries of
:mod:`benchmarks.bench_tpch` use (plus a few wide text columns so that projection
matters), and the values follow the spirit of the specification closely enough that
the queries' filters keep comparable fractions of the rows:

- ``orders``: ``1_500_000 * sf`` rows, ``o_orderdate`` uniform over 1992-01-01 ..
  1998-08-02, ``o_custkey`` over the customers, ``o_orderpriority`` one of five;
- ``lineitem``: 1 to 7 lines per order (about ``6_000_000 * sf`` rows), ship, commit
  and receipt dates after the order date as in the specification, return flag and line
  status from the receipt and ship dates, prices from the part;
- ``customer`` (``150_000 * sf``), ``supplier`` (``10_000 * sf``), ``part``
  (``200_000 * sf``), ``nation`` (25) and ``region`` (5).

``lineitem`` and ``orders`` are written in several files sorted by order key (as dbgen
does), the others in one file each, all under ``<root>/sf<sf>/<table>/``.

``python -m benchmarks.tpch_data [--sf 1] [--root /tmp/plait-tpch]`` writes what is
missing and prints the folder.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

ROOT = os.environ.get("PLAIT_BENCH_TPCH_DIR", "/tmp/plait-tpch")
TABLES = ("lineitem", "orders", "customer", "part", "supplier", "nation", "region")
LINEITEM_FILES_PER_SF = 8
ORDERS_FILES_PER_SF = 4

REGIONS = ["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"]
# (name, region) as in the specification
NATIONS = [("ALGERIA", 0), ("ARGENTINA", 1), ("BRAZIL", 1), ("CANADA", 1), ("EGYPT", 4),
           ("ETHIOPIA", 0), ("FRANCE", 3), ("GERMANY", 3), ("INDIA", 2), ("INDONESIA", 2),
           ("IRAN", 4), ("IRAQ", 4), ("JAPAN", 2), ("JORDAN", 4), ("KENYA", 0),
           ("MOROCCO", 0), ("MOZAMBIQUE", 0), ("PERU", 1), ("CHINA", 2), ("ROMANIA", 3),
           ("SAUDI ARABIA", 4), ("VIETNAM", 2), ("RUSSIA", 3), ("UNITED KINGDOM", 3),
           ("UNITED STATES", 1)]
SEGMENTS = ["AUTOMOBILE", "BUILDING", "FURNITURE", "HOUSEHOLD", "MACHINERY"]
PRIORITIES = ["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"]
SHIPMODES = ["REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"]
INSTRUCTIONS = ["DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"]
TYPES = [f"{a} {b} {c}" for a in ("STANDARD", "SMALL", "MEDIUM", "LARGE", "ECONOMY", "PROMO")
         for b in ("ANODIZED", "BURNISHED", "PLATED", "POLISHED", "BRUSHED")
         for c in ("TIN", "NICKEL", "BRASS", "STEEL", "COPPER")]
WORDS = ["furiously", "quickly", "carefully", "blithely", "slyly", "ironic", "final",
         "pending", "regular", "express", "special", "bold", "even", "silent", "unusual",
         "deposits", "packages", "requests", "accounts", "instructions", "theodolites"]

START = "1992-01-01"
END = "1998-08-02"
CURRENT = "1995-06-17"  # the specification's "current date" for flags and status


def folder(sf: float, root: str = ROOT) -> str:
    """The folder holding the tables of scale factor ``sf``."""
    return os.path.join(root, f"sf{sf:g}")


def _text(rng: Any, n: int, words: int) -> Any:
    """``n`` short random sentences (a few distinct values, cheap to make)."""
    import numpy as np

    pool = np.array([" ".join(rng.choice(WORDS, words)) for _ in range(997)], dtype=object)
    return pool[rng.integers(0, len(pool), n)]


def _write(frame: Any, path: str, row_group_size: int = 250_000) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(os.path.dirname(path), exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path + ".tmp", row_group_size=row_group_size)
    os.replace(path + ".tmp", path)


def _small_tables(sf: float, rng: Any) -> dict:
    import numpy as np
    import pandas as pd

    n_cust, n_supp, n_part = int(150_000 * sf), int(10_000 * sf), int(200_000 * sf)
    region = pd.DataFrame({"r_regionkey": np.arange(5, dtype="int64"), "r_name": REGIONS})
    nation = pd.DataFrame({"n_nationkey": np.arange(25, dtype="int64"),
                           "n_name": [n for n, _ in NATIONS],
                           "n_regionkey": np.array([r for _, r in NATIONS], dtype="int64")})
    custkey = np.arange(1, n_cust + 1, dtype="int64")
    customer = pd.DataFrame({
        "c_custkey": custkey,
        "c_name": [f"Customer#{k:09d}" for k in custkey],
        "c_address": _text(rng, n_cust, 3),
        "c_nationkey": rng.integers(0, 25, n_cust),
        "c_phone": [f"{10 + k % 25}-{k % 900 + 100}-{k % 9000 + 1000}" for k in custkey],
        "c_acctbal": np.round(rng.uniform(-999.99, 9999.99, n_cust), 2),
        "c_mktsegment": np.array(SEGMENTS, dtype=object)[rng.integers(0, 5, n_cust)],
        "c_comment": _text(rng, n_cust, 6),
    })
    suppkey = np.arange(1, n_supp + 1, dtype="int64")
    supplier = pd.DataFrame({
        "s_suppkey": suppkey,
        "s_name": [f"Supplier#{k:09d}" for k in suppkey],
        "s_nationkey": rng.integers(0, 25, n_supp),
        "s_acctbal": np.round(rng.uniform(-999.99, 9999.99, n_supp), 2),
        "s_comment": _text(rng, n_supp, 6),
    })
    partkey = np.arange(1, n_part + 1, dtype="int64")
    part = pd.DataFrame({
        "p_partkey": partkey,
        "p_name": _text(rng, n_part, 4),
        "p_brand": [f"Brand#{m}{n}" for m, n in zip(rng.integers(1, 6, n_part),
                                                     rng.integers(1, 6, n_part))],
        "p_type": np.array(TYPES, dtype=object)[rng.integers(0, len(TYPES), n_part)],
        "p_size": rng.integers(1, 51, n_part),
        # the specification's retail price formula
        "p_retailprice": (90000 + (partkey // 10) % 20001 + 100 * (partkey % 1000)) / 100,
    })
    return {"region": region, "nation": nation, "customer": customer,
            "supplier": supplier, "part": part}


def _orders_and_lines(sf: float, piece: int, pieces: int, n_cust: int, n_supp: int,
                      n_part: int) -> tuple:
    """Orders ``piece`` of ``pieces`` (order keys in one contiguous run) and their lines."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1000 + piece)
    n_orders = int(1_500_000 * sf)
    lo, hi = piece * n_orders // pieces, (piece + 1) * n_orders // pieces
    n = hi - lo
    orderkey = np.arange(lo + 1, hi + 1, dtype="int64")
    start, end = np.datetime64(START, "D"), np.datetime64(END, "D")
    orderdate = start + rng.integers(0, int((end - start).astype('int64')) - 151, n).astype("timedelta64[D]")
    lines = rng.integers(1, 8, n)
    total = int(lines.sum())
    l_order = np.repeat(orderkey, lines)
    l_odate = np.repeat(orderdate, lines)
    # line numbers 1..k within each order
    first = np.repeat(np.cumsum(lines) - lines, lines)
    linenumber = np.arange(total) - first + 1
    partkey = rng.integers(1, n_part + 1, total)
    quantity = rng.integers(1, 51, total).astype("float64")
    retail = (90000 + (partkey // 10) % 20001 + 100 * (partkey % 1000)) / 100
    extended = np.round(quantity * retail, 2)
    discount = rng.integers(0, 11, total) / 100
    tax = rng.integers(0, 9, total) / 100
    shipdate = l_odate + rng.integers(1, 122, total).astype("timedelta64[D]")
    commitdate = l_odate + rng.integers(30, 91, total).astype("timedelta64[D]")
    receiptdate = shipdate + rng.integers(1, 31, total).astype("timedelta64[D]")
    current = np.datetime64(CURRENT, "D")
    returned = rng.random(total) < 0.5
    returnflag = np.where(receiptdate <= current, np.where(returned, "R", "A"), "N")
    linestatus = np.where(shipdate > current, "O", "F")
    lineitem = pd.DataFrame({
        "l_orderkey": l_order,
        "l_partkey": partkey,
        "l_suppkey": rng.integers(1, n_supp + 1, total),
        "l_linenumber": linenumber.astype("int64"),
        "l_quantity": quantity,
        "l_extendedprice": extended,
        "l_discount": discount,
        "l_tax": tax,
        "l_returnflag": returnflag.astype(object),
        "l_linestatus": linestatus.astype(object),
        "l_shipdate": shipdate.astype("datetime64[ns]"),
        "l_commitdate": commitdate.astype("datetime64[ns]"),
        "l_receiptdate": receiptdate.astype("datetime64[ns]"),
        "l_shipinstruct": np.array(INSTRUCTIONS, dtype=object)[rng.integers(0, 4, total)],
        "l_shipmode": np.array(SHIPMODES, dtype=object)[rng.integers(0, 7, total)],
        "l_comment": _text(rng, total, 4),
    })
    # the order's total over its lines, as the specification defines it
    charge = extended * (1 + tax) * (1 - discount)
    totalprice = np.round(np.add.reduceat(charge, np.cumsum(lines) - lines), 2)
    status = np.where(orderdate + np.timedelta64(121, "D") < current, "F", "O")
    orders = pd.DataFrame({
        "o_orderkey": orderkey,
        "o_custkey": rng.integers(1, n_cust + 1, n),
        "o_orderstatus": status.astype(object),
        "o_totalprice": totalprice,
        "o_orderdate": orderdate.astype("datetime64[ns]"),
        "o_orderpriority": np.array(PRIORITIES, dtype=object)[rng.integers(0, 5, n)],
        "o_clerk": [f"Clerk#{k:09d}" for k in rng.integers(1, 1000 * max(sf, 1) + 1, n)],
        "o_shippriority": np.zeros(n, dtype="int64"),
        "o_comment": _text(rng, n, 5),
    })
    return orders, lineitem


def make(sf: float = 1.0, root: str = ROOT) -> str:
    """Write the tables of scale factor ``sf`` under ``root`` (what is missing only)
    and return their folder."""
    import numpy as np

    base = folder(sf, root)
    marker = os.path.join(base, "_complete")
    if os.path.exists(marker):
        return base
    rng = np.random.default_rng(42)
    for name, frame in _small_tables(sf, rng).items():
        _write(frame, os.path.join(base, name, "part.0.parquet"))
    pieces = max(1, round(LINEITEM_FILES_PER_SF * sf))
    order_files = max(1, round(ORDERS_FILES_PER_SF * sf))
    n_cust, n_supp, n_part = int(150_000 * sf), int(10_000 * sf), int(200_000 * sf)
    import pandas as pd

    per_file = pieces // order_files if pieces % order_files == 0 else 1
    batch = []
    for piece in range(pieces):
        orders, lineitem = _orders_and_lines(sf, piece, pieces, n_cust, n_supp, n_part)
        _write(lineitem, os.path.join(base, "lineitem", f"part.{piece}.parquet"))
        batch.append(orders)
        if len(batch) == per_file:
            _write(pd.concat(batch, ignore_index=True),
                   os.path.join(base, "orders", f"part.{piece // per_file}.parquet"))
            batch = []
    open(marker, "w").close()
    return base


def main(argv: list | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sf", type=float, default=1.0, help="scale factor (1: ~6M lines)")
    parser.add_argument("--root", default=ROOT)
    args = parser.parse_args(argv)
    print(make(args.sf, args.root))


if __name__ == "__main__":
    main()

"""Chunked arrays: the NumPy API on arrays split into blocks.

From the seed "GSFC Python Bootcamp: Parallel Programming" (its "What is Dask?" and
"A simple example" array cells), with ``import plait as dask`` and
``import plait.array as da``. Each expression is checked against NumPy on the same
data. The graph pictures are drawn only when the graphviz package and Graphviz's
``dot`` program are installed.

Run it with ``python examples/array_basics.py`` (a few seconds).
"""

import shutil
import sys
import tempfile
import time

import numpy as np

import plait as dask
import plait.array as da


def check(what, got, expected):
    ok = np.allclose(got, expected)
    print(f"  {what:<44} {'OK' if ok else 'MISMATCH'}")
    if not ok:
        sys.exit(f"{what}: plait and NumPy disagree")


def main():
    print("1. Arrays implement the NumPy API")
    x = da.random.random(size=(4000, 4000), chunks=(1000, 1000))
    y = x + x.T - x.mean(axis=0)
    print(f"  {y!r}")
    print(f"  {y.npartitions} blocks, {len(y.dask)} tasks; nothing computed yet")
    data = x.compute()
    t0 = time.perf_counter()
    result = y.compute()
    print(f"  computed in {time.perf_counter() - t0:.2f} s with threads")
    check("x + x.T - x.mean(axis=0)", result, data + data.T - data.mean(axis=0))

    print("2. A 15 x 15 array of ones in 5 x 5 blocks")
    ones = da.ones((15, 15), chunks=(5, 5))
    check("da.ones((15, 15), chunks=(5, 5))", ones.compute(), np.ones((15, 15)))
    expr = (ones.dot(ones.T) - ones.mean(axis=0)).std()
    n = np.ones((15, 15))
    check("(x.dot(x.T) - x.mean(axis=0)).std()", expr.compute(), (n.dot(n.T) - n.mean(axis=0)).std())

    print("3. NumPy functions and ufuncs accept plait arrays")
    c = da.from_array(np.linspace(-3, 3, 12000).reshape(10, 1200), chunks=(10, 120))
    mask = np.absolute(c) > 2
    print(f"  np.absolute(c) > 2 is a {type(mask).__module__}.{type(mask).__name__}")
    check("np.absolute(c) > 2", mask.compute(), np.absolute(np.linspace(-3, 3, 12000).reshape(10, 1200)) > 2)

    if shutil.which("dot") and hasattr(dask, "visualize"):
        folder = tempfile.mkdtemp(prefix="plait-array-")
        dask.visualize(ones, filename=f"{folder}/ones", format="svg")
        dask.visualize(expr, filename=f"{folder}/expression", format="svg")
        print(f"4. Graph pictures written to {folder}")
    else:
        print("4. Graph pictures skipped: install graphviz (pip) and the dot program (apt)")
    print("All array results match NumPy.")


if __name__ == "__main__":
    main()

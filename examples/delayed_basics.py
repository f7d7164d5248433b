"""Delayed basics: inc, double and add, run one after another and then as a task graph.

From the seed "GSFC Python Bootcamp: Parallel Programming" (section "2. A simple
example"), with ``import plait as dask``. Every call sleeps a little, as in the
tutorial, so the timings show what a task graph buys: the inc and double calls run in
parallel, and a tree reduction also runs the additions in parallel where the linear sum
must add one number after another.

Run it with ``python examples/delayed_basics.py``; it takes about 5 seconds. Pictures of
the graphs are drawn only when ``plait.visualize``, the graphviz package and the ``dot``
program are all available; they go to a fresh temporary directory.
"""

import importlib.util
import shutil
import sys
import tempfile
import time

import plait as dask

PAUSE = 0.1  # seconds each call sleeps (the tutorial uses 0.2)
# A sleeping call releases the GIL, so threads overlap sleeps even beyond the number of
# cores; eight threads give every number its own, like the tutorial's laptop had.
WORKERS = 8


def inc(x):
    time.sleep(PAUSE)
    return x + 1


def double(x):
    time.sleep(PAUSE)
    return 2 * x


def add(x, y):
    time.sleep(PAUSE)
    return x + y


def sequential_total(data):
    """Plain Python: every call waits for the one before it."""
    out = []
    for x in data:
        out.append(double(inc(x)))
    total = 0
    for z in out:
        total = add(total, z)
    return total


def mapped(data):
    """inc then double on every number, as delayed calls: nothing runs yet."""
    d_inc, d_double = dask.delayed(inc), dask.delayed(double)
    return [d_double(d_inc(x)) for x in data]


def linear_total(values):
    """The sequential loop over delayed values: a chain of additions."""
    d_add = dask.delayed(add)
    total = 0
    for z in values:
        total = d_add(total, z)
    return total


def tree_total(values):
    """Add neighbours pairwise, level by level: log2(n) rounds of additions."""
    d_add = dask.delayed(add)
    out = list(values)
    while len(out) > 1:
        pairs = [d_add(out[i], out[i + 1]) for i in range(0, len(out) - 1, 2)]
        out = pairs + out[2 * len(pairs):]  # an odd one out waits for the next level
    return out[0]


def timed(label, run):
    start = time.perf_counter()
    value = run()
    print(f"  {label:<42} {time.perf_counter() - start:6.2f} s   result {value}")
    return value


def draw(pictures):
    """Write each graph to a PNG if everything needed to draw it is installed."""
    missing = [why for ok, why in [
        (hasattr(dask, "visualize"), "plait.visualize is not available"),
        (importlib.util.find_spec("graphviz") is not None,
         "the graphviz package is not installed (pip install graphviz)"),
        (shutil.which("dot") is not None,
         "the `dot` program is not on PATH (apt-get install graphviz)"),
    ] if not ok]
    if missing:
        print("Not drawing the graphs: " + "; ".join(missing) + ".")
        return
    folder = tempfile.mkdtemp(prefix="plait-delayed-basics-")
    for name, value in pictures.items():
        path = f"{folder}/{name}.png"
        try:
            dask.visualize(value, filename=path, rankdir="LR")
        except Exception as exc:  # a broken graphviz install should not stop the tour
            print(f"Could not draw {name}: {exc}")
            return
        print(f"  drew {path}")


def main():
    data = [1, 2, 3, 4, 5, 6, 7, 8]
    expected = sum(2 * (x + 1) for x in data)
    print(f"inc -> double -> add over {data}; every call sleeps {PAUSE} s; "
          f"graphs run on {WORKERS} threads")

    plain = timed("plain Python, sequential", lambda: sequential_total(data))

    start = time.perf_counter()
    values = mapped(data)
    linear = linear_total(values)
    tree = tree_total(values)  # shares the inc and double calls with `linear`
    print(f"  building both graphs took {time.perf_counter() - start:.4f} s: "
          f"nothing has run yet, linear total is {linear!r}")

    # dask.compute returns a tuple, one result per argument.
    (linear_value,) = timed("plait.compute(linear sum)",
                            lambda: dask.compute(linear, num_workers=WORKERS))
    tree_value = timed("tree reduction, tree.compute()",
                       lambda: tree.compute(num_workers=WORKERS))

    # Computed together, the two totals share one run and their inc and double calls
    # run once: about the time of the slower one alone.
    both = timed("plait.compute(linear, tree) together",
                 lambda: dask.compute(linear, tree, num_workers=WORKERS))

    results = {"sequential": plain, "linear": linear_value, "tree": tree_value,
               "together": both}
    wrong = {k: v for k, v in results.items()
             if v != (expected if k != "together" else (expected, expected))}
    if wrong:
        sys.exit(f"results differ from plain Python ({expected}): {wrong}")
    print(f"All results equal {expected}, the plain-Python total.")

    x = dask.delayed(inc)(1)
    y = dask.delayed(inc)(2)
    z = dask.delayed(add)(x, y)
    draw({"inc-inc-add": z, "linear-sum": linear, "tree-reduction": tree})


if __name__ == "__main__":
    main()

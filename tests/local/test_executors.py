"""Every executor gives the sync result, reports failures with their key, never hangs."""

import os
import pickle
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from operator import add, mul

import pytest

import plait
from plait.callbacks import Callback
from plait.graph import convert_graph
from plait.local import execute, get_processes, get_sync, get_threads

SCHEDULERS = ["sync", "threads", "processes"]


def inc(x):
    return x + 1


def boom(x):
    raise ZeroDivisionError(f"boom on {x}")


def slow_inc(x):
    time.sleep(0.05)
    return x + 1


def graph(n=200):
    d = {("x", i): (inc, i) for i in range(n)}
    d["total"] = (sum, [("x", i) for i in range(n)])
    d["chain0"] = 0
    for i in range(1, 100):
        d[f"chain{i}"] = (add, f"chain{i-1}", i)
    return convert_graph(d)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_same_result_as_sync(scheduler):
    dsk = graph()
    expect = execute(dsk, ["total", "chain99"], "sync")
    assert expect == {"total": sum(range(1, 201)), "chain99": sum(range(100))}
    assert execute(dsk, ["total", "chain99"], scheduler, num_workers=2) == expect


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_exception_keeps_type_traceback_and_names_key(scheduler):
    dsk = convert_graph({"a": 1, "b": (boom, "a"), "c": (inc, "b")})
    with pytest.raises(ZeroDivisionError, match="boom on 1") as info:
        execute(dsk, ["c"], scheduler, num_workers=2)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "'b'" in notes
    assert info.value.plait_key == "b"
    if scheduler == "processes":
        assert "boom" in str(info.value.__cause__)  # remote traceback text
    else:
        tb = info.value.__traceback__
        names = []
        while tb is not None:
            names.append(tb.tb_frame.f_code.co_name)
            tb = tb.tb_next
        assert "boom" in names


def test_failure_does_not_wait_for_slow_tasks():
    d = {("s", i): (time.sleep, 2) for i in range(1)}
    d["bad"] = (boom, 1)
    dsk = convert_graph(d)
    t0 = time.perf_counter()
    with pytest.raises(ZeroDivisionError):
        execute(dsk, list(dsk), "threads", num_workers=2)
    assert time.perf_counter() - t0 < 1.5


def unpicklable_result(x):
    return threading.Lock()


def test_processes_unpicklable_function_names_task_and_suggests_threads():
    lock = threading.Lock()
    dsk = convert_graph({"x": 1, "y": (lambda x, l=lock: x, "x")})
    with pytest.raises(TypeError) as info:
        execute(dsk, ["y"], "processes", num_workers=1)
    msg = str(info.value)
    assert "'y'" in msg and "threads" in msg


def test_processes_unpicklable_result_names_task():
    dsk = convert_graph({"x": 1, "y": (unpicklable_result, "x")})
    with pytest.raises(TypeError) as info:
        execute(dsk, ["y"], "processes", num_workers=1)
    assert "'y'" in str(info.value) and "pickled" in str(info.value)


class Weird(Exception):
    def __init__(self, a, b):  # not picklable by default (args mismatch)
        super().__init__(a)
        self.b = b
        self.lock = threading.Lock()


def raise_weird(x):
    raise Weird("weird failure", 2)


def test_processes_unpicklable_exception_still_reported():
    dsk = convert_graph({"x": 1, "y": (raise_weird, "x")})
    with pytest.raises(Exception) as info:
        execute(dsk, ["y"], "processes", num_workers=1)
    assert "weird failure" in str(info.value.__cause__)
    assert "'y'" in "\n".join(info.value.__notes__)


def test_processes_lambdas_and_closures_work():
    k = 10
    dsk = convert_graph({"x": 1, "y": (lambda v: v + k, "x")})
    assert execute(dsk, ["y"], "processes", num_workers=2) == {"y": 11}


@pytest.mark.parametrize("pool_cls", [ThreadPoolExecutor, ProcessPoolExecutor])
def test_any_executor_as_pool(pool_cls):
    dsk = graph(50)
    with pool_cls(2) as pool:
        assert execute(dsk, ["total"], "threads", pool=pool) == {"total": sum(range(1, 51))}
        assert execute(dsk, ["total"], pool) == {"total": sum(range(1, 51))}


def test_get_functions_accept_classic_graphs_and_nested_keys():
    dsk = {"x": 1, "y": (add, "x", 2), "z": (mul, "y", "y")}
    for get in (get_sync, get_threads, get_processes, plait.get,
                plait.threaded.get, plait.multiprocessing.get):
        assert get(dsk, "z") == 9
        assert get(dsk, ["x", ["y", "z"]]) == (1, (3, 9))


def test_get_keyword_is_removed_with_modern_spelling():
    with pytest.raises(TypeError, match="scheduler="):
        get_sync({"x": 1}, "x", get=plait.get)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_callbacks_fire_once_per_task(scheduler):
    dsk = graph(30)
    events = {"start": 0, "pre": [], "post": [], "finish": []}

    def start(d):
        events["start"] += 1

    cb = Callback(
        start=start,
        pretask=lambda key, d, s: events["pre"].append(key),
        posttask=lambda key, r, d, s, w: events["post"].append(key),
        finish=lambda d, s, errored: events["finish"].append(errored),
    )
    with cb:
        execute(dsk, ["total"], scheduler, num_workers=2)
    culled = set(plait.graph.cull(dsk, ["total"])[0])
    assert events["start"] == 1
    assert sorted(map(str, events["pre"])) == sorted(map(str, culled))
    assert sorted(map(str, events["post"])) == sorted(map(str, culled))
    assert events["finish"] == [False]


def test_finish_callback_reports_error():
    errs = []
    with Callback(finish=lambda d, s, e: errs.append(e)):
        with pytest.raises(ZeroDivisionError):
            execute(convert_graph({"a": (boom, 1)}), ["a"], "threads")
    assert errs == [True]


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_intermediates_released_during_run(scheduler):
    """A value is dropped once no remaining task needs it (checked with weakrefs)."""
    import weakref

    class Box:
        def __init__(self, v):
            self.v = v

    refs = []

    def make(i):
        b = Box(i)
        refs.append(weakref.ref(b))
        return b

    def combine(a, b):
        return Box(a.v + b.v)

    alive_at_end = []

    def last(x):
        alive_at_end.append(sum(r() is not None for r in refs))
        return x.v

    d = {("m", i): (make, i) for i in range(64)}
    d["c"] = (combine, ("m", 0), ("m", 1))
    for i in range(2, 64):
        d["c"] = d["c"]  # keep structure simple below
    layer = [("m", i) for i in range(64)]
    n = 0
    while len(layer) > 1:
        nxt = []
        for j in range(0, len(layer), 2):
            k = ("c", n)
            n += 1
            d[k] = (combine, layer[j], layer[j + 1])
            nxt.append(k)
        layer = nxt
    d["out"] = (last, layer[0])
    del d["c"]
    assert execute(convert_graph(d), ["out"], scheduler, num_workers=2) == {"out": sum(range(64))}
    assert alive_at_end[0] <= 2  # leaves were released as soon as they were combined


def test_num_workers_validated():
    with pytest.raises(ValueError, match="num_workers"):
        execute(graph(3), ["total"], "threads", num_workers=0)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_ctrl_c_stops_promptly_and_leaves_no_process(tmp_path, scheduler):
    """SIGINT to a process in the middle of a long compute: it stops within seconds,
    and the worker processes it started are gone."""
    import signal
    import subprocess
    import sys

    import psutil

    script = tmp_path / "run.py"
    script.write_text(
        "import sys, time, plait\n"
        "def slow(i):\n"
        "    time.sleep(60)\n"
        "    return i\n"
        "if __name__ == '__main__':\n"
        "    xs = [plait.delayed(slow)(i) for i in range(4)]\n"
        "    print('started', flush=True)\n"
        "    try:\n"
        f"        plait.compute(xs, scheduler={scheduler!r}, num_workers=2)\n"
        "    except KeyboardInterrupt:\n"
        "        print('interrupted', flush=True)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, env=env)
    try:
        me = psutil.Process(proc.pid)
        assert proc.stdout.readline().strip() == b"started"
        want = 3 if scheduler == "processes" else 0  # forkserver + 2 workers
        deadline = time.time() + 30
        while len(me.children(recursive=True)) < want and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # let the tasks start
        kids = me.children(recursive=True)
        assert len(kids) >= want
        t0 = time.time()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
        assert time.time() - t0 < 10
        assert b"interrupted" in out
        _, alive = psutil.wait_procs(kids, timeout=10)
        assert not alive, f"orphans: {alive}"
    finally:
        if proc.poll() is None:
            proc.kill()

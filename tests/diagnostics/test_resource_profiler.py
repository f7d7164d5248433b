"""ResourceProfiler: samples during computes, from a helper process that always ends."""

import os
import threading
import time

import pytest

import plait
from plait.diagnostics import ResourceProfiler
from plait.diagnostics.resource import ResourceData, _Tracker

psutil = pytest.importorskip("psutil", reason="ResourceProfiler needs psutil")


def reader_threads():
    return [t for t in threading.enumerate() if t.name == "plait-resource-tracker"]


def spin(seconds):
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def hold_memory(mib, seconds):
    block = bytearray(mib * 2**20)
    time.sleep(seconds)
    return len(block)


def test_samples_during_a_half_second_compute_and_everything_ends_on_exit():
    assert not reader_threads()
    with ResourceProfiler(dt=0.1) as rprof:
        tracker = rprof._tracker
        assert plait.delayed(spin)(0.5).compute(scheduler="sync") > 0
        assert len(reader_threads()) == 1 and tracker.is_alive()
    assert not reader_threads()
    assert tracker.proc.poll() is not None and not psutil.pid_exists(tracker.proc.pid)
    assert rprof._tracker is None
    assert len(rprof.results) >= 3  # about one every 0.1 s, plus one at the end
    for r in rprof.results:
        assert isinstance(r, ResourceData)
        assert r.mem > 1 and r.cpu >= 0
        assert rprof.start_time <= r.time <= rprof.end_time
    times = [r.time for r in rprof.results]
    assert times == sorted(times)
    assert max(r.cpu for r in rprof.results) > 20  # the task spins a core


def test_samples_keep_coming_while_worker_threads_hold_the_gil():
    # Pure-Python tasks on two threads: a sampling thread in this process got one
    # sample in the whole compute here; the helper process is not slowed by our GIL.
    work = [plait.delayed(spin)(0.6, dask_key_name=f"spin-{i}") for i in range(2)]
    with ResourceProfiler(dt=0.1) as rprof:
        plait.compute(*work, scheduler="threads", num_workers=2)
    assert len(rprof.results) >= 4, [round(r.time - rprof.start_time, 3) for r in rprof.results]


def test_no_samples_between_computes_and_results_accumulate():
    with ResourceProfiler(dt=0.05) as rprof:
        plait.delayed(time.sleep)(0.2).compute(scheduler="sync")
        first = len(rprof.results)
        time.sleep(0.3)  # no compute running: nothing sampled
        assert len(rprof.results) == first
        plait.delayed(time.sleep)(0.2).compute(scheduler="threads")
    assert first >= 2
    assert len(rprof.results) >= first + 2
    gap = [b.time - a.time for a, b in zip(rprof.results, rprof.results[1:])]
    assert max(gap) >= 0.25  # the pause between the computes


def test_memory_of_process_pool_workers_is_counted():
    plait.delayed(os.getpid)().compute(scheduler="processes", num_workers=1)  # pool up
    with ResourceProfiler(dt=0.05) as rprof:
        held = plait.delayed(hold_memory)(300, 0.4).compute(scheduler="processes",
                                                              num_workers=1)
    assert held == 300 * 2**20
    mems = [r.mem for r in rprof.results]
    assert max(mems) - min(mems) > 200, mems


def test_register_then_close_stops_the_sampler():
    rprof = ResourceProfiler(dt=0.05)
    rprof.register()
    try:
        plait.delayed(time.sleep)(0.1).compute(scheduler="sync")
        tracker = rprof._tracker
        assert tracker.is_alive()
    finally:
        rprof.unregister()
        rprof.close()
    assert not tracker.is_alive() and not reader_threads()
    assert rprof.results


def test_close_during_a_compute_does_not_hang():
    rprof = ResourceProfiler(dt=0.05)
    started = time.perf_counter()
    closer = threading.Timer(0.1, rprof.close)
    with rprof:
        closer.start()
        plait.delayed(time.sleep)(0.3).compute(scheduler="threads")
    closer.join()
    assert time.perf_counter() - started < 3
    assert not reader_threads()


def test_sampler_exits_when_its_parent_stops_listening():
    tracker = _Tracker(0.05)
    tracker.ready.wait(5)
    tracker.proc.stdin.close()  # what happens when this process dies
    assert tracker.proc.wait(5) == 0
    tracker.reader.join(5)
    assert not tracker.reader.is_alive()


def test_a_sampler_that_cannot_start_is_reported(monkeypatch):
    monkeypatch.setattr("plait.diagnostics.resource._SAMPLER", "/nonexistent/sampler.py")
    started = time.perf_counter()
    with pytest.warns(RuntimeWarning, match="sampling process exited with code"):
        with ResourceProfiler(dt=0.05) as rprof:
            assert plait.delayed(sum)([1, 2]).compute(scheduler="sync") == 3
    assert rprof.results == []
    assert time.perf_counter() - started < 2


def test_watch_finds_the_pool_workers_but_not_the_sampler():
    from plait.diagnostics._sampler import _Watch

    worker = plait.delayed(os.getpid)().compute(scheduler="processes", num_workers=1)
    assert worker != os.getpid()
    watch = _Watch(psutil, os.getpid())
    watch.refresh()
    assert worker in watch.procs and os.getpid() in watch.procs
    line = watch.sample().split()
    assert line[0] == "sample" and float(line[2]) > 1


def test_dt_must_be_positive():
    with pytest.raises(ValueError, match="dt must be a positive"):
        ResourceProfiler(dt=0)

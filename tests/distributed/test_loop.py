import asyncio
import threading

import pytest

from plait.distributed.loop import LoopRunner, sync


async def add(a, b=0):
    await asyncio.sleep(0)
    return a + b


async def fail():
    raise KeyError("boom")


def test_run_sync_returns_and_raises():
    with LoopRunner() as runner:
        assert runner.run_sync(add, 1, b=2) == 3
        assert sync(runner.loop, add, 5) == 5
        assert sync(runner, add, 5) == 5
        assert runner.run_sync(lambda: 7) == 7  # plain callables work too
        with pytest.raises(KeyError, match="boom"):
            runner.run_sync(fail)
        assert runner.thread.daemon and runner.thread.name == "plait-loop"


def test_timeout_cancels():
    cancelled = threading.Event()

    async def slow():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with LoopRunner() as runner:
        with pytest.raises(TimeoutError, match="slow did not finish within 0.1 s"):
            runner.run_sync(slow, timeout=0.1)
        assert cancelled.wait(5)
        assert runner.run_sync(add, 1) == 1  # still usable


def test_calling_from_the_loop_thread_is_a_clear_error():
    with LoopRunner() as runner:
        async def reenter():
            return runner.run_sync(add, 1)

        with pytest.raises(RuntimeError, match="own thread"):
            runner.run_sync(reenter)

        async def stop_from_inside():
            runner.stop()

        with pytest.raises(RuntimeError, match="own thread"):
            runner.run_sync(stop_from_inside)


def test_start_is_idempotent_and_stop_cleans_up():
    runner = LoopRunner(name="t-loop")
    assert not runner.is_running()
    with pytest.raises(RuntimeError, match="not started"):
        runner.loop
    runner.start()
    loop = runner.loop
    assert runner.start().loop is loop
    cancelled = threading.Event()

    async def background():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    runner.run_sync(lambda: asyncio.ensure_future(background()) and None)
    thread = runner.thread
    runner.stop()
    assert not thread.is_alive()
    assert cancelled.is_set()  # pending tasks are cancelled, not destroyed
    assert loop.is_closed()
    runner.stop()  # idempotent
    with pytest.raises(RuntimeError, match="not started"):
        runner.run_sync(add, 1)
    runner.start()  # and it can start again
    assert runner.run_sync(add, 2) == 2
    runner.stop()


def test_sync_on_a_loop_that_is_not_running():
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(RuntimeError, match="not running"):
            sync(loop, add, 1)
    finally:
        loop.close()


def test_many_threads_call_in():
    results = []
    with LoopRunner() as runner:
        def call(i):
            results.append(runner.run_sync(add, i, 1))

        threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert sorted(results) == list(range(1, 9))


def test_a_coroutine_raising_timeout_error_is_not_taken_for_our_timeout():
    async def own_timeout():
        raise TimeoutError("inner")

    with LoopRunner() as runner:
        with pytest.raises(TimeoutError, match="inner"):
            runner.run_sync(own_timeout, timeout=5)
        assert runner.run_sync(add, 1, timeout=5) == 1

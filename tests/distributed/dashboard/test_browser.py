"""End to end: the dashboard's pages in headless Chromium against a real local cluster
(worker processes) running a computation. Asserts on what the pages show.

Needs Debian's chromium and chromium-driver and the selenium package; skips without
them, and fails instead when CI=true (.ci/run installs them)."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time

import pytest

pytest.importorskip("bokeh")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (pip install selenium)"
    for path, package in ((CHROMIUM, "chromium"), (DRIVER, "chromium-driver")):
        if not os.path.exists(path):
            return f"{path} is missing (Debian package {package})"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = _missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile_dir = tempfile.mkdtemp(prefix="plait-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--window-size=1400,1600", f"--user-data-dir={profile_dir}"):
        opts.add_argument(arg)
    from .conftest import BROWSER_PIDS, browser_family

    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    BROWSER_PIDS.add(driver.service.process.pid)
    family = browser_family()
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        family |= browser_family()
        driver.quit()  # stops chromedriver and the browser it started
        BROWSER_PIDS.discard(driver.service.process.pid)
        import psutil

        gone, alive = psutil.wait_procs([p for p in map(_proc, family) if p], timeout=10)
        for proc in alive:  # by pid, never by name
            proc.kill()
        shutil.rmtree(profile_dir, ignore_errors=True)
        assert not alive, f"browser processes outlived driver.quit(): {alive}"


def _proc(pid: int):
    import psutil

    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def slow_inc(x):
    import time as _time

    _time.sleep(0.02)
    return x + 1


@pytest.fixture(scope="module")
def running():
    from plait.distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        client.wait_for_workers(2, timeout=30)
        stop = threading.Event()
        results = []

        def load():
            round_ = 0
            while not stop.is_set():
                futures = client.map(slow_inc, range(round_ * 100, round_ * 100 + 100))
                total = client.submit(sum, futures)
                results.append(total.result(timeout=60))
                round_ += 1

        thread = threading.Thread(target=load, daemon=True)
        thread.start()
        try:
            yield cluster, client, results
        finally:
            stop.set()
            thread.join(timeout=60)


def open_page(driver, url: str, updates: int = 2, timeout: float = 20) -> float:
    """Load ``url`` and wait until it has applied ``updates`` pushed updates."""
    start = time.monotonic()
    driver.get(url)
    while time.monotonic() - start < timeout:
        n = driver.execute_script("return Number(document.body.dataset.updates || 0)")
        if n >= updates:
            return time.monotonic() - start
        time.sleep(0.1)
    logs = driver.get_log("browser")
    raise AssertionError(f"{url} applied fewer than {updates} updates in {timeout} s; "
                         f"browser console: {logs[-5:]}")


def source_length(driver, name: str) -> int:
    return driver.execute_script(
        "const s = window.plaitDashboard.sources[arguments[0]];"
        "return s ? Object.values(s.data)[0].length : -1", name)


def text_of(driver, css: str) -> str:
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.textContent : ''", css)


def wait_for(predicate, timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_status_page(browser, running):
    cluster, client, results = running
    open_page(browser, cluster.dashboard_link)
    assert "2 workers" in text_of(browser, "#summary")
    assert text_of(browser, "#connection") == "live"
    wait_for(lambda: source_length(browser, "task-stream") > 20, what="task-stream bars")
    # Progress reaches done: the label of slow_inc counts finished tasks.
    wait_for(lambda: results, what="a finished round")

    def labels():
        return browser.execute_script(
            "return window.plaitDashboard.sources['progress-labels'].data.text")

    done = wait_for(lambda: [t for t in labels() if t.startswith("slow_inc:")
                             and int(t.split()[1]) >= 100], what="slow_inc progress")
    assert done
    assert source_length(browser, "memory") >= 2  # managed/unmanaged bars per worker
    assert source_length(browser, "processing") == 2
    assert source_length(browser, "cpu") == 2


def test_workers_page(browser, running):
    cluster, *_ = running
    open_page(browser, cluster.dashboard_link.replace("/status", "/workers"))
    rows = browser.execute_script(
        "return Array.from(document.querySelectorAll('#workers-table tbody tr'))"
        ".map(r => r.children[0].textContent)")
    assert sorted(rows) == sorted(cluster.scheduler.state.workers)
    head = text_of(browser, "#workers-table thead")
    for column in ("threads", "memory", "CPU", "spilled", "processing"):
        assert column in head


def test_graph_page(browser, running):
    cluster, *_ = running
    open_page(browser, cluster.dashboard_link.replace("/status", "/graph"))
    wait_for(lambda: source_length(browser, "graph-nodes") > 0, what="graph nodes")
    assert "tasks" in text_of(browser, "#graph-note")


def test_profile_page(browser, running):
    cluster, *_ = running
    open_page(browser, cluster.dashboard_link.replace("/status", "/profile"))
    wait_for(lambda: source_length(browser, "flame") > 0, timeout=30, what="flame graph")
    options = browser.execute_script(
        "return Array.from(document.querySelectorAll('#profile-prefix option'))"
        ".map(o => o.value)")
    assert "slow_inc" in options


def test_info_page(browser, running):
    cluster, *_ = running
    import logging

    # This process's logging is the test runner's (warnings by default): log one.
    logging.getLogger("plait.distributed.scheduler").warning("a warning for the info page")
    open_page(browser, cluster.dashboard_link.replace("/status", "/info"))
    wait_for(lambda: "a warning for the info page" in text_of(browser, "#info-logs tbody"),
             what="the scheduler's log line")
    assert cluster.scheduler.address in text_of(browser, "#info-scheduler")
    # Worker processes' logs come too (each logged its start).
    assert wait_for(lambda: "tcp://" in text_of(browser, "#info-logs tbody"),
                    what="worker log lines")


def test_page_load_time_is_measured(browser, running):
    cluster, *_ = running
    seconds = open_page(browser, cluster.dashboard_link, updates=1)
    print(f"status page: first update applied {seconds:.2f} s after navigation")


EVIL = '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script>'


def log_evil(x):
    import logging

    logging.getLogger("plait.user-task").warning(EVIL)
    return x


def test_markup_from_the_cluster_is_shown_as_text(browser, running):
    cluster, client, _ = running
    assert client.submit(log_evil, 1, key=f"{EVIL}-0123abcd").result(timeout=30) == 1
    open_page(browser, cluster.dashboard_link.replace("/status", "/info"))
    wait_for(lambda: EVIL in text_of(browser, "#info-logs tbody"), what="the logged text")
    assert browser.execute_script("return window.__pwned") is None
    assert browser.execute_script("return document.querySelectorAll('main img').length") == 0
    open_page(browser, cluster.dashboard_link.replace("/status", "/graph"))
    assert browser.execute_script("return window.__pwned") is None

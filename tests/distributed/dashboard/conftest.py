"""The leftover-process check of tests/distributed, except for the processes of the
module's headless browser (chromedriver and the Chromium it starts): the browser lives
for the whole module and opens renderer processes as it navigates. The browser fixture
stops them all at the end of the module and checks, by pid, that none is left."""

from __future__ import annotations

import pytest

from plait.distributed.testing import ProcessLeakCheck

# pids of long-lived browser processes (their descendants are the browser's too)
BROWSER_PIDS: set[int] = set()


def browser_family() -> set[int]:
    import psutil

    family = set()
    for pid in list(BROWSER_PIDS):
        try:
            proc = psutil.Process(pid)
            family.add(pid)
            family.update(p.pid for p in proc.children(recursive=True))
        except psutil.Error:
            continue
    return family


@pytest.fixture(autouse=True)
def _no_leftover_processes(request):
    leak = ProcessLeakCheck()
    yield
    leak.before |= browser_family()
    found = leak.check(timeout=5)
    if found:
        pytest.fail("child processes left behind (killed now):\n" + "\n".join(found),
                    pytrace=False)

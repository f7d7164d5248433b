"""ProgressBar: redrawn from a timer thread, 100% at the end, silent for short runs."""

import io
import re
import sys
import threading
import time

import pytest

import plait
from plait.callbacks import Callback
from plait.diagnostics import ProgressBar
from plait.diagnostics.progress import format_time
from plait.scheduling import Hooks


def bar_threads():
    return [t for t in threading.enumerate() if t.name == "plait-progressbar"]


def sleep_then(seconds, value):
    time.sleep(seconds)
    return value


def percents(text):
    return [int(p) for p in re.findall(r"(\d+)% Completed", text)]


def test_reaches_100_percent_with_elapsed_time_and_a_final_newline():
    out = io.StringIO()
    with ProgressBar(out=out, minimum=0):
        assert plait.delayed(sum)([1, 2, 3]).compute(scheduler="threads") == 6
    text = out.getvalue()
    assert percents(text)[-1] == 100
    last = text.split("\r")[-1]
    assert last.startswith("[" + "#" * 40 + "]")
    assert re.search(r"100% Completed \| \d+\.\ds\n$", last)
    assert not bar_threads()


def test_redraws_while_running_with_growing_percentages():
    tasks = [plait.delayed(sleep_then)(0.04, i) for i in range(10)]
    total = plait.delayed(sum)(tasks)
    out = io.StringIO()
    with ProgressBar(out=out, dt=0.02, width=10):
        assert total.compute(scheduler="sync") == 45
    seen = percents(out.getvalue())
    assert len(seen) >= 5
    assert seen == sorted(seen)
    assert seen[0] < 100 and seen[-1] == 100
    assert out.getvalue().count("\n") == 1


def test_shows_nothing_when_faster_than_minimum():
    out = io.StringIO()
    bar = ProgressBar(out=out, minimum=10, dt=0.01)
    with bar:
        plait.delayed(sleep_then)(0.05, 1).compute(scheduler="threads")
    assert out.getvalue() == ""
    assert 0.04 < bar.last_duration < 10


def test_minimum_hides_the_start_but_not_a_long_run():
    out = io.StringIO()
    with ProgressBar(out=out, minimum=0.1, dt=0.01):
        plait.delayed(sleep_then)(0.3, 1).compute(scheduler="sync")
    text = out.getvalue()
    assert percents(text)[-1] == 100
    assert all(float(s) >= 0.1 for s in re.findall(r"\| (\d+\.\d)s", text))


def test_error_stops_cleanly_without_claiming_100_percent():
    def boom(x):
        raise ValueError("no")

    parts = [plait.delayed(sleep_then)(0.01, i) for i in range(3)]
    bad = plait.delayed(boom)(parts)
    out = io.StringIO()
    with ProgressBar(out=out):
        with pytest.raises(ValueError, match="no"):
            bad.compute(scheduler="sync")
    text = out.getvalue()
    assert text.endswith("\n") and percents(text)[-1] < 100
    assert not bar_threads()


def test_register_and_unregister(capsys):
    bar = ProgressBar()
    bar.register()
    try:
        assert bar in Callback.active
        plait.delayed(sum)([1]).compute(scheduler="sync")
    finally:
        bar.unregister()
    assert bar not in Callback.active
    assert "100% Completed" in capsys.readouterr().out
    plait.delayed(sum)([2]).compute(scheduler="sync")
    assert capsys.readouterr().out == ""


def test_no_per_task_hooks_so_executors_skip_per_task_calls():
    hooks = Hooks.from_callbacks([ProgressBar()])
    assert not hooks.any_task_hooks
    assert hooks.start_state and hooks.finish


def test_a_compute_inside_a_task_draws_no_second_bar():
    def inner(x):
        return plait.delayed(sum)([x, 1]).compute(scheduler="sync")

    out = io.StringIO()
    with ProgressBar(out=out):
        assert plait.delayed(inner)(1).compute(scheduler="sync") == 2
    assert out.getvalue().count("\n") == 1
    assert not bar_threads()


def test_format_time():
    assert format_time(0.04) == "0.0s"
    assert format_time(59.94) == "59.9s"
    assert format_time(61) == "1min 1.0s"
    assert format_time(3600 * 2 + 61.5) == "2hr 1min 1.5s"


def test_dt_must_be_positive():
    with pytest.raises(ValueError, match="dt must be a positive"):
        ProgressBar(dt=0)


class _Widget:
    def __init__(self, *children, **kwargs):
        self.children = children
        self.value = kwargs.get("value")
        self.bar_style = ""


@pytest.fixture
def fake_kernel(monkeypatch):
    """An IPython kernel as far as ProgressBar can tell, with a display() that records."""
    import types

    shown = []
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    display_mod = types.ModuleType("IPython.display")
    display_mod.display = shown.append
    ipython.display = display_mod
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display_mod)
    return shown


def test_jupyter_kernel_shows_an_ipywidgets_bar(fake_kernel, monkeypatch, capsys):
    import types

    widgets = types.ModuleType("ipywidgets")
    widgets.FloatProgress = widgets.HTML = widgets.HBox = _Widget
    monkeypatch.setitem(sys.modules, "ipywidgets", widgets)
    with ProgressBar():
        plait.delayed(sleep_then)(0.05, 1).compute(scheduler="sync")
    assert len(fake_kernel) == 1
    bar, label = fake_kernel[0].children[0]
    assert bar.value == 1.0 and bar.bar_style == "success"
    assert label.value.startswith("100% Completed")
    assert capsys.readouterr().out == ""


def test_jupyter_kernel_without_ipywidgets_prints_text(fake_kernel, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with ProgressBar():
        plait.delayed(sleep_then)(0.01, 1).compute(scheduler="sync")
    assert fake_kernel == []
    assert "100% Completed" in capsys.readouterr().out

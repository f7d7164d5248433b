"""visualize: one self-contained HTML page with the task timeline, resources and cache."""

import os
import re
import sys
import time
import webbrowser
from operator import add

import pytest

import plait
from plait.diagnostics import CacheProfiler, Profiler, ResourceProfiler, visualize
from plait.graph import convert_graph
from plait.local import execute


def need(module):
    try:
        return __import__(module)
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must have {module}: pip install {module}")
        pytest.skip(f"needs the {module} package (pip install {module})")


def inc(x):
    time.sleep(0.005)
    return x + 1


def profiled(scheduler="threads"):
    dsk = {("load-00112233aabbccdd", i): (inc, i) for i in range(8)}
    dsk.update({("double", i): (add, ("load-00112233aabbccdd", i),
                                ("load-00112233aabbccdd", i)) for i in range(8)})
    dsk["total"] = (sum, [("double", i) for i in range(8)])
    with Profiler() as prof, ResourceProfiler(dt=0.01) as rprof, \
            CacheProfiler(metric=sys.getsizeof) as cprof:
        execute(convert_graph(dsk), ["total"], scheduler, num_workers=2)
    return prof, rprof, cprof


def script_sources(html):
    return re.findall(r"<script[^>]*\bsrc\s*=\s*[\"']?([^\"' >]+)", html, re.I)


@pytest.fixture
def no_browser(monkeypatch):
    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url))
    return opened


def test_writes_one_self_contained_page_with_the_key_prefixes(tmp_path, no_browser):
    need("bokeh")
    from bokeh.models import LayoutDOM

    prof, rprof, cprof = profiled()
    path = tmp_path / "profile.html"
    layout = visualize([prof, rprof, cprof], filename=str(path), show=False)
    assert isinstance(layout, LayoutDOM)
    assert len(layout.children) == 3
    html = path.read_text(encoding="utf-8")
    for prefix in ("load", "double", "total"):
        assert f'"{prefix}"' in html, prefix  # the prefix column that colours the bars
    assert "load-00112233aabbccdd" in html  # keys in the hover data
    assert script_sources(html) == []  # BokehJS inline: nothing fetched
    assert "Memory (MiB)" in html and "getsizeof" in html
    assert no_browser == []
    # all plots share one time axis
    ranges = {id(fig.x_range) for fig in layout.children}
    assert len(ranges) == 1


def test_cdn_mode_links_bokehjs_instead(tmp_path, no_browser):
    need("bokeh")
    prof, _, _ = profiled("sync")
    path = tmp_path / "cdn.html"
    visualize(prof, filename=str(path), show=False, mode="cdn")
    assert any(src.startswith("https://") for src in script_sources(path.read_text()))


def test_show_opens_the_written_file(tmp_path, no_browser):
    need("bokeh")
    prof, _, _ = profiled("sync")
    path = tmp_path / "shown.html"
    visualize([prof], filename=str(path), show=True)
    assert path.exists()
    assert no_browser == [path.resolve().as_uri()]


def test_each_profiler_plots_itself(tmp_path, no_browser):
    need("bokeh")
    from bokeh.plotting import figure

    prof, rprof, cprof = profiled("processes")
    for p in (prof, rprof, cprof):
        path = tmp_path / f"{type(p).__name__}.html"
        fig = p.visualize(filename=str(path), show=False, width=500)
        assert isinstance(fig, figure) and fig.width == 500
        assert path.stat().st_size > 10_000


def test_empty_profilers_still_plot(tmp_path, no_browser):
    need("bokeh")
    path = tmp_path / "empty.html"
    layout = visualize([Profiler(), CacheProfiler()], filename=str(path), show=False)
    assert len(layout.children) == 2 and path.exists()


def test_wrong_arguments_are_named():
    need("bokeh")
    with pytest.raises(ValueError, match="at least one profiler"):
        visualize([], show=False)
    with pytest.raises(TypeError, match="cannot plot 'int'"):
        visualize([3], show=False)


def test_missing_bokeh_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "bokeh", None)
    with pytest.raises(ImportError, match="pip install bokeh"):
        visualize(Profiler(), show=False)


def test_task_timeline_has_one_row_per_worker():
    need("bokeh")
    from plait.diagnostics.plots import plot_tasks

    prof, _, _ = profiled("threads")
    fig = plot_tasks(prof.results)
    workers = {r.worker_id for r in prof.results}
    assert len(fig.y_range.factors) == len(workers)
    source = fig.renderers[0].data_source
    assert len(source.data["key"]) == len(prof.results)
    assert min(source.data["start"]) >= 0
    assert all(e >= s for s, e in zip(source.data["start"], source.data["end"]))
    assert plait.graph.key_prefix(("load-00112233aabbccdd", 0)) in source.data["prefix"]

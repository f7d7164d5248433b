"""Profile plots with bokeh: a task timeline per worker, CPU and memory, cache size.

Everything here imports bokeh lazily, so ``import plait.diagnostics`` stays light. The
page is written with BokehJS inline by default (``mode="inline"``), so it opens offline
and loads nothing from a CDN.
"""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..graph import key_prefix
from ._jupyter import in_ipython_kernel

__all__ = ["visualize", "plot_tasks", "plot_resources", "plot_cache"]

_TOOLS = "pan,wheel_zoom,box_zoom,xwheel_zoom,reset,save"


def _bokeh() -> None:
    try:
        import bokeh  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "plotting profiles needs bokeh: pip install bokeh "
            "(or pip install 'plait[diagnostics]')"
        ) from exc


def _palette(n: int) -> list[str]:
    from bokeh.palettes import Category10, Category20, Viridis256

    if n <= 10:
        return list(Category10[10][:max(n, 1)])
    if n <= 20:
        return list(Category20[20][:n])
    step = len(Viridis256) / n
    return [Viridis256[int(i * step)] for i in range(n)]


def _figure(title: str, width: int, height: int, **kwargs: Any) -> Any:
    from bokeh.plotting import figure

    kwargs.setdefault("tools", _TOOLS)
    kwargs.setdefault("toolbar_location", "above")
    return figure(title=title, width=width, height=height,
                  x_axis_label="Time (s)", **kwargs)


def _origin(t0: float | None, times: Iterable[float]) -> float:
    if t0 is not None:
        return t0
    return min(times, default=0.0)


def plot_tasks(results: Sequence[Any], t0: float | None = None, width: int = 800,
               height: int | None = None, palette: Sequence[str] | None = None,
               **figure_kwargs: Any) -> Any:
    """A timeline of :class:`~plait.diagnostics.TaskData`: one row per worker, one bar
    per task from its start to its end, coloured by the key's prefix."""
    _bokeh()
    from bokeh.models import ColumnDataSource, FactorRange, HoverTool

    t0 = _origin(t0, (r.start_time for r in results))
    workers: dict = {}
    for r in results:
        workers.setdefault(r.worker_id, f"worker {len(workers)}")
    prefixes = sorted({key_prefix(r.key) for r in results})
    colours = dict(zip(prefixes, palette or _palette(len(prefixes))))
    if len(colours) < len(prefixes):  # a short palette given: cycle it
        pal = list(palette or ["#1f77b4"])
        colours = {p: pal[i % len(pal)] for i, p in enumerate(prefixes)}
    data: dict = {"key": [], "task": [], "start": [], "end": [], "duration": [],
                  "worker": [], "worker_id": [], "prefix": [], "colour": []}
    for r in results:
        prefix = key_prefix(r.key)
        data["key"].append(str(r.key))
        data["task"].append(r.task)
        data["start"].append(r.start_time - t0)
        data["end"].append(r.end_time - t0)
        data["duration"].append(r.end_time - r.start_time)
        data["worker"].append(workers[r.worker_id])
        data["worker_id"].append(str(r.worker_id))
        data["prefix"].append(prefix)
        data["colour"].append(colours[prefix])
    rows = list(workers.values()) or ["worker 0"]
    if height is None:
        height = min(600, 120 + 30 * len(rows))
    title = f"Profile: {len(results)} tasks on {len(workers)} workers"
    fig = _figure(title, width, height, y_range=FactorRange(*reversed(rows)),
                  **figure_kwargs)
    fig.yaxis.axis_label = "Worker"
    source = ColumnDataSource(data)
    extra = {"legend_field": "prefix"} if 0 < len(prefixes) <= 20 else {}
    fig.hbar(y="worker", left="start", right="end", height=0.8, source=source,
             fill_color="colour", line_color="colour", line_alpha=0.4, **extra)
    if extra:
        fig.legend.location = "top_right"
        fig.legend.click_policy = "mute"
    fig.add_tools(HoverTool(tooltips=[
        ("key", "@key"), ("task", "@task"), ("start", "@start{0.0000} s"),
        ("end", "@end{0.0000} s"), ("duration", "@duration{0.000000} s"),
        ("worker", "@worker_id"),
    ]))
    return fig


def plot_resources(results: Sequence[Any], t0: float | None = None, width: int = 800,
                   height: int = 300, **figure_kwargs: Any) -> Any:
    """CPU percent (left axis) and memory in MiB (right axis) of
    :class:`~plait.diagnostics.ResourceData` samples over time."""
    _bokeh()
    from bokeh.models import ColumnDataSource, HoverTool, LinearAxis, Range1d

    t0 = _origin(t0, (r.time for r in results))
    times = [r.time - t0 for r in results]
    cpu = [r.cpu for r in results]
    mem = [r.mem for r in results]
    source = ColumnDataSource({"time": times, "cpu": cpu, "mem": mem})
    fig = _figure("Profile: CPU and memory", width, height,
                  y_range=Range1d(0, max([100.0] + cpu) * 1.05), **figure_kwargs)
    fig.yaxis.axis_label = "CPU (%)"
    fig.extra_y_ranges = {"memory": Range1d(0, max([1.0] + mem) * 1.1)}
    fig.add_layout(LinearAxis(y_range_name="memory", axis_label="Memory (MiB)"), "right")
    fig.line("time", "cpu", source=source, color="#1f77b4", line_width=2,
             legend_label="CPU %")
    fig.line("time", "mem", source=source, color="#d62728", line_width=2,
             y_range_name="memory", legend_label="Memory (MiB)")
    fig.legend.location = "top_left"
    fig.add_tools(HoverTool(mode="vline", tooltips=[
        ("time", "@time{0.000} s"), ("CPU", "@cpu{0.0} %"), ("memory", "@mem{0.0} MiB"),
    ]))
    return fig


def _held_over_time(results: Sequence[Any], t0: float) -> tuple[list, list]:
    """The total metric held at each moment: a step function as (times, totals)."""
    events = []
    for r in results:
        try:
            m = float(r.metric)
        except (TypeError, ValueError):
            continue
        events.append((r.cache_time - t0, m))
        events.append((r.free_time - t0, -m))
    events.sort(key=lambda e: (e[0], e[1] > 0))  # at one instant, frees first
    times, totals, total = [], [], 0.0
    for t, m in events:
        total += m
        times.append(t)
        totals.append(total)
    return times, totals


def plot_cache(results: Sequence[Any], metric_name: str = "count", t0: float | None = None,
               width: int = 800, height: int = 300, max_prefixes: int = 10,
               **figure_kwargs: Any) -> Any:
    """The total ``metric`` of the results held over time (black), and per key prefix
    (coloured, for the ``max_prefixes`` prefixes holding the most)."""
    _bokeh()
    from bokeh.models import ColumnDataSource, HoverTool

    t0 = _origin(t0, (r.cache_time for r in results))
    fig = _figure(f"Profile: results held ({metric_name})", width, height, **figure_kwargs)
    fig.yaxis.axis_label = f"Results held ({metric_name})"
    groups: dict = {}
    for r in results:
        groups.setdefault(key_prefix(r.key), []).append(r)
    peaks = {}
    for prefix, rs in groups.items():
        times, totals = _held_over_time(rs, t0)
        peaks[prefix] = (max(totals, default=0.0), times, totals)
    shown = sorted(peaks, key=lambda p: -peaks[p][0])[:max_prefixes]
    if len(groups) > 1:
        for prefix, colour in zip(shown, _palette(len(shown))):
            _, times, totals = peaks[prefix]
            src = ColumnDataSource({"time": times, "held": totals,
                                    "prefix": [prefix] * len(times)})
            fig.step("time", "held", source=src, mode="after", color=colour,
                     line_width=1.5, legend_label=prefix)
    times, totals = _held_over_time(results, t0)
    src = ColumnDataSource({"time": times, "held": totals, "prefix": ["total"] * len(times)})
    fig.step("time", "held", source=src, mode="after", color="black", line_width=2,
             legend_label="total")
    fig.legend.location = "top_left"
    fig.legend.click_policy = "hide"
    fig.add_tools(HoverTool(tooltips=[
        ("", "@prefix"), ("time", "@time{0.000} s"), (metric_name, "@held"),
    ]))
    return fig


def _time_origin(profilers: Sequence[Any]) -> float | None:
    starts = [p.start_time for p in profilers if getattr(p, "start_time", None) is not None]
    return min(starts) if starts else None


def visualize(profilers: Any, filename: str = "profile.html", show: bool = True,
              save: bool | None = None, mode: str | None = None, **kwargs: Any) -> Any:
    """Draw one or more profilers on one page, one plot each, on a shared time axis.

    Parameters
    ----------
    profilers : Profiler, ResourceProfiler, CacheProfiler, or a list of them
    filename : str
        Where the HTML page is written.
    show : bool
        Open the page in a browser (in a Jupyter kernel: show it in the notebook).
    save : bool, optional
        Write ``filename``; by default yes, except in a Jupyter kernel. Outside a
        kernel, ``show=True`` writes it anyway, since the browser opens that file.
    mode : str, optional
        How BokehJS is included: ``"inline"`` (default: the page works offline) or
        ``"cdn"``.
    **kwargs
        Passed to each plot: ``width``, ``height``, ``palette`` (task colours), and
        bokeh ``figure`` options.

    Returns
    -------
    The bokeh layout (a column of figures sharing their x range).
    """
    _bokeh()
    from bokeh.embed import file_html
    from bokeh.layouts import column
    from bokeh.resources import Resources

    if not isinstance(profilers, (list, tuple)):
        profilers = [profilers]
    if not profilers:
        raise ValueError("visualize needs at least one profiler, got an empty list")
    notebook = in_ipython_kernel()
    if save is None:
        save = not notebook
    t0 = _time_origin(profilers)
    figures = []
    for prof in profilers:
        plot = getattr(prof, "_plot", None)
        if plot is None:
            raise TypeError(
                f"cannot plot {type(prof).__name__!r}: pass Profiler, ResourceProfiler "
                "or CacheProfiler objects, e.g. visualize([prof, rprof])"
            )
        fig_kwargs = dict(kwargs)
        if type(prof).__name__ != "Profiler":
            fig_kwargs.pop("palette", None)
        figures.append(plot(t0=t0, **fig_kwargs))
    for fig in figures[1:]:
        fig.x_range = figures[0].x_range
    layout = column(*figures) if len(figures) > 1 else figures[0]
    resources = Resources(mode=mode or "inline")
    path = Path(filename)
    if save or (show and not notebook):
        path.write_text(file_html(layout, resources=resources, title="plait profile"),
                        encoding="utf-8")
    if show:
        if notebook:
            from bokeh.io import output_notebook
            from bokeh.io import show as bokeh_show

            output_notebook(resources=resources, hide_banner=True)
            bokeh_show(layout)
        else:
            webbrowser.open(path.resolve().as_uri())
    return layout

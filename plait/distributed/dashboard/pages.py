"""The dashboard's HTML pages: a shell around Bokeh figures, filled and updated live.

Every figure here is drawn from a named ``ColumnDataSource`` of plain columns that the
server computes (rectangles with colours and tooltips, text labels); the page's script
(``static/live.js``) only replaces a source's data or streams new rows into it when an
update arrives over the websocket. Layout work stays in Python, where it is tested; the
browser draws. BokehJS is served from the bokeh package itself (no CDN, no copies).
"""

from __future__ import annotations

import functools
import html
import json
from typing import Any

__all__ = ["PAGES", "render_page", "figures_for"]

PAGES = {
    "status": "Status",
    "workers": "Workers",
    "graph": "Task graph",
    "profile": "Profile",
    "info": "Info",
}

RECT_COLUMNS = ("left", "right", "bottom", "top", "colour", "label", "tip")


def _empty(columns: tuple[str, ...]) -> dict[str, list]:
    return {c: [] for c in columns}


def _rect_figure(name: str, title: str, height: int, x_label: str = "",
                 datetime: bool = False) -> Any:
    from bokeh.models import ColumnDataSource, HoverTool, Range1d
    from bokeh.plotting import figure

    fig = figure(title=title, height=height, sizing_mode="stretch_width", name=f"{name}-fig",
                 x_axis_type="datetime" if datetime else "linear", tools="xpan,xwheel_zoom,reset",
                 toolbar_location="above", y_range=Range1d(0, 1, name=f"{name}-yrange"))
    rects = ColumnDataSource(_empty(RECT_COLUMNS), name=name)
    fig.quad(left="left", right="right", bottom="bottom", top="top", fill_color="colour",
             line_color=None, source=rects)
    labels = ColumnDataSource(_empty(("x", "y", "text")), name=f"{name}-labels")
    fig.text(x="x", y="y", text="text", source=labels, text_font_size="11px",
             text_baseline="middle")
    fig.add_tools(HoverTool(tooltips=[("", "@tip")]))
    fig.yaxis.visible = False
    fig.ygrid.visible = False
    if x_label:
        fig.xaxis.axis_label = x_label
    return fig


def _bytes_axis(fig: Any) -> Any:
    from bokeh.models import NumeralTickFormatter

    fig.xaxis.formatter = NumeralTickFormatter(format="0.0 b")
    return fig


def _graph_figure() -> Any:
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    fig = figure(title="Task graph (nodes coloured by state; left to right: dependencies "
                       "first)", height=600, sizing_mode="stretch_width", name="graph-fig",
                 tools="pan,wheel_zoom,box_zoom,reset", toolbar_location="above")
    edges = ColumnDataSource({"xs": [], "ys": []}, name="graph-edges")
    nodes = ColumnDataSource({"x": [], "y": [], "colour": [], "key": [], "state": []},
                             name="graph-nodes")
    fig.multi_line(xs="xs", ys="ys", source=edges, line_color="#999999", line_alpha=0.4)
    fig.scatter(x="x", y="y", fill_color="colour", line_color="#555555", size=8,
                source=nodes)
    fig.add_tools(HoverTool(tooltips=[("key", "@key"), ("state", "@state")]))
    fig.xaxis.visible = fig.yaxis.visible = False
    return fig


def figures_for(page: str) -> list[Any]:
    """The Bokeh figures of ``page`` (empty sources; live updates fill them)."""
    if page == "status":
        return [
            _rect_figure("task-stream", "Task stream (a row per worker thread; transfers "
                         "red, spills orange, errors black)", 320, datetime=True),
            _rect_figure("progress", "Progress per task prefix (done / in memory / "
                         "processing / waiting / erred)", 260),
            _bytes_axis(_rect_figure("memory", "Memory per worker (managed / unmanaged / "
                                     "spilled; the line is the limit)", 200, "bytes")),
            _rect_figure("processing", "Tasks processing per worker", 160, "tasks"),
            _rect_figure("cpu", "CPU per worker", 160, "percent"),
        ]
    if page == "graph":
        return [_graph_figure()]
    if page == "profile":
        return [_rect_figure("flame", "Where task time went (statistical profile; width: "
                             "share of samples)", 480, "share of samples")]
    return []


_BODY = {
    "status": "",
    "workers": '<table id="workers-table" class="data"><thead><tr></tr></thead>'
               "<tbody></tbody></table>",
    "graph": '<p id="graph-note"></p>',
    "profile": '<label>Task prefix <select id="profile-prefix"><option value="">all'
               '</option></select></label> <span id="profile-note"></span>',
    "info": '<h2>Scheduler</h2><dl id="info-scheduler"></dl><h2>Events</h2>'
            '<table id="info-events" class="data"><tbody></tbody></table>'
            '<h2>Logs</h2><table id="info-logs" class="data"><thead><tr><th>time</th>'
            "<th>process</th><th>level</th><th>logger</th><th>message</th></tr></thead>"
            "<tbody></tbody></table>",
}


@functools.lru_cache(maxsize=None)
def render_page(page: str, title: str = "plait") -> str:
    """The page's whole HTML: nav, alert area, figures embedded as JSON items (empty
    sources, so the same for every visitor: built once per page)."""
    from bokeh.embed import json_item

    items = [json_item(fig) for fig in figures_for(page)]
    here = ' class="here"'
    nav = " ".join(
        f'<a href="{name}"{here if name == page else ""}>{html.escape(label)}</a>'
        for name, label in PAGES.items())
    divs = "".join(f'<div id="fig-{i}" class="fig"></div>' for i in range(len(items)))
    # json.dumps leaves "</" as is; escape it so no string can close the script element.
    payload = json.dumps({"page": page, "items": items}).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}: {html.escape(PAGES[page])}</title>
<link rel="stylesheet" href="statics/plait/style.css">
<script src="statics/bokeh/js/bokeh.min.js"></script>
</head><body data-page="{html.escape(page)}">
<header><strong>plait</strong> <nav>{nav}</nav>
<span id="summary"></span> <span id="connection" class="off">connecting</span></header>
<div id="alerts"></div>
<main>{_BODY.get(page, "")}{divs}</main>
<script id="plait-items" type="application/json">{payload}</script>
<script src="statics/plait/live.js"></script>
</body></html>
"""

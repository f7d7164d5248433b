"""Graph pictures: the DOT structure is checked directly; rendering needs `dot`."""

import os
import shutil

import pytest

import plait
from plait import delayed

graphviz = pytest.importorskip("graphviz", reason="needs the graphviz Python package")

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and os.environ.get("CI") != "true",
    reason="needs the `dot` program (Debian package graphviz)",
)


def inc(x):
    return x + 1


def double(x):
    return 2 * x


def add(x, y):
    return x + y


def tree():
    out = [delayed(double)(delayed(inc)(x)) for x in range(1, 9)]
    while len(out) > 1:
        out = [delayed(add)(out[i], out[i + 1]) for i in range(0, len(out), 2)]
    return out[0]


def test_tree_reduction_dot_has_expected_nodes_and_edges():
    total = tree()
    img = plait.visualize(total, filename=None, format="dot", rankdir="LR")
    src = img.data.decode()
    assert "rankdir=LR" in src
    # 8 inc + 8 double + 7 add tasks: one circle and one box each
    circles = [line for line in src.splitlines() if "shape=circle" in line]
    boxes = [line for line in src.splitlines() if "shape=box" in line]
    assert len(circles) == 23 and len(boxes) == 23
    labels = sorted(line.split("label=")[1].split()[0] for line in circles)
    assert labels.count("inc") == 8 and labels.count("double") == 8 and labels.count("add") == 7
    edges = [line for line in src.splitlines() if "->" in line]
    # task->box for each of 23 tasks, plus inputs: 8 (inc->double) + 14 (adds)
    assert len(edges) == 23 + 8 + 14


def test_collapse_outputs_drops_output_box():
    src = plait.visualize(tree(), filename=None, format="dot", collapse_outputs=True).data.decode()
    assert sum("shape=box" in line for line in src.splitlines()) == 22


def test_color_order_fills_every_node():
    src = plait.visualize(tree(), filename=None, format="dot", color="order").data.decode()
    nodes = [line for line in src.splitlines() if "shape=" in line]
    assert all("fillcolor=" in line for line in nodes)
    with pytest.raises(ValueError, match="color mode"):
        plait.visualize(tree(), filename=None, format="dot", color="rainbow")


@needs_dot
@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_render_writes_file(tmp_path, fmt):
    target = tmp_path / "graph"
    img = tree().visualize(filename=str(target), format=fmt)
    written = tmp_path / f"graph.{fmt}"
    assert written.exists() and written.stat().st_size > 100
    assert img.data[:4] == {"png": b"\x89PNG", "svg": b"<?xm", "pdf": b"%PDF"}[fmt]


@needs_dot
def test_filename_extension_selects_format(tmp_path):
    img = plait.visualize(tree(), filename=str(tmp_path / "g.svg"))
    assert (tmp_path / "g.svg").exists() and img._repr_svg_().lstrip().startswith("<?xml")


def test_large_graph_warns():
    xs = [delayed(inc)(i) for i in range(2500)]
    with pytest.warns(UserWarning, match="2500 tasks"):
        plait.visualize(xs, filename=None, format="dot")


def test_missing_dot_explains_install(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        plait.visualize(tree(), filename=None, format="png")


def test_visualize_needs_collections():
    with pytest.raises(TypeError, match="collections"):
        plait.visualize(3)

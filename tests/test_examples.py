"""Every script in examples/ runs to the end, exit status 0, and says its checks passed."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import plait

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

# The line each script prints once its results matched plain Python.
SUCCESS = {
    "delayed_basics.py": "All results equal 88, the plain-Python total.",
    "schedulers.py": "All schedulers agree with plain Python.",
    "gil.py": "speed-up",
    "profiling.py": "Profiles recorded; results match plain Python.",
    "array_basics.py": "All array results match NumPy.",
    "fractal.py": "Fractal matches NumPy.",
    "distributed_local_cluster.py": "The cluster agrees with the local schedulers",
    "distributed_futures.py": "Futures agree with plain Python",
    "distributed_fractal.py": "Fractal on the cluster matches NumPy.",
    "dataframe_flights.py": "All flight answers match pandas.",
    "dataframe_basics.py": "All dataframe results match pandas.",
    "xarray_anomaly.py": "All anomalies match NumPy-backed xarray.",
}


def run_example(name: str, tmp_path: Path, **env_changes: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["TMPDIR"] = str(tmp_path)  # pictures and temporary files stay in the test's folder
    env.update(env_changes)
    return subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


def test_every_example_is_tested_and_documented():
    scripts = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert scripts == sorted(SUCCESS)
    readme = (EXAMPLES / "README.md").read_text()
    for name in scripts:
        assert f"`{name}`" in readme, f"{name} is not listed in examples/README.md"


@pytest.mark.parametrize("name", sorted(SUCCESS))
def test_example_has_docstring_naming_its_seed_and_a_main_guard(name):
    source = (EXAMPLES / name).read_text()
    assert source.startswith('"""'), f"{name} has no module docstring"
    assert "From the seed" in source.split('"""')[1]
    assert 'if __name__ == "__main__":' in source


@pytest.mark.parametrize("name", sorted(SUCCESS))
def test_example_runs(name, tmp_path):
    proc = run_example(name, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert SUCCESS[name] in proc.stdout, proc.stdout


def _can_draw() -> bool:
    return (hasattr(plait, "visualize") and shutil.which("dot") is not None
            and importlib.util.find_spec("graphviz") is not None)


def test_delayed_basics_draws_its_graphs_when_graphviz_is_there(tmp_path):
    if not _can_draw():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have Graphviz: the graphviz package and the dot program")
        pytest.skip("needs the graphviz package and the `dot` program (Debian: graphviz)")
    proc = run_example("delayed_basics.py", tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pictures = sorted(p.name for p in tmp_path.glob("plait-delayed-basics-*/*.png"))
    assert pictures == ["inc-inc-add.png", "linear-sum.png", "tree-reduction.png"], proc.stdout
    for p in tmp_path.glob("plait-delayed-basics-*/*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_delayed_basics_says_why_it_cannot_draw_without_dot(tmp_path):
    bin_dir = tmp_path / "bin"  # a PATH with python only, so `dot` cannot be found
    bin_dir.mkdir()
    proc = run_example("delayed_basics.py", tmp_path, PATH=str(bin_dir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Not drawing the graphs" in proc.stdout
    assert "`dot` program is not on PATH" in proc.stdout
    assert not list(tmp_path.glob("plait-delayed-basics-*"))

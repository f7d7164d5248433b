"""The public surface of plait.diagnostics, and that importing it stays light."""

import subprocess
import sys

import plait.callbacks
import plait.diagnostics as diagnostics


def test_all_is_exactly_the_curated_names():
    assert sorted(diagnostics.__all__) == sorted(
        ["Callback", "ProgressBar", "Profiler", "ResourceProfiler", "CacheProfiler",
         "visualize"])
    for name in diagnostics.__all__:
        assert hasattr(diagnostics, name), name
    assert diagnostics.Callback is plait.callbacks.Callback


def test_profilers_are_callbacks():
    for cls in (diagnostics.ProgressBar, diagnostics.Profiler, diagnostics.CacheProfiler,
                diagnostics.ResourceProfiler):
        assert issubclass(cls, diagnostics.Callback), cls


def test_import_does_not_import_bokeh_numpy_pandas_or_psutil():
    code = (
        "import sys, plait.diagnostics\n"
        "from plait.diagnostics import Profiler, ProgressBar, CacheProfiler, visualize\n"
        "heavy = [m for m in ('bokeh', 'numpy', 'pandas', 'psutil', 'IPython') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr

"""The package surface: curated names, light imports, Dask-style spellings."""

import subprocess
import sys

import plait


def test_import_plait_does_not_import_numpy_or_pandas():
    code = (
        "import sys, plait, plait.delayed, plait.local, plait.graph, plait.scheduling\n"
        "heavy = [m for m in ('numpy', 'pandas', 'pyarrow', 'bokeh') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_all_names_exist_and_are_curated():
    for name in plait.__all__:
        assert hasattr(plait, name), name
    public = {n for n in vars(plait) if not n.startswith("_")}
    submodules = {n for n in public if type(getattr(plait, n)).__name__ == "module"}
    assert public - submodules <= set(plait.__all__), public - submodules - set(plait.__all__)
    for sub in (plait.graph, plait.scheduling, plait.local):
        for name in sub.__all__:
            assert hasattr(sub, name)


def test_dask_spellings():
    assert plait.is_dask_collection is plait.is_collection
    assert callable(plait.get) and callable(plait.threaded.get)
    assert callable(plait.multiprocessing.get) and callable(plait.local.get_sync)
    assert plait.delayed(1).dask is not None


def test_version():
    assert isinstance(plait.__version__, str) and plait.__version__.count(".") >= 1

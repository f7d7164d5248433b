"""plait: parallel computing with task graphs.

``import plait as dask`` works: the names below mirror Dask's.
"""

from . import config, local, multiprocessing, threaded
from .annotations import annotate
from .callbacks import Callback
from .collection import compute, is_collection, is_dask_collection, optimize, persist
from .delayed import Delayed, delayed
from .local.execute import get_sync as get
from .sizeof import sizeof
from .tokenize import tokenize
from .visualize import visualize

__version__ = "0.1.0"

__all__ = [
    "Callback",
    "Delayed",
    "__version__",
    "annotate",
    "compute",
    "config",
    "delayed",
    "get",
    "is_collection",
    "is_dask_collection",
    "optimize",
    "persist",
    "sizeof",
    "tokenize",
    "visualize",
]


def __getattr__(name: str):
    # plait.datasets needs pandas only when a data set is made; importing it on first
    # use keeps ``import plait`` light while ``plait.datasets.timeseries()`` just works
    if name == "datasets":
        import importlib

        return importlib.import_module(".datasets", __name__)
    raise AttributeError(f"module 'plait' has no attribute {name!r}")

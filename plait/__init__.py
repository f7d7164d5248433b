"""plait: parallel computing with task graphs.

``import plait as dask`` works: the names below mirror Dask's.
"""

from . import config, local, multiprocessing, threaded
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

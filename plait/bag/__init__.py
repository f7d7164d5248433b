"""plait.bag: parallel lists of Python objects (``import plait.bag as db``).

Bags suit semi-structured data: log lines, JSON records, Python objects handled with
map, filter and folds. That code holds the GIL, so bags compute with processes by
default.
"""

from .core import Bag, Item
from .creation import concat, from_delayed, from_sequence, range, zip
from .text import read_text, to_textfiles

__all__ = [
    "Bag",
    "Item",
    "concat",
    "from_delayed",
    "from_sequence",
    "range",
    "read_text",
    "to_textfiles",
    "zip",
]

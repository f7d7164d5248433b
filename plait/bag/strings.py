"""``Bag.str``: Python's string methods, applied to every item of a bag.

``b.str.lower()`` is ``b.map(lambda s: s.lower())`` with a better name: any public
method of :class:`str` is reached by name, runs lazily item by item inside the
partition's task, and fuses with the steps around it. ``match`` filters by a shell-style
wildcard pattern.
"""

from __future__ import annotations

import fnmatch
import functools
from typing import Any, Callable, Iterable, Iterator

__all__ = ["StringAccessor"]

_STR_METHODS = frozenset(n for n in dir(str) if not n.startswith("_"))


class StringAccessor:
    """String methods for a bag of strings, reached as ``b.str``.

    Parameters
    ----------
    bag : Bag
        The bag whose items the methods apply to.

    Examples
    --------
    >>> import plait.bag as db
    >>> b = db.from_sequence(["Alice Smith", "Bob Brown", "Charlie Adams"], npartitions=2)
    >>> b.str.lower().compute(scheduler="sync")
    ['alice smith', 'bob brown', 'charlie adams']
    >>> b.str.split(" ").pluck(0).compute(scheduler="sync")
    ['Alice', 'Bob', 'Charlie']
    >>> b.str.match("*Brown").compute(scheduler="sync")
    ['Bob Brown']
    """

    __slots__ = ("_bag",)

    def __init__(self, bag: Any):
        self._bag = bag

    def __repr__(self) -> str:
        return f"<StringAccessor of {self._bag!r}>"

    def __dir__(self) -> list:
        return sorted(set(object.__dir__(self)) | _STR_METHODS)

    def __getattr__(self, name: str) -> Callable:
        if name.startswith("_") or name not in _STR_METHODS:
            raise AttributeError(
                f"'StringAccessor' object has no attribute {name!r}: b.str offers the "
                f"methods of str (lower, strip, split, ...) and match; {name!r} is not "
                f"one. For other functions use b.map(func)"
            )
        return self._method(name)

    def _method(self, name: str) -> Callable:
        bag = self._bag

        @functools.wraps(getattr(str, name))
        def method(*args: Any, **kwargs: Any) -> Any:
            return bag.map_partitions(_call_str_method, name, *args,
                                      token=f"str-{name}", **kwargs)

        return method

    def match(self, pattern: str) -> Any:
        """Keep the items that match a shell-style wildcard ``pattern``.

        ``*`` matches anything, ``?`` one character, ``[seq]`` one of ``seq``.

        >>> import plait.bag as db
        >>> b = db.from_sequence(["Alice", "Bob", "Alfred"])
        >>> b.str.match("Al*").compute(scheduler="sync")
        ['Alice', 'Alfred']
        """
        return self._bag.map_partitions(_match_items, pattern, token="str-match")


def _call_str_method(part: Iterable, name: str, *args: Any, **kwargs: Any) -> Iterator:
    return (getattr(s, name)(*args, **kwargs) for s in part)


def _match_items(part: Iterable, pattern: str) -> Iterator:
    return (s for s in part if fnmatch.fnmatch(s, pattern))

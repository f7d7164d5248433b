"""The Bag and Item collections: partitioned sequences of Python objects.

A :class:`Bag` is ``npartitions`` tasks, keys ``(name, i)``, each producing one
partition: a list of items. An :class:`Item` is one lazy value computed from a bag (a
reduction's result). Every operation adds one layer of tasks; a collection keeps its own
layer and links to the collections it was built from, so building a long pipeline costs
the size of its layers and the graph is collected once, by one walk, at compute time.

Partitions stream: element-wise steps (``map``, ``filter``, ``pluck``, ...) return lazy
iterators, and the bag's optimisation fuses each chain of such steps into one task per
partition that materialises a list only at its end (see :mod:`plait.bag.optimize`).
Every task boundary left after fusion materialises, so a partition read by two
consumers, or sent to another process, is always a list and never an exhausted
iterator.
"""

from __future__ import annotations

import itertools
import math
import operator
from typing import Any, Callable, Iterable, Iterator

from .. import annotations as _annotations
from ..collection import LayeredCollection, is_collection
from ..delayed import Delayed, _unique, delayed
from ..graph import Ref, Task, convert_graph
from .optimize import Lazy, optimize

__all__ = ["Bag", "Item", "no_default", "new_name"]


class _NoDefault:
    """Marks "no value given"; pickles by reference so ``is`` works in any process."""

    def __repr__(self) -> str:
        return "<no_default>"

    def __reduce__(self) -> str:
        return "no_default"


no_default: Any = _NoDefault()


def new_name(prefix: str) -> str:
    """A fresh collection name: ``prefix-<unique hex>``."""
    return f"{prefix}-{_unique()}"


def _finalize_bag(parts: list) -> list:
    out: list = []
    for p in parts:
        if isinstance(p, (str, bytes, dict)) or not hasattr(p, "__iter__"):
            out.append(p)  # map_partitions may give one value per partition
        else:
            out.extend(p)
    return out


def _finalize_item(results: list) -> Any:
    return results[0]


def _rebuild_bag(graph: dict, name: str, npartitions: int) -> "Bag":
    return Bag(graph, name, npartitions)


def _rebuild_item(graph: dict, key: Any) -> "Item":
    return Item(graph, key)


def _as_arg(obj: Any, deps: list) -> Any:
    """A task argument for ``obj``: Items, Delayed values and other collections become
    Refs to their keys (and dependencies)."""
    if isinstance(obj, Item):
        deps.append(obj)
        return Ref(obj.key)
    if isinstance(obj, Delayed):
        deps.append(obj)
        return Ref(obj.key)
    if isinstance(obj, Bag):
        raise TypeError(
            "a Bag cannot be an extra argument here; pass bags as the mapped "
            "sequences (b.map(f, other_bag)) or reduce it to an Item first"
        )
    if is_collection(obj):
        d = delayed(obj)
        deps.append(d)
        return Ref(d.key)
    return obj


_BAG_SLOT = object()  # where a bag argument's partition goes


class Bag(LayeredCollection):
    """A parallel collection of Python objects, split into partitions.

    Use :func:`plait.bag.from_sequence`, :func:`plait.bag.read_text` and friends to
    make one. ``Bag(dsk, name, npartitions)`` wraps a graph whose keys
    ``(name, 0) ... (name, npartitions - 1)`` hold the partitions.

    >>> import plait.bag as db
    >>> b = db.from_sequence(range(10), npartitions=3)
    >>> b.map(lambda x: x * 2).filter(lambda x: x > 5).compute()
    [6, 8, 10, 12, 14, 16, 18]
    """

    __plait_scheduler__ = "processes"
    __slots__ = ("name", "npartitions", "_layer", "_deps", "__weakref__")

    def __init__(self, dsk: dict, name: str, npartitions: int, deps: tuple = ()):
        if not isinstance(npartitions, int) or npartitions < 0:
            raise ValueError(f"npartitions must be a non-negative int, got {npartitions!r}")
        self.name = name
        self.npartitions = npartitions
        self._layer = convert_graph(dsk)
        if _annotations._current is not None:  # inside plait.annotate(...)
            _annotations.note(self, self._layer)
        self._deps = tuple(deps)

    # -- collection protocol -----------------------------------------------------------
    def __plait_keys__(self) -> list:
        return [(self.name, i) for i in range(self.npartitions)]

    def __plait_postcompute__(self) -> tuple:
        return _finalize_bag, ()

    def __plait_postpersist__(self) -> tuple:
        return _rebuild_bag, (self.name, self.npartitions)

    def __plait_tokenize__(self) -> Any:
        return ("bag", self.name, self.npartitions)

    __plait_optimize__ = staticmethod(optimize)

    # -- basics ------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"plait.bag<{self.name.rsplit('-', 1)[0]}, npartitions={self.npartitions}>"

    def __iter__(self) -> Iterator:
        return iter(self.compute())

    def __len__(self) -> int:
        raise TypeError(
            "len() of a Bag is not known without computing it; use b.count().compute()"
        )

    def to_delayed(self, optimize_graph: bool = True) -> list:
        """One Delayed per partition (each computes to a list)."""
        graph = self.__plait_graph__()
        keys = self.__plait_keys__()
        if optimize_graph:
            graph = optimize(graph, keys)
        return [Delayed(k, graph) for k in keys]

    @property
    def str(self) -> Any:
        """String methods applied to every item: ``b.str.lower()``."""
        from .strings import StringAccessor

        return StringAccessor(self)

    # -- building blocks ---------------------------------------------------------------
    def _partitionwise(self, prefix: str, func: Callable, *args: Any, lazy: bool = True,
                       **kwargs: Any) -> "Bag":
        """A new bag whose partition i is ``func(partition_i, *args, **kwargs)``.

        Bags among ``args`` contribute their partition i (same npartitions required).
        """
        name = new_name(prefix)
        deps: list = [self]
        bag_args = []
        targs = []
        for a in args:
            if isinstance(a, Bag):
                if a.npartitions != self.npartitions:
                    raise ValueError(
                        f"bags must have the same number of partitions to be mapped "
                        f"together: {self.npartitions} and {a.npartitions}; repartition "
                        f"one of them, e.g. other.repartition({self.npartitions})"
                    )
                deps.append(a)
                bag_args.append(a)
                targs.append(_BAG_SLOT)
            else:
                targs.append(_as_arg(a, deps))
        tkwargs = {k: _as_arg(v, deps) for k, v in kwargs.items()}
        f = Lazy(func) if lazy else func
        layer = {}
        for i in range(self.npartitions):
            it = iter(bag_args)
            call_args = [Ref((next(it).name, i)) if a is _BAG_SLOT else a for a in targs]
            layer[(name, i)] = Task((name, i), f, Ref((self.name, i)), *call_args, **tkwargs)
        return Bag(layer, name, self.npartitions, tuple(deps))

    def map_partitions(self, func: Callable, *args: Any, **kwargs: Any) -> "Bag":
        """Apply ``func`` to each whole partition (an iterable); it returns an iterable.

        >>> import plait.bag as db
        >>> db.from_sequence(range(6), npartitions=2).map_partitions(sum).compute()
        [3, 12]
        """
        token = kwargs.pop("token", None)
        prefix = token or getattr(func, "__name__", "map-partitions")
        return self._partitionwise(prefix, _call_partition, func, *args, **kwargs)

    def map(self, func: Callable, *args: Any, **kwargs: Any) -> "Bag":
        """Apply ``func`` to every item. Other bags in ``args`` are zipped item by item
        (same partitioning); Items, Delayed values and constants are passed as is.

        >>> import plait.bag as db
        >>> a = db.from_sequence([1, 2, 3], npartitions=2)
        >>> a.map(lambda x, y, k: x + y + k, a, k=10).compute()
        [12, 14, 16]
        """
        positions = tuple(i for i, a in enumerate(args) if isinstance(a, Bag))
        return self._partitionwise(_funcname(func), _map_items, func, positions, *args,
                                   **kwargs)

    def starmap(self, func: Callable, **kwargs: Any) -> "Bag":
        """``func(*item, **kwargs)`` for every item.

        >>> import plait.bag as db
        >>> db.from_sequence([(1, 2), (3, 4)]).starmap(operator.add).compute()
        [3, 7]
        """
        return self._partitionwise(_funcname(func), _starmap_items, func, **kwargs)

    def filter(self, predicate: Callable) -> "Bag":
        """Keep the items for which ``predicate`` is true."""
        return self._partitionwise("filter", _filter_items, predicate)

    def remove(self, predicate: Callable) -> "Bag":
        """Drop the items for which ``predicate`` is true."""
        return self._partitionwise("remove", _remove_items, predicate)

    def pluck(self, key: Any, default: Any = no_default) -> "Bag":
        """``item[key]`` for every item; a list of keys gives tuples.

        >>> import plait.bag as db
        >>> b = db.from_sequence([{"a": 1, "b": 2}, {"a": 3}])
        >>> b.pluck("a").compute(), b.pluck("b", None).compute()
        ([1, 3], [2, None])
        >>> b.pluck(["a", "a"]).compute()
        [(1, 1), (3, 3)]
        """
        return self._partitionwise("pluck", _pluck_items, key, default)

    def flatten(self) -> "Bag":
        """Concatenate the items, which must be iterables.

        >>> import plait.bag as db
        >>> db.from_sequence([[1, 2], [3]]).flatten().compute()
        [1, 2, 3]
        """
        return self._partitionwise("flatten", itertools.chain.from_iterable)

    def accumulate(self, binop: Callable, initial: Any = no_default) -> "Bag":
        """Running ``binop`` over all items, in order, across partitions.

        >>> import plait.bag as db
        >>> db.from_sequence([1, 2, 3, 4], npartitions=2).accumulate(operator.add).compute()
        [1, 3, 6, 10]
        """
        name = new_name("accumulate")
        carry = new_name("accumulate-carry")
        layer: dict = {}
        for i in range(self.npartitions):
            prev = Ref((carry, i - 1)) if i else (None, initial)
            layer[(carry, i)] = Task((carry, i), _accumulate_part, binop, prev,
                                     Ref((self.name, i)))
            layer[(name, i)] = Task((name, i), operator.itemgetter(0), Ref((carry, i)))
        return Bag(layer, name, self.npartitions, (self,))

    def random_sample(self, prob: float, random_state: Any = None) -> "Bag":
        """Each item kept with probability ``prob``; reproducible with ``random_state``.

        >>> import plait.bag as db
        >>> b = db.from_sequence(range(100), npartitions=4)
        >>> b.random_sample(0.1, 42).compute() == b.random_sample(0.1, 42).compute()
        True
        """
        if not 0 <= prob <= 1:
            raise ValueError(f"prob must be between 0 and 1, got {prob!r}")
        import random

        seed_source = random.Random(random_state) if random_state is not None else random.Random()
        seeds = [seed_source.getrandbits(64) for _ in range(self.npartitions)]
        name = new_name("random-sample")
        layer = {
            (name, i): Task((name, i), Lazy(_sample_items), Ref((self.name, i)), prob, seeds[i])
            for i in range(self.npartitions)
        }
        return Bag(layer, name, self.npartitions, (self,))

    def product(self, other: "Bag") -> "Bag":
        """Cartesian product with ``other``: pairs ``(a, b)``.

        >>> import plait.bag as db
        >>> db.from_sequence([1, 2]).product(db.from_sequence("ab")).compute()
        [(1, 'a'), (1, 'b'), (2, 'a'), (2, 'b')]
        """
        name = new_name("product")
        layer = {}
        n = 0
        for i in range(self.npartitions):
            for j in range(other.npartitions):
                layer[(name, n)] = Task((name, n), _product_parts, Ref((self.name, i)),
                                        Ref((other.name, j)))
                n += 1
        return Bag(layer, name, n, (self, other))

    def repartition(self, npartitions: int | None = None, partition_size: int | None = None) -> "Bag":
        """The same items in ``npartitions`` partitions, or in partitions of about
        ``partition_size`` items (this needs one pass to count them)."""
        from .repartition import repartition

        return repartition(self, npartitions=npartitions, partition_size=partition_size)

    # -- reductions --------------------------------------------------------------------
    def reduction(self, perpartition: Callable, aggregate: Callable,
                  split_every: int | None = None, out_type: type = None,
                  name: str | None = None) -> "Item | Bag":
        """``aggregate`` over ``perpartition`` of each partition, as a tree reduction
        (``split_every`` results combined per step, default 8).

        >>> import plait.bag as db
        >>> db.from_sequence(range(10), npartitions=4).reduction(sum, sum).compute()
        45
        """
        from .reductions import reduction

        return reduction(self, perpartition, aggregate, split_every=split_every,
                         out_type=out_type, name=name)

    def fold(self, binop: Callable, combine: Callable | None = None,
             initial: Any = no_default, split_every: int | None = None,
             out_type: type = None) -> "Item | Bag":
        """Reduce with ``binop`` within partitions and ``combine`` (default ``binop``)
        across them.

        >>> import plait.bag as db
        >>> db.from_sequence(range(5), npartitions=2).fold(operator.add).compute()
        10
        """
        from .reductions import fold

        return fold(self, binop, combine, initial, split_every, out_type)

    def foldby(self, key: Any, binop: Callable, initial: Any = no_default,
               combine: Callable | None = None, combine_initial: Any = no_default,
               split_every: int | None = None) -> "Bag":
        """Grouped fold without a shuffle: ``(group, value)`` pairs.

        >>> import plait.bag as db
        >>> b = db.from_sequence(range(10), npartitions=3)
        >>> sorted(b.foldby(lambda x: x % 2, operator.add, 0).compute())
        [(0, 20), (1, 25)]
        """
        from .reductions import foldby

        return foldby(self, key, binop, initial, combine, combine_initial, split_every)

    def frequencies(self, split_every: int | None = None, sort: bool = False) -> "Bag":
        """``(item, count)`` pairs; ``sort=True`` orders by count, highest first."""
        from .reductions import frequencies

        return frequencies(self, split_every=split_every, sort=sort)

    def topk(self, k: int, key: Any = None, split_every: int | None = None) -> "Bag":
        """The ``k`` largest items (by ``key``: a function or an index), largest first.

        >>> import plait.bag as db
        >>> db.from_sequence([5, 1, 9, 3], npartitions=2).topk(2).compute()
        [9, 5]
        """
        from .reductions import topk

        return topk(self, k, key=key, split_every=split_every)

    def distinct(self, key: Callable | None = None) -> "Bag":
        """Items with duplicates removed (by ``key`` when given), first seen kept."""
        from .reductions import distinct

        return distinct(self, key=key)

    def count(self, split_every: int | None = None) -> "Item":
        return self.reduction(_count, sum, split_every=split_every, name="count")

    def sum(self, split_every: int | None = None) -> "Item":
        return self.reduction(sum, sum, split_every=split_every, name="sum")

    def min(self, split_every: int | None = None) -> "Item":
        return self.reduction(_min_or_none, _min_skipping_none, split_every=split_every,
                              name="min")

    def max(self, split_every: int | None = None) -> "Item":
        return self.reduction(_max_or_none, _max_skipping_none, split_every=split_every,
                              name="max")

    def all(self, split_every: int | None = None) -> "Item":
        return self.reduction(all, all, split_every=split_every, name="all")

    def any(self, split_every: int | None = None) -> "Item":
        return self.reduction(any, any, split_every=split_every, name="any")

    def mean(self) -> "Item":
        """Mean of the items.

        >>> import plait.bag as db
        >>> db.from_sequence([1, 2, 3, 4], npartitions=2).mean().compute()
        2.5
        """
        from .reductions import mean

        return mean(self)

    def var(self, ddof: int = 0) -> "Item":
        from .reductions import var

        return var(self, ddof)

    def std(self, ddof: int = 0) -> "Item":
        """Standard deviation (``ddof`` as in NumPy)."""
        return self.var(ddof).apply(math.sqrt)

    def join(self, other: Iterable, on_self: Callable, on_other: Callable | None = None) -> "Bag":
        """Join with an in-memory iterable (or a Delayed one): ``(other_item, item)``
        pairs where the keys match.

        >>> import plait.bag as db
        >>> b = db.from_sequence([1, 2, 3, 4], npartitions=2)
        >>> b.join([2, 4, 6], lambda x: x).compute()
        [(2, 2), (4, 4)]
        """
        if isinstance(other, Bag):
            raise TypeError(
                "join works with an in-memory iterable or a Delayed one; to join two "
                "bags, groupby both or convert the smaller one: other.compute()"
            )
        on_other = on_self if on_other is None else on_other
        if not isinstance(other, (Delayed, Item)):
            other = list(other)
        return self._partitionwise("join", _join_part, other, on_self, on_other)

    def groupby(self, grouper: Callable, method: str | None = None,
                npartitions: int | None = None, shuffle: str | None = None,
                **kwargs: Any) -> "Bag":
        """``(key, [items])`` pairs, through a shuffle. Prefer :meth:`foldby` when
        the groups are then reduced: it needs no shuffle."""
        from .groupby import groupby

        return groupby(self, grouper, method=method, npartitions=npartitions,
                       shuffle=shuffle, **kwargs)

    # -- output ------------------------------------------------------------------------
    def take(self, k: int, npartitions: int = 1, compute: bool = True,
             warn: bool = True) -> Any:
        """The first ``k`` items, computing only the first ``npartitions`` partitions
        (``-1`` for all).

        >>> import plait.bag as db
        >>> db.from_sequence(range(10), npartitions=5).take(3, npartitions=2)
        (0, 1, 2)
        """
        from .output import take

        return take(self, k, npartitions=npartitions, compute=compute, warn=warn)

    def to_textfiles(self, path: Any, name_function: Callable | None = None,
                     compression: str = "infer", encoding: str = "utf-8",
                     compute: bool = True, storage_options: dict | None = None,
                     last_endline: bool = False, **kwargs: Any) -> Any:
        """Write one text file per partition, one item per line."""
        from .text import to_textfiles

        return to_textfiles(self, path, name_function=name_function,
                            compression=compression, encoding=encoding, compute=compute,
                            storage_options=storage_options, last_endline=last_endline,
                            **kwargs)

    def to_dataframe(self, meta: Any = None, columns: Any = None,
                     optimize_graph: bool = True) -> Any:
        """A plait DataFrame with one partition per partition of this bag.

        Items are dicts (keys become columns) or tuples (``columns=`` names them).
        ``meta`` (an empty pandas DataFrame, a ``{column: dtype}`` dict or a list of
        pairs) gives the columns and dtypes; without it the first item is computed
        to infer them.

        >>> import plait.bag as db
        >>> b = db.from_sequence([(1, "a"), (2, "b"), (3, "c")], npartitions=2)
        >>> int(b.to_dataframe(columns=["n", "s"]).n.sum().compute(scheduler="sync"))
        6
        """
        from ..dataframe.io.from_bag import bag_to_dataframe

        return bag_to_dataframe(self, meta=meta, columns=columns,
                                optimize_graph=optimize_graph)


class Item(LayeredCollection):
    """One lazy value computed from a bag, e.g. ``b.sum()``.

    >>> import plait.bag as db
    >>> s = db.from_sequence([1, 2, 3]).sum()
    >>> s.compute(), s.apply(lambda v: v * 10).compute()
    (6, 60)
    """

    __plait_scheduler__ = "processes"
    __slots__ = ("key", "_layer", "_deps", "__weakref__")

    def __init__(self, dsk: dict, key: Any, deps: tuple = ()):
        self.key = key
        self._layer = convert_graph(dsk)
        if _annotations._current is not None:  # inside plait.annotate(...)
            _annotations.note(self, self._layer)
        self._deps = tuple(deps)

    def __plait_keys__(self) -> list:
        return [self.key]

    def __plait_postcompute__(self) -> tuple:
        return _finalize_item, ()

    def __plait_postpersist__(self) -> tuple:
        return _rebuild_item, (self.key,)

    def __plait_tokenize__(self) -> Any:
        return ("item", self.key)

    __plait_optimize__ = staticmethod(optimize)

    def apply(self, func: Callable) -> "Item":
        """A new Item: ``func`` of this one's value."""
        key = new_name(_funcname(func))
        return Item({key: Task(key, func, Ref(self.key))}, key, (self,))

    def to_delayed(self, optimize_graph: bool = True) -> Delayed:
        graph = self.__plait_graph__()
        if optimize_graph:
            graph = optimize(graph, [self.key])
        return Delayed(self.key, graph)

    def __repr__(self) -> str:
        return f"plait.bag.Item<{self.key}>"

    def __bool__(self) -> bool:
        raise TypeError("the truth value of an Item is not known until it is computed; "
                        "call .compute() first")


# -- per-partition functions (module level so process pools can pickle them) ---------

def _funcname(func: Any) -> str:
    name = getattr(func, "__name__", None)
    if not isinstance(name, str) or name == "<lambda>":
        name = "lambda" if name == "<lambda>" else type(func).__name__
    return name


def _call_partition(part: Iterable, func: Callable, *args: Any, **kwargs: Any) -> Any:
    return func(part, *args, **kwargs)


def _map_items(part: Iterable, func: Callable, positions: tuple, *args: Any,
               **kwargs: Any) -> Iterator:
    """``func`` over the items; the arguments at ``positions`` are partitions of other
    bags, zipped item by item, the rest are passed as they are."""
    if not args:
        return (func(x, **kwargs) for x in part) if kwargs else map(func, part)
    iters = [iter(a) if i in positions else itertools.repeat(a) for i, a in enumerate(args)]
    return (func(x, *rest, **kwargs) for x, *rest in zip(part, *iters))


def _starmap_items(part: Iterable, func: Callable, **kwargs: Any) -> Iterator:
    if kwargs:
        return (func(*x, **kwargs) for x in part)
    return itertools.starmap(func, part)


def _filter_items(part: Iterable, predicate: Callable) -> Iterator:
    return filter(predicate, part)


def _remove_items(part: Iterable, predicate: Callable) -> Iterator:
    return itertools.filterfalse(predicate, part)


def _pluck_items(part: Iterable, key: Any, default: Any) -> Iterator:
    if isinstance(key, list):
        if default is no_default:
            return (tuple(x[k] for k in key) for x in part)
        return (tuple(_get(x, k, default) for k in key) for x in part)
    if default is no_default:
        return map(operator.itemgetter(key), part)
    return (_get(x, key, default) for x in part)


def _get(x: Any, key: Any, default: Any) -> Any:
    try:
        return x[key]
    except (KeyError, IndexError, TypeError):
        return default


def _accumulate_part(binop: Callable, prev: tuple, part: Iterable) -> tuple:
    """(running values of this partition, the last one); ``prev`` is the previous
    partition's pair, whose second item carries over (no_default: nothing yet)."""
    out = []
    acc = prev[1]
    it = iter(part)
    if acc is no_default:  # the first item starts the running value
        try:
            acc = next(it)
        except StopIteration:
            return out, no_default
        out.append(acc)
    for x in it:
        acc = binop(acc, x)
        out.append(acc)
    return out, acc


def _sample_items(part: Iterable, prob: float, seed: int) -> Iterator:
    import random

    rng = random.Random(seed)
    return (x for x in part if rng.random() < prob)


def _product_parts(a: Iterable, b: Iterable) -> list:
    b = list(b)
    return [(x, y) for x in a for y in b]


def _join_part(part: Iterable, other: Iterable, on_self: Callable, on_other: Callable) -> Iterator:
    index: dict = {}
    for o in other:
        index.setdefault(on_other(o), []).append(o)
    for x in part:
        for o in index.get(on_self(x), ()):
            yield (o, x)


def _count(part: Iterable) -> int:
    n = 0
    for _ in part:
        n += 1
    return n


class _Empty:
    """What min/max of an empty partition give; pickles by reference."""

    def __reduce__(self) -> str:
        return "_EMPTY"


_EMPTY = _Empty()


def _min_or_none(part: Iterable) -> Any:
    return min(part, default=_EMPTY)


def _max_or_none(part: Iterable) -> Any:
    return max(part, default=_EMPTY)


def _min_skipping_none(values: Iterable) -> Any:
    vals = [v for v in values if v is not _EMPTY]
    if not vals:
        raise ValueError("min() of an empty bag")
    return min(vals)


def _max_skipping_none(values: Iterable) -> Any:
    vals = [v for v in values if v is not _EMPTY]
    if not vals:
        raise ValueError("max() of an empty bag")
    return max(vals)

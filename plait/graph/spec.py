"""The task spec: the nodes a graph is made of.

A graph is a plain ``dict`` from keys to nodes. A key is a ``str`` or a tuple whose
first item is a ``str`` and whose other items are ints. A node is one of three small
immutable classes:

- :class:`Task` calls a function; any argument may hold :class:`Ref` objects (inside
  lists, tuples and dicts) that name other keys.
- :class:`Data` is a literal value.
- :class:`Alias` is the value of another key.

Each node knows its dependencies as a tuple of distinct keys in argument order, computed
once when the node is made,
so that a string which happens to equal a key is never taken for a reference, and so
that executors never walk arguments again to find what a task needs.

Dask's classic graphs (dicts of ``(func, *args)`` tuples) are accepted at the boundary
and converted once by :func:`convert_graph`.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Mapping

Key = Hashable

__all__ = [
    "Key",
    "Ref",
    "Task",
    "Data",
    "Alias",
    "Node",
    "is_key",
    "key_prefix",
    "convert_graph",
    "as_node",
]


def is_key(obj: object) -> bool:
    """Whether ``obj`` has the shape of a key: a str, or a tuple (str, int, ...).

    >>> is_key("a"), is_key(("x-1", 0, 2)), is_key((1, 2)), is_key(["a"])
    (True, True, False, False)
    """
    t = type(obj)
    if t is str:
        return True
    if t is tuple:
        return bool(obj) and type(obj[0]) is str and all(type(i) is int for i in obj[1:])
    return False


def key_prefix(key: Key) -> str:
    """The name a key belongs to, without its token: ``"inc-3f2a" -> "inc"``.

    >>> key_prefix(("add-8c1f0e2d", 0, 1)), key_prefix("sum-ab12cd34ef56"), key_prefix("x")
    ('add', 'sum', 'x')
    """
    name = key[0] if type(key) is tuple else key
    if not isinstance(name, str):
        return str(name)
    head, sep, tail = name.rpartition("-")
    if sep and len(tail) >= 8 and all(c in "0123456789abcdef" for c in tail):
        return head
    return name


class Ref:
    """A reference to the value of another key, placed inside a task's arguments.

    >>> Ref("x")
    Ref('x')
    """

    __slots__ = ("key",)

    def __init__(self, key: Key):
        self.key = key

    def __repr__(self) -> str:
        return f"Ref({self.key!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is Ref and other.key == self.key

    def __hash__(self) -> int:
        return hash(("plait-ref", self.key))

    def __reduce__(self):
        return (Ref, (self.key,))


def _collect_refs(obj: Any, out: dict) -> bool:
    """Add the keys of the Refs inside ``obj`` to the dict ``out``; say if there were any."""
    t = type(obj)
    if t is Ref:
        out[obj.key] = None
        return True
    found = False
    if t is list or t is tuple or t is set or t is frozenset:
        for item in obj:
            found = _collect_refs(item, out) or found
    elif t is dict:
        for item in obj.values():
            found = _collect_refs(item, out) or found
    return found


def _has_ref(obj: Any) -> bool:
    return _collect_refs(obj, {})


def _substitute(obj: Any, data: Mapping) -> Any:
    """Replace every Ref inside ``obj`` by its value in ``data``."""
    t = type(obj)
    if t is Ref:
        return data[obj.key]
    if t is list:
        return [_substitute(i, data) for i in obj]
    if t is tuple:
        return tuple(_substitute(i, data) for i in obj)
    if t is dict:
        return {k: _substitute(v, data) for k, v in obj.items()}
    if t is set or t is frozenset:
        return t(_substitute(i, data) for i in obj)
    return obj


class Node:
    """Base of the node classes: a key and the keys it depends on."""

    __slots__ = ("key", "dependencies")

    key: Key
    dependencies: tuple

    def run(self, data: Mapping) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError


class Task(Node):
    """Call ``func(*args, **kwargs)`` with every :class:`Ref` replaced by its value.

    >>> t = Task("z", sum, [Ref("x"), Ref("y"), 3])
    >>> t.dependencies
    ('x', 'y')
    >>> t.run({"x": 5, "y": 7})
    15
    """

    __slots__ = ("func", "args", "kwargs", "_plan")

    def __init__(self, key: Key, func: Callable, /, *args: Any, **kwargs: Any):
        if not callable(func):
            raise TypeError(
                f"Task {key!r}: func must be callable, got {type(func).__name__} {func!r}"
            )
        self.key = key
        self.func = func
        self.args = args
        self.kwargs = kwargs
        deps: dict = {}  # insertion-ordered set: dependencies keep argument order
        nested = False
        for a in args:
            if type(a) is Ref:
                deps[a.key] = None
            elif _collect_refs(a, deps):
                nested = True
        for v in kwargs.values():
            if _collect_refs(v, deps):
                nested = True
        self.dependencies = tuple(deps)
        # How run() resolves arguments: 0 none to resolve, 1 top-level Refs only, 2 nested.
        if nested:
            self._plan = 2
        elif deps:
            self._plan = 1
        else:
            self._plan = 0

    def run(self, data: Mapping) -> Any:
        plan = self._plan
        if plan == 0:
            return self.func(*self.args, **self.kwargs)
        if plan == 1:
            return self.func(
                *[data[a.key] if type(a) is Ref else a for a in self.args], **self.kwargs
            )
        args = [_substitute(a, data) for a in self.args]
        kwargs = {k: _substitute(v, data) for k, v in self.kwargs.items()}
        return self.func(*args, **kwargs)

    def call(self, func: Callable, data: Mapping) -> Any:
        """Like :meth:`run`, but call ``func`` with this task's resolved arguments."""
        if self._plan == 2:
            args = [_substitute(a, data) for a in self.args]
            kwargs = {k: _substitute(v, data) for k, v in self.kwargs.items()}
            return func(*args, **kwargs)
        return func(*[data[a.key] if type(a) is Ref else a for a in self.args], **self.kwargs)

    def __repr__(self) -> str:
        name = getattr(self.func, "__name__", type(self.func).__name__)
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        text = ", ".join(parts)
        if len(text) > 80:
            text = text[:77] + "..."
        return f"Task({self.key!r}, {name}({text}))"

    def __reduce__(self):
        return (_rebuild_task, (self.key, self.func, self.args, self.kwargs))

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is Task
            and other.key == self.key
            and other.func == self.func
            and other.args == self.args
            and other.kwargs == self.kwargs
        )

    def __hash__(self) -> int:
        return hash(("plait-task", self.key))


def _rebuild_task(key, func, args, kwargs):
    return Task(key, func, *args, **kwargs)


class Data(Node):
    """A literal value stored in the graph.

    >>> Data("x", 3).run({})
    3
    """

    __slots__ = ("value",)

    def __init__(self, key: Key, value: Any):
        self.key = key
        self.value = value
        self.dependencies = ()

    def run(self, data: Mapping) -> Any:
        return self.value

    def __repr__(self) -> str:
        text = repr(self.value)
        if len(text) > 60:
            text = text[:57] + "..."
        return f"Data({self.key!r}, {text})"

    def __reduce__(self):
        return (Data, (self.key, self.value))

    def __eq__(self, other: object) -> bool:
        return type(other) is Data and other.key == self.key and other.value is self.value

    def __hash__(self) -> int:
        return hash(("plait-data", self.key))


class Alias(Node):
    """The value of another key under a new name.

    >>> Alias("y", "x").run({"x": 1})
    1
    """

    __slots__ = ("target",)

    def __init__(self, key: Key, target: Key):
        self.key = key
        self.target = target
        self.dependencies = (target,)

    def run(self, data: Mapping) -> Any:
        return data[self.target]

    def __repr__(self) -> str:
        return f"Alias({self.key!r}, {self.target!r})"

    def __reduce__(self):
        return (Alias, (self.key, self.target))

    def __eq__(self, other: object) -> bool:
        return type(other) is Alias and other.key == self.key and other.target == self.target

    def __hash__(self) -> int:
        return hash(("plait-alias", self.key))


# --- conversion from Dask's classic dict-of-tuples form -------------------------------


def _is_call(obj: Any) -> bool:
    return type(obj) is tuple and bool(obj) and callable(obj[0]) and not is_key(obj)


def _is_ref_to(obj: Any, keys: Mapping) -> bool:
    if type(obj) is str or type(obj) is tuple and is_key(obj):
        return obj in keys
    return False


class _Call:
    """A call nested inside a classic task's arguments, e.g. the inner ``(inc, 'x')`` of
    ``(add, (inc, 'x'), 1)``; evaluated inside the task that holds it."""

    __slots__ = ("func", "args", "kwargs")

    def __init__(self, func: Callable, args: tuple, kwargs: dict | None = None):
        self.func = func
        self.args = args
        self.kwargs = kwargs or {}

    def __reduce__(self):
        return (_Call, (self.func, self.args, self.kwargs))


class _Slot:
    """Where the n-th dependency value goes in a nested-call template."""

    __slots__ = ()


_SLOT = _Slot()


def _template(obj: Any, keys: Mapping, refs: list) -> Any:
    """Classic value -> template: keys become slots (their Refs appended to ``refs``),
    inner ``(func, *args)`` tuples become :class:`_Call`."""
    if _is_ref_to(obj, keys):
        refs.append(Ref(obj))
        return _SLOT
    t = type(obj)
    if t is tuple:
        if _is_call(obj):
            return _Call(obj[0], tuple(_template(a, keys, refs) for a in obj[1:]))
        return tuple(_template(a, keys, refs) for a in obj)
    if t is list:
        return [_template(a, keys, refs) for a in obj]
    if t is dict:
        return {k: _template(v, keys, refs) for k, v in obj.items()}
    return obj


def _evaluate(obj: Any, values) -> Any:
    """Fill slots from the iterator ``values`` and evaluate nested calls."""
    if obj is _SLOT:
        return next(values)
    t = type(obj)
    if t is _Call:
        args = [_evaluate(a, values) for a in obj.args]
        if obj.kwargs:
            return obj.func(*args, **{k: _evaluate(v, values) for k, v in obj.kwargs.items()})
        return obj.func(*args)
    if t is tuple:
        return tuple(_evaluate(a, values) for a in obj)
    if t is list:
        return [_evaluate(a, values) for a in obj]
    if t is dict:
        return {k: _evaluate(v, values) for k, v in obj.items()}
    return obj


class _Evaluate:
    """The function of a converted classic task: evaluates its template."""

    __slots__ = ("template",)

    def __init__(self, template: Any):
        self.template = template

    def __call__(self, *values: Any) -> Any:
        return _evaluate(self.template, iter(values))

    def __reduce__(self):
        return (_Evaluate, (self.template,))

    @property
    def __name__(self) -> str:
        t = self.template
        return getattr(t.func, "__name__", "call") if type(t) is _Call else "literal"


def _to_args(obj: Any, keys: Mapping) -> tuple[Any, bool]:
    """Classic argument -> Task argument with Refs; False if it holds a nested call."""
    if _is_ref_to(obj, keys):
        return Ref(obj), True
    t = type(obj)
    if t is tuple and _is_call(obj):
        return None, False
    if t is tuple or t is list:
        items = []
        for a in obj:
            v, ok = _to_args(a, keys)
            if not ok:
                return None, False
            items.append(v)
        return t(items), True
    if t is dict:
        out = {}
        for k, a in obj.items():
            v, ok = _to_args(a, keys)
            if not ok:
                return None, False
            out[k] = v
        return out, True
    return obj, True


def as_node(key: Key, value: Any, keys: Mapping) -> Node:
    """Convert one classic graph entry to a node.

    >>> from operator import add
    >>> as_node("z", (add, "x", 1), {"x": None, "z": None})
    Task('z', add(Ref('x'), 1))
    >>> as_node("y", "x", {"x": None, "y": None})
    Alias('y', 'x')
    >>> as_node("x", 1, {"x": None})
    Data('x', 1)
    >>> as_node("w", (add, (add, "x", 1), 2), {"x": 1, "w": None}).run({"x": 1})
    4
    """
    if isinstance(value, Node):
        return value
    if _is_ref_to(value, keys) and value != key:
        return Alias(key, value)
    if _is_call(value):
        args, ok = _to_args(value[1:], keys)
        if ok:
            return Task(key, value[0], *args)
    elif type(value) in (tuple, list, dict):
        converted, ok = _to_args(value, keys)
        if ok and not _has_ref(converted):
            return Data(key, value)
    else:
        return Data(key, value)
    refs: list = []
    template = _template(value, keys, refs)
    return Task(key, _Evaluate(template), *refs)


def convert_graph(dsk: Mapping) -> dict:
    """Convert a graph that may be in Dask's classic form into ``{key: Node}``.

    Entries that are already nodes are kept as they are.

    >>> from operator import add
    >>> g = convert_graph({"x": 1, "y": (add, "x", 10), "z": "y"})
    >>> [type(n).__name__ for n in g.values()]
    ['Data', 'Task', 'Alias']
    """
    out = {}
    converted = True
    for v in dsk.values():
        if not isinstance(v, Node):
            converted = False
            break
    if converted:
        return dict(dsk)
    for k, v in dsk.items():
        out[k] = as_node(k, v, dsk)
    return out


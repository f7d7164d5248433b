"""Configuration: one nested dict, built from defaults, files and environment variables.

``config`` holds the live settings. It is built at import (and again by ``refresh``)
from these sources, each overriding the ones before it, merged key by key:

1. ``defaults``: ``plait/plait.yaml``, then whatever subpackages add with
   ``update_defaults``;
2. YAML files: every ``*.yaml``/``*.yml`` in ``~/.config/plait/`` and then in the
   directory named by ``$PLAIT_CONFIG`` (``paths`` lists the search paths);
3. ``PLAIT_*`` environment variables: ``PLAIT_ARRAY__CHUNK_SIZE=64MiB`` sets
   ``array.chunk-size``; a double underscore nests, names are lower-cased, values are
   read as Python literals where they parse (``0.7``, ``None``, ``[1, 2]``) and kept as
   strings otherwise.

``set(...)`` then changes values at run time, for good or for the span of a ``with``
block. Keys are normalised so that ``-`` and ``_`` are the same (stored with ``-``):
``get("array.chunk_size")`` and ``get("array.chunk-size")`` agree. Setting a key that
looks like a misspelling of a known key warns; ``scheduler`` and ``num_workers`` are
checked when set, so a typo fails at the ``set`` call and not deep inside ``compute``.
"""

from __future__ import annotations

import ast
import builtins
import copy
import difflib
import functools
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yaml

__all__ = [
    "SCHEDULER_NAMES", "canonical_key", "collect", "collect_env", "collect_yaml",
    "config", "config_lock", "defaults", "deprecations", "expand_environment_variables",
    "get", "merge", "open_sections", "paths", "refresh", "register_scheduler_name",
    "rename", "set", "update", "update_defaults", "validators",
]

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plait.yaml")
ENV_PREFIX = "PLAIT_"
ENV_PATH_VARIABLE = "PLAIT_CONFIG"

paths: list[str] = [os.path.join(os.path.expanduser("~"), ".config", "plait")]
if os.environ.get(ENV_PATH_VARIABLE):
    paths.append(os.environ[ENV_PATH_VARIABLE])

defaults: list[dict] = []
config: dict = {}
config_lock = threading.Lock()

#: Old key -> new key. Setting or reading an old key warns and uses the new one.
deprecations: dict[str, str] = {"dataframe.shuffle.algorithm": "dataframe.shuffle.method"}

SCHEDULER_NAMES: tuple[str, ...] = (
    "sync", "synchronous", "single-threaded", "threads", "threading", "processes",
    "multiprocessing",
)

#: Sections whose sub-keys are free-form: setting unknown keys under them never warns.
open_sections: builtins.set[str] = builtins.set()

_missing: Any = object()
# (id(config), path) of sections that set() created; emptied, they go when set() exits.
_made_sections: builtins.set[tuple[int, tuple]] = builtins.set()


def canonical_key(key: Any) -> Any:
    """The stored spelling of one key: ``_`` becomes ``-``; non-strings pass through.

    >>> canonical_key("chunk_size")
    'chunk-size'
    """
    return key.replace("_", "-") if isinstance(key, str) else key


@functools.lru_cache(maxsize=4096)
def _path(key: str) -> tuple:
    # Cached: get() runs on hot paths (every delayed call asks for delayed-pure).
    return tuple(canonical_key(part) for part in key.split("."))


@functools.lru_cache(maxsize=4096)
def _dotted(key: str) -> str:
    return ".".join(_path(key))


def _deprecated(key: str, stacklevel: int) -> str:
    """``key``, or the key that replaced it (with a ``FutureWarning``)."""
    if not deprecations:
        return key
    new = deprecations.get(_dotted(key))
    if new is not None:
        warnings.warn(f"configuration key {key!r} is deprecated; use {new!r} instead",
                      FutureWarning, stacklevel=stacklevel + 1)
    return key if new is None else new


def _flatten(d: Mapping, prefix: tuple = ()) -> Iterable[tuple[tuple, Any]]:
    """``(path, value)`` for every key, sections included, depth first."""
    for key, value in d.items():
        path = prefix + (key,)
        yield path, value
        if isinstance(value, Mapping):
            yield from _flatten(value, path)


def _keys(*dicts: Mapping) -> list[str]:
    """Every dotted key in ``dicts``, sections included."""
    return sorted({".".join(map(str, p)) for d in dicts for p, _ in _flatten(d)})


def _closest(key: str, candidates: list[str]) -> str | None:
    return next(iter(difflib.get_close_matches(key, candidates, n=1)), None)


def get(key: str, default: Any = _missing, config: Mapping = config,
        override_with: Any = None) -> Any:
    """The value at a dotted ``key``, e.g. ``"distributed.worker.memory.target"``.

    ``override_with`` is returned when it is not None (handy for ``f(x=None)``
    arguments); ``default`` when the key is missing, else ``KeyError`` naming the key
    and the closest known one.

    >>> get("array.chunk_size", config={"array": {"chunk-size": "64MiB"}})
    '64MiB'
    >>> get("array.shape", 0, config={"array": {}})
    0
    >>> get("scheduler", override_with="sync")
    'sync'
    """
    if override_with is not None:
        return override_with
    value = _lookup(_path(_deprecated(key, stacklevel=2)), config)
    if value is not _missing:
        return value
    if default is not _missing:
        return default
    hint = _closest(".".join(_path(key)), _keys(config))
    msg = f"configuration key {key!r} not found"
    raise KeyError(msg + (f"; did you mean {hint!r}?" if hint else ""))


def _lookup(path: tuple, config: Mapping) -> Any:
    value: Any = config
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return _missing
        value = value[part]
    return value


def register_scheduler_name(*names: str) -> None:
    """Accept more scheduler names in ``set(scheduler=...)`` (``"distributed"``)."""
    global SCHEDULER_NAMES
    SCHEDULER_NAMES += tuple(n for n in names if n not in SCHEDULER_NAMES)


def _check_scheduler(value: Any) -> None:
    if isinstance(value, str) and value.lower() not in SCHEDULER_NAMES:
        valid = ", ".join(repr(n) for n in SCHEDULER_NAMES)
        raise ValueError(f"unknown scheduler {value!r}; valid names are {valid}, or pass "
                         "a get-function, a concurrent.futures.Executor or a Client object")
    # Objects are the scheduler's own business; only reject what cannot run a graph.
    if not (value is None or isinstance(value, str) or callable(value)
            or hasattr(value, "get") or hasattr(value, "submit")):
        raise TypeError(f"scheduler must be a name such as 'threads', a get-function, an "
                        f"Executor or a Client; got {type(value).__name__} {value!r}")


def _check_num_workers(value: Any) -> None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)
                         and value >= 1):
        return
    raise ValueError(f"num_workers must be a positive integer or None, got {value!r}; "
                     "e.g. plait.config.set(num_workers=4)")


#: Dotted key -> check(value) run by ``set`` before anything changes; raise to refuse.
validators: dict[str, Callable[[Any], None]] = {
    "scheduler": _check_scheduler,
    "num-workers": _check_num_workers,
}


def _normalised(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {canonical_key(k): _normalised(v) for k, v in value.items()}
    return value


class set:
    """Set configuration values, globally or for the span of a ``with`` block.

    On leaving the block every value is put back and keys that did not exist are
    removed. Values are checked first (``validators``: ``scheduler``, ``num_workers``)
    and nothing changes if one is refused; a key that looks like a misspelling of a
    known key warns, naming the closest one.

    Parameters
    ----------
    arg : mapping, optional
        Dotted keys to values: ``{"array.chunk-size": "64MiB"}``.
    config : dict
        The configuration to change (the global one by default).
    lock : lock
        Held while values change or are restored.
    **kwargs
        Keys as keywords, a double underscore for a dot: ``array__chunk_size="64MiB"``.

    Examples
    --------
    >>> with set(scheduler="sync"):
    ...     get("scheduler")
    'sync'
    >>> with set({"array.chunk-size": "1MiB"}):
    ...     with set(array__chunk_size="2MiB"):
    ...         get("array.chunk-size")
    ...     get("array.chunk-size")
    '2MiB'
    '1MiB'
    """

    def __init__(self, arg: Mapping[str, Any] | None = None, config: dict = config,
                 lock: Any = config_lock, **kwargs: Any) -> None:
        pairs = list((arg or {}).items())
        pairs += [(k.replace("__", "."), v) for k, v in kwargs.items()]
        items = []
        for key, value in pairs:  # a loop, not a comprehension: warnings' stacklevel
            items.append((_path(_deprecated(key, stacklevel=2)), _normalised(value)))
        known = _keys(*defaults)
        for path, value in items:
            leaves = list(_flatten(value, path)) if isinstance(value, Mapping) else []
            for leaf, leaf_value in [(path, value)] + leaves:
                dotted = ".".join(map(str, leaf))
                check = validators.get(dotted)
                if check is not None:
                    check(leaf_value)
                self._warn_if_unknown(dotted, known)
        self.config = config
        self._lock = lock
        # (path, previous value or _missing), in the order applied.
        self._record: list[tuple[tuple, Any]] = []
        with lock:
            for path, value in items:
                self._assign(path, value)

    @staticmethod
    def _warn_if_unknown(dotted: str, known: list[str]) -> None:
        if dotted in known or any(dotted.startswith(s + ".") for s in open_sections):
            return
        depth = dotted.count(".")
        hint = _closest(dotted, [k for k in known if k.count(".") == depth])
        if hint is not None:  # far from every known key: a user's own key, not a typo
            warnings.warn(f"unknown configuration key {dotted!r}; did you mean {hint!r}?",
                          UserWarning, stacklevel=3)

    def _assign(self, path: tuple, value: Any) -> None:
        d = self.config
        for i, part in enumerate(path[:-1]):
            if not isinstance(d.get(part), dict):
                if part in d:
                    self._record.append((path[: i + 1], d[part]))
                else:
                    _made_sections.add((id(self.config), path[: i + 1]))
                d[part] = {}
            d = d[part]
        self._record.append((path, d.get(path[-1], _missing)))
        d[path[-1]] = value

    def __enter__(self) -> dict:
        return self.config

    def __exit__(self, *exc: Any) -> None:
        with self._lock:
            for path, old in reversed(self._record):
                d: Any = self.config
                for part in path[:-1]:
                    d = d.setdefault(part, {})
                if old is not _missing:
                    d[path[-1]] = old
                    continue
                d.pop(path[-1], None)
                # Drop sections that set() made and that are now empty; one made here
                # may meanwhile hold another thread's keys, so emptiness decides.
                for i in range(len(path) - 1, 0, -1):
                    made = (id(self.config), path[:i])
                    if made not in _made_sections or _lookup(path[:i], self.config) != {}:
                        break
                    _made_sections.discard(made)
                    _lookup(path[: i - 1], self.config).pop(path[i - 1], None)
        self._record.clear()


def update(old: dict, new: Mapping, priority: str = "new",
           defaults: Mapping | None = None) -> dict:
    """Merge ``new`` into ``old`` in place, recursively, and return ``old``.

    ``priority="new"`` lets ``new`` win, ``"old"`` keeps what ``old`` has, and
    ``"new-defaults"`` lets ``new`` win only where ``old`` still holds the value in
    ``defaults`` (the previous defaults), so user settings survive new defaults.

    >>> update({"a": 1, "b": {"c": 2}}, {"b": {"d_e": 3}})
    {'a': 1, 'b': {'c': 2, 'd-e': 3}}
    >>> update({"a": 1}, {"a": 2, "b": 3}, priority="old")
    {'a': 1, 'b': 3}
    """
    for key, value in new.items():
        key = canonical_key(key)
        previous = (defaults or {}).get(key, _missing)
        keep = key in old and (
            priority == "old" or (priority == "new-defaults" and old[key] != previous)
        )
        if isinstance(value, Mapping):
            if not isinstance(old.get(key), dict):
                if keep:
                    continue
                old[key] = {}
            update(old[key], value, priority,
                   previous if isinstance(previous, Mapping) else None)
        elif not keep:
            old[key] = value
    return old


def merge(*dicts: Mapping) -> dict:
    """A new dict: ``dicts`` merged recursively, later ones winning.

    >>> merge({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}})
    {'a': {'b': 3, 'c': 2}}
    """
    result: dict = {}
    for d in dicts:
        update(result, copy.deepcopy(d))
    return result


def collect_yaml(paths: Iterable[str]) -> list[dict]:
    """The contents of the YAML files at ``paths`` (files, or directories to scan)."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if n.endswith((".yaml", ".yml")))
            files += [os.path.join(path, n) for n in names]
        elif os.path.isfile(path):
            files.append(path)
    configs = []
    for file in files:
        try:
            with open(file, encoding="utf-8") as f:
                data = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as e:
            raise ValueError(f"cannot read plait configuration file {file}: {e}") from e
        if data is not None and not isinstance(data, Mapping):
            raise ValueError(f"plait configuration file {file} must hold a mapping of "
                             f"keys to values, not a {type(data).__name__}")
        configs.append(_normalised(data or {}))
    return configs


def _interpret(value: str) -> Any:
    try:
        return ast.literal_eval(value)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        pass
    # YAML spellings people write in shells; anything else stays a string.
    return {"null": None, "none": None, "true": True, "false": False}.get(
        value.lower(), value)


def collect_env(env: Mapping[str, str] | None = None) -> dict:
    """Settings from ``PLAIT_*`` environment variables (``__`` nests).

    >>> collect_env({"PLAIT_DISTRIBUTED__WORKER__MEMORY__TARGET": "0.7", "HOME": "/"})
    {'distributed': {'worker': {'memory': {'target': 0.7}}}}
    """
    env = os.environ if env is None else env
    result: dict = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name == ENV_PATH_VARIABLE:
            continue
        path = _path(name[len(ENV_PREFIX):].lower().replace("__", "."))
        d = result
        for part in path[:-1]:
            d = d.setdefault(part, {})
        d[path[-1]] = _interpret(raw)
    return result


def collect(paths: Iterable[str] | None = None,
            env: Mapping[str, str] | None = None) -> dict:
    """User settings from YAML files and environment variables, merged (no defaults).

    Without ``paths``: the module's ``paths`` plus ``$PLAIT_CONFIG`` as it is now.

    >>> collect(paths=[], env={"PLAIT_SCHEDULER": "sync", "PLAIT_NUM_WORKERS": "2"})
    {'scheduler': 'sync', 'num-workers': 2}
    """
    env = os.environ if env is None else env
    if paths is None:
        paths = _search_paths(env)
    return merge(*collect_yaml(paths), collect_env(env))


def _search_paths(env: Mapping[str, str]) -> list[str]:
    extra = env.get(ENV_PATH_VARIABLE)
    return paths + [extra] if extra and extra not in paths else list(paths)


def rename(aliases: Mapping[str, str], config: dict = config) -> None:
    """Move values from old dotted keys to new ones (files and env use old names too)."""
    for old, new in aliases.items():
        *parents, last = _path(old)
        section = _lookup(tuple(parents), config)
        if not isinstance(section, dict) or last not in section:
            continue
        value = section.pop(last)
        *parents, last = _path(_deprecated(old, stacklevel=2))
        d = config
        for part in parents:
            d = d.setdefault(part, {})
        d[last] = value


def refresh(config: dict = config, defaults: list[dict] = defaults, **kwargs: Any) -> None:
    """Rebuild ``config`` in place from defaults, files and environment, as at import.

    ``kwargs`` go to ``collect`` (``paths=``, ``env=``).
    """
    with config_lock:
        config.clear()
        _made_sections.clear()
        for d in defaults:
            update(config, copy.deepcopy(d))
        update(config, collect(**kwargs))
        rename(deprecations, config)


def update_defaults(new: Mapping, config: dict = config,
                    defaults: list[dict] = defaults) -> None:
    """Add a subpackage's defaults; values the user changed keep the user's value.

    >>> live, known = {"a": 1, "b": 5}, [{"a": 1, "b": 2}]
    >>> update_defaults({"a": 10, "b": 20, "c": 30}, config=live, defaults=known)
    >>> live  # b was changed by the user, so it stays
    {'a': 10, 'b': 5, 'c': 30}
    """
    with config_lock:
        previous = merge(*defaults)
        defaults.append(_normalised(new))
        update(config, copy.deepcopy(new), priority="new-defaults", defaults=previous)


def expand_environment_variables(value: Any) -> Any:
    """``value`` with ``$VAR`` / ``${VAR}`` expanded in every string inside it.

    >>> os.environ["PLAIT_DOCTEST_ROOT"] = "/scratch"
    >>> expand_environment_variables({"dirs": ["$PLAIT_DOCTEST_ROOT/a", "${NOPE_X}"]})
    {'dirs': ['/scratch/a', '${NOPE_X}']}
    >>> del os.environ["PLAIT_DOCTEST_ROOT"]
    """
    if isinstance(value, Mapping):
        return {k: expand_environment_variables(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, builtins.set)):
        return type(value)(expand_environment_variables(v) for v in value)
    if isinstance(value, str):
        return os.path.expandvars(value)
    return value


def _load_defaults() -> None:
    with open(PATH, encoding="utf-8") as f:
        defaults.append(_normalised(yaml.safe_load(f) or {}))
    refresh()


_load_defaults()

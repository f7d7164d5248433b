"""Single dispatch on an object's type, with handlers registered lazily per library.

`tokenize` and `sizeof` need handlers for NumPy and pandas types, but importing plait
must import neither. A :class:`Dispatch` therefore accepts ``register_lazy("numpy")``:
a function run once, the first time an object whose type (or one of its bases) comes
from that top-level module is seen; the object proves the library is already imported,
so the registration costs no import time. Lookups walk the type's MRO once and are
then cached per concrete type, so a call costs one dict lookup.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, TypeVar

__all__ = ["Dispatch"]

F = TypeVar("F", bound=Callable[..., Any])


class Dispatch:
    """Call the handler registered for the type of the first argument.

    Parameters
    ----------
    name : str
        The name used in error messages.

    Examples
    --------
    >>> describe = Dispatch("describe")
    >>> @describe.register(int)
    ... def _(x):
    ...     return "an int"
    >>> _ = describe.register(object, lambda x: "something")
    >>> describe(3), describe(True), describe("a")
    ('an int', 'an int', 'something')
    """

    def __init__(self, name: str = "dispatch") -> None:
        self.__name__ = name
        self._lookup: dict[type, Callable[..., Any]] = {}
        self._lazy: dict[str, Callable[[], None]] = {}
        self._loading: set[str] = set()
        self._cache: dict[type, Callable[..., Any]] = {}
        self._lock = threading.RLock()

    def register(self, types: type | tuple[type, ...], func: F | None = None) -> Any:
        """Register ``func`` for ``types`` (a type or a tuple of types).

        Without ``func``, return a decorator.
        """

        def add(func: F) -> F:
            for typ in types if isinstance(types, tuple) else (types,):
                self._lookup[typ] = func
            self._cache.clear()
            return func

        return add(func) if func is not None else add

    def register_lazy(self, toplevel: str, func: F | None = None) -> Any:
        """Run ``func()`` the first time a type from module ``toplevel`` is dispatched.

        ``func`` is expected to call :meth:`register`. Without ``func``, return a
        decorator.
        """

        def add(func: F) -> F:
            self._lazy[toplevel] = func
            self._cache.clear()
            return func

        return add(func) if func is not None else add

    def dispatch(self, cls: type) -> Callable[..., Any]:
        """Return the handler for ``cls`` (cached)."""
        try:
            return self._cache[cls]
        except KeyError:
            pass
        self._load_lazy(cls)
        handler = self._resolve(cls)
        self._cache[cls] = handler
        return handler

    def _load_lazy(self, cls: type) -> None:
        if not self._lazy:
            return
        with self._lock:
            for base in cls.__mro__:
                toplevel = (getattr(base, "__module__", None) or "").partition(".")[0]
                func = self._lazy.get(toplevel)
                if func is None or toplevel in self._loading:
                    continue
                # The entry leaves ``_lazy`` only once registered, so that another
                # thread sees it and waits on the lock rather than resolving too early.
                self._loading.add(toplevel)
                try:
                    func()
                finally:
                    self._lazy.pop(toplevel, None)
                    self._loading.discard(toplevel)
                    self._cache.clear()

    def _find(self, cls: type) -> tuple[type, Callable[..., Any]]:
        """The first class in ``cls``'s MRO with a handler, and that handler."""
        for base in cls.__mro__:
            handler = self._lookup.get(base)
            if handler is not None:
                return base, handler
        raise TypeError(
            f"{self.__name__} has no handler for {cls.__module__}.{cls.__qualname__}: "
            f"register one with {self.__name__}.register({cls.__qualname__}, func)"
        )

    def _resolve(self, cls: type) -> Callable[..., Any]:
        """Choose the handler for ``cls``; subclasses may add rules before the MRO."""
        return self._find(cls)[1]

    def __call__(self, arg: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            handler = self._cache[type(arg)]
        except KeyError:
            handler = self.dispatch(type(arg))
        return handler(arg, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<Dispatch {self.__name__!r}: {len(self._lookup)} types, lazy {sorted(self._lazy)}>"

"""Random arrays, block by block, reproducible whatever the scheduler.

Two APIs, as in NumPy: :func:`default_rng` gives a :class:`Generator` (``rng.normal``,
``rng.integers``, ...), and the legacy :class:`RandomState` backs the module functions
(``random``, ``randint``, ``normal``, ``seed``, ...).

Each call decides every block's seed up front, while the graph is built: a Generator
spawns one child ``SeedSequence`` per block, a RandomState draws four 32-bit words per
block from its own NumPy state. Each task then makes its own NumPy generator from its
seed, so a block's values depend only on that seed, never on which thread ran first.
The same seed and the same calls give the same arrays; a different chunking gives
different (equally random) values, since the blocks own different seeds.
"""

from __future__ import annotations

import inspect
import math
import operator
from typing import Any, Callable

import numpy as np

from ..graph import Data, Ref, Task
from ..tokenize import tokenize
from .chunks import chunk_boundaries, normalize_chunks
from .core import Array, asarray
from .creation import _block_shape, _blocks, _shape

__all__ = ["Generator", "RandomState", "default_rng", "seed"]

_REQUIRED = inspect.Parameter.empty

# NumPy's signatures: "parameters[=default] ... / keywords that may follow size".
_DISTRIBUTIONS = {
    "beta": "a b", "binomial": "n p", "chisquare": "df", "exponential": "scale=1.0",
    "f": "dfnum dfden", "gamma": "shape scale=1.0", "geometric": "p",
    "gumbel": "loc=0.0 scale=1.0", "hypergeometric": "ngood nbad nsample",
    "laplace": "loc=0.0 scale=1.0", "logistic": "loc=0.0 scale=1.0",
    "lognormal": "mean=0.0 sigma=1.0", "logseries": "p", "negative_binomial": "n p",
    "noncentral_chisquare": "df nonc", "noncentral_f": "dfnum dfden nonc",
    "normal": "loc=0.0 scale=1.0", "pareto": "a", "poisson": "lam=1.0", "power": "a",
    "rayleigh": "scale=1.0", "standard_cauchy": "", "standard_t": "df",
    "triangular": "left mode right", "uniform": "low=0.0 high=1.0", "vonmises": "mu kappa",
    "wald": "mean scale", "weibull": "a", "zipf": "a",
}
_GENERATOR_ONLY = {
    "integers": "low high=None / dtype endpoint", "random": "/ dtype out",
    "standard_normal": "/ dtype out", "standard_exponential": "/ dtype method out",
    "standard_gamma": "shape / dtype out",
}
_LEGACY_ONLY = {
    "randint": "low high=None / dtype", "random_sample": "", "standard_normal": "",
    "standard_exponential": "", "standard_gamma": "shape",
}


def _parse_signature(spec: str) -> tuple[tuple, tuple]:
    """``"low high=None / dtype"`` -> ``((("low", required), ("high", None)), ("dtype",))``."""
    head, _, tail = spec.partition("/")
    params = []
    for item in head.split():
        name, eq, default = item.partition("=")
        value = _REQUIRED if not eq else None if default == "None" else float(default)
        params.append((name, value))
    return tuple(params), tuple(tail.split())


# The dtype of methods that give integers, when a plait-array parameter prevents asking
# NumPy on a one-element sample.
_INTEGER_RESULTS = {"binomial", "geometric", "hypergeometric", "integers", "logseries",
                    "negative_binomial", "poisson", "randint", "zipf"}


# -- tasks -------------------------------------------------------------------------------

def _make_generator(seed: tuple) -> np.random.Generator:
    bit_generator_type, seed_sequence = seed
    return np.random.Generator(bit_generator_type(seed_sequence))


def _make_random_state(seed: np.ndarray) -> np.random.RandomState:
    return np.random.RandomState(seed)


def _draw(factory: Callable, seed: Any, method: str, args: tuple, size: tuple,
          kwargs: dict) -> np.ndarray:
    return np.asarray(getattr(factory(seed), method)(*args, size=size, **kwargs))


def _take_rows(blocks: list, take: np.ndarray) -> np.ndarray:
    return np.concatenate(blocks, axis=0)[take]


def _slice(whole: np.ndarray, slices: tuple) -> np.ndarray:
    return whole[slices]


# -- shared machinery --------------------------------------------------------------------

class _RandomSource:
    """What Generator and RandomState share: building one task per block from a seed."""

    _factory: Callable

    def _seeds(self, n: int) -> list:  # pragma: no cover - overridden
        raise NotImplementedError

    def _probe(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _sample(self, method: str, params: list, size: Any, chunks: Any,
                kwargs: dict) -> Array:
        if kwargs.pop("out", None) is not None:
            raise TypeError(f"{method}(out=...) is not supported: plait arrays are built "
                            f"lazily; assign the result instead")
        params = [p if isinstance(p, Array) or np.ndim(p) == 0 else np.asarray(p)
                  for p in params]
        shapes = [np.shape(p) if not isinstance(p, Array) else p.shape for p in params]
        shape = np.broadcast_shapes(*shapes) if size is None else _shape(size)
        if size is not None and np.broadcast_shapes(shape, *shapes) != shape:
            raise ValueError(f"{method}: parameters of shapes {shapes} do not broadcast to "
                             f"size={shape}")
        dtype = self._dtype(method, params, kwargs)
        chunks = normalize_chunks(_chunks_like(chunks, params, shape), shape, dtype=dtype)
        ndim = len(shape)
        params, deps = _align(params, chunks, ndim)
        seeds = self._seeds(math.prod(len(c) for c in chunks))
        name = f"{method}-{tokenize(_seed_token(seeds), params, chunks, kwargs)}"
        layer = {}
        for (idx, slc), s in zip(_blocks(chunks), seeds):
            args = tuple(_param_block(p, idx, slc, ndim) for p in params)
            layer[(name,) + idx] = Task((name,) + idx, _draw, self._factory, s, method, args,
                                        _block_shape(slc), kwargs)
        return Array(layer, name, chunks, dtype, tuple(deps))

    def _dtype(self, method: str, params: list, kwargs: dict) -> np.dtype:
        """Ask NumPy for one sample: checks the parameters now and gives the dtype."""
        if not any(isinstance(p, Array) or (np.ndim(p) and np.size(p) == 0) for p in params):
            probe = [p if np.ndim(p) == 0 else np.ravel(p)[0] for p in params]
            return np.asarray(getattr(self._probe(), method)(*probe, size=1, **kwargs)).dtype
        if "dtype" in kwargs:
            return np.dtype(kwargs["dtype"])
        return np.dtype(np.int64 if method in _INTEGER_RESULTS else float)

    def choice(self, a: Any, size: Any = None, replace: bool = True, p: Any = None,
               chunks: Any = "auto", **kwargs: Any) -> Array:
        """Samples from ``a`` (an int n for ``arange(n)``, or a 1-d array), with
        probabilities ``p``; without replacement, one task draws all of them.

        >>> x = default_rng(0).choice(5, size=20, chunks=8)
        >>> x.chunks, bool(((x.compute() >= 0) & (x.compute() < 5)).all())
        (((8, 8, 4),), True)
        """
        shape = () if size is None else _shape(size)
        if isinstance(a, Array) or np.ndim(a) > 0:
            a = a if isinstance(a, Array) else np.asarray(a)
            if a.ndim != 1:
                raise ValueError(f"choice: a must be an int or a 1-d array, got shape {a.shape}")
            n, dtype = a.shape[0], a.dtype
        else:
            n, dtype = operator.index(a), np.dtype(np.int64)
            a = n
        if p is not None and not isinstance(p, Array):
            p = np.asarray(p, dtype=float)
        if isinstance(p, Array) and p.shape != (n,):
            raise ValueError(f"choice: p has shape {p.shape}; it needs one probability per "
                             f"element of a, shape ({n},)")
        if not isinstance(a, Array) and not isinstance(p, Array):
            self._probe().choice(a, size=0, replace=replace, p=p)  # NumPy's checks, now
        if not replace and math.prod(shape) > n:
            raise ValueError(f"choice: cannot take {math.prod(shape)} samples from a "
                             f"population of {n} without replacement; pass replace=True")
        chunks = normalize_chunks(chunks, shape, dtype=dtype)
        nblocks = math.prod(len(c) for c in chunks)
        seeds = self._seeds(nblocks if replace else 1)
        name = f"choice-{tokenize(_seed_token(seeds), a, p, chunks, replace, kwargs)}"
        layer: dict = {}
        a, p = _whole(a, f"{name}-a", layer), _whole(p, f"{name}-p", layer)
        deps = tuple(x for x in (a, p) if isinstance(x, Array))
        a, p = _whole_ref(a), _whole_ref(p)
        options = dict(kwargs, replace=replace, p=p)
        if replace or nblocks == 1:
            for (idx, slc), s in zip(_blocks(chunks), seeds if replace else seeds * nblocks):
                layer[(name,) + idx] = Task((name,) + idx, _draw, self._factory, s, "choice",
                                            (a,), _block_shape(slc), options)
            return Array(layer, name, chunks, dtype, deps)
        whole = f"{name}-all"
        layer[whole] = Task(whole, _draw, self._factory, seeds[0], "choice", (a,), shape,
                            options)
        for idx, slc in _blocks(chunks):
            layer[(name,) + idx] = Task((name,) + idx, _slice, Ref(whole), slc)
        return Array(layer, name, chunks, dtype, deps)

    def permutation(self, x: Any, chunks: Any = "auto") -> Array:
        """A shuffled ``arange(x)`` (an int), or ``x`` with its first axis shuffled.

        >>> sorted(default_rng(1).permutation(6).compute().tolist())
        [0, 1, 2, 3, 4, 5]
        """
        if not isinstance(x, Array) and np.ndim(x) == 0:
            n = operator.index(x)
            chunks = normalize_chunks(chunks, (n,), dtype=np.int64)
            seeds = self._seeds(1)
            name = f"permutation-{tokenize(_seed_token(seeds), n, chunks)}"
            whole = f"{name}-all"
            layer = {whole: Task(whole, _draw_permutation, self._factory, seeds[0], n)}
            for idx, slc in _blocks(chunks):
                layer[(name,) + idx] = Task((name,) + idx, _slice, Ref(whole), slc)
            return Array(layer, name, chunks, np.int64)
        x = asarray(x)
        if x.ndim == 0:
            raise ValueError("permutation: x must be an int or an array of at least 1 axis")
        seeds = self._seeds(1)
        # The order is drawn now (n ints) so that each output block knows its sources.
        order = _draw_permutation(self._factory, seeds[0], x.shape[0])
        name = f"permutation-{tokenize(_seed_token(seeds), x)}"
        bounds = np.asarray(chunk_boundaries(x.chunks[0]))
        layer = {}
        for idx, slc in _blocks(x.chunks):
            rows = order[slc[0]]
            source = np.searchsorted(bounds, rows, side="right") - 1
            used = np.unique(source) if len(source) else np.zeros(1, dtype=np.int64)
            sizes = np.diff(bounds)[used]
            offset = np.zeros(len(bounds) - 1, dtype=np.int64)
            offset[used] = np.cumsum(sizes) - sizes
            take = offset[source] + rows - bounds[source]
            refs = [Ref((x.name, int(b)) + idx[1:]) for b in used]
            layer[(name,) + idx] = Task((name,) + idx, _take_rows, refs, take)
        return Array(layer, name, x.chunks, x.dtype, (x,))


def _draw_permutation(factory: Callable, seed: Any, n: int) -> np.ndarray:
    return factory(seed).permutation(n)


def _seed_token(seeds: list) -> Any:
    first = seeds[0]
    if isinstance(first, tuple):  # (bit generator type, SeedSequence)
        ss = first[1]
        return (first[0].__name__, ss.entropy, ss.spawn_key, len(seeds))
    return (np.asarray(first), len(seeds))


def _chunks_like(chunks: Any, params: list, shape: tuple) -> Any:
    """``"auto"`` follows the chunks of plait-array parameters on the axes they span."""
    if not (isinstance(chunks, str) and chunks == "auto"):
        return chunks
    spec: list = ["auto"] * len(shape)
    for p in params:
        if isinstance(p, Array):
            for axis, (n, c) in enumerate(zip(p.shape, p.chunks), len(shape) - p.ndim):
                if n != 1 and spec[axis] == "auto":
                    spec[axis] = c
    return tuple(spec)


def _align(params: list, chunks: tuple, ndim: int) -> tuple[list, list]:
    """Rechunk plait-array parameters so their blocks match the output's."""
    out, deps = [], []
    for p in params:
        if isinstance(p, Array):
            target = tuple((1,) if n == 1 else chunks[ndim - p.ndim + a]
                           for a, n in enumerate(p.shape))
            if p.chunks != target:
                from .rechunk import rechunk

                p = rechunk(p, target)
            deps.append(p)
        out.append(p)
    return out, deps


def _param_block(p: Any, idx: tuple, slc: tuple, ndim: int) -> Any:
    """The part of parameter ``p`` that the output block ``idx`` (at ``slc``) needs."""
    if isinstance(p, Array):
        lead = ndim - p.ndim
        return Ref((p.name,) + tuple(0 if n == 1 else idx[lead + a]
                                     for a, n in enumerate(p.shape)))
    if np.ndim(p) == 0:
        return p
    lead = ndim - p.ndim
    return p[tuple(slice(None) if n == 1 else slc[lead + a] for a, n in enumerate(p.shape))]


def _whole(x: Any, key: str, layer: dict) -> Any:
    """Put a NumPy array in the graph once; make a plait array one block."""
    if isinstance(x, Array):
        return x if x.numblocks == (1,) else x.rechunk(-1)
    if isinstance(x, np.ndarray):
        layer[key] = Data(key, x)
        return Ref(key)
    return x


def _whole_ref(x: Any) -> Any:
    return Ref((x.name, 0)) if isinstance(x, Array) else x


def _bind(name: str, params: tuple, trailing: tuple, args: tuple, kwargs: dict) -> tuple:
    """Arguments as NumPy's signature ``(*params, size, *trailing)`` plus ``chunks``."""
    names = [n for n, _ in params] + ["size"] + list(trailing) + ["chunks"]
    if len(args) > len(names):
        raise TypeError(f"{name}() takes at most {len(names)} positional arguments "
                        f"({', '.join(names)}), got {len(args)}")
    values = dict(zip(names, args))
    for n in names:
        if n in kwargs:
            if n in values:
                raise TypeError(f"{name}() got multiple values for argument {n!r}")
            values[n] = kwargs.pop(n)
    extra = {n: values[n] for n in trailing if n in values}
    extra.update(kwargs)
    out = []
    for n, default in params:
        if n not in values and default is _REQUIRED:
            raise TypeError(f"{name}() missing required argument {n!r}")
        out.append(values.get(n, default))
    return out, values.get("size"), values.get("chunks", "auto"), extra


def _method(name: str, params: tuple, trailing: tuple, numpy_class: str) -> Callable:
    def method(self: _RandomSource, *args: Any, **kwargs: Any) -> Array:
        values, size, chunks, extra = _bind(name, params, trailing, args, kwargs)
        return self._sample(name, values, size, chunks, extra)

    P = inspect.Parameter
    method.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [P("self", P.POSITIONAL_OR_KEYWORD)]
        + [P(n, P.POSITIONAL_OR_KEYWORD, default=d) for n, d in params]
        + [P("size", P.POSITIONAL_OR_KEYWORD, default=None)]
        + [P(n, P.POSITIONAL_OR_KEYWORD, default=None) for n in trailing]
        + [P("chunks", P.POSITIONAL_OR_KEYWORD, default="auto"), P("kwargs", P.VAR_KEYWORD)])
    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"Samples like ``numpy.random.{numpy_class}.{name}``, as a plait array "
                      f"of shape ``size`` cut into ``chunks``. Parameters may be scalars, "
                      f"NumPy or plait arrays; they broadcast against ``size``.")
    return method


# -- the two APIs ------------------------------------------------------------------------

class Generator(_RandomSource):
    """Random arrays from NumPy's Generator API (make one with :func:`default_rng`).

    Each call spawns one child ``SeedSequence`` per block from this generator's seed, so
    ``default_rng(42)`` followed by the same calls gives the same arrays.

    >>> rng = default_rng(42)
    >>> x = rng.normal(10, 2, size=(1000, 10), chunks=(250, 10))
    >>> x.chunks
    ((250, 250, 250, 250), (10,))
    >>> bool((x.compute() == default_rng(42).normal(10, 2, (1000, 10), chunks=(250, 10)).compute()).all())
    True
    """

    _factory = staticmethod(_make_generator)

    def __init__(self, bit_generator: Any = None):
        if not isinstance(bit_generator, np.random.BitGenerator):
            bit_generator = np.random.PCG64(bit_generator)
        self._bit_generator = bit_generator
        self._seed_sequence = bit_generator.seed_seq

    def __repr__(self) -> str:
        return f"plait.array.random.Generator({type(self._bit_generator).__name__})"

    def _seeds(self, n: int) -> list:
        bit_generator_type = type(self._bit_generator)
        return [(bit_generator_type, s) for s in self._seed_sequence.spawn(n)]

    def _probe(self) -> np.random.Generator:
        return np.random.default_rng(0)


class RandomState(_RandomSource):
    """Random arrays from NumPy's legacy RandomState API (``da.random.normal`` & co).

    ``seed`` seeds a NumPy RandomState that draws four 32-bit seed words per block.

    >>> a = RandomState(7).randint(0, 10, size=12, chunks=5).compute()
    >>> bool((a == RandomState(7).randint(0, 10, size=12, chunks=5).compute()).all())
    True
    """

    _factory = staticmethod(_make_random_state)

    def __init__(self, seed: Any = None):
        self._state = seed if isinstance(seed, np.random.RandomState) else \
            np.random.RandomState(seed)

    def seed(self, seed: Any = None) -> None:
        """Reseed: the calls that follow repeat those that followed the same seed."""
        self._state.seed(seed)

    def _seeds(self, n: int) -> list:
        return list(self._state.randint(0, 2**32, size=(n, 4), dtype=np.uint32))

    def _probe(self) -> np.random.RandomState:
        return np.random.RandomState(0)

    def rand(self, *dims: int, chunks: Any = "auto") -> Array:
        """Uniform samples in [0, 1) of shape ``dims``."""
        return self.random_sample(dims, chunks=chunks)

    def randn(self, *dims: int, chunks: Any = "auto") -> Array:
        """Standard normal samples of shape ``dims``."""
        return self.standard_normal(dims, chunks=chunks)


for _table, _classes in [(_DISTRIBUTIONS, (Generator, RandomState)),
                         (_GENERATOR_ONLY, (Generator,)), (_LEGACY_ONLY, (RandomState,))]:
    for _name, _spec in _table.items():
        for _cls in _classes:
            setattr(_cls, _name, _method(_name, *_parse_signature(_spec), _cls.__name__))
RandomState.random = RandomState.random_sample  # type: ignore[attr-defined]


def default_rng(seed: Any = None) -> Generator:
    """A plait :class:`Generator` seeded like ``numpy.random.default_rng(seed)``.

    >>> rng = default_rng(0)
    >>> u = rng.uniform(-1, 1, size=100, chunks=30).compute()
    >>> bool(((u >= -1) & (u < 1)).all())
    True
    """
    if isinstance(seed, Generator):
        return seed
    if isinstance(seed, np.random.Generator):
        return Generator(seed.bit_generator)
    return Generator(seed)


# -- the legacy module functions: one shared RandomState ---------------------------------

_global_state = RandomState()


def seed(seed: Any = None) -> None:
    """Seed the state behind the module functions (``plait.array.random.normal``, ...)."""
    _global_state.seed(seed)


def _module_function(name: str) -> Callable:
    bound = getattr(RandomState, name)

    def function(*args: Any, **kwargs: Any) -> Array:
        return getattr(_global_state, name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = bound.__doc__
    function.__signature__ = inspect.signature(getattr(_global_state, name))  # type: ignore
    return function


_LEGACY_FUNCTIONS = sorted(set(_DISTRIBUTIONS) | set(_LEGACY_ONLY) |
                           {"choice", "permutation", "rand", "randn", "random"})
for _name in _LEGACY_FUNCTIONS:
    globals()[_name] = _module_function(_name)
__all__ += _LEGACY_FUNCTIONS

"""What a group-by reduction computes: aggregation specs parsed into a plan.

A user's request (``.sum()``, ``.agg(["sum", "mean"])``, ``.agg({"x": "max"})``,
``.agg(total=("x", "sum"))``) becomes a :class:`Plan`: the ordered list of outputs
pandas would produce, each naming its input column and its aggregation, and the list of
*partials* each partition must compute so that the outputs can be finished after a tree
of combines. Means are sums and counts; variances are per-group count, mean and M2
(sum of squared deviations), merged with Chan's formula rather than a sum of squares;
``nunique`` keeps the distinct (group, value) pairs.

Everything here is plain, picklable data: the plan travels inside the task graph.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AGGREGATIONS",
    "SERIES_COLUMN",
    "Output",
    "Plan",
    "make_plan",
    "normalize_func",
    "parse_agg",
]

# Aggregations a tree reduction can finish exactly. Others (median, apply, ...) need
# the whole group in one place: the shuffle-based group-by (split_out) will add them.
AGGREGATIONS = ("sum", "prod", "count", "size", "min", "max", "first", "last", "mean",
                "var", "std", "sem", "nunique")  # and Aggregation objects (custom)

# Internal column label for the values of a grouped Series.
SERIES_COLUMN = "__plait_series__"

# Partial kinds and how to merge two partials of the same kind.
COMBINE = {"sum": "sum", "fsum": "sum", "prod": "prod", "count": "sum", "size": "sum", "min": "min",
           "max": "max", "first": "first", "last": "last"}
MOMENT_WIDTH = 3  # n, mean, M2


def _numpy_aliases() -> dict[Any, str]:
    # pandas 3 no longer treats builtins (sum, max, len) as these names: it calls them
    # on each group's values, with Python's NaN semantics, so they are not aliased here.
    import numpy as np
    return {np.sum: "sum", np.nansum: "sum", np.prod: "prod", np.nanprod: "prod",
            np.min: "min", np.nanmin: "min", np.max: "max", np.nanmax: "max",
            np.mean: "mean", np.nanmean: "mean", np.std: "std", np.nanstd: "std",
            np.var: "var", np.nanvar: "var"}


def normalize_func(func: Any) -> str:
    """The aggregation name for ``func`` (a name, or a NumPy/builtin reduction).

    >>> normalize_func("mean")
    'mean'
    >>> import numpy as np
    >>> normalize_func(np.max)
    'max'
    """
    from .custom import Aggregation

    if isinstance(func, Aggregation):
        return "custom"
    if isinstance(func, str):
        name = func
    else:
        try:
            name = _numpy_aliases().get(func)
        except TypeError:  # unhashable
            name = None
        if name is None:
            raise TypeError(
                f"group-by aggregation {func!r} is not supported: pass one of the names "
                f"{', '.join(AGGREGATIONS)} (e.g. .agg('sum')); custom functions go "
                f"through the shuffle-based group-by (agg(..., split_out=n))")
    if name == "median":
        raise NotImplementedError(
            "group-by 'median' needs every value of a group in one place, which a tree "
            "reduction does not give; it goes through the "
            "shuffle-based group-by (groupby().median() or agg(..., split_out=n))")
    if name not in AGGREGATIONS:
        raise ValueError(f"unknown group-by aggregation {name!r}; the supported ones are "
                         f"{', '.join(AGGREGATIONS)}")
    return name


@dataclass(frozen=True)
class Output:
    """One output column: ``label`` = ``how`` applied to input ``column``."""

    label: Any
    column: Any
    how: str
    ddof: int = 1
    min_count: int = 0
    skipna: bool = True
    dropna: bool = True  # for nunique: whether NaN counts as a value
    aggregation: Any = None  # for how == "custom": an Aggregation
    dt: str | None = None  # the column's dtype when it holds datetimes/timedeltas

    def partials(self) -> list[tuple[str, Any, Any]]:
        """The ``(kind, column, skipna)`` partials this output needs (for custom
        aggregations the third item is the Aggregation)."""
        col, how, sk = self.column, self.how, self.skipna
        if how == "custom":
            return [("custom", col, self.aggregation)]
        if how == "size":
            return [("size", None, True)]
        if how == "count":
            return [("count", col, True)]
        if how == "mean":
            # datetimes/timedeltas: a float sum of nanoseconds ("fsum")
            return [("fsum" if self.dt else "sum", col, sk), ("count", col, True)]
        if how in ("var", "std", "sem"):
            return [("moments", col, sk)]
        if how == "nunique":
            return [("nunique", col, True)]
        out = [(how, col, sk)]
        if self.min_count > 0:
            out.append(("count", col, True))
        return out


@dataclass(frozen=True)
class Plan:
    """The outputs of a group-by reduction and the partials behind them.

    ``layout`` says how to shape the final result: ``"series"`` (one output, a Series
    named by its label), ``"frame"`` (a DataFrame with the outputs' labels as columns)
    or ``"size"`` (the group sizes as a Series).
    """

    outputs: tuple[Output, ...]
    layout: str
    name: Any = None  # the Series name for the "series" layout
    partials: tuple[tuple[str, Any, bool], ...] = field(default=())
    nunique_columns: tuple[Any, ...] = field(default=())
    custom: tuple[tuple[Any, Any], ...] = field(default=())  # (column, Aggregation)

    def positions(self) -> dict[tuple[str, Any, bool], int]:
        """Column position of each non-nunique partial in the partial frame."""
        pos, out = 0, {}
        for p in self.partials:
            out[p] = pos
            pos += MOMENT_WIDTH if p[0] == "moments" else 1
        return out

    @property
    def width(self) -> int:
        return sum(MOMENT_WIDTH if p[0] == "moments" else 1 for p in self.partials)


def make_plan(outputs: Sequence[Output], layout: str, name: Any = None) -> Plan:
    """Collect the distinct partials of ``outputs`` (in first-use order)."""
    partials: list[tuple[str, Any, bool]] = []
    nunique: list[Any] = []
    custom: list[tuple[Any, Any]] = []
    for o in outputs:
        for p in o.partials():
            if p[0] == "custom":
                if (p[1], p[2]) not in custom:
                    custom.append((p[1], p[2]))
            elif p[0] == "nunique":
                if p[1] not in nunique:
                    nunique.append(p[1])
            elif p not in partials:
                partials.append(p)
    return Plan(tuple(outputs), layout, name, tuple(partials), tuple(nunique),
                tuple(custom))


def _output(label: Any, column: Any, func: Any) -> Output:
    how = normalize_func(func)
    return Output(label, column, how, aggregation=func if how == "custom" else None)


def _func_name(func: Any) -> str:
    how = normalize_func(func)
    return func.__name__ if how == "custom" else how


def _is_named_agg(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) == 2


def _named_agg_pair(label: str, spec: Any) -> Any:
    if hasattr(spec, "column") and hasattr(spec, "aggfunc"):  # pd.NamedAgg
        if getattr(spec, "args", ()) or getattr(spec, "kwargs", {}):
            raise TypeError(f"named aggregation {label}=NamedAgg(...) with args/kwargs "
                            f"is not supported")
        return (spec.column, spec.aggfunc)
    return spec


def parse_agg(func: Any, kwargs: dict[str, Any], columns: Sequence[Hashable] | None,
              series_name: Any = None) -> Plan:
    """Turn ``agg``'s arguments into a :class:`Plan` with pandas' output layout.

    ``columns`` are the selected columns of a DataFrameGroupBy; ``None`` means a
    SeriesGroupBy whose values are named ``series_name``.

    >>> p = parse_agg(["sum", "mean"], {}, ["x"])
    >>> [o.label for o in p.outputs]
    [('x', 'sum'), ('x', 'mean')]
    >>> [o.label for o in parse_agg(None, {"t": ("x", "max")}, ["x", "y"]).outputs]
    ['t']
    """
    series = columns is None
    if func is None:
        if not kwargs:
            raise TypeError("agg() needs a function, a list, a dict or named "
                            "aggregations such as agg(total=('x', 'sum'))")
        outs = []
        for label, spec in kwargs.items():
            if series:
                if _is_named_agg(spec):
                    raise TypeError(f"SeriesGroupBy.agg({label}=...) takes a function "
                                    f"name, not a (column, function) pair: {spec!r}")
                outs.append(_output(label, SERIES_COLUMN, spec))
            else:
                spec = _named_agg_pair(label, spec)
                if not _is_named_agg(spec):
                    raise TypeError(f"named aggregation {label}={spec!r} must be a "
                                    f"(column, function) pair, e.g. {label}=('x', 'sum')")
                col, f = spec
                if col not in columns:
                    raise KeyError(f"named aggregation {label}=({col!r}, {f!r}): column "
                                   f"{col!r} is not among {list(columns)}")
                outs.append(_output(label, col, f))
        return make_plan(outs, "frame")
    if kwargs:
        raise TypeError(f"agg() got both a function and keyword arguments "
                        f"{sorted(kwargs)}; pass one or the other")
    if isinstance(func, dict):
        if series:
            raise TypeError("SeriesGroupBy.agg does not take a dict (nested renaming); "
                            "use named aggregation: .agg(total='sum')")
        nested = any(isinstance(v, (list, tuple)) for v in func.values())
        outs = []
        for col, fs in func.items():
            if col not in columns:
                raise KeyError(f"agg dict key {col!r} is not among the grouped columns "
                               f"{list(columns)}")
            for f in (fs if isinstance(fs, (list, tuple)) else [fs]):
                outs.append(_output((col, _func_name(f)) if nested else col, col, f))
        return make_plan(outs, "frame")
    if isinstance(func, (list, tuple)):
        if series:
            return make_plan([_output(_func_name(f), SERIES_COLUMN, f) for f in func],
                             "frame")
        return make_plan([_output((c, _func_name(f)), c, f) for c in columns
                          for f in func], "frame")
    how = normalize_func(func)
    if how == "size":
        return make_plan([Output(series_name, None, "size")], "size", series_name)
    if series:
        return make_plan([_output(series_name, SERIES_COLUMN, func)], "series",
                         series_name)
    return make_plan([_output(c, c, func) for c in columns], "frame")

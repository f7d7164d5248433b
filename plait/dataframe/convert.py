"""Conversions: to plait arrays, ``to_datetime``/``to_numeric`` and ``sample``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .core import new_collection
from .expr import Blockwise, MapPartitions, TreeReduce
from .expr.blockwise import PART
from .meta import emulate

__all__ = ["isna", "sample", "to_array", "to_datetime", "to_numeric", "to_timedelta"]


def _values(part: Any) -> np.ndarray:
    return part.to_numpy() if not isinstance(part, pd.Index) else np.asarray(part)


def _lengths(part: Any) -> int:
    return len(part)


def _collect(values: list) -> tuple:
    out: list = []
    for v in values:
        out.extend(v if isinstance(v, tuple) else (v,))
    return tuple(out)


def to_array(frame: Any, lengths: Any = None) -> Any:
    """The values of ``frame`` as a plait array with one block of rows per partition.

    ``lengths=True`` computes each partition's length so the chunks are known; a
    sequence gives them directly; None leaves them unknown (NaN).
    """
    from ..array.core import Array
    from ..graph import Ref, Task

    meta = frame._meta
    dtype = _values(meta).dtype
    ndim = 2 if isinstance(meta, pd.DataFrame) else 1
    if lengths is True:
        lengths = new_collection(TreeReduce([frame.expr], _lengths, _collect, _collect, (),
                                            label="lengths")).compute()
    n = frame.npartitions
    if lengths is not None:
        lengths = tuple(int(x) for x in lengths)
        if len(lengths) != n:
            raise ValueError(f"to_dask_array: {n} partitions need {n} lengths, got "
                             f"{len(lengths)}")
    rows = lengths if lengths is not None else (math.nan,) * n
    chunks: tuple = (rows,) if ndim == 1 else (rows, (len(meta.columns),))
    keys = frame.__plait_keys__()
    name = f"values-{frame._optimized()._name.rsplit('-', 1)[-1]}"
    layer: dict = {}
    for i, k in enumerate(keys):
        key = (name, i) if ndim == 1 else (name, i, 0)
        layer[key] = Task(key, _values, Ref(k))
    layer.update(frame.__plait_graph__())
    return Array(layer, name, chunks, dtype)


def _to_datetime(part: Any, **kwargs: Any) -> Any:
    return pd.to_datetime(part, **kwargs)


def to_datetime(arg: Any, meta: Any = None, **kwargs: Any) -> Any:
    """``pandas.to_datetime`` partition by partition; pandas objects and scalars are
    converted at once."""
    from .frame_base import FrameBase

    if not isinstance(arg, FrameBase):
        return pd.to_datetime(arg, **kwargs)
    if meta is None:
        meta = emulate(_to_datetime, arg._meta, **kwargs) if isinstance(arg._meta, pd.DataFrame) \
            else _datetime_meta(arg._meta, kwargs)
    return new_collection(MapPartitions(_to_datetime, arg.expr, meta=meta, kwargs=kwargs,
                                        label="to-datetime", row_local=True))


def _datetime_meta(meta: Any, kwargs: dict) -> Any:
    """The result's structure: ``pandas.to_datetime`` on a sample of dates written the
    way the input holds them (ISO strings for text), else pandas' default unit."""
    from .meta import meta_nonempty

    if meta.dtype.kind in "OSU" or isinstance(meta.dtype, pd.StringDtype):
        values = ["2000-01-01", "2000-01-02"]
        sample = pd.Index(values, dtype=meta.dtype, name=meta.name) if isinstance(meta, pd.Index) \
            else pd.Series(values, dtype=meta.dtype, name=meta.name)
    else:
        sample = meta_nonempty(meta)
    try:
        out = pd.to_datetime(sample, **kwargs)
        return out[:0] if isinstance(out, pd.Index) else out.iloc[:0]
    except (ValueError, TypeError):
        dtype = pd.DatetimeTZDtype(unit="us", tz="UTC") if kwargs.get("utc") else np.dtype("M8[us]")
        if isinstance(meta, pd.Index):
            return pd.DatetimeIndex([], dtype=dtype, name=meta.name)
        return pd.Series([], dtype=dtype, index=meta.index, name=meta.name)


def _to_timedelta(part: Any, unit: Any, errors: str) -> Any:
    return pd.to_timedelta(part, unit=unit, errors=errors)


def to_timedelta(arg: Any, unit: Any = None, errors: str = "raise") -> Any:
    """``pandas.to_timedelta`` partition by partition (Series); pandas objects and
    scalars are converted at once."""
    from .frame_base import FrameBase

    if not isinstance(arg, FrameBase):
        return pd.to_timedelta(arg, unit=unit, errors=errors)
    meta = emulate(_to_timedelta, arg._meta, unit or "ns", errors) \
        if arg._meta.dtype.kind in "iuf" else \
        pd.Series([], dtype="m8[ns]", index=arg._meta.index, name=arg._meta.name)
    return new_collection(MapPartitions(_to_timedelta, arg.expr, unit, errors, meta=meta,
                                        label="to-timedelta", row_local=True))


def isna(arg: Any) -> Any:
    """``pandas.isna`` for collections (element-wise) and anything else."""
    from .frame_base import FrameBase

    if isinstance(arg, FrameBase):
        return arg.isna()
    return pd.isna(arg)


def _to_numeric(part: Any, errors: str, downcast: Any, dtype: Any = None) -> Any:
    out = pd.to_numeric(part, errors=errors, downcast=downcast)
    return out.astype(dtype) if dtype is not None else out


def to_numeric(arg: Any, errors: str = "raise", downcast: Any = None, meta: Any = None) -> Any:
    """``pandas.to_numeric`` partition by partition (Series); pandas objects and
    scalars are converted at once. The result dtype is float64 unless ``meta`` says
    otherwise (the values decide it in pandas, and they are not known yet)."""
    from .frame_base import FrameBase

    if not isinstance(arg, FrameBase):
        return pd.to_numeric(arg, errors=errors, downcast=downcast)
    dtype = None
    if meta is None:
        m = arg._meta
        if m.dtype.kind in "iufb":
            meta = emulate(_to_numeric, m, errors, downcast)
        else:
            # text: the values decide the dtype in pandas; float64 holds them all
            meta = pd.Series([], dtype="float64", index=m.index, name=m.name)
            dtype = "float64" if downcast is None else None
    return new_collection(MapPartitions(_to_numeric, arg.expr, errors, downcast, dtype,
                                        meta=meta, label="to-numeric", row_local=True))


def _sample(part: Any, frac: float, replace: bool, seed: int) -> Any:
    return part.sample(frac=frac, replace=replace, random_state=seed)


class Sample(Blockwise):
    """A random fraction of each partition's rows, with one seed per partition."""

    _parameters = ("frame", "frac", "replace", "seeds")
    _row_local = False

    def _operation(self) -> Any:
        return _sample

    def _compute_meta(self) -> Any:
        return self.frame._meta

    def _compute_divisions(self) -> tuple:
        return self.frame.divisions

    def _call_args(self) -> tuple[list, dict]:
        return [self.frame, self.frac, self.replace, PART], {}

    def _partition_value(self, i: int) -> Any:
        return self.seeds[i]

    def _child_needs(self, needed: Any) -> dict:
        return {self.frame._name: needed}


def sample(frame: Any, frac: float | None = None, replace: bool = False,
           random_state: Any = None, n: Any = None) -> Any:
    """A random fraction of each partition's rows (a different seed per partition,
    drawn from ``random_state``)."""
    if n is not None:
        raise NotImplementedError("sample(n=...) is not supported (partition lengths are "
                                  "unknown); pass frac= instead")
    if frac is None:
        raise ValueError("sample needs frac=, e.g. sample(frac=0.1)")
    if not replace and not 0 <= frac <= 1:
        raise ValueError(f"sample: frac must be between 0 and 1 without replacement, got {frac}")
    if isinstance(random_state, np.random.RandomState):
        rng = random_state
    else:
        rng = np.random.RandomState(random_state)
    seeds = tuple(rng.randint(0, 2**31 - 1, size=frame.npartitions).tolist())
    return new_collection(Sample(frame.expr, frac, replace, seeds))

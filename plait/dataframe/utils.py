"""Testing helpers: compare a plait collection with pandas, checking the structure
that plait promised (meta, divisions) as well as the values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .meta import make_meta

__all__ = ["assert_eq", "make_meta"]


def _check_divisions(c: Any, result: Any) -> None:
    if not c.known_divisions or not isinstance(result, (pd.DataFrame, pd.Series)):
        return
    index = result.index
    if len(index) == 0:
        return
    lo, hi = c.divisions[0], c.divisions[-1]
    assert index.min() >= lo, f"index minimum {index.min()!r} is below divisions[0] {lo!r}"
    assert index.max() <= hi, f"index maximum {index.max()!r} is above divisions[-1] {hi!r}"


def _compute(x: Any, scheduler: str, check_meta: bool, check_divisions: bool) -> Any:
    # duck-typed: pytest's doctest import may load a second copy of the classes
    if not (hasattr(type(x), "__plait_graph__") and hasattr(x, "_meta")):
        return x
    result = x.compute(scheduler=scheduler)
    if check_meta and isinstance(x._meta, (pd.DataFrame, pd.Series, pd.Index)):
        meta = x._meta
        if isinstance(meta, pd.DataFrame):
            assert list(meta.columns) == list(result.columns), \
                f"meta columns {list(meta.columns)} != result columns {list(result.columns)}"
            got = result.dtypes.astype(str).tolist()
            want = meta.dtypes.astype(str).tolist()
            assert got == want, f"meta dtypes {want} != result dtypes {got}"
        elif isinstance(meta, (pd.Series, pd.Index)):
            assert str(meta.dtype) == str(result.dtype), \
                f"meta dtype {meta.dtype} != result dtype {result.dtype}"
            assert meta.name == result.name, f"meta name {meta.name!r} != result name {result.name!r}"
    if check_divisions:
        _check_divisions(x, result)
    return result


def assert_eq(a: Any, b: Any, check_names: bool = True, check_dtype: bool = True,
              check_divisions: bool = True, check_index: bool = True,
              check_meta: bool = True, sort_results: bool = False,
              scheduler: str = "sync", **kwargs: Any) -> bool:
    """Assert that ``a`` and ``b`` (plait collections or pandas objects) are equal.

    Collections are computed (with ``scheduler``); their meta is checked against the
    computed result's columns, dtypes and name, and the index against the divisions.

    >>> import pandas as pd, plait.dataframe as dd
    >>> pdf = pd.DataFrame({"x": [1, 2, 3]})
    >>> assert_eq(dd.from_pandas(pdf, npartitions=2) + 1, pdf + 1)
    True
    """
    a = _compute(a, scheduler, check_meta and check_dtype, check_divisions)
    b = _compute(b, scheduler, check_meta and check_dtype, check_divisions)
    if isinstance(a, (pd.DataFrame, pd.Series, pd.Index)):
        if sort_results and not isinstance(a, pd.Index):
            a = a.sort_index() if check_index else a.sort_values(list(a.columns) if isinstance(a, pd.DataFrame) else None)
            b = b.sort_index() if check_index else b.sort_values(list(b.columns) if isinstance(b, pd.DataFrame) else None)
        if not check_index and not isinstance(a, pd.Index):
            a = a.reset_index(drop=True)
            b = b.reset_index(drop=True)
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, check_names=check_names,
                                          check_dtype=check_dtype, **kwargs)
        elif isinstance(a, pd.Series):
            pd.testing.assert_series_equal(a, b, check_names=check_names,
                                           check_dtype=check_dtype, **kwargs)
        else:
            pd.testing.assert_index_equal(a, b, check_names=check_names, **kwargs)
    else:
        if a is pd.NaT or b is pd.NaT:
            assert a is b or (pd.isna(a) and pd.isna(b)), f"{a!r} != {b!r}"
        elif isinstance(a, (float, np.floating)) or isinstance(b, (float, np.floating)):
            np.testing.assert_allclose(a, b, equal_nan=True, rtol=kwargs.get("rtol", 1e-7))
        else:
            assert a == b or (pd.isna(a) and pd.isna(b)), f"{a!r} != {b!r}"
    return True

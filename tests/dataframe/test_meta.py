"""meta_nonempty: a small non-empty stand-in with exactly the dtypes of an empty meta."""

import pandas as pd
import pytest

from plait.dataframe.meta import meta_nonempty


@pytest.mark.parametrize("dtype", [
    "datetime64[ns]", "datetime64[s]", "datetime64[us, UTC]", "datetime64[ns, Europe/Paris]",
    "timedelta64[ns]", "int64", "float32", "bool", "str", "Int64",
])
def test_nonempty_keeps_dtypes(dtype):
    meta = pd.DataFrame({"a": pd.Series([], dtype=dtype)})
    sample = meta_nonempty(meta)
    assert len(sample) > 0
    assert sample.dtypes.equals(meta.dtypes)
    series = meta_nonempty(meta["a"])
    assert len(series) > 0 and series.dtype == meta["a"].dtype

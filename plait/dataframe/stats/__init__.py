"""Statistics of plait dataframes that need more than one pass of a simple reduction:
approximate quantiles, describe, value counts, distinct values, arg-extremes, running
totals, correlation and covariance, n largest/smallest, mode.

The collections call these as ``stats.<name>(obj, ...)`` with pandas' signature after
``obj``. Modules: :mod:`.quantile`, :mod:`.describe`, :mod:`.counts` (value_counts,
nunique, unique, mode), :mod:`.extremes` (idxmin/idxmax, nlargest/nsmallest),
:mod:`.cumulative`, :mod:`.correlation`.
"""

from .correlation import corr, cov
from .counts import mode, nunique, unique, value_counts
from .cumulative import cumulative
from .describe import describe
from .extremes import idxmax, idxmin, nlargest, nsmallest
from .quantile import quantile

__all__ = [
           "corr",
           "cov",
           "cumulative",
           "describe",
           "idxmax",
           "idxmin",
           "mode",
           "nlargest",
           "nsmallest",
           "nunique",
           "quantile",
           "unique",
           "value_counts",
]

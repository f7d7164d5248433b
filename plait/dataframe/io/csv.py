"""``read_csv``, ``read_table`` and ``read_fwf``: delimited and fixed-width text files.

Build time reads one sample (the first ``sample`` bytes of the first non-empty file)
and parses it with pandas to learn the columns and dtypes (``meta``). Every file is cut
into line-aligned blocks (:mod:`.files`); each block becomes one partition, parsed by
pandas when the task runs. Blocks other than a file's first do not contain the header:
they are parsed with the column names learnt from the sample (``header=None,
names=...``) and no ``skiprows``, every other option the same.

The partition function is a :class:`TextReader`: ``reader(block, columns=None,
filters=None)``. ``columns`` (set by the optimizer's projection pushdown) becomes
pandas' ``usecols``, so unused columns are never converted; ``filters`` drop rows right
after parsing.

Limits: a quoted field containing a newline may be cut by a block boundary (pass
``blocksize=None`` for such files); ``skiprows`` as a list or function, ``skipfooter``
and ``nrows`` need ``blocksize=None``; ``index_col`` is not supported (use
``set_index`` afterwards).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from ..expr.io import apply_filters
from .coerce import coerce_to_meta, empty_like_meta
from .dates import combine_dates, split_parse_dates
from .files import Block, codec_for, expand_paths, open_block, plan_blocks, read_head

__all__ = ["TextReader", "read_csv", "read_fwf", "read_table"]

DEFAULT_BLOCKSIZE = 64 * 2**20

class TextReader:
    """Reads one :class:`~.files.Block` of a text file into a pandas DataFrame.

    Holds everything learnt at build time: the pandas function and options, the header
    bytes to put in front of blocks that do not start a file, the ``meta`` every
    partition must match, combined date columns and the path column.
    """

    supports_filters = True
    filters_exact = True  # the same pandas comparisons as the filter step

    def __init__(self, name: str, func: Callable, kwargs: dict, all_columns: list, meta: Any,
                 file_columns: list, user_dtype: dict, user_usecols: Any, combos: dict,
                 keep_date_col: bool, date_format: Any, plain_dates: Any,
                 path_column: str | None, path_dtype: Any, delimiter: bytes) -> None:
        self.name = name
        self.func = func
        self.kwargs = kwargs
        self.all_columns = all_columns
        self.meta = meta
        self.file_columns = file_columns
        self.user_dtype = user_dtype
        self.user_usecols = user_usecols
        self.combos = combos
        self.keep_date_col = keep_date_col
        self.date_format = date_format
        self.plain_dates = plain_dates
        self.path_column = path_column
        self.path_dtype = path_dtype
        self.delimiter = delimiter

    def __repr__(self) -> str:
        return f"{self.name}"

    def __plait_tokenize__(self) -> Any:
        return (self.name, repr(sorted(self.kwargs.items(), key=str)), repr(self.all_columns),
                repr(self.meta.dtypes.to_dict()), repr(self.combos), self.path_column)

    # -- what to read ------------------------------------------------------------------
    def file_columns_for(self, columns: list) -> list:
        """The file columns to parse to produce output ``columns`` (in file order)."""
        need: set = set()
        for c in columns:
            if c == self.path_column:
                continue
            if c in self.combos:
                need.update(self.combos[c])
            else:
                need.add(c)
        return [c for c in self.file_columns if c in need]

    def pandas_kwargs(self, columns: list, as_text: Sequence = (), first: bool = True) -> dict:
        """pandas' options for reading output ``columns``; ``as_text`` columns are
        forced to text (pandas infers text much faster than it converts to it, so this
        is only for blocks where inference went astray). A block that does not start
        its file has no header and no rows to skip: it gets the column names instead."""
        kw = dict(self.kwargs)
        if not first:
            kw.pop("skiprows", None)
            kw["header"] = None
            kw["names"] = self.all_columns
        usecols = self.file_columns_for(columns)
        if usecols != list(self.file_columns) or self.user_usecols is not None:
            kw["usecols"] = usecols
        dtype = {c: d for c, d in self.user_dtype.items() if c in usecols} \
            if isinstance(self.user_dtype, dict) else self.user_dtype
        if as_text and isinstance(dtype, dict):
            dtype.update({c: self.meta[c].dtype for c in as_text})
        if dtype:
            kw["dtype"] = dtype
        if self.plain_dates is not None:
            kw["parse_dates"] = ([c for c in self.plain_dates if c in usecols]
                                 if isinstance(self.plain_dates, list) else self.plain_dates)
            if self.date_format is not None:
                kw["date_format"] = self.date_format
        return kw

    # -- reading -----------------------------------------------------------------------
    def __call__(self, block: Block, columns: list | None = None,
                 filters: list | None = None) -> Any:
        meta_cols = list(self.meta.columns)
        columns = meta_cols if columns is None else list(columns)
        filters = list(filters or [])
        wanted = list(dict.fromkeys(list(columns) + [f[0] for f in filters]))
        where = _where(block)
        parse_cols = [c for c in wanted if c != self.path_column]
        if not self.file_columns_for(parse_cols):
            # only the path column (or nothing) is wanted: parse the cheapest column
            # to learn the number of rows
            df = self._parse(block, self.file_columns[:1], where)
            df = None if df is None else df[[]]
        else:
            df = self._parse(block, parse_cols, where)
        if df is None:
            return empty_like_meta(self.meta, columns)
        if len(df) == 0:
            return empty_like_meta(self.meta, columns)
        df = combine_dates(df, self.combos, self.keep_date_col, self.date_format)
        df = coerce_to_meta(df, self.meta, where, self.name)
        if self.path_column is not None and self.path_column in wanted:
            import pandas as pd

            codes = self.path_dtype.categories.get_loc(block.path)
            df[self.path_column] = pd.Categorical.from_codes([codes] * len(df),
                                                             dtype=self.path_dtype)
        df = apply_filters(df, filters)
        if list(df.columns) != columns:
            df = df[columns]
        return df

    def _text_gone_astray(self, df: Any) -> list:
        """Text columns of meta that this block parsed as something else (a block of
        digits-only codes comes back as integers, a block of blanks as floats)."""
        converters = self.kwargs.get("converters") or {}
        named = self.user_dtype if isinstance(self.user_dtype, dict) else {}
        return [c for c in df.columns
                if c in self.meta.columns and c not in named and c not in converters
                and _is_text(self.meta[c].dtype) and not _is_text(df[c].dtype)]

    def _parse(self, block: Block, columns: list, where: str) -> Any:
        df = self._parse_once(block, columns, where)
        astray = [] if df is None else self._text_gone_astray(df)
        if astray:  # read again, keeping those columns' text as it is ("007" stays)
            df = self._parse_once(block, columns, where, astray)
        return df

    def _parse_once(self, block: Block, columns: list, where: str,
                    as_text: Sequence = ()) -> Any:
        """The block parsed by pandas, or None when it holds no rows."""
        from pandas.errors import EmptyDataError, ParserError

        kw = self.pandas_kwargs(columns, as_text, block.first)
        select = None
        if not block.first and kw.get("engine") == "pyarrow" and "usecols" in kw:
            # pandas' pyarrow engine mixes up usecols given with names=: read all
            # columns of such a block and select afterwards
            wanted = set(kw.pop("usecols"))
            select = [c for c in self.all_columns if c in wanted]
        try:
            with open_block(block, self.delimiter) as stream:
                if stream is None:
                    return None
                df = self.func(stream, **kw)
                return df if select is None else df[select]
        except EmptyDataError:
            return None
        except ParserError as exc:
            raise ParserError(f"{self.name}: {exc} (in {where})") from exc
        except (ValueError, TypeError, OverflowError) as exc:
            if not self.user_dtype:
                raise
            raise type(exc)(
                f"{self.name}: could not parse {where} with dtype={self.user_dtype!r}: {exc}. "
                f"A column given an integer or boolean dtype holds other values there; "
                f"give it a wider dtype (float64 for missing numbers, object for text)"
            ) from exc


def _is_text(dtype: Any) -> bool:
    import pandas as pd

    return pd.api.types.is_object_dtype(dtype) or (
        pd.api.types.is_string_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype))


def _where(block: Block) -> str:
    if block.first and block.end is None:
        return f"file {block.path!r}"
    end = "end" if block.end is None else block.end
    return f"file {block.path!r} (block of bytes {block.start}-{end})"


# -- building ------------------------------------------------------------------------------

def _parse_sample(func: Callable, sample: bytes, kwargs: dict, nrows: int | None) -> Any:
    """The sample parsed by pandas, only its first ``nrows`` rows when given (the
    pyarrow engine has no ``nrows=``: it parses the sample and the rows are cut)."""
    if nrows is None:
        return func(io.BytesIO(sample), **kwargs)
    if kwargs.get("engine") == "pyarrow":
        return func(io.BytesIO(sample), **kwargs).iloc[:nrows]
    return func(io.BytesIO(sample), **dict(kwargs, nrows=nrows))


def _check_options(name: str, kwargs: dict, blocksize: Any) -> None:
    for key in ("iterator", "chunksize"):
        if kwargs.get(key):
            raise ValueError(f"{name}: {key}= is not supported; the result is already split "
                             f"into partitions (use blocksize= to size them)")
    if kwargs.get("index_col") not in (None, False):
        raise ValueError(
            f"{name}: index_col= is not supported; read the column and call "
            f".set_index({kwargs['index_col']!r}) on the result"
        )
    header = kwargs.get("header", "infer")
    if isinstance(header, (list, tuple)):
        raise ValueError(f"{name}: a multi-row header (header={header!r}) is not supported")
    if blocksize is not None:
        for key in ("nrows", "skipfooter"):
            if kwargs.get(key):
                raise ValueError(f"{name}: {key}= needs blocksize=None (one partition per "
                                 f"file); with blocks it would apply to every block")
        skiprows = kwargs.get("skiprows")
        if skiprows is not None and not isinstance(skiprows, int):
            raise ValueError(f"{name}: skiprows= as a list or function needs blocksize=None "
                             f"(one partition per file); an int works with blocks")


def _infer_fwf_colspecs(sample: bytes, encoding: str | None, skiprows: Any) -> list:
    """Column extents of a fixed-width sample: runs of character positions that hold
    something other than spaces in at least one line."""
    lines = sample.decode(encoding or "utf-8").splitlines()
    if isinstance(skiprows, int):
        lines = lines[skiprows:]
    lines = [ln for ln in lines if ln.strip()]
    width = max((len(ln) for ln in lines), default=0)
    used = [False] * width
    for ln in lines:
        for i, ch in enumerate(ln):
            if not ch.isspace():
                used[i] = True
    specs, start = [], None
    for i, u in enumerate(used + [False]):
        if u and start is None:
            start = i
        elif not u and start is not None:
            specs.append((start, i))
            start = None
    return specs


def read_text_files(name: str, func: Callable, urlpath: Any, blocksize: Any = "default",
                    lineterminator: str | None = None, compression: str | None = "infer",
                    sample: int = 256_000, sample_rows: int | None = None,
                    assume_missing: bool = False, storage_options: dict | None = None,
                    include_path_column: bool | str = False, **kwargs: Any) -> Any:
    """The common body of read_csv, read_table and read_fwf; returns a DataFrame."""
    import pandas as pd

    if blocksize == "default":
        blocksize = DEFAULT_BLOCKSIZE
    _check_options(name, kwargs, blocksize)
    delimiter = (lineterminator or "\n").encode(kwargs.get("encoding") or "utf-8")
    if lineterminator is not None:
        kwargs["lineterminator"] = lineterminator
    files = expand_paths(urlpath, storage_options, name)
    blocks = plan_blocks(files, blocksize, compression)

    # The sample: the head of the first file that has any bytes.
    sample_bytes = b""
    for fs, path, size, _ in files:
        if size == 0:
            continue
        sample_bytes = read_head(fs, path, int(sample), codec_for(path, compression), delimiter)
        if sample_bytes.strip():
            break
    if not sample_bytes.strip():
        raise ValueError(f"{name}: every file is empty ({len(files)} files); there are no "
                         f"columns to read")

    user_dtype = kwargs.pop("dtype", None) or {}
    user_usecols = kwargs.pop("usecols", None)
    parse_dates = kwargs.pop("parse_dates", None)
    keep_date_col = bool(kwargs.pop("keep_date_col", False))
    date_format = kwargs.pop("date_format", None)
    kwargs.pop("compression", None)
    if name == "read_fwf" and kwargs.get("colspecs", "infer") == "infer" \
            and kwargs.get("widths") is None:
        kwargs["colspecs"] = _infer_fwf_colspecs(sample_bytes, kwargs.get("encoding"),
                                                 kwargs.get("skiprows"))

    # The file's own columns (before usecols), for positions in parse_dates.
    all_columns = list(_parse_sample(func, sample_bytes, kwargs, 0).columns)
    plain_dates, combos = split_parse_dates(parse_dates, all_columns)
    if callable(user_usecols):
        file_columns = [c for c in all_columns if user_usecols(c)]
    elif user_usecols is not None:
        chosen = set(user_usecols)
        file_columns = [c for i, c in enumerate(all_columns) if c in chosen or i in chosen]
        missing = [c for c in user_usecols if c not in all_columns
                   and not (isinstance(c, int) and 0 <= c < len(all_columns))]
        if missing:
            raise ValueError(f"{name}: usecols names columns that are not in the file: "
                             f"{missing}; its columns are {all_columns}")
    else:
        file_columns = all_columns
    for new, parts in combos.items():
        lost = [p for p in parts if p not in file_columns]
        if lost:
            raise ValueError(f"{name}: the date column {new!r} is built from {parts}, but "
                             f"usecols= leaves out {lost}; add them to usecols")

    head_kwargs = dict(kwargs, usecols=file_columns)
    if user_dtype:
        head_kwargs["dtype"] = user_dtype
    if plain_dates is not None:
        head_kwargs["parse_dates"] = plain_dates
        if date_format is not None:
            head_kwargs["date_format"] = date_format
    nrows = None if sample_rows is None else min(sample_rows, kwargs.get("nrows") or sample_rows)
    head = _parse_sample(func, sample_bytes, head_kwargs, nrows)
    head = combine_dates(head, combos, keep_date_col, date_format)
    meta = head.iloc[:0]
    if assume_missing:
        named = set(user_dtype) if isinstance(user_dtype, dict) else set(meta.columns)
        ints = {c: "float64" for c in meta.columns if c not in named
                and pd.api.types.is_integer_dtype(meta[c].dtype)}
        meta = meta.astype(ints)

    path_column = None
    path_dtype = None
    if include_path_column:
        path_column = "path" if include_path_column is True else include_path_column
        if path_column in meta.columns:
            raise ValueError(f"{name}: include_path_column={path_column!r} clashes with a "
                             f"column of the file; pass another name")
        path_dtype = pd.CategoricalDtype(list(dict.fromkeys(p for _, p, _, _ in files)))
        meta = meta.assign(**{path_column: pd.Categorical([], dtype=path_dtype)})
    meta = meta.set_axis(pd.RangeIndex(0), axis=0)

    reader = TextReader(name, func, kwargs, all_columns,
                        meta, file_columns, user_dtype, user_usecols, combos, keep_date_col,
                        date_format, plain_dates, path_column, path_dtype, delimiter)
    from ._collection import from_parts

    return from_parts(reader, blocks, meta, label=name.replace("_", "-"))


_DOC_COMMON = """
    Parameters
    ----------
    urlpath : str, path or list of them
        File paths, glob patterns (``"data/*.csv"``) or fsspec URLs
        (``"s3://bucket/2024-*.csv.gz"``); globs are sorted.
    blocksize : int, str or None
        Cut uncompressed files into partitions of about this many bytes (``"64MiB"``,
        the default), at line boundaries. None: one partition per file. Compressed
        files are always read whole.
    lineterminator : str, optional
        The line end, when not ``"\\n"``.
    compression : str or None
        ``"infer"`` (from the extension: gz, bz2, xz, zst, ...), a codec name, or None.
    sample : int
        Bytes at the start of the first file parsed to infer columns and dtypes.
    sample_rows : int, optional
        Use only the first this many rows of the sample (default: all of it).
    assume_missing : bool
        Read integer columns not named in ``dtype=`` as float64, for integer data with
        missing values that the sample did not show.
    storage_options : dict, optional
        Options for the fsspec filesystem.
    include_path_column : bool or str
        Add a categorical column (named ``"path"``, or the string given) holding each
        row's file path.
    **kwargs
        pandas' own options (``sep``, ``dtype``, ``usecols``, ``names``, ``header``,
        ``converters``, ``na_values``, ``parse_dates``, ``date_format``, ...).
        ``parse_dates`` also accepts ``{"Date": ["Year", "Month", "DayofMonth"]}`` or
        ``{"Date": [0, 1, 2]}``: the parts are joined with spaces and parsed into one
        datetime column that goes first and replaces them (``keep_date_col=True`` keeps
        them), as pandas did before 3.0.

    Returns
    -------
    DataFrame
        One partition per block; ``divisions`` unknown; each partition has a RangeIndex
        from 0. Every partition is checked against the dtypes inferred from the sample:
        a mismatch raises a ValueError naming the column, the file and the
        ``dtype={...}`` to pass.
"""


def read_csv(urlpath: Any, blocksize: Any = "default", lineterminator: str | None = None,
             compression: str | None = "infer", sample: int = 256_000,
             sample_rows: int | None = None, enforce: bool = False,
             assume_missing: bool = False, storage_options: dict | None = None,
             include_path_column: bool | str = False, **kwargs: Any) -> Any:
    import pandas as pd

    return read_text_files("read_csv", pd.read_csv, urlpath, blocksize, lineterminator,
                           compression, sample, sample_rows, assume_missing, storage_options,
                           include_path_column, **kwargs)


def read_table(urlpath: Any, blocksize: Any = "default", lineterminator: str | None = None,
               compression: str | None = "infer", sample: int = 256_000,
               sample_rows: int | None = None, enforce: bool = False,
               assume_missing: bool = False, storage_options: dict | None = None,
               include_path_column: bool | str = False, **kwargs: Any) -> Any:
    import pandas as pd

    return read_text_files("read_table", pd.read_table, urlpath, blocksize, lineterminator,
                           compression, sample, sample_rows, assume_missing, storage_options,
                           include_path_column, **kwargs)


def read_fwf(urlpath: Any, blocksize: Any = "default", lineterminator: str | None = None,
             compression: str | None = "infer", sample: int = 256_000,
             sample_rows: int | None = None, enforce: bool = False,
             assume_missing: bool = False, storage_options: dict | None = None,
             include_path_column: bool | str = False, **kwargs: Any) -> Any:
    import pandas as pd

    return read_text_files("read_fwf", pd.read_fwf, urlpath, blocksize, lineterminator,
                           compression, sample, sample_rows, assume_missing, storage_options,
                           include_path_column, **kwargs)


read_csv.__doc__ = """Read CSV files into a DataFrame, one partition per file or block.
""" + _DOC_COMMON + """
    ``enforce`` is accepted for compatibility: plait always checks every partition.

    Examples
    --------
    >>> import os, tempfile
    >>> import plait.dataframe as dd
    >>> d = tempfile.mkdtemp()
    >>> for i in range(2):
    ...     with open(os.path.join(d, f"{i}.csv"), "w") as f:
    ...         _ = f.write(f"a,b\\n{i},x\\n{i + 10},y\\n")
    >>> df = dd.read_csv(os.path.join(d, "*.csv"))
    >>> df.npartitions
    2
    >>> int(df.a.sum().compute(scheduler="sync"))
    22
"""

read_table.__doc__ = """Read delimited text files (tab-separated unless ``sep=``) into a DataFrame.
""" + _DOC_COMMON

read_fwf.__doc__ = """Read fixed-width text files into a DataFrame.

    The column extents (``colspecs="infer"``, the default) are inferred once, from the
    sample, and used for every block, so every partition cuts its lines the same way.
""" + _DOC_COMMON

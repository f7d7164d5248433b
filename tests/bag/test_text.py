"""read_text and to_textfiles against plain Python file reading and writing."""

from __future__ import annotations

import bz2
import collections
import gzip
import io
import lzma
import math
import os
from typing import Iterator

import pytest

import plait.bag as db
from plait.bag import text as text_module
from plait.delayed import Delayed

SCHEDULERS = ["sync", "threads", "processes"]

# varied line lengths: empty lines, a line much longer than the small block sizes,
# multi-byte characters, and no newline at the very end
VARIED = (
    "first line\n\nx\n" + "long " * 40 + "\nshort\n\n\nnaïve café ünïcödé\n"
    + "tab\tseparated\tvalues\n" + "y" * 7 + "\nlast line without newline"
)


def write(path, text: str, encoding: str = "utf-8", opener=open) -> str:
    with opener(path, "wb") as f:
        f.write(text.encode(encoding))
    return str(path)


def python_lines(paths, encoding: str = "utf-8", **open_kwargs) -> list:
    out = []
    for p in paths:
        with open(p, encoding=encoding, **open_kwargs) as f:
            out.extend(f.readlines())
    return out


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


@pytest.fixture
def three_files(tmp_path):
    texts = ["a b c\nd e\n", "hello world\nhello again\nbye\n", "only line"]
    return [write(tmp_path / f"f{i}.txt", t) for i, t in enumerate(texts)]


# -- reading whole files -----------------------------------------------------------------

def test_glob_one_partition_per_file(three_files, tmp_path, scheduler):
    b = db.read_text(str(tmp_path / "*.txt"))
    assert b.npartitions == 3
    assert b.compute(scheduler=scheduler) == python_lines(sorted(three_files))


def test_list_of_paths_keeps_order(three_files, scheduler):
    paths = [three_files[2], three_files[0]]
    b = db.read_text(paths)
    assert b.npartitions == 2
    assert b.compute(scheduler=scheduler) == python_lines(paths)


def test_list_mixing_globs_and_paths(three_files, tmp_path):
    b = db.read_text([three_files[1], str(tmp_path / "f[02].txt")])
    assert b.compute(scheduler="sync") == python_lines([three_files[i] for i in (1, 0, 2)])


def test_pathlib_and_file_url(three_files, tmp_path):
    from pathlib import Path

    expected = python_lines(three_files[:1])
    assert db.read_text(Path(three_files[0])).compute(scheduler="sync") == expected
    url = "file://" + three_files[0]
    assert db.read_text(url).compute(scheduler="sync") == expected


@pytest.mark.parametrize("ext, opener", [(".gz", gzip.open), (".bz2", bz2.open),
                                         (".xz", lzma.open)])
def test_compression_inferred(tmp_path, scheduler, ext, opener):
    for i in range(2):
        write(tmp_path / f"part{i}.txt{ext}", VARIED * (i + 1), opener=opener)
    b = db.read_text(str(tmp_path / f"*.txt{ext}"))
    assert b.npartitions == 2
    # each file ends without a newline, so its last line is joined to nothing
    expected = VARIED.splitlines(True) + (VARIED * 2).splitlines(True)
    assert b.compute(scheduler=scheduler) == expected


def test_explicit_compression_without_extension(tmp_path):
    p = write(tmp_path / "data", "one\ntwo\n", opener=gzip.open)
    assert db.read_text(p, compression="gzip").compute(scheduler="sync") == ["one\n", "two\n"]
    with pytest.raises(ValueError, match="nope"):
        db.read_text(p, compression="nope")


def test_no_trailing_newline(tmp_path, scheduler):
    p = write(tmp_path / "a.txt", "x\ny\nlast")
    assert db.read_text(p).compute(scheduler=scheduler) == ["x\n", "y\n", "last"]


def test_empty_files(tmp_path, scheduler):
    e = write(tmp_path / "a.txt", "")
    f = write(tmp_path / "b.txt", "1\n2\n")
    b = db.read_text([e, f, e])
    assert b.npartitions == 3
    assert b.compute(scheduler=scheduler) == ["1\n", "2\n"]
    assert db.read_text(e, blocksize=4).compute(scheduler=scheduler) == []
    assert db.read_text(e, blocksize=4).npartitions == 1


def test_crlf_universal_newlines_like_open(tmp_path, scheduler):
    p = write(tmp_path / "win.txt", "a\r\nbb\r\n\r\nccc\r\nlast")
    expected = python_lines([p])
    assert expected == ["a\n", "bb\n", "\n", "ccc\n", "last"]
    assert db.read_text(p).compute(scheduler=scheduler) == expected
    for bs in range(1, 20):
        assert db.read_text(p, blocksize=bs).compute(scheduler="sync") == expected, bs


@pytest.mark.parametrize("newline", ["", "\n", "\r", "\r\n"])
def test_python_newline_modes_match_open(tmp_path, newline):
    p = write(tmp_path / "mixed.txt", "a\r\nb\nc\rd\r\n\ne")
    expected = python_lines([p], newline=newline)
    assert db.read_text(p, linedelimiter=newline).compute(scheduler="sync") == expected
    for bs in range(1, 16):
        got = db.read_text(p, blocksize=bs, linedelimiter=newline).compute(scheduler="sync")
        assert got == expected, (newline, bs)


def test_custom_linedelimiter(tmp_path, scheduler):
    p = write(tmp_path / "semi.txt", "a;bb;;c\nd;last")
    expected = ["a;", "bb;", ";", "c\nd;", "last"]
    assert db.read_text(p, linedelimiter=";").compute(scheduler=scheduler) == expected
    assert db.read_text(p, linedelimiter=";", blocksize=3).compute(scheduler=scheduler) == expected
    q = write(tmp_path / "semi-end.txt", "a;b;")
    assert db.read_text(q, linedelimiter=";").compute(scheduler="sync") == ["a;", "b;"]


def test_multichar_delimiter_every_blocksize(tmp_path):
    text = "rec1<END>record two<END><END>r3 with < and > inside<END>tail"
    p = write(tmp_path / "recs.txt", text)
    pieces = text.split("<END>")
    expected = [s + "<END>" for s in pieces[:-1]] + [pieces[-1]]
    assert db.read_text(p, linedelimiter="<END>").compute(scheduler="sync") == expected
    for bs in range(1, len(text) + 3):
        got = db.read_text(p, linedelimiter="<END>", blocksize=bs).compute(scheduler="sync")
        assert got == expected, bs


def test_split_stream_across_small_reads():
    text = "ab||cd|||e||||f|"

    for step in range(1, 6):
        def read(n, _buf=io.StringIO(text), _step=step):
            return _buf.read(_step)

        got = list(text_module._split_stream(read, "||"))
        pieces = text.split("||")
        assert got == [s + "||" for s in pieces[:-1]] + [pieces[-1]], step


def test_include_path(three_files, tmp_path, scheduler):
    expected = [(line, p) for p in sorted(three_files) for line in python_lines([p])]
    pattern = str(tmp_path / "*.txt")
    assert db.read_text(pattern, include_path=True).compute(scheduler=scheduler) == expected
    got = db.read_text(pattern, include_path=True, blocksize=5).compute(scheduler=scheduler)
    assert got == expected


def test_encodings(tmp_path, scheduler):
    text = "grüße\nñandú\n€uro\n"
    p16 = write(tmp_path / "u16.txt", text, encoding="utf-16")
    assert db.read_text(p16, encoding="utf-16").compute(scheduler=scheduler) == text.splitlines(True)
    lat = "grüße\nñandú\nolé\n"
    p1 = write(tmp_path / "lat.txt", lat, encoding="latin-1")
    assert db.read_text(p1, encoding="latin-1").compute(scheduler=scheduler) == lat.splitlines(True)
    got = db.read_text(p1, encoding="latin-1", blocksize=4).compute(scheduler=scheduler)
    assert got == lat.splitlines(True)
    with pytest.raises(UnicodeDecodeError):
        db.read_text(p1).compute(scheduler="sync")
    replaced = db.read_text(p1, errors="replace").compute(scheduler="sync")
    assert replaced == python_lines([p1], errors="replace")


def test_blocksize_with_wide_encoding_is_refused(tmp_path):
    p = write(tmp_path / "u16.txt", "a\nb\n", encoding="utf-16")
    with pytest.raises(ValueError, match="utf-16"):
        db.read_text(p, encoding="utf-16", blocksize=4)


def test_files_per_partition(tmp_path, scheduler):
    paths = [write(tmp_path / f"{i}.txt", f"line {i}\nmore {i}\n") for i in range(5)]
    b = db.read_text(str(tmp_path / "*.txt"), files_per_partition=2)
    assert b.npartitions == 3
    assert b.compute(scheduler=scheduler) == python_lines(paths)
    parts = [d.compute(scheduler="sync") for d in b.to_delayed()]
    assert [len(p) for p in parts] == [4, 4, 2]
    with pytest.raises(ValueError, match="not both"):
        db.read_text(paths, files_per_partition=2, blocksize=10)
    with pytest.raises(ValueError, match="files_per_partition"):
        db.read_text(paths, files_per_partition=0)


def test_collection_false_gives_delayed_per_partition(three_files):
    out = db.read_text(three_files, collection=False)
    assert isinstance(out, list) and len(out) == 3
    assert all(isinstance(d, Delayed) for d in out)
    assert [d.compute() for d in out] == [python_lines([p]) for p in three_files]


# -- blocks --------------------------------------------------------------------------------

def test_every_blocksize_reads_each_line_once(tmp_path):
    p = write(tmp_path / "varied.txt", VARIED)
    expected = python_lines([p])
    size = os.path.getsize(p)
    for bs in range(1, size + 3):
        b = db.read_text(p, blocksize=bs)
        assert b.npartitions == max(1, math.ceil(size / bs))
        assert b.compute(scheduler="sync") == expected, bs


def test_blocks_with_trailing_newline_and_schedulers(tmp_path, scheduler):
    p = write(tmp_path / "v.txt", VARIED + "\n")
    expected = python_lines([p])
    for bs in (1, 2, 7, 64, "100B", 10**6):
        assert db.read_text(p, blocksize=bs).compute(scheduler=scheduler) == expected


def test_block_partitions_hold_lines_that_start_in_them(tmp_path):
    p = write(tmp_path / "abc.txt", "aaaa\nbb\ncccccc\nd\n")
    parts = [d.compute(scheduler="sync") for d in db.read_text(p, blocksize=5, collection=False)]
    # line starts at 0, 5, 8, 15: blocks [0,5) [5,10) [10,15) [15,18)
    assert parts == [["aaaa\n"], ["bb\n", "cccccc\n"], [], ["d\n"]]


def test_line_longer_than_many_blocks(tmp_path):
    p = write(tmp_path / "long.txt", "s\n" + "L" * 1000 + "\nend\n")
    for bs in (1, 3, 10, 999, 1000, 1001, 1003):
        assert db.read_text(p, blocksize=bs).compute(scheduler="sync") == python_lines([p])


def test_blocksize_refused_for_compressed_files(tmp_path):
    p = write(tmp_path / "a.txt.gz", "x\n", opener=gzip.open)
    with pytest.raises(ValueError, match="gzip-compressed"):
        db.read_text(p, blocksize=10)
    with pytest.raises(ValueError, match="blocksize"):
        db.read_text(str(tmp_path / "*.gz"), blocksize=0)


# -- errors -------------------------------------------------------------------------------

def test_missing_file_and_empty_glob(tmp_path):
    missing = str(tmp_path / "nope.txt")
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        db.read_text(missing)
    pattern = str(tmp_path / "nothing-*.csv")
    with pytest.raises(FileNotFoundError, match=r"nothing-\*\.csv"):
        db.read_text(pattern)
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        db.read_text([write(tmp_path / "ok.txt", "x"), missing])
    with pytest.raises(IsADirectoryError, match=r"/\*"):
        db.read_text(str(tmp_path))
    with pytest.raises(ValueError, match="empty"):
        db.read_text([])


# -- pipelines ------------------------------------------------------------------------------

def test_word_count(tmp_path, scheduler):
    texts = ["the cat sat\non the mat\n", "The cat ran\n\nthe end", "mat mat  cat\n"]
    for i, t in enumerate(texts):
        write(tmp_path / f"w{i}.txt", t)
    words = db.read_text(str(tmp_path / "w*.txt")).str.split().flatten()
    expected = collections.Counter(w for t in texts for w in t.split())
    counts = words.map_partitions(lambda ws: [collections.Counter(ws)]).compute(scheduler=scheduler)
    assert sum(counts, collections.Counter()) == expected


def test_word_count_frequencies(tmp_path, scheduler):
    texts = ["the cat sat\non the mat\n", "The cat ran\n\nthe end"]
    for i, t in enumerate(texts):
        write(tmp_path / f"w{i}.txt", t)
    freqs = db.read_text(str(tmp_path / "w*.txt")).str.split().flatten().frequencies()
    expected = collections.Counter(w for t in texts for w in t.split())
    assert dict(freqs.compute(scheduler=scheduler)) == dict(expected)
    top = freqs.topk(2, key=1).compute(scheduler=scheduler)
    assert top == expected.most_common(2)


def test_streaming_chain_read_map_filter_sum(tmp_path, scheduler):
    p = tmp_path / "big.txt"
    n = 200_000
    with open(p, "w") as f:
        for i in range(n):
            f.write(f"{i} {'x' * (i % 50)}\n")
    b = db.read_text(str(p), blocksize="512kB")
    total = b.map(lambda line: int(line.split()[0])).filter(lambda v: v % 3 == 0).sum()
    assert total.compute(scheduler=scheduler) == sum(i for i in range(n) if i % 3 == 0)


def test_read_tasks_are_lazy_and_fuse(tmp_path):
    p = write(tmp_path / "a.txt", "1\n2\n3\n")
    for b in (db.read_text(p), db.read_text(p, blocksize=2), db.read_text(p, linedelimiter="\n2")):
        node = b._layer[(b.name, 0)]
        gen = node.func.func(*node.args)  # the unwrapped partition function
        assert isinstance(gen, Iterator)
        assert next(gen) in ("1\n", "1\n2")
        gen.close()
    chain = db.read_text(p).map(int).filter(bool)
    keys = chain.__plait_keys__()
    optimized = chain.__plait_optimize__(chain.__plait_graph__(), keys)
    assert len(optimized) == 1  # read -> map -> filter is one task


# -- writing ------------------------------------------------------------------------------

def test_to_textfiles_round_trip(tmp_path, scheduler):
    items = [f"item {i}" for i in range(10)]
    b = db.from_sequence(items, npartitions=3)
    paths = b.to_textfiles(str(tmp_path / "out" / "*.txt"), scheduler=scheduler)
    assert [os.path.basename(p) for p in paths] == ["0.txt", "1.txt", "2.txt"]
    assert open(paths[0]).read() == "item 0\nitem 1\nitem 2\nitem 3"
    back = db.read_text(str(tmp_path / "out" / "*.txt")).compute(scheduler=scheduler)
    assert [line.rstrip("\n") for line in back] == items


def test_to_textfiles_streams_a_fused_chain(tmp_path, scheduler):
    src = write(tmp_path / "in.txt", "".join(f"{i}\n" for i in range(1000)))
    lines = db.read_text(src, blocksize=500).map(str.strip).filter(lambda s: s.endswith("7"))
    paths = db.to_textfiles(lines, str(tmp_path / "o" / "*.txt"), scheduler=scheduler)
    written = "\n".join(open(p).read() for p in paths if os.path.getsize(p))
    assert written.split("\n") == [str(i) for i in range(1000) if i % 10 == 7]


def test_to_textfiles_last_endline_and_newline_items(tmp_path):
    b = db.from_sequence(["a", "b"], npartitions=1)
    (p,) = b.to_textfiles(str(tmp_path / "*.txt"), last_endline=True, scheduler="sync")
    assert open(p).read() == "a\nb\n"
    # like Dask, the separator is written even after an item that ends in a newline
    b = db.from_sequence(["a\n", "b"], npartitions=1)
    (p,) = b.to_textfiles(str(tmp_path / "nl" / "*.txt"), scheduler="sync")
    assert open(p).read() == "a\n\nb"


def test_to_textfiles_non_str_items_and_empty_partitions(tmp_path):
    b = db.from_sequence([1, 2.5, None, b"raw"], npartitions=2).filter(lambda x: x != 2.5)
    paths = b.to_textfiles(str(tmp_path / "*.txt"), scheduler="sync")
    assert [open(p).read() for p in paths] == ["1", "None\nraw"]
    empty = db.from_sequence([1], npartitions=1).filter(lambda x: False)
    (p,) = empty.to_textfiles(str(tmp_path / "e" / "*.txt"), scheduler="sync")
    assert open(p).read() == ""


def test_to_textfiles_name_function_and_list_and_directory(tmp_path, scheduler):
    b = db.from_sequence(["x", "y", "z"], npartitions=3)
    paths = b.to_textfiles(str(tmp_path / "n" / "part-*.txt"),
                           name_function=lambda i: f"{i:04d}", scheduler=scheduler)
    assert [os.path.basename(p) for p in paths] == ["part-0000.txt", "part-0001.txt",
                                                      "part-0002.txt"]
    explicit = [str(tmp_path / name) for name in ("c.txt", "a.txt", "b.txt")]
    assert b.to_textfiles(explicit, scheduler=scheduler) == explicit
    assert [open(p).read() for p in explicit] == ["x", "y", "z"]
    paths = b.to_textfiles(str(tmp_path / "dir"), scheduler=scheduler)
    assert sorted(os.listdir(tmp_path / "dir")) == ["0.part", "1.part", "2.part"]
    with pytest.raises(ValueError, match="3 partitions and 2 paths"):
        b.to_textfiles(explicit[:2])


def test_to_textfiles_gzip(tmp_path, scheduler):
    items = ["ünï", "two", "three"]
    b = db.from_sequence(items, npartitions=2)
    paths = b.to_textfiles(str(tmp_path / "*.txt.gz"), scheduler=scheduler)
    assert all(p.endswith(".txt.gz") for p in paths)
    with gzip.open(paths[0], "rt", encoding="utf-8") as f:
        assert f.read() == "ünï\ntwo"
    back = db.read_text(str(tmp_path / "*.txt.gz")).str.rstrip("\n").compute(scheduler=scheduler)
    assert back == items


def test_to_textfiles_encoding(tmp_path):
    b = db.from_sequence(["olé", "ça"], npartitions=1)
    (p,) = b.to_textfiles(str(tmp_path / "*.txt"), encoding="latin-1", scheduler="sync")
    assert open(p, "rb").read() == "olé\nça".encode("latin-1")
    (q,) = db.from_sequence([b"\xff\x00", "é"], npartitions=1).to_textfiles(
        str(tmp_path / "bin" / "*.dat"), encoding=None, scheduler="sync")
    assert open(q, "rb").read() == b"\xff\x00\n" + "é".encode("utf-8")


def test_to_textfiles_compute_false(tmp_path):
    b = db.from_sequence(["a", "b", "c"], npartitions=2)
    out = b.to_textfiles(str(tmp_path / "lazy" / "*.txt"), compute=False)
    assert len(out) == 2 and all(isinstance(d, Delayed) for d in out)
    assert not os.path.exists(tmp_path / "lazy" / "0.txt")
    for d in out:
        d.compute(scheduler="sync")
    assert open(tmp_path / "lazy" / "0.txt").read() == "a\nb"
    assert open(tmp_path / "lazy" / "1.txt").read() == "c"

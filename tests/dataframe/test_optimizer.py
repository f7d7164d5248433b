"""The optimized plan: projection and predicate pushdown, no-op removal, fusion into
one task per partition, shared sub-expressions."""

import threading

import numpy as np
import pandas as pd
import pytest

import plait
import plait.dataframe as dd
from plait.dataframe.core import new_collection
from plait.dataframe.expr import (
    Astype,
    Filter,
    FromParts,
    Projection,
    TreeReduce,
    apply_filters,
    optimize,
    walk,
)
from plait.dataframe.utils import assert_eq

N_COLS = 6


def _data():
    rng = np.random.RandomState(1)
    return {i: pd.DataFrame({f"c{j}": rng.randint(-5, 5, size=8) for j in range(N_COLS)},
                            index=pd.RangeIndex(8 * i, 8 * (i + 1)))
            for i in range(4)}


class Reader:
    """A reader that records its calls; it may apply filters."""

    def __init__(self, supports_filters=False, exact=False):
        self.data = _data()
        self.calls = []
        self.lock = threading.Lock()
        self.supports_filters = supports_filters
        self.filters_exact = exact
        self.__name__ = "test-reader"

    def __call__(self, part, columns=None, filters=None):
        with self.lock:
            self.calls.append((part, None if columns is None else tuple(columns),
                               None if filters is None else tuple(filters)))
        df = self.data[part]
        if self.supports_filters:
            df = apply_filters(df, filters)
        return df if columns is None else df[columns]

    def __plait_tokenize__(self):
        return ("reader", id(self))

    def __getstate__(self):  # for the process pool: calls recorded there stay there
        state = dict(self.__dict__)
        del state["lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.lock = threading.Lock()

    def frame(self):
        return pd.concat(self.data.values())


def make(reader):
    meta = reader.data[0].iloc[:0]
    return new_collection(FromParts(reader, list(range(4)), meta, divisions=(0, 8, 16, 24, 31)))


def readers(collection):
    return [e for e in walk([collection._optimized()]) if isinstance(e, FromParts)]


def test_projection_reaches_reader():
    r = Reader()
    df = make(r)
    q = df[df.c1 > 0].c2.sum()
    (reader,) = readers(q)
    assert reader.columns_ == ["c1", "c2"]
    assert_eq(q, r.frame()[r.frame().c1 > 0].c2.sum())
    assert {c[1] for c in r.calls} == {("c1", "c2")}


def test_projection_through_assign_and_elementwise():
    r = Reader()
    df = make(r)
    d2 = df.assign(z=df.c0 + 1, unused=df.c5 * 2)
    q = (d2[["z", "c3"]] * 2).fillna(0)
    (reader,) = readers(q)
    assert reader.columns_ == ["c0", "c3"]
    p = r.frame()
    assert_eq(q, (p.assign(z=p.c0 + 1)[["z", "c3"]] * 2).fillna(0))
    # the assignment nobody reads is gone
    names = [type(e).__name__ for e in walk([q._optimized()])]
    assert names.count("Assign") == 1


def test_projection_through_astype_rename_and_len():
    r = Reader()
    df = make(r)
    q = df.astype({"c1": "f8", "c4": "f4"}).rename(columns={"c1": "one"})["one"]
    (reader,) = readers(q)
    assert reader.columns_ == ["c1"]
    assert_eq(q, r.frame().astype({"c1": "f8"}).rename(columns={"c1": "one"})["one"])
    (reader,) = readers(make(r).shape[0])
    assert reader.columns_ == ["c0"]  # a row count reads one column
    assert len(make(r)) == 32


def test_predicate_pushdown_with_supporting_reader():
    r = Reader(supports_filters=True)
    df = make(r)
    q = df[(df.c1 > 0) & (df.c2 != 3)][["c3"]]
    (reader,) = readers(q)
    assert reader.filters == [("c1", ">", 0), ("c2", "!=", 3)]
    assert reader.columns_ == ["c1", "c2", "c3"]
    assert any(isinstance(e, Filter) for e in walk([q._optimized()]))  # still filtered
    p = r.frame()
    assert_eq(q, p[(p.c1 > 0) & (p.c2 != 3)][["c3"]])
    assert all(c[2] == (("c1", ">", 0), ("c2", "!=", 3)) for c in r.calls)
    # flipped comparisons, isin, and ~bool
    q2 = df[(3 <= df.c0) & df.c4.isin([1, 2])]
    (reader,) = readers(q2)
    assert reader.filters == [("c0", ">=", 3), ("c4", "in", [1, 2])]
    assert_eq(q2, p[(3 <= p.c0) & p.c4.isin([1, 2])])


def test_predicate_pushdown_only_when_safe():
    r = Reader(supports_filters=True)
    df = make(r)
    # not pushed: the column filtered on is not the reader's column any more
    d2 = df.assign(c1=df.c2 * 10)
    q = d2[d2.c1 > 0]
    (reader,) = readers(q)
    assert not reader.filters  # c1 is not the reader's c1 any more
    p = r.frame()
    p2 = p.assign(c1=p.c2 * 10)
    assert_eq(q, p2[p2.c1 > 0])
    # a reader without support gets no filters
    r2 = Reader()
    df2 = make(r2)
    (reader,) = readers(df2[df2.c1 > 0])
    assert not reader.filters


def test_exact_reader_drops_filter():
    r = Reader(supports_filters=True, exact=True)
    df = make(r)
    q = df[df.c1 > 0]
    assert not any(isinstance(e, Filter) for e in walk([q._optimized()]))
    p = r.frame()
    assert_eq(q, p[p.c1 > 0])


def test_noop_removal(pdf):
    df = dd.from_pandas(pdf, npartitions=2)
    q = df[list(df.columns)].astype(dict(pdf.dtypes))
    kinds = {type(e) for e in walk([q._optimized()])}
    assert Projection not in kinds and Astype not in kinds
    assert_eq(q, pdf)
    q = df.rename(columns={"x": "x"})[["x", "y"]][["x", "y"]]
    nodes = list(walk([q._optimized()]))
    # the selection moved into the source, where it made the projections no-ops
    assert [type(e).__name__ for e in nodes] == ["FromPandas"]
    assert nodes[0].columns_ == ["x", "y"]
    assert_eq(q, pdf[["x", "y"]])


def _task_count(collection):
    return len(collection.__plait_graph__())


def test_elementwise_chain_is_one_task_per_partition():
    r = Reader()
    df = make(r)
    q = ((df.c0 + 1) * 2 - df.c1).abs().fillna(0).clip(0, 5).astype("f8")
    q = q[q > 1]
    assert _task_count(q) == 4  # one per partition: read + every step fused
    p = r.frame()
    e = ((p.c0 + 1) * 2 - p.c1).abs().fillna(0).clip(0, 5).astype("f8")
    assert_eq(q, e[e > 1])
    # a reduction adds only its tree on top of the fused chunks
    total = q.sum(split_every=8)
    assert _task_count(total) == 4 + 1
    assert_eq(total, e[e > 1].sum())


def test_map_partitions_fuses_too(pdf):
    df = dd.from_pandas(pdf, npartitions=3)
    q = df.map_partitions(lambda d: d.assign(z=d.x * 2)).z + 1
    assert _task_count(q) == 3
    assert_eq(q, pdf.x * 2 + 1, check_names=False)


def test_common_subexpressions_computed_once():
    r = Reader()
    df = make(r)
    a = df[df.c0 > 0]
    s1 = a.c1.sum()
    s2 = a.c2.mean()
    got1, got2 = plait.compute(s1, s2, scheduler="sync")
    p = r.frame()
    assert got1 == p[p.c0 > 0].c1.sum()
    assert np.isclose(got2, p[p.c0 > 0].c2.mean())
    assert len(r.calls) == 4  # each partition read once for both results
    assert {c[1] for c in r.calls} == {("c0", "c1", "c2")}
    # the same expression built twice has one name, so one set of tasks
    b = df[df.c0 > 0]
    assert b.expr._name == a.expr._name
    graph = plait.dataframe.core.Scalar._plait_merged_graph([a.c1.sum(), b.c1.sum()])
    assert len(graph) == 5


def test_shared_intermediate_is_materialized_once():
    r = Reader()
    df = make(r)
    base = (df.c0 + df.c1).astype("f8")
    x = base * 2
    y = base + 1
    out_x, out_y = plait.compute(x, y, scheduler="threads")
    p = r.frame()
    e = (p.c0 + p.c1).astype("f8")
    pd.testing.assert_series_equal(out_x, e * 2)
    pd.testing.assert_series_equal(out_y, e + 1)
    assert len(r.calls) == 4
    graph = dd.Series._plait_merged_graph([x, y])
    assert len(graph) == 3 * 4  # base once per partition, then each result


def test_optimize_is_idempotent_and_cached(pdf):
    df = dd.from_pandas(pdf, npartitions=2)
    q = df[df.x > 0][["y", "s"]]
    once = optimize(q.expr)
    assert optimize(once)._name == once._name
    assert q.optimize().expr._name == once._name
    assert isinstance(q.optimize(), dd.DataFrame)


def test_tree_reduce_interface():
    r = Reader()
    df = make(r)
    expr = TreeReduce([df.c0.expr, df.c1.expr], lambda a, b: (a * b).sum(), None,
                      lambda vals: sum(vals), meta=0, split_every=2)
    s = new_collection(expr)
    assert type(s).__name__ == "Scalar"
    p = r.frame()
    assert s.compute() == (p.c0 * p.c1).sum()
    frame_expr = TreeReduce([df.expr], lambda d, k: d.head(k), lambda vs: pd.concat(vs),
                            lambda vs: pd.concat(vs).sum().to_frame().T, meta=p.iloc[:0],
                            chunk_kwargs={"k": 2})
    out = new_collection(frame_expr)
    assert type(out).__name__ == "DataFrame" and out.npartitions == 1
    expected = pd.concat([d.head(2) for d in r.data.values()]).sum().to_frame().T
    pd.testing.assert_frame_equal(out.compute(), expected)


def test_map_partitions_expr_interface(pdf):
    from plait.dataframe.expr import MapPartitions

    df = dd.from_pandas(pdf, npartitions=3)
    e = MapPartitions(lambda d, other, k=0: d.x + other.y + k, df.expr, df.expr,
                      meta=("r", "f8"), kwargs={"k": 1})
    assert_eq(new_collection(e), (pdf.x + pdf.y + 1).rename("r"))


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_plan_results_under_schedulers(scheduler):
    r = Reader(supports_filters=True)
    df = make(r)
    q = df[df.c1 >= 0].assign(z=lambda d: d.c2 * d.c3)[["z"]].sum()
    p = r.frame()
    p = p[p.c1 >= 0]
    assert_eq(q, (p.c2 * p.c3).to_frame("z").sum(), scheduler=scheduler)


def test_readers_merged_across_results():
    r = Reader()
    df = make(r)
    a = df.c1.sum()
    b = df.c2.max()
    c = df.c1.min()
    plait.compute(a, b, c, scheduler="sync")
    assert len(r.calls) == 4 and {x[1] for x in r.calls} == {("c1", "c2")}
    r.calls.clear()
    plait.compute(df + 1, df[["c1"]] * 2, scheduler="sync")
    assert len(r.calls) == 4 and {x[1] for x in r.calls} == {None}


def test_no_pushdown_below_a_reduction_of_the_same_data():
    r = Reader(supports_filters=True)
    df = make(r)
    d2 = df.assign(m=df.c1 - df.c1.mean())  # the mean must see every row
    q = d2[d2.c0 > 0]
    assert all(not e.filters for e in readers(q))
    p = r.frame()
    p2 = p.assign(m=p.c1 - p.c1.mean())
    assert_eq(q, p2[p2.c0 > 0])


def test_len_of_in_memory_frame_needs_no_task(pdf):
    df = dd.from_pandas(pdf, npartitions=4)
    rows = (df.assign(z=df.x + 1)[["z", "y"]] * 2).shape[0]
    assert len(rows.dask) == 1 and rows.compute() == len(pdf)
    assert len(df.partitions[1:3]) == len(df.partitions[1].compute()) + len(df.partitions[2].compute())
    assert len(df[df.x > 0]) == (pdf.x > 0).sum()  # a filter: counted by tasks


def test_explain_fused_and_cheap_slices_repeated(pdf, capsys):
    df = dd.from_pandas(pdf, npartitions=4)
    q = df.x + df.y - df.y.mean()
    q.explain("fused")
    out = capsys.readouterr().out
    assert "fused [from-pandas, getitem, mean-chunk]: 4 task(s)" in out
    assert out.count("fused") == 2  # the in-memory slices are repeated, not shared tasks
    assert _task_count(q) == 4 + 1 + 4
    assert_eq(q, pdf.x + pdf.y - pdf.y.mean())
    with pytest.raises(ValueError, match="stage"):
        q.explain("nope")


def test_series_and_scalar_of_one_frame_read_each_partition_once(tmp_path):
    # A Series and a Scalar computed together lower in one pass (collection.py groups
    # them by __plait_graph_group__), so the file is parsed once per partition.
    import pandas as pd

    import plait
    import plait.dataframe as dd
    from plait.collection import collections_to_graph

    pdf = pd.DataFrame({"x": range(30), "y": range(30), "z": range(30)})
    for i in range(3):
        pdf.to_csv(tmp_path / f"{i}.csv", index=False)
    df = dd.read_csv(str(tmp_path / "*.csv"))
    a, b = df.x * 2, df.y.sum()
    graph = collections_to_graph([a, b])
    reads = [k for k in graph if isinstance(k, tuple) and k[0].startswith("read-csv")]
    assert len(reads) == 3
    ra, rb = plait.compute(a, b, scheduler="sync")
    assert rb == 3 * pdf.y.sum()
    assert ra.tolist() == (pdf.x * 2).tolist() * 3

"""The data layer from Python: Arrow in and out through the PyCapsule interface (no copies),
pandas and polars inputs, and the same answers as the Rust side and the reference rules."""

import datetime as dt
import struct

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mlops
import mlops.data as md


def _table(n=1000):
    return pa.table({
        "user_id": pa.array([i % 97 for i in range(n)], pa.int64()),
        "age": pa.array([None if i % 50 == 0 else float(i % 130) for i in range(n)]),
        "plan": pa.array(["basic" if i % 3 else "premium" for i in range(n)]),
        "label": pa.array([i % 2 for i in range(n)], pa.int64()),
    })


def test_tables_cross_the_boundary_without_copies():
    t = pa.table({"x": pa.array(range(100_000), pa.int64())})
    out, removed = md.dedup(t)
    assert removed == 0 and out.equals(t)
    # The same buffer comes back: imported and exported by pointer.
    assert out.column(0).chunks[0].buffers()[1].address == t.column(0).chunks[0].buffers()[1].address


def test_read_validate_split_and_fingerprint(tmp_path):
    t = _table()
    path = tmp_path / "t.parquet"
    pq.write_table(t, path, row_group_size=100)
    back = md.read(path)
    assert back.equals(t)
    assert md.read(path.as_uri()).num_rows == 1000
    # Another layout of the same values is the same dataset version; one cell is not.
    pq.write_table(t, tmp_path / "u.parquet", row_group_size=333, compression="gzip")
    assert md.fingerprint(md.read(tmp_path / "u.parquet")) == md.fingerprint(t)
    changed = t.set_column(1, "age", pa.array([1.0] + t.column("age").to_pylist()[1:]))
    assert md.fingerprint(changed) != md.fingerprint(t)

    report, failures = md.validate(t, [
        {"check": "not_null", "column": "age"},
        {"check": "in_range", "column": "age", "min": 0, "max": 120},
        {"check": "isin", "column": "plan", "values": ["basic"]},
        {"check": "unique", "column": "user_id"},
        {"check": "row_count", "min": 2000},
        {"check": "dtype", "column": "label", "dtype": "int64"},
    ])
    counts = [c["failures"] for c in report["checks"]]
    nulls = sum(1 for i in range(1000) if i % 50 == 0)
    high = sum(1 for i in range(1000) if i % 50 and i % 130 > 120)
    assert counts == [nulls, nulls + high, 334, 1000 - 97, 1, 0]
    assert report["checks"][1]["percent"] == pytest.approx(100 * (nulls + high) / 1000)
    assert failures.column_names == ["schema_context", "column", "check", "check_number",
                                     "failure_case", "index"]
    first = failures.to_pylist()[0]
    assert first["check"] == "not_null" and first["index"] == 0 and first["failure_case"] is None

    train, ev, test = md.split(t, "user_id", train=80, eval=10)
    assert train.num_rows + ev.num_rows + test.num_rows == 1000
    users = [set(p.column("user_id").to_pylist()) for p in (train, ev, test)]
    assert not (users[0] & users[1] or users[0] & users[2] or users[1] & users[2])
    # Membership is the frozen XXH64 rule of BENCHMARKS.md (test vector: user 0 -> bucket 79).
    assert 0 in users[0]
    s = md.stratified_split(t, "user_id", "label", train=0.5, eval=0.25)
    assert [p.num_rows for p in s] == [500, 250, 250]


def test_pandas_and_polars_inputs():
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    t = _table()
    fp = md.fingerprint(t)
    assert md.fingerprint(pl.from_arrow(t)) == fp
    df = t.to_pandas(types_mapper=pd.ArrowDtype)
    assert md.fingerprint(df) == md.fingerprint(pa.Table.from_pandas(df, preserve_index=False))
    with pytest.raises(TypeError, match="__arrow_c_stream__"):
        md.fingerprint([1, 2, 3])


def test_point_in_time_join_and_near_duplicates():
    ts = lambda s: dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=s)  # noqa: E731
    entities = pa.table({"user": [1, 1, 2], "t": pa.array([ts(10), ts(25), ts(10)], pa.timestamp("us", "UTC"))})
    features = pa.table({
        "user": [1, 1, 2],
        "ft": pa.array([ts(5), ts(20), ts(11)], pa.timestamp("us", "UTC")),
        "spend": [1.0, 2.0, 3.0],
    })
    j = md.point_in_time_join(entities, features, ["user"], "t", "ft")
    assert j.column("spend").to_pylist() == [1.0, 2.0, None]
    j = md.point_in_time_join(entities, features, ["user"], "t", "ft", ttl_seconds=3, prefix="f")
    assert j.column("f__spend").to_pylist() == [None, None, None]

    keep, removed = md.near_duplicates(
        ["the quick brown fox jumps over the lazy dog", "The quick  brown fox jumps over the lazy dog!", None,
         "an entirely different sentence about data"], threshold=0.7)
    assert keep == [True, False, True, True]
    assert removed[0][:2] == (1, 0)


def test_bad_input_raises_the_right_exception():
    with pytest.raises(mlops.ValidationError, match="nope"):
        md.split(_table(), "nope")
    with pytest.raises(mlops.ValidationError, match="regular expression"):
        md.validate(_table(), [{"check": "str_matches", "column": "plan", "pattern": "("}])
    with pytest.raises(mlops.ValidationError, match="frobnicate"):
        md.validate(_table(), [{"check": "frobnicate"}])
    with pytest.raises(mlops.StoreError):
        md.read("/does/not/exist.parquet")
    nested = pa.table({"x": pa.array([[1], [2, 3]], pa.list_(pa.int64()))})
    with pytest.raises(mlops.NotSupportedError, match="fingerprint"):
        md.fingerprint(nested)
    assert issubclass(mlops.NotSupportedError, NotImplementedError)


def test_numpy_and_arrow_columns_feed_the_metrics():
    import numpy as np

    y = np.array([0, 1, 1, 0, 1])
    s = np.array([0.1, 0.8, 0.4, 0.3, 0.9])
    as_lists = mlops.metrics.roc_auc_score(y.tolist(), s.tolist())
    assert mlops.metrics.roc_auc_score(y, s) == as_lists
    assert mlops.metrics.roc_auc_score(pa.array(y), pa.array(s)) == as_lists
    # Narrower and boolean labels are widened; float labels must be whole numbers.
    assert mlops.metrics.accuracy_score(y.astype(np.int8), y.astype(bool)) == 1.0
    assert mlops.metrics.accuracy_score(y.astype(np.float64), y) == 1.0
    with pytest.raises(ValueError, match="not an integer"):
        mlops.metrics.accuracy_score(np.array([0.5, 1.0]), np.array([0, 1]))
    with pytest.raises(ValueError, match="nulls"):
        mlops.metrics.accuracy_score(pa.array([0, None]), pa.array([0, 1]))
    assert mlops.drift.ks_2samp(np.arange(10.0), np.arange(10.0) + 0.5)[0] == pytest.approx(0.1)

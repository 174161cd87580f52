"""The data layer: read, fingerprint, validate, deduplicate, split and join tables.

Tables go in as any object with the Arrow PyCapsule interface (``__arrow_c_stream__``):
a ``pyarrow.Table`` or ``RecordBatchReader``, a pandas (>= 2.2) or polars data frame. Their
buffers are shared with Rust, not copied. Tables come back as ``pyarrow.Table``.

    import mlops.data as md

    table = md.read("events.parquet")            # or a folder, or a file:// URL
    report, failures = md.validate(table, [
        {"check": "not_null", "column": "user_id"},
        {"check": "in_range", "column": "age", "min": 0, "max": 120},
        {"check": "isin", "column": "plan", "values": ["basic", "premium"]},
    ])
    train, eval_, test = md.split(table, "user_id", train=80, eval=10)
    print(md.fingerprint(train))                 # the dataset version id
"""

import json

from . import _mlops


def _table(stream):
    import pyarrow as pa

    return pa.table(stream)


def read(location, *, columns=None, limit=None):
    """Reads a Parquet, CSV, JSON-lines or Arrow IPC file, a folder of Parquet files, or a
    ``file://`` URL, into a ``pyarrow.Table``.

    ``location`` may also be a data source of your own: a callable returning a table or an
    iterable of tables (pyarrow, pandas, polars). It is read through the same ``DataSource``
    trait as the built-in sources, which applies ``columns`` and ``limit``."""
    if callable(location):
        return _table(_mlops.read_source(location, columns, limit))
    table = _table(_mlops.read(str(location)))
    if columns is not None:
        table = table.select(columns)
    if limit is not None:
        table = table.slice(0, limit)
    return table


def fingerprint(table):
    """The content fingerprint of a table: its dataset version id (64 hex digits). The same
    values give the same id whatever the file layout; one changed cell changes it."""
    return _mlops.fingerprint(table)


def validate(table, checks, *, max_listed=1000):
    """Validates lazily, collecting every failure.

    ``checks`` is a list of dicts: ``not_null`` (``column``), ``in_range`` (``column``,
    ``min``, ``max``), ``isin`` (``column``, ``values``), ``str_matches`` (``column``,
    ``pattern``), ``unique`` (``columns`` or ``column``), ``row_count`` (``min``, ``max``),
    ``dtype`` (``column``, ``dtype``). Returns ``(report, failures)``: the report as a dict
    (``rows``, per-check ``checks`` with counts and percentages) and the failure cases as a
    ``pyarrow.Table`` with pandera's columns (``schema_context, column, check,
    check_number, failure_case, index``).
    """
    report, failures = _mlops.validate(table, list(checks), max_listed=max_listed)
    return json.loads(report), _table(failures)


def dedup(table):
    """Removes exact duplicate rows, keeping the first; returns ``(table, rows_removed)``."""
    stream, removed = _mlops.dedup(table)
    return _table(stream), removed


def split(table, key, *, train=80, eval=10, seed=0):
    """Splits by XXH64 of an entity key (an entity never crosses splits): ``train``% and
    ``eval``% of 100 buckets; returns ``(train, eval, test)`` tables."""
    return tuple(_table(s) for s in _mlops.split(table, key, train=train, eval=eval, seed=seed))


def stratified_split(table, key, label, *, train=0.8, eval=0.1, seed=0):
    """Splits every label value in the same proportions; returns ``(train, eval, test)``."""
    return tuple(
        _table(s)
        for s in _mlops.stratified_split(table, key, label, train=train, eval=eval, seed=seed)
    )


def point_in_time_join(entities, features, keys, entity_time, feature_time, *,
                       created_time=None, ttl_seconds=None, filter_by_created=False, prefix=None):
    """Joins ``features`` onto ``entities`` as of each entity row's time, with Feast's
    semantics: feature time <= entity time, within the TTL, latest wins, ties by created
    time; ``filter_by_created`` keeps corrections written later out."""
    return _table(_mlops.point_in_time_join(
        entities, features, list(keys), entity_time, feature_time,
        created_time=created_time, ttl_seconds=ttl_seconds,
        filter_by_created=filter_by_created, prefix=prefix))


def near_duplicates(texts, *, threshold=0.8, num_perm=128, ngram=5, words=False, seed=1):
    """Near-duplicate texts with seeded MinHash-LSH, keeping the first of each group; returns
    ``(keep, removed)``: a flag per text and ``(index, duplicate_of, similarity)`` triples."""
    return _mlops.near_duplicates(list(texts), threshold=threshold, num_perm=num_perm,
                                  ngram=ngram, words=words, seed=seed)


__all__ = [
    "dedup",
    "fingerprint",
    "near_duplicates",
    "point_in_time_join",
    "read",
    "split",
    "stratified_split",
    "validate",
]

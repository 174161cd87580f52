//! The SQLite schema of the embedded store, created or upgraded on open.
//!
//! `PRAGMA user_version` records the schema version; the upgrade runs inside a
//! `BEGIN IMMEDIATE` transaction so that processes opening a new store at the same time
//! never race (MLflow's alembic migrations do: "duplicate column name").

/// The schema version this code writes.
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// Statements creating schema version 1.
pub(crate) const SCHEMA_V1: &str = r#"
CREATE TABLE IF NOT EXISTS experiments (
    experiment_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT NOT NULL UNIQUE,
    artifact_location TEXT NOT NULL,
    lifecycle_stage   TEXT NOT NULL DEFAULT 'active',
    creation_time     INTEGER NOT NULL,
    last_update_time  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS experiment_tags (
    experiment_id INTEGER NOT NULL,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (experiment_id, key)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS runs (
    run_id          TEXT PRIMARY KEY,
    experiment_id   INTEGER NOT NULL,
    run_name        TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    status          TEXT NOT NULL,
    start_time      INTEGER NOT NULL,
    end_time        INTEGER,
    heartbeat_time  INTEGER NOT NULL,
    artifact_uri    TEXT NOT NULL,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active'
);
CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs (experiment_id, start_time DESC);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, heartbeat_time);

CREATE TABLE IF NOT EXISTS params (
    run_id TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS params_by_key ON params (key, value);

CREATE TABLE IF NOT EXISTS tags (
    run_id TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_by_key ON tags (key, value);

-- One row per (run, metric key); points live in chunks of packed (step, timestamp, value).
CREATE TABLE IF NOT EXISTS metric_series (
    series_id INTEGER PRIMARY KEY,
    run_id    TEXT NOT NULL,
    key       TEXT NOT NULL,
    UNIQUE (run_id, key)
);
CREATE TABLE IF NOT EXISTS metric_chunks (
    series_id INTEGER NOT NULL,
    chunk     INTEGER NOT NULL,
    points    INTEGER NOT NULL,
    data      BLOB NOT NULL,
    PRIMARY KEY (series_id, chunk)
);
-- The latest point of each series: max of (step, timestamp, value), as MLflow defines it.
-- A NaN value is stored as NULL with is_nan = 1 (SQLite has no NaN).
CREATE TABLE IF NOT EXISTS latest_metrics (
    run_id    TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     REAL,
    is_nan    INTEGER NOT NULL,
    step      INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS latest_metrics_by_key ON latest_metrics (key, value);

-- Datasets are identified by their content digest.
CREATE TABLE IF NOT EXISTS datasets (
    digest      TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    source_type TEXT NOT NULL,
    source      TEXT NOT NULL,
    schema      TEXT,
    profile     TEXT,
    created     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS run_inputs (
    run_id  TEXT NOT NULL,
    digest  TEXT NOT NULL,
    context TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, digest, context)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS run_inputs_by_digest ON run_inputs (digest);

-- Artifacts logged to a run: a path in the run's artifact tree -> a content digest.
CREATE TABLE IF NOT EXISTS run_artifacts (
    run_id TEXT NOT NULL,
    path   TEXT NOT NULL,
    digest TEXT NOT NULL,
    size   INTEGER NOT NULL,
    PRIMARY KEY (run_id, path)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS registered_models (
    name             TEXT PRIMARY KEY,
    description      TEXT NOT NULL DEFAULT '',
    last_version     INTEGER NOT NULL DEFAULT 0,
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS registered_model_tags (
    name  TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS model_versions (
    name             TEXT NOT NULL,
    version          INTEGER NOT NULL,
    source           TEXT NOT NULL,
    run_id           TEXT,
    artifact_digest  TEXT,
    description      TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    creation_time    INTEGER NOT NULL,
    last_update_time INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE INDEX IF NOT EXISTS model_versions_by_run ON model_versions (run_id);
CREATE TABLE IF NOT EXISTS model_version_tags (
    name    TEXT NOT NULL,
    version INTEGER NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (name, version, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aliases (
    name    TEXT NOT NULL,
    alias   TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (name, alias)
) WITHOUT ROWID;

-- Typed lineage edges: dataset -> dataset (derived), dataset -> run (input),
-- run -> model version (produced).
CREATE TABLE IF NOT EXISTS lineage_edges (
    src_kind TEXT NOT NULL,
    src_id   TEXT NOT NULL,
    dst_kind TEXT NOT NULL,
    dst_id   TEXT NOT NULL,
    relation TEXT NOT NULL,
    created  INTEGER NOT NULL,
    PRIMARY KEY (src_kind, src_id, dst_kind, dst_id, relation)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS lineage_by_dst ON lineage_edges (dst_kind, dst_id);

-- Append-only audit log of registry changes.
CREATE TABLE IF NOT EXISTS audit_log (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    time    INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    entity  TEXT NOT NULL,
    detail  TEXT NOT NULL,
    reason  TEXT NOT NULL
);

-- The default experiment, as in MLflow.
INSERT OR IGNORE INTO experiments (experiment_id, name, artifact_location, creation_time, last_update_time)
VALUES (0, 'Default', '', 0, 0);
"#;

//! # mlops-data
//!
//! The data layer: sources yielding Arrow record batches, content fingerprints that make a
//! dataset's id, and deterministic leakage-free splits. Validation, dedup, dataset versions
//! and feature pipelines grow here next.
//!
//! - [`source`]: [`MemorySource`], [`ParquetSource`] (row-group pruning), [`ParquetDataset`]
//!   (a folder), [`IpcSource`], [`TextSource`] (CSV, JSON lines), [`ObjectSource`] (any
//!   object store), and [`open_location`] for paths and `file://` or `s3://` URLs.
//! - [`fingerprint`]: the content id of a table ([`content_fingerprint`], [`dataset_id`]).
//! - [`files`]: plain files and folder trees fingerprinted like `dvc add`, with parallel
//!   BLAKE3 and a stat cache ([`fingerprint_path`]).
//! - [`split`]: [`HashSplit`] by XXH64 of an entity key; [`StratifiedSplit`] per label value.
//! - [`leakage`]: time splits with a gap, and the leakage report of a split.
//! - [`dedup`]: exact, keep-first, streaming [`Dedup`].
//! - [`near_dup`]: near-duplicate text with seeded MinHash-LSH ([`near_duplicates`]).
//! - [`write`](mod@write): atomic Parquet output ([`write_parquet`], streaming
//!   [`AtomicParquetWriter`]).
//! - [`validate`]: declarative [`Check`]s, their violation counts, and the lazy [`Validator`]
//!   whose report lists every failure; [`validate_into`] quarantines failing rows.
//! - [`feedback`]: append-only prediction and feedback logs, joined by request id into a
//!   labelled dataset version ([`join_labels`]).
//! - [`snapshot`]: dataset versions as manifests of content-addressed Parquet parts, with
//!   lineage and diffs ([`snapshot()`](snapshot::snapshot), [`diff`](snapshot::diff)).
//! - [`pit`]: point-in-time-correct joins with Feast's semantics ([`point_in_time_join`]).

#![warn(missing_docs)]

pub mod dedup;
pub mod feedback;
pub mod files;
pub mod fingerprint;
pub mod leakage;
pub mod near_dup;
pub mod pit;
pub mod snapshot;
pub mod source;
pub mod split;
pub mod validate;
pub mod write;

pub use dedup::{Dedup, DedupReport};
pub use feedback::{AppendLog, LabelJoin, LabelJoinReport, LabelledData, LogKind, join_labels};
pub use files::{FileEntry, FileOptions, TreeFingerprint, fingerprint_path};
pub use fingerprint::{content_fingerprint, dataset_id};
pub use leakage::{LeakageReport, TimeSplit, leakage_report, leakage_report_with_text};
pub use near_dup::{MinHashOptions, NearDupIndex, NearDupReport, Shingle, near_duplicates};
pub use pit::{PitJoin, point_in_time_join};
pub use source::{
    IpcSource, MemorySource, ObjectSource, ParquetDataset, ParquetSource, RangePredicate,
    TextFormat, TextSource, open_location, open_path,
};
pub use split::{HashSplit, Split, StratifiedSplit};
pub use validate::{Check, ValidationReport, Validator, count_violations, validate_into};
pub use write::{AtomicParquetWriter, WriteOptions, write_parquet};

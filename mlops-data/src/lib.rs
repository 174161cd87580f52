//! # mlops-data
//!
//! The data layer: sources yielding Arrow record batches, content fingerprints that make a
//! dataset's id, and deterministic leakage-free splits. Validation, dedup, dataset versions
//! and feature pipelines grow here next.
//!
//! - [`source`]: [`MemorySource`], [`ParquetSource`].
//! - [`fingerprint`]: the content id of a table ([`content_fingerprint`], [`dataset_id`]).
//! - [`split`]: [`HashSplit`] by XXH64 of an entity key.

#![warn(missing_docs)]

pub mod fingerprint;
pub mod source;
pub mod split;

pub use fingerprint::{content_fingerprint, dataset_id};
pub use source::{MemorySource, ParquetSource};
pub use split::{HashSplit, Split};

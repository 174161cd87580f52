//! [`DataSource`](mlops_core::DataSource) implementations: in-memory tables, Parquet files
//! and folders, Arrow IPC, CSV and JSON-lines files.

mod ipc;
mod location;
mod memory;
mod parquet;
mod text;

pub use self::ipc::IpcSource;
pub use self::location::{ObjectSource, open_location, open_path};
pub use self::memory::MemorySource;
pub use self::parquet::{ParquetDataset, ParquetSource, RangePredicate};
pub use self::text::{INFER_RECORDS, TextFormat, TextSource};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use mlops_core::{Error, Result};

/// Resolves projected column names to indices of `schema`; the error names the column and
/// the source.
pub(crate) fn projection_indices(
    schema: &SchemaRef,
    names: Option<&[String]>,
    source: &str,
) -> Result<Option<Vec<usize>>> {
    names
        .map(|names| {
            names
                .iter()
                .map(|n| {
                    schema.index_of(n).map_err(|_| {
                        Error::invalid("projected column", n, format!("a column of {source}"))
                    })
                })
                .collect()
        })
        .transpose()
}

/// Stops an iterator of batches after `limit` rows (slicing the last batch), so every source
/// applies `ScanOptions::limit` the same way. An error passes through and counts no rows.
pub(crate) fn limit_rows<I>(
    batches: I,
    limit: Option<usize>,
) -> impl Iterator<Item = Result<RecordBatch>> + Send + 'static
where
    I: Iterator<Item = Result<RecordBatch>> + Send + 'static,
{
    let mut remaining = limit.unwrap_or(usize::MAX);
    batches.map_while(move |b| {
        if remaining == 0 {
            return None;
        }
        Some(b.map(|b| {
            let b = if b.num_rows() > remaining {
                b.slice(0, remaining)
            } else {
                b
            };
            remaining -= b.num_rows();
            b
        }))
    })
}

//! [`DataSource`](mlops_core::DataSource) implementations: in-memory tables, Parquet, CSV and
//! JSON-lines files.

mod memory;
mod parquet;
mod text;

pub use self::memory::MemorySource;
pub use self::parquet::ParquetSource;
pub use self::text::{INFER_RECORDS, TextFormat, TextSource};

//! [`DataSource`](mlops_core::DataSource) implementations: in-memory tables and Parquet files.

mod memory;
mod parquet;

pub use self::memory::MemorySource;
pub use self::parquet::ParquetSource;

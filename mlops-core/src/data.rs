//! The [`DataSource`] trait: anything that yields Arrow record batches.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::error::Result;

/// Options of a scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanOptions {
    /// Columns to read (`None`: all), by name.
    pub projection: Option<Vec<String>>,
    /// Preferred rows per batch (`None`: the source's natural size).
    pub batch_size: Option<usize>,
    /// Stop after this many rows.
    pub limit: Option<usize>,
}

/// A stream of record batches.
pub type BatchStream = BoxStream<'static, Result<RecordBatch>>;

/// A source of tabular data as Arrow record batches: files, object stores, memory.
///
/// Object-safe: hold it as `Arc<dyn DataSource>`.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Int64Array, RecordBatch};
/// use arrow_schema::{DataType, Field, Schema, SchemaRef};
/// use async_trait::async_trait;
/// use futures::StreamExt;
/// use mlops_core::{BatchStream, DataSource, Result, ScanOptions};
///
/// struct Numbers(RecordBatch);
///
/// #[async_trait]
/// impl DataSource for Numbers {
///     fn name(&self) -> &str { "numbers" }
///     fn schema(&self) -> SchemaRef { self.0.schema() }
///     async fn scan(&self, _options: ScanOptions) -> Result<BatchStream> {
///         Ok(futures::stream::iter([Ok(self.0.clone())]).boxed())
///     }
/// }
///
/// let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
/// let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))]).unwrap();
/// let source: Arc<dyn DataSource> = Arc::new(Numbers(batch));
/// assert_eq!(source.schema().field(0).name(), "x");
/// ```
#[async_trait]
pub trait DataSource: Send + Sync {
    /// A short name for logs and lineage.
    fn name(&self) -> &str;
    /// The schema of every batch the source yields.
    fn schema(&self) -> SchemaRef;
    /// Starts a scan.
    async fn scan(&self, options: ScanOptions) -> Result<BatchStream>;
}

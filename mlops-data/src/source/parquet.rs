//! Parquet files as a [`DataSource`]: column projection by name, batch size and row limit,
//! read a batch at a time so memory stays bounded whatever the file's size.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use futures::StreamExt;
use mlops_core::{BatchStream, DataSource, Error, Result, ScanOptions};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

const DEFAULT_BATCH: usize = 65_536;

/// A Parquet file.
#[derive(Clone, Debug)]
pub struct ParquetSource {
    path: PathBuf,
    name: String,
    schema: SchemaRef,
    rows: u64,
}

fn parquet_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::invalid(
        "Parquet file",
        path.display().to_string(),
        format!("a readable Parquet file ({e})"),
    )
}

impl ParquetSource {
    /// Opens a Parquet file, reading only its footer.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let builder = Self::builder(&path)?;
        let schema = builder.schema().clone();
        let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(ParquetSource {
            path,
            name,
            schema,
            rows,
        })
    }

    /// The number of rows, from the footer.
    pub fn num_rows(&self) -> u64 {
        self.rows
    }

    fn builder(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let file = File::open(path).map_err(|e| Error::io(path.display().to_string(), e))?;
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_err(path, e))
    }

    /// A synchronous reader for `options`, for callers outside an async context.
    pub fn reader(&self, options: &ScanOptions) -> Result<ParquetRecordBatchReader> {
        let mut builder = Self::builder(&self.path)?
            .with_batch_size(options.batch_size.unwrap_or(DEFAULT_BATCH).max(1));
        if let Some(names) = &options.projection {
            let fields = builder.parquet_schema().root_schema().get_fields().to_vec();
            let mut roots = Vec::with_capacity(names.len());
            for n in names {
                let i = fields.iter().position(|f| f.name() == n).ok_or_else(|| {
                    Error::invalid(
                        "projected column",
                        n,
                        format!("a column of {}", self.path.display()),
                    )
                })?;
                roots.push(i);
            }
            let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
            builder = builder.with_projection(mask);
        }
        if let Some(limit) = options.limit {
            builder = builder.with_limit(limit);
        }
        builder.build().map_err(|e| parquet_err(&self.path, e))
    }

    /// Reads the whole (projected) file into memory.
    pub fn read_all(&self, options: &ScanOptions) -> Result<Vec<RecordBatch>> {
        let path = self.path.clone();
        self.reader(options)?
            .map(|b| b.map_err(|e| parquet_err(&path, e)))
            .collect()
    }
}

#[async_trait]
impl DataSource for ParquetSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Streams batches; each is decoded when the stream is polled (blocking briefly: wrap the
    /// stream in a blocking task for very large row groups in latency-sensitive services).
    async fn scan(&self, options: ScanOptions) -> Result<BatchStream> {
        let reader = self.reader(&options)?;
        let path = self.path.clone();
        Ok(futures::stream::iter(reader)
            .map(move |b| b.map_err(|e| parquet_err(&path, e)))
            .boxed())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    use super::*;

    fn write(path: &Path, rows: i64, row_group: usize) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(row_group))
            .build();
        let mut w =
            ArrowWriter::try_new(File::create(path).unwrap(), schema.clone(), Some(props)).unwrap();
        let ids: Vec<i64> = (0..rows).collect();
        let names: Vec<Option<String>> = (0..rows)
            .map(|i| (i % 3 != 0).then(|| format!("n{i}")))
            .collect();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(names)),
            ],
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }

    #[tokio::test]
    async fn streams_projected_batches_with_a_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write(&path, 10_000, 1_000);
        let src = ParquetSource::open(&path).unwrap();
        assert_eq!(src.num_rows(), 10_000);
        assert_eq!(src.name(), "t");
        let opts = ScanOptions {
            projection: Some(vec!["name".into()]),
            batch_size: Some(512),
            limit: Some(2_000),
        };
        let batches: Vec<_> = src.scan(opts).await.unwrap().collect().await;
        let batches: Vec<RecordBatch> = batches.into_iter().map(|b| b.unwrap()).collect();
        assert!(
            batches
                .iter()
                .all(|b| b.num_rows() <= 512 && b.num_columns() == 1)
        );
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2_000);
        assert_eq!(batches[0].schema().field(0).name(), "name");
    }

    #[test]
    fn bad_files_and_columns_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("corrupt.parquet");
        std::fs::write(&bad, b"PAR1 this is not parquet").unwrap();
        let err = ParquetSource::open(&bad).unwrap_err().to_string();
        assert!(err.contains("corrupt.parquet"), "{err}");
        assert!(
            ParquetSource::open(dir.path().join("missing.parquet"))
                .unwrap_err()
                .to_string()
                .contains("missing.parquet")
        );
        let good = dir.path().join("g.parquet");
        write(&good, 10, 5);
        let src = ParquetSource::open(&good).unwrap();
        let opts = ScanOptions {
            projection: Some(vec!["nope".into()]),
            ..Default::default()
        };
        assert!(src.reader(&opts).unwrap_err().to_string().contains("nope"));
    }
}

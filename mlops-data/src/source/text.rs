//! Text files as [`DataSource`]s: CSV and JSON lines (product logs), with the schema
//! inferred from the first records (or given), read a batch at a time.

use std::fs::File;
use std::io::{BufReader, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, SchemaRef};
use async_trait::async_trait;
use futures::StreamExt;
use mlops_core::{BatchStream, DataSource, Error, Result, ScanOptions};

const DEFAULT_BATCH: usize = 65_536;
/// Records read to infer a schema when none is given.
pub const INFER_RECORDS: usize = 1_000;

/// The text formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

/// A CSV or JSON-lines file.
#[derive(Clone, Debug)]
pub struct TextSource {
    path: PathBuf,
    name: String,
    format: TextFormat,
    schema: SchemaRef,
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| Error::io(path.display().to_string(), e))
}

fn text_err(format: TextFormat, path: &Path, e: ArrowError) -> Error {
    let kind = match format {
        TextFormat::Csv => "CSV file",
        TextFormat::JsonLines => "JSON-lines file",
    };
    Error::invalid(
        kind,
        path.display().to_string(),
        format!("well-formed data: {e}"),
    )
}

impl TextSource {
    /// A CSV file with a header row; the schema is inferred from the first
    /// [`INFER_RECORDS`] records.
    pub fn csv(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_inferred(path.as_ref(), TextFormat::Csv)
    }

    /// A JSON-lines file; the schema is inferred from the first [`INFER_RECORDS`] lines.
    pub fn json_lines(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_inferred(path.as_ref(), TextFormat::JsonLines)
    }

    /// A file read with a given schema (no inference).
    pub fn with_schema(path: impl AsRef<Path>, format: TextFormat, schema: SchemaRef) -> Self {
        let path = path.as_ref().to_path_buf();
        TextSource {
            name: stem(&path),
            path,
            format,
            schema,
        }
    }

    fn open_inferred(path: &Path, format: TextFormat) -> Result<Self> {
        let file = open(path)?;
        let schema = match format {
            TextFormat::Csv => arrow_csv::reader::Format::default()
                .with_header(true)
                .infer_schema(file, Some(INFER_RECORDS))
                .map(|(s, _)| s),
            TextFormat::JsonLines => {
                let mut reader = BufReader::new(file);
                let inferred =
                    arrow_json::reader::infer_json_schema(&mut reader, Some(INFER_RECORDS))
                        .map(|(s, _)| s);
                reader
                    .rewind()
                    .map_err(|e| Error::io(path.display().to_string(), e))?;
                inferred
            }
        }
        .map_err(|e| text_err(format, path, e))?;
        Ok(Self::with_schema(path, format, Arc::new(schema)))
    }

    /// A synchronous iterator over the batches of a scan.
    pub fn batches(
        &self,
        options: &ScanOptions,
    ) -> Result<impl Iterator<Item = Result<RecordBatch>> + Send + 'static> {
        let projection = super::projection_indices(
            &self.schema,
            options.projection.as_deref(),
            &self.path.display().to_string(),
        )?;
        let batch = options.batch_size.unwrap_or(DEFAULT_BATCH).max(1);
        let file = open(&self.path)?;
        let (format, path) = (self.format, self.path.clone());
        let inner: Box<dyn Iterator<Item = std::result::Result<RecordBatch, ArrowError>> + Send> =
            match format {
                TextFormat::Csv => Box::new(
                    arrow_csv::ReaderBuilder::new(self.schema.clone())
                        .with_header(true)
                        .with_batch_size(batch)
                        .build(file)
                        .map_err(|e| text_err(format, &path, e))?,
                ),
                TextFormat::JsonLines => Box::new(
                    arrow_json::ReaderBuilder::new(self.schema.clone())
                        .with_batch_size(batch)
                        .build(BufReader::new(file))
                        .map_err(|e| text_err(format, &path, e))?,
                ),
            };
        let batches = inner.map(move |b| {
            let b = b.map_err(|e| text_err(format, &path, e))?;
            match &projection {
                Some(ix) => b.project(ix).map_err(|e| text_err(format, &path, e)),
                None => Ok(b),
            }
        });
        Ok(super::limit_rows(batches, options.limit))
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[async_trait]
impl DataSource for TextSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    async fn scan(&self, options: ScanOptions) -> Result<BatchStream> {
        Ok(futures::stream::iter(self.batches(&options)?).boxed())
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use arrow_schema::DataType;

    use super::*;

    fn collect(src: &TextSource, options: ScanOptions) -> Result<Vec<RecordBatch>> {
        src.batches(&options)?.collect()
    }

    #[test]
    fn csv_infers_types_and_scans_with_projection_and_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.csv");
        let mut text = String::from("user_id,score,country\n");
        for i in 0..1000 {
            text.push_str(&format!("{i},{}.5,{}\n", i % 10, ["fr", "de"][i % 2]));
        }
        std::fs::write(&path, text).unwrap();
        let src = TextSource::csv(&path).unwrap();
        assert_eq!(src.schema().field(0).data_type(), &DataType::Int64);
        assert_eq!(src.schema().field(1).data_type(), &DataType::Float64);
        let opts = ScanOptions {
            projection: Some(vec!["user_id".into()]),
            batch_size: Some(300),
            limit: Some(700),
        };
        let batches = collect(&src, opts).unwrap();
        assert_eq!(
            batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
            700
        );
        assert_eq!(batches[0].column(0).as_primitive::<Int64Type>().value(5), 5);
    }

    #[test]
    fn bad_csv_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.csv");
        let mut bytes = b"a,b\n1,x\n2,y\n".to_vec();
        bytes.extend_from_slice(b"3,\xff\xfe\n");
        std::fs::write(&path, &bytes).unwrap();
        // Found while inferring the schema, and while scanning with a given schema.
        let err = TextSource::csv(&path).unwrap_err().to_string();
        assert!(
            err.contains("bad.csv") && err.contains("UTF-8") && err.contains("line 4"),
            "{err}"
        );
        let schema = Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("a", DataType::Int64, true),
            arrow_schema::Field::new("b", DataType::Utf8, true),
        ]));
        let src = TextSource::with_schema(&path, TextFormat::Csv, schema);
        let err = collect(&src, ScanOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad.csv") && err.contains("UTF-8"), "{err}");
        let typed = dir.path().join("typed.csv");
        std::fs::write(&typed, "n\n1\n2\n").unwrap();
        let src = TextSource::csv(&typed).unwrap();
        std::fs::write(&typed, "n\n1\nnot-a-number\n").unwrap();
        let err = collect(&src, ScanOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("typed.csv") && err.contains("not-a-number"),
            "{err}"
        );
    }

    #[test]
    fn json_lines_are_product_logs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, "{\"request_id\": \"a\", \"latency_ms\": 12}\n{\"request_id\": \"b\", \"latency_ms\": 7, \"extra\": true}\n").unwrap();
        let src = TextSource::json_lines(&path).unwrap();
        assert_eq!(src.schema().fields().len(), 3);
        let b = collect(&src, ScanOptions::default()).unwrap();
        assert_eq!(b[0].num_rows(), 2);
        std::fs::write(
            &path,
            "{\"request_id\": \"a\", \"latency_ms\": 12}\n{broken\n",
        )
        .unwrap();
        let err = collect(&src, ScanOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("log.jsonl"), "{err}");
    }
}

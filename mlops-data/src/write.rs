//! Writing Parquet atomically: the file appears complete under its name or not at all.

use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use mlops_core::{Error, Result};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

/// Options of [`write_parquet`].
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// zstd level (default 3).
    pub zstd_level: i32,
    /// Largest row group (default 1,000,000 rows).
    pub max_row_group: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            zstd_level: 3,
            max_row_group: 1_000_000,
        }
    }
}

/// A Parquet file written atomically in steps: batches stream into a temporary file in the
/// same folder, and [`AtomicParquetWriter::commit`] fsyncs and renames it into place. If the
/// writer is dropped without a commit (an error, a panic), the temporary file is removed and
/// nothing appears under the name.
pub struct AtomicParquetWriter {
    path: std::path::PathBuf,
    tmp: std::path::PathBuf,
    writer: Option<ArrowWriter<File>>,
    rows: u64,
}

impl AtomicParquetWriter {
    /// Starts writing `path` with `schema`.
    pub fn create(path: &Path, schema: &SchemaRef, options: WriteOptions) -> Result<Self> {
        let shown = path.display().to_string();
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .ok_or_else(|| Error::invalid("output path", &shown, "a file path"))?;
        let tmp = dir.join(format!(
            ".{}.partial-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let level = ZstdLevel::try_new(options.zstd_level).map_err(|e| {
            Error::invalid("zstd level", options.zstd_level.to_string(), e.to_string())
        })?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(options.max_row_group.max(1)))
            .build();
        let file = File::create(&tmp).map_err(|e| Error::io(tmp.display().to_string(), e))?;
        let writer = match ArrowWriter::try_new(file, schema.clone(), Some(props)) {
            Ok(w) => w,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(Error::invalid(
                    "Parquet schema",
                    format!("{schema:?}"),
                    e.to_string(),
                ));
            }
        };
        Ok(AtomicParquetWriter {
            path: path.to_path_buf(),
            tmp,
            writer: Some(writer),
            rows: 0,
        })
    }

    /// Appends one batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let shown = self.path.display().to_string();
        let w = self.writer.as_mut().ok_or_else(|| {
            Error::invalid("Parquet writer", &shown, "a writer not yet committed")
        })?;
        w.write(batch).map_err(|e| {
            Error::invalid(
                format!("batch for {shown}"),
                format!("{:?}", batch.schema()),
                e.to_string(),
            )
        })?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Finishes the file, fsyncs it and renames it into place; returns the rows written.
    pub fn commit(mut self) -> Result<u64> {
        let shown = self.path.display().to_string();
        let w = self.writer.take().ok_or_else(|| {
            Error::invalid("Parquet writer", &shown, "a writer not yet committed")
        })?;
        let file = w
            .into_inner()
            .map_err(|e| Error::io(&shown, std::io::Error::other(e)))?;
        file.sync_all().map_err(|e| Error::io(&shown, e))?;
        std::fs::rename(&self.tmp, &self.path).map_err(|e| Error::io(&shown, e))?;
        Ok(self.rows)
    }
}

impl Drop for AtomicParquetWriter {
    fn drop(&mut self) {
        if self.writer.is_some() || self.tmp.exists() {
            self.writer = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `batches` to `path` through a temporary file in the same folder, fsynced and then
/// renamed, so a failure never leaves a half-written file. Returns the rows written.
pub fn write_parquet(
    path: &Path,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    options: WriteOptions,
) -> Result<u64> {
    let mut w = AtomicParquetWriter::create(path, schema, options)?;
    for b in batches {
        w.write(b)?;
    }
    w.commit()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::Int64Array;
    use arrow_schema::{DataType, Field, Schema};
    use mlops_core::ScanOptions;

    use super::*;
    use crate::{ParquetSource, content_fingerprint};

    #[test]
    fn round_trips_with_the_same_fingerprint_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from(vec![Some(1), None, Some(3)]))],
        )
        .unwrap();
        let path = dir.path().join("out.parquet");
        let opts = WriteOptions {
            max_row_group: 2,
            ..Default::default()
        };
        assert_eq!(
            write_parquet(&path, &schema, &[b.clone(), b.clone()], opts).unwrap(),
            6
        );
        let back = ParquetSource::open(&path)
            .unwrap()
            .read_all(&ScanOptions::default())
            .unwrap();
        assert_eq!(
            content_fingerprint(&schema, &back).unwrap(),
            content_fingerprint(&schema, &[b.clone(), b]).unwrap()
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no partial file left"
        );
        let bad = WriteOptions {
            zstd_level: 99,
            ..Default::default()
        };
        assert!(write_parquet(&dir.path().join("bad.parquet"), &schema, &[], bad).is_err());
        assert!(!dir.path().join("bad.parquet").exists());
    }
}

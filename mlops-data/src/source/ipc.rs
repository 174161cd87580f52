//! Arrow IPC files (Feather v2) as a [`DataSource`].

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_ipc::reader::FileReader;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use futures::StreamExt;
use mlops_core::{BatchStream, DataSource, Error, Result, ScanOptions};

/// An Arrow IPC file.
#[derive(Clone, Debug)]
pub struct IpcSource {
    path: PathBuf,
    name: String,
    schema: SchemaRef,
}

fn ipc_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::invalid(
        "Arrow IPC file",
        path.display().to_string(),
        format!("a readable Arrow IPC file ({e})"),
    )
}

impl IpcSource {
    /// Opens an Arrow IPC file, reading its footer.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let schema = Self::reader(&path, None)?.schema();
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(IpcSource { path, name, schema })
    }

    fn reader(path: &Path, projection: Option<Vec<usize>>) -> Result<FileReader<File>> {
        let file = File::open(path).map_err(|e| Error::io(path.display().to_string(), e))?;
        FileReader::try_new(file, projection).map_err(|e| ipc_err(path, e))
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
        let reader = Self::reader(&self.path, projection)?;
        let path = self.path.clone();
        Ok(super::limit_rows(
            reader.map(move |b| b.map_err(|e| ipc_err(&path, e))),
            options.limit,
        ))
    }
}

#[async_trait]
impl DataSource for IpcSource {
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
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};
    use arrow_ipc::writer::FileWriter;
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn reads_projected_limited_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.arrow");
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Utf8, true),
        ]));
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec!["x", "y", "z"])),
            ],
        )
        .unwrap();
        let mut w = FileWriter::try_new(File::create(&path).unwrap(), &schema).unwrap();
        w.write(&b).unwrap();
        w.write(&b).unwrap();
        w.finish().unwrap();
        let src = IpcSource::open(&path).unwrap();
        let got: Vec<RecordBatch> = src
            .batches(&ScanOptions {
                projection: Some(vec!["b".into()]),
                limit: Some(4),
                ..Default::default()
            })
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(got.iter().map(RecordBatch::num_rows).sum::<usize>(), 4);
        assert_eq!(got[0].schema().field(0).name(), "b");
        std::fs::write(dir.path().join("bad.arrow"), b"nope").unwrap();
        assert!(
            IpcSource::open(dir.path().join("bad.arrow"))
                .unwrap_err()
                .to_string()
                .contains("bad.arrow")
        );
    }
}

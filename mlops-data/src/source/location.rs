//! Opening a data source from a location: a local path, a `file://` URL, or an object in any
//! [`object_store`] backend (S3 with the `s3` feature, or a store the host application
//! builds). The format follows the extension: `.parquet`, `.csv`, `.jsonl`/`.ndjson`/
//! `.json`, `.arrow`/`.ipc`/`.feather`; a local folder is a [`ParquetDataset`].
//!
//! Remote objects are streamed to a local spool file chunk by chunk (bounded memory), then
//! read like a local file; the spool file is removed when the source is dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::SchemaRef;
use async_trait::async_trait;
use futures::StreamExt;
use mlops_core::{BatchStream, DataSource, Error, Result, ScanOptions};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use std::io::Write;

use super::{IpcSource, ParquetDataset, ParquetSource, TextSource};

/// Opens a local file or folder by its extension.
pub fn open_path(path: impl AsRef<Path>) -> Result<Arc<dyn DataSource>> {
    let path = path.as_ref();
    if path.is_dir() {
        return Ok(Arc::new(ParquetDataset::open_dir(path)?));
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    Ok(match ext.as_str() {
        "parquet" | "pq" => Arc::new(ParquetSource::open(path)?),
        "csv" => Arc::new(TextSource::csv(path)?),
        "jsonl" | "ndjson" | "json" => Arc::new(TextSource::json_lines(path)?),
        "arrow" | "ipc" | "feather" => Arc::new(IpcSource::open(path)?),
        other => {
            return Err(Error::invalid(
                format!("format of {}", path.display()),
                if other.is_empty() {
                    "no extension"
                } else {
                    other
                },
                ".parquet, .csv, .jsonl, .ndjson, .json, .arrow, .ipc or .feather, or a folder of .parquet files",
            ));
        }
    })
}

/// Opens a location: a local path, a `file://` URL, or (with the `s3` feature) an
/// `s3://bucket/key` URL, whose credentials and region come from the usual `AWS_*`
/// environment variables (`AWS_ENDPOINT` for S3-compatible servers).
pub async fn open_location(location: &str) -> Result<Arc<dyn DataSource>> {
    let Some((scheme, _)) = location.split_once("://") else {
        return open_path(location);
    };
    let url = url::Url::parse(location)
        .map_err(|e| Error::invalid("data location", location, format!("a valid URL ({e})")))?;
    match scheme {
        "file" => {
            let path = url.to_file_path().map_err(|_| {
                Error::invalid("file URL", location, "an absolute local path (file:///...)")
            })?;
            open_path(path)
        }
        #[cfg(feature = "s3")]
        "s3" => {
            let bucket = url
                .host_str()
                .ok_or_else(|| Error::invalid("S3 URL", location, "s3://<bucket>/<key>"))?;
            let store = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| Error::invalid("S3 store", location, e.to_string()))?;
            let key = url.path().trim_start_matches('/');
            Ok(Arc::new(
                ObjectSource::fetch(Arc::new(store), ObjectPath::from(key)).await?,
            ))
        }
        other => Err(Error::NotSupported(format!(
            "data location scheme {other:?} of {location:?}: supported are local paths, file://{}",
            if cfg!(feature = "s3") {
                " and s3://"
            } else {
                " (s3:// with the `s3` feature)"
            }
        ))),
    }
}

/// An object of an [`ObjectStore`] read as a data source, through a local spool file.
pub struct ObjectSource {
    inner: Arc<dyn DataSource>,
    spool: PathBuf,
    name: String,
}

impl ObjectSource {
    /// Streams `path` from `store` to a spool file (bounded memory), then opens it by its
    /// extension. Errors name the object.
    pub async fn fetch(store: Arc<dyn ObjectStore>, path: ObjectPath) -> Result<Self> {
        let shown = format!("{store}/{path}");
        let name = path.filename().unwrap_or("object").to_owned();
        let ext = path.extension().unwrap_or("").to_owned();
        let spool = std::env::temp_dir().join(format!(
            "mlops-spool-{}-{}.{ext}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        let result = async {
            let got = store
                .get(&path)
                .await
                .map_err(|e| Error::invalid("object", &shown, e.to_string()))?;
            let mut file = std::fs::File::create(&spool)
                .map_err(|e| Error::io(spool.display().to_string(), e))?;
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| Error::invalid("object", &shown, e.to_string()))?;
                file.write_all(&chunk)
                    .map_err(|e| Error::io(spool.display().to_string(), e))?;
            }
            file.sync_all()
                .map_err(|e| Error::io(spool.display().to_string(), e))?;
            open_path(&spool)
        }
        .await;
        match result {
            Ok(inner) => Ok(ObjectSource { inner, spool, name }),
            Err(e) => {
                let _ = std::fs::remove_file(&spool);
                Err(e)
            }
        }
    }
}

impl Drop for ObjectSource {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.spool);
    }
}

#[async_trait]
impl DataSource for ObjectSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    async fn scan(&self, options: ScanOptions) -> Result<BatchStream> {
        self.inner.scan(options).await
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::{Int64Array, RecordBatch};
    use bytes::Bytes;
    use object_store::PutPayload;
    use object_store::memory::InMemory;

    use super::*;
    use crate::write::{WriteOptions, write_parquet};

    async fn rows(src: &dyn DataSource) -> usize {
        src.scan(ScanOptions::default())
            .await
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .fold(0, |a, b| async move { a + b })
            .await
    }

    #[tokio::test]
    async fn paths_file_urls_and_objects_open_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let t = RecordBatch::try_from_iter([(
            "x",
            Arc::new(Int64Array::from_iter_values(0..100)) as _,
        )])
        .unwrap();
        let p = dir.path().join("t.parquet");
        write_parquet(
            &p,
            &t.schema(),
            std::slice::from_ref(&t),
            WriteOptions::default(),
        )
        .unwrap();
        std::fs::write(dir.path().join("t.csv"), "a,b\n1,x\n2,y\n").unwrap();
        assert_eq!(rows(open_path(&p).unwrap().as_ref()).await, 100);
        assert_eq!(
            rows(open_location(p.to_str().unwrap()).await.unwrap().as_ref()).await,
            100
        );
        let url = url::Url::from_file_path(dir.path().join("t.csv")).unwrap();
        assert_eq!(
            rows(open_location(url.as_str()).await.unwrap().as_ref()).await,
            2
        );
        assert_eq!(
            rows(open_path(dir.path()).unwrap().as_ref()).await,
            100,
            "the folder's parquet"
        );

        // An object in a store (object_store's in-memory backend), spooled then read.
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let bytes = std::fs::read(&p).unwrap();
        store
            .put(
                &ObjectPath::from("data/t.parquet"),
                PutPayload::from(Bytes::from(bytes)),
            )
            .await
            .unwrap();
        let src = ObjectSource::fetch(store.clone(), ObjectPath::from("data/t.parquet"))
            .await
            .unwrap();
        assert_eq!((src.name(), rows(&src).await), ("t.parquet", 100));
        let spool = src.spool.clone();
        assert!(spool.exists());
        drop(src);
        assert!(!spool.exists(), "the spool file goes with the source");

        // Errors name what was wrong.
        let e = ObjectSource::fetch(store, ObjectPath::from("data/missing.parquet"))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("missing.parquet"), "{e}");
        let e = open_location("ftp://host/x.parquet")
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("ftp"), "{e}");
        let e = open_path(dir.path().join("t.xlsx"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("xlsx"), "{e}");
    }
}

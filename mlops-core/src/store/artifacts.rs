//! The content-addressed [`ArtifactStore`] over any `object_store` backend: the local
//! filesystem by default, an S3-compatible store by swapping the backend.
//!
//! Objects live at `objects/<first 2 hex digits>/<remaining 62>`. Small puts are a single
//! atomic `put`; files stream through a multipart upload into `staging/` and are renamed
//! into place once their digest is known, so memory stays bounded and readers never see a
//! partial object.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use crate::artifacts::ArtifactStore;
use crate::error::{Error, Result};
use crate::ids::Digest;

const READ_CHUNK: usize = 4 << 20;

/// A content-addressed artifact store on an `object_store` backend.
#[derive(Clone, Debug)]
pub struct ObjectArtifactStore {
    store: Arc<dyn ObjectStore>,
}

fn os_err(e: object_store::Error) -> Error {
    match e {
        object_store::Error::NotFound { path, .. } => Error::not_found("artifact", path),
        other => Error::ObjectStore(other.to_string()),
    }
}

fn object_path(d: &Digest) -> ObjectPath {
    let hex = d.to_hex();
    ObjectPath::from(format!("objects/{}/{}", &hex[..2], &hex[2..]))
}

impl ObjectArtifactStore {
    /// A store over any `object_store` backend.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        ObjectArtifactStore { store }
    }

    /// A store in a local folder (created if missing).
    pub fn local(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| Error::io(root.display().to_string(), e))?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(root)
            .map_err(os_err)?
            .with_automatic_cleanup(true);
        Ok(Self::new(Arc::new(fs)))
    }

    fn verify(digest: &Digest, bytes: &[u8]) -> Result<()> {
        let actual = Digest::of(bytes);
        if &actual != digest {
            return Err(Error::Integrity {
                what: format!("artifact {digest}"),
                expected: digest.to_hex(),
                actual: actual.to_hex(),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl ArtifactStore for ObjectArtifactStore {
    async fn put(&self, bytes: Bytes) -> Result<Digest> {
        let digest = Digest::of(&bytes);
        if self.size(&digest).await?.is_none() {
            self.store
                .put(&object_path(&digest), PutPayload::from_bytes(bytes))
                .await
                .map_err(os_err)?;
        }
        Ok(digest)
    }

    async fn put_file(&self, path: &Path) -> Result<(Digest, u64)> {
        let shown = path.display().to_string();
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(&shown, e))?;
        let staging = ObjectPath::from(format!("staging/{}", uuid::Uuid::now_v7().simple()));
        let upload = self.store.put_multipart(&staging).await.map_err(os_err)?;
        let mut writer = WriteMultipart::new(upload);
        let mut hasher = blake3::Hasher::new();
        let mut buf = vec![0u8; READ_CHUNK];
        let mut size = 0u64;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(Error::io(&shown, e));
                }
            };
            hasher.update(&buf[..n]);
            writer.wait_for_capacity(4).await.map_err(os_err)?;
            writer.write(&buf[..n]);
            size += n as u64;
        }
        writer.finish().await.map_err(os_err)?;
        let digest = Digest::from(hasher.finalize());
        let target = object_path(&digest);
        if self.size(&digest).await?.is_some() {
            self.store.delete(&staging).await.map_err(os_err)?;
        } else {
            self.store.rename(&staging, &target).await.map_err(os_err)?;
        }
        Ok((digest, size))
    }

    async fn get(&self, digest: &Digest) -> Result<Bytes> {
        let bytes = self
            .store
            .get(&object_path(digest))
            .await
            .map_err(os_err)?
            .bytes()
            .await
            .map_err(os_err)?;
        Self::verify(digest, &bytes)?;
        Ok(bytes)
    }

    async fn get_to_file(&self, digest: &Digest, path: &Path) -> Result<u64> {
        let shown = path.display().to_string();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let mut tmp = tempfile_in(&dir).map_err(|e| Error::io(dir.display().to_string(), e))?;
        let mut stream = self
            .store
            .get(&object_path(digest))
            .await
            .map_err(os_err)?
            .into_stream();
        let mut hasher = blake3::Hasher::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(os_err)?;
            hasher.update(&chunk);
            tmp.1.write_all(&chunk).map_err(|e| Error::io(&shown, e))?;
            size += chunk.len() as u64;
        }
        let actual = Digest::from(hasher.finalize());
        if &actual != digest {
            let _ = std::fs::remove_file(&tmp.0);
            return Err(Error::Integrity {
                what: format!("artifact {digest}"),
                expected: digest.to_hex(),
                actual: actual.to_hex(),
            });
        }
        tmp.1.sync_all().map_err(|e| Error::io(&shown, e))?;
        std::fs::rename(&tmp.0, path).map_err(|e| Error::io(&shown, e))?;
        Ok(size)
    }

    async fn size(&self, digest: &Digest) -> Result<Option<u64>> {
        match self.store.head(&object_path(digest)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(os_err(e)),
        }
    }

    async fn delete(&self, digest: &Digest) -> Result<()> {
        match self.store.delete(&object_path(digest)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(os_err(e)),
        }
    }

    async fn list(&self) -> Result<Vec<Digest>> {
        let mut stream = self.store.list(Some(&ObjectPath::from("objects")));
        let mut out = Vec::new();
        while let Some(meta) = stream.next().await {
            let meta = meta.map_err(os_err)?;
            let parts: Vec<_> = meta.location.parts().collect();
            if let [_, a, b] = parts.as_slice()
                && let Ok(d) = format!("{}{}", a.as_ref(), b.as_ref()).parse()
            {
                out.push(d);
            }
        }
        out.sort();
        Ok(out)
    }
}

/// A new file in `dir` with a unique name, for write-then-rename.
fn tempfile_in(dir: &Path) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    let path = dir.join(format!(".mlops-partial-{}", uuid::Uuid::now_v7().simple()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

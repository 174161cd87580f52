//! Content-addressed artifact storage.

use std::path::Path;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::Result;
use crate::ids::Digest;

/// A content-addressed blob store: bytes go in, their BLAKE3 digest comes out, and the same
/// bytes are stored once. Reads verify the digest. Writes are atomic: a reader never sees a
/// partial object.
///
/// Object-safe: hold it as `Arc<dyn ArtifactStore>`.
#[async_trait]
pub trait ArtifactStore: Send + Sync {
    /// Stores bytes; returns their digest.
    async fn put(&self, bytes: Bytes) -> Result<Digest>;
    /// Streams a file in with bounded memory; returns its digest and size.
    async fn put_file(&self, path: &Path) -> Result<(Digest, u64)>;
    /// Reads an object, verifying its digest.
    async fn get(&self, digest: &Digest) -> Result<Bytes>;
    /// Streams an object to a file (written atomically), verifying its digest.
    async fn get_to_file(&self, digest: &Digest, path: &Path) -> Result<u64>;
    /// The size of an object, or `None` when absent.
    async fn size(&self, digest: &Digest) -> Result<Option<u64>>;
    /// True when the object is present.
    async fn exists(&self, digest: &Digest) -> Result<bool> {
        Ok(self.size(digest).await?.is_some())
    }
    /// Removes an object (absent objects are not an error).
    async fn delete(&self, digest: &Digest) -> Result<()>;
    /// Lists every stored digest.
    async fn list(&self) -> Result<Vec<Digest>>;
}

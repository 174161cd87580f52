//! Dataset versions as snapshots: a manifest of content-addressed Parquet files in the
//! project's [`ArtifactStore`], identified by the content fingerprint of the rows (so the
//! same table written with another compression or file size is the same version), with its
//! parent and the transform that made it, and diffs between versions.
//!
//! A snapshot stores the table as Parquet parts of at most `rows_per_file` rows (zstd), each
//! under its BLAKE3 digest, then the [`DatasetManifest`] as JSON, also under its digest: the
//! manifest digest is the handle to give a colleague (`dvc`'s `.dvc` file, lakeFS's
//! commit). Identical parts are stored once, so a version that appends rows to its parent
//! stores only the new parts when the part boundaries line up. Reading a snapshot verifies
//! every part's digest (the store does) and the fingerprint of the rows read.
//!
//! ```
//! # tokio_test_block_on(async {
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch};
//! use mlops_core::store::ObjectArtifactStore;
//! use mlops_data::snapshot::{SnapshotOptions, read_snapshot, snapshot};
//!
//! let dir = tempfile::tempdir()?;
//! let store = ObjectArtifactStore::local(dir.path())?;
//! let v1 = RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1, 2, 3])) as _)])?;
//! let (manifest, handle) = snapshot(&store, "numbers", &[v1.clone()], SnapshotOptions::default()).await?;
//! let back = read_snapshot(&store, &handle).await?;
//! assert_eq!(back.batches[0], v1);
//! assert_eq!(back.manifest.id, manifest.id);
//! # Ok::<(), Box<dyn std::error::Error>>(()) });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_row::{RowConverter, SortField};
use arrow_schema::{Schema, SchemaRef};
use bytes::Bytes;
use mlops_core::{
    ArtifactStore, DatasetId, Digest, Error, LineageEdge, LineageNode, Registry, Result,
};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_128;

use crate::fingerprint::dataset_id;

/// The manifest's format tag; a reader refuses others.
pub const MANIFEST_FORMAT: &str = "mlops.dataset/1";

/// One content-addressed part of a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestPart {
    /// BLAKE3 digest of the Parquet bytes in the artifact store.
    pub digest: Digest,
    /// Rows in the part.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
}

/// What a snapshot is: its identity, schema, parts and lineage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetManifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// A name for people (`churn-train`); not part of the identity.
    pub name: String,
    /// The content fingerprint of the rows: the dataset version's id.
    pub id: DatasetId,
    /// The Arrow schema.
    pub schema: Schema,
    /// Total rows.
    pub rows: u64,
    /// The Parquet parts, in row order.
    pub parts: Vec<ManifestPart>,
    /// The version this one was derived from.
    pub parent: Option<DatasetId>,
    /// How it was derived (`dedup`, `filter label != null`, `append feedback 2026-12`, ...).
    pub transform: Option<String>,
    /// When the snapshot was taken, milliseconds since the epoch.
    pub created_ms: i64,
}

/// Options of [`snapshot`].
#[derive(Clone, Debug)]
pub struct SnapshotOptions {
    /// Most rows per Parquet part (default 1,000,000).
    pub rows_per_file: usize,
    /// zstd level of the parts (default 3).
    pub zstd_level: i32,
    /// The parent version.
    pub parent: Option<DatasetId>,
    /// The transform from the parent.
    pub transform: Option<String>,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        SnapshotOptions {
            rows_per_file: 1_000_000,
            zstd_level: 3,
            parent: None,
            transform: None,
        }
    }
}

fn parquet_bytes(schema: &SchemaRef, batches: &[RecordBatch], level: i32) -> Result<Vec<u8>> {
    let level = ZstdLevel::try_new(level)
        .map_err(|e| Error::invalid("zstd level", level.to_string(), e.to_string()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .build();
    let mut w = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props))
        .map_err(|e| Error::invalid("Parquet schema", format!("{schema:?}"), e.to_string()))?;
    for b in batches {
        w.write(b).map_err(|e| {
            Error::invalid("snapshot batch", format!("{:?}", b.schema()), e.to_string())
        })?;
    }
    w.into_inner()
        .map_err(|e| Error::invalid("snapshot part", "Parquet", e.to_string()))
}

/// Splits `batches` into chunks of at most `n` rows (slices, no copies).
fn chunks(batches: &[RecordBatch], n: usize) -> Vec<Vec<RecordBatch>> {
    let mut out: Vec<Vec<RecordBatch>> = vec![Vec::new()];
    let mut filled = 0;
    for b in batches {
        let mut offset = 0;
        while offset < b.num_rows() {
            if filled == n {
                out.push(Vec::new());
                filled = 0;
            }
            let take = (n - filled).min(b.num_rows() - offset);
            if let Some(last) = out.last_mut() {
                last.push(b.slice(offset, take));
            }
            offset += take;
            filled += take;
        }
    }
    out.retain(|c| !c.is_empty());
    out
}

/// Stores `batches` as a dataset version; returns the manifest and the manifest's digest.
/// Every batch must have the first batch's schema; an empty table is refused.
pub async fn snapshot(
    store: &dyn ArtifactStore,
    name: &str,
    batches: &[RecordBatch],
    options: SnapshotOptions,
) -> Result<(DatasetManifest, Digest)> {
    let first = batches
        .first()
        .ok_or_else(|| Error::invalid("snapshot", "no batches", "at least one batch"))?;
    let schema = first.schema();
    if let Some((i, b)) = batches
        .iter()
        .enumerate()
        .find(|(_, b)| b.schema() != schema)
    {
        return Err(Error::invalid(
            format!("schema of batch {i}"),
            format!("{:?}", b.schema()),
            format!("the first batch's schema {schema:?}"),
        ));
    }
    if options.rows_per_file == 0 {
        return Err(Error::invalid("rows_per_file", "0", "at least 1"));
    }
    let id = dataset_id(&schema, batches)?;
    let mut parts = Vec::new();
    for chunk in chunks(batches, options.rows_per_file) {
        let bytes = parquet_bytes(&schema, &chunk, options.zstd_level)?;
        let size = bytes.len() as u64;
        let digest = store.put(Bytes::from(bytes)).await?;
        parts.push(ManifestPart {
            digest,
            rows: chunk.iter().map(|b| b.num_rows() as u64).sum(),
            bytes: size,
        });
    }
    let manifest = DatasetManifest {
        format: MANIFEST_FORMAT.into(),
        name: name.into(),
        id,
        schema: schema.as_ref().clone(),
        rows: parts.iter().map(|p| p.rows).sum(),
        parts,
        parent: options.parent,
        transform: options.transform,
        created_ms: mlops_core::now_ms(),
    };
    let json = serde_json::to_vec(&manifest)
        .map_err(|e| Error::invalid("dataset manifest", "JSON", e.to_string()))?;
    let handle = store.put(Bytes::from(json)).await?;
    Ok((manifest, handle))
}

/// Reads a manifest by its digest.
pub async fn load_manifest(store: &dyn ArtifactStore, handle: &Digest) -> Result<DatasetManifest> {
    let bytes = store.get(handle).await?;
    let manifest: DatasetManifest = serde_json::from_slice(&bytes).map_err(|e| {
        Error::invalid(
            format!("dataset manifest {}", handle.to_hex()),
            "its JSON",
            e.to_string(),
        )
    })?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(Error::invalid(
            format!("format of dataset manifest {}", handle.to_hex()),
            &manifest.format,
            MANIFEST_FORMAT,
        ));
    }
    Ok(manifest)
}

/// A snapshot read back.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Its manifest.
    pub manifest: DatasetManifest,
    /// Its rows, part by part.
    pub batches: Vec<RecordBatch>,
}

/// Reads a snapshot: every part (digests verified by the store), then checks that the rows'
/// fingerprint is the manifest's id.
pub async fn read_snapshot(store: &dyn ArtifactStore, handle: &Digest) -> Result<Snapshot> {
    let manifest = load_manifest(store, handle).await?;
    let schema: SchemaRef = Arc::new(manifest.schema.clone());
    let mut batches = Vec::new();
    for part in &manifest.parts {
        let bytes = store.get(&part.digest).await?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .and_then(|b| b.with_batch_size(part.rows.max(1) as usize).build())
            .map_err(|e| {
                Error::invalid(
                    format!("snapshot part {}", part.digest.to_hex()),
                    "Parquet",
                    e.to_string(),
                )
            })?;
        for b in reader {
            let b = b.map_err(|e| {
                Error::invalid(
                    format!("snapshot part {}", part.digest.to_hex()),
                    "Parquet",
                    e.to_string(),
                )
            })?;
            // Parquet round trips field metadata loosely: restore the manifest's schema.
            let b = RecordBatch::try_new(schema.clone(), b.columns().to_vec())
                .map_err(|e| Error::invalid("snapshot part", "schema", e.to_string()))?;
            batches.push(b);
        }
    }
    let id = dataset_id(&schema, &batches)?;
    if id != manifest.id {
        return Err(Error::Conflict(format!(
            "dataset {} ({}): the rows read fingerprint to {}, not the manifest's id",
            manifest.name,
            handle.to_hex(),
            id
        )));
    }
    Ok(Snapshot { manifest, batches })
}

/// Records the manifest's lineage in a registry: an edge from the parent version to this
/// one, named by the transform (`derived_from` when none).
pub async fn record_lineage(registry: &dyn Registry, manifest: &DatasetManifest) -> Result<()> {
    if let Some(parent) = &manifest.parent {
        registry
            .add_lineage_edge(&LineageEdge {
                src: LineageNode::Dataset { id: parent.clone() },
                dst: LineageNode::Dataset {
                    id: manifest.id.clone(),
                },
                relation: manifest
                    .transform
                    .clone()
                    .unwrap_or_else(|| "derived_from".into()),
            })
            .await?;
    }
    Ok(())
}

/// How two versions differ.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DatasetDiff {
    /// Columns only in the new version.
    pub columns_added: Vec<String>,
    /// Columns only in the old version.
    pub columns_removed: Vec<String>,
    /// Columns in both with another type: `(column, old type, new type)`.
    pub type_changes: Vec<(String, String, String)>,
    /// The columns rows were compared on (in both versions with the same type).
    pub compared_columns: Vec<String>,
    /// Rows in the old version.
    pub rows_old: u64,
    /// Rows in the new version.
    pub rows_new: u64,
    /// Rows of the new version not matched by a row of the old one (as a multiset: a
    /// duplicated row counts each time).
    pub rows_added: u64,
    /// Rows of the old version not matched in the new one.
    pub rows_removed: u64,
    /// Rows matched in both.
    pub rows_unchanged: u64,
}

/// Compares two tables: schema changes, and rows added and removed compared as multisets
/// on the columns both have with the same type (a changed cell is one row removed and one
/// added, as `git diff` counts a changed line). Row order does not matter.
pub fn diff(old: &[RecordBatch], new: &[RecordBatch]) -> Result<DatasetDiff> {
    let schema_of = |b: &[RecordBatch]| b.first().map(|b| b.schema());
    let (Some(so), Some(sn)) = (schema_of(old), schema_of(new)) else {
        return Err(Error::invalid(
            "diff inputs",
            "a version without batches",
            "at least one batch per version",
        ));
    };
    let mut d = DatasetDiff::default();
    for f in sn.fields() {
        match so.field_with_name(f.name()) {
            Err(_) => d.columns_added.push(f.name().clone()),
            Ok(o) if o.data_type() != f.data_type() => d.type_changes.push((
                f.name().clone(),
                o.data_type().to_string(),
                f.data_type().to_string(),
            )),
            Ok(_) => d.compared_columns.push(f.name().clone()),
        }
    }
    for f in so.fields() {
        if sn.field_with_name(f.name()).is_err() {
            d.columns_removed.push(f.name().clone());
        }
    }
    let fields: Vec<SortField> = d
        .compared_columns
        .iter()
        .filter_map(|c| sn.field_with_name(c).ok())
        .map(|f| SortField::new(f.data_type().clone()))
        .collect();
    let converter = RowConverter::new(fields)
        .map_err(|e| Error::invalid("diff columns", "types", e.to_string()))?;
    let hashes = |batches: &[RecordBatch]| -> Result<HashMap<u128, i64>> {
        let mut counts = HashMap::new();
        for b in batches {
            let cols = d
                .compared_columns
                .iter()
                .map(|c| {
                    b.column_by_name(c)
                        .cloned()
                        .ok_or_else(|| Error::invalid("diff column", c, "a column of every batch"))
                })
                .collect::<Result<Vec<_>>>()?;
            if cols.is_empty() {
                *counts.entry(0).or_insert(0) += b.num_rows() as i64;
                continue;
            }
            let rows = converter
                .convert_columns(&cols)
                .map_err(|e| Error::invalid("diff rows", "columns", e.to_string()))?;
            for r in 0..b.num_rows() {
                *counts.entry(xxh3_128(rows.row(r).as_ref())).or_insert(0) += 1;
            }
        }
        Ok(counts)
    };
    let (a, b) = (hashes(old)?, hashes(new)?);
    d.rows_old = a.values().sum::<i64>() as u64;
    d.rows_new = b.values().sum::<i64>() as u64;
    for (k, &n) in &b {
        let m = a.get(k).copied().unwrap_or(0);
        d.rows_unchanged += n.min(m) as u64;
        d.rows_added += (n - m).max(0) as u64;
    }
    d.rows_removed = d.rows_old - d.rows_unchanged;
    Ok(d)
}

#[cfg(test)]
mod tests;

//! The embedded store: one folder holding a SQLite database in WAL mode (experiments, runs,
//! metrics, registry, lineage, audit log) and a content-addressed artifact store.
//!
//! ```text
//! <root>/mlops.db        metadata (SQLite, WAL)
//! <root>/artifacts/      objects/<2 hex>/<62 hex>, content-addressed by BLAKE3
//! ```
//!
//! [`SqliteStore`] implements [`Tracker`], [`Registry`] and [`ArtifactStore`]. Metric
//! points are queued and group-committed by a background writer; everything else is
//! durable when its call returns. Many threads and processes may open the same folder:
//! writers wait for SQLite's lock instead of failing.

mod artifacts;
mod chunks;
mod db;
mod registry;
mod schema;
mod search;
mod tracking;
mod writer;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

pub use artifacts::ObjectArtifactStore;

use self::db::{Pool, init_schema, open_connection};
use self::writer::{Pending, Writer, WriterConfig};
use crate::artifacts::ArtifactStore;
use crate::error::{Error, Result};
use crate::ids::{DatasetId, Digest, ExperimentId, ModelRef, RunId};
use crate::lineage::LineageEdge;
use crate::registry::*;
use crate::tracking::*;

/// The metadata database's file name inside the store folder.
pub const DB_FILE: &str = "mlops.db";
/// The artifact folder's name inside the store folder.
pub const ARTIFACT_DIR: &str = "artifacts";

/// Tuning of a [`SqliteStore`]. The defaults suit a training loop on a laptop.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// `true` (default): every commit is fsynced, so acknowledged data survives power loss.
    /// `false`: data survives a crash of the process but maybe not of the machine.
    pub fsync: bool,
    /// The writer commits when this many points are queued (default 10,000).
    pub batch_points: usize,
    /// ... or when the oldest queued point is this old (default 50 ms).
    pub max_delay: Duration,
    /// Logging blocks while this many points are queued (default 2,000,000).
    pub max_queue: usize,
    /// How often live runs' heartbeats are written (default 10 s).
    pub heartbeat_interval: Duration,
    /// A `RUNNING` run whose heartbeat is older than this is marked `FAILED` (default 60 s).
    pub stale_after: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            fsync: true,
            batch_points: 10_000,
            max_delay: Duration::from_millis(50),
            max_queue: 2_000_000,
            heartbeat_interval: Duration::from_secs(10),
            stale_after: Duration::from_secs(60),
        }
    }
}

pub(crate) struct Inner {
    root: PathBuf,
    pool: Pool,
    writer: Arc<Writer>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    known_runs: RwLock<HashSet<RunId>>,
    artifacts: ObjectArtifactStore,
}

impl Inner {
    fn artifact_root(&self) -> String {
        format!("file://{}", self.root.join(ARTIFACT_DIR).display())
    }

    fn known_runs_contains(&self, run: &RunId) -> bool {
        self.known_runs
            .read()
            .map(|s| s.contains(run))
            .unwrap_or(false)
    }

    fn known_runs_insert(&self, run: RunId) {
        if let Ok(mut s) = self.known_runs.write() {
            s.insert(run);
        }
    }

    fn known_runs_clear(&self) {
        if let Ok(mut s) = self.known_runs.write() {
            s.clear();
        }
    }

    /// Read-your-writes: a read first commits what this store has queued.
    fn flush_if_pending(&self) -> Result<()> {
        if self.writer.has_pending() {
            self.writer.flush()?;
        }
        Ok(())
    }

    fn log_metrics(&self, run: &RunId, metrics: &[Metric]) -> Result<()> {
        tracking::check_metrics(metrics)?;
        self.ensure_active_run(run)?;
        self.writer.enqueue(metrics.iter().map(|m| Pending {
            run: *run,
            key: m.key.clone(),
            point: MetricPoint {
                step: m.step,
                timestamp: m.timestamp,
                value: m.value,
            },
        }))
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.writer.shutdown();
        if let Ok(mut t) = self.writer_thread.lock()
            && let Some(t) = t.take()
        {
            let _ = t.join();
        }
    }
}

/// The embedded default store. Cheap to clone (shared state); safe to share across threads.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("root", &self.inner.root)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in folder `root` with default options.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(root, StoreOptions::default())
    }

    /// Opens the store with explicit options.
    pub fn open_with(root: impl AsRef<Path>, options: StoreOptions) -> Result<Self> {
        let artifacts = ObjectArtifactStore::local(&root.as_ref().join(ARTIFACT_DIR))?;
        Self::open_with_artifacts(root, options, artifacts)
    }

    /// Opens the store with artifacts on another `object_store` backend (e.g. S3).
    pub fn open_with_artifacts(
        root: impl AsRef<Path>,
        options: StoreOptions,
        artifacts: ObjectArtifactStore,
    ) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        std::fs::create_dir_all(&root).map_err(|e| Error::io(root.display().to_string(), e))?;
        let root = root
            .canonicalize()
            .map_err(|e| Error::io(root.display().to_string(), e))?;
        let db_path = root.join(DB_FILE);
        let mut conn = open_connection(&db_path, options.fsync)?;
        init_schema(&mut conn)?;
        writer::reap_stale_runs(&mut conn, options.stale_after)?;
        let config = WriterConfig {
            batch_points: options.batch_points.max(1),
            max_delay: options.max_delay,
            max_queue: options.max_queue.max(options.batch_points.max(1)),
            heartbeat_interval: options.heartbeat_interval,
            stale_after: options.stale_after,
        };
        let (writer, thread) = Writer::start(db_path.clone(), options.fsync, config)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                root,
                pool: Pool::new(db_path, options.fsync, conn),
                writer,
                writer_thread: Mutex::new(Some(thread)),
                known_runs: RwLock::new(HashSet::new()),
                artifacts,
            }),
        })
    }

    /// The store's folder.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The artifact store inside this store.
    pub fn artifacts(&self) -> &ObjectArtifactStore {
        &self.inner.artifacts
    }

    /// Stores bytes as an artifact of a run under `path`; returns the record.
    pub async fn log_artifact_bytes(
        &self,
        run_id: &RunId,
        path: &str,
        bytes: Bytes,
    ) -> Result<RunArtifact> {
        crate::validation::check_artifact_path(path)?;
        let size = bytes.len() as u64;
        let digest = self.inner.artifacts.put(bytes).await?;
        let artifact = RunArtifact {
            path: path.to_owned(),
            digest,
            size,
        };
        Tracker::log_artifact(self, run_id, &artifact).await?;
        Ok(artifact)
    }

    /// Marks `RUNNING` runs whose heartbeat is older than `stale_after` as `FAILED`.
    /// Opening a store does this too.
    pub async fn reap_stale_runs(&self, stale_after: Duration) -> Result<()> {
        self.blocking(move |inner| {
            inner
                .pool
                .with(|conn| writer::reap_stale_runs(conn, stale_after))
        })
        .await
    }

    /// Runs blocking work off the async executor when there is one (tokio), inline otherwise.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle
                .spawn_blocking(move || f(&inner))
                .await
                .map_err(|e| Error::Closed(format!("blocking task failed: {e}")))?,
            Err(_) => f(&inner),
        }
    }
}

#[async_trait]
impl Tracker for SqliteStore {
    async fn create_experiment(
        &self,
        name: &str,
        tags: &[Tag],
        artifact_location: Option<&str>,
    ) -> Result<ExperimentId> {
        let (name, tags, loc) = (
            name.to_owned(),
            tags.to_vec(),
            artifact_location.map(str::to_owned),
        );
        self.blocking(move |i| i.create_experiment(&name, &tags, loc.as_deref()))
            .await
    }
    async fn get_experiment(&self, id: &ExperimentId) -> Result<Experiment> {
        let id = id.clone();
        self.blocking(move |i| i.get_experiment(&id)).await
    }
    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        let name = name.to_owned();
        self.blocking(move |i| i.get_experiment_by_name(&name))
            .await
    }
    async fn list_experiments(&self, view: ViewType) -> Result<Vec<Experiment>> {
        self.blocking(move |i| i.list_experiments(view)).await
    }
    async fn delete_experiment(&self, id: &ExperimentId) -> Result<()> {
        let id = id.clone();
        self.blocking(move |i| i.set_experiment_stage(&id, LifecycleStage::Deleted))
            .await
    }
    async fn restore_experiment(&self, id: &ExperimentId) -> Result<()> {
        let id = id.clone();
        self.blocking(move |i| i.set_experiment_stage(&id, LifecycleStage::Active))
            .await
    }
    async fn set_experiment_tag(&self, id: &ExperimentId, tag: &Tag) -> Result<()> {
        let (id, tag) = (id.clone(), tag.clone());
        self.blocking(move |i| i.set_experiment_tag(&id, &tag))
            .await
    }
    async fn create_run(&self, options: CreateRunOptions) -> Result<RunInfo> {
        self.blocking(move |i| i.create_run(options)).await
    }
    async fn get_run(&self, run_id: &RunId) -> Result<Run> {
        let run = *run_id;
        self.blocking(move |i| i.get_run(&run)).await
    }
    async fn end_run(&self, run_id: &RunId, status: RunStatus) -> Result<()> {
        let run = *run_id;
        self.blocking(move |i| i.end_run(&run, status)).await
    }
    async fn set_run_name(&self, run_id: &RunId, name: &str) -> Result<()> {
        let (run, name) = (*run_id, name.to_owned());
        self.blocking(move |i| i.set_run_name(&run, &name)).await
    }
    async fn delete_run(&self, run_id: &RunId) -> Result<()> {
        let run = *run_id;
        self.blocking(move |i| i.set_run_stage(&run, LifecycleStage::Deleted))
            .await
    }
    async fn restore_run(&self, run_id: &RunId) -> Result<()> {
        let run = *run_id;
        self.blocking(move |i| i.set_run_stage(&run, LifecycleStage::Active))
            .await
    }
    fn log_metric(&self, run_id: &RunId, metric: Metric) -> Result<()> {
        crate::validation::check_key("metric key", &metric.key)?;
        crate::validation::check_timestamp(&metric.key, metric.timestamp)?;
        self.inner.ensure_active_run(run_id)?;
        let pending = Pending {
            run: *run_id,
            point: MetricPoint {
                step: metric.step,
                timestamp: metric.timestamp,
                value: metric.value,
            },
            key: metric.key,
        };
        self.inner.writer.enqueue(std::iter::once(pending))
    }
    fn log_metrics(&self, run_id: &RunId, metrics: &[Metric]) -> Result<()> {
        self.inner.log_metrics(run_id, metrics)
    }
    async fn flush(&self) -> Result<()> {
        self.blocking(|i| i.writer.flush()).await
    }
    async fn log_batch(
        &self,
        run_id: &RunId,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()> {
        let (run, m, p, t) = (*run_id, metrics.to_vec(), params.to_vec(), tags.to_vec());
        self.blocking(move |i| i.log_batch(&run, &m, &p, &t)).await
    }
    async fn delete_tag(&self, run_id: &RunId, key: &str) -> Result<()> {
        let (run, key) = (*run_id, key.to_owned());
        self.blocking(move |i| i.delete_tag(&run, &key)).await
    }
    async fn log_inputs(&self, run_id: &RunId, inputs: &[DatasetInput]) -> Result<()> {
        let (run, inputs) = (*run_id, inputs.to_vec());
        self.blocking(move |i| i.log_inputs(&run, &inputs)).await
    }
    async fn log_artifact(&self, run_id: &RunId, artifact: &RunArtifact) -> Result<()> {
        let (run, a) = (*run_id, artifact.clone());
        self.blocking(move |i| i.log_artifact(&run, &a)).await
    }
    async fn list_artifacts(&self, run_id: &RunId) -> Result<Vec<RunArtifact>> {
        let run = *run_id;
        self.blocking(move |i| i.list_artifacts(&run)).await
    }
    async fn get_metric_history(
        &self,
        run_id: &RunId,
        key: &str,
        options: HistoryOptions,
    ) -> Result<Vec<MetricPoint>> {
        let (run, key) = (*run_id, key.to_owned());
        self.blocking(move |i| i.get_metric_history(&run, &key, options))
            .await
    }
    async fn search_runs(&self, options: SearchRunsOptions) -> Result<RunPage> {
        self.blocking(move |i| i.search_runs(options)).await
    }
}

#[async_trait]
impl Registry for SqliteStore {
    async fn create_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel> {
        let (n, d) = (name.to_owned(), description.to_owned());
        self.blocking(move |i| i.create_registered_model(&n, &d))
            .await
    }
    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let n = name.to_owned();
        self.blocking(move |i| i.get_registered_model(&n)).await
    }
    async fn list_registered_models(&self) -> Result<Vec<RegisteredModel>> {
        self.blocking(|i| i.list_registered_models()).await
    }
    async fn update_registered_model(&self, name: &str, description: &str) -> Result<()> {
        let (n, d) = (name.to_owned(), description.to_owned());
        self.blocking(move |i| i.update_registered_model(&n, &d))
            .await
    }
    async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()> {
        let (n, k, v) = (name.to_owned(), key.to_owned(), value.to_owned());
        self.blocking(move |i| i.set_registered_model_tag(&n, &k, &v))
            .await
    }
    async fn delete_registered_model(&self, name: &str, change: &Change) -> Result<()> {
        let (n, c) = (name.to_owned(), change.clone());
        self.blocking(move |i| i.delete_registered_model(&n, &c))
            .await
    }
    async fn create_model_version(&self, new: NewModelVersion) -> Result<ModelVersion> {
        self.blocking(move |i| i.create_model_version(new)).await
    }
    async fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion> {
        let n = name.to_owned();
        self.blocking(move |i| i.get_model_version(&n, version))
            .await
    }
    async fn resolve(&self, model: &ModelRef) -> Result<ModelVersion> {
        let m = model.clone();
        self.blocking(move |i| i.resolve(&m)).await
    }
    async fn list_model_versions(&self, name: &str) -> Result<Vec<ModelVersion>> {
        let n = name.to_owned();
        self.blocking(move |i| i.list_model_versions(&n)).await
    }
    async fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<()> {
        let (n, d) = (name.to_owned(), description.to_owned());
        self.blocking(move |i| i.update_model_version(&n, version, &d))
            .await
    }
    async fn set_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<()> {
        let (n, k, v) = (name.to_owned(), key.to_owned(), value.to_owned());
        self.blocking(move |i| i.set_model_version_tag(&n, version, &k, &v))
            .await
    }
    async fn delete_model_version(&self, name: &str, version: u64, change: &Change) -> Result<()> {
        let (n, c) = (name.to_owned(), change.clone());
        self.blocking(move |i| i.delete_model_version(&n, version, &c))
            .await
    }
    async fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: u64,
        change: &Change,
    ) -> Result<()> {
        let (n, a, c) = (name.to_owned(), alias.to_owned(), change.clone());
        self.blocking(move |i| i.set_alias(&n, &a, version, &c))
            .await
    }
    async fn delete_alias(&self, name: &str, alias: &str, change: &Change) -> Result<()> {
        let (n, a, c) = (name.to_owned(), alias.to_owned(), change.clone());
        self.blocking(move |i| i.delete_alias(&n, &a, &c)).await
    }
    async fn audit_log(&self, entity_prefix: Option<&str>) -> Result<Vec<AuditEvent>> {
        let p = entity_prefix.map(str::to_owned);
        self.blocking(move |i| i.audit_log(p.as_deref())).await
    }
    async fn add_lineage_edge(&self, edge: &LineageEdge) -> Result<()> {
        let e = edge.clone();
        self.blocking(move |i| i.add_lineage_edge(&e)).await
    }
    async fn versions_from_dataset(&self, dataset: &DatasetId) -> Result<Vec<ModelVersion>> {
        let d = dataset.clone();
        self.blocking(move |i| i.versions_from_dataset(&d)).await
    }
    async fn datasets_of_version(&self, name: &str, version: u64) -> Result<Vec<DatasetId>> {
        let n = name.to_owned();
        self.blocking(move |i| i.datasets_of_version(&n, version))
            .await
    }
}

#[async_trait]
impl ArtifactStore for SqliteStore {
    async fn put(&self, bytes: Bytes) -> Result<Digest> {
        self.inner.artifacts.put(bytes).await
    }
    async fn put_file(&self, path: &Path) -> Result<(Digest, u64)> {
        self.inner.artifacts.put_file(path).await
    }
    async fn get(&self, digest: &Digest) -> Result<Bytes> {
        self.inner.artifacts.get(digest).await
    }
    async fn get_to_file(&self, digest: &Digest, path: &Path) -> Result<u64> {
        self.inner.artifacts.get_to_file(digest, path).await
    }
    async fn size(&self, digest: &Digest) -> Result<Option<u64>> {
        self.inner.artifacts.size(digest).await
    }
    async fn delete(&self, digest: &Digest) -> Result<()> {
        self.inner.artifacts.delete(digest).await
    }
    async fn list(&self) -> Result<Vec<Digest>> {
        self.inner.artifacts.list().await
    }
}

//! Experiment tracking: experiments, runs, params, metrics, tags, dataset inputs, and the
//! [`Tracker`] trait that stores them.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{DatasetId, Digest, ExperimentId, RunId};

/// Milliseconds since the Unix epoch, the time unit of every record (as in MLflow).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One metric point. NaN and ±infinity are stored faithfully.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Metric name, e.g. `val_loss`.
    pub key: String,
    /// The value.
    pub value: f64,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// Training step (0 when not given).
    pub step: i64,
}

impl Metric {
    /// A point at `step`, stamped with the current time.
    pub fn new(key: impl Into<String>, value: f64, step: i64) -> Self {
        Metric {
            key: key.into(),
            value,
            timestamp: now_ms(),
            step,
        }
    }

    /// The same point with an explicit timestamp.
    pub fn at(mut self, timestamp: i64) -> Self {
        self.timestamp = timestamp;
        self
    }
}

/// One point of a metric's history.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    /// Training step.
    pub step: i64,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// The value.
    pub value: f64,
}

/// A run parameter: write-once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// Parameter name.
    pub key: String,
    /// Parameter value, as text.
    pub value: String,
}

impl Param {
    /// A parameter.
    pub fn new(key: impl Into<String>, value: impl ToString) -> Self {
        Param {
            key: key.into(),
            value: value.to_string(),
        }
    }
}

/// A mutable key/value tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Tag name.
    pub key: String,
    /// Tag value.
    pub value: String,
}

impl Tag {
    /// A tag.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// The tag under which a nested run records its parent (MLflow's convention).
pub const PARENT_RUN_TAG: &str = "mlflow.parentRunId";

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $var),+
        }
        impl $name {
            /// The wire form.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($s => Ok($name::$var),)+
                    _ => Err(Error::invalid(stringify!($name), s, concat!("one of" $(, " ", $s)+))),
                }
            }
        }
    };
}

string_enum!(
    /// The state of a run, with MLflow's names.
    RunStatus {
        /// In progress.
        Running = "RUNNING",
        /// Queued, not started.
        Scheduled = "SCHEDULED",
        /// Ended normally.
        Finished = "FINISHED",
        /// Ended with an error, or its process died (no heartbeat).
        Failed = "FAILED",
        /// Stopped by a user.
        Killed = "KILLED",
    }
);

impl RunStatus {
    /// True for `FINISHED`, `FAILED` and `KILLED`.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            RunStatus::Finished | RunStatus::Failed | RunStatus::Killed
        )
    }
}

string_enum!(
    /// Soft-deletion state of experiments and runs.
    LifecycleStage {
        /// Visible.
        Active = "active",
        /// Soft-deleted; can be restored.
        Deleted = "deleted",
    }
);

/// Which lifecycle stages a listing includes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ViewType {
    /// Only active entities (the default).
    #[default]
    ActiveOnly,
    /// Only soft-deleted entities.
    DeletedOnly,
    /// Both.
    All,
}

/// An experiment: a named group of runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Its id.
    pub experiment_id: ExperimentId,
    /// Unique name.
    pub name: String,
    /// Where its runs' artifacts live.
    pub artifact_location: String,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Creation time (ms).
    pub creation_time: i64,
    /// Last update time (ms).
    pub last_update_time: i64,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// A run's attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Its id.
    pub run_id: RunId,
    /// The experiment it belongs to.
    pub experiment_id: ExperimentId,
    /// Display name.
    pub run_name: String,
    /// Who started it.
    pub user_id: String,
    /// State.
    pub status: RunStatus,
    /// Start time (ms).
    pub start_time: i64,
    /// End time (ms), once terminal.
    pub end_time: Option<i64>,
    /// Where its artifacts live.
    pub artifact_uri: String,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
}

/// A run's logged data: the latest value of each metric, params and tags.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// Latest point per metric key: the max of `(step, timestamp, value)`, as in MLflow.
    pub metrics: BTreeMap<String, Metric>,
    /// Params.
    pub params: BTreeMap<String, String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// A dataset as recorded by the tracker: identified by its content digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    /// The content digest.
    pub id: DatasetId,
    /// Human name.
    pub name: String,
    /// Kind of source (`local`, `s3`, `memory`, ...).
    pub source_type: String,
    /// Where it came from (a URI or JSON).
    pub source: String,
    /// Its schema as JSON, when known.
    pub schema: Option<String>,
    /// A profile (row count, ...) as JSON, when known.
    pub profile: Option<String>,
}

/// A dataset consumed by a run, with its role (`training`, `eval`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInput {
    /// The dataset.
    pub dataset: Dataset,
    /// Its role in the run (MLflow's `mlflow.data.context`).
    pub context: String,
}

/// A run: attributes, data and inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Attributes.
    pub info: RunInfo,
    /// Metrics, params, tags.
    pub data: RunData,
    /// Datasets consumed.
    pub inputs: Vec<DatasetInput>,
}

/// An artifact logged to a run: a path in the run's tree mapped to content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunArtifact {
    /// Relative path, `/`-separated.
    pub path: String,
    /// Content digest in the [`ArtifactStore`](crate::ArtifactStore).
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
}

/// Arguments of [`Tracker::create_run`].
#[derive(Clone, Debug, Default)]
pub struct CreateRunOptions {
    /// Experiment to create the run in.
    pub experiment_id: ExperimentId,
    /// Display name; a generated one when `None`.
    pub run_name: Option<String>,
    /// Who starts it; the `USER` environment variable when `None`.
    pub user_id: Option<String>,
    /// Start time (ms); now when `None`.
    pub start_time: Option<i64>,
    /// Initial tags.
    pub tags: Vec<Tag>,
    /// Parent run, for nested runs (trials of a sweep).
    pub parent_run_id: Option<RunId>,
}

impl CreateRunOptions {
    /// Options for a run in `experiment_id`.
    pub fn new(experiment_id: ExperimentId) -> Self {
        CreateRunOptions {
            experiment_id,
            ..Default::default()
        }
    }

    /// Sets the run name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.run_name = Some(name.into());
        self
    }

    /// Makes it a child of `parent`.
    pub fn parent(mut self, parent: RunId) -> Self {
        self.parent_run_id = Some(parent);
        self
    }
}

/// Arguments of [`Tracker::search_runs`].
#[derive(Clone, Debug)]
pub struct SearchRunsOptions {
    /// Experiments to search; empty searches all of them.
    pub experiment_ids: Vec<ExperimentId>,
    /// MLflow filter language plus `OR`, `NOT` and parentheses; empty matches all.
    pub filter: String,
    /// `metrics.acc DESC`, `attributes.start_time`, ...
    pub order_by: Vec<String>,
    /// Page size (default 1000, at most 50,000).
    pub max_results: usize,
    /// Token from a previous page.
    pub page_token: Option<String>,
    /// Active, deleted or both.
    pub view: ViewType,
}

impl Default for SearchRunsOptions {
    fn default() -> Self {
        SearchRunsOptions {
            experiment_ids: Vec::new(),
            filter: String::new(),
            order_by: Vec::new(),
            max_results: 1000,
            page_token: None,
            view: ViewType::ActiveOnly,
        }
    }
}

/// One page of search results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunPage {
    /// The runs on this page.
    pub runs: Vec<Run>,
    /// Token for the next page, `None` on the last one.
    pub next_page_token: Option<String>,
}

/// How to reduce a long metric history to at most N points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Downsample {
    /// Largest-Triangle-Three-Buckets: keeps the visual shape.
    Lttb,
    /// M4: first, last, min and max of each bucket; keeps every extreme.
    M4,
}

/// Arguments of [`Tracker::get_metric_history`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HistoryOptions {
    /// Reduce to at most this many points (`None`: every point).
    pub max_points: Option<usize>,
    /// The reduction method (default M4).
    pub method: Option<Downsample>,
}

/// The store of experiments and runs. Writes of metrics are enqueued and made durable by
/// [`Tracker::flush`]; everything else is durable when its call returns.
///
/// Object-safe: hold it as `Arc<dyn Tracker>`.
#[async_trait]
pub trait Tracker: Send + Sync {
    /// Creates an experiment; the name must be unused.
    async fn create_experiment(
        &self,
        name: &str,
        tags: &[Tag],
        artifact_location: Option<&str>,
    ) -> Result<ExperimentId>;
    /// Looks an experiment up by id.
    async fn get_experiment(&self, id: &ExperimentId) -> Result<Experiment>;
    /// Looks an experiment up by name.
    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment>;
    /// Lists experiments.
    async fn list_experiments(&self, view: ViewType) -> Result<Vec<Experiment>>;
    /// Soft-deletes an experiment and its runs.
    async fn delete_experiment(&self, id: &ExperimentId) -> Result<()>;
    /// Restores a soft-deleted experiment.
    async fn restore_experiment(&self, id: &ExperimentId) -> Result<()>;
    /// Sets an experiment tag.
    async fn set_experiment_tag(&self, id: &ExperimentId, tag: &Tag) -> Result<()>;

    /// Starts a run (status `RUNNING`) and keeps its heartbeat while this store is open.
    async fn create_run(&self, options: CreateRunOptions) -> Result<RunInfo>;
    /// Reads a run with its latest metrics, params, tags and inputs.
    async fn get_run(&self, run_id: &RunId) -> Result<Run>;
    /// Ends a run with a terminal status; pending metrics are flushed first.
    async fn end_run(&self, run_id: &RunId, status: RunStatus) -> Result<()>;
    /// Renames a run.
    async fn set_run_name(&self, run_id: &RunId, name: &str) -> Result<()>;
    /// Soft-deletes a run.
    async fn delete_run(&self, run_id: &RunId) -> Result<()>;
    /// Restores a soft-deleted run.
    async fn restore_run(&self, run_id: &RunId) -> Result<()>;

    /// Enqueues one metric point. Returns as soon as the point is validated and queued;
    /// [`Tracker::flush`] makes it durable.
    fn log_metric(&self, run_id: &RunId, metric: Metric) -> Result<()>;
    /// Enqueues many points at once (validated first: all or none are queued).
    fn log_metrics(&self, run_id: &RunId, metrics: &[Metric]) -> Result<()>;
    /// Waits until every point enqueued before the call is durable.
    async fn flush(&self) -> Result<()>;

    /// Logs params (write-once: logging a key again with another value is an
    /// [`Error::Conflict`] naming both values), tags and metrics in one durable transaction.
    async fn log_batch(
        &self,
        run_id: &RunId,
        metrics: &[Metric],
        params: &[Param],
        tags: &[Tag],
    ) -> Result<()>;
    /// Logs one param (write-once).
    async fn log_param(&self, run_id: &RunId, param: &Param) -> Result<()> {
        self.log_batch(run_id, &[], std::slice::from_ref(param), &[])
            .await
    }
    /// Sets one tag (mutable).
    async fn set_tag(&self, run_id: &RunId, tag: &Tag) -> Result<()> {
        self.log_batch(run_id, &[], &[], std::slice::from_ref(tag))
            .await
    }
    /// Deletes a tag.
    async fn delete_tag(&self, run_id: &RunId, key: &str) -> Result<()>;
    /// Records datasets consumed by a run (adds lineage edges dataset → run).
    async fn log_inputs(&self, run_id: &RunId, inputs: &[DatasetInput]) -> Result<()>;
    /// Records an artifact already stored in the [`ArtifactStore`](crate::ArtifactStore).
    async fn log_artifact(&self, run_id: &RunId, artifact: &RunArtifact) -> Result<()>;
    /// Lists a run's artifacts.
    async fn list_artifacts(&self, run_id: &RunId) -> Result<Vec<RunArtifact>>;

    /// The full history of one metric, ordered by step then timestamp, optionally
    /// downsampled.
    async fn get_metric_history(
        &self,
        run_id: &RunId,
        key: &str,
        options: HistoryOptions,
    ) -> Result<Vec<MetricPoint>>;
    /// Searches runs with a filter, ordering and paging.
    async fn search_runs(&self, options: SearchRunsOptions) -> Result<RunPage>;
}

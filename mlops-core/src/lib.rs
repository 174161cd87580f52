//! # mlops-core
//!
//! The vocabulary, the traits and the embedded store of the mlops factory.
//!
//! - **Vocabulary**: [`RunId`] (UUID v7), [`ExperimentId`], [`Digest`] (BLAKE3),
//!   [`DatasetId`] (a content digest), [`ModelRef`] (`name@3`, `name@champion`),
//!   [`Metric`], [`Param`], [`Tag`], [`LineageEdge`].
//! - **Traits**, object-safe and usable as `Arc<dyn _>`: [`Tracker`], [`Registry`] and
//!   [`ArtifactStore`] (async: they do I/O), [`DataSource`] (async), [`Trainer`],
//!   [`Evaluator`] and [`DriftDetector`] (sync: they compute).
//! - **The embedded store** (feature `sqlite`, on by default): [`SqliteStore`] implements
//!   `Tracker`, `Registry` and `ArtifactStore` in one folder: SQLite in WAL mode for
//!   metadata and a content-addressed object store for artifacts.
//! - **The conformance suite** (feature `conformance`): [`conformance`] holds the checks
//!   every implementation of the storage traits must pass.
//!
//! ```
//! # #[cfg(feature = "sqlite")] {
//! use mlops_core::{CreateRunOptions, Metric, Param, RunStatus, SqliteStore, Tracker};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let store = SqliteStore::open(dir.path()).unwrap();
//! let exp = store.create_experiment("churn", &[], None).await.unwrap();
//! let run = store.create_run(CreateRunOptions::new(exp).name("baseline")).await.unwrap();
//! store.log_param(&run.run_id, &Param::new("lr", 0.01)).await.unwrap();
//! for step in 0..100 {
//!     store.log_metric(&run.run_id, Metric::new("loss", 1.0 / (step + 1) as f64, step)).unwrap();
//! }
//! store.end_run(&run.run_id, RunStatus::Finished).await.unwrap();
//! let got = store.get_run(&run.run_id).await.unwrap();
//! assert_eq!(got.data.metrics["loss"].step, 99);
//! # });
//! # }
//! ```

#![warn(missing_docs)]

pub mod artifacts;
pub mod data;
pub mod downsample;
pub mod drift;
pub mod error;
pub mod eval;
pub mod factory;
pub mod features;
pub mod ids;
#[cfg(feature = "burn")]
pub mod learn;
pub mod lineage;
pub mod registry;
pub mod rng;
pub mod tracking;
pub mod train;
pub mod validation;

#[cfg(feature = "sqlite")]
pub mod store;
pub mod sweep;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use artifacts::ArtifactStore;
pub use data::{BatchStream, DataSource, ScanOptions};
pub use drift::{ColumnDrift, DriftDetector, DriftReport, FittedReference};
pub use error::{Error, Result};
pub use eval::{EvalColumns, EvalResult, Evaluator};
pub use factory::{Factory, LoadedModel, PackageIndex, TrainOptions, TrainOutcome};
pub use ids::{DatasetId, Digest, ExperimentId, ModelRef, RunId, VersionSelector};
pub use lineage::{LineageEdge, LineageNode};
pub use registry::{
    AuditEvent, Change, ModelVersion, ModelVersionStatus, NewModelVersion, RegisteredModel,
    Registry,
};
pub use tracking::{
    CreateRunOptions, Dataset, DatasetInput, Downsample, Experiment, HistoryOptions,
    LifecycleStage, Metric, MetricPoint, Param, Run, RunArtifact, RunData, RunInfo, RunPage,
    RunStatus, SearchRunsOptions, Tag, Tracker, ViewType, now_ms,
};
pub use train::{
    CancelToken, Completion, EpochDecision, TrainContext, TrainObserver, TrainPlan, TrainedModel,
    Trainer, TrainingData,
};

#[cfg(feature = "sqlite")]
pub use store::{SqliteStore, StoreOptions};

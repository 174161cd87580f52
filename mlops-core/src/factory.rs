//! The [`Factory`]: the stores composed into the loop's steps. It trains any [`Trainer`] in a
//! tracked run (config as params, dataset ids as inputs, metrics, the model's files as
//! artifacts), registers the result with lineage (dataset → run → version), and loads a
//! registered model's files back with every digest verified.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::artifacts::ArtifactStore;
use crate::error::{Error, Result};
use crate::ids::{Digest, ExperimentId, ModelRef, RunId};
use crate::registry::{ModelVersion, NewModelVersion, Registry};
use crate::tracking::{
    CreateRunOptions, Dataset, DatasetInput, Metric, Param, RunArtifact, RunStatus, Tag, Tracker,
};
use crate::train::{
    CancelToken, Completion, TrainContext, TrainObserver, TrainedModel, Trainer, TrainingData,
};
use crate::validation::MAX_PARAM_VALUE_LEN;

/// The artifact path under which a run's model files live (MLflow's convention).
pub const MODEL_DIR: &str = "model";
/// The file listing a model's files and their digests; its digest identifies the model.
pub const PACKAGE_INDEX: &str = "package.json";

/// A model's files and their content digests: what a registered version points at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageIndex {
    /// The trainer that made it.
    pub trainer: String,
    /// File name → BLAKE3 digest (hex).
    pub files: BTreeMap<String, Digest>,
}

/// How to run one training.
#[derive(Clone, Default)]
pub struct TrainOptions {
    /// The experiment (created if missing).
    pub experiment: String,
    /// The run's name.
    pub run_name: Option<String>,
    /// The parent run (a sweep's trials are its children).
    pub parent: Option<RunId>,
    /// The seed.
    pub seed: u64,
    /// Register the model under this name when the training completes.
    pub register_as: Option<String>,
    /// Extra tags on the run.
    pub tags: Vec<Tag>,
    /// Extra params on the run (beside the trainer's config and the seed).
    pub params: Vec<Param>,
    /// Progress and scheduling callbacks.
    pub observers: Vec<Arc<dyn TrainObserver>>,
    /// Stops the training when cancelled.
    pub cancel: CancelToken,
    /// Checkpoint folder (resume on a second call with the same folder).
    pub checkpoints: Option<PathBuf>,
}

impl TrainOptions {
    /// A training in `experiment` with seed 0.
    pub fn new(experiment: impl Into<String>) -> Self {
        TrainOptions {
            experiment: experiment.into(),
            ..Default::default()
        }
    }

    /// Names the run.
    pub fn run_name(mut self, name: impl Into<String>) -> Self {
        self.run_name = Some(name.into());
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Registers the model under `name` when done.
    pub fn register_as(mut self, name: impl Into<String>) -> Self {
        self.register_as = Some(name.into());
        self
    }

    /// Makes the run a child of `parent`.
    pub fn parent(mut self, parent: RunId) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Adds an observer.
    pub fn observe(mut self, observer: Arc<dyn TrainObserver>) -> Self {
        self.observers.push(observer);
        self
    }

    /// Checkpoints to `dir` (and resumes from it).
    pub fn checkpoints(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpoints = Some(dir.into());
        self
    }

    /// Cancels through `cancel`.
    pub fn cancel_with(mut self, cancel: CancelToken) -> Self {
        self.cancel = cancel;
        self
    }
}

/// What a tracked training produced.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    /// The run.
    pub run_id: RunId,
    /// The model and its final metrics.
    pub model: TrainedModel,
    /// The digest of the model's [`PackageIndex`].
    pub package: Digest,
    /// The registered version, when asked for.
    pub version: Option<ModelVersion>,
}

/// A registered model's files, every one checked against its digest.
#[derive(Clone, Debug)]
pub struct LoadedModel {
    /// The version they belong to.
    pub version: ModelVersion,
    /// The index.
    pub index: PackageIndex,
    /// File name → bytes.
    pub files: BTreeMap<String, Bytes>,
}

/// The stores behind the loop. Cheap to clone.
#[derive(Clone)]
pub struct Factory {
    tracker: Arc<dyn Tracker>,
    artifacts: Arc<dyn ArtifactStore>,
    registry: Arc<dyn Registry>,
}

impl std::fmt::Debug for Factory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Factory")
    }
}

impl Factory {
    /// A factory over three stores (they may be one object).
    pub fn new(
        tracker: Arc<dyn Tracker>,
        artifacts: Arc<dyn ArtifactStore>,
        registry: Arc<dyn Registry>,
    ) -> Self {
        Factory {
            tracker,
            artifacts,
            registry,
        }
    }

    /// A factory over the embedded store in `root` (created if needed).
    #[cfg(feature = "sqlite")]
    pub fn open(root: impl AsRef<std::path::Path>) -> Result<Self> {
        let store = Arc::new(crate::store::SqliteStore::open(root)?);
        Ok(Factory::new(store.clone(), store.clone(), store))
    }

    /// The tracker.
    pub fn tracker(&self) -> &Arc<dyn Tracker> {
        &self.tracker
    }

    /// The artifact store.
    pub fn artifacts(&self) -> &Arc<dyn ArtifactStore> {
        &self.artifacts
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<dyn Registry> {
        &self.registry
    }

    /// The id of the experiment `name`, created if missing.
    pub async fn experiment(&self, name: &str) -> Result<ExperimentId> {
        match self.tracker.get_experiment_by_name(name).await {
            Ok(e) => Ok(e.experiment_id),
            Err(e) if e.is_not_found() => self.tracker.create_experiment(name, &[], None).await,
            Err(e) => Err(e),
        }
    }

    /// Trains in a new run: params, inputs, metrics, artifacts, tags and status are all
    /// recorded; the model is registered when [`TrainOptions::register_as`] is set and the
    /// training was not cancelled. A failed training ends the run `FAILED` with the error in
    /// the `mlops.error` tag; a cancelled one ends it `KILLED`.
    pub async fn train(
        &self,
        trainer: Arc<dyn Trainer>,
        data: TrainingData,
        options: TrainOptions,
    ) -> Result<TrainOutcome> {
        let experiment = self.experiment(&options.experiment).await?;
        let mut create = CreateRunOptions::new(experiment);
        create.run_name = options.run_name.clone();
        create.parent_run_id = options.parent;
        create.tags = options.tags.clone();
        create.tags.push(Tag::new("mlops.trainer", trainer.name()));
        let run = self.tracker.create_run(create).await?;
        let run_id = run.run_id;

        let config = trainer.config();
        let mut params = Vec::new();
        crate::train::flatten_config("", &config, &mut params);
        params.push(("seed".to_owned(), options.seed.to_string()));
        params.push(("trainer".to_owned(), trainer.name().to_owned()));
        let params: Vec<Param> = params
            .into_iter()
            .chain(
                options
                    .params
                    .iter()
                    .map(|p| (p.key.clone(), p.value.clone())),
            )
            .map(|(k, v)| {
                if v.len() > MAX_PARAM_VALUE_LEN {
                    Param::new(
                        k,
                        format!("(too long for a param: see {MODEL_DIR}/config.json)"),
                    )
                } else {
                    Param::new(k, v)
                }
            })
            .collect();
        self.tracker.log_batch(&run_id, &[], &params, &[]).await?;
        self.tracker
            .log_inputs(&run_id, &dataset_inputs(&data))
            .await?;

        let ctx = TrainContext {
            run_id,
            tracker: self.tracker.clone(),
            seed: options.seed,
            cancel: options.cancel.clone(),
            observers: options.observers.clone(),
            checkpoints: options.checkpoints.clone(),
        };
        let result = run_blocking({
            let trainer = trainer.clone();
            move || trainer.train(&ctx, &data)
        })
        .await;
        let model = match result {
            Ok(model) => model,
            Err(e) => {
                let _ = self
                    .tracker
                    .set_tag(&run_id, &Tag::new("mlops.error", e.to_string()))
                    .await;
                let _ = self.tracker.end_run(&run_id, RunStatus::Failed).await;
                return Err(e);
            }
        };

        let mut files = model.files.clone();
        if let Ok(text) = serde_json::to_vec_pretty(&config) {
            files.insert("config.json".into(), Bytes::from(text));
        }
        let package = self.store_files(&run_id, trainer.name(), &files).await?;
        let logged = self.tracker.get_run(&run_id).await?.data.metrics;
        let summary: Vec<Metric> = model
            .metrics
            .iter()
            .filter(|(k, _)| !logged.contains_key(*k))
            .map(|(k, v)| Metric::new(k.clone(), *v, model.epochs as i64))
            .collect();
        let completion = serde_json::to_value(&model.completion)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
            .unwrap_or_default();
        self.tracker
            .log_batch(
                &run_id,
                &summary,
                &[],
                &[
                    Tag::new("mlops.completion", completion),
                    Tag::new("mlops.package", package.to_hex()),
                ],
            )
            .await?;
        let cancelled = matches!(model.completion, Completion::Cancelled(_));
        self.tracker
            .end_run(
                &run_id,
                if cancelled {
                    RunStatus::Killed
                } else {
                    RunStatus::Finished
                },
            )
            .await?;

        let version = match (&options.register_as, cancelled) {
            (Some(name), false) => Some(
                self.register(name, &run_id, trainer.name(), package)
                    .await?,
            ),
            _ => None,
        };
        Ok(TrainOutcome {
            run_id,
            model,
            package,
            version,
        })
    }

    /// Stores files as the run's `model/` artifacts and returns the digest of their index.
    async fn store_files(
        &self,
        run_id: &RunId,
        trainer: &str,
        files: &BTreeMap<String, Bytes>,
    ) -> Result<Digest> {
        let mut index = PackageIndex {
            trainer: trainer.to_owned(),
            files: BTreeMap::new(),
        };
        for (name, bytes) in files {
            let digest = self.put_artifact(run_id, name, bytes.clone()).await?;
            index.files.insert(name.clone(), digest);
        }
        let bytes =
            Bytes::from(serde_json::to_vec_pretty(&index).map_err(|e| {
                Error::invalid("package index", e.to_string(), "serializable JSON")
            })?);
        self.put_artifact(run_id, PACKAGE_INDEX, bytes).await
    }

    /// Stores bytes and logs them as the run's artifact `model/<name>`.
    async fn put_artifact(&self, run_id: &RunId, name: &str, bytes: Bytes) -> Result<Digest> {
        let size = bytes.len() as u64;
        let digest = self.artifacts.put(bytes).await?;
        let path = format!("{MODEL_DIR}/{name}");
        self.tracker
            .log_artifact(run_id, &RunArtifact { path, digest, size })
            .await?;
        Ok(digest)
    }

    /// Registers a run's model (identified by its package digest) as a new version of
    /// `name`; the registry adds the run → version lineage edge.
    pub async fn register(
        &self,
        name: &str,
        run_id: &RunId,
        trainer: &str,
        package: Digest,
    ) -> Result<ModelVersion> {
        self.registry
            .create_model_version(NewModelVersion {
                name: name.to_owned(),
                source: format!("runs:/{run_id}/{MODEL_DIR}"),
                run_id: Some(*run_id),
                artifact_digest: Some(package),
                description: String::new(),
                tags: vec![("mlops.trainer".into(), trainer.to_owned())],
            })
            .await
    }

    /// Resolves a model reference and reads its files, verifying each digest.
    pub async fn load_model(&self, model: &ModelRef) -> Result<LoadedModel> {
        let version = self.registry.resolve(model).await?;
        let digest = version.artifact_digest.ok_or_else(|| {
            Error::invalid(
                "model version",
                version.model_ref().to_string(),
                "a version registered with an artifact digest (by Factory::train)",
            )
        })?;
        let index_bytes = self.artifacts.get(&digest).await?;
        let index: PackageIndex = serde_json::from_slice(&index_bytes).map_err(|e| {
            Error::invalid(
                "package index",
                e.to_string(),
                "the JSON that Factory::train writes",
            )
        })?;
        let mut files = BTreeMap::new();
        for (name, digest) in &index.files {
            files.insert(name.clone(), self.artifacts.get(digest).await?);
        }
        Ok(LoadedModel {
            version,
            index,
            files,
        })
    }
}

/// The run's dataset inputs: the training split and, if any, the evaluation split.
fn dataset_inputs(data: &TrainingData) -> Vec<DatasetInput> {
    let rows = |b: &[arrow_array::RecordBatch]| b.iter().map(|b| b.num_rows()).sum::<usize>();
    let schema = data
        .train
        .first()
        .and_then(|b| serde_json::to_string(b.schema().as_ref()).ok());
    let mut inputs = vec![DatasetInput {
        dataset: Dataset {
            id: data.train_id.clone(),
            name: "train".into(),
            source_type: "arrow".into(),
            source: "memory".into(),
            schema: schema.clone(),
            profile: Some(serde_json::json!({ "num_rows": rows(&data.train) }).to_string()),
        },
        context: "training".into(),
    }];
    if let Some((batches, id)) = &data.eval {
        inputs.push(DatasetInput {
            dataset: Dataset {
                id: id.clone(),
                name: "eval".into(),
                source_type: "arrow".into(),
                source: "memory".into(),
                schema,
                profile: Some(serde_json::json!({ "num_rows": rows(batches) }).to_string()),
            },
            context: "eval".into(),
        });
    }
    inputs
}

/// Runs compute-bound work off the async executor when there is a tokio runtime.
async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    #[cfg(feature = "sqlite")]
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        return handle
            .spawn_blocking(f)
            .await
            .map_err(|e| Error::Training(format!("training thread failed: {e}")))?;
    }
    f()
}

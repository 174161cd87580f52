//! The [`Trainer`] trait: turns training data into a model, tracked in a run.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ids::{DatasetId, RunId};
use crate::tracking::Tracker;

/// Data handed to a trainer, with the ids that tie the model to its exact rows.
#[derive(Clone, Debug)]
pub struct TrainingData {
    /// Training rows.
    pub train: Vec<RecordBatch>,
    /// Content id of the training split.
    pub train_id: DatasetId,
    /// Held-out rows for validation, if any.
    pub eval: Option<(Vec<RecordBatch>, DatasetId)>,
    /// The label column.
    pub label: String,
}

/// What a trainer runs inside: the run it reports to and the configuration it was given.
pub struct TrainContext<'a> {
    /// The run recording this training.
    pub run_id: RunId,
    /// Where to log metrics (enqueueing is cheap; call it every step).
    pub tracker: &'a dyn Tracker,
    /// The full configuration; also logged as params.
    pub config: serde_json::Value,
    /// Seed of every random choice.
    pub seed: u64,
}

/// A trained model as files, ready to be stored as artifacts and registered.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TrainedModel {
    /// Files by relative path (weights as safetensors, the feature pipeline, the signature).
    #[serde(skip)]
    pub files: BTreeMap<String, Bytes>,
    /// Final metrics.
    pub metrics: BTreeMap<String, f64>,
}

/// Trains a model. Compute-bound, so synchronous: call it from a blocking thread.
///
/// Object-safe: hold it as `Arc<dyn Trainer>`.
pub trait Trainer: Send + Sync {
    /// A short name (`mlp`, `logistic_regression`).
    fn name(&self) -> &str;
    /// Trains on `data`, logging progress through `ctx.tracker`.
    fn train(&self, ctx: &TrainContext<'_>, data: &TrainingData) -> Result<TrainedModel>;
}

//! The [`Trainer`] trait: turns training data into a model, tracked in a run.
//!
//! A trainer is compute-bound and synchronous. It receives the data with the content ids that
//! tie the model to its exact rows ([`TrainingData`]) and a [`TrainContext`]: the run to report
//! to, the seed, a [`CancelToken`], [`TrainObserver`]s (progress bars, sweep schedulers) and an
//! optional checkpoint folder. It returns the model as files ([`TrainedModel`]).
//! [`Factory::train`](crate::factory::Factory::train) wraps it in a tracked run and registers
//! the result.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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
    /// Held-out rows for validation (early stopping, per-epoch metrics), if any.
    pub eval: Option<(Vec<RecordBatch>, DatasetId)>,
    /// The label column.
    pub label: String,
}

/// A shared flag that asks a training to stop at the next batch. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<CancelState>);

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    reason: Mutex<Option<String>>,
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every holder to stop, with a reason.
    pub fn cancel(&self, reason: impl Into<String>) {
        if let Ok(mut r) = self.0.reason.lock() {
            r.get_or_insert_with(|| reason.into());
        }
        self.0.cancelled.store(true, Ordering::SeqCst);
    }

    /// True once [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// The reason given to [`cancel`](Self::cancel).
    pub fn reason(&self) -> Option<String> {
        self.0.reason.lock().ok().and_then(|r| r.clone())
    }
}

/// What an observer says at the end of an epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EpochDecision {
    /// Train on.
    Continue,
    /// Stop now, keeping the model as it is, for this reason (a sweep scheduler pruning a
    /// trial, say).
    Stop(String),
}

/// The shape of a training, told to observers when it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrainPlan {
    /// Epochs in total.
    pub epochs: usize,
    /// The first epoch this call trains (greater than 1 when resuming).
    pub first_epoch: usize,
    /// Optimiser steps per epoch.
    pub steps_per_epoch: usize,
}

/// Watches a training: progress bars, schedulers, custom callbacks. Every method has a
/// default that does nothing, so an observer implements only what it needs.
pub trait TrainObserver: Send + Sync {
    /// Training starts.
    fn on_start(&self, _plan: &TrainPlan) {}
    /// One optimiser step finished (`step` counts from 1 across epochs).
    fn on_step(&self, _epoch: usize, _step: u64, _loss: f64) {}
    /// An epoch finished, with its metrics (`train_loss`, `val_loss`, ...).
    fn on_epoch_end(&self, _epoch: usize, _metrics: &BTreeMap<String, f64>) -> EpochDecision {
        EpochDecision::Continue
    }
    /// Training ended (finished, stopped or failed).
    fn on_end(&self) {}
}

/// What a trainer runs inside.
#[derive(Clone)]
pub struct TrainContext {
    /// The run recording this training.
    pub run_id: RunId,
    /// Where metrics go (enqueueing is cheap; trainers call it every step).
    pub tracker: Arc<dyn Tracker>,
    /// Seed of every random choice: same seed, data and config give the same model.
    pub seed: u64,
    /// Stops the training at the next step when cancelled.
    pub cancel: CancelToken,
    /// Progress and scheduling callbacks.
    pub observers: Vec<Arc<dyn TrainObserver>>,
    /// A folder for checkpoints; a training started again on the same folder, with the same
    /// config, data and seed, resumes after the last completed epoch.
    pub checkpoints: Option<PathBuf>,
}

impl TrainContext {
    /// A context for `run_id` reporting to `tracker`, with seed 0 and nothing else.
    pub fn new(run_id: RunId, tracker: Arc<dyn Tracker>) -> Self {
        TrainContext {
            run_id,
            tracker,
            seed: 0,
            cancel: CancelToken::new(),
            observers: Vec::new(),
            checkpoints: None,
        }
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Adds an observer.
    pub fn observe(mut self, observer: Arc<dyn TrainObserver>) -> Self {
        self.observers.push(observer);
        self
    }

    /// Uses `cancel` to stop the training.
    pub fn cancel_with(mut self, cancel: CancelToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// Writes checkpoints to `dir` and resumes from them.
    pub fn checkpoints(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpoints = Some(dir.into());
        self
    }
}

impl std::fmt::Debug for TrainContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainContext")
            .field("run_id", &self.run_id)
            .field("seed", &self.seed)
            .field("observers", &self.observers.len())
            .field("checkpoints", &self.checkpoints)
            .finish()
    }
}

/// How a training ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reason")]
pub enum Completion {
    /// Every epoch ran.
    #[default]
    Finished,
    /// Early stopping ended it.
    EarlyStopped,
    /// An observer stopped it (a sweep scheduler, say).
    Stopped(String),
    /// It was cancelled through the [`CancelToken`].
    Cancelled(String),
}

/// A trained model as files, ready to be stored as artifacts and registered.
#[derive(Clone, Debug, Default)]
pub struct TrainedModel {
    /// Files by relative path (weights as safetensors, the manifest with the feature pipeline
    /// and the signature).
    pub files: BTreeMap<String, Bytes>,
    /// Final metrics (`train_loss`, `val_loss`, `val_accuracy`, ...).
    pub metrics: BTreeMap<String, f64>,
    /// The last epoch trained.
    pub epochs: usize,
    /// How it ended.
    pub completion: Completion,
}

/// Trains a model. Compute-bound, so synchronous: call it from a blocking thread.
///
/// Object-safe: hold it as `Arc<dyn Trainer>`.
pub trait Trainer: Send + Sync {
    /// A short name (`mlp_classifier`, `logistic_regression`).
    fn name(&self) -> &str;
    /// The full configuration, logged as the run's params (`model.hidden`, `optimizer.lr`).
    fn config(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    /// Trains on `data`, logging progress through `ctx.tracker`.
    fn train(&self, ctx: &TrainContext, data: &TrainingData) -> Result<TrainedModel>;
}

/// Flattens a configuration into `a.b.c = value` pairs, the param names MLflow users know
/// (`model.hidden = [256,256]`, `optimizer.lr = 0.001`). Nulls are left out.
pub fn flatten_config(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_config(&key, v, out);
            }
        }
        Value::Null => {}
        Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

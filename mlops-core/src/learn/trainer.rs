//! [`BurnTrainer`]: the default [`Trainer`], on burn's supervised learner.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_schema::DataType;
use burn::data::dataloader::DataLoader;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use burn::store::ModuleRecord;
use burn::tensor::Device;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{
    InferenceStep, Interrupter, Learner, LearnerModel, SupervisedTraining, TrainStep,
};

use super::checkpoint::{self, Checkpoints, KeepRecentAndBest};
use super::config::{Optimizer, Task, TrainerConfig};
use super::device::burn_device;
use super::loader::{FromRows, MatrixLoader, Targets, TrainMatrix};
use super::monitor::{EpochHook, EpochLog, QuietRenderer, StopCause, TrackerLogger};
use super::network::{Classifier, Network, Regressor};
use super::package::{FORMAT, ModelManifest, ModelPackage, Signature};
use super::weights;
use crate::error::{Error, Result};
use crate::features::fit::order;
use crate::features::{Cell, ColumnCells, FeaturePipeline, PipelineSpec};
use crate::train::{Completion, TrainContext, TrainPlan, TrainedModel, Trainer, TrainingData};

/// Trains the networks of [`ModelSpec`](super::ModelSpec) with burn: fits the feature
/// pipeline on the training split, tracks every step and epoch in the run, checkpoints,
/// stops early, and returns the model as a [`ModelPackage`]'s files.
#[derive(Clone, Debug)]
pub struct BurnTrainer {
    config: TrainerConfig,
    name: String,
}

impl BurnTrainer {
    /// A trainer with this configuration.
    pub fn new(config: TrainerConfig) -> Self {
        let name = serde_json::to_value(&config.model)
            .ok()
            .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "burn".into());
        BurnTrainer { config, name }
    }

    /// The configuration.
    pub fn settings(&self) -> &TrainerConfig {
        &self.config
    }
}

impl Trainer for BurnTrainer {
    fn name(&self) -> &str {
        &self.name
    }

    fn config(&self) -> serde_json::Value {
        serde_json::to_value(&self.config).unwrap_or(serde_json::Value::Null)
    }

    fn train(&self, ctx: &TrainContext, data: &TrainingData) -> Result<TrainedModel> {
        let cfg = &self.config;
        cfg.validate()?;
        let task = cfg.model.task();
        if cfg.early_stopping.is_some() && data.eval.is_none() {
            return Err(Error::invalid(
                "early stopping",
                "no evaluation data",
                "evaluation rows to measure the validation loss on",
            ));
        }
        let prepared = Prepared::new(cfg, data)?;
        let device = burn_device(cfg.device)?;
        let outputs = match task {
            Task::Classification => prepared.classes.len(),
            Task::Regression => 1,
        };

        let identity = serde_json::json!({
            "config": { "model": &cfg.model, "features": &cfg.features, "batch_size": cfg.batch_size,
                        "optimizer": &cfg.optimizer, "device": &cfg.device },
            "train": &data.train_id, "eval": data.eval.as_ref().map(|e| &e.1),
            "label": &data.label, "seed": ctx.seed,
        });
        let (resume_from, saved, history) = match &ctx.checkpoints {
            Some(dir) => checkpoint::prepare(dir, &identity)?,
            None => (0, BTreeSet::new(), checkpoint::History::default()),
        };

        // Parameters are made on the autodiff device so that they track gradients.
        let net = Network::init(
            &cfg.model,
            prepared.pipeline.width(),
            outputs,
            ctx.seed,
            &device.clone().autodiff(),
        );
        let run = Run {
            cfg,
            ctx,
            device,
            train: Arc::new(prepared.train),
            valid: prepared.valid.map(Arc::new),
            resume_from,
            saved,
            history,
        };
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| match task {
            Task::Classification => run.fit(Classifier { net }, |m| m.net),
            Task::Regression => run.fit(Regressor { net }, |m| m.net),
        }))
        .map_err(|panic| {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            Error::Training(format!("the backend panicked: {msg}"))
        });
        ctx.observers.iter().for_each(|o| o.on_end());
        let mut outcome = outcome??;

        let seconds = started.elapsed().as_secs_f64();
        let trained_epochs = outcome.last_epoch.saturating_sub(resume_from);
        outcome.metrics.insert("train_seconds".into(), seconds);
        if trained_epochs > 0 && seconds > 0.0 {
            outcome.metrics.insert(
                "train_samples_per_s".into(),
                (trained_epochs * run.train.x.rows) as f64 / seconds,
            );
        }
        let weights = weights::save(&outcome.net)?;
        let package = ModelPackage {
            manifest: ModelManifest {
                format: FORMAT.into(),
                config: cfg.clone(),
                task,
                label: data.label.clone(),
                label_type: prepared.label_type.to_string(),
                classes: prepared.classes,
                inputs: prepared.pipeline.width(),
                outputs,
                seed: ctx.seed,
                train_dataset: data.train_id.clone(),
                eval_dataset: data.eval.as_ref().map(|e| e.1.clone()),
                epochs: outcome.last_epoch,
                weights_epoch: outcome.weights_epoch,
                completion: outcome.completion.clone(),
                metrics: outcome.metrics.clone(),
                quantization: None,
            },
            signature: prepared.signature,
            pipeline: prepared.pipeline,
            weights,
        };
        Ok(TrainedModel {
            files: package.to_files()?,
            metrics: outcome.metrics,
            epochs: outcome.last_epoch,
            completion: outcome.completion,
        })
    }
}

/// The features, targets and label encoding of a training.
struct Prepared {
    pipeline: FeaturePipeline,
    train: TrainMatrix,
    valid: Option<TrainMatrix>,
    classes: Vec<String>,
    label_type: DataType,
    signature: Signature,
}

impl Prepared {
    fn new(cfg: &TrainerConfig, data: &TrainingData) -> Result<Self> {
        let first = data.train.first().ok_or_else(|| {
            Error::invalid("training data", "no batches", "at least one training row")
        })?;
        let schema = first.schema();
        let label_field = schema.field_with_name(&data.label).map_err(|_| {
            Error::invalid(
                "label column",
                &data.label,
                format!(
                    "one of the training columns {:?}",
                    schema.fields().iter().map(|f| f.name()).collect::<Vec<_>>()
                ),
            )
        })?;
        let label_type = label_field.data_type().clone();
        let spec = cfg
            .features
            .clone()
            .unwrap_or_else(|| PipelineSpec::auto(&schema, &[data.label.as_str()]));
        if spec.columns.iter().any(|c| c.column == data.label) {
            return Err(Error::invalid(
                "feature pipeline",
                &data.label,
                "feature columns other than the label (a model must not read its own target)",
            ));
        }
        let pipeline = spec.fit(&data.train)?;
        let task = cfg.model.task();
        let numeric_label = label_type.is_numeric() || label_type == DataType::Boolean;
        let classes = match task {
            Task::Classification => {
                let mut keys: Vec<String> = label_keys(&data.train, &data.label, "training")?
                    .into_iter()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                keys.sort_by(|a, b| order(numeric_label, a, b));
                if keys.len() < 2 {
                    return Err(Error::invalid(
                        "training labels",
                        format!("{keys:?}"),
                        "at least two classes",
                    ));
                }
                keys
            }
            Task::Regression => {
                if !numeric_label {
                    return Err(Error::invalid(
                        format!("type of label column \"{}\"", data.label),
                        label_type.to_string(),
                        "a numeric column for regression",
                    ));
                }
                Vec::new()
            }
        };
        let matrix = |batches: &[RecordBatch], split: &str| -> Result<TrainMatrix> {
            let x = pipeline.transform_all(batches)?;
            let y = match task {
                Task::Classification => {
                    let index: BTreeMap<&str, i64> = classes
                        .iter()
                        .enumerate()
                        .map(|(i, k)| (k.as_str(), i as i64))
                        .collect();
                    let keys = label_keys(batches, &data.label, split)?;
                    let mut y = Vec::with_capacity(keys.len());
                    for k in &keys {
                        y.push(*index.get(k.as_str()).ok_or_else(|| {
                            Error::invalid(
                                format!("{split} label"),
                                k,
                                format!("one of the training classes {classes:?}"),
                            )
                        })?);
                    }
                    Targets::Classes(y)
                }
                Task::Regression => Targets::Values(label_values(batches, &data.label, split)?),
            };
            Ok(TrainMatrix { x, y })
        };
        let train = matrix(&data.train, "training")?;
        let valid = match &data.eval {
            Some((batches, _)) if batches.iter().any(|b| b.num_rows() > 0) => {
                Some(matrix(batches, "evaluation")?)
            }
            _ => None,
        };
        let signature = Signature::of(&pipeline, &schema, task, &label_type, classes.len());
        Ok(Prepared {
            pipeline,
            train,
            valid,
            classes,
            label_type,
            signature,
        })
    }
}

/// Visits the label cell of every row of `batches`, with the row's index across batches.
fn each_label(
    batches: &[RecordBatch],
    label: &str,
    split: &str,
    mut f: impl FnMut(usize, Cell<'_>) -> Result<()>,
) -> Result<()> {
    let mut row0 = 0;
    for b in batches {
        let col = b.column_by_name(label).ok_or_else(|| {
            Error::invalid(
                format!("{split} data"),
                label,
                "a batch with the label column",
            )
        })?;
        let cells = ColumnCells::new(label, col)?;
        for row in 0..b.num_rows() {
            f(row0 + row, cells.get(row))?;
        }
        row0 += b.num_rows();
    }
    Ok(())
}

/// The label of every row as a class key; a missing label is an error naming the row.
fn label_keys(batches: &[RecordBatch], label: &str, split: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    each_label(batches, label, split, |row, cell| {
        let key = cell.category().ok_or_else(|| {
            Error::invalid(
                format!("{split} label \"{label}\" at row {row}"),
                "null",
                "a label on every row",
            )
        })?;
        out.push(key.into_owned());
        Ok(())
    })?;
    Ok(out)
}

/// The target of every row; a missing or non-finite target is an error naming the row.
fn label_values(batches: &[RecordBatch], label: &str, split: &str) -> Result<Vec<f32>> {
    let mut out = Vec::new();
    each_label(batches, label, split, |row, cell| {
        match cell.number(label)? {
            Some(v) if v.is_finite() => {
                out.push(v as f32);
                Ok(())
            }
            other => Err(Error::invalid(
                format!("{split} target \"{label}\" at row {row}"),
                format!("{other:?}"),
                "a finite number on every row",
            )),
        }
    })?;
    Ok(out)
}

/// One call of the learner.
struct Run<'a> {
    cfg: &'a TrainerConfig,
    ctx: &'a TrainContext,
    device: Device,
    train: Arc<TrainMatrix>,
    valid: Option<Arc<TrainMatrix>>,
    resume_from: usize,
    saved: BTreeSet<usize>,
    history: checkpoint::History,
}

/// What the learner produced.
struct Outcome {
    net: Network,
    last_epoch: usize,
    weights_epoch: usize,
    completion: Completion,
    metrics: BTreeMap<String, f64>,
}

fn optimizer(spec: &Optimizer) -> ModuleOptimizer {
    let decay = |wd: f32| (wd > 0.0).then(|| WeightDecayConfig::new(wd));
    match spec {
        Optimizer::Adam {
            beta_1,
            beta_2,
            epsilon,
            weight_decay,
            ..
        } => AdamConfig::new()
            .with_beta_1(*beta_1)
            .with_beta_2(*beta_2)
            .with_epsilon(*epsilon)
            .with_weight_decay(decay(*weight_decay))
            .init(),
        Optimizer::Sgd {
            momentum,
            weight_decay,
            ..
        } => SgdConfig::new()
            .with_momentum(
                (*momentum > 0.0).then(|| MomentumConfig::new().with_momentum(*momentum)),
            )
            .with_weight_decay(decay(*weight_decay))
            .init(),
    }
}

impl Run<'_> {
    fn fit<M, B>(&self, model: M, into_net: fn(M) -> Network) -> Result<Outcome>
    where
        B: FromRows + Clone + std::fmt::Debug,
        M: LearnerModel + TrainStep<Input = B> + InferenceStep<Input = B> + TrackedMetrics,
    {
        let cfg = self.cfg;
        let ctx = self.ctx;
        let empty = Arc::new(TrainMatrix {
            x: crate::features::FeatureMatrix {
                rows: 0,
                width: self.train.x.width,
                values: Vec::new(),
            },
            y: Targets::Values(Vec::new()),
        });
        let first_epoch = self.resume_from + 1;
        let train: Arc<dyn DataLoader<B>> = Arc::new(MatrixLoader::<B>::new(
            self.train.clone(),
            cfg.batch_size,
            Some(ctx.seed),
            first_epoch,
            self.device.clone(),
        ));
        let valid: Arc<dyn DataLoader<B>> = Arc::new(MatrixLoader::<B>::new(
            self.valid.clone().unwrap_or(empty),
            cfg.batch_size.max(1024),
            None,
            1,
            self.device.clone(),
        ));
        let steps_per_epoch = self.train.x.rows.div_ceil(cfg.batch_size) as u64;
        let log = Arc::new(Mutex::new(EpochLog {
            epochs: self.history.epochs.clone(),
            stopped: None,
        }));
        let interrupter = Interrupter::new();
        let logger = TrackerLogger::new(
            self.valid.is_some(),
            ctx.tracker.clone(),
            ctx.run_id,
            steps_per_epoch,
            log.clone(),
            ctx.observers.clone(),
            ctx.cancel.clone(),
            interrupter.clone(),
        );
        let hook = EpochHook {
            log: log.clone(),
            early: cfg.early_stopping.clone(),
            observers: ctx.observers.clone(),
        };
        let dir = ctx.checkpoints.as_deref();
        let models = Checkpoints::new(dir, "model");
        let mut training =
            SupervisedTraining::<M>::new(dir.unwrap_or(Path::new(".")), train, valid)
                .num_epochs(cfg.epochs)
                .with_metric_logger(logger)
                .with_application_logger(None)
                .renderer(Box::new(QuietRenderer))
                .with_interrupter(interrupter)
                .early_stopping(hook);
        training = M::with_metrics(training);
        let keep_checkpoints = dir.is_some() || cfg.early_stopping.is_some();
        if keep_checkpoints {
            training = training
                .with_custom_checkpointers(
                    models.clone(),
                    Checkpoints::new(dir, "optim"),
                    Checkpoints::new(dir, "scheduler"),
                )
                .with_checkpointing_strategy(KeepRecentAndBest {
                    log: log.clone(),
                    dir: dir.map(Path::to_path_buf),
                    saved: self.saved.clone(),
                });
        }
        if self.resume_from > 0 {
            training = training.checkpoint(self.resume_from);
        }
        ctx.observers.iter().for_each(|o| {
            o.on_start(&TrainPlan {
                epochs: cfg.epochs,
                first_epoch,
                steps_per_epoch: steps_per_epoch as usize,
            })
        });
        if ctx.cancel.is_cancelled() {
            return Err(Error::Training(format!(
                "cancelled before it started: {}",
                ctx.cancel.reason().unwrap_or_default()
            )));
        }
        let learner = Learner::new(model, optimizer(&cfg.optimizer), cfg.optimizer.lr());
        let result = training.launch(learner);
        if let Some(error) = result.error {
            return Err(Error::Training(error.to_string()));
        }
        let log = log
            .lock()
            .map_err(|_| Error::Training("metric log poisoned".into()))?;
        let last_epoch = log
            .epochs
            .iter()
            .filter(|(_, m)| m.contains_key("train_loss"))
            .map(|(e, _)| *e)
            .max()
            .unwrap_or(self.resume_from);
        let completion = match &log.stopped {
            Some(StopCause::EarlyStopping) => Completion::EarlyStopped,
            Some(StopCause::Observer(r)) => Completion::Stopped(r.clone()),
            Some(StopCause::Cancelled(r)) => Completion::Cancelled(r.clone()),
            None => Completion::Finished,
        };
        let mut model = result.model;
        let mut weights_epoch = last_epoch;
        if cfg.early_stopping.is_some()
            && let Some(best) = log.best_epoch()
            && best != last_epoch
        {
            let record: ModuleRecord = models.load(best)?;
            model = model.load_record(record);
            weights_epoch = best;
        }
        let mut metrics = log.epochs.get(&weights_epoch).cloned().unwrap_or_default();
        metrics.insert("epochs".into(), last_epoch as f64);
        metrics.insert("weights_epoch".into(), weights_epoch as f64);
        Ok(Outcome {
            net: into_net(model),
            last_epoch,
            weights_epoch,
            completion,
            metrics,
        })
    }
}

/// The burn metrics each model kind tracks: the loss, and accuracy for classifiers.
trait TrackedMetrics: LearnerModel + Sized {
    fn with_metrics(t: SupervisedTraining<Self>) -> SupervisedTraining<Self>;
}

impl TrackedMetrics for Classifier {
    fn with_metrics(t: SupervisedTraining<Self>) -> SupervisedTraining<Self> {
        t.metrics((LossMetric::new(), AccuracyMetric::new()))
    }
}

impl TrackedMetrics for Regressor {
    fn with_metrics(t: SupervisedTraining<Self>) -> SupervisedTraining<Self> {
        t.metrics((LossMetric::new(),))
    }
}

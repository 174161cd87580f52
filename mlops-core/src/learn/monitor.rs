//! What burn's learner reports, routed to the run: a [`MetricLogger`] that forwards every
//! step and epoch metric to the [`Tracker`], an early-stopping hook that applies patience,
//! observers and cancellation, and a renderer that prints nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use burn::train::logger::{EvaluationProgressLogger, MetricLogger, TrainingProgressLogger};
use burn::train::metric::store::{EpochSummary, EventStoreClient, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining,
};
use burn::train::{EarlyStoppingStrategy, Interrupter, LearnerSummary};

use super::config::EarlyStopping;
use crate::ids::RunId;
use crate::tracking::{Metric, Tracker};
use crate::train::{CancelToken, EpochDecision, TrainObserver};

/// Per-epoch metrics of a training, shared by the logger, the hooks and the trainer.
#[derive(Debug, Default)]
pub(crate) struct EpochLog {
    /// Epoch → `train_loss`, `val_loss`, `val_accuracy`, ...
    pub(crate) epochs: BTreeMap<usize, BTreeMap<String, f64>>,
    /// Why a hook stopped the training, if one did.
    pub(crate) stopped: Option<StopCause>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum StopCause {
    EarlyStopping,
    Observer(String),
    Cancelled(String),
}

impl EpochLog {
    /// The epoch with the lowest validation loss (the earliest on ties).
    pub(crate) fn best_epoch(&self) -> Option<usize> {
        self.epochs
            .iter()
            .filter_map(|(e, m)| m.get("val_loss").map(|v| (*e, *v)))
            .filter(|(_, v)| v.is_finite())
            .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
            .map(|(e, _)| e)
    }
}

pub(crate) type SharedLog = Arc<Mutex<EpochLog>>;

/// Forwards burn's metric updates to the tracker and keeps them for burn's own queries.
pub(crate) struct TrackerLogger {
    /// False when there is no validation data: burn still runs an empty validation split,
    /// whose NaN metrics are dropped.
    pub(crate) validates: bool,
    pub(crate) tracker: Arc<dyn Tracker>,
    pub(crate) run_id: RunId,
    pub(crate) steps_per_epoch: u64,
    pub(crate) log: SharedLog,
    pub(crate) observers: Vec<Arc<dyn TrainObserver>>,
    pub(crate) cancel: CancelToken,
    pub(crate) interrupter: Interrupter,
    names: HashMap<MetricId, String>,
    entries: HashMap<(String, &'static str, usize), Vec<NumericEntry>>,
    step_in_epoch: (usize, u64),
}

impl TrackerLogger {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        validates: bool,
        tracker: Arc<dyn Tracker>,
        run_id: RunId,
        steps_per_epoch: u64,
        log: SharedLog,
        observers: Vec<Arc<dyn TrainObserver>>,
        cancel: CancelToken,
        interrupter: Interrupter,
    ) -> Self {
        TrackerLogger {
            validates,
            tracker,
            run_id,
            steps_per_epoch,
            log,
            observers,
            cancel,
            interrupter,
            names: HashMap::new(),
            entries: HashMap::new(),
            step_in_epoch: (0, 0),
        }
    }

    fn emit(&self, key: &str, value: f64, step: i64) {
        // Enqueueing cannot fail for a live store; a failure is recorded by the store itself
        // and surfaces at the next flush, so the training goes on.
        let _ = self
            .tracker
            .log_metric(&self.run_id, Metric::new(key, value, step));
    }
}

fn split_name(split: &Split) -> &'static str {
    match split {
        Split::Train => "train",
        Split::Valid => "val",
        Split::Test(_) => "test",
    }
}

/// burn's display names (`Loss`, `Accuracy`) as metric keys (`loss`, `accuracy`).
fn metric_key(name: &str) -> String {
    name.trim().to_lowercase().replace([' ', '-'], "_")
}

impl MetricLogger for TrackerLogger {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &Split) {
        if matches!(split, Split::Valid) && !self.validates {
            return;
        }
        let split_key = split_name(split);
        let mut step_loss = None;
        let mut per_step = false;
        for u in &update.entries_numeric {
            let Some(name) = self.names.get(&u.entry.metric_id).cloned() else {
                continue;
            };
            let Some(entry) = &u.numeric_entry else {
                continue;
            };
            if !matches!(entry, NumericEntry::Final(_)) {
                per_step = true;
                if name == "loss" {
                    step_loss = Some(entry.current());
                }
            }
            self.entries
                .entry((name, split_key, epoch))
                .or_default()
                .push(entry.clone());
        }
        if matches!(split, Split::Train) && per_step {
            if self.step_in_epoch.0 != epoch {
                self.step_in_epoch = (epoch, 0);
            }
            self.step_in_epoch.1 += 1;
            let step = (epoch as u64 - 1) * self.steps_per_epoch + self.step_in_epoch.1;
            if let Some(loss) = step_loss {
                self.emit("train_loss_step", loss, step as i64);
                self.observers
                    .iter()
                    .for_each(|o| o.on_step(epoch, step, loss));
            }
        }
        if self.cancel.is_cancelled() && !self.interrupter.should_stop() {
            let reason = self.cancel.reason().unwrap_or_else(|| "cancelled".into());
            if let Ok(mut log) = self.log.lock() {
                log.stopped
                    .get_or_insert(StopCause::Cancelled(reason.clone()));
            }
            self.interrupter.stop(Some(&reason));
        }
    }

    fn read_numeric(
        &mut self,
        name: &str,
        epoch: usize,
        split: &Split,
    ) -> Result<Vec<NumericEntry>, String> {
        let key = (metric_key(name), split_name(split), epoch);
        Ok(self.entries.get(&key).cloned().unwrap_or_default())
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.names.insert(
            definition.metric_id.clone(),
            metric_key(&definition.name.to_string()),
        );
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        let split_key = split_name(&summary.split);
        let epoch = summary.epoch_number;
        let mut values = BTreeMap::new();
        for ((name, split, e), entries) in &self.entries {
            if *split != split_key || *e != epoch {
                continue;
            }
            if let Some(v) = epoch_value(entries) {
                values.insert(format!("{split_key}_{name}"), v * unit(name));
            }
        }
        for (k, v) in &values {
            self.emit(k, *v, epoch as i64);
        }
        if let Ok(mut log) = self.log.lock() {
            log.epochs.entry(epoch).or_default().extend(values);
        }
        // Per-step entries of finished epochs are no longer queried: keep memory bounded.
        self.entries
            .retain(|(_, split, e), _| !(*split == split_key && *e + 1 < epoch));
    }
}

/// Converts burn's units to ours: burn reports accuracy in percent, we (like scikit-learn)
/// as a fraction.
fn unit(name: &str) -> f64 {
    if name == "accuracy" { 0.01 } else { 1.0 }
}

/// The epoch's value as burn aggregates it: the final entry if there is one, else the mean
/// weighted by batch sizes.
fn epoch_value(entries: &[NumericEntry]) -> Option<f64> {
    if let Some(NumericEntry::Final(v)) = entries.last() {
        return Some(*v);
    }
    let (sum, n) = entries.iter().fold((0.0, 0usize), |(s, n), e| match e {
        NumericEntry::Value(v) => (s + v, n + 1),
        NumericEntry::Aggregated {
            aggregated_value,
            count,
        } => (s + aggregated_value * *count as f64, n + count),
        NumericEntry::Final(_) => (s, n),
    });
    (n > 0).then(|| sum / n as f64)
}

/// Runs after every epoch's validation: patience-based early stopping, then the observers.
#[derive(Clone)]
pub(crate) struct EpochHook {
    pub(crate) log: SharedLog,
    pub(crate) early: Option<EarlyStopping>,
    pub(crate) observers: Vec<Arc<dyn TrainObserver>>,
}

impl EarlyStoppingStrategy for EpochHook {
    fn should_stop(&mut self, epoch: usize, _store: &EventStoreClient) -> bool {
        let Ok(mut log) = self.log.lock() else {
            return false;
        };
        let metrics = log.epochs.get(&epoch).cloned().unwrap_or_default();
        if let Some(early) = &self.early
            && patience_exhausted(&log, epoch, early)
        {
            log.stopped = Some(StopCause::EarlyStopping);
            return true;
        }
        drop(log);
        for o in &self.observers {
            if let EpochDecision::Stop(reason) = o.on_epoch_end(epoch, &metrics) {
                if let Ok(mut log) = self.log.lock() {
                    log.stopped = Some(StopCause::Observer(reason));
                }
                return true;
            }
        }
        false
    }
}

/// True when none of the last `patience` epochs lowered the best earlier validation loss by
/// more than `min_delta`.
fn patience_exhausted(log: &EpochLog, epoch: usize, early: &EarlyStopping) -> bool {
    let losses: Vec<(usize, f64)> = log
        .epochs
        .iter()
        .filter(|(e, _)| **e <= epoch)
        .filter_map(|(e, m)| m.get("val_loss").map(|v| (*e, *v)))
        .filter(|(_, v)| v.is_finite())
        .collect();
    let mut best: Option<(usize, f64)> = None;
    for (e, v) in losses {
        match best {
            Some((_, b)) if v >= b - early.min_delta => {}
            _ => best = Some((e, v)),
        }
    }
    best.is_some_and(|(b, _)| epoch - b >= early.patience.max(1))
}

/// A renderer that shows nothing: a library prints only when asked.
pub(crate) struct QuietRenderer;

impl MetricsRendererTraining for QuietRenderer {
    fn update_train(&mut self, _state: MetricState) {}
    fn update_valid(&mut self, _state: MetricState) {}
    fn on_train_end(
        &mut self,
        _summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        Ok(())
    }
}

impl MetricsRendererEvaluation for QuietRenderer {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}
    fn on_test_end(
        &mut self,
        _summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        Ok(())
    }
}

impl TrainingProgressLogger for QuietRenderer {
    fn start(&mut self, _: usize, _: usize, _: Option<usize>, _: Option<&str>) {}
    fn update_epoch(&mut self, _epoch: usize) {}
    fn start_split(&mut self, _split: &str, _total_items: usize) {}
    fn update_split(&mut self, _items_processed: usize) {}
    fn end_split(&mut self) {}
    fn end(&mut self) {}
    fn log_event_training(&mut self, _event: String) {}
}

impl EvaluationProgressLogger for QuietRenderer {
    fn start_global_progress(&mut self, _total_tests: usize) {}
    fn start_test(&mut self, _name: &str, _total_items: usize) {}
    fn update_test_progress(&mut self, _items_processed: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _event: String) {}
}

impl MetricsRenderer for QuietRenderer {
    fn manual_close(&mut self) {}
    fn register_metric(&mut self, _definition: MetricDefinition) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(losses: &[f64]) -> EpochLog {
        let mut log = EpochLog::default();
        for (i, v) in losses.iter().enumerate() {
            log.epochs
                .entry(i + 1)
                .or_default()
                .insert("val_loss".into(), *v);
        }
        log
    }

    #[test]
    fn patience_counts_epochs_since_the_best() {
        let early = EarlyStopping {
            patience: 2,
            min_delta: 0.0,
        };
        let log = log_of(&[1.0, 0.8, 0.9, 0.85]);
        assert!(!patience_exhausted(&log, 3, &early));
        assert!(patience_exhausted(&log, 4, &early));
        assert_eq!(log.best_epoch(), Some(2));
    }

    #[test]
    fn min_delta_ignores_tiny_improvements() {
        let early = EarlyStopping {
            patience: 1,
            min_delta: 0.1,
        };
        let log = log_of(&[1.0, 0.95]);
        assert!(patience_exhausted(&log, 2, &early));
    }

    #[test]
    fn epoch_values_weight_batches_by_size() {
        let e = [
            NumericEntry::Aggregated {
                aggregated_value: 1.0,
                count: 3,
            },
            NumericEntry::Aggregated {
                aggregated_value: 2.0,
                count: 1,
            },
        ];
        assert_eq!(epoch_value(&e), Some(1.25));
        assert_eq!(
            epoch_value(&[NumericEntry::Value(1.0), NumericEntry::Final(7.0)]),
            Some(7.0)
        );
    }
}

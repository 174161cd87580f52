//! Hyperparameter sweeps as runs: grid or random search over a [`SearchSpace`], every trial
//! a child run of one parent run, trials run concurrently up to a limit, an optional
//! asynchronous successive-halving scheduler ([`Asha`]) that stops weak trials at rung
//! epochs, and the best trial reported and optionally registered.
//!
//! Any [`Trainer`] can be swept: a `build` function turns a trial's parameters into one.
//!
//! ```no_run
//! # async fn demo(factory: mlops_core::Factory, data: mlops_core::TrainingData) -> mlops_core::Result<()> {
//! use std::sync::Arc;
//! use mlops_core::sweep::{Domain, Objective, SearchSpace, Search, SweepOptions, run_sweep};
//! # fn make(_: &mlops_core::sweep::TrialParams) -> mlops_core::Result<Arc<dyn mlops_core::Trainer>> { todo!() }
//! let space = SearchSpace::new()
//!     .param("lr", Domain::LogUniform { low: 1e-4, high: 1e-1 })
//!     .param("width", Domain::choice([32, 64, 128]));
//! let options = SweepOptions::new("churn", Objective::minimize("val_loss"))
//!     .search(Search::Random { trials: 8 })
//!     .max_concurrent(2);
//! let report = run_sweep(&factory, &space, Arc::new(make), &data, options).await?;
//! println!("best: {:?}", report.best());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::factory::{Factory, TrainOptions};
use crate::ids::{Digest, RunId};
use crate::registry::ModelVersion;
use crate::rng::Rng;
use crate::tracking::{CreateRunOptions, Metric, Param, RunStatus, Tag};
use crate::train::{Completion, EpochDecision, TrainObserver, Trainer, TrainingData};

/// The values a parameter may take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Domain {
    /// One of these values (the only kind a grid accepts).
    Choice {
        /// The values.
        values: Vec<serde_json::Value>,
    },
    /// A float drawn uniformly from `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// A float whose logarithm is uniform in `[ln low, ln high)` (learning rates).
    LogUniform {
        /// Lower bound (positive).
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// An integer drawn uniformly from `low..=high`.
    Int {
        /// Lower bound.
        low: i64,
        /// Upper bound (inclusive).
        high: i64,
    },
}

impl Domain {
    /// A choice among values.
    pub fn choice<T: Into<serde_json::Value>>(values: impl IntoIterator<Item = T>) -> Self {
        Domain::Choice {
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    fn check(&self, name: &str) -> Result<()> {
        let bad = |expected: &'static str| {
            Err(Error::invalid(
                format!("search space parameter \"{name}\""),
                format!("{self:?}"),
                expected,
            ))
        };
        match self {
            Domain::Choice { values } if values.is_empty() => bad("at least one value"),
            Domain::Uniform { low, high }
                if !(low.is_finite() && high.is_finite() && low < high) =>
            {
                bad("finite bounds with low < high")
            }
            Domain::LogUniform { low, high } if !(*low > 0.0 && high.is_finite() && low < high) => {
                bad("bounds with 0 < low < high")
            }
            Domain::Int { low, high } if low > high => bad("low <= high"),
            _ => Ok(()),
        }
    }

    fn sample(&self, rng: &mut Rng) -> serde_json::Value {
        match self {
            Domain::Choice { values } => values[rng.below(values.len() as u64) as usize].clone(),
            Domain::Uniform { low, high } => (low + rng.next_f64() * (high - low)).into(),
            Domain::LogUniform { low, high } => (low.ln()
                + rng.next_f64() * (high.ln() - low.ln()))
            .exp()
            .into(),
            Domain::Int { low, high } => (low + rng.below((high - low) as u64 + 1) as i64).into(),
        }
    }
}

/// A trial's parameter values by name.
pub type TrialParams = BTreeMap<String, serde_json::Value>;

/// Named parameters and their domains.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    /// Parameters, in name order.
    pub params: BTreeMap<String, Domain>,
}

impl SearchSpace {
    /// An empty space.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a parameter.
    pub fn param(mut self, name: impl Into<String>, domain: Domain) -> Self {
        self.params.insert(name.into(), domain);
        self
    }

    /// Every combination of the choices, in a fixed order (the first parameter varies
    /// slowest).
    pub fn grid(&self) -> Result<Vec<TrialParams>> {
        let mut out = vec![TrialParams::new()];
        for (name, domain) in &self.params {
            domain.check(name)?;
            let Domain::Choice { values } = domain else {
                return Err(Error::invalid(
                    format!("grid search parameter \"{name}\""),
                    format!("{domain:?}"),
                    "a choice list (sample ranges with random search)",
                ));
            };
            out = out
                .into_iter()
                .flat_map(|t| {
                    values.iter().map(move |v| {
                        let mut t = t.clone();
                        t.insert(name.clone(), v.clone());
                        t
                    })
                })
                .collect();
        }
        Ok(out)
    }

    /// `trials` independent draws; trial `i` depends only on `(seed, i)`.
    pub fn random(&self, trials: usize, seed: u64) -> Result<Vec<TrialParams>> {
        for (name, domain) in &self.params {
            domain.check(name)?;
        }
        Ok((0..trials)
            .map(|i| {
                let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                self.params
                    .iter()
                    .map(|(n, d)| (n.clone(), d.sample(&mut rng)))
                    .collect()
            })
            .collect())
    }
}

/// How trials are chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Search {
    /// Every combination of the choice lists.
    Grid,
    /// Independent random draws.
    Random {
        /// How many trials.
        trials: usize,
    },
}

/// The metric that ranks trials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// A metric of the trained model (`val_loss`, `val_accuracy`, ...).
    pub metric: String,
    /// True when larger is better.
    pub maximize: bool,
}

impl Objective {
    /// Smaller is better.
    pub fn minimize(metric: impl Into<String>) -> Self {
        Objective {
            metric: metric.into(),
            maximize: false,
        }
    }

    /// Larger is better.
    pub fn maximize(metric: impl Into<String>) -> Self {
        Objective {
            metric: metric.into(),
            maximize: true,
        }
    }

    /// True when `a` is strictly better than `b` (NaN is never better).
    fn better(&self, a: f64, b: f64) -> bool {
        if self.maximize { a > b } else { a < b }
    }
}

/// Asynchronous successive halving (Li et al., as Ray Tune's `ASHAScheduler`): rungs at
/// `grace_epochs · η^k`; a trial reaching a rung continues only if its objective is in the
/// best `1/η` of the values recorded at that rung so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Asha {
    /// The first rung (epochs every trial gets).
    pub grace_epochs: usize,
    /// The reduction factor η (keep `1/η` at each rung).
    pub reduction_factor: usize,
}

impl Default for Asha {
    fn default() -> Self {
        Asha {
            grace_epochs: 1,
            reduction_factor: 3,
        }
    }
}

/// How to run a sweep.
#[derive(Clone)]
pub struct SweepOptions {
    /// The experiment of the parent run and its trials.
    pub experiment: String,
    /// The parent run's name.
    pub name: Option<String>,
    /// What ranks trials.
    pub objective: Objective,
    /// Grid or random.
    pub search: Search,
    /// The seed of the draws and of every trial's training.
    pub seed: u64,
    /// Trials at once (needs a tokio runtime to run in parallel).
    pub max_concurrent: usize,
    /// Stop weak trials early.
    pub scheduler: Option<Asha>,
    /// Register the best trial's model under this name.
    pub register_best_as: Option<String>,
    /// Observers given to every trial (progress bars).
    pub observers: Vec<Arc<dyn TrainObserver>>,
}

impl SweepOptions {
    /// A grid sweep ranked by `objective`, one trial at a time.
    pub fn new(experiment: impl Into<String>, objective: Objective) -> Self {
        SweepOptions {
            experiment: experiment.into(),
            name: None,
            objective,
            search: Search::Grid,
            seed: 0,
            max_concurrent: 1,
            scheduler: None,
            register_best_as: None,
            observers: Vec::new(),
        }
    }

    /// Sets the search.
    pub fn search(mut self, search: Search) -> Self {
        self.search = search;
        self
    }

    /// Sets the concurrency limit.
    pub fn max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = n.max(1);
        self
    }

    /// Uses the ASHA scheduler.
    pub fn asha(mut self, asha: Asha) -> Self {
        self.scheduler = Some(asha);
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Gives `observer` to every trial.
    pub fn observe(mut self, observer: Arc<dyn TrainObserver>) -> Self {
        self.observers.push(observer);
        self
    }

    /// Registers the best trial's model.
    pub fn register_best_as(mut self, name: impl Into<String>) -> Self {
        self.register_best_as = Some(name.into());
        self
    }
}

/// One trial's outcome.
#[derive(Clone, Debug)]
pub struct TrialResult {
    /// Its index in the trial list.
    pub index: usize,
    /// Its child run.
    pub run_id: RunId,
    /// Its parameters.
    pub params: TrialParams,
    /// The objective's value (`None` when the model did not report it).
    pub objective: Option<f64>,
    /// How its training ended (`Stopped` when the scheduler pruned it).
    pub completion: Completion,
    /// Epochs trained.
    pub epochs: usize,
    /// Its model package.
    pub package: Digest,
}

/// The outcome of a sweep.
#[derive(Clone, Debug)]
pub struct SweepReport {
    /// The parent run.
    pub parent: RunId,
    /// Every trial, in index order.
    pub trials: Vec<TrialResult>,
    /// The index of the best trial in `trials`.
    pub best: Option<usize>,
    /// The registered version of the best model, when asked for.
    pub version: Option<ModelVersion>,
}

impl SweepReport {
    /// The best trial.
    pub fn best(&self) -> Option<&TrialResult> {
        self.best.map(|i| &self.trials[i])
    }
}

/// Builds a trainer for a trial's parameters.
pub type TrainerBuilder = Arc<dyn Fn(&TrialParams) -> Result<Arc<dyn Trainer>> + Send + Sync>;

/// The rung records shared by the ASHA observers of one sweep.
#[derive(Debug, Default)]
struct Rungs {
    recorded: BTreeMap<usize, Vec<f64>>,
}

struct AshaObserver {
    asha: Asha,
    objective: Objective,
    rungs: Arc<Mutex<Rungs>>,
}

impl AshaObserver {
    fn is_rung(&self, epoch: usize) -> bool {
        let eta = self.asha.reduction_factor.max(2);
        let mut r = self.asha.grace_epochs.max(1);
        while r < epoch {
            r *= eta;
        }
        r == epoch
    }
}

impl TrainObserver for AshaObserver {
    fn on_epoch_end(&self, epoch: usize, metrics: &BTreeMap<String, f64>) -> EpochDecision {
        let Some(value) = metrics.get(&self.objective.metric).copied() else {
            return EpochDecision::Continue;
        };
        if !self.is_rung(epoch) {
            return EpochDecision::Continue;
        }
        let Ok(mut rungs) = self.rungs.lock() else {
            return EpochDecision::Continue;
        };
        let recorded = rungs.recorded.entry(epoch).or_default();
        recorded.push(value);
        // Keep the best 1/η: stop when more than a 1/η share of the recorded values
        // beat this one.
        let eta = self.asha.reduction_factor.max(2) as f64;
        let better = recorded
            .iter()
            .filter(|v| self.objective.better(**v, value))
            .count() as f64;
        let keep = (recorded.len() as f64 / eta).floor().max(1.0);
        if better >= keep {
            EpochDecision::Stop(format!(
                "asha: {} = {value} not in the best 1/{eta} at epoch {epoch}",
                self.objective.metric
            ))
        } else {
            EpochDecision::Continue
        }
    }
}

/// Runs a sweep: a parent run, one child run per trial, the best trial reported on the
/// parent (`best_<metric>`, tag `mlops.best_run`) and optionally registered.
pub async fn run_sweep(
    factory: &Factory,
    space: &SearchSpace,
    build: TrainerBuilder,
    data: &TrainingData,
    options: SweepOptions,
) -> Result<SweepReport> {
    let trials = match &options.search {
        Search::Grid => space.grid()?,
        Search::Random { trials } => space.random(*trials, options.seed)?,
    };
    if trials.is_empty() {
        return Err(Error::invalid("sweep", "no trials", "at least one trial"));
    }
    let tracker = factory.tracker();
    let experiment = factory.experiment(&options.experiment).await?;
    let mut create = CreateRunOptions::new(experiment);
    create.run_name = options.name.clone();
    create.tags = vec![Tag::new("mlops.sweep", "parent")];
    let parent = tracker.create_run(create).await?.run_id;
    let search = serde_json::to_string(&options.search).unwrap_or_default();
    let space_json = serde_json::to_string(space).unwrap_or_default();
    tracker
        .log_batch(
            &parent,
            &[],
            &[
                Param::new("sweep.search", search),
                Param::new("sweep.space", space_json),
                Param::new("sweep.trials", trials.len()),
                Param::new("sweep.objective", &options.objective.metric),
                Param::new("sweep.max_concurrent", options.max_concurrent),
                Param::new(
                    "sweep.scheduler",
                    serde_json::to_string(&options.scheduler).unwrap_or_default(),
                ),
            ],
            &[],
        )
        .await?;

    let rungs = Arc::new(Mutex::new(Rungs::default()));
    let runs = futures::stream::iter(trials.into_iter().enumerate().map(|(index, params)| {
        let build = build.clone();
        let rungs = rungs.clone();
        let options = &options;
        async move {
            let trainer = build(&params)?;
            let mut train = TrainOptions::new(options.experiment.clone())
                .run_name(format!("trial-{index}"))
                .seed(options.seed)
                .parent(parent);
            train.tags.push(Tag::new("mlops.sweep", "trial"));
            train.tags.push(Tag::new("mlops.trial", index.to_string()));
            train.params = params
                .iter()
                .map(|(k, v)| Param::new(format!("trial.{k}"), v.to_string()))
                .collect();
            train.observers.extend(options.observers.iter().cloned());
            if let Some(asha) = &options.scheduler {
                train = train.observe(Arc::new(AshaObserver {
                    asha: asha.clone(),
                    objective: options.objective.clone(),
                    rungs,
                }));
            }
            let outcome = factory.train(trainer, data.clone(), train).await?;
            Ok::<_, Error>(TrialResult {
                index,
                run_id: outcome.run_id,
                objective: outcome
                    .model
                    .metrics
                    .get(&options.objective.metric)
                    .copied(),
                completion: outcome.model.completion,
                epochs: outcome.model.epochs,
                package: outcome.package,
                params,
            })
        }
    }))
    .buffer_unordered(options.max_concurrent.max(1))
    .collect::<Vec<_>>()
    .await;

    let mut results = Vec::with_capacity(runs.len());
    let mut first_error = None;
    for r in runs {
        match r {
            Ok(t) => results.push(t),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        let _ = tracker
            .set_tag(&parent, &Tag::new("mlops.error", e.to_string()))
            .await;
        let _ = tracker.end_run(&parent, RunStatus::Failed).await;
        return Err(e);
    }
    results.sort_by_key(|t| t.index);
    let best = results
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.objective.filter(|v| !v.is_nan()).map(|v| (i, v)))
        .fold(None::<(usize, f64)>, |acc, (i, v)| match acc {
            Some((_, b)) if !options.objective.better(v, b) => acc,
            _ => Some((i, v)),
        });
    let mut metrics = vec![Metric::new(
        "trials_pruned",
        results
            .iter()
            .filter(|t| matches!(t.completion, Completion::Stopped(_)))
            .count() as f64,
        0,
    )];
    let mut tags = Vec::new();
    if let Some((i, v)) = best {
        metrics.push(Metric::new(
            format!("best_{}", options.objective.metric),
            v,
            0,
        ));
        tags.push(Tag::new("mlops.best_run", results[i].run_id.to_string()));
        tags.push(Tag::new("mlops.best_trial", i.to_string()));
    }
    tracker.log_batch(&parent, &metrics, &[], &tags).await?;
    let version = match (&options.register_best_as, best) {
        (Some(name), Some((i, _))) => {
            let t = &results[i];
            let trainer = build(&t.params)?;
            Some(
                factory
                    .register(name, &t.run_id, trainer.name(), t.package)
                    .await?,
            )
        }
        _ => None,
    };
    tracker.end_run(&parent, RunStatus::Finished).await?;
    Ok(SweepReport {
        parent,
        trials: results,
        best: best.map(|(i, _)| i),
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_enumerates_every_combination_in_order() {
        let space = SearchSpace::new()
            .param("a", Domain::choice([1, 2]))
            .param("b", Domain::choice(["x", "y", "z"]));
        let g = space.grid().unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g[0]["a"], 1);
        assert_eq!(g[0]["b"], "x");
        assert_eq!(g[5]["a"], 2);
        assert_eq!(g[5]["b"], "z");
        let bad = SearchSpace::new().param(
            "lr",
            Domain::Uniform {
                low: 0.0,
                high: 1.0,
            },
        );
        assert!(
            bad.grid()
                .unwrap_err()
                .to_string()
                .contains("random search")
        );
    }

    #[test]
    fn random_draws_stay_in_their_domains_and_repeat_with_the_seed() {
        let space = SearchSpace::new()
            .param(
                "lr",
                Domain::LogUniform {
                    low: 1e-4,
                    high: 1e-1,
                },
            )
            .param("n", Domain::Int { low: 2, high: 4 })
            .param(
                "p",
                Domain::Uniform {
                    low: 0.0,
                    high: 0.5,
                },
            );
        let a = space.random(50, 7).unwrap();
        assert_eq!(a, space.random(50, 7).unwrap());
        assert_ne!(a, space.random(50, 8).unwrap());
        for t in &a {
            let lr = t["lr"].as_f64().unwrap();
            assert!((1e-4..1e-1).contains(&lr));
            assert!((2..=4).contains(&t["n"].as_i64().unwrap()));
            assert!((0.0..0.5).contains(&t["p"].as_f64().unwrap()));
        }
        let bad = SearchSpace::new().param(
            "lr",
            Domain::LogUniform {
                low: 0.0,
                high: 1.0,
            },
        );
        assert!(bad.random(1, 0).is_err());
    }

    #[test]
    fn asha_keeps_the_best_third_at_each_rung() {
        let obs = AshaObserver {
            asha: Asha {
                grace_epochs: 1,
                reduction_factor: 3,
            },
            objective: Objective::minimize("val_loss"),
            rungs: Arc::default(),
        };
        assert!(obs.is_rung(1) && obs.is_rung(3) && obs.is_rung(9) && !obs.is_rung(2));
        let m = |v: f64| BTreeMap::from([("val_loss".to_owned(), v)]);
        assert_eq!(obs.on_epoch_end(1, &m(0.5)), EpochDecision::Continue);
        assert_eq!(obs.on_epoch_end(1, &m(0.4)), EpochDecision::Continue);
        // A third value worse than the best third is stopped.
        assert!(matches!(
            obs.on_epoch_end(1, &m(0.9)),
            EpochDecision::Stop(_)
        ));
        assert_eq!(obs.on_epoch_end(2, &m(0.9)), EpochDecision::Continue);
    }
}

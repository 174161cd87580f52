//! The default [`Evaluator`]: a named evaluation suite (its metrics, slices, fairness and
//! business measures, and gates) over an Arrow table of labels, predictions and scores,
//! judged alone or against the champion under identical conditions, and recorded in a
//! [`Tracker`] run.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
//! use mlops_core::EvalColumns;
//! use mlops_eval::evaluator::{EvaluationSuite, Slice};
//! use mlops_eval::gates::{Direction, GateRule};
//!
//! let table = RecordBatch::try_from_iter([
//!     ("y", Arc::new(Int64Array::from(vec![0, 0, 1, 1, 1, 0])) as _),
//!     ("pred", Arc::new(Int64Array::from(vec![0, 1, 1, 1, 0, 0])) as _),
//!     ("p1", Arc::new(Float64Array::from(vec![0.1, 0.6, 0.8, 0.9, 0.4, 0.2])) as _),
//!     ("age", Arc::new(Int64Array::from(vec![70, 30, 80, 25, 40, 66])) as _),
//!     ("plan", Arc::new(StringArray::from(vec!["a", "a", "b", "b", "b", "a"])) as _),
//! ])?;
//! let suite = EvaluationSuite {
//!     name: "offline".into(),
//!     slices: vec![Slice::column("plan"), Slice::numeric("senior", "age", |a| a >= 65.0)],
//!     gates: vec![GateRule::threshold("roc_auc", Direction::GreaterIsBetter, 0.5)],
//!     bootstrap: None, // point estimates; Some(..) judges the gates on 95% bounds
//!     ..Default::default()
//! };
//! let columns = EvalColumns { label: "y".into(), prediction: "pred".into(), score: Some("p1".into()) };
//! let result = suite.run(&table, &columns)?;
//! assert!((result.metrics["roc_auc"] - 8.0 / 9.0).abs() < 1e-15);
//! assert_eq!(result.metrics["slice/senior/true/count"], 3.0);
//! assert!(result.gates.passed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod columns;
mod custom;
mod metric_set;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use arrow_array::RecordBatch;
use mlops_core::{
    Error, EvalColumns, EvalResult, Evaluator, Metric, Param, Result, RunId, Tag, Tracker, now_ms,
};
use serde::{Deserialize, Serialize};

use crate::business::{CostModel, cost_per_1k_predictions, latency};
use crate::compare::{
    BootstrapOptions, BootstrapResult, EvalManifest, McNemarResult, check_comparable, mcnemar,
    percentile,
};
use crate::fairness::{
    Aggregate, GroupReport, Method, demographic_parity_difference, demographic_parity_ratio,
    equalized_odds_difference, equalized_odds_ratio, group_rates,
};
use crate::gates::{GateReport, GateRule, Observation, evaluate_gate};
use crate::metrics::{self, BinStrategy, BinaryCurve, ConfusionOptions};
use crate::report::{Curve, Report};
use crate::rng::Rng;
use crate::slices::SliceValue;
use columns::Columns;
pub use custom::{CustomMetric, MetricFn, MetricInput};
pub use metric_set::catalogue;

/// What kind of model a suite evaluates, which decides its metric catalogue
/// ([`catalogue`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Task {
    /// Labels 0/1 with an optional score for class 1: accuracy, balanced accuracy,
    /// precision, recall, F1, MCC, Cohen's kappa, and with scores ROC AUC, average
    /// precision, log loss, Brier and ECE.
    #[default]
    Binary,
    /// Integer labels: accuracy, balanced accuracy, macro precision/recall/F1, weighted F1,
    /// MCC, Cohen's kappa, and with per-class probabilities one-vs-rest (macro and
    /// weighted) and one-vs-one ROC AUC, log loss, Brier, top-2 accuracy and ECE.
    Multiclass,
    /// Float targets and predictions: MAE, MSE, RMSE, MAPE, median absolute error, R²,
    /// explained variance.
    Regression,
}

/// Rows of a table selected by a predicate, one flag per row.
pub type RowPredicate = Arc<dyn Fn(&RecordBatch) -> Result<Vec<bool>> + Send + Sync>;

/// A way to cut the evaluation table into segments; every metric of the suite is computed
/// on each segment.
#[derive(Clone)]
pub enum Slice {
    /// One segment per distinct value of a string, boolean or integer column (nulls form
    /// the segment `null`).
    Column(String),
    /// The named segment where a predicate holds (`name=true`) and where it does not
    /// (`name=false`).
    Predicate {
        /// The slice's name in metric keys.
        name: String,
        /// One flag per row.
        predicate: RowPredicate,
    },
}

impl Slice {
    /// Segments by the values of `column`.
    pub fn column(column: impl Into<String>) -> Self {
        Slice::Column(column.into())
    }

    /// Segments by any predicate over the table.
    pub fn predicate(
        name: impl Into<String>,
        predicate: impl Fn(&RecordBatch) -> Result<Vec<bool>> + Send + Sync + 'static,
    ) -> Self {
        Slice::Predicate {
            name: name.into(),
            predicate: Arc::new(predicate),
        }
    }

    /// Segments by a condition on a numeric column (`age >= 65`); nulls and NaN are
    /// outside the condition.
    pub fn numeric(
        name: impl Into<String>,
        column: impl Into<String>,
        condition: impl Fn(f64) -> bool + Send + Sync + 'static,
    ) -> Self {
        let column = column.into();
        Slice::predicate(name, move |batch| {
            let values = columns::floats_or_nan(batch, &column, "slice")?;
            Ok(values
                .into_iter()
                .map(|v| !v.is_nan() && condition(v))
                .collect())
        })
    }

    /// The slice's name in metric keys.
    pub fn name(&self) -> &str {
        match self {
            Slice::Column(c) => c,
            Slice::Predicate { name, .. } => name,
        }
    }

    /// The segments and their rows, in segment order.
    fn segments(&self, batch: &RecordBatch) -> Result<BTreeMap<String, Vec<usize>>> {
        let mut rows: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        match self {
            Slice::Column(c) => {
                for (i, s) in columns::segments(batch, c)?.into_iter().enumerate() {
                    rows.entry(s).or_default().push(i);
                }
            }
            Slice::Predicate { name, predicate } => {
                let flags = predicate(batch)?;
                if flags.len() != batch.num_rows() {
                    return Err(Error::invalid(
                        format!("predicate of slice {name:?}"),
                        format!("{} flags", flags.len()),
                        format!("one per row ({})", batch.num_rows()),
                    ));
                }
                for (i, f) in flags.into_iter().enumerate() {
                    rows.entry(f.to_string()).or_default().push(i);
                }
            }
        }
        Ok(rows)
    }
}

impl fmt::Debug for Slice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Slice::Column(c) => f.debug_tuple("Column").field(c).finish(),
            Slice::Predicate { name, .. } => {
                f.debug_struct("Predicate").field("name", name).finish()
            }
        }
    }
}

/// Fairness measures of a binary classifier across the groups of a sensitive column,
/// with fairlearn's semantics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FairnessSpec {
    /// The sensitive column (string, boolean or integer).
    pub sensitive: String,
    /// Groups with fewer rows are reported but not judged.
    pub min_group_size: u64,
    /// How disparities are measured.
    pub method: Method,
    /// How equalized odds combines TPR and FPR.
    pub aggregate: Aggregate,
}

impl FairnessSpec {
    /// fairlearn's defaults (between groups, worst case) with a minimum group size.
    pub fn new(sensitive: impl Into<String>, min_group_size: u64) -> Self {
        FairnessSpec {
            sensitive: sensitive.into(),
            min_group_size,
            method: Method::BetweenGroups,
            aggregate: Aggregate::WorstCase,
        }
    }
}

/// Business measures read from the evaluation table itself (a prediction log).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BusinessSpec {
    /// Per-prediction latency in milliseconds; nulls (unmeasured rows) are skipped.
    /// Gives `latency_p50_ms`, `latency_p95_ms`, `latency_p99_ms` and `latency_mean_ms`.
    pub latency_ms: Option<String>,
    /// The cost model and the column of per-prediction usage it prices (CPU or GPU
    /// seconds, or tokens); nulls are skipped. Gives `cost_per_1k_usd`.
    pub cost: Option<(CostModel, String)>,
}

/// A named evaluation suite: which metrics, which slices, fairness and business measures,
/// and the gates that decide promotion.
#[derive(Clone, Debug)]
pub struct EvaluationSuite {
    /// The suite's name (metric keys are recorded under `eval/<name>/`).
    pub name: String,
    /// Which metric catalogue.
    pub task: Task,
    /// The metrics to compute, by catalogue name; empty means every metric the inputs
    /// allow.
    pub metrics: Vec<String>,
    /// Multiclass: the classes of the probability columns, in order (default: `0..K` with
    /// probabilities, else the sorted labels and predictions of the whole table).
    pub classes: Option<Vec<i64>>,
    /// Multiclass: one probability column per class, for wide tables (`proba_0..`); the
    /// alternative is [`EvalColumns::score`] naming one list column.
    pub probability_columns: Vec<String>,
    /// Segments on which every metric is computed again, reported as
    /// `slice/<slice>/<segment>/<metric>` with `slice/<slice>/<segment>/count` (characters
    /// a metric key does not allow become `_`).
    pub slices: Vec<Slice>,
    /// Segments with fewer rows get their count but no metrics.
    pub min_slice_size: u64,
    /// Fairness across the groups of a sensitive column (binary suites), reported as
    /// `fairness/<column>/demographic_parity_difference` (and `_ratio`,
    /// `equalized_odds_difference`, `equalized_odds_ratio`) with per-group
    /// `fairness/<column>/group/<group>/count|selection_rate|tpr|fpr`.
    pub fairness: Option<FairnessSpec>,
    /// Latency and cost measured in the same evaluation.
    pub business: Option<BusinessSpec>,
    /// Gates judged on every computed value (metrics, slices, fairness, business).
    pub gates: Vec<GateRule>,
    /// Bootstrap intervals for the gated catalogue metrics (the candidate's interval, and
    /// with a champion the paired interval of the difference); gates then judge the
    /// conservative bound. `None` judges point estimates.
    pub bootstrap: Option<BootstrapOptions>,
    /// Metrics the catalogue lacks, computed on the table, every slice and resample.
    pub custom_metrics: Vec<CustomMetric>,
}

impl Default for EvaluationSuite {
    fn default() -> Self {
        EvaluationSuite {
            name: "default".into(),
            task: Task::Binary,
            metrics: Vec::new(),
            classes: None,
            probability_columns: Vec::new(),
            slices: Vec::new(),
            min_slice_size: 1,
            fairness: None,
            business: None,
            gates: Vec::new(),
            bootstrap: Some(BootstrapOptions::default()),
            custom_metrics: Vec::new(),
        }
    }
}

/// One model's predictions on the evaluation data, with what they ran on.
#[derive(Clone, Copy, Debug)]
pub struct Scored<'a> {
    /// The table of labels, predictions, scores and slice columns.
    pub batch: &'a RecordBatch,
    /// Which columns hold what.
    pub columns: &'a EvalColumns,
    /// The conditions of the evaluation.
    pub manifest: &'a EvalManifest,
}

/// Every metric of the suite on one segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SliceResult {
    /// The slice's name.
    pub slice: String,
    /// The segment's value.
    pub segment: String,
    /// Rows in the segment.
    pub count: u64,
    /// Metric values (none below the suite's minimum slice size).
    pub metrics: BTreeMap<String, f64>,
    /// Metrics undefined on the segment, with the reason (e.g. ROC AUC of one class).
    pub errors: BTreeMap<String, String>,
}

/// The champion's side of a comparison on the same rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChampionComparison {
    /// The champion's manifest.
    pub manifest: EvalManifest,
    /// The champion's values, keyed as the candidate's.
    pub metrics: BTreeMap<String, f64>,
    /// Paired bootstrap of `candidate - champion` for each gated catalogue metric.
    pub differences: BTreeMap<String, BootstrapResult>,
    /// McNemar's test on per-row correctness (classification).
    pub mcnemar: Option<McNemarResult>,
}

/// Everything one suite run measured and decided.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuiteResult {
    /// The suite's name.
    pub suite: String,
    /// Rows evaluated.
    pub rows: u64,
    /// The conditions, when known.
    pub manifest: Option<EvalManifest>,
    /// Every value: catalogue metrics, `slice/…`, `fairness/…`, and business measures.
    pub metrics: BTreeMap<String, f64>,
    /// Catalogue metrics undefined on the whole table, with the reason.
    pub errors: BTreeMap<String, String>,
    /// Bootstrap interval of each gated catalogue metric of the candidate.
    pub intervals: BTreeMap<String, (f64, f64)>,
    /// Every metric per segment.
    pub slices: Vec<SliceResult>,
    /// Per-group rates, when fairness was asked for.
    pub fairness: Option<GroupReport>,
    /// The champion's values and the paired comparison, when compared.
    pub champion: Option<ChampionComparison>,
    /// The verdict of every gate rule.
    pub gates: GateReport,
}

/// A table read once: its columns, the multiclass classes and the metrics to compute.
struct Prepared {
    data: Columns,
    classes: Vec<i64>,
    names: Vec<String>,
}

/// What one model's table gave, before gates.
struct Measured {
    metrics: BTreeMap<String, f64>,
    errors: BTreeMap<String, String>,
    slices: Vec<SliceResult>,
    fairness: Option<GroupReport>,
}

impl EvaluationSuite {
    fn prepare(&self, batch: &RecordBatch, columns: &EvalColumns) -> Result<Prepared> {
        if batch.num_rows() == 0 {
            return Err(Error::invalid(
                "evaluation table",
                "0 rows",
                "at least one row",
            ));
        }
        let data = match self.task {
            Task::Regression => Columns::Values {
                y: columns::floats(batch, &columns.label, "target")?,
                p: columns::floats(batch, &columns.prediction, "prediction")?,
            },
            Task::Binary => Columns::Classes {
                y: columns::labels(batch, &columns.label, "label")?,
                p: columns::labels(batch, &columns.prediction, "prediction")?,
                s: match &columns.score {
                    Some(s) => Some(columns::floats(batch, s, "score")?),
                    None => None,
                },
                proba: None,
            },
            Task::Multiclass => {
                let scored = columns.score.is_some() || !self.probability_columns.is_empty();
                Columns::Classes {
                    y: columns::labels(batch, &columns.label, "label")?,
                    p: columns::labels(batch, &columns.prediction, "prediction")?,
                    s: None,
                    proba: if scored {
                        Some(columns::probabilities(
                            batch,
                            columns.score.as_deref(),
                            &self.probability_columns,
                        )?)
                    } else {
                        None
                    },
                }
            }
        };
        let classes = match (&self.classes, &data) {
            (Some(c), _) => {
                let mut sorted = c.clone();
                sorted.sort_unstable();
                sorted.dedup();
                if sorted != *c {
                    return Err(Error::invalid(
                        "suite classes",
                        format!("{c:?}"),
                        "distinct classes in increasing order",
                    ));
                }
                sorted
            }
            (
                None,
                Columns::Classes {
                    proba: Some((_, k)),
                    ..
                },
            ) => (0..*k as i64).collect(),
            (None, Columns::Classes { y, p, .. }) => {
                let mut c: Vec<i64> = y.iter().chain(p).copied().collect();
                c.sort_unstable();
                c.dedup();
                c
            }
            (None, Columns::Values { .. }) => Vec::new(),
        };
        if let Columns::Classes {
            proba: Some((_, k)),
            ..
        } = &data
            && *k != classes.len()
        {
            return Err(Error::invalid(
                "probability columns",
                format!("{k} per row"),
                format!("one per class ({} classes)", classes.len()),
            ));
        }
        let scored = matches!(
            &data,
            Columns::Classes { s: Some(_), .. } | Columns::Classes { proba: Some(_), .. }
        );
        let mut names = metric_set::resolve(self.task, &self.metrics, scored)?;
        for c in &self.custom_metrics {
            if catalogue(self.task).contains(&c.name.as_str()) || names.contains(&c.name) {
                return Err(Error::invalid(
                    "custom metric name",
                    &c.name,
                    "a name that is neither a catalogue metric nor another custom metric",
                ));
            }
            names.push(c.name.clone());
        }
        Ok(Prepared {
            data,
            classes,
            names,
        })
    }

    /// One metric: a custom one by name, else the catalogue's.
    fn compute_one(&self, name: &str, data: &Columns, classes: &[i64]) -> Result<f64> {
        match self.custom_metrics.iter().find(|c| c.name == name) {
            Some(c) => (c.func)(&MetricInput::of(data)),
            None => metric_set::compute(name, self.task, data, classes),
        }
    }

    /// Computes `names` on `data`; undefined metrics (an error, or NaN as scikit-learn
    /// gives for ROC AUC of one class) go to the error map.
    fn compute(
        &self,
        names: &[String],
        data: &Columns,
        classes: &[i64],
    ) -> (BTreeMap<String, f64>, BTreeMap<String, String>) {
        let mut values = BTreeMap::new();
        let mut errors = BTreeMap::new();
        for name in names {
            match self.compute_one(name, data, classes) {
                Ok(v) if v.is_nan() => {
                    errors.insert(name.clone(), "undefined on these rows (NaN)".into());
                }
                Ok(v) => {
                    values.insert(name.clone(), v);
                }
                Err(e) => {
                    errors.insert(name.clone(), e.to_string());
                }
            }
        }
        (values, errors)
    }

    /// Everything but the gates, for one model's table.
    fn measure(&self, batch: &RecordBatch, prep: &Prepared) -> Result<Measured> {
        let (mut metrics, errors) = self.compute(&prep.names, &prep.data, &prep.classes);
        let mut slices = Vec::new();
        for slice in &self.slices {
            for (segment, rows) in slice.segments(batch)? {
                let count = rows.len() as u64;
                let (values, errs) = if count >= self.min_slice_size.max(1) {
                    self.compute(&prep.names, &prep.data.subset(&rows), &prep.classes)
                } else {
                    Default::default()
                };
                let key = format!("slice/{}/{}", key_part(slice.name()), key_part(&segment));
                metrics.insert(format!("{key}/count"), count as f64);
                for (m, v) in &values {
                    metrics.insert(format!("{key}/{m}"), *v);
                }
                slices.push(SliceResult {
                    slice: slice.name().to_owned(),
                    segment,
                    count,
                    metrics: values,
                    errors: errs,
                });
            }
        }
        let fairness = match &self.fairness {
            None => None,
            Some(spec) => {
                let Columns::Classes { y, p, .. } = &prep.data else {
                    return Err(Error::invalid(
                        "fairness",
                        format!("{:?} suite", self.task),
                        "a binary classification suite",
                    ));
                };
                let groups = columns::segments(batch, &spec.sensitive)?;
                let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
                let report = group_rates(y, p, &groups, 1, spec.min_group_size)?;
                let col = key_part(&spec.sensitive);
                let key = |m: &str| format!("fairness/{col}/{m}");
                metrics.insert(
                    key("demographic_parity_difference"),
                    demographic_parity_difference(&report, spec.method),
                );
                metrics.insert(
                    key("demographic_parity_ratio"),
                    demographic_parity_ratio(&report, spec.method),
                );
                metrics.insert(
                    key("equalized_odds_difference"),
                    equalized_odds_difference(&report, spec.method, spec.aggregate),
                );
                metrics.insert(
                    key("equalized_odds_ratio"),
                    equalized_odds_ratio(&report, spec.method, spec.aggregate),
                );
                for (g, r) in &report.by_group {
                    let k = format!("fairness/{col}/group/{}", key_part(g));
                    metrics.insert(format!("{k}/count"), r.count as f64);
                    metrics.insert(format!("{k}/selection_rate"), r.selection_rate);
                    metrics.insert(format!("{k}/tpr"), r.tpr);
                    metrics.insert(format!("{k}/fpr"), r.fpr);
                }
                Some(report)
            }
        };
        if let Some(b) = &self.business {
            let measured = |col: &str, what| -> Result<Vec<f64>> {
                Ok(columns::floats_or_nan(batch, col, what)?
                    .into_iter()
                    .filter(|v| !v.is_nan())
                    .collect())
            };
            if let Some(col) = &b.latency_ms {
                let l = latency(&measured(col, "latency")?)?;
                metrics.insert("latency_p50_ms".into(), l.p50_ms);
                metrics.insert("latency_p95_ms".into(), l.p95_ms);
                metrics.insert("latency_p99_ms".into(), l.p99_ms);
                metrics.insert("latency_mean_ms".into(), l.mean_ms);
            }
            if let Some((model, col)) = &b.cost {
                metrics.insert(
                    "cost_per_1k_usd".into(),
                    cost_per_1k_predictions(*model, &measured(col, "usage")?)?,
                );
            }
        }
        Ok(Measured {
            metrics,
            errors,
            slices,
            fairness,
        })
    }

    /// The metrics (catalogue or custom) some gate judges, which get bootstrap intervals.
    fn gated(&self, prep: &Prepared) -> Vec<String> {
        let mut out: Vec<String> = self
            .gates
            .iter()
            .map(|g| g.metric.clone())
            .filter(|m| prep.names.contains(m))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Resamples rows with replacement (the same draws as
    /// [`paired_bootstrap`](crate::compare::paired_bootstrap)) and computes `names` for each
    /// model on each resample: `[metric][model][resample]`.
    fn resample(
        &self,
        options: BootstrapOptions,
        names: &[String],
        models: &[&Prepared],
    ) -> Result<Vec<Vec<Vec<f64>>>> {
        let n = models[0].data.len();
        options.check()?;
        let mut out = vec![vec![Vec::with_capacity(options.resamples); models.len()]; names.len()];
        let mut rng = Rng::new(options.seed);
        let mut idx = vec![0usize; n];
        for r in 0..options.resamples {
            for i in idx.iter_mut() {
                *i = rng.below(n as u64) as usize;
            }
            for (m, prep) in models.iter().enumerate() {
                let data = prep.data.subset(&idx);
                for (k, name) in names.iter().enumerate() {
                    let v = self.compute_one(name, &data, &prep.classes).map_err(|e| {
                        Error::invalid(
                            format!("bootstrap resample {r} of metric {name:?}"),
                            e.to_string(),
                            "a metric defined on every resample (more rows, or no interval)",
                        )
                    })?;
                    out[k][m].push(v);
                }
            }
        }
        Ok(out)
    }

    /// Runs the suite on one model's table: metrics, slices, fairness, business measures,
    /// intervals of the gated metrics, and the gates (threshold rules only; change rules
    /// pass without a champion).
    pub fn run(&self, batch: &RecordBatch, columns: &EvalColumns) -> Result<SuiteResult> {
        let prep = self.prepare(batch, columns)?;
        let measured = self.measure(batch, &prep)?;
        let mut intervals = BTreeMap::new();
        if let Some(options) = self.bootstrap {
            let names = self.gated(&prep);
            if !names.is_empty() {
                let draws = self.resample(options, &names, &[&prep])?;
                for (name, mut d) in names.into_iter().zip(draws) {
                    intervals.insert(name, interval(&mut d[0], options.confidence));
                }
            }
        }
        let gates = self.judge(&measured.metrics, &intervals, None);
        Ok(SuiteResult {
            suite: self.name.clone(),
            rows: batch.num_rows() as u64,
            manifest: None,
            metrics: measured.metrics,
            errors: measured.errors,
            intervals,
            slices: measured.slices,
            fairness: measured.fairness,
            champion: None,
            gates,
        })
    }

    /// Runs the suite on a candidate and the champion under identical conditions: the
    /// manifests must differ only in the model and both tables must hold the same labels
    /// row for row, else the comparison is refused with an error naming what differs. The
    /// gated catalogue metrics get paired bootstrap intervals of the difference, and
    /// change rules are judged on their conservative bound.
    pub fn compare(&self, candidate: Scored<'_>, champion: Scored<'_>) -> Result<SuiteResult> {
        check_comparable(candidate.manifest, champion.manifest)?;
        let cand = self.prepare(candidate.batch, candidate.columns)?;
        let champ = self.prepare(champion.batch, champion.columns)?;
        same_labels(&cand.data, &champ.data)?;
        let cand_m = self.measure(candidate.batch, &cand)?;
        let champ_m = self.measure(champion.batch, &champ)?;
        let mut intervals = BTreeMap::new();
        let mut differences = BTreeMap::new();
        if let Some(options) = self.bootstrap {
            let names = self.gated(&cand);
            if !names.is_empty() {
                let draws = self.resample(options, &names, &[&cand, &champ])?;
                for (name, d) in names.into_iter().zip(draws) {
                    let [mut a, b]: [Vec<f64>; 2] = d.try_into().map_err(|_| {
                        Error::invalid("bootstrap draws", "model count", "two models")
                    })?;
                    let mut diff: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x - y).collect();
                    let (lo, hi) = interval(&mut diff, options.confidence);
                    intervals.insert(name.clone(), interval(&mut a, options.confidence));
                    let (c, h) = (
                        cand_m.metrics.get(&name).copied().unwrap_or(f64::NAN),
                        champ_m.metrics.get(&name).copied().unwrap_or(f64::NAN),
                    );
                    differences.insert(
                        name,
                        BootstrapResult {
                            candidate: c,
                            champion: h,
                            difference: c - h,
                            ci_low: lo,
                            ci_high: hi,
                            confidence: options.confidence,
                            resamples: options.resamples,
                            seed: options.seed,
                        },
                    );
                }
            }
        }
        let mcnemar = match (&cand.data, &champ.data) {
            (Columns::Classes { y, p: pa, .. }, Columns::Classes { p: pb, .. }) => {
                let right = |p: &[i64]| p.iter().zip(y).map(|(a, b)| a == b).collect::<Vec<_>>();
                Some(mcnemar(&right(pa), &right(pb))?)
            }
            _ => None,
        };
        let champion = ChampionComparison {
            manifest: champion.manifest.clone(),
            metrics: champ_m.metrics,
            differences,
            mcnemar,
        };
        let gates = self.judge(&cand_m.metrics, &intervals, Some(&champion));
        Ok(SuiteResult {
            suite: self.name.clone(),
            rows: candidate.batch.num_rows() as u64,
            manifest: Some(candidate.manifest.clone()),
            metrics: cand_m.metrics,
            errors: cand_m.errors,
            intervals,
            slices: cand_m.slices,
            fairness: cand_m.fairness,
            champion: Some(champion),
            gates,
        })
    }

    fn judge(
        &self,
        metrics: &BTreeMap<String, f64>,
        intervals: &BTreeMap<String, (f64, f64)>,
        champion: Option<&ChampionComparison>,
    ) -> GateReport {
        let obs = metrics
            .iter()
            .map(|(k, &v)| {
                (
                    k.clone(),
                    Observation {
                        candidate: v,
                        candidate_ci: intervals.get(k).copied(),
                        champion: champion.and_then(|c| c.metrics.get(k).copied()),
                        difference_ci: champion
                            .and_then(|c| c.differences.get(k))
                            .map(|b| (b.ci_low, b.ci_high)),
                    },
                )
            })
            .collect();
        evaluate_gate(&self.gates, &obs)
    }

    /// Every value the suite computes on one table (metrics, slices, fairness, business),
    /// without gates or intervals.
    pub fn metrics(
        &self,
        batch: &RecordBatch,
        columns: &EvalColumns,
    ) -> Result<BTreeMap<String, f64>> {
        let prep = self.prepare(batch, columns)?;
        Ok(self.measure(batch, &prep)?.metrics)
    }

    /// The report of a run or comparison: the result's metrics and gates, the champion's
    /// metrics, ROC, precision-recall and reliability curves (binary suites with scores)
    /// for the candidate and the champion, the confusion matrix, and the first slice's
    /// primary metric (accuracy, or MAE for regression).
    pub fn report(
        &self,
        title: impl Into<String>,
        result: &SuiteResult,
        candidate: (&RecordBatch, &EvalColumns),
        champion: Option<(&RecordBatch, &EvalColumns)>,
    ) -> Result<Report> {
        let cand = self.prepare(candidate.0, candidate.1)?;
        let champ = champion.map(|(b, c)| self.prepare(b, c)).transpose()?;
        let mut models = vec![("candidate", &cand)];
        if let Some(c) = &champ {
            models.push(("champion", c));
        }
        let (mut roc, mut pr, mut calibration) = (Vec::new(), Vec::new(), Vec::new());
        for (name, prep) in &models {
            if let (Task::Binary, Columns::Classes { y, s: Some(s), .. }) = (self.task, &prep.data)
            {
                let curve = BinaryCurve::new(y, s, 1, None)?;
                let series = |points| Curve {
                    name: (*name).into(),
                    points,
                };
                roc.push(series(curve.roc_points()));
                pr.push(series(curve.pr_points()));
                if s.iter().all(|v| (0.0..=1.0).contains(v)) {
                    let c = metrics::calibration_curve(y, s, None, 10, BinStrategy::Uniform)?;
                    calibration.push(series(c.prob_pred.into_iter().zip(c.prob_true).collect()));
                }
            }
        }
        let confusion = match &cand.data {
            Columns::Classes { y, p, .. } => {
                let cm = metrics::confusion_matrix(
                    y,
                    p,
                    &ConfusionOptions {
                        labels: Some(&cand.classes),
                        ..Default::default()
                    },
                )?;
                Some((
                    cand.classes.clone(),
                    cm.iter()
                        .map(|r| r.iter().map(|&v| v as u64).collect())
                        .collect(),
                ))
            }
            Columns::Values { .. } => None,
        };
        let primary = if self.task == Task::Regression {
            "mae"
        } else {
            "accuracy"
        };
        let slices = self.slices.first().map(|first| {
            let values = result
                .slices
                .iter()
                .filter(|s| s.slice == first.name())
                .map(|s| {
                    (
                        s.segment.clone(),
                        SliceValue {
                            count: s.count,
                            value: s.metrics.get(primary).copied(),
                            error: s.errors.get(primary).cloned(),
                        },
                    )
                })
                .collect();
            (format!("{primary} by {}", first.name()), values)
        });
        Ok(Report {
            title: title.into(),
            manifest: result.manifest.clone(),
            metrics: result.metrics.clone(),
            champion: result.champion.as_ref().map(|c| c.metrics.clone()),
            gates: Some(result.gates.clone()),
            roc,
            pr,
            calibration,
            confusion,
            slices,
        })
    }
}

/// A slice, segment or group name as one part of a metric key: characters a tracker key
/// does not allow (and `/`) become `_`.
fn key_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-. :".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The percentile interval of bootstrap draws (sorted in place).
fn interval(draws: &mut [f64], confidence: f64) -> (f64, f64) {
    draws.sort_by(f64::total_cmp);
    let alpha = (1.0 - confidence) / 2.0;
    (percentile(draws, alpha), percentile(draws, 1.0 - alpha))
}

/// Refuses to compare two tables whose labels differ (different rows or order).
fn same_labels(a: &Columns, b: &Columns) -> Result<()> {
    let differ = |row: Option<usize>, a: String, b: String| {
        Err(Error::Conflict(format!(
            "candidate and champion were not evaluated on the same rows: {} candidate {a}, champion {b}",
            row.map_or("row count:".to_owned(), |r| format!("label at row {r}:"))
        )))
    };
    if a.len() != b.len() {
        return differ(None, a.len().to_string(), b.len().to_string());
    }
    match (a, b) {
        (Columns::Classes { y: ya, .. }, Columns::Classes { y: yb, .. }) => {
            match ya.iter().zip(yb).position(|(x, y)| x != y) {
                Some(r) => differ(Some(r), ya[r].to_string(), yb[r].to_string()),
                None => Ok(()),
            }
        }
        (Columns::Values { y: ya, .. }, Columns::Values { y: yb, .. }) => {
            match ya
                .iter()
                .zip(yb)
                .position(|(x, y)| x.to_bits() != y.to_bits())
            {
                Some(r) => differ(Some(r), ya[r].to_string(), yb[r].to_string()),
                None => Ok(()),
            }
        }
        _ => differ(None, "labels".into(), "values".into()),
    }
}

impl Evaluator for EvaluationSuite {
    fn name(&self) -> &str {
        &self.name
    }

    fn evaluate(&self, batch: &RecordBatch, columns: &EvalColumns) -> Result<EvalResult> {
        let result = self.run(batch, columns)?;
        Ok(EvalResult {
            metrics: result.metrics,
            passed: (!self.gates.is_empty()).then_some(result.gates.passed),
        })
    }
}

/// Records a suite result in a run: every value as a metric `eval/<suite>/<key>`, the
/// candidate's intervals as `…/<key>/ci_low|ci_high`, the champion's values as
/// `eval/<suite>/champion/<key>` with the difference's interval as
/// `…/<key>/diff_ci_low|diff_ci_high` and McNemar's p-value, the manifest as params, and
/// the gate report (every rule with its values and reason) as a JSON tag. The whole
/// [`SuiteResult`] serializes to JSON for an artifact or a report (it outgrows a tag).
pub async fn record_evaluation(
    tracker: &dyn Tracker,
    run: &RunId,
    result: &SuiteResult,
) -> Result<()> {
    let ts = now_ms();
    let suite = &result.suite;
    let mut points = Vec::new();
    let mut point = |key: String, value: f64| {
        points.push(Metric {
            key,
            value,
            timestamp: ts,
            step: 0,
        })
    };
    for (k, &v) in &result.metrics {
        point(format!("eval/{suite}/{k}"), v);
    }
    for (k, &(lo, hi)) in &result.intervals {
        point(format!("eval/{suite}/{k}/ci_low"), lo);
        point(format!("eval/{suite}/{k}/ci_high"), hi);
    }
    if let Some(c) = &result.champion {
        for (k, &v) in &c.metrics {
            point(format!("eval/{suite}/champion/{k}"), v);
        }
        for (k, b) in &c.differences {
            point(format!("eval/{suite}/{k}/diff_ci_low"), b.ci_low);
            point(format!("eval/{suite}/{k}/diff_ci_high"), b.ci_high);
        }
        if let Some(m) = &c.mcnemar {
            point(format!("eval/{suite}/mcnemar_p_value"), m.p_value);
        }
    }
    let mut params = Vec::new();
    if let Some(m) = &result.manifest {
        params.extend([
            Param::new(format!("eval/{suite}/dataset_id"), &m.dataset_id),
            Param::new(format!("eval/{suite}/split"), &m.split),
            Param::new(format!("eval/{suite}/seed"), m.seed),
            Param::new(format!("eval/{suite}/metrics_version"), &m.metrics_version),
            Param::new(format!("eval/{suite}/model_digest"), &m.model_digest),
        ]);
    }
    let tags = vec![
        Tag::new(format!("eval/{suite}/gates"), to_json(&result.gates)?),
        Tag::new(
            format!("eval/{suite}/passed"),
            result.gates.passed.to_string(),
        ),
    ];
    tracker.log_batch(run, &points, &params, &tags).await
}

fn to_json(value: &GateReport) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::invalid("evaluation result", "JSON", e.to_string()))
}

#[cfg(test)]
mod tests;

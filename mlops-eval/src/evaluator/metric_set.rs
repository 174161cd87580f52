//! The metric catalogue of a suite: which metrics each task has, and how each is computed
//! by name, so a suite computes all of them, a chosen subset, or (for resamples) only the
//! ones its gates judge.
//!
//! Conventions: `zero_division = 0`; binary metrics score the class 1 and read the
//! positive-class score; multiclass metrics score the suite's classes (by default the sorted
//! union of labels and predictions, or `0..K` with `K` probability columns), so a slice
//! where a class is absent is averaged over the same classes as the whole table.

use mlops_core::{Error, Result};

use super::Task;
use super::columns::Columns;
use crate::metrics::{
    self, ApOptions, Average, BrierOptions, CalibrationNorm, KappaOptions, LogLossOptions,
    MultiClass, PrfOptions, RocAucOptions, ScoreMatrix, TopKOptions, ZeroDivision,
};

/// Metrics of binary suites that need only labels and predictions.
const BINARY: &[&str] = &[
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "matthews_corrcoef",
    "cohen_kappa",
];
/// Metrics of binary suites that need the positive-class score.
const BINARY_SCORED: &[&str] = &["roc_auc", "average_precision", "log_loss", "brier", "ece"];
/// Metrics of multiclass suites that need only labels and predictions.
const MULTICLASS: &[&str] = &[
    "accuracy",
    "balanced_accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "f1_weighted",
    "matthews_corrcoef",
    "cohen_kappa",
];
/// Metrics of multiclass suites that need per-class probabilities.
const MULTICLASS_SCORED: &[&str] = &[
    "roc_auc_ovr",
    "roc_auc_ovr_weighted",
    "roc_auc_ovo",
    "log_loss",
    "brier",
    "top_2_accuracy",
    "ece",
];
/// Regression metrics.
const REGRESSION: &[&str] = &[
    "mae",
    "mse",
    "rmse",
    "mape",
    "median_absolute_error",
    "r2",
    "explained_variance",
];

/// Every metric a task offers, scored ones included.
pub fn catalogue(task: Task) -> Vec<&'static str> {
    match task {
        Task::Binary => [BINARY, BINARY_SCORED].concat(),
        Task::Multiclass => [MULTICLASS, MULTICLASS_SCORED].concat(),
        Task::Regression => REGRESSION.to_vec(),
    }
}

/// The metrics to compute: the requested ones (each must be in the catalogue), or the
/// whole catalogue less the scored metrics when there are no scores.
pub(crate) fn resolve(task: Task, requested: &[String], scored: bool) -> Result<Vec<String>> {
    let all = catalogue(task);
    if requested.is_empty() {
        let scored_names: &[&str] = match task {
            Task::Binary => BINARY_SCORED,
            Task::Multiclass => MULTICLASS_SCORED,
            Task::Regression => &[],
        };
        return Ok(all
            .into_iter()
            .filter(|m| scored || !scored_names.contains(m))
            .map(str::to_owned)
            .collect());
    }
    for m in requested {
        if !all.contains(&m.as_str()) {
            return Err(Error::invalid(
                "suite metric",
                m,
                format!("one of the {task:?} metrics: {}", all.join(", ")),
            ));
        }
    }
    Ok(requested.to_vec())
}

/// Computes one metric of the catalogue on `data`. `classes` are the multiclass columns'
/// classes in order.
pub(crate) fn compute(name: &str, task: Task, data: &Columns, classes: &[i64]) -> Result<f64> {
    match (task, data) {
        (Task::Regression, Columns::Values { y, p }) => regression(name, y, p),
        (Task::Binary, Columns::Classes { y, p, s, .. }) => binary(name, y, p, s.as_deref()),
        (Task::Multiclass, Columns::Classes { y, p, proba, .. }) => multiclass(
            name,
            y,
            p,
            proba.as_ref().map(|(d, k)| (&d[..], *k)),
            classes,
        ),
        _ => Err(Error::invalid(
            "suite columns",
            format!("{task:?} suite"),
            "labels for classification, values for regression",
        )),
    }
}

fn regression(name: &str, y: &[f64], p: &[f64]) -> Result<f64> {
    match name {
        "mae" => metrics::mean_absolute_error(y, p, None),
        "mse" => metrics::mean_squared_error(y, p, None),
        "rmse" => metrics::root_mean_squared_error(y, p, None),
        "mape" => metrics::mean_absolute_percentage_error(y, p, None),
        "median_absolute_error" => metrics::median_absolute_error(y, p, None),
        "r2" => metrics::r2_score(y, p, None, true),
        "explained_variance" => metrics::explained_variance_score(y, p, None, true),
        other => unknown(other, Task::Regression),
    }
}

fn binary(name: &str, y: &[i64], p: &[i64], s: Option<&[f64]>) -> Result<f64> {
    let prf = PrfOptions {
        average: Average::Binary,
        zero_division: ZeroDivision::Zero,
        ..Default::default()
    };
    let score = || {
        s.map(ScoreMatrix::column).ok_or_else(|| {
            Error::invalid(
                format!("metric {name:?}"),
                "no score column",
                "EvalColumns::score naming the positive-class score",
            )
        })
    };
    match name {
        "accuracy" => metrics::accuracy_score(y, p, true, None),
        "balanced_accuracy" => metrics::balanced_accuracy_score(y, p, None, false),
        "precision" => metrics::precision_score(y, p, &prf),
        "recall" => metrics::recall_score(y, p, &prf),
        "f1" => metrics::f1_score(y, p, &prf),
        "matthews_corrcoef" => metrics::matthews_corrcoef(y, p, None),
        "cohen_kappa" => metrics::cohen_kappa_score(y, p, &KappaOptions::default()),
        "roc_auc" => metrics::roc_auc_score(y, score()?, &RocAucOptions::default()),
        "average_precision" => metrics::average_precision_score(y, score()?, &ApOptions::default()),
        "log_loss" => metrics::log_loss(
            y,
            score()?,
            &LogLossOptions {
                labels: Some(&[0, 1]),
                ..Default::default()
            },
        ),
        "brier" => metrics::brier_score_loss(
            y,
            score()?,
            &BrierOptions {
                pos_label: Some(1),
                ..Default::default()
            },
        ),
        "ece" => metrics::expected_calibration_error(y, score()?, 10, CalibrationNorm::L1),
        other => unknown(other, Task::Binary),
    }
}

fn multiclass(
    name: &str,
    y: &[i64],
    p: &[i64],
    proba: Option<(&[f64], usize)>,
    classes: &[i64],
) -> Result<f64> {
    let prf = |average| PrfOptions {
        average,
        zero_division: ZeroDivision::Zero,
        labels: Some(classes),
        ..Default::default()
    };
    let scores = || match proba {
        Some((d, k)) => ScoreMatrix::new(d, k),
        None => Err(Error::invalid(
            format!("metric {name:?}"),
            "no probabilities",
            "EvalColumns::score naming a list column, or the suite's probability_columns",
        )),
    };
    let auc = |average, multi_class| -> Result<f64> {
        metrics::roc_auc_score(
            y,
            scores()?,
            &RocAucOptions {
                average,
                multi_class,
                labels: Some(classes),
                ..Default::default()
            },
        )
    };
    match name {
        "accuracy" => metrics::accuracy_score(y, p, true, None),
        "balanced_accuracy" => metrics::balanced_accuracy_score(y, p, None, false),
        "precision_macro" => metrics::precision_score(y, p, &prf(Average::Macro)),
        "recall_macro" => metrics::recall_score(y, p, &prf(Average::Macro)),
        "f1_macro" => metrics::f1_score(y, p, &prf(Average::Macro)),
        "f1_weighted" => metrics::f1_score(y, p, &prf(Average::Weighted)),
        "matthews_corrcoef" => metrics::matthews_corrcoef(y, p, None),
        "cohen_kappa" => metrics::cohen_kappa_score(
            y,
            p,
            &KappaOptions {
                labels: Some(classes),
                ..Default::default()
            },
        ),
        "roc_auc_ovr" => auc(Average::Macro, MultiClass::Ovr),
        "roc_auc_ovr_weighted" => auc(Average::Weighted, MultiClass::Ovr),
        "roc_auc_ovo" => auc(Average::Macro, MultiClass::Ovo),
        "log_loss" => metrics::log_loss(
            y,
            scores()?,
            &LogLossOptions {
                labels: Some(classes),
                ..Default::default()
            },
        ),
        "brier" => metrics::brier_score_loss(
            y,
            scores()?,
            &BrierOptions {
                labels: Some(classes),
                ..Default::default()
            },
        ),
        "top_2_accuracy" => metrics::top_k_accuracy_score(
            y,
            scores()?,
            2,
            &TopKOptions {
                labels: Some(classes),
                ..Default::default()
            },
        ),
        "ece" => {
            // Top-label ECE reads the arg-max as the class index: map labels to indices.
            let idx: Vec<i64> = y
                .iter()
                .map(|v| classes.binary_search(v).map_or(-1, |i| i as i64))
                .collect();
            metrics::expected_calibration_error(&idx, scores()?, 10, CalibrationNorm::L1)
        }
        other => unknown(other, Task::Multiclass),
    }
}

fn unknown(name: &str, task: Task) -> Result<f64> {
    Err(Error::invalid(
        "suite metric",
        name,
        format!(
            "one of the {task:?} metrics: {}",
            catalogue(task).join(", ")
        ),
    ))
}

//! Metrics and drift statistics with scikit-learn's and scipy's names and signatures, so a
//! user can swap an import. Inputs are any Python sequences (lists, NumPy arrays); the work
//! runs with the GIL released.

use mlops_eval::drift::{Alternative, KsMethod, KsOptions};
use mlops_eval::metrics::{self, Average, PrfOptions, ScoreMatrix, ZeroDivision};
use pyo3::prelude::*;

use crate::arrow::{Floats, Ints};
use crate::errors::to_py;

fn invalid(what: &'static str, value: &str, expected: &'static str) -> PyErr {
    to_py(mlops_core::Error::invalid(what, value, expected))
}

fn average(a: &str) -> PyResult<Average> {
    Ok(match a {
        "binary" => Average::Binary,
        "micro" => Average::Micro,
        "macro" => Average::Macro,
        "weighted" => Average::Weighted,
        other => {
            return Err(invalid(
                "average",
                other,
                "\"binary\", \"micro\", \"macro\" or \"weighted\"",
            ));
        }
    })
}

fn zero_division(z: &Bound<'_, PyAny>) -> PyResult<ZeroDivision> {
    if let Ok(s) = z.extract::<String>() {
        return if s == "warn" {
            Ok(ZeroDivision::Warn)
        } else {
            Err(invalid("zero_division", &s, "\"warn\", 0, 1 or nan"))
        };
    }
    let v: f64 = z.extract()?;
    if v.is_nan() {
        Ok(ZeroDivision::NaN)
    } else if v == 0.0 {
        Ok(ZeroDivision::Zero)
    } else if v == 1.0 {
        Ok(ZeroDivision::One)
    } else {
        Err(invalid(
            "zero_division",
            &v.to_string(),
            "\"warn\", 0, 1 or nan",
        ))
    }
}

macro_rules! prf {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[pyfunction]
        #[pyo3(signature = (y_true, y_pred, *, average = "binary", pos_label = 1, sample_weight = None, zero_division = None))]
        pub fn $name(
            py: Python<'_>,
            y_true: Ints,
            y_pred: Ints,
            average: &str,
            pos_label: i64,
            sample_weight: Option<Floats>,
            zero_division: Option<&Bound<'_, PyAny>>,
        ) -> PyResult<f64> {
            let zd = match zero_division {
                Some(z) => self::zero_division(z)?,
                None => ZeroDivision::Warn,
            };
            let avg = self::average(average)?;
            py.detach(|| {
                let opts = PrfOptions { average: avg, zero_division: zd, sample_weight: sample_weight.as_ref().map(Floats::as_slice), pos_label, ..Default::default() };
                metrics::$name(y_true.as_slice(), y_pred.as_slice(), &opts)
            })
            .map_err(to_py)
        }
    };
}

prf!(precision_score, "scikit-learn's `precision_score`.");
prf!(recall_score, "scikit-learn's `recall_score`.");
prf!(f1_score, "scikit-learn's `f1_score`.");

/// scikit-learn's `accuracy_score`.
#[pyfunction]
#[pyo3(signature = (y_true, y_pred, *, normalize = true, sample_weight = None))]
pub fn accuracy_score(
    py: Python<'_>,
    y_true: Ints,
    y_pred: Ints,
    normalize: bool,
    sample_weight: Option<Floats>,
) -> PyResult<f64> {
    py.detach(|| {
        metrics::accuracy_score(
            y_true.as_slice(),
            y_pred.as_slice(),
            normalize,
            sample_weight.as_ref().map(Floats::as_slice),
        )
    })
    .map_err(to_py)
}

/// scikit-learn's `roc_auc_score` for a binary target and the positive class's scores.
#[pyfunction]
#[pyo3(signature = (y_true, y_score, *, sample_weight = None))]
pub fn roc_auc_score(
    py: Python<'_>,
    y_true: Ints,
    y_score: Floats,
    sample_weight: Option<Floats>,
) -> PyResult<f64> {
    py.detach(|| {
        let opts = metrics::RocAucOptions {
            sample_weight: sample_weight.as_ref().map(Floats::as_slice),
            ..Default::default()
        };
        metrics::roc_auc_score(
            y_true.as_slice(),
            ScoreMatrix::column(y_score.as_slice()),
            &opts,
        )
    })
    .map_err(to_py)
}

/// scikit-learn's `log_loss` for a binary target and the positive class's probabilities.
#[pyfunction]
#[pyo3(signature = (y_true, y_pred, *, sample_weight = None))]
pub fn log_loss(
    py: Python<'_>,
    y_true: Ints,
    y_pred: Floats,
    sample_weight: Option<Floats>,
) -> PyResult<f64> {
    py.detach(|| {
        let opts = metrics::LogLossOptions {
            sample_weight: sample_weight.as_ref().map(Floats::as_slice),
            ..Default::default()
        };
        metrics::log_loss(
            y_true.as_slice(),
            ScoreMatrix::column(y_pred.as_slice()),
            &opts,
        )
    })
    .map_err(to_py)
}

/// scikit-learn's `mean_absolute_error`.
#[pyfunction]
#[pyo3(signature = (y_true, y_pred, *, sample_weight = None))]
pub fn mean_absolute_error(
    py: Python<'_>,
    y_true: Floats,
    y_pred: Floats,
    sample_weight: Option<Floats>,
) -> PyResult<f64> {
    py.detach(|| {
        metrics::mean_absolute_error(
            y_true.as_slice(),
            y_pred.as_slice(),
            sample_weight.as_ref().map(Floats::as_slice),
        )
    })
    .map_err(to_py)
}

/// scikit-learn's `r2_score`.
#[pyfunction]
#[pyo3(signature = (y_true, y_pred, *, sample_weight = None, force_finite = true))]
pub fn r2_score(
    py: Python<'_>,
    y_true: Floats,
    y_pred: Floats,
    sample_weight: Option<Floats>,
    force_finite: bool,
) -> PyResult<f64> {
    py.detach(|| {
        metrics::r2_score(
            y_true.as_slice(),
            y_pred.as_slice(),
            sample_weight.as_ref().map(Floats::as_slice),
            force_finite,
        )
    })
    .map_err(to_py)
}

/// scipy's `ks_2samp`: `(statistic, pvalue)`.
#[pyfunction]
#[pyo3(signature = (data1, data2, alternative = "two-sided", method = "auto"))]
pub fn ks_2samp(
    py: Python<'_>,
    data1: Floats,
    data2: Floats,
    alternative: &str,
    method: &str,
) -> PyResult<(f64, f64)> {
    let alternative = match alternative {
        "two-sided" => Alternative::TwoSided,
        "less" => Alternative::Less,
        "greater" => Alternative::Greater,
        other => {
            return Err(invalid(
                "alternative",
                other,
                "\"two-sided\", \"less\" or \"greater\"",
            ));
        }
    };
    let method = match method {
        "auto" => KsMethod::Auto,
        "exact" => KsMethod::Exact,
        "asymp" => KsMethod::Asymp,
        other => return Err(invalid("method", other, "\"auto\", \"exact\" or \"asymp\"")),
    };
    let r = py
        .detach(|| {
            mlops_eval::drift::ks_2samp(
                data1.as_slice(),
                data2.as_slice(),
                &KsOptions {
                    alternative,
                    method,
                },
            )
        })
        .map_err(to_py)?;
    Ok((r.statistic, r.p_value))
}

/// scipy's `wasserstein_distance` (unweighted).
#[pyfunction]
pub fn wasserstein_distance(py: Python<'_>, u_values: Floats, v_values: Floats) -> PyResult<f64> {
    py.detach(|| mlops_eval::drift::wasserstein_distance(u_values.as_slice(), v_values.as_slice()))
        .map_err(to_py)
}

macro_rules! regression {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[pyfunction]
        #[pyo3(signature = (y_true, y_pred, *, sample_weight = None))]
        pub fn $name(
            py: Python<'_>,
            y_true: Floats,
            y_pred: Floats,
            sample_weight: Option<Floats>,
        ) -> PyResult<f64> {
            py.detach(|| {
                metrics::$name(
                    y_true.as_slice(),
                    y_pred.as_slice(),
                    sample_weight.as_ref().map(Floats::as_slice),
                )
            })
            .map_err(to_py)
        }
    };
}

regression!(mean_squared_error, "scikit-learn's `mean_squared_error`.");
regression!(
    root_mean_squared_error,
    "scikit-learn's `root_mean_squared_error`."
);
regression!(
    mean_absolute_percentage_error,
    "scikit-learn's `mean_absolute_percentage_error`."
);
regression!(
    median_absolute_error,
    "scikit-learn's `median_absolute_error`."
);

/// scikit-learn's `explained_variance_score`.
#[pyfunction]
#[pyo3(signature = (y_true, y_pred, *, sample_weight = None, force_finite = true))]
pub fn explained_variance_score(
    py: Python<'_>,
    y_true: Floats,
    y_pred: Floats,
    sample_weight: Option<Floats>,
    force_finite: bool,
) -> PyResult<f64> {
    py.detach(|| {
        metrics::explained_variance_score(
            y_true.as_slice(),
            y_pred.as_slice(),
            sample_weight.as_ref().map(Floats::as_slice),
            force_finite,
        )
    })
    .map_err(to_py)
}

/// scikit-learn's `balanced_accuracy_score`.
#[pyfunction]
#[pyo3(signature = (y_true, y_pred, *, sample_weight = None, adjusted = false))]
pub fn balanced_accuracy_score(
    py: Python<'_>,
    y_true: Ints,
    y_pred: Ints,
    sample_weight: Option<Floats>,
    adjusted: bool,
) -> PyResult<f64> {
    py.detach(|| {
        metrics::balanced_accuracy_score(
            y_true.as_slice(),
            y_pred.as_slice(),
            sample_weight.as_ref().map(Floats::as_slice),
            adjusted,
        )
    })
    .map_err(to_py)
}

/// scikit-learn's `matthews_corrcoef`.
#[pyfunction]
#[pyo3(signature = (y_true, y_pred, *, sample_weight = None))]
pub fn matthews_corrcoef(
    py: Python<'_>,
    y_true: Ints,
    y_pred: Ints,
    sample_weight: Option<Floats>,
) -> PyResult<f64> {
    py.detach(|| {
        metrics::matthews_corrcoef(
            y_true.as_slice(),
            y_pred.as_slice(),
            sample_weight.as_ref().map(Floats::as_slice),
        )
    })
    .map_err(to_py)
}

/// scikit-learn's `cohen_kappa_score` (`weights`: None, "linear" or "quadratic").
#[pyfunction]
#[pyo3(signature = (y1, y2, *, weights = None, sample_weight = None))]
pub fn cohen_kappa_score(
    py: Python<'_>,
    y1: Ints,
    y2: Ints,
    weights: Option<&str>,
    sample_weight: Option<Floats>,
) -> PyResult<f64> {
    let weights = match weights {
        None => metrics::KappaWeights::None,
        Some("linear") => metrics::KappaWeights::Linear,
        Some("quadratic") => metrics::KappaWeights::Quadratic,
        Some(other) => {
            return Err(invalid(
                "weights",
                other,
                "None, \"linear\" or \"quadratic\"",
            ));
        }
    };
    py.detach(|| {
        let opts = metrics::KappaOptions {
            weights,
            sample_weight: sample_weight.as_ref().map(Floats::as_slice),
            ..Default::default()
        };
        metrics::cohen_kappa_score(y1.as_slice(), y2.as_slice(), &opts)
    })
    .map_err(to_py)
}

/// scikit-learn's `average_precision_score` for a binary target.
#[pyfunction]
#[pyo3(signature = (y_true, y_score, *, pos_label = 1, sample_weight = None))]
pub fn average_precision_score(
    py: Python<'_>,
    y_true: Ints,
    y_score: Floats,
    pos_label: i64,
    sample_weight: Option<Floats>,
) -> PyResult<f64> {
    py.detach(|| {
        let opts = metrics::ApOptions {
            pos_label,
            sample_weight: sample_weight.as_ref().map(Floats::as_slice),
            ..Default::default()
        };
        metrics::average_precision_score(
            y_true.as_slice(),
            ScoreMatrix::column(y_score.as_slice()),
            &opts,
        )
    })
    .map_err(to_py)
}

/// scikit-learn's `brier_score_loss` for a binary target and the positive class's
/// probabilities.
#[pyfunction]
#[pyo3(signature = (y_true, y_proba, *, sample_weight = None, pos_label = None))]
pub fn brier_score_loss(
    py: Python<'_>,
    y_true: Ints,
    y_proba: Floats,
    sample_weight: Option<Floats>,
    pos_label: Option<i64>,
) -> PyResult<f64> {
    py.detach(|| {
        let opts = metrics::BrierOptions {
            sample_weight: sample_weight.as_ref().map(Floats::as_slice),
            pos_label,
            ..Default::default()
        };
        metrics::brier_score_loss(
            y_true.as_slice(),
            ScoreMatrix::column(y_proba.as_slice()),
            &opts,
        )
    })
    .map_err(to_py)
}

/// scikit-learn's `confusion_matrix`: rows are true labels, columns predictions, over the
/// sorted union of labels (or `labels`).
#[pyfunction]
#[pyo3(signature = (y_true, y_pred, *, labels = None, sample_weight = None))]
pub fn confusion_matrix(
    py: Python<'_>,
    y_true: Ints,
    y_pred: Ints,
    labels: Option<Vec<i64>>,
    sample_weight: Option<Floats>,
) -> PyResult<Vec<Vec<f64>>> {
    py.detach(|| {
        let opts = metrics::ConfusionOptions {
            labels: labels.as_deref(),
            sample_weight: sample_weight.as_ref().map(Floats::as_slice),
            normalize: None,
        };
        metrics::confusion_matrix(y_true.as_slice(), y_pred.as_slice(), &opts)
    })
    .map_err(to_py)
}

/// Registers the functions in the extension module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(accuracy_score, m)?)?;
    m.add_function(wrap_pyfunction!(precision_score, m)?)?;
    m.add_function(wrap_pyfunction!(recall_score, m)?)?;
    m.add_function(wrap_pyfunction!(f1_score, m)?)?;
    m.add_function(wrap_pyfunction!(roc_auc_score, m)?)?;
    m.add_function(wrap_pyfunction!(log_loss, m)?)?;
    m.add_function(wrap_pyfunction!(mean_absolute_error, m)?)?;
    m.add_function(wrap_pyfunction!(r2_score, m)?)?;
    m.add_function(wrap_pyfunction!(mean_squared_error, m)?)?;
    m.add_function(wrap_pyfunction!(root_mean_squared_error, m)?)?;
    m.add_function(wrap_pyfunction!(mean_absolute_percentage_error, m)?)?;
    m.add_function(wrap_pyfunction!(median_absolute_error, m)?)?;
    m.add_function(wrap_pyfunction!(explained_variance_score, m)?)?;
    m.add_function(wrap_pyfunction!(balanced_accuracy_score, m)?)?;
    m.add_function(wrap_pyfunction!(matthews_corrcoef, m)?)?;
    m.add_function(wrap_pyfunction!(cohen_kappa_score, m)?)?;
    m.add_function(wrap_pyfunction!(average_precision_score, m)?)?;
    m.add_function(wrap_pyfunction!(brier_score_loss, m)?)?;
    m.add_function(wrap_pyfunction!(confusion_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(ks_2samp, m)?)?;
    m.add_function(wrap_pyfunction!(wasserstein_distance, m)?)?;
    Ok(())
}

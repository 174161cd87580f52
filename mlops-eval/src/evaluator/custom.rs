//! Custom metrics: functions the catalogue lacks, computed by the suite on the whole table,
//! every slice and every bootstrap resample, exactly like the built-in metrics.

use std::fmt;
use std::sync::Arc;

use mlops_core::Result;

use super::columns::Columns;

/// The rows a custom metric sees (the whole table, a slice or a resample).
#[derive(Clone, Copy, Debug)]
pub enum MetricInput<'a> {
    /// Classification: labels, predictions, and the positive-class score when the suite
    /// has a score column (binary).
    Classes {
        /// True labels.
        y_true: &'a [i64],
        /// Predicted labels.
        y_pred: &'a [i64],
        /// Positive-class scores.
        score: Option<&'a [f64]>,
    },
    /// Regression: targets and predictions.
    Values {
        /// True values.
        y_true: &'a [f64],
        /// Predicted values.
        y_pred: &'a [f64],
    },
}

impl<'a> MetricInput<'a> {
    pub(crate) fn of(data: &'a Columns) -> Self {
        match data {
            Columns::Classes { y, p, s, .. } => MetricInput::Classes {
                y_true: y,
                y_pred: p,
                score: s.as_deref(),
            },
            Columns::Values { y, p } => MetricInput::Values {
                y_true: y,
                y_pred: p,
            },
        }
    }
}

/// The function of a [`CustomMetric`].
pub type MetricFn = Arc<dyn Fn(&MetricInput<'_>) -> Result<f64> + Send + Sync>;

/// A named metric the catalogue lacks (a business KPI, a metric from another library, a
/// Python callable through `mlops-py`). Its name must not be a catalogue name; gates judge
/// it by name and get bootstrap intervals for it like for any metric.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Int64Array, RecordBatch};
/// use mlops_core::EvalColumns;
/// use mlops_eval::evaluator::{CustomMetric, EvaluationSuite, MetricInput};
///
/// // The share of positives the model flags: a business measure.
/// let flagged = CustomMetric::new("flag_rate", |rows: &MetricInput<'_>| {
///     let MetricInput::Classes { y_pred, .. } = rows else { unreachable!() };
///     Ok(y_pred.iter().filter(|p| **p == 1).count() as f64 / y_pred.len() as f64)
/// });
/// let suite = EvaluationSuite { custom_metrics: vec![flagged], bootstrap: None, ..Default::default() };
/// let table = RecordBatch::try_from_iter([
///     ("y", Arc::new(Int64Array::from(vec![0, 1, 1, 0])) as _),
///     ("pred", Arc::new(Int64Array::from(vec![0, 1, 1, 1])) as _),
/// ])?;
/// let columns = EvalColumns { label: "y".into(), prediction: "pred".into(), score: None };
/// assert_eq!(suite.run(&table, &columns)?.metrics["flag_rate"], 0.75);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct CustomMetric {
    /// The metric's name (its key in the results).
    pub name: String,
    /// Computes it.
    pub func: MetricFn,
}

impl CustomMetric {
    /// A metric `name` computed by `func`.
    pub fn new(
        name: impl Into<String>,
        func: impl Fn(&MetricInput<'_>) -> Result<f64> + Send + Sync + 'static,
    ) -> Self {
        CustomMetric {
            name: name.into(),
            func: Arc::new(func),
        }
    }
}

impl fmt::Debug for CustomMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomMetric")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

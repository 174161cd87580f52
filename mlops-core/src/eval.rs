//! The [`Evaluator`] trait: scores predictions against labels.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Which columns of the evaluation table hold what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalColumns {
    /// True labels or targets.
    pub label: String,
    /// Predicted labels or values.
    pub prediction: String,
    /// Predicted scores or probabilities, if any.
    pub score: Option<String>,
}

/// The outcome of an evaluation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalResult {
    /// Metric values by name.
    pub metrics: BTreeMap<String, f64>,
    /// Whether every gate passed (`None` when no gate was evaluated).
    pub passed: Option<bool>,
}

/// Computes metrics over a table of labels and predictions. Compute-bound, so synchronous.
///
/// Object-safe: hold it as `Arc<dyn Evaluator>`.
pub trait Evaluator: Send + Sync {
    /// A short name.
    fn name(&self) -> &str;
    /// Evaluates one table.
    fn evaluate(&self, batch: &RecordBatch, columns: &EvalColumns) -> Result<EvalResult>;
}

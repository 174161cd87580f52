//! The [`DriftDetector`] trait: compares current data with a fitted reference.

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A fitted reference: whatever a detector keeps of the reference data (sorted values, a
/// sketch, bin edges), serializable so that it is fitted once and stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FittedReference {
    /// The detector that made it.
    pub detector: String,
    /// Its format version.
    pub version: u32,
    /// The detector's state.
    pub state: serde_json::Value,
}

/// The drift verdict for one column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnDrift {
    /// Column name.
    pub column: String,
    /// Method (`ks`, `psi`, ...).
    pub method: String,
    /// The statistic.
    pub statistic: f64,
    /// The p-value, where the method defines one.
    pub p_value: Option<f64>,
    /// Whether the column drifted.
    pub drifted: bool,
}

/// The drift verdict for a table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// Per column.
    pub columns: Vec<ColumnDrift>,
    /// Share of drifted columns.
    pub share_drifted: f64,
    /// Dataset verdict.
    pub drifted: bool,
}

/// Fits a reference once, then scores each window of current data at the window's own cost.
/// Compute-bound, so synchronous.
///
/// Object-safe: hold it as `Arc<dyn DriftDetector>`.
pub trait DriftDetector: Send + Sync {
    /// A short name.
    fn name(&self) -> &str;
    /// Fits the reference.
    fn fit(&self, reference: &RecordBatch) -> Result<FittedReference>;
    /// Scores current data against a fitted reference.
    fn score(&self, reference: &FittedReference, current: &RecordBatch) -> Result<DriftReport>;
}

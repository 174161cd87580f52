//! What the detector reports per column: the drift verdict with its effect size, and the
//! data-quality findings of the same pass.

use mlops_core::DriftReport;
use serde::{Deserialize, Serialize};

/// The drift of one column with the counts the core [`mlops_core::ColumnDrift`] has no room
/// for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnReport {
    /// Column name.
    pub column: String,
    /// How the column was read.
    pub kind: ColumnKind,
    /// Method used (`type_mismatch` when the current column cannot be compared).
    pub method: String,
    /// The test statistic or the distance (for an embedding column: the method's statistic,
    /// e.g. the domain classifier's ROC AUC; 0 and unused for a type mismatch).
    pub statistic: f64,
    /// The p-value, for tests.
    pub p_value: Option<f64>,
    /// Threshold applied.
    pub threshold: f64,
    /// Verdict: for a test, significant *and* an effect of at least `effect_floor`.
    pub drifted: bool,
    /// The effect size, whatever the method: numeric columns the Wasserstein distance
    /// normed by the reference std (σ units, Evidently's `wasserstein`, std floored at
    /// 0.001), categorical columns the Jensen-Shannon distance of the category proportions
    /// (natural log, in [0, √ln 2]). `None` for embedding columns and type mismatches.
    pub effect_size: Option<f64>,
    /// The effect floor the verdict applied (tests with calibrated alarms only).
    pub effect_floor: Option<f64>,
    /// The test was significant but the effect was below the floor: no alarm.
    pub below_min_effect: bool,
    /// Finite / non-null values in the reference.
    pub n_reference: u64,
    /// Finite / non-null values in current.
    pub n_current: u64,
    /// NaN, +inf, -inf and null counts in the reference.
    pub reference_missing: MissingCounts,
    /// NaN, +inf, -inf and null counts in current.
    pub current_missing: MissingCounts,
    /// Distinct current values never seen in the reference (categorical columns, and
    /// numeric columns scored on their values: at most 5 distinct).
    pub new_categories: u64,
    /// Data-quality findings.
    pub quality: ColumnQuality,
}

/// How a column was read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Integers and floats (also times of day and durations).
    #[default]
    Numeric,
    /// Timestamps and dates, tested as epoch numbers in the column's unit.
    Temporal,
    /// Strings, booleans, dictionary-encoded strings.
    Categorical,
    /// Fixed-size lists of floats.
    Embedding,
}

/// Values dropped before testing, counted apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingCounts {
    /// NaN values.
    pub nan: u64,
    /// +infinity.
    pub pos_inf: u64,
    /// -infinity.
    pub neg_inf: u64,
    /// Arrow nulls.
    pub null: u64,
}

/// Data-quality findings of one column, computed in the drift pass.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ColumnQuality {
    /// The reference's finite range `[min, max]` (numeric columns).
    pub reference_range: Option<(f64, f64)>,
    /// Current finite values below the reference minimum.
    pub below_range: u64,
    /// Current finite values above the reference maximum.
    pub above_range: u64,
    /// Current rows whose category the reference never had (categorical columns).
    pub new_category_rows: u64,
    /// Up to 10 of those categories, most frequent first.
    pub new_category_examples: Vec<String>,
    /// The current column's type differs from the reference's.
    pub type_mismatch: Option<TypeMismatch>,
    /// The histogram of [`DetectorOptions::confidence_column`](super::DetectorOptions).
    pub confidence: Option<ConfidenceHistogram>,
}

/// The current column's Arrow type differs from the reference's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeMismatch {
    /// The reference type, as Arrow prints it (`Int64`, `Utf8`, ...).
    pub reference: String,
    /// The current type.
    pub current: String,
    /// Both are read the same way (e.g. `Int64` and `Float64` are both numeric) and the
    /// column was scored; otherwise it was not, and counts as drifted.
    pub comparable: bool,
}

/// A histogram of prediction confidence over [0, 1] in 10 equal bins (`[0, 0.1)`, ...,
/// `[0.9, 1]`, numpy's edges and rule).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceHistogram {
    /// The 11 bin edges.
    pub edges: Vec<f64>,
    /// Reference counts per bin.
    pub reference: Vec<u64>,
    /// Current counts per bin.
    pub current: Vec<u64>,
    /// Finite reference values outside [0, 1].
    pub reference_outside: u64,
    /// Finite current values outside [0, 1].
    pub current_outside: u64,
}

/// Bins of [`ConfidenceHistogram`].
pub const CONFIDENCE_BINS: usize = 10;

/// The edges of [`ConfidenceHistogram`]: `numpy.histogram_bin_edges([0, 1], 10)`.
pub(crate) fn confidence_edges() -> Vec<f64> {
    crate::drift::binned::histogram_bin_edges(0.0, 1.0, CONFIDENCE_BINS)
}

/// Counts per confidence bin of finite values (numpy's `histogram` rule), and the count
/// outside [0, 1].
pub(crate) fn confidence_counts(values: &[f64]) -> (Vec<u64>, u64) {
    let counts = crate::drift::binned::histogram(values, &confidence_edges());
    let inside: u64 = counts.iter().sum();
    (counts, values.len() as u64 - inside)
}

/// A column the detector did not test, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedColumn {
    /// Column name.
    pub column: String,
    /// Its Arrow type.
    pub data_type: String,
    /// Why it was skipped.
    pub reason: String,
}

/// Everything one scoring pass found: per-column reports, the columns skipped, and the
/// core dataset verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftAnalysis {
    /// One report per tested column, in the reference's order.
    pub columns: Vec<ColumnReport>,
    /// Columns of the reference that were not tested (timestamps and dates, unsupported
    /// types) when no column list was given.
    pub skipped: Vec<SkippedColumn>,
    /// The dataset verdict.
    pub report: DriftReport,
}

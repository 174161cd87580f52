//! The methods, dataset rules and options of [`DefaultDriftDetector`](super::DefaultDriftDetector).

use serde::{Deserialize, Serialize};

use crate::drift::embedding::EmbeddingOptions;

/// A per-column drift method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftMethod {
    /// Evidently 0.7's default choice by column type, reference rows and distinct values
    /// (with [`Compat::Calibrated`], [`DriftMethod::Chi2Contingency`] where Evidently picks
    /// [`DriftMethod::Chisquare`]).
    #[default]
    Auto,
    /// Two-sample KS, p-value (`ks`, drift if p <= threshold).
    Ks,
    /// Wasserstein normed by the reference std (`wasserstein`, drift if >= threshold).
    Wasserstein,
    /// PSI on Evidently's bins (`psi`, drift if >= threshold).
    Psi,
    /// Jensen-Shannon distance, natural log, Evidently's bins (`jensenshannon`).
    JensenShannon,
    /// KL divergence on Evidently's bins (`kl_div`).
    KlDiv,
    /// Evidently's chi-square goodness of fit against the scaled reference (`chisquare`,
    /// p < threshold). It treats the reference as exact, so when the current window is not
    /// much smaller than the reference its statistic is inflated by `1 + n_cur / n_ref` and
    /// it alarms far more often than the threshold says (the detector's false-alarm table).
    Chisquare,
    /// Pearson's chi-square test of homogeneity on the 2 × k table of reference and current
    /// counts (`scipy.stats.chi2_contingency(correction=False)`, p < threshold): the
    /// calibrated two-sample test, and [`DriftMethod::Auto`]'s choice where Evidently picks
    /// `chisquare` unless [`Compat::Evidently`].
    Chi2Contingency,
    /// Two-proportion z-test (`z`, p < threshold).
    Z,
    /// k-sample Anderson-Darling, p-value (`anderson`, p < threshold, default 0.1). scipy's
    /// midrank statistic and p-value; when the pooled sample has a tie (and
    /// [`Compat::Calibrated`]), the tie-aware test
    /// [`edf_test_ties_sorted`](crate::drift::edf_test_ties_sorted), since scipy's
    /// over-alarms on repeated values.
    Anderson,
    /// Two-sample Cramér-von Mises, p-value (`cramer_von_mises`, p < threshold, default 0.1);
    /// with a tie (and [`Compat::Calibrated`]) the tie-aware test, as for `Anderson`.
    CramerVonMises,
    /// Energy distance (`ed`, drift if > threshold, strictly).
    EnergyDistance,
}

impl DriftMethod {
    /// Evidently's name of the method (`chi2_contingency` for the homogeneity test, which
    /// Evidently does not have).
    pub fn name(self) -> &'static str {
        match self {
            DriftMethod::Auto => "auto",
            DriftMethod::Ks => "ks",
            DriftMethod::Wasserstein => "wasserstein",
            DriftMethod::Psi => "psi",
            DriftMethod::JensenShannon => "jensenshannon",
            DriftMethod::KlDiv => "kl_div",
            DriftMethod::Chisquare => "chisquare",
            DriftMethod::Chi2Contingency => "chi2_contingency",
            DriftMethod::Z => "z",
            DriftMethod::Anderson => "anderson",
            DriftMethod::CramerVonMises => "cramer_von_mises",
            DriftMethod::EnergyDistance => "ed",
        }
    }

    /// Evidently's default threshold.
    pub fn default_threshold(self) -> f64 {
        match self {
            DriftMethod::Ks
            | DriftMethod::Chisquare
            | DriftMethod::Chi2Contingency
            | DriftMethod::Z
            | DriftMethod::Auto => 0.05,
            DriftMethod::Anderson | DriftMethod::CramerVonMises => 0.1,
            _ => 0.1,
        }
    }

    /// Whether the method is a test with a p-value (the verdict compares the p-value with
    /// the threshold; the effect-size floor applies), rather than a distance.
    pub fn is_test(self) -> bool {
        matches!(
            self,
            DriftMethod::Ks
                | DriftMethod::Chisquare
                | DriftMethod::Chi2Contingency
                | DriftMethod::Z
                | DriftMethod::Anderson
                | DriftMethod::CramerVonMises
        )
    }
}

/// How column verdicts become a dataset verdict.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum DatasetRule {
    /// Evidently: drifted when the share of drifted columns is at least `drift_share`.
    Share {
        /// The share (Evidently's default 0.5).
        drift_share: f64,
    },
    /// Bonferroni: p-value columns drift when `p < alpha / m` (m p-value columns); the
    /// dataset drifts when any column does.
    Bonferroni {
        /// Family-wise level.
        alpha: f64,
    },
    /// Benjamini-Hochberg at false discovery rate `alpha` over the p-value columns; the
    /// dataset drifts when any column does.
    BenjaminiHochberg {
        /// The false discovery rate.
        alpha: f64,
    },
}

impl Default for DatasetRule {
    fn default() -> Self {
        DatasetRule::Share { drift_share: 0.5 }
    }
}

/// Whose behaviour the detector reproduces where calibration and Evidently part ways.
/// NannyML's methods and thresholds (a third convention: Doane bins, base-2 Jensen-Shannon,
/// thresholds from reference chunks) are a detector of their own,
/// [`NannymlDriftDetector`](crate::drift::nannyml::NannymlDriftDetector).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compat {
    /// Evidently's methods and values, with calibrated alarms: [`DriftMethod::Auto`] picks
    /// the two-sample chi-square ([`DriftMethod::Chi2Contingency`]) where Evidently picks
    /// its goodness of fit, and a test's alarm needs an effect of at least
    /// [`DetectorOptions::min_effect`].
    #[default]
    Calibrated,
    /// Evidently 0.7 verbatim (the golden fixtures): `chisquare` goodness of fit and no
    /// effect-size floor, whatever [`DetectorOptions::min_effect`] says.
    Evidently,
}

/// The default effect-size floor of the tests, in reference standard deviations (normed
/// Wasserstein distance); categorical columns use the Jensen-Shannon distance that a shift
/// of this size gives between two normals ([`categorical_floor`]).
pub const DEFAULT_MIN_EFFECT: f64 = 0.1;

/// The Jensen-Shannon distance (natural log) equivalent to a numeric floor of `sigmas`: a
/// mean shift of δσ between two normals gives `JS ≈ δ / √8` (0.0354 for 0.1σ, exact to 0.1%
/// below 0.2σ), since `JSD ≈ χ²/8` for close distributions and `χ² = δ²` for the shift.
pub fn categorical_floor(sigmas: f64) -> f64 {
    sigmas / 8f64.sqrt()
}

/// Rows of each side kept for an embedding column (a seeded sample beyond it).
pub const DEFAULT_MAX_EMBEDDING_ROWS: usize = 5_000;

/// Options of [`DefaultDriftDetector`](super::DefaultDriftDetector).
///
/// The default is Evidently 0.7's automatic method choice with calibrated alarms
/// ([`Compat::Calibrated`], a 0.1σ effect floor); [`DetectorOptions::evidently`] is
/// Evidently verbatim.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectorOptions {
    /// Method for numeric columns.
    pub numeric_method: DriftMethod,
    /// Method for string / boolean columns (`Auto`, `Chisquare`, `Chi2Contingency`, `Z`,
    /// `JensenShannon`, `Psi`, `KlDiv`).
    pub categorical_method: DriftMethod,
    /// Threshold overriding each method's default.
    pub threshold: Option<f64>,
    /// The dataset rule.
    pub rule: DatasetRule,
    /// Columns to test. `None`: every column of the reference except timestamps and dates
    /// (always "drifting" as time passes; name one here to test it as epoch numbers) and
    /// columns of unsupported types, which are listed as skipped.
    pub columns: Option<Vec<String>>,
    /// Evidently verbatim, or calibrated alarms (the default).
    pub compat: Compat,
    /// The smallest effect a test's alarm needs, in reference standard deviations (numeric
    /// columns: Wasserstein distance / std(ref)); categorical columns need a Jensen-Shannon
    /// distance of [`categorical_floor`]`(min_effect)`. At large `n` a test finds shifts too
    /// small to matter (0.02σ gives KS p ≈ 1e-31 at a million rows); the floor keeps them
    /// from alarming. Default 0.1σ, Evidently's own Wasserstein threshold. `None` turns it
    /// off; it never applies to distance methods (their threshold is the effect) nor with
    /// [`Compat::Evidently`].
    pub min_effect: Option<f64>,
    /// A score or probability column (values in [0, 1]) whose histogram (10 bins) is
    /// reported for reference and current; it is tested for drift too.
    pub confidence_column: Option<String>,
    /// How embedding columns (fixed-size lists of floats) are scored (default: Evidently's
    /// `model` method, a domain classifier's ROC AUC).
    pub embedding: EmbeddingOptions,
    /// Rows of each side kept for an embedding column (a seeded sample beyond it).
    pub max_embedding_rows: usize,
    /// Worker threads over columns (0: all available cores).
    pub threads: usize,
}

impl Default for DetectorOptions {
    fn default() -> Self {
        DetectorOptions {
            numeric_method: DriftMethod::Auto,
            categorical_method: DriftMethod::Auto,
            threshold: None,
            rule: DatasetRule::default(),
            columns: None,
            compat: Compat::Calibrated,
            min_effect: Some(DEFAULT_MIN_EFFECT),
            confidence_column: None,
            embedding: EmbeddingOptions::default(),
            max_embedding_rows: DEFAULT_MAX_EMBEDDING_ROWS,
            threads: 0,
        }
    }
}

impl DetectorOptions {
    /// Evidently 0.7 verbatim: its automatic choice, `chisquare` goodness of fit, no
    /// effect-size floor. The golden fixtures (`tests/drift_parity.rs`) use it.
    pub fn evidently() -> Self {
        DetectorOptions {
            compat: Compat::Evidently,
            min_effect: None,
            ..Default::default()
        }
    }

    /// The effect floors `(numeric σ, categorical JS)` in force for tests, if any.
    pub fn effect_floors(&self) -> Option<(f64, f64)> {
        match (self.compat, self.min_effect) {
            (Compat::Calibrated, Some(m)) => Some((m, categorical_floor(m))),
            _ => None,
        }
    }
}

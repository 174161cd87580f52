//! [`ProfileDriftDetector`]: the [`DriftDetector`] of a fleet. Its reference is a
//! [`TableProfile`] (sketches, about 20 KB a column at any row count) and it scores a current
//! [`TableProfile`], so servers send profiles of their traffic, the monitor merges them, and
//! no row leaves a server. Same report, effect sizes, calibrated alarms and dataset rules as
//! [`DefaultDriftDetector`](super::DefaultDriftDetector), from sketches instead of rows.
//!
//! | column | test | effect size |
//! |---|---|---|
//! | numeric | KS from the KLL sketches ([`ks_from_profiles`], corrected for the sketches' rank error) or PSI on reference deciles | Wasserstein distance between the sketch quantile functions / reference std (σ units) |
//! | string, boolean | Pearson's chi-square of homogeneity on the 2 × k table of frequent items (items heavier than the summary's error, the rest as one "other" cell) | Jensen-Shannon distance (natural log) of the same cells |
//!
//! Range findings are estimates from the current sketch's ranks at the reference min and
//! max; new categories are the current frequent items absent from the reference summary.

use mlops_core::{DriftDetector, DriftReport, Error, FittedReference, Result};
use serde::{Deserialize, Serialize};

use super::options::{DEFAULT_MIN_EFFECT, DatasetRule, DetectorOptions, DriftMethod};
use super::report::{ColumnKind, ColumnQuality, ColumnReport, DriftAnalysis, MissingCounts};
use super::score::Scored;
use super::verdict::judge;
use crate::drift::binned::jensenshannon;
use crate::drift::categorical::chi2_contingency;
use crate::drift::profile::ColumnProfile;
use crate::drift::profile_drift::{ks_from_profiles, psi_from_profiles};
use crate::drift::table_profile::{ProfileOptions, TableProfile};

/// The detector name recorded in fitted references.
pub const PROFILE_DETECTOR_NAME: &str = "mlops-eval/profile-drift";

/// Quantile points at which the Wasserstein effect size compares the two sketches.
const EFFECT_POINTS: usize = 200;

/// Options of [`ProfileDriftDetector`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileDetectorOptions {
    /// How tables are profiled (columns, sketch sizes).
    pub profile: ProfileOptions,
    /// Test for numeric columns: [`DriftMethod::Ks`] (default) or [`DriftMethod::Psi`].
    pub numeric_method: DriftMethod,
    /// Threshold overriding each method's default.
    pub threshold: Option<f64>,
    /// The dataset rule.
    pub rule: DatasetRule,
    /// The smallest effect a test's alarm needs, in reference standard deviations (as
    /// [`DetectorOptions::min_effect`]); `None` turns it off.
    pub min_effect: Option<f64>,
}

impl Default for ProfileDetectorOptions {
    fn default() -> Self {
        ProfileDetectorOptions {
            profile: ProfileOptions::default(),
            numeric_method: DriftMethod::Ks,
            threshold: None,
            rule: DatasetRule::default(),
            min_effect: Some(DEFAULT_MIN_EFFECT),
        }
    }
}

/// Drift from mergeable profiles.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Float64Array, RecordBatch};
/// use mlops_eval::drift::{ProfileDriftDetector, TableProfile};
///
/// let batch = |shift: f64, seed: usize| {
///     let x: Vec<f64> = (0..5_000).map(|i| ((i * 7919 + seed) % 5_000) as f64 / 500.0 + shift).collect();
///     RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(x)) as _)]).unwrap()
/// };
/// let detector = ProfileDriftDetector::default();
/// let reference = detector.fit_profile(&detector.profile(&batch(0.0, 0))?);
/// // Two servers profile their own traffic; the monitor merges the profiles.
/// let mut merged = detector.profile(&batch(2.0, 1))?;
/// merged.merge(&detector.profile(&batch(2.0, 2))?)?;
/// let report = detector.score_profile(&reference, &merged)?;
/// assert!(report.drifted);
/// let same = detector.profile(&batch(0.0, 3))?;
/// assert!(!detector.score_profile(&reference, &same)?.drifted);
/// # Ok::<(), mlops_core::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ProfileDriftDetector {
    /// Options.
    pub options: ProfileDetectorOptions,
}

fn missing(p: &ColumnProfile) -> MissingCounts {
    MissingCounts {
        nan: p.nans,
        pos_inf: p.pos_inf,
        neg_inf: p.neg_inf,
        null: p.nulls,
    }
}

/// Wasserstein-1 distance between the sketches' quantile functions, in reference σ.
fn sketch_wasserstein_sigmas(reference: &ColumnProfile, current: &ColumnProfile) -> Option<f64> {
    let (r, c) = (
        reference.kll.as_ref()?.sorted_view()?,
        current.kll.as_ref()?.sorted_view()?,
    );
    let w = (0..EFFECT_POINTS)
        .map(|i| {
            let q = (i as f64 + 0.5) / EFFECT_POINTS as f64;
            (r.quantile(q) - c.quantile(q)).abs()
        })
        .sum::<f64>()
        / EFFECT_POINTS as f64;
    // Evidently's floor for a constant reference.
    Some(w / reference.variance().sqrt().max(0.001))
}

fn numeric(
    name: &str,
    method: DriftMethod,
    r: &ColumnProfile,
    c: &ColumnProfile,
) -> Result<Scored> {
    let d = match method {
        DriftMethod::Psi => psi_from_profiles(r, c),
        _ => ks_from_profiles(r, c),
    }
    .map_err(|e| {
        Error::invalid(
            "profile drift column",
            format!("{name}: {e}"),
            "numeric profiles with values",
        )
    })?;
    let mut quality = ColumnQuality {
        reference_range: Some((r.min, r.max)),
        ..Default::default()
    };
    if let Some(v) = c.kll.as_ref().and_then(|k| k.sorted_view()) {
        let n = c.count as f64;
        quality.below_range = (v.rank(r.min, false) * n).round() as u64;
        quality.above_range = ((1.0 - v.rank(r.max, true)) * n).round() as u64;
    }
    Ok(Scored {
        report: ColumnReport {
            column: name.to_string(),
            kind: ColumnKind::Numeric,
            method: method.name().to_string(),
            statistic: d.statistic,
            p_value: d.p_value,
            threshold: 0.0,
            drifted: false,
            effect_size: sketch_wasserstein_sigmas(r, c),
            effect_floor: None,
            below_min_effect: false,
            n_reference: d.n_reference,
            n_current: d.n_current,
            reference_missing: missing(r),
            current_missing: missing(c),
            new_categories: 0,
            quality,
        },
        method: Some(method),
    })
}

fn categorical(name: &str, r: &ColumnProfile, c: &ColumnProfile) -> Result<Scored> {
    let bad = |which: &str| {
        Error::invalid(
            "profile drift column",
            format!("{name}: the {which} profile has no string values"),
            "string profiles with at least one non-null value",
        )
    };
    let fr = r
        .frequent
        .as_ref()
        .filter(|f| f.total() > 0)
        .ok_or_else(|| bad("reference"))?;
    let fc = c
        .frequent
        .as_ref()
        .filter(|f| f.total() > 0)
        .ok_or_else(|| bad("current"))?;
    // Cells: reference items heavier than its summary's error, current items heavier than
    // its error and not among them, and one "other" cell for the rest of each side.
    let mut items: Vec<&str> = fr
        .top(usize::MAX)
        .into_iter()
        .filter(|(_, n)| *n > fr.max_error())
        .map(|(i, _)| i)
        .collect();
    let mut new_items = Vec::new();
    let mut new_rows = 0;
    for (item, n) in fc.top(usize::MAX) {
        if n > fc.max_error() && fr.estimate(item).0 == 0 {
            new_items.push(item.to_string());
            new_rows += n;
            items.push(item);
        }
    }
    let (mut ref_row, mut cur_row) = (Vec::new(), Vec::new());
    for item in &items {
        ref_row.push(fr.estimate(item).0 as f64);
        cur_row.push(fc.estimate(item).0 as f64);
    }
    let (rs, cs): (f64, f64) = (ref_row.iter().sum(), cur_row.iter().sum());
    let (r_other, c_other) = (
        (fr.total() as f64 - rs).max(0.0),
        (fc.total() as f64 - cs).max(0.0),
    );
    if r_other > 0.0 || c_other > 0.0 {
        ref_row.push(r_other);
        cur_row.push(c_other);
    }
    // Drop cells empty on both sides (chi2_contingency refuses a zero expected count).
    let keep: Vec<usize> = (0..ref_row.len())
        .filter(|&i| ref_row[i] + cur_row[i] > 0.0)
        .collect();
    let (ref_row, cur_row): (Vec<f64>, Vec<f64>) =
        keep.iter().map(|&i| (ref_row[i], cur_row[i])).unzip();
    let (statistic, p) = if ref_row.len() < 2 {
        (0.0, 1.0)
    } else {
        let table: Vec<f64> = ref_row.iter().chain(&cur_row).copied().collect();
        let t = chi2_contingency(&table, 2, false)?;
        (t.statistic, t.p_value)
    };
    let effect = jensenshannon(&ref_row, &cur_row, None);
    new_items.truncate(5);
    Ok(Scored {
        report: ColumnReport {
            column: name.to_string(),
            kind: ColumnKind::Categorical,
            method: DriftMethod::Chi2Contingency.name().to_string(),
            statistic,
            p_value: Some(p),
            threshold: 0.0,
            drifted: false,
            effect_size: Some(effect),
            effect_floor: None,
            below_min_effect: false,
            n_reference: fr.total(),
            n_current: fc.total(),
            reference_missing: missing(r),
            current_missing: missing(c),
            new_categories: new_items.len() as u64,
            quality: ColumnQuality {
                new_category_rows: new_rows,
                new_category_examples: new_items,
                ..Default::default()
            },
        },
        method: Some(DriftMethod::Chi2Contingency),
    })
}

impl ProfileDriftDetector {
    /// A detector with the given options.
    pub fn new(options: ProfileDetectorOptions) -> Self {
        ProfileDriftDetector { options }
    }

    /// Profiles a batch with the detector's profile options (what each server runs).
    pub fn profile(&self, batch: &arrow_array::RecordBatch) -> Result<TableProfile> {
        TableProfile::from_batch(batch, &self.options.profile)
    }

    /// A fitted reference holding a reference profile.
    pub fn fit_profile(&self, reference: &TableProfile) -> FittedReference {
        FittedReference {
            detector: PROFILE_DETECTOR_NAME.to_string(),
            version: 1,
            // A TableProfile is plain data: converting it to a JSON value cannot fail.
            state: serde_json::to_value(reference).unwrap_or_default(),
        }
    }

    /// The reference profile inside a fitted reference, checking it was made by this
    /// detector.
    pub fn reference_profile(&self, fitted: &FittedReference) -> Result<TableProfile> {
        if fitted.detector != PROFILE_DETECTOR_NAME || fitted.version != 1 {
            return Err(Error::invalid(
                "fitted reference",
                format!("{} version {}", fitted.detector, fitted.version),
                format!("{PROFILE_DETECTOR_NAME} version 1"),
            ));
        }
        TableProfile::from_json(&fitted.state.to_string())
    }

    /// Every column of the reference profile scored against the current profile, with the
    /// per-column reports. A column missing from the current profile, or of another type,
    /// is an error naming it.
    pub fn analyze_profiles(
        &self,
        reference: &TableProfile,
        current: &TableProfile,
    ) -> Result<DriftAnalysis> {
        if reference.columns.is_empty() {
            return Err(Error::invalid(
                "reference profile",
                "no columns",
                "at least one profiled column",
            ));
        }
        let mut scored = Vec::with_capacity(reference.columns.len());
        for (name, r) in &reference.columns {
            let c = current.columns.get(name).ok_or_else(|| {
                Error::invalid(
                    "current profile column",
                    name,
                    "every column of the reference profile",
                )
            })?;
            scored.push(if r.frequent.is_some() {
                categorical(name, r, c)?
            } else {
                numeric(name, self.options.numeric_method, r, c)?
            });
        }
        let opts = DetectorOptions {
            threshold: self.options.threshold,
            rule: self.options.rule,
            min_effect: self.options.min_effect,
            ..Default::default()
        };
        let (columns, report) = judge(scored, &opts);
        Ok(DriftAnalysis {
            columns,
            skipped: Vec::new(),
            report,
        })
    }

    /// Scores a current profile (merged from any number of servers) against a fitted
    /// reference.
    pub fn score_profile(
        &self,
        reference: &FittedReference,
        current: &TableProfile,
    ) -> Result<DriftReport> {
        let r = self.reference_profile(reference)?;
        Ok(self.analyze_profiles(&r, current)?.report)
    }
}

impl DriftDetector for ProfileDriftDetector {
    fn name(&self) -> &str {
        PROFILE_DETECTOR_NAME
    }

    fn fit(&self, reference: &arrow_array::RecordBatch) -> Result<FittedReference> {
        if reference.num_rows() == 0 {
            return Err(Error::invalid(
                "reference batch",
                "0 rows",
                "at least one row",
            ));
        }
        Ok(self.fit_profile(&self.profile(reference)?))
    }

    fn score(
        &self,
        reference: &FittedReference,
        current: &arrow_array::RecordBatch,
    ) -> Result<DriftReport> {
        if current.num_rows() == 0 {
            return Err(Error::invalid(
                "current batch",
                "0 rows",
                "at least one row",
            ));
        }
        self.score_profile(reference, &self.profile(current)?)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, RecordBatch, StringArray};

    use super::*;
    use crate::rng::Rng;

    fn normals(rng: &mut Rng, n: usize, shift: f64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let (u1, u2) = (1.0 - rng.next_f64(), rng.next_f64());
                (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos() + shift
            })
            .collect()
    }

    fn batch(x: Vec<f64>, plans: Vec<&str>) -> RecordBatch {
        RecordBatch::try_from_iter([
            ("x", Arc::new(Float64Array::from(x)) as _),
            ("plan", Arc::new(StringArray::from(plans)) as _),
        ])
        .unwrap()
    }

    fn plans(rng: &mut Rng, n: usize, p_pro: f64) -> Vec<&'static str> {
        (0..n)
            .map(|_| {
                let u = rng.next_f64();
                if u < p_pro {
                    "pro"
                } else if u < 0.7 {
                    "free"
                } else {
                    "team"
                }
            })
            .collect()
    }

    #[test]
    fn merged_server_profiles_score_like_one_profile_of_all_rows() {
        let mut rng = Rng::new(7);
        let det = ProfileDriftDetector::default();
        let reference = det
            .fit(&batch(
                normals(&mut rng, 20_000, 0.0),
                plans(&mut rng, 20_000, 0.3),
            ))
            .unwrap();
        // Four servers; the current traffic shifted by 0.5σ and moved towards "pro".
        let parts: Vec<RecordBatch> = (0..4)
            .map(|_| batch(normals(&mut rng, 5_000, 0.5), plans(&mut rng, 5_000, 0.5)))
            .collect();
        let mut merged = det.profile(&parts[0]).unwrap();
        for p in &parts[1..] {
            merged.merge(&det.profile(p).unwrap()).unwrap();
        }
        let whole = arrow_select::concat::concat_batches(&parts[0].schema(), &parts).unwrap();
        let a = det.score_profile(&reference, &merged).unwrap();
        let b = det.score(&reference, &whole).unwrap();
        assert!(a.drifted && b.drifted);
        assert_eq!(a.columns.len(), 2);
        for (x, y) in a.columns.iter().zip(&b.columns) {
            assert!(x.drifted && y.drifted, "{x:?}");
            // Counts merge exactly; the KS statistic within the sketches' rank error.
            assert!(
                (x.statistic - y.statistic).abs() <= 0.03 * y.statistic.max(1.0),
                "{x:?} vs {y:?}"
            );
        }
    }

    #[test]
    fn no_drift_no_alarm_and_a_tiny_shift_stays_below_the_effect_floor() {
        let mut rng = Rng::new(11);
        let det = ProfileDriftDetector::default();
        let n = 200_000;
        let reference = det
            .fit(&batch(normals(&mut rng, n, 0.0), plans(&mut rng, n, 0.3)))
            .unwrap();
        let same = det
            .score(
                &reference,
                &batch(normals(&mut rng, n, 0.0), plans(&mut rng, n, 0.3)),
            )
            .unwrap();
        assert!(
            !same.drifted && same.columns.iter().all(|c| !c.drifted),
            "{same:?}"
        );
        // 0.05σ at 200k rows: significant for KS on the sketches, below the 0.1σ floor.
        let r = det.reference_profile(&reference).unwrap();
        let tiny = det
            .profile(&batch(normals(&mut rng, n, 0.05), plans(&mut rng, n, 0.3)))
            .unwrap();
        let a = det.analyze_profiles(&r, &tiny).unwrap();
        let x = a.columns.iter().find(|c| c.column == "x").unwrap();
        assert!(!x.drifted, "{x:?}");
        assert!(
            x.effect_size.unwrap() < 0.1 && x.effect_size.unwrap() > 0.02,
            "{x:?}"
        );
    }

    #[test]
    fn new_categories_and_range_findings_and_errors() {
        let det = ProfileDriftDetector::default();
        let r = det
            .profile(&batch(vec![0.0, 1.0, 2.0, 3.0], vec!["a", "b", "a", "b"]))
            .unwrap();
        let c = det
            .profile(&batch(vec![-5.0, 1.0, 2.0, 9.0], vec!["a", "z", "z", "b"]))
            .unwrap();
        let a = det.analyze_profiles(&r, &c).unwrap();
        let plan = a.columns.iter().find(|c| c.column == "plan").unwrap();
        assert_eq!(plan.new_categories, 1);
        assert_eq!(plan.quality.new_category_rows, 2);
        assert_eq!(plan.quality.new_category_examples, vec!["z".to_string()]);
        let x = a.columns.iter().find(|c| c.column == "x").unwrap();
        assert_eq!((x.quality.below_range, x.quality.above_range), (1, 1));
        // A column missing from the current profile is named.
        let only_x = ProfileDriftDetector::new(ProfileDetectorOptions {
            profile: ProfileOptions {
                columns: Some(vec!["x".into()]),
                ..Default::default()
            },
            ..Default::default()
        });
        let cx = only_x.profile(&batch(vec![1.0], vec!["a"])).unwrap();
        let err = det.analyze_profiles(&r, &cx).unwrap_err().to_string();
        assert!(err.contains("plan"), "{err}");
        // A reference of another detector is refused.
        let mut fitted = det.fit_profile(&r);
        fitted.detector = "other".into();
        assert!(
            det.score_profile(&fitted, &c)
                .unwrap_err()
                .to_string()
                .contains("other")
        );
    }
}

//! [`DefaultDriftDetector`]: per-column drift over Arrow record batches with Evidently 0.7's
//! automatic method choice, NaN / infinities / nulls dropped and counted apart, and a
//! dataset verdict by share of drifted columns, Bonferroni or Benjamini-Hochberg.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use mlops_core::{ColumnDrift, DriftDetector, DriftReport, Error, FittedReference, Result};
use serde::{Deserialize, Serialize};

use super::anderson::anderson_ksamp;
use super::binned::{
    align_counts, count_distinct_sorted, distinct_counts_sorted, evidently_binned,
    fill_zeroes_evidently, jensenshannon, kl_div, psi,
};
use super::categorical::{chisquare, proportions_ztest, union_counts};
use super::cvm::{CvmMethod, cramervonmises_2samp};
use super::ks::{KsOptions, ks_2samp_sorted};
use super::wasserstein::{
    EVIDENTLY_STD_FLOOR, energy_distance_sorted, std_population, wasserstein_distance_sorted,
};

/// A per-column drift method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftMethod {
    /// Evidently 0.7's default choice by column type, reference rows and distinct values.
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
    /// Chi-square goodness of fit against the scaled reference (`chisquare`, p < threshold).
    Chisquare,
    /// Two-proportion z-test (`z`, p < threshold).
    Z,
    /// k-sample Anderson-Darling, p-value (`anderson`, p < threshold, default 0.1).
    Anderson,
    /// Two-sample Cramér-von Mises, p-value (`cramer_von_mises`, p < threshold, default 0.1).
    CramerVonMises,
    /// Energy distance (`ed`, drift if > threshold, strictly).
    EnergyDistance,
}

impl DriftMethod {
    /// Evidently's name of the method.
    pub fn name(self) -> &'static str {
        match self {
            DriftMethod::Auto => "auto",
            DriftMethod::Ks => "ks",
            DriftMethod::Wasserstein => "wasserstein",
            DriftMethod::Psi => "psi",
            DriftMethod::JensenShannon => "jensenshannon",
            DriftMethod::KlDiv => "kl_div",
            DriftMethod::Chisquare => "chisquare",
            DriftMethod::Z => "z",
            DriftMethod::Anderson => "anderson",
            DriftMethod::CramerVonMises => "cramer_von_mises",
            DriftMethod::EnergyDistance => "ed",
        }
    }

    /// Evidently's default threshold.
    pub fn default_threshold(self) -> f64 {
        match self {
            DriftMethod::Ks | DriftMethod::Chisquare | DriftMethod::Z | DriftMethod::Auto => 0.05,
            DriftMethod::Anderson | DriftMethod::CramerVonMises => 0.1,
            _ => 0.1,
        }
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

/// Options of [`DefaultDriftDetector`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DetectorOptions {
    /// Method for numeric columns.
    pub numeric_method: DriftMethod,
    /// Method for string / boolean columns (`Auto`, `Chisquare`, `Z`, `JensenShannon`,
    /// `Psi`, `KlDiv`).
    pub categorical_method: DriftMethod,
    /// Threshold overriding each method's default.
    pub threshold: Option<f64>,
    /// The dataset rule.
    pub rule: DatasetRule,
    /// Columns to test (all supported columns of the reference when `None`).
    pub columns: Option<Vec<String>>,
}

/// The drift of one column with the counts the core [`ColumnDrift`] has no room for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnReport {
    /// Column name.
    pub column: String,
    /// Method used.
    pub method: String,
    /// The statistic (the p-value for `ks`, `chisquare` and `z`, as Evidently reports it,
    /// is in `p_value`; here the test statistic).
    pub statistic: f64,
    /// The p-value, for tests.
    pub p_value: Option<f64>,
    /// Threshold applied.
    pub threshold: f64,
    /// Verdict.
    pub drifted: bool,
    /// Finite / non-null values in reference and current.
    pub n_reference: u64,
    /// Finite / non-null values in current.
    pub n_current: u64,
    /// NaN, +inf, -inf and null counts in the reference.
    pub reference_missing: MissingCounts,
    /// NaN, +inf, -inf and null counts in current.
    pub current_missing: MissingCounts,
    /// Current categories never seen in the reference (categorical columns).
    pub new_categories: u64,
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ColumnState {
    Numeric {
        name: String,
        sorted: Vec<f64>,
        std: f64,
        missing: MissingCounts,
    },
    Categorical {
        name: String,
        counts: BTreeMap<String, u64>,
        missing: MissingCounts,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct State {
    options: DetectorOptions,
    columns: Vec<ColumnState>,
}

/// The default detector: fits sorted reference values (numeric) or category counts
/// (string, boolean), and scores windows with Evidently 0.7's methods.
#[derive(Clone, Debug, Default)]
pub struct DefaultDriftDetector {
    /// Options.
    pub options: DetectorOptions,
}

/// The detector name recorded in fitted references.
pub const DETECTOR_NAME: &str = "mlops-eval/default-drift";
const STATE_VERSION: u32 = 1;

enum Extracted {
    Numeric(Vec<f64>, MissingCounts),
    Categorical(BTreeMap<String, u64>, MissingCounts),
}

fn numeric_values<I: Iterator<Item = Option<f64>>>(it: I) -> (Vec<f64>, MissingCounts) {
    let mut m = MissingCounts::default();
    let mut v = Vec::new();
    for x in it {
        match x {
            None => m.null += 1,
            Some(x) if x.is_nan() => m.nan += 1,
            Some(x) if x == f64::INFINITY => m.pos_inf += 1,
            Some(x) if x == f64::NEG_INFINITY => m.neg_inf += 1,
            Some(x) => v.push(x),
        }
    }
    (v, m)
}

fn extract(array: &dyn Array, column: &str) -> Result<Extracted> {
    macro_rules! prim {
        ($t:ty) => {{
            let (v, m) = numeric_values(
                array
                    .as_primitive::<$t>()
                    .iter()
                    .map(|x| x.map(|x| x as f64)),
            );
            Ok(Extracted::Numeric(v, m))
        }};
    }
    match array.data_type() {
        DataType::Float64 => prim!(Float64Type),
        DataType::Float32 => prim!(Float32Type),
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Utf8 => Ok(cat_counts(array.as_string::<i32>().iter())),
        DataType::LargeUtf8 => Ok(cat_counts(array.as_string::<i64>().iter())),
        DataType::Utf8View => Ok(cat_counts(array.as_string_view().iter())),
        DataType::Boolean => Ok(cat_counts(
            array
                .as_boolean()
                .iter()
                .map(|b| b.map(|b| if b { "true" } else { "false" })),
        )),
        other => Err(Error::invalid(
            "drift column type",
            format!("{column}: {other}"),
            "a numeric, string or boolean column",
        )),
    }
}

fn cat_counts<'a, I: Iterator<Item = Option<&'a str>>>(it: I) -> Extracted {
    let mut m = MissingCounts::default();
    let mut counts: std::collections::HashMap<&'a str, u64> = std::collections::HashMap::new();
    for x in it {
        match x {
            None => m.null += 1,
            Some(s) => *counts.entry(s).or_insert(0) += 1,
        }
    }
    let counts: BTreeMap<String, u64> = counts
        .into_iter()
        .map(|(k, c)| (k.to_string(), c))
        .collect();
    Extracted::Categorical(counts, m)
}

fn column<'a>(batch: &'a RecordBatch, name: &str, what: &'static str) -> Result<&'a dyn Array> {
    batch
        .column_by_name(name)
        .map(|a| a.as_ref())
        .ok_or_else(|| Error::invalid(what, name, "a column present in the batch"))
}

impl DefaultDriftDetector {
    /// A detector with the given options.
    pub fn new(options: DetectorOptions) -> Self {
        DefaultDriftDetector { options }
    }

    fn fit_state(&self, reference: &RecordBatch) -> Result<State> {
        let names: Vec<String> = match &self.options.columns {
            Some(c) => c.clone(),
            None => reference
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect(),
        };
        if names.is_empty() {
            return Err(Error::invalid(
                "drift columns",
                "none",
                "at least one column",
            ));
        }
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            let arr = column(reference, &name, "reference column")?;
            match extract(arr, &name)? {
                Extracted::Numeric(mut v, missing) => {
                    if v.is_empty() {
                        return Err(Error::invalid(
                            "reference column",
                            format!("{name}: {} rows, none finite", arr.len()),
                            "at least one finite value",
                        ));
                    }
                    super::sort_f64(&mut v);
                    let std = std_population(&v);
                    columns.push(ColumnState::Numeric {
                        name,
                        sorted: v,
                        std,
                        missing,
                    });
                }
                Extracted::Categorical(counts, missing) => {
                    if counts.is_empty() {
                        return Err(Error::invalid(
                            "reference column",
                            format!("{name}: {} rows, all null", arr.len()),
                            "at least one non-null value",
                        ));
                    }
                    columns.push(ColumnState::Categorical {
                        name,
                        counts,
                        missing,
                    });
                }
            }
        }
        Ok(State {
            options: self.options.clone(),
            columns,
        })
    }

    /// Scores current data against a fitted reference with per-column detail.
    pub fn score_detailed(
        &self,
        reference: &FittedReference,
        current: &RecordBatch,
    ) -> Result<(Vec<ColumnReport>, DriftReport)> {
        if reference.detector != DETECTOR_NAME || reference.version != STATE_VERSION {
            return Err(Error::invalid(
                "fitted reference",
                format!("{} v{}", reference.detector, reference.version),
                "a reference fitted by mlops-eval/default-drift v1",
            ));
        }
        let state: State = serde_json::from_value(reference.state.clone()).map_err(|e| {
            Error::invalid("fitted reference state", e.to_string(), "a valid state")
        })?;
        let opts = &state.options;
        let mut reports = Vec::with_capacity(state.columns.len());
        for col in &state.columns {
            let name = match col {
                ColumnState::Numeric { name, .. } | ColumnState::Categorical { name, .. } => name,
            };
            let arr = column(current, name, "current column")?;
            let cur = extract(arr, name)?;
            reports.push(score_column(col, cur, opts, arr.len())?);
        }
        let report = dataset_verdict(&mut reports, opts.rule);
        Ok((reports, report))
    }
}

fn choose(method: DriftMethod, categorical: bool, ref_rows: usize, n_unique: usize) -> DriftMethod {
    if method != DriftMethod::Auto {
        return method;
    }
    let small = ref_rows <= 1000;
    if categorical {
        match (n_unique > 2, small) {
            (true, true) => DriftMethod::Chisquare,
            (false, true) => DriftMethod::Z,
            _ => DriftMethod::JensenShannon,
        }
    } else if n_unique > 5 {
        if small {
            DriftMethod::Ks
        } else {
            DriftMethod::Wasserstein
        }
    } else if n_unique >= 3 {
        if small {
            DriftMethod::Chisquare
        } else {
            DriftMethod::JensenShannon
        }
    } else if small {
        DriftMethod::Z
    } else {
        DriftMethod::JensenShannon
    }
}

/// Evidently's verdict for `value` (the p-value of a test, else the statistic).
pub(crate) fn verdict(method: DriftMethod, value: f64, threshold: f64) -> bool {
    match method {
        DriftMethod::Ks => value <= threshold,
        DriftMethod::Chisquare
        | DriftMethod::Z
        | DriftMethod::Anderson
        | DriftMethod::CramerVonMises => value < threshold,
        DriftMethod::EnergyDistance => value > threshold,
        _ => value >= threshold,
    }
}

fn score_column(
    col: &ColumnState,
    cur: Extracted,
    opts: &DetectorOptions,
    cur_rows: usize,
) -> Result<ColumnReport> {
    let (name, method, statistic, p_value, n_ref, n_cur, ref_missing, cur_missing, new_cats) =
        match (col, cur) {
            (
                ColumnState::Numeric {
                    name,
                    sorted,
                    std,
                    missing,
                },
                Extracted::Numeric(mut v, cm),
            ) => {
                if v.is_empty() {
                    return Err(Error::invalid(
                        "current column",
                        format!("{name}: {cur_rows} rows, none finite"),
                        "at least one finite value",
                    ));
                }
                super::sort_f64(&mut v);
                let (rv, rc) = distinct_counts_sorted(sorted);
                let (cv, cc) = distinct_counts_sorted(&v);
                let (ra, ca) = align_counts(&rv, &rc, &cv, &cc);
                let n_unique = ra.len();
                let new_cats = ra
                    .iter()
                    .zip(&ca)
                    .filter(|(r, c)| **r == 0 && **c > 0)
                    .count() as u64;
                let m = choose(opts.numeric_method, false, sorted.len(), n_unique);
                let (stat, p) = match m {
                    DriftMethod::Ks | DriftMethod::Auto => {
                        let r = ks_2samp_sorted(sorted, &v, &KsOptions::default())?;
                        (r.statistic, Some(r.p_value))
                    }
                    DriftMethod::Anderson => {
                        let r = anderson_ksamp(&[sorted.as_slice(), v.as_slice()])?;
                        (r.statistic, Some(r.p_value))
                    }
                    DriftMethod::CramerVonMises => {
                        let r = cramervonmises_2samp(sorted, &v, CvmMethod::Auto)?;
                        (r.statistic, Some(r.p_value))
                    }
                    DriftMethod::EnergyDistance => (energy_distance_sorted(sorted, &v), None),
                    DriftMethod::Wasserstein => (
                        wasserstein_distance_sorted(sorted, &v) / std.max(EVIDENTLY_STD_FLOOR),
                        None,
                    ),
                    DriftMethod::Psi | DriftMethod::KlDiv | DriftMethod::JensenShannon => {
                        let (p, q) = evidently_binned(sorted, &v, m != DriftMethod::JensenShannon);
                        (binned_stat(m, &p, &q), None)
                    }
                    DriftMethod::Chisquare => {
                        let k = v.len() as f64 / sorted.len() as f64;
                        let exp: Vec<f64> = ra.iter().map(|c| *c as f64 * k).collect();
                        let obs: Vec<f64> = ca.iter().map(|c| *c as f64).collect();
                        let r = chisquare(&obs, &exp)?;
                        (r.statistic, Some(r.p_value))
                    }
                    DriftMethod::Z => {
                        // Evidently: indicator "not the smallest value".
                        let k1 = sorted.len() as u64 - ra[0];
                        let k2 = v.len() as u64 - ca[0];
                        let r = proportions_ztest(k1, sorted.len() as u64, k2, v.len() as u64)?;
                        (r.statistic, Some(r.p_value))
                    }
                };
                let _ = count_distinct_sorted;
                (
                    name,
                    m,
                    stat,
                    p,
                    sorted.len() as u64,
                    v.len() as u64,
                    *missing,
                    cm,
                    new_cats,
                )
            }
            (
                ColumnState::Categorical {
                    name,
                    counts,
                    missing,
                },
                Extracted::Categorical(cur, cm),
            ) => {
                let n_cur: u64 = cur.values().sum();
                if n_cur == 0 {
                    return Err(Error::invalid(
                        "current column",
                        format!("{name}: {cur_rows} rows, all null"),
                        "at least one non-null value",
                    ));
                }
                let n_ref: u64 = counts.values().sum();
                let (obs, exp) = union_counts(counts, &cur);
                let n_unique = obs.len();
                let new_cats = exp
                    .iter()
                    .zip(&obs)
                    .filter(|(e, o)| **e == 0 && **o > 0)
                    .count() as u64;
                let m = choose(opts.categorical_method, true, n_ref as usize, n_unique);
                let (stat, p) = match m {
                    DriftMethod::Chisquare | DriftMethod::Auto => {
                        let k = n_cur as f64 / n_ref as f64;
                        let e: Vec<f64> = exp.iter().map(|c| *c as f64 * k).collect();
                        let o: Vec<f64> = obs.iter().map(|c| *c as f64).collect();
                        let r = chisquare(&o, &e)?;
                        (r.statistic, Some(r.p_value))
                    }
                    DriftMethod::Z => {
                        let k1 = n_ref - exp[0];
                        let k2 = n_cur - obs[0];
                        let r = proportions_ztest(k1, n_ref, k2, n_cur)?;
                        (r.statistic, Some(r.p_value))
                    }
                    DriftMethod::Psi | DriftMethod::KlDiv | DriftMethod::JensenShannon => {
                        let mut p: Vec<f64> =
                            exp.iter().map(|c| *c as f64 / n_ref as f64).collect();
                        let mut q: Vec<f64> =
                            obs.iter().map(|c| *c as f64 / n_cur as f64).collect();
                        if m != DriftMethod::JensenShannon {
                            fill_zeroes_evidently(&mut p);
                            fill_zeroes_evidently(&mut q);
                        }
                        (binned_stat(m, &p, &q), None)
                    }
                    DriftMethod::Ks
                    | DriftMethod::Wasserstein
                    | DriftMethod::Anderson
                    | DriftMethod::CramerVonMises
                    | DriftMethod::EnergyDistance => {
                        return Err(Error::invalid(
                            "categorical drift method",
                            format!("{name}: {}", m.name()),
                            "auto, chisquare, z, jensenshannon, psi or kl_div",
                        ));
                    }
                };
                (name, m, stat, p, n_ref, n_cur, *missing, cm, new_cats)
            }
            (c, _) => {
                let name = match c {
                    ColumnState::Numeric { name, .. } | ColumnState::Categorical { name, .. } => {
                        name
                    }
                };
                return Err(Error::invalid(
                    "current column type",
                    name.as_str(),
                    "the same kind (numeric or categorical) as the reference",
                ));
            }
        };
    let threshold = opts.threshold.unwrap_or(m_default(method));
    let value = p_value.unwrap_or(statistic);
    Ok(ColumnReport {
        column: name.clone(),
        method: method.name().to_string(),
        statistic,
        p_value,
        threshold,
        drifted: verdict(method, value, threshold),
        n_reference: n_ref,
        n_current: n_cur,
        reference_missing: ref_missing,
        current_missing: cur_missing,
        new_categories: new_cats,
    })
}

fn m_default(m: DriftMethod) -> f64 {
    m.default_threshold()
}

fn binned_stat(m: DriftMethod, p: &[f64], q: &[f64]) -> f64 {
    match m {
        DriftMethod::Psi => psi(p, q),
        DriftMethod::KlDiv => kl_div(p, q),
        _ => jensenshannon(p, q, None),
    }
}

fn dataset_verdict(reports: &mut [ColumnReport], rule: DatasetRule) -> DriftReport {
    let tests: Vec<usize> = reports
        .iter()
        .enumerate()
        .filter(|(_, r)| r.p_value.is_some())
        .map(|(i, _)| i)
        .collect();
    let m = tests.len().max(1) as f64;
    let any_rule = match rule {
        DatasetRule::Share { .. } => false,
        DatasetRule::Bonferroni { alpha } => {
            for &i in &tests {
                let p = reports[i].p_value.unwrap_or(1.0);
                reports[i].threshold = alpha / m;
                reports[i].drifted = p < alpha / m;
            }
            true
        }
        DatasetRule::BenjaminiHochberg { alpha } => {
            let mut ps: Vec<(f64, usize)> = tests
                .iter()
                .map(|&i| (reports[i].p_value.unwrap_or(1.0), i))
                .collect();
            ps.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut cut = 0.0;
            for (k, (p, _)) in ps.iter().enumerate() {
                if *p <= (k + 1) as f64 / m * alpha {
                    cut = *p;
                }
            }
            let any = ps
                .iter()
                .enumerate()
                .any(|(k, (p, _))| *p <= (k + 1) as f64 / m * alpha);
            for (p, i) in ps {
                reports[i].drifted = any && p <= cut;
            }
            true
        }
    };
    let n = reports.len().max(1) as f64;
    let drifted = reports.iter().filter(|r| r.drifted).count() as f64;
    let share = drifted / n;
    let dataset = match rule {
        DatasetRule::Share { drift_share } => share >= drift_share,
        _ => any_rule && drifted > 0.0,
    };
    DriftReport {
        columns: reports
            .iter()
            .map(|r| ColumnDrift {
                column: r.column.clone(),
                method: r.method.clone(),
                statistic: r.statistic,
                p_value: r.p_value,
                drifted: r.drifted,
            })
            .collect(),
        share_drifted: share,
        drifted: dataset,
    }
}

impl DriftDetector for DefaultDriftDetector {
    fn name(&self) -> &str {
        DETECTOR_NAME
    }

    fn fit(&self, reference: &RecordBatch) -> Result<FittedReference> {
        let state = self.fit_state(reference)?;
        let state = serde_json::to_value(&state).map_err(|e| {
            Error::invalid(
                "fitted reference state",
                e.to_string(),
                "serializable values",
            )
        })?;
        Ok(FittedReference {
            detector: DETECTOR_NAME.to_string(),
            version: STATE_VERSION,
            state,
        })
    }

    fn score(&self, reference: &FittedReference, current: &RecordBatch) -> Result<DriftReport> {
        Ok(self.score_detailed(reference, current)?.1)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, Int32Array, StringArray};
    use arrow_schema::{Field, Schema};

    use super::*;

    fn batch(cols: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = cols
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            cols.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap()
    }

    fn f64s(v: Vec<Option<f64>>) -> ArrayRef {
        Arc::new(Float64Array::from(v))
    }

    fn strs(v: Vec<&str>) -> ArrayRef {
        Arc::new(StringArray::from(v))
    }

    #[test]
    fn nan_and_infinities_are_counted_apart() {
        let d = DefaultDriftDetector::default();
        let r = batch(vec![(
            "x",
            f64s(vec![
                Some(1.0),
                Some(2.0),
                Some(f64::NAN),
                None,
                Some(3.0),
                Some(4.0),
                Some(5.0),
                Some(6.0),
            ]),
        )]);
        let c = batch(vec![(
            "x",
            f64s(vec![
                Some(1.5),
                Some(f64::INFINITY),
                Some(f64::NEG_INFINITY),
                Some(2.5),
                Some(3.5),
                Some(f64::NAN),
                Some(4.5),
                Some(5.5),
                Some(6.5),
            ]),
        )]);
        let fitted = d.fit(&r).unwrap();
        let (cols, rep) = d.score_detailed(&fitted, &c).unwrap();
        let col = &cols[0];
        assert_eq!(col.n_reference, 6);
        assert_eq!(col.n_current, 6);
        assert_eq!(
            col.reference_missing,
            MissingCounts {
                nan: 1,
                pos_inf: 0,
                neg_inf: 0,
                null: 1
            }
        );
        assert_eq!(
            col.current_missing,
            MissingCounts {
                nan: 1,
                pos_inf: 1,
                neg_inf: 1,
                null: 0
            }
        );
        assert_eq!(col.method, "ks");
        let ks = super::super::ks::ks_2samp(
            &[1., 2., 3., 4., 5., 6.],
            &[1.5, 2.5, 3.5, 4.5, 5.5, 6.5],
            &KsOptions::default(),
        )
        .unwrap();
        assert_eq!(col.p_value, Some(ks.p_value));
        assert_eq!(rep.columns.len(), 1);
    }

    #[test]
    fn empty_and_all_nan_inputs_are_errors() {
        let d = DefaultDriftDetector::default();
        let empty = batch(vec![("x", f64s(vec![]))]);
        assert!(d.fit(&empty).is_err());
        let nan = batch(vec![("x", f64s(vec![Some(f64::NAN), None]))]);
        assert!(d.fit(&nan).is_err());
        let ok = batch(vec![("x", f64s(vec![Some(1.0), Some(2.0)]))]);
        let fitted = d.fit(&ok).unwrap();
        assert!(d.score(&fitted, &nan).is_err());
        assert!(
            d.score(&fitted, &batch(vec![("y", f64s(vec![Some(1.0)]))]))
                .is_err(),
            "unknown column"
        );
        assert!(
            d.score(&fitted, &batch(vec![("x", strs(vec!["a"]))]))
                .is_err(),
            "type mismatch"
        );
        assert!(super::super::ks::ks_2samp(&[], &[1.0], &KsOptions::default()).is_err());
        assert!(super::super::ks::ks_2samp(&[f64::NAN], &[1.0], &KsOptions::default()).is_err());
    }

    #[test]
    fn constant_reference_uses_the_std_floor() {
        let opts = DetectorOptions {
            numeric_method: DriftMethod::Wasserstein,
            ..Default::default()
        };
        let d = DefaultDriftDetector::new(opts);
        let r = batch(vec![("x", f64s(vec![Some(3.0); 10]))]);
        let c = batch(vec![(
            "x",
            f64s(vec![Some(3.0), Some(3.001), Some(3.0), Some(3.0)]),
        )]);
        let (cols, _) = d.score_detailed(&d.fit(&r).unwrap(), &c).unwrap();
        // W1 = 0.001 / 4; normed by max(0, 0.001).
        assert!(
            (cols[0].statistic - 0.25).abs() < 1e-9,
            "{}",
            cols[0].statistic
        );
        assert!(cols[0].drifted);
    }

    #[test]
    fn new_category_gives_infinite_chi_square() {
        let d = DefaultDriftDetector::default();
        let r = batch(vec![("c", strs(vec!["a", "b", "c", "a", "b", "c"]))]);
        let c = batch(vec![("c", strs(vec!["a", "b", "c", "d"]))]);
        let (cols, rep) = d.score_detailed(&d.fit(&r).unwrap(), &c).unwrap();
        assert_eq!(cols[0].method, "chisquare");
        assert_eq!(cols[0].statistic, f64::INFINITY);
        assert_eq!(cols[0].p_value, Some(0.0));
        assert_eq!(cols[0].new_categories, 1);
        assert!(rep.drifted);
    }

    #[test]
    fn unequal_lengths_and_auto_choice() {
        let d = DefaultDriftDetector::default();
        let refv: Vec<Option<f64>> = (0..1500).map(|i| Some((i % 97) as f64)).collect();
        let curv: Vec<Option<f64>> = (0..40).map(|i| Some((i % 13) as f64)).collect();
        let binary: Vec<i32> = (0..1500).map(|i| i % 2).collect();
        let r = batch(vec![
            ("x", f64s(refv)),
            ("b", Arc::new(Int32Array::from(binary)) as ArrayRef),
        ]);
        let c = batch(vec![
            ("x", f64s(curv)),
            (
                "b",
                Arc::new(Int32Array::from(
                    (0..40).map(|i| i32::from(i % 3 != 0)).collect::<Vec<_>>(),
                )) as ArrayRef,
            ),
        ]);
        let fitted = d.fit(&r).unwrap();
        // The fitted reference survives a JSON round trip.
        let text = serde_json::to_string(&fitted).unwrap();
        let back: FittedReference = serde_json::from_str(&text).unwrap();
        let (cols, rep) = d.score_detailed(&back, &c).unwrap();
        assert_eq!(cols[0].method, "wasserstein");
        assert_eq!(cols[1].method, "jensenshannon");
        assert_eq!(rep.columns.len(), 2);
        let small = batch(vec![(
            "x",
            f64s((0..1000).map(|i| Some(i as f64)).collect()),
        )]);
        let (cols, _) = d
            .score_detailed(&d.fit(&small).unwrap(), &c.project(&[0]).unwrap())
            .unwrap();
        assert_eq!(cols[0].method, "ks");
    }

    #[test]
    fn multiple_testing_rules() {
        let mk = |rule| {
            DefaultDriftDetector::new(DetectorOptions {
                rule,
                ..Default::default()
            })
        };
        let r = batch(vec![
            ("a", f64s((0..200).map(|i| Some(i as f64)).collect())),
            ("b", f64s((0..200).map(|i| Some(i as f64)).collect())),
        ]);
        let c = batch(vec![
            ("a", f64s((0..200).map(|i| Some(i as f64 + 30.0)).collect())),
            ("b", f64s((0..200).map(|i| Some(i as f64 + 0.5)).collect())),
        ]);
        let share = mk(DatasetRule::Share { drift_share: 0.5 });
        let rep = share.score(&share.fit(&r).unwrap(), &c).unwrap();
        assert_eq!(rep.share_drifted, 0.5);
        assert!(rep.drifted);
        let bonf = mk(DatasetRule::Bonferroni { alpha: 0.05 });
        let rep = bonf.score(&bonf.fit(&r).unwrap(), &c).unwrap();
        assert!(rep.columns[0].drifted && !rep.columns[1].drifted && rep.drifted);
        let bh = mk(DatasetRule::BenjaminiHochberg { alpha: 0.05 });
        let rep = bh.score(&bh.fit(&r).unwrap(), &c).unwrap();
        assert!(rep.columns[0].drifted && !rep.columns[1].drifted && rep.drifted);
    }

    #[test]
    fn extra_methods_score_numeric_columns() {
        let r = batch(vec![(
            "x",
            f64s((0..300).map(|i| Some((i as f64 * 0.37).sin())).collect()),
        )]);
        let c = batch(vec![(
            "x",
            f64s(
                (0..250)
                    .map(|i| Some((i as f64 * 0.53).sin() + 0.3))
                    .collect(),
            ),
        )]);
        for (m, name) in [
            (DriftMethod::Anderson, "anderson"),
            (DriftMethod::CramerVonMises, "cramer_von_mises"),
            (DriftMethod::EnergyDistance, "ed"),
            (DriftMethod::Psi, "psi"),
            (DriftMethod::KlDiv, "kl_div"),
        ] {
            let d = DefaultDriftDetector::new(DetectorOptions {
                numeric_method: m,
                ..Default::default()
            });
            let (cols, _) = d.score_detailed(&d.fit(&r).unwrap(), &c).unwrap();
            assert_eq!(cols[0].method, name);
            assert!(cols[0].statistic.is_finite());
            assert!(cols[0].drifted, "{name} should flag a 0.3 shift");
        }
        let cat = batch(vec![("c", strs(vec!["a", "b"]))]);
        let d = DefaultDriftDetector::new(DetectorOptions {
            categorical_method: DriftMethod::Anderson,
            ..Default::default()
        });
        assert!(
            d.score(&d.fit(&cat).unwrap(), &cat).is_err(),
            "numeric-only method on strings"
        );
    }
}

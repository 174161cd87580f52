//! Fairness with fairlearn's semantics: per-group rates, demographic parity and equalized
//! odds (difference and ratio; `between_groups` or `to_overall`; `worst_case` or `mean`),
//! with a minimum group size below which a group is reported but not judged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use mlops_core::{Error, Result};

/// How a disparity is measured (fairlearn's `method`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    /// Max minus min over groups, or min over max for ratios (fairlearn's default).
    #[default]
    BetweenGroups,
    /// The largest gap between a group and the overall value; for ratios the smallest of
    /// `group / overall` written as at most 1.
    ToOverall,
}

/// How equalized odds combines its TPR and FPR parts (fairlearn's `agg`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Aggregate {
    /// The worse of the two (fairlearn's default).
    #[default]
    WorstCase,
    /// Their mean.
    Mean,
}

/// Per-group rates of a binary classifier.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupRates {
    /// Rows in the group.
    pub count: u64,
    /// Share of rows predicted positive.
    pub selection_rate: f64,
    /// True positive rate (NaN without positives).
    pub tpr: f64,
    /// False positive rate (NaN without negatives).
    pub fpr: f64,
}

/// Rates per group plus overall, for groups with at least `min_group_size` rows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupReport {
    /// Rates over all rows.
    pub overall: GroupRates,
    /// Judged groups (at least `min_group_size` rows), by name.
    pub by_group: BTreeMap<String, GroupRates>,
    /// Groups too small to judge, with their sizes.
    pub too_small: BTreeMap<String, u64>,
}

fn rates(y_true: &[i64], y_pred: &[i64], rows: &[usize], pos: i64) -> GroupRates {
    let (mut tp, mut fp, mut p, mut n, mut sel) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for &i in rows {
        let (t, s) = (y_true[i] == pos, y_pred[i] == pos);
        sel += s as u64;
        if t {
            p += 1;
            tp += s as u64;
        } else {
            n += 1;
            fp += s as u64;
        }
    }
    let div = |a: u64, b: u64| {
        if b == 0 {
            f64::NAN
        } else {
            a as f64 / b as f64
        }
    };
    GroupRates {
        count: rows.len() as u64,
        selection_rate: div(sel, rows.len() as u64),
        tpr: div(tp, p),
        fpr: div(fp, n),
    }
}

/// Computes per-group rates. `groups[i]` is row i's sensitive value.
pub fn group_rates(
    y_true: &[i64],
    y_pred: &[i64],
    groups: &[&str],
    pos_label: i64,
    min_group_size: u64,
) -> Result<GroupReport> {
    if y_true.len() != y_pred.len() || y_true.len() != groups.len() {
        return Err(Error::invalid(
            "fairness inputs",
            format!(
                "y_true {}, y_pred {}, groups {} rows",
                y_true.len(),
                y_pred.len(),
                groups.len()
            ),
            "the same number of rows",
        ));
    }
    if y_true.is_empty() {
        return Err(Error::invalid(
            "fairness inputs",
            "0 rows",
            "at least one row",
        ));
    }
    let mut rows: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        rows.entry(g).or_default().push(i);
    }
    let all: Vec<usize> = (0..y_true.len()).collect();
    let mut report = GroupReport {
        overall: rates(y_true, y_pred, &all, pos_label),
        ..Default::default()
    };
    for (g, r) in rows {
        if (r.len() as u64) < min_group_size {
            report.too_small.insert(g.to_owned(), r.len() as u64);
        } else {
            report
                .by_group
                .insert(g.to_owned(), rates(y_true, y_pred, &r, pos_label));
        }
    }
    Ok(report)
}

fn difference(report: &GroupReport, pick: fn(&GroupRates) -> f64, method: Method) -> f64 {
    let values: Vec<f64> = report.by_group.values().map(pick).collect();
    match method {
        Method::BetweenGroups => {
            values.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                - values.iter().cloned().fold(f64::INFINITY, f64::min)
        }
        Method::ToOverall => {
            let overall = pick(&report.overall);
            values
                .iter()
                .map(|v| (v - overall).abs())
                .fold(f64::NEG_INFINITY, f64::max)
        }
    }
}

fn ratio(report: &GroupReport, pick: fn(&GroupRates) -> f64, method: Method) -> f64 {
    let values: Vec<f64> = report.by_group.values().map(pick).collect();
    match method {
        Method::BetweenGroups => {
            let max = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let min = values.iter().cloned().fold(f64::INFINITY, f64::min);
            if max == 0.0 { f64::NAN } else { min / max }
        }
        Method::ToOverall => {
            let overall = pick(&report.overall);
            values
                .iter()
                .map(|&v| {
                    if v == 0.0 && overall == 0.0 {
                        f64::NAN
                    } else if v > overall {
                        overall / v
                    } else {
                        v / overall
                    }
                })
                .fold(f64::INFINITY, f64::min)
        }
    }
}

/// Demographic parity difference: spread of selection rates across groups.
pub fn demographic_parity_difference(report: &GroupReport, method: Method) -> f64 {
    difference(report, |r| r.selection_rate, method)
}

/// Demographic parity ratio: smallest over largest selection rate (≥ 0.8 is the
/// four-fifths rule).
pub fn demographic_parity_ratio(report: &GroupReport, method: Method) -> f64 {
    ratio(report, |r| r.selection_rate, method)
}

/// Equalized odds difference: the TPR and FPR differences combined by `agg`.
pub fn equalized_odds_difference(report: &GroupReport, method: Method, agg: Aggregate) -> f64 {
    let (t, f) = (
        difference(report, |r| r.tpr, method),
        difference(report, |r| r.fpr, method),
    );
    match agg {
        Aggregate::WorstCase => t.max(f),
        Aggregate::Mean => (t + f) / 2.0,
    }
}

/// Equalized odds ratio: the TPR and FPR ratios combined by `agg` (worst case: the smaller).
pub fn equalized_odds_ratio(report: &GroupReport, method: Method, agg: Aggregate) -> f64 {
    let (t, f) = (
        ratio(report, |r| r.tpr, method),
        ratio(report, |r| r.fpr, method),
    );
    match agg {
        Aggregate::WorstCase => t.min(f),
        Aggregate::Mean => (t + f) / 2.0,
    }
}

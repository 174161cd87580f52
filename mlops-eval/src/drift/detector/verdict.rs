//! Verdicts: Evidently's comparison per method, the multiple-testing rules, the effect-size
//! floor of calibrated alarms, and the dataset verdict.

use mlops_core::{ColumnDrift, DriftReport};

use super::options::{DatasetRule, DetectorOptions, DriftMethod};
use super::report::{ColumnKind, ColumnReport};
use super::score::Scored;

/// Evidently's verdict for `value` (the p-value of a test, else the statistic).
pub(crate) fn verdict(method: DriftMethod, value: f64, threshold: f64) -> bool {
    match method {
        DriftMethod::Ks => value <= threshold,
        DriftMethod::Chisquare
        | DriftMethod::Chi2Contingency
        | DriftMethod::Z
        | DriftMethod::Anderson
        | DriftMethod::CramerVonMises => value < threshold,
        DriftMethod::EnergyDistance => value > threshold,
        _ => value >= threshold,
    }
}

/// Judges every column and the dataset: each method's rule (or the multiple-testing rule
/// for tests), then the effect floor for tests, then the dataset rule.
pub(crate) fn judge(
    scored: Vec<Scored>,
    opts: &DetectorOptions,
) -> (Vec<ColumnReport>, DriftReport) {
    let mut methods = Vec::with_capacity(scored.len());
    let mut reports = Vec::with_capacity(scored.len());
    for s in scored {
        methods.push(s.method);
        reports.push(s.report);
    }
    for (r, m) in reports.iter_mut().zip(&methods) {
        if let Some(m) = m {
            r.threshold = opts.threshold.unwrap_or(m.default_threshold());
            r.drifted = verdict(*m, r.p_value.unwrap_or(r.statistic), r.threshold);
        }
    }
    let tests: Vec<usize> = (0..reports.len())
        .filter(|&i| methods[i].is_some_and(DriftMethod::is_test) && reports[i].p_value.is_some())
        .collect();
    let m = tests.len().max(1) as f64;
    match opts.rule {
        DatasetRule::Share { .. } => {}
        DatasetRule::Bonferroni { alpha } => {
            for &i in &tests {
                let p = reports[i].p_value.unwrap_or(1.0);
                reports[i].threshold = alpha / m;
                reports[i].drifted = p < alpha / m;
            }
        }
        DatasetRule::BenjaminiHochberg { alpha } => {
            let mut ps: Vec<(f64, usize)> = tests
                .iter()
                .map(|&i| (reports[i].p_value.unwrap_or(1.0), i))
                .collect();
            ps.sort_by(|a, b| a.0.total_cmp(&b.0));
            // The largest k with p_(k) <= k alpha / m; every p up to it is rejected.
            let cut = ps
                .iter()
                .enumerate()
                .filter(|(k, (p, _))| *p <= (k + 1) as f64 / m * alpha)
                .map(|(_, (p, _))| *p)
                .next_back();
            for (p, i) in ps {
                reports[i].drifted = cut.is_some_and(|c| p <= c);
            }
        }
    }
    if let Some((numeric, categorical)) = opts.effect_floors() {
        for &i in &tests {
            let r = &mut reports[i];
            let floor = match r.kind {
                ColumnKind::Categorical => categorical,
                _ => numeric,
            };
            r.effect_floor = Some(floor);
            let large = r.effect_size.is_none_or(|e| e >= floor);
            r.below_min_effect = r.drifted && !large;
            r.drifted &= large;
        }
    }
    let n = reports.len().max(1) as f64;
    let drifted = reports.iter().filter(|r| r.drifted).count();
    let share = drifted as f64 / n;
    let dataset = match opts.rule {
        DatasetRule::Share { drift_share } => share >= drift_share,
        _ => drifted > 0,
    };
    let report = DriftReport {
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
    };
    (reports, report)
}

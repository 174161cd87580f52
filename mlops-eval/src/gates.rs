//! Gates: declarative rules over metrics that decide promotion, in the shape of MLflow's
//! `MetricThreshold` (threshold, minimum absolute and relative change against the champion,
//! greater-is-better), judged on the confidence bound rather than the point estimate when
//! an interval is known. Quality, bias (`demographic_parity_ratio >= 0.8`), latency
//! (`latency_p99_ms <= 50`) and cost rules are all rules over named metrics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use mlops_core::{Error, Result};

/// Whether a metric is better when larger (accuracy) or smaller (loss, latency, cost).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Larger is better.
    GreaterIsBetter,
    /// Smaller is better.
    LessIsBetter,
}

/// Checks an observed metric against an absolute threshold; the error names the metric,
/// the observed value and the threshold.
pub fn check_threshold(
    metric: &str,
    observed: f64,
    threshold: f64,
    direction: Direction,
) -> Result<bool> {
    if observed.is_nan() {
        return Err(Error::invalid(
            format!("value of metric {metric:?}"),
            "NaN",
            "a number",
        ));
    }
    Ok(match direction {
        Direction::GreaterIsBetter => observed >= threshold,
        Direction::LessIsBetter => observed <= threshold,
    })
}

/// One rule over one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateRule {
    /// The metric's name.
    pub metric: String,
    /// Which way is better.
    pub direction: Direction,
    /// The candidate must reach this value (at least, or at most for [`Direction::LessIsBetter`]).
    pub threshold: Option<f64>,
    /// The candidate must beat the champion by at least this much.
    pub min_absolute_change: Option<f64>,
    /// ... and by at least this fraction of the champion's value.
    pub min_relative_change: Option<f64>,
}

impl GateRule {
    /// A threshold rule.
    pub fn threshold(metric: impl Into<String>, direction: Direction, threshold: f64) -> Self {
        GateRule {
            metric: metric.into(),
            direction,
            threshold: Some(threshold),
            min_absolute_change: None,
            min_relative_change: None,
        }
    }

    /// A rule on the change against the champion.
    pub fn beats_champion(
        metric: impl Into<String>,
        direction: Direction,
        min_absolute_change: f64,
    ) -> Self {
        GateRule {
            metric: metric.into(),
            direction,
            threshold: None,
            min_absolute_change: Some(min_absolute_change),
            min_relative_change: None,
        }
    }
}

/// What was measured for one metric.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The candidate's value.
    pub candidate: f64,
    /// Confidence interval of the candidate's value, if known.
    pub candidate_ci: Option<(f64, f64)>,
    /// The champion's value on the same data, if there is a champion.
    pub champion: Option<f64>,
    /// Confidence interval of `candidate - champion` (paired bootstrap), if known.
    pub difference_ci: Option<(f64, f64)>,
}

/// The verdict on one rule, with the numbers that made it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleOutcome {
    /// The rule.
    pub rule: GateRule,
    /// The candidate's point value, if the metric was computed.
    pub observed: Option<f64>,
    /// The champion's value, if any.
    pub champion: Option<f64>,
    /// Whether the rule passed.
    pub passed: bool,
    /// Why, in words, with the values compared.
    pub reason: String,
}

/// The verdict of a gate: every rule with its outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    /// True when every rule passed.
    pub passed: bool,
    /// One outcome per rule, in rule order.
    pub outcomes: Vec<RuleOutcome>,
}

/// Judges every rule. With an interval, the conservative bound is used: the lower bound
/// when greater is better, the upper bound otherwise.
pub fn evaluate_gate(
    rules: &[GateRule],
    observations: &BTreeMap<String, Observation>,
) -> GateReport {
    let outcomes: Vec<RuleOutcome> = rules
        .iter()
        .map(|r| judge(r, observations.get(&r.metric)))
        .collect();
    GateReport {
        passed: outcomes.iter().all(|o| o.passed),
        outcomes,
    }
}

fn judge(rule: &GateRule, obs: Option<&Observation>) -> RuleOutcome {
    let fail = |reason: String, obs: Option<&Observation>| RuleOutcome {
        rule: rule.clone(),
        observed: obs.map(|o| o.candidate),
        champion: obs.and_then(|o| o.champion),
        passed: false,
        reason,
    };
    let Some(o) = obs else {
        return fail(format!("metric {:?} was not computed", rule.metric), None);
    };
    if o.candidate.is_nan() {
        return fail(format!("metric {:?} is NaN", rule.metric), obs);
    }
    let greater = rule.direction == Direction::GreaterIsBetter;
    let sign = if greater { 1.0 } else { -1.0 };
    let mut reasons = Vec::new();
    let mut passed = true;
    if let Some(t) = rule.threshold {
        let (value, what) = match o.candidate_ci {
            Some((lo, hi)) => (
                if greater { lo } else { hi },
                if greater {
                    "CI lower bound"
                } else {
                    "CI upper bound"
                },
            ),
            None => (o.candidate, "value"),
        };
        let ok = sign * (value - t) >= 0.0;
        passed &= ok;
        let cmp = match (ok, greater) {
            (true, true) => ">=",
            (true, false) => "<=",
            (false, true) => "<",
            (false, false) => ">",
        };
        reasons.push(format!("{what} {} {cmp} threshold {t}", num(value)));
    }
    if rule.min_absolute_change.is_some() || rule.min_relative_change.is_some() {
        match o.champion {
            None => reasons.push("no champion: change rules pass by default".into()),
            Some(champ) => {
                // Improvement in the "better" direction, judged on the interval's bound.
                let (improvement, what) = match o.difference_ci {
                    Some((lo, hi)) => (if greater { lo } else { -hi }, "improvement (CI bound)"),
                    None => (sign * (o.candidate - champ), "improvement"),
                };
                if let Some(min) = rule.min_absolute_change {
                    let ok = improvement >= min;
                    passed &= ok;
                    reasons.push(format!(
                        "{what} {} {} minimum absolute change {min} over champion {}",
                        num(improvement),
                        if ok { ">=" } else { "<" },
                        num(champ)
                    ));
                }
                if let Some(min) = rule.min_relative_change {
                    let rel = if champ == 0.0 {
                        f64::INFINITY
                    } else {
                        improvement / champ.abs()
                    };
                    let ok = rel >= min;
                    passed &= ok;
                    reasons.push(format!(
                        "relative {what} {} {} minimum relative change {min}",
                        num(rel),
                        if ok { ">=" } else { "<" }
                    ));
                }
            }
        }
    }
    RuleOutcome {
        rule: rule.clone(),
        observed: Some(o.candidate),
        champion: o.champion,
        passed,
        reason: reasons.join("; "),
    }
}

/// A value in a reason: six decimals, or six significant digits for small magnitudes so
/// that a cost of 1.2e-6 does not read as 0.000001.
fn num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() || v.abs() >= 1e-3 {
        format!("{v:.6}")
    } else {
        format!("{v:.5e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_respect_direction() {
        assert!(check_threshold("acc", 0.91, 0.9, Direction::GreaterIsBetter).unwrap());
        assert!(!check_threshold("loss", 0.91, 0.9, Direction::LessIsBetter).unwrap());
        assert!(check_threshold("acc", f64::NAN, 0.9, Direction::GreaterIsBetter).is_err());
    }

    fn obs(
        candidate: f64,
        ci: Option<(f64, f64)>,
        champion: Option<f64>,
        diff: Option<(f64, f64)>,
    ) -> Observation {
        Observation {
            candidate,
            candidate_ci: ci,
            champion,
            difference_ci: diff,
        }
    }

    #[test]
    fn gates_judge_the_confidence_bound_and_say_why() {
        let rules = vec![
            GateRule::threshold("accuracy", Direction::GreaterIsBetter, 0.90),
            GateRule::beats_champion("accuracy", Direction::GreaterIsBetter, 0.0),
            GateRule::threshold("latency_p99_ms", Direction::LessIsBetter, 50.0),
            GateRule::threshold("demographic_parity_ratio", Direction::GreaterIsBetter, 0.8),
        ];
        let mut m = BTreeMap::new();
        // Point estimate 0.91 passes, but the interval's lower bound 0.89 does not.
        m.insert(
            "accuracy".to_string(),
            obs(0.91, Some((0.89, 0.93)), Some(0.90), Some((-0.004, 0.02))),
        );
        m.insert("latency_p99_ms".to_string(), obs(42.0, None, None, None));
        let report = evaluate_gate(&rules, &m);
        assert!(!report.passed);
        let passed: Vec<bool> = report.outcomes.iter().map(|o| o.passed).collect();
        assert_eq!(passed, [false, false, true, false]);
        assert!(
            report.outcomes[0]
                .reason
                .contains("CI lower bound 0.890000"),
            "{}",
            report.outcomes[0].reason
        );
        assert!(
            report.outcomes[1].reason.contains("-0.004"),
            "{}",
            report.outcomes[1].reason
        );
        assert!(report.outcomes[3].reason.contains("not computed"));

        m.insert(
            "accuracy".to_string(),
            obs(0.95, Some((0.93, 0.97)), Some(0.90), Some((0.03, 0.07))),
        );
        m.insert(
            "demographic_parity_ratio".to_string(),
            obs(0.85, None, None, None),
        );
        let report = evaluate_gate(&rules, &m);
        assert!(report.passed, "{report:?}");
        let rel = vec![GateRule {
            min_relative_change: Some(0.05),
            ..GateRule::beats_champion("accuracy", Direction::GreaterIsBetter, 0.0)
        }];
        assert!(!evaluate_gate(&rel, &m).passed, "0.03 / 0.90 < 5%");
    }
}

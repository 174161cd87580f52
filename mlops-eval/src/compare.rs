//! Comparing a candidate with the champion under identical conditions: evaluation
//! manifests that must match, paired bootstrap confidence intervals, and McNemar's test.
//! Every resampling is seeded with the frozen [`Rng`], so the same seed
//! gives bit-identical results on every machine.

use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, ChiSquared, ContinuousCDF, DiscreteCDF};

use crate::rng::Rng;
use mlops_core::{Error, Result};

/// The version of the metric implementations; part of every manifest, so that evaluations
/// computed by different metric code are never compared.
pub const METRICS_VERSION: &str = concat!("mlops-eval/", env!("CARGO_PKG_VERSION"));

/// What an evaluation ran on. Two evaluations may be compared only when everything but
/// the model is equal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalManifest {
    /// Content id of the evaluation data.
    pub dataset_id: String,
    /// Which split (`test`, `eval`, ...).
    pub split: String,
    /// Seed of every random choice (bootstrap, sampling).
    pub seed: u64,
    /// [`METRICS_VERSION`] of the code that computed the metrics.
    pub metrics_version: String,
    /// Digest of the evaluated model.
    pub model_digest: String,
}

/// Refuses to compare two evaluations whose manifests differ in anything but the model;
/// the error lists every difference with both values.
pub fn check_comparable(candidate: &EvalManifest, champion: &EvalManifest) -> Result<()> {
    let mut diffs = Vec::new();
    let mut check = |field: &str, a: String, b: String| {
        if a != b {
            diffs.push(format!("{field}: candidate {a:?}, champion {b:?}"));
        }
    };
    check(
        "dataset_id",
        candidate.dataset_id.clone(),
        champion.dataset_id.clone(),
    );
    check("split", candidate.split.clone(), champion.split.clone());
    check(
        "seed",
        candidate.seed.to_string(),
        champion.seed.to_string(),
    );
    check(
        "metrics_version",
        candidate.metrics_version.clone(),
        champion.metrics_version.clone(),
    );
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(Error::Conflict(format!(
            "evaluations are not comparable under identical conditions: {}",
            diffs.join("; ")
        )))
    }
}

/// A paired bootstrap of the difference `metric(candidate) - metric(champion)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootstrapResult {
    /// The metric of the candidate on the full data.
    pub candidate: f64,
    /// The metric of the champion on the full data.
    pub champion: f64,
    /// `candidate - champion` on the full data.
    pub difference: f64,
    /// Lower bound of the confidence interval of the difference (percentile method).
    pub ci_low: f64,
    /// Upper bound.
    pub ci_high: f64,
    /// Confidence level, e.g. 0.95.
    pub confidence: f64,
    /// Resamples drawn.
    pub resamples: usize,
    /// Seed used.
    pub seed: u64,
}

/// Options of [`paired_bootstrap`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BootstrapOptions {
    /// Resamples (default 9,999).
    pub resamples: usize,
    /// Confidence level (default 0.95).
    pub confidence: f64,
    /// Seed (default 0).
    pub seed: u64,
}

impl BootstrapOptions {
    /// Refuses zero resamples and a confidence outside (0, 1).
    pub fn check(&self) -> Result<()> {
        if self.resamples == 0 || !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(Error::invalid(
                "bootstrap options",
                format!(
                    "{} resamples at confidence {}",
                    self.resamples, self.confidence
                ),
                "at least one resample and a confidence strictly between 0 and 1",
            ));
        }
        Ok(())
    }
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        BootstrapOptions {
            resamples: 9_999,
            confidence: 0.95,
            seed: 0,
        }
    }
}

/// Paired bootstrap: each resample draws `n` row indices with replacement and evaluates
/// both models on the same rows. `metric(model, rows)` computes a metric of model 0 (the
/// candidate) or 1 (the champion) on the given row indices.
pub fn paired_bootstrap(
    n: usize,
    metric: impl Fn(usize, &[usize]) -> Result<f64>,
    options: BootstrapOptions,
) -> Result<BootstrapResult> {
    if n == 0 {
        return Err(Error::invalid(
            "bootstrap sample size",
            "0",
            "at least one row",
        ));
    }
    options.check()?;
    let all: Vec<usize> = (0..n).collect();
    let (a, b) = (metric(0, &all)?, metric(1, &all)?);
    let mut rng = Rng::new(options.seed);
    let mut idx = vec![0usize; n];
    let mut diffs = Vec::with_capacity(options.resamples);
    for _ in 0..options.resamples {
        for i in idx.iter_mut() {
            *i = rng.below(n as u64) as usize;
        }
        diffs.push(metric(0, &idx)? - metric(1, &idx)?);
    }
    diffs.sort_by(f64::total_cmp);
    let alpha = (1.0 - options.confidence) / 2.0;
    Ok(BootstrapResult {
        candidate: a,
        champion: b,
        difference: a - b,
        ci_low: percentile(&diffs, alpha),
        ci_high: percentile(&diffs, 1.0 - alpha),
        confidence: options.confidence,
        resamples: options.resamples,
        seed: options.seed,
    })
}

/// numpy's default (linear) percentile of sorted values, `q` in `[0, 1]`.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The outcome of McNemar's test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct McNemarResult {
    /// Rows the candidate got right and the champion wrong.
    pub b: u64,
    /// Rows the champion got right and the candidate wrong.
    pub c: u64,
    /// The statistic: `min(b, c)` for the exact test, the chi-square value otherwise.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Whether the exact binomial test was used (`b + c < 25`).
    pub exact: bool,
}

/// McNemar's test on paired correctness. Exact (two-sided binomial, as statsmodels'
/// `mcnemar(exact=True)`) when `b + c < 25`; otherwise chi-square with one degree of freedom
/// and Edwards' continuity correction `(|b - c| - 1)^2 / (b + c)` (statsmodels'
/// `exact=False, correction=True`).
pub fn mcnemar(candidate_correct: &[bool], champion_correct: &[bool]) -> Result<McNemarResult> {
    if candidate_correct.len() != champion_correct.len() {
        return Err(Error::invalid(
            "paired correctness vectors",
            format!(
                "{} and {} rows",
                candidate_correct.len(),
                champion_correct.len()
            ),
            "the same rows for both models",
        ));
    }
    let b = candidate_correct
        .iter()
        .zip(champion_correct)
        .filter(|(a, c)| **a && !**c)
        .count() as u64;
    let c = candidate_correct
        .iter()
        .zip(champion_correct)
        .filter(|(a, c)| !**a && **c)
        .count() as u64;
    let n = b + c;
    if n == 0 {
        return Ok(McNemarResult {
            b,
            c,
            statistic: 0.0,
            p_value: 1.0,
            exact: true,
        });
    }
    if n < 25 {
        let k = b.min(c);
        let dist = Binomial::new(0.5, n)
            .map_err(|e| Error::invalid("McNemar counts", n.to_string(), e.to_string()))?;
        let p = (2.0 * dist.cdf(k)).min(1.0);
        return Ok(McNemarResult {
            b,
            c,
            statistic: k as f64,
            p_value: p,
            exact: true,
        });
    }
    let diff = (b as f64 - c as f64).abs() - 1.0;
    let stat = diff.max(0.0).powi(2) / n as f64;
    let chi2 =
        ChiSquared::new(1.0).map_err(|e| Error::invalid("chi-square", "1", e.to_string()))?;
    Ok(McNemarResult {
        b,
        c,
        statistic: stat,
        p_value: 1.0 - chi2.cdf(stat),
        exact: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(model: &str) -> EvalManifest {
        EvalManifest {
            dataset_id: "ab".repeat(32),
            split: "test".into(),
            seed: 7,
            metrics_version: METRICS_VERSION.into(),
            model_digest: model.into(),
        }
    }

    #[test]
    fn comparisons_are_refused_unless_only_the_model_differs() {
        assert!(check_comparable(&manifest("m1"), &manifest("m2")).is_ok());
        let mut other = manifest("m2");
        other.split = "eval".into();
        other.seed = 8;
        let err = check_comparable(&manifest("m1"), &other)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("split: candidate \"test\", champion \"eval\""),
            "{err}"
        );
        assert!(
            err.contains("seed: candidate \"7\", champion \"8\""),
            "{err}"
        );
    }

    fn accuracy(correct: &[bool], rows: &[usize]) -> f64 {
        rows.iter().filter(|&&i| correct[i]).count() as f64 / rows.len() as f64
    }

    #[test]
    fn bootstrap_is_bit_identical_for_a_seed_and_brackets_the_difference() {
        let a: Vec<bool> = (0..500).map(|i| i % 10 != 0).collect();
        let b: Vec<bool> = (0..500).map(|i| i % 5 != 0).collect();
        let metric = |m: usize, rows: &[usize]| Ok(accuracy(if m == 0 { &a } else { &b }, rows));
        let opts = BootstrapOptions {
            resamples: 2000,
            seed: 42,
            ..Default::default()
        };
        let r1 = paired_bootstrap(500, metric, opts).unwrap();
        let r2 = paired_bootstrap(500, metric, opts).unwrap();
        assert_eq!(r1, r2);
        assert!((r1.difference - 0.1).abs() < 1e-12);
        assert!(
            r1.ci_low < 0.1 && 0.1 < r1.ci_high && r1.ci_low > 0.0,
            "{r1:?}"
        );
        let other_seed =
            paired_bootstrap(500, metric, BootstrapOptions { seed: 43, ..opts }).unwrap();
        assert_ne!(other_seed.ci_low, r1.ci_low);
        assert!(paired_bootstrap(0, metric, opts).is_err());
    }

    #[test]
    fn mcnemar_matches_statsmodels() {
        // statsmodels.stats.contingency_tables.mcnemar([[0, 3], [9, 0]], exact=True).pvalue
        let (a, b): (Vec<bool>, Vec<bool>) = (0..12).map(|i| (i < 3, i >= 3)).unzip();
        let r = mcnemar(&a, &b).unwrap();
        assert_eq!((r.b, r.c, r.exact), (3, 9, true));
        assert!((r.p_value - 0.145_996_093_75).abs() < 1e-12, "{r:?}");
        // mcnemar([[0, 30], [10, 0]], exact=False, correction=True): stat 9.025, p 0.002663...
        let (a, b): (Vec<bool>, Vec<bool>) = (0..40).map(|i| (i < 30, i >= 30)).unzip();
        let r = mcnemar(&a, &b).unwrap();
        assert!(!r.exact && (r.statistic - 9.025).abs() < 1e-12);
        assert!(
            (r.p_value - 0.002_663_119_259_138_558).abs() < 1e-9,
            "{r:?}"
        );
        assert!(mcnemar(&[true], &[]).is_err());
    }
}

//! Tests on category counts: chi-square goodness of fit (Evidently's `chisquare`, the
//! reference taken as exact), chi-square contingency (NannyML, alibi-detect), and the
//! two-proportion z-test (Evidently's `z`).

use std::collections::BTreeMap;

use mlops_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::special::{chi2_sf, norm_cdf};

/// A chi-square goodness-of-fit result (`scipy.stats.chisquare`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChisquareResult {
    /// The statistic (`+inf` when an observed category has zero expected count).
    pub statistic: f64,
    /// The p-value `chi2.sf(statistic, k - 1)`.
    pub p_value: f64,
    /// Degrees of freedom.
    pub dof: usize,
}

/// `scipy.stats.chisquare(f_obs, f_exp)`: `sum (obs - exp)^2 / exp` with `k - 1` degrees
/// of freedom. Errors on empty or mismatched input, negative or non-finite counts.
pub fn chisquare(f_obs: &[f64], f_exp: &[f64]) -> Result<ChisquareResult> {
    if f_obs.is_empty() || f_obs.len() != f_exp.len() {
        return Err(Error::invalid(
            "chisquare lengths",
            format!("{} observed, {} expected", f_obs.len(), f_exp.len()),
            "equal, non-zero lengths",
        ));
    }
    if let Some(bad) = f_obs
        .iter()
        .chain(f_exp)
        .find(|v| !v.is_finite() || **v < 0.0)
    {
        return Err(Error::invalid(
            "chisquare frequency",
            format!("{bad}"),
            "finite, non-negative",
        ));
    }
    let mut stat = 0.0;
    for (&o, &e) in f_obs.iter().zip(f_exp) {
        let d = o - e;
        stat += d * d / e;
    }
    let dof = f_obs.len() - 1;
    let p = if dof == 0 {
        f64::NAN
    } else {
        chi2_sf(stat, dof as f64)
    };
    Ok(ChisquareResult {
        statistic: stat,
        p_value: p,
        dof,
    })
}

/// Evidently's `chisquare` stattest on category counts: the union of categories,
/// `f_exp = ref_count * n_cur / n_ref`, `f_obs = cur_count`. A category absent from the
/// reference gives `+inf` and p = 0.
pub fn chisquare_counts<K: Ord + Clone>(
    reference: &BTreeMap<K, u64>,
    current: &BTreeMap<K, u64>,
) -> Result<ChisquareResult> {
    let n_ref: u64 = reference.values().sum();
    let n_cur: u64 = current.values().sum();
    if n_ref == 0 || n_cur == 0 {
        return Err(Error::invalid(
            "chisquare sample size",
            format!("{n_ref} reference, {n_cur} current"),
            "two non-empty samples",
        ));
    }
    let k_norm = n_cur as f64 / n_ref as f64;
    let (obs, exp) = union_counts(reference, current);
    let f_exp: Vec<f64> = exp.iter().map(|c| *c as f64 * k_norm).collect();
    let f_obs: Vec<f64> = obs.iter().map(|c| *c as f64).collect();
    chisquare(&f_obs, &f_exp)
}

/// Current and reference counts on the union of categories (sorted by key).
pub(crate) fn union_counts<K: Ord + Clone>(
    reference: &BTreeMap<K, u64>,
    current: &BTreeMap<K, u64>,
) -> (Vec<u64>, Vec<u64>) {
    let mut keys: Vec<&K> = reference.keys().chain(current.keys()).collect();
    keys.sort();
    keys.dedup();
    let obs = keys
        .iter()
        .map(|k| current.get(*k).copied().unwrap_or(0))
        .collect();
    let exp = keys
        .iter()
        .map(|k| reference.get(*k).copied().unwrap_or(0))
        .collect();
    (obs, exp)
}

/// A chi-square contingency result (`scipy.stats.chi2_contingency`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chi2ContingencyResult {
    /// The statistic.
    pub statistic: f64,
    /// The p-value.
    pub p_value: f64,
    /// Degrees of freedom `(r - 1)(c - 1)`.
    pub dof: usize,
    /// Expected frequencies `row * col / total`, row-major.
    pub expected: Vec<f64>,
}

/// `scipy.stats.chi2_contingency(table, correction)` for an `r x c` table given row-major
/// (`rows` rows). Yates' correction applies only when `dof == 1` and `correction`. An
/// expected frequency of zero (an empty row or column) is an error, as in scipy.
pub fn chi2_contingency(
    table: &[f64],
    rows: usize,
    correction: bool,
) -> Result<Chi2ContingencyResult> {
    if rows == 0 || table.is_empty() || !table.len().is_multiple_of(rows) {
        return Err(Error::invalid(
            "chi2_contingency table",
            format!("{} cells in {rows} rows", table.len()),
            "a non-empty r x c table",
        ));
    }
    if let Some(bad) = table.iter().find(|v| !v.is_finite() || **v < 0.0) {
        return Err(Error::invalid(
            "chi2_contingency count",
            format!("{bad}"),
            "finite, non-negative",
        ));
    }
    let cols = table.len() / rows;
    let row_sums: Vec<f64> = (0..rows)
        .map(|r| table[r * cols..(r + 1) * cols].iter().sum())
        .collect();
    let col_sums: Vec<f64> = (0..cols)
        .map(|c| (0..rows).map(|r| table[r * cols + c]).sum())
        .collect();
    let total: f64 = table.iter().sum();
    let mut expected = vec![0.0; table.len()];
    for r in 0..rows {
        for c in 0..cols {
            expected[r * cols + c] = row_sums[r] * col_sums[c] / total;
        }
    }
    if let Some(pos) = expected.iter().position(|e| *e == 0.0) {
        return Err(Error::invalid(
            "chi2_contingency expected frequency",
            format!("0 at row {}, column {}", pos / cols, pos % cols),
            "no empty row or column",
        ));
    }
    let dof = table.len() + 1 - rows - cols;
    if dof == 0 {
        return Ok(Chi2ContingencyResult {
            statistic: 0.0,
            p_value: 1.0,
            dof,
            expected,
        });
    }
    let mut stat = 0.0;
    for (&o, &e) in table.iter().zip(&expected) {
        let mut o = o;
        if dof == 1 && correction {
            let diff = e - o;
            o += diff.abs().min(0.5) * diff.signum() * f64::from(diff != 0.0);
        }
        let d = o - e;
        stat += d * d / e;
    }
    Ok(Chi2ContingencyResult {
        statistic: stat,
        p_value: chi2_sf(stat, dof as f64),
        dof,
        expected,
    })
}

/// A two-proportion z-test result.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZTestResult {
    /// The pooled z statistic `(p1 - p2) / sqrt(P (1 - P) (1/n1 + 1/n2))`.
    pub statistic: f64,
    /// The two-sided p-value `2 (1 - Phi(|z|))`.
    pub p_value: f64,
}

/// Evidently's `z` stattest: pooled two-proportion z-test of `k1` successes in `n1`
/// (reference) against `k2` in `n2` (current). When both samples are constant and equal
/// (pooled proportion 0 or 1) the p-value is 1, as Evidently special-cases it.
pub fn proportions_ztest(k1: u64, n1: u64, k2: u64, n2: u64) -> Result<ZTestResult> {
    if n1 == 0 || n2 == 0 || k1 > n1 || k2 > n2 {
        return Err(Error::invalid(
            "proportions_ztest counts",
            format!("{k1}/{n1} and {k2}/{n2}"),
            "non-empty samples with successes <= size",
        ));
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let p1 = k1 as f64 / n1f;
    let p2 = k2 as f64 / n2f;
    let pooled = (p1 * n1f + p2 * n2f) / (n1f + n2f);
    if pooled == 0.0 || pooled == 1.0 {
        return Ok(ZTestResult {
            statistic: 0.0,
            p_value: 1.0,
        });
    }
    let z = (p1 - p2) / (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    Ok(ZTestResult {
        statistic: z,
        p_value: 2.0 * (1.0 - norm_cdf(z.abs())),
    })
}

/// Result of [`fisher_exact`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FisherResult {
    /// The sample odds ratio `a d / (b c)` (`+inf` when `b` or `c` is 0, NaN when a margin
    /// is 0).
    pub statistic: f64,
    /// The p-value.
    pub p_value: f64,
}

/// `scipy.stats.fisher_exact([[a, b], [c, d]], alternative)` for a 2x2 table. Unlike
/// Evidently's wrapper, the two samples need not have equal sizes. The hypergeometric
/// probabilities come from the ratio recurrence, normalised over the support.
pub fn fisher_exact(table: [[u64; 2]; 2], alternative: super::ks::Alternative) -> FisherResult {
    use super::ks::Alternative;
    let [[a, b], [c, d]] = table;
    if a + b == 0 || c + d == 0 || a + c == 0 || b + d == 0 {
        return FisherResult {
            statistic: f64::NAN,
            p_value: 1.0,
        };
    }
    let odds = if c > 0 && b > 0 {
        (a as f64 * d as f64) / (b as f64 * c as f64)
    } else {
        f64::INFINITY
    };
    let (n1, n2, n) = (a + b, c + d, a + c);
    let lo = n.saturating_sub(n2);
    let hi = n.min(n1);
    // Unnormalised pmf over lo..=hi by the ratio recurrence, scaled at the largest term.
    let mut w = Vec::with_capacity((hi - lo + 1) as usize);
    let mut logv = 0.0f64;
    let mut logs = Vec::with_capacity(w.capacity());
    for x in lo..=hi {
        logs.push(logv);
        if x < hi {
            let (xf, n1f, nf, n2f) = (x as f64, n1 as f64, n as f64, n2 as f64);
            logv += ((n1f - xf) * (nf - xf)).ln() - ((xf + 1.0) * (n2f - nf + xf + 1.0)).ln();
        }
    }
    let mx = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    w.extend(logs.iter().map(|l| (l - mx).exp()));
    let total: f64 = w.iter().sum();
    let pmf = |x: u64| -> f64 {
        if x < lo || x > hi {
            0.0
        } else {
            w[(x - lo) as usize] / total
        }
    };
    let sum_range = |from: u64, to: u64| -> f64 {
        if from > to || to < lo || from > hi {
            return 0.0;
        }
        let (f, t) = (from.max(lo), to.min(hi));
        w[(f - lo) as usize..=(t - lo) as usize].iter().sum::<f64>() / total
    };
    let p = match alternative {
        Alternative::Less => sum_range(0, a),
        Alternative::Greater => sum_range(a, hi),
        Alternative::TwoSided => {
            let mode = ((n + 1) as f64 * (n1 + 1) as f64 / (n1 + n2 + 2) as f64) as u64;
            let pexact = pmf(a);
            let pmode = pmf(mode);
            let gamma = 1.0 + 1e-14;
            if (pexact - pmode).abs() / pexact.max(pmode) <= 1e-14 {
                1.0
            } else if a < mode {
                let plower = sum_range(0, a);
                // Upper tail: x >= mode with pmf(x) < pexact * gamma.
                let upper: f64 = (mode..=hi)
                    .filter(|x| pmf(*x) < pexact * gamma)
                    .map(pmf)
                    .sum();
                plower + upper
            } else {
                let pupper = sum_range(a, hi);
                let lower: f64 = (lo..=mode.min(hi))
                    .filter(|x| pmf(*x) <= pexact * gamma)
                    .map(pmf)
                    .sum();
                pupper + lower
            }
        }
    };
    FisherResult {
        statistic: odds,
        p_value: p.min(1.0),
    }
}

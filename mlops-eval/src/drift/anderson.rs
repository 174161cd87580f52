//! k-sample Anderson-Darling test with `scipy.stats.anderson_ksamp` semantics (the midrank
//! statistic `A2akN` of Scholz and Stephens, standardised; the p-value interpolated from
//! the critical-value table, capped to `[0.001, 0.25]` as scipy does). Evidently's
//! `anderson` stattest calls it with `[reference, current]`.

use mlops_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::sorted_finite;

/// Result of [`anderson_ksamp`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AndersonKsampResult {
    /// The standardised statistic.
    pub statistic: f64,
    /// Critical values at significance 25%, 10%, 5%, 2.5%, 1%, 0.5%, 0.1%.
    pub critical_values: Vec<f64>,
    /// The interpolated p-value, capped to `[0.001, 0.25]`.
    pub p_value: f64,
}

const SIG: [f64; 7] = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001];

/// `scipy.stats.anderson_ksamp(samples)` with the default midrank statistic. Needs at
/// least two samples, each non-empty and finite, and not all values equal.
pub fn anderson_ksamp(samples: &[&[f64]]) -> Result<AndersonKsampResult> {
    let k = samples.len();
    if k < 2 {
        return Err(Error::invalid(
            "anderson_ksamp samples",
            format!("{k}"),
            "at least two samples",
        ));
    }
    let sorted: Vec<Vec<f64>> = samples
        .iter()
        .map(|s| sorted_finite(s, "anderson_ksamp sample"))
        .collect::<Result<_>>()?;
    let mut z: Vec<f64> = sorted.iter().flatten().copied().collect();
    super::sort_f64(&mut z);
    let n_total = z.len();
    let mut zstar = z.clone();
    zstar.dedup();
    if zstar.len() < 2 {
        return Err(Error::invalid(
            "anderson_ksamp values",
            "all observations equal",
            "at least two distinct values",
        ));
    }
    let nf = n_total as f64;
    // A2akN (midrank).
    let left: Vec<f64> = zstar
        .iter()
        .map(|v| z.partition_point(|a| a < v) as f64)
        .collect();
    let lj: Vec<f64> = if n_total == zstar.len() {
        vec![1.0; zstar.len()]
    } else {
        zstar
            .iter()
            .zip(&left)
            .map(|(v, l)| z.partition_point(|a| a <= v) as f64 - l)
            .collect()
    };
    let bj: Vec<f64> = left.iter().zip(&lj).map(|(l, j)| l + j / 2.0).collect();
    let mut a2 = 0.0;
    for s in &sorted {
        let ni = s.len() as f64;
        let mut inner_sum = 0.0;
        for (jx, v) in zstar.iter().enumerate() {
            let right = s.partition_point(|a| a <= v) as f64;
            let lft = s.partition_point(|a| a < v) as f64;
            let mij = right - (right - lft) / 2.0;
            let d = nf * mij - bj[jx] * ni;
            inner_sum += lj[jx] / nf * d * d / (bj[jx] * (nf - bj[jx]) - nf * lj[jx] / 4.0);
        }
        a2 += inner_sum / ni;
    }
    a2 *= (nf - 1.0) / nf;
    let sizes: Vec<usize> = sorted.iter().map(Vec::len).collect();
    standardise(a2, n_total, &sizes)
}

/// scipy's standardisation of the midrank statistic `a2` (`A2akN`) of `sizes.len()` samples
/// with `n_total` values in all, its critical values and the interpolated p-value.
pub(crate) fn standardise(a2: f64, n_total: usize, sizes: &[usize]) -> Result<AndersonKsampResult> {
    let k = sizes.len();
    let nf = n_total as f64;
    let kf = k as f64;
    let hh: f64 = sizes.iter().map(|s| 1.0 / *s as f64).sum();
    // hs_cs = cumsum(1 / arange(N-1, 1, -1)); h = hs_cs[-1] + 1, g = sum(hs_cs / arange(2, N)),
    // streamed in numpy's order.
    let (mut acc, mut g) = (0.0, 0.0);
    let mut idx = 0usize; // position in hs_cs
    let mut i = n_total as i64 - 1;
    while i > 1 {
        acc += 1.0 / i as f64;
        g += acc / (idx + 2) as f64;
        idx += 1;
        i -= 1;
    }
    let h = acc + 1.0;
    let a = (4.0 * g - 6.0) * (kf - 1.0) + (10.0 - 6.0 * g) * hh;
    let b = (2.0 * g - 4.0) * kf * kf + 8.0 * h * kf + (2.0 * g - 14.0 * h - 4.0) * hh - 8.0 * h
        + 4.0 * g
        - 6.0;
    let c = (6.0 * h + 2.0 * g - 2.0) * kf * kf
        + (4.0 * h - 4.0 * g + 6.0) * kf
        + (2.0 * h - 6.0) * hh
        + 4.0 * h;
    let d = (2.0 * h + 6.0) * kf * kf - 4.0 * h * kf;
    let sigmasq =
        (a * nf.powi(3) + b * nf * nf + c * nf + d) / ((nf - 1.0) * (nf - 2.0) * (nf - 3.0));
    let m = kf - 1.0;
    let stat = (a2 - m) / sigmasq.sqrt();

    let b0 = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
    let b1 = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
    let b2 = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];
    let critical: Vec<f64> = (0..7)
        .map(|i| b0[i] + b1[i] / m.sqrt() + b2[i] / m)
        .collect();
    let cmin = critical.iter().copied().fold(f64::INFINITY, f64::min);
    let cmax = critical.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let p = if stat < cmin {
        0.25
    } else if stat > cmax {
        0.001
    } else {
        let logsig: Vec<f64> = SIG.iter().map(|s| s.ln()).collect();
        let coef = polyfit2(&critical, &logsig);
        (coef[0] * stat * stat + coef[1] * stat + coef[2]).exp()
    };
    if !stat.is_finite() {
        return Err(Error::invalid(
            "anderson_ksamp sample sizes",
            format!("N = {n_total}"),
            "at least 4 observations",
        ));
    }
    Ok(AndersonKsampResult {
        statistic: stat,
        critical_values: critical,
        p_value: p,
    })
}

/// Least-squares quadratic `[a, b, c]` for `y ~ a x^2 + b x + c` (numpy's `polyfit(x, y, 2)`),
/// by Householder QR on the column-scaled Vandermonde matrix as numpy's `lstsq` would.
fn polyfit2(x: &[f64], y: &[f64]) -> [f64; 3] {
    let n = x.len();
    let mut cols: Vec<Vec<f64>> = vec![x.iter().map(|v| v * v).collect(), x.to_vec(), vec![1.0; n]];
    let scale: Vec<f64> = cols
        .iter()
        .map(|c| c.iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect();
    for (c, s) in cols.iter_mut().zip(&scale) {
        c.iter_mut().for_each(|v| *v /= s);
    }
    let mut rhs = y.to_vec();
    // Householder QR.
    for j in 0..3 {
        let norm: f64 = cols[j][j..].iter().map(|v| v * v).sum::<f64>().sqrt();
        let alpha = if cols[j][j] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = cols[j][j..].to_vec();
        v[0] -= alpha;
        let vnorm2: f64 = v.iter().map(|t| t * t).sum();
        if vnorm2 == 0.0 {
            continue;
        }
        for col in cols.iter_mut().skip(j) {
            let dot: f64 = v.iter().zip(&col[j..]).map(|(a, b)| a * b).sum();
            let f = 2.0 * dot / vnorm2;
            for (t, a) in col[j..].iter_mut().zip(&v) {
                *t -= f * a;
            }
        }
        let dot: f64 = v.iter().zip(&rhs[j..]).map(|(a, b)| a * b).sum();
        let f = 2.0 * dot / vnorm2;
        for (t, a) in rhs[j..].iter_mut().zip(&v) {
            *t -= f * a;
        }
    }
    let mut coef = [0.0; 3];
    for j in (0..3).rev() {
        let mut s = rhs[j];
        for (l, c) in coef.iter().enumerate().skip(j + 1) {
            s -= cols[l][j] * c;
        }
        coef[j] = s / cols[j][j];
    }
    for (c, s) in coef.iter_mut().zip(&scale) {
        *c /= s;
    }
    coef
}

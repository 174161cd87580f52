//! Two-sample Cramér-von Mises test with `scipy.stats.cramervonmises_2samp` semantics:
//! the statistic from average ranks, the exact p-value (Xiao, Gordon and Yakovlev's
//! generating functions) when both samples have at most 20 values, the asymptotic one
//! (Csörgő and Faraway's series, summed until a term falls below 1e-7) otherwise.

use std::collections::BTreeMap;

use mlops_core::{Error, Result};
use serde::{Deserialize, Serialize};
use statrs::function::gamma::ln_gamma;

use super::sorted_finite;

/// How the p-value is computed, as scipy's `method`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CvmMethod {
    /// Exact when both samples have at most 20 values, asymptotic otherwise.
    #[default]
    Auto,
    /// The exact distribution.
    Exact,
    /// The asymptotic distribution.
    Asymptotic,
}

/// Result of [`cramervonmises_2samp`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CvmResult {
    /// The statistic `T`.
    pub statistic: f64,
    /// The p-value.
    pub p_value: f64,
}

/// `scipy.stats.cramervonmises_2samp(x, y, method)`. Each sample needs at least two finite
/// values; the exact method is refused above 20 values per side (its cost grows fast).
pub fn cramervonmises_2samp(x: &[f64], y: &[f64], method: CvmMethod) -> Result<CvmResult> {
    let xa = sorted_finite(x, "cramervonmises_2samp first sample")?;
    let ya = sorted_finite(y, "cramervonmises_2samp second sample")?;
    let (nx, ny) = (xa.len(), ya.len());
    let exact = use_exact(nx, ny, method)?;
    // Average ranks in the pooled sample.
    let mut all = Vec::with_capacity(nx + ny);
    all.extend_from_slice(&xa);
    all.extend_from_slice(&ya);
    super::sort_f64(&mut all);
    let rank = |v: f64| {
        let lo = all.partition_point(|a| *a < v);
        let hi = all.partition_point(|a| *a <= v);
        (lo + 1 + hi) as f64 / 2.0
    };
    let sx: f64 = xa
        .iter()
        .enumerate()
        .map(|(i, v)| (rank(*v) - (i + 1) as f64).powi(2))
        .sum();
    let sy: f64 = ya
        .iter()
        .enumerate()
        .map(|(i, v)| (rank(*v) - (i + 1) as f64).powi(2))
        .sum();
    Ok(from_rank_sums(sx, sy, nx, ny, exact))
}

/// Whether scipy's `method` computes the exact p-value for samples of `nx` and `ny` values
/// (an error below two values per side, or for `Exact` above 20).
pub(crate) fn use_exact(nx: usize, ny: usize, method: CvmMethod) -> Result<bool> {
    if nx < 2 || ny < 2 {
        return Err(Error::invalid(
            "cramervonmises_2samp sample size",
            format!("{nx} and {ny}"),
            "at least two observations in each sample",
        ));
    }
    Ok(match method {
        CvmMethod::Auto => nx.max(ny) <= 20,
        CvmMethod::Exact => {
            if nx.max(ny) > 20 {
                return Err(Error::invalid(
                    "cramervonmises_2samp exact method",
                    format!("{nx} and {ny} values"),
                    "at most 20 values per sample (use Auto or Asymptotic)",
                ));
            }
            true
        }
        CvmMethod::Asymptotic => false,
    })
}

/// The statistic and p-value from the sums of squared rank offsets of each sample
/// (`sum_i (rank(x_i) - i)^2`, ranks averaged over ties, `i` from 1).
pub(crate) fn from_rank_sums(sx: f64, sy: f64, nx: usize, ny: usize, exact: bool) -> CvmResult {
    let (nxf, nyf) = (nx as f64, ny as f64);
    let u = nxf * sx + nyf * sy;
    let k = nxf * nyf;
    let n = nxf + nyf;
    let t = u / (k * n) - (4.0 * k - 1.0) / (6.0 * n);
    let p = if exact {
        pval_exact(u, nx as u64, ny as u64)
    } else {
        let et = (1.0 + 1.0 / n) / 6.0;
        let vt = (n + 1.0) * (4.0 * k * n - 3.0 * (nxf * nxf + nyf * nyf) - 2.0 * k);
        let vt = vt / (45.0 * n * n * 4.0 * k);
        let tn = 1.0 / 6.0 + (t - et) / (45.0 * vt).sqrt();
        if tn >= 0.003 {
            (1.0 - cdf_cvm_inf(tn)).max(0.0)
        } else {
            1.0
        }
    };
    CvmResult {
        statistic: t,
        p_value: p,
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn pval_exact(s: f64, m: u64, n: u64) -> f64 {
    let lcm = m / gcd(m, n) * n;
    let a = lcm / m;
    let b = lcm / n;
    let mn = m * n;
    let zeta = ((lcm * lcm * (m + n)) as f64 * (6.0 * s - (mn * (4 * mn - 1)) as f64)
        / (6 * mn * mn) as f64)
        .floor();
    let mut combinations: f64 = 1.0;
    for i in 0..m {
        combinations = combinations * (n + m - i) as f64 / (i + 1) as f64;
    }
    let combinations = combinations.round();
    let mut gs: Vec<BTreeMap<u64, u64>> = vec![BTreeMap::new(); m as usize + 1];
    gs[0].insert(0, 1);
    for u in 0..=n {
        let mut next: Vec<BTreeMap<u64, u64>> = Vec::with_capacity(gs.len());
        let mut tmp: BTreeMap<u64, u64> = BTreeMap::new();
        for (v, g) in gs.iter().enumerate() {
            for (val, f) in g {
                *tmp.entry(*val).or_insert(0) += f;
            }
            let d = (a * v as u64) as i64 - (b * u) as i64;
            let res = (d * d) as u64;
            tmp = tmp.into_iter().map(|(val, f)| (val + res, f)).collect();
            next.push(tmp.clone());
        }
        gs = next;
    }
    let hits: u64 = gs[m as usize]
        .iter()
        .filter(|(v, _)| **v as f64 >= zeta)
        .map(|(_, f)| *f)
        .sum();
    hits as f64 / combinations
}

/// `exp(x) K_nu(x)` by the trapezoidal rule on `int_0^inf exp(-x (cosh t - 1)) cosh(nu t) dt`
/// (exponentially convergent for this analytic, fast-decaying integrand).
fn kv_scaled(nu: f64, x: f64) -> f64 {
    let h = 0.02;
    let mut sum = 0.5;
    let mut i = 1;
    loop {
        let t = i as f64 * h;
        let term = (-x * (t.cosh() - 1.0)).exp() * (nu * t).cosh();
        sum += term;
        if term < 1e-18 * sum || i > 200_000 {
            break;
        }
        i += 1;
    }
    sum * h
}

/// The asymptotic Cramér-von Mises distribution function (scipy's `_cdf_cvm_inf`).
fn cdf_cvm_inf(x: f64) -> f64 {
    use std::f64::consts::PI;
    let mut tot = 0.0;
    let mut k = 0u32;
    loop {
        let kf = k as f64;
        let u = (ln_gamma(kf + 0.5) - ln_gamma(kf + 1.0)).exp() / (PI.powf(1.5) * x.sqrt());
        let y = 4.0 * kf + 1.0;
        let q = y * y / (16.0 * x);
        let z = u * y.sqrt() * (-2.0 * q).exp() * kv_scaled(0.25, q);
        tot += z;
        k += 1;
        if z.abs() < 1e-7 || k > 10_000 {
            break;
        }
    }
    tot
}

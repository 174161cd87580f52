//! Two-sample Kolmogorov-Smirnov test with `scipy.stats.ks_2samp` semantics: the statistic
//! from right-continuous empirical CDFs (ties handled), the exact p-value up to 10,000 rows
//! per side and `kstwo.sf(D, round(n m / (n + m)))` above (`method='auto'`).

use mlops_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::sorted_finite;
use super::special::kstwo_sf;

/// The alternative hypothesis, named as in scipy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    /// The two distributions differ (`'two-sided'`).
    #[default]
    TwoSided,
    /// The CDF of the first sample lies below the second's somewhere (`'less'`).
    Less,
    /// The CDF of the first sample lies above the second's somewhere (`'greater'`).
    Greater,
}

/// How the p-value is computed, as scipy's `method`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KsMethod {
    /// Exact when both samples have at most 10,000 values, asymptotic otherwise.
    #[default]
    Auto,
    /// The exact distribution (falls back to `Asymp` where scipy does).
    Exact,
    /// The asymptotic distribution.
    Asymp,
}

/// Options of [`ks_2samp`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KsOptions {
    /// The alternative hypothesis.
    pub alternative: Alternative,
    /// The p-value method.
    pub method: KsMethod,
}

/// The result of [`ks_2samp`], with scipy's fields.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct KsResult {
    /// The statistic `D` (in exact mode rounded to a multiple of `1/lcm(n1, n2)` as scipy does).
    pub statistic: f64,
    /// The p-value.
    pub p_value: f64,
    /// The value at which the statistic is attained.
    pub statistic_location: f64,
    /// `+1` when the first sample's CDF exceeds the second's there, `-1` otherwise.
    pub statistic_sign: i8,
    /// The method actually used (`Exact` or `Asymp`).
    pub method: KsMethod,
}

/// scipy's cut-over between exact and asymptotic in `method='auto'`.
pub const MAX_AUTO_N: usize = 10_000;

/// `scipy.stats.ks_2samp(a, b, alternative, method)`. Values must be finite; empty input,
/// NaN or infinities are an error.
pub fn ks_2samp(a: &[f64], b: &[f64], options: &KsOptions) -> Result<KsResult> {
    let a = sorted_finite(a, "ks_2samp first sample")?;
    let b = sorted_finite(b, "ks_2samp second sample")?;
    ks_2samp_sorted(&a, &b, options)
}

/// Extremes of `F_a - F_b` over the pooled values, with scipy's locations.
pub(crate) struct Extremes {
    pub max: f64,
    pub max_loc: f64,
    pub min: f64,
    pub min_loc: f64,
}

/// Walks two sorted slices once and finds max and min of `F_a(x) - F_b(x)` over all observed
/// `x`, with the location scipy reports (first in `concat(a, b)` order).
pub(crate) fn ecdf_extremes(a: &[f64], b: &[f64]) -> Extremes {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    // Best over values present in a, and over values present in b.
    let (mut amax, mut amax_loc, mut amin, mut amin_loc) =
        (f64::NEG_INFINITY, 0.0, f64::INFINITY, 0.0);
    let (mut bmax, mut bmax_loc, mut bmin, mut bmin_loc) =
        (f64::NEG_INFINITY, 0.0, f64::INFINITY, 0.0);
    while i < a.len() || j < b.len() {
        let v = if j >= b.len() || (i < a.len() && a[i] <= b[j]) {
            a[i]
        } else {
            b[j]
        };
        let in_a = i < a.len() && a[i] == v;
        let in_b = j < b.len() && b[j] == v;
        while i < a.len() && a[i] == v {
            i += 1;
        }
        while j < b.len() && b[j] == v {
            j += 1;
        }
        let d = i as f64 / n1 - j as f64 / n2;
        if in_a {
            if d > amax {
                amax = d;
                amax_loc = v;
            }
            if d < amin {
                amin = d;
                amin_loc = v;
            }
        }
        if in_b {
            if d > bmax {
                bmax = d;
                bmax_loc = v;
            }
            if d < bmin {
                bmin = d;
                bmin_loc = v;
            }
        }
    }
    let (max, max_loc) = if amax >= bmax {
        (amax, amax_loc)
    } else {
        (bmax, bmax_loc)
    };
    let (min, min_loc) = if amin <= bmin {
        (amin, amin_loc)
    } else {
        (bmin, bmin_loc)
    };
    Extremes {
        max,
        max_loc,
        min,
        min_loc,
    }
}

/// [`ks_2samp`] on samples already sorted ascending and finite (not checked beyond emptiness):
/// the form a fitted reference uses, costing one merge.
pub fn ks_2samp_sorted(a: &[f64], b: &[f64], options: &KsOptions) -> Result<KsResult> {
    if a.is_empty() || b.is_empty() {
        return Err(Error::invalid(
            "ks_2samp sample size",
            format!("{} and {}", a.len(), b.len()),
            "two non-empty samples",
        ));
    }
    let ex = ecdf_extremes(a, b);
    let min_s = (-ex.min).clamp(0.0, 1.0);
    let max_s = ex.max;
    let (mut d, loc, sign) = if options.alternative == Alternative::Less
        || (options.alternative == Alternative::TwoSided && min_s > max_s)
    {
        (min_s, ex.min_loc, -1i8)
    } else {
        (max_s, ex.max_loc, 1i8)
    };
    let (n1, n2) = (a.len() as u64, b.len() as u64);
    let g = gcd(n1, n2);
    let mut mode = match options.method {
        KsMethod::Auto => {
            if a.len().max(b.len()) <= MAX_AUTO_N {
                KsMethod::Exact
            } else {
                KsMethod::Asymp
            }
        }
        KsMethod::Exact => {
            if (n1 / g) as f64 >= i32::MAX as f64 / (n2 / g) as f64 {
                KsMethod::Asymp
            } else {
                KsMethod::Exact
            }
        }
        KsMethod::Asymp => KsMethod::Asymp,
    };
    let mut prob = f64::NEG_INFINITY;
    if mode == KsMethod::Exact {
        match attempt_exact(n1, n2, g, d, options.alternative) {
            Some((dd, p)) => {
                d = dd;
                prob = p;
            }
            None => mode = KsMethod::Asymp,
        }
    }
    if mode == KsMethod::Asymp {
        prob = if options.alternative == Alternative::TwoSided {
            asymp_two_sided_p(d, n1, n2)
        } else {
            let (m, n) = if n1 >= n2 {
                (n1 as f64, n2 as f64)
            } else {
                (n2 as f64, n1 as f64)
            };
            let en = m * n / (m + n);
            let z = en.sqrt() * d;
            (-2.0 * z * z - 2.0 * z * (m + 2.0 * n) / (m * n * (m + n)).sqrt() / 3.0).exp()
        };
    }
    Ok(KsResult {
        statistic: d,
        p_value: prob.clamp(0.0, 1.0),
        statistic_location: loc,
        statistic_sign: sign,
        method: mode,
    })
}

/// scipy's asymptotic two-sided p-value of `ks_2samp`: `kstwo.sf(d, round(n1 n2 / (n1 + n2)))`
/// (round half to even, as `np.round`), also whylogs' p-value of a KS from two sketches.
pub(crate) fn asymp_two_sided_p(d: f64, n1: u64, n2: u64) -> f64 {
    let (m, n) = if n1 >= n2 {
        (n1 as f64, n2 as f64)
    } else {
        (n2 as f64, n1 as f64)
    };
    let en = m * n / (m + n);
    kstwo_sf(d, en.round_ties_even() as u64)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// scipy's `_attempt_exact_2kssamp`: `Some((d rounded to the lattice, p))` or `None` when
/// the computation fails and scipy would switch to the asymptotic method.
fn attempt_exact(n1: u64, n2: u64, g: u64, d: f64, alt: Alternative) -> Option<(f64, f64)> {
    let lcm = (n1 / g) * n2;
    let h = (d * lcm as f64).round_ties_even() as u64;
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return Some((d, 1.0));
    }
    let prob = if alt == Alternative::TwoSided {
        if n1 == n2 {
            prob_outside_square(n1, h)
        } else {
            outer_prob_inside_method(n1, n2, g, h)
        }
    } else if n1 == n2 {
        let mut p = 1.0;
        for j in 0..h {
            p *= (n1 as f64 - j as f64) / (n1 as f64 + j as f64 + 1.0);
        }
        p
    } else {
        let num_paths = count_paths_outside_method(n1, n2, g, h);
        let bin = binom(n1 + n2, n1);
        if !num_paths.is_finite() || !bin.is_finite() || num_paths > bin {
            return None;
        }
        num_paths / bin
    };
    if !(0.0..=1.0).contains(&prob) {
        return None;
    }
    Some((d, prob))
}

fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0;
    let mut k = (n / h) as i64;
    let (nf, hf) = (n as f64, h as f64);
    while k >= 0 {
        let kf = k as f64;
        let mut p1 = 1.0;
        for j in 0..h {
            let jf = j as f64;
            p1 = (nf - kf * hf - jf) * p1 / (nf + kf * hf + jf + 1.0);
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

fn outer_prob_inside_method(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (m, n, g, h) = (m as i64, n as i64, g as i64, h as i64);
    let mg = m / g;
    let ng = n / g;
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h as f64 / mg as f64).ceil() as i64).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for x in a.iter_mut().take(maxj as usize) {
        *x = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = ((((ng * i - h) as f64) / mg as f64).floor() as i64 + 1).max(0);
        minj = minj.min(n);
        maxj = ((((ng * i + h) as f64) / mg as f64).ceil() as i64).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        let fi = i as f64;
        for jj in 0..(maxj - minj) {
            let j = (jj + minj) as f64;
            let src = (jj + minj - lastminj) as usize;
            let prev = if src < a.len() { a[src] } else { 1.0 };
            val = (prev * fi + val * j) / (fi + j);
            if (jj as usize) < a.len() {
                a[jj as usize] = val;
            }
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = (maxj - minj) as usize;
            let end = ((maxj - minj + (lastlen - curlen)) as usize).min(a.len());
            for x in a.iter_mut().take(end).skip(start) {
                *x = 1.0;
            }
        }
    }
    a[((maxj - minj - 1).max(0) as usize).min(a.len() - 1)]
}

/// Binomial coefficient as a float (exact product for small `k`, log-gamma otherwise).
fn binom(n: u64, k: u64) -> f64 {
    let k = k.min(n - k.min(n));
    if k < 20 {
        let (mut num, mut den) = (1.0f64, 1.0f64);
        let (nf, kf) = (n as f64, k as f64);
        for i in 1..=k {
            num *= i as f64 + nf - kf;
            den *= i as f64;
            if num.abs() > 1e50 {
                num /= den;
                den = 1.0;
            }
        }
        return num / den;
    }
    use statrs::function::gamma::ln_gamma;
    (ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)).exp()
}

fn count_paths_outside_method(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let mg = m / g;
    let ng = n / g;
    let lxj = (n as i64 + (mg as i64 - h as i64).div_euclid(mg as i64)).max(0) as u64;
    let xj: Vec<u64> = (0..lxj).map(|j| (h + mg * j).div_ceil(ng)).collect();
    if lxj == 0 {
        return binom(m + n, n);
    }
    let lxj = lxj as usize;
    let mut b = vec![0.0f64; lxj];
    b[0] = 1.0;
    for j in 1..lxj {
        let mut bj = binom(xj[j] + j as u64, j as u64);
        for i in 0..j {
            let bin = binom(xj[j] - xj[i] + (j - i) as u64, (j - i) as u64);
            bj -= bin * b[i];
        }
        b[j] = bj;
    }
    let mut num_paths = 0.0;
    for j in 0..lxj {
        if xj[j] > m {
            continue;
        }
        let bin = binom((m - xj[j]) + (n - j as u64), n - j as u64);
        num_paths += b[j] * bin;
    }
    num_paths
}

/// A fitted KS reference: the sorted finite reference values. Scoring a window sorts only
/// the window and merges.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KsReference {
    /// Sorted finite reference values.
    pub sorted: Vec<f64>,
}

impl KsReference {
    /// Fits on reference values (finite, non-empty).
    pub fn fit(reference: &[f64]) -> Result<Self> {
        Ok(KsReference {
            sorted: sorted_finite(reference, "ks reference")?,
        })
    }

    /// `ks_2samp(reference, current)`.
    pub fn score(&self, current: &[f64], options: &KsOptions) -> Result<KsResult> {
        let cur = sorted_finite(current, "ks current")?;
        ks_2samp_sorted(&self.sorted, &cur, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn statistic_and_p_value_are_bounded_and_symmetric(
            a in proptest::collection::vec(-5i32..5, 1..60),
            b in proptest::collection::vec(-5i32..5, 1..60),
        ) {
            let a: Vec<f64> = a.into_iter().map(f64::from).collect();
            let b: Vec<f64> = b.into_iter().map(f64::from).collect();
            let o = KsOptions::default();
            let r = ks_2samp(&a, &b, &o).unwrap();
            let s = ks_2samp(&b, &a, &o).unwrap();
            prop_assert!((0.0..=1.0).contains(&r.statistic));
            prop_assert!((0.0..=1.0).contains(&r.p_value));
            prop_assert!((r.statistic - s.statistic).abs() < 1e-15);
            prop_assert!((r.p_value - s.p_value).abs() < 1e-12);
            let w = crate::drift::wasserstein_distance(&a, &b).unwrap();
            let v = crate::drift::wasserstein_distance(&b, &a).unwrap();
            prop_assert!((w - v).abs() < 1e-12 && w >= 0.0);
        }
    }
}

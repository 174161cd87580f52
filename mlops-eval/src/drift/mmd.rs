//! Maximum mean discrepancy with an RBF kernel, as Evidently's `empirical_mmd` computes the
//! statistic (median-heuristic bandwidth from the reference, unbiased within-sample terms),
//! and a *seeded* permutation test (Evidently's is unseeded, so only the statistic can be
//! compared with it).

use mlops_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// The largest pooled sample the quadratic-memory kernel matrix accepts.
pub const MMD_MAX_POOLED: usize = 20_000;

/// Result of [`mmd_permutation_test`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MmdResult {
    /// The MMD² statistic.
    pub statistic: f64,
    /// Kernel bandwidth used.
    pub sigma: f64,
    /// Permutation p-value `(1 + #{perm >= observed}) / (1 + permutations)`.
    pub p_value: f64,
}

fn sq_dist(x: f64, y: f64) -> f64 {
    // numpy: y^2 - 2 x y + x^2, in that order.
    (y * y - 2.0 * (x * y)) + x * x
}

/// numpy `percentile(a, 50, method='nearest')`.
fn median_nearest(mut v: Vec<f64>) -> f64 {
    let n = v.len();
    let vi = (n as f64 - 1.0) * 0.5;
    let prev = vi.floor();
    let gamma = vi - prev;
    let mut idx = prev as usize;
    if gamma > 0.5 || (gamma == 0.5 && idx % 2 == 1) {
        idx += 1;
    }
    let idx = idx.min(n - 1);
    let (_, m, _) = v.select_nth_unstable_by(idx, f64::total_cmp);
    *m
}

/// Evidently's median-heuristic bandwidth: `sqrt(0.5 * median(pairwise squared distances
/// within the reference))`, or `sqrt(0.5)` when that is 0.
pub fn mmd_sigma(reference: &[f64]) -> f64 {
    let mut d = Vec::with_capacity(reference.len() * reference.len());
    for &a in reference {
        for &b in reference {
            d.push(sq_dist(a, b));
        }
    }
    let s = (0.5 * median_nearest(d)).sqrt();
    if s == 0.0 { 0.5f64.sqrt() } else { s }
}

fn check(x: &[f64], y: &[f64]) -> Result<()> {
    if x.len() < 2 || y.len() < 2 {
        return Err(Error::invalid(
            "mmd sample size",
            format!("{} and {}", x.len(), y.len()),
            "at least two values per sample",
        ));
    }
    if x.len() + y.len() > MMD_MAX_POOLED {
        return Err(Error::invalid(
            "mmd pooled size",
            format!("{}", x.len() + y.len()),
            "at most 20,000 values (the kernel matrix is quadratic); subsample first",
        ));
    }
    if let Some(bad) = x.iter().chain(y).find(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "mmd value",
            format!("{bad}"),
            "finite values",
        ));
    }
    Ok(())
}

/// MMD² between `x` (reference) and `y` with an RBF kernel of bandwidth `sigma` (Evidently's
/// median heuristic on `x` when `None`): `sum K_xx / (n(n-1)) + sum K_yy / (m(m-1)) -
/// 2 mean K_xy`, diagonals excluded.
pub fn mmd_rbf(x: &[f64], y: &[f64], sigma: Option<f64>) -> Result<f64> {
    check(x, y)?;
    let s = sigma.unwrap_or_else(|| mmd_sigma(x));
    let k = kernel(x, y, s);
    let labels: Vec<bool> = (0..x.len() + y.len()).map(|i| i >= x.len()).collect();
    Ok(mmd_from_kernel(&k, &labels, x.len(), y.len()))
}

fn kernel(x: &[f64], y: &[f64], sigma: f64) -> Vec<f64> {
    let gamma = 1.0 / (2.0 * (sigma * sigma));
    let all: Vec<f64> = x.iter().chain(y).copied().collect();
    let n = all.len();
    let nx = x.len();
    let mut k = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            // Evidently computes each block as dist(first, second) with x before y.
            let d = if i < nx || j < nx {
                if j >= nx && i < nx {
                    sq_dist(all[i], all[j])
                } else if i >= nx && j < nx {
                    sq_dist(all[j], all[i])
                } else {
                    sq_dist(all[i], all[j])
                }
            } else {
                sq_dist(all[i], all[j])
            };
            k[i * n + j] = (-gamma * d).exp();
        }
    }
    k
}

fn mmd_from_kernel(k: &[f64], is_y: &[bool], nx: usize, ny: usize) -> f64 {
    let n = is_y.len();
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let row = &k[i * n..(i + 1) * n];
        for j in 0..n {
            match (is_y[i], is_y[j]) {
                (false, false) => sxx += row[j],
                (true, true) => syy += row[j],
                (true, false) => sxy += row[j],
                (false, true) => {}
            }
        }
    }
    let (nxf, nyf) = (nx as f64, ny as f64);
    let a = 1.0 / (nxf * (nxf - 1.0));
    let b = 1.0 / (nyf * (nyf - 1.0));
    a * sxx + b * syy - 2.0 * (sxy / (nxf * nyf))
}

/// MMD² with a seeded permutation test: `permutations` random relabellings of the pooled
/// sample (the kernel is computed once), p-value counting the observed statistic.
pub fn mmd_permutation_test(
    x: &[f64],
    y: &[f64],
    permutations: usize,
    seed: u64,
) -> Result<MmdResult> {
    check(x, y)?;
    let sigma = mmd_sigma(x);
    let k = kernel(x, y, sigma);
    let mut labels: Vec<bool> = (0..x.len() + y.len()).map(|i| i >= x.len()).collect();
    let observed = mmd_from_kernel(&k, &labels, x.len(), y.len());
    let mut rng = Rng::new(seed);
    let mut at_least = 0usize;
    for _ in 0..permutations {
        rng.shuffle(&mut labels);
        if mmd_from_kernel(&k, &labels, x.len(), y.len()) >= observed {
            at_least += 1;
        }
    }
    Ok(MmdResult {
        statistic: observed,
        sigma,
        p_value: (1 + at_least) as f64 / (1 + permutations) as f64,
    })
}

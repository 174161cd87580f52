//! First Wasserstein distance (`scipy.stats.wasserstein_distance`) and Evidently's normed
//! variant (`wasserstein_distance / max(std(reference), 0.001)`).

use mlops_core::Result;
use serde::{Deserialize, Serialize};

use super::sorted_finite;

/// `scipy.stats.wasserstein_distance(u, v)` (unweighted). Values must be finite and non-empty.
pub fn wasserstein_distance(u: &[f64], v: &[f64]) -> Result<f64> {
    let u = sorted_finite(u, "wasserstein first sample")?;
    let v = sorted_finite(v, "wasserstein second sample")?;
    Ok(wasserstein_distance_sorted(&u, &v))
}

/// [`wasserstein_distance`] on sorted, finite, non-empty slices: the integral of
/// `|F_u - F_v|` over the pooled values, in one merge.
pub fn wasserstein_distance_sorted(u: &[f64], v: &[f64]) -> f64 {
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut total = 0.0;
    let mut prev: Option<(f64, f64)> = None; // (value, |F_u - F_v| right after it)
    while i < u.len() || j < v.len() {
        let x = if j >= v.len() || (i < u.len() && u[i] <= v[j]) {
            u[i]
        } else {
            v[j]
        };
        if let Some((px, diff)) = prev {
            total += diff * (x - px);
        }
        while i < u.len() && u[i] == x {
            i += 1;
        }
        while j < v.len() && v[j] == x {
            j += 1;
        }
        prev = Some((x, (i as f64 / nu - j as f64 / nv).abs()));
    }
    total
}

/// `scipy.stats.energy_distance(u, v)` (unweighted): `sqrt(2) * sqrt(integral of
/// (F_u - F_v)^2)`. Values must be finite and non-empty.
pub fn energy_distance(u: &[f64], v: &[f64]) -> Result<f64> {
    let u = sorted_finite(u, "energy_distance first sample")?;
    let v = sorted_finite(v, "energy_distance second sample")?;
    Ok(energy_distance_sorted(&u, &v))
}

/// [`energy_distance`] on sorted, finite, non-empty slices.
pub fn energy_distance_sorted(u: &[f64], v: &[f64]) -> f64 {
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut total = 0.0;
    let mut prev: Option<(f64, f64)> = None;
    while i < u.len() || j < v.len() {
        let x = if j >= v.len() || (i < u.len() && u[i] <= v[j]) {
            u[i]
        } else {
            v[j]
        };
        if let Some((px, diff)) = prev {
            total += diff * diff * (x - px);
        }
        while i < u.len() && u[i] == x {
            i += 1;
        }
        while j < v.len() && v[j] == x {
            j += 1;
        }
        prev = Some((x, i as f64 / nu - j as f64 / nv));
    }
    std::f64::consts::SQRT_2 * total.sqrt()
}

/// Population standard deviation (`numpy.std`, ddof = 0), two-pass.
pub fn std_population(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let ss: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
    (ss / n).sqrt()
}

/// Evidently's floor on the reference standard deviation of the normed distance.
pub const EVIDENTLY_STD_FLOOR: f64 = 0.001;

/// Evidently's `wasserstein` statistic: `wasserstein_distance(reference, current) /
/// max(std(reference), 0.001)`.
pub fn wasserstein_distance_norm(reference: &[f64], current: &[f64]) -> Result<f64> {
    let r = WassersteinReference::fit(reference)?;
    r.score(current)
}

/// A fitted reference for the (normed) Wasserstein distance: sorted values and their
/// population standard deviation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WassersteinReference {
    /// Sorted finite reference values.
    pub sorted: Vec<f64>,
    /// Population standard deviation of the reference.
    pub std: f64,
}

impl WassersteinReference {
    /// Fits on finite, non-empty reference values.
    pub fn fit(reference: &[f64]) -> Result<Self> {
        let sorted = sorted_finite(reference, "wasserstein reference")?;
        let std = std_population(reference);
        Ok(WassersteinReference { sorted, std })
    }

    /// Raw distance to a current window.
    pub fn score_raw(&self, current: &[f64]) -> Result<f64> {
        let cur = sorted_finite(current, "wasserstein current")?;
        Ok(wasserstein_distance_sorted(&self.sorted, &cur))
    }

    /// Evidently's normed distance to a current window.
    pub fn score(&self, current: &[f64]) -> Result<f64> {
        Ok(self.score_raw(current)? / self.std.max(EVIDENTLY_STD_FLOOR))
    }
}

//! Histogram-based drift statistics: PSI, KL divergence, Jensen-Shannon distance and
//! Hellinger distance on bin (or category) proportions, with numpy's binning
//! (`histogram_bin_edges`, `histogram`, linear `quantile`) and Evidently's
//! `get_binned_data` (Sturges equal-width bins over reference and current together when
//! the reference has more than 20 distinct values, otherwise one bin per value; empty bins
//! filled for PSI and KL).

use mlops_core::{Error, Result};

use crate::metrics::util::{pairwise_sum, pairwise_sum_by};
use serde::{Deserialize, Serialize};

/// `numpy.histogram_bin_edges(data, bins)` for data spanning `[lo, hi]`: `bins` equal-width
/// bins (`lo == hi` widens the range by 0.5 on each side, as numpy does).
pub fn histogram_bin_edges(lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    let bins = bins.max(1);
    let (lo, hi) = if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let step = (hi - lo) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + lo).collect();
    edges[bins] = hi;
    edges
}

/// The number of bins numpy's `'sturges'` rule gives for `n` values spanning `[lo, hi]`.
pub fn sturges_bin_count(n: usize, lo: f64, hi: f64) -> usize {
    let ptp = hi - lo;
    let width = ptp / ((n as f64).log2() + 1.0);
    if width > 0.0 && width.is_finite() {
        (ptp / width).ceil().max(1.0) as usize
    } else {
        1
    }
}

/// The bin of `x` under numpy's `histogram` rule (`[e_i, e_{i+1})`, the last bin closed);
/// `None` outside the edges.
#[inline]
fn bin_of(edges: &[f64], x: f64) -> Option<usize> {
    let nb = edges.len() - 1;
    let last = edges[nb];
    if x < edges[0] || x > last || x.is_nan() {
        return None;
    }
    if x == last {
        return Some(nb - 1);
    }
    Some(edges.partition_point(|e| *e <= x) - 1)
}

/// `numpy.histogram(values, edges)[0]`: counts per bin, values outside the edges dropped.
/// `edges` must be sorted with at least two entries.
pub fn histogram(values: &[f64], edges: &[f64]) -> Vec<u64> {
    let mut counts = vec![0u64; edges.len().saturating_sub(1)];
    if edges.len() < 2 {
        return counts;
    }
    // Equal-width fast path: a guess from arithmetic, corrected against the edges exactly
    // like numpy does.
    let nb = edges.len() - 1;
    let (lo, hi) = (edges[0], edges[nb]);
    let norm = nb as f64 / (hi - lo);
    let uniform = norm.is_finite() && edges.windows(2).all(|w| w[1] > w[0]) && nb >= 16;
    for &x in values {
        if !(x >= lo && x <= hi) {
            continue;
        }
        let b = if uniform {
            let mut i = (((x - lo) * norm) as usize).min(nb - 1);
            if x < edges[i] {
                i = i.saturating_sub(1);
            } else if i + 1 < nb && x >= edges[i + 1] {
                i += 1;
            }
            i
        } else {
            match bin_of(edges, x) {
                Some(b) => b,
                None => continue,
            }
        };
        counts[b] += 1;
    }
    counts
}

/// Counts per bin of an already sorted sample, by binary search at each edge
/// (`O(bins log n)`), with the same rule as [`histogram`].
pub fn histogram_sorted(sorted: &[f64], edges: &[f64]) -> Vec<u64> {
    if edges.len() < 2 {
        return Vec::new();
    }
    let nb = edges.len() - 1;
    let pos: Vec<usize> = edges
        .iter()
        .map(|e| sorted.partition_point(|v| v < e))
        .collect();
    let end = sorted.partition_point(|v| *v <= edges[nb]);
    (0..nb)
        .map(|i| {
            let hi = if i + 1 == nb { end } else { pos[i + 1] };
            hi.saturating_sub(pos[i]) as u64
        })
        .collect()
}

/// `numpy.quantile(sorted, [1/k, ..., (k-1)/k])` with the default `'linear'` method: the
/// `k - 1` inner edges of `k` equal-frequency bins. `sorted` must be non-empty and sorted.
pub fn quantile_edges(sorted: &[f64], k: usize) -> Vec<f64> {
    (1..k)
        .map(|i| quantile_linear(sorted, i as f64 / k as f64))
        .collect()
}

/// `numpy.quantile(sorted, q)`, method `'linear'`, including numpy's `_lerp`.
pub fn quantile_linear(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let vi = (n as f64 - 1.0) * q;
    let prev = vi.floor();
    let gamma = vi - prev;
    let i = (prev as usize).min(n - 1);
    let j = (i + 1).min(n - 1);
    let (a, b) = (sorted[i], sorted[j]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// Population stability index `sum (q - p) ln(q / p)` over proportions (natural log, no
/// filling: fill zeros first, e.g. with [`fill_zeroes_evidently`]).
pub fn psi(p_ref: &[f64], p_cur: &[f64]) -> f64 {
    p_ref
        .iter()
        .zip(p_cur)
        .map(|(&r, &c)| (r - c) * (r / c).ln())
        .sum()
}

/// `scipy.special.rel_entr` as scipy 1.17 (xsf) computes it: `x·log1p((x − y)/y)` when
/// `x / y` is in (0.5, 2), more accurate for close values, else `x·log(x / y)` (or the
/// difference of logs when the ratio under- or overflows).
pub(crate) fn rel_entr(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x > 0.0 && y > 0.0 {
        let ratio = x / y;
        if 0.5 < ratio && ratio < 2.0 {
            x * ((x - y) / y).ln_1p()
        } else if f64::MIN_POSITIVE < ratio && ratio < f64::INFINITY {
            x * ratio.ln()
        } else {
            x * (x.ln() - y.ln())
        }
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// `scipy.stats.entropy(p, q, base)`: KL(p || q) after normalising both to sum 1.
pub fn entropy(p: &[f64], q: &[f64], base: Option<f64>) -> f64 {
    let sp: f64 = p.iter().sum();
    let sq: f64 = q.iter().sum();
    let s: f64 = p
        .iter()
        .zip(q)
        .map(|(&a, &b)| rel_entr(a / sp, b / sq))
        .sum();
    match base {
        Some(b) => s / b.ln(),
        None => s,
    }
}

/// KL divergence in nats as Evidently's `kl_div` computes it (`scipy.stats.entropy`).
pub fn kl_div(p_ref: &[f64], p_cur: &[f64]) -> f64 {
    entropy(p_ref, p_cur, None)
}

/// `scipy.spatial.distance.jensenshannon(p, q, base)`: the Jensen-Shannon *distance*
/// (square root of the divergence), natural log when `base` is `None` (Evidently), base 2
/// for a value in `[0, 1]` (NannyML). Sums in numpy's pairwise order, as scipy does.
pub fn jensenshannon(p: &[f64], q: &[f64], base: Option<f64>) -> f64 {
    let n = p.len().min(q.len());
    let (sp, sq) = (pairwise_sum(&p[..n]), pairwise_sum(&q[..n]));
    let m = |i: usize| (p[i] / sp + q[i] / sq) / 2.0;
    let left = pairwise_sum_by(n, &|i| rel_entr(p[i] / sp, m(i)));
    let right = pairwise_sum_by(n, &|i| rel_entr(q[i] / sq, m(i)));
    let mut js = left + right;
    if let Some(b) = base {
        js /= b.ln();
    }
    (js / 2.0).sqrt()
}

/// Hellinger distance `||sqrt(p) - sqrt(q)||_2 / sqrt(2)` (NannyML, whylogs), summed in
/// numpy's pairwise order as NannyML's `np.sum` does.
pub fn hellinger(p: &[f64], q: &[f64]) -> f64 {
    let n = p.len().min(q.len());
    let s = pairwise_sum_by(n, &|i| (p[i].sqrt() - q[i].sqrt()).powi(2));
    s.sqrt() / std::f64::consts::SQRT_2
}

/// Evidently's categorical Hellinger distance `sqrt(1 - clip(sum sqrt(p q), 0, 1))`.
pub fn hellinger_evidently(p: &[f64], q: &[f64]) -> f64 {
    let bc: f64 = p.iter().zip(q).map(|(&a, &b)| (a * b).sqrt()).sum();
    (1.0 - bc.clamp(0.0, 1.0)).sqrt()
}

/// Evidently's zero filling (`feel_zeroes`): zeros become `min(nonzero) / 1e6` when that
/// minimum is at most 1e-4, otherwise 1e-4; no renormalisation.
pub fn fill_zeroes_evidently(p: &mut [f64]) {
    let m = p
        .iter()
        .filter(|v| **v != 0.0)
        .cloned()
        .fold(f64::INFINITY, f64::min);
    if !m.is_finite() {
        return;
    }
    let eps = if m <= 0.0001 { m / 1e6 } else { 0.0001 };
    p.iter_mut().filter(|v| **v == 0.0).for_each(|v| *v = eps);
}

/// Evidently's `get_binned_data` for a numeric column: reference and current proportions.
/// Inputs must be sorted and finite (non-empty). `feel_zeroes` is true for PSI and KL,
/// false for Jensen-Shannon.
pub fn evidently_binned(
    ref_sorted: &[f64],
    cur_sorted: &[f64],
    feel_zeroes: bool,
) -> (Vec<f64>, Vec<f64>) {
    if ref_sorted.is_empty() || cur_sorted.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let (nr, nc) = (ref_sorted.len() as f64, cur_sorted.len() as f64);
    let (mut p, mut q): (Vec<f64>, Vec<f64>) = if count_distinct_sorted(ref_sorted) > 20 {
        let lo = ref_sorted[0].min(cur_sorted[0]);
        let hi = ref_sorted[ref_sorted.len() - 1].max(cur_sorted[cur_sorted.len() - 1]);
        let nb = sturges_bin_count(ref_sorted.len() + cur_sorted.len(), lo, hi);
        let edges = histogram_bin_edges(lo, hi, nb);
        let p: Vec<f64> = histogram_sorted(ref_sorted, &edges)
            .iter()
            .map(|c| *c as f64 / nr)
            .collect();
        let q: Vec<f64> = histogram_sorted(cur_sorted, &edges)
            .iter()
            .map(|c| *c as f64 / nc)
            .collect();
        (p, q)
    } else {
        let (rv, rc) = distinct_counts_sorted(ref_sorted);
        let (cv, cc) = distinct_counts_sorted(cur_sorted);
        let (a, b) = align_counts(&rv, &rc, &cv, &cc);
        (
            a.iter().map(|c| *c as f64 / nr).collect(),
            b.iter().map(|c| *c as f64 / nc).collect(),
        )
    };
    if feel_zeroes {
        fill_zeroes_evidently(&mut p);
        fill_zeroes_evidently(&mut q);
    }
    (p, q)
}

pub(crate) fn count_distinct_sorted(s: &[f64]) -> usize {
    if s.is_empty() {
        return 0;
    }
    1 + s.windows(2).filter(|w| w[1] != w[0]).count()
}

pub(crate) fn distinct_counts_sorted(s: &[f64]) -> (Vec<f64>, Vec<u64>) {
    let mut vals: Vec<f64> = Vec::new();
    let mut counts: Vec<u64> = Vec::new();
    for &x in s {
        if vals.last() == Some(&x) {
            *counts.last_mut().unwrap_or(&mut 0) += 1;
        } else {
            vals.push(x);
            counts.push(1);
        }
    }
    (vals, counts)
}

/// Counts of two sorted distinct-value lists on their union (sorted).
pub(crate) fn align_counts(rv: &[f64], rc: &[u64], cv: &[f64], cc: &[u64]) -> (Vec<u64>, Vec<u64>) {
    let (mut i, mut j) = (0, 0);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    while i < rv.len() || j < cv.len() {
        if j >= cv.len() || (i < rv.len() && rv[i] < cv[j]) {
            a.push(rc[i]);
            b.push(0);
            i += 1;
        } else if i >= rv.len() || cv[j] < rv[i] {
            a.push(0);
            b.push(cc[j]);
            j += 1;
        } else {
            a.push(rc[i]);
            b.push(cc[j]);
            i += 1;
            j += 1;
        }
    }
    (a, b)
}

/// A fitted reference for the binned statistics: the sorted reference (for bins that
/// depend on the current window, like Evidently's) plus fixed reference-quantile bins and
/// their proportions (for PSI on reference deciles).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinnedReference {
    /// Sorted finite reference values.
    pub sorted: Vec<f64>,
    /// Inner edges of the reference-quantile bins (`k - 1` of them).
    pub quantile_edges: Vec<f64>,
    /// Reference proportion in each quantile bin (`k` of them).
    pub quantile_props: Vec<f64>,
}

/// Where PSI on quantile bins replaces an exactly empty bin (W-DRIFT's rule).
pub const PSI_EPS: f64 = 1e-4;

impl BinnedReference {
    /// Fits on finite, non-empty reference values with `k` reference-quantile bins
    /// (`k >= 1`; 10 for deciles).
    pub fn fit(reference: &[f64], k: usize) -> Result<Self> {
        if k == 0 {
            return Err(Error::invalid("quantile bin count", "0", "at least 1"));
        }
        let sorted = super::sorted_finite(reference, "binned reference")?;
        Ok(Self::from_sorted(sorted, k))
    }

    /// Builds from values already sorted ascending and finite (non-empty), `k >= 1`.
    pub fn from_sorted(sorted: Vec<f64>, k: usize) -> Self {
        let k = k.max(1);
        let quantile_edges = quantile_edges(&sorted, k);
        let n = sorted.len() as f64;
        let quantile_props = quantile_bin_counts_sorted(&sorted, &quantile_edges)
            .iter()
            .map(|c| *c as f64 / n)
            .collect();
        BinnedReference {
            sorted,
            quantile_edges,
            quantile_props,
        }
    }

    /// PSI on the reference-quantile bins (`searchsorted(edges, x, side='right')`, open
    /// outer bins, exact zeros replaced by 1e-4, natural log).
    pub fn psi_quantile(&self, current: &[f64]) -> f64 {
        let k = self.quantile_props.len();
        let mut counts = vec![0u64; k];
        for &x in current {
            counts[self.quantile_edges.partition_point(|e| *e <= x)] += 1;
        }
        let n = current.len() as f64;
        let mut s = 0.0;
        for (c, &r) in counts.iter().zip(&self.quantile_props) {
            let q = *c as f64 / n;
            let q = if q == 0.0 { PSI_EPS } else { q };
            let r = if r == 0.0 { PSI_EPS } else { r };
            s += (q - r) * (q / r).ln();
        }
        s
    }

    /// Jensen-Shannon distance on `bins` shared equal-width bins over reference and current
    /// together (`histogram_bin_edges(concat, bins)`), in `base` (None for natural log).
    pub fn js_shared_bins(&self, current: &[f64], bins: usize, base: Option<f64>) -> Result<f64> {
        let (lo, hi) = finite_range(current, "js current")?;
        if self.sorted.is_empty() {
            return Err(Error::invalid(
                "js reference",
                "0 values",
                "a fitted, non-empty reference",
            ));
        }
        let lo = lo.min(self.sorted[0]);
        let hi = hi.max(self.sorted[self.sorted.len() - 1]);
        let edges = histogram_bin_edges(lo, hi, bins);
        let nr = self.sorted.len() as f64;
        let nc = current.len() as f64;
        let p: Vec<f64> = histogram_sorted(&self.sorted, &edges)
            .iter()
            .map(|c| *c as f64 / nr)
            .collect();
        let q: Vec<f64> = histogram(current, &edges)
            .iter()
            .map(|c| *c as f64 / nc)
            .collect();
        Ok(jensenshannon(&p, &q, base))
    }

    /// Evidently's proportions for a current window (see [`evidently_binned`]).
    pub fn evidently(&self, current: &[f64], feel_zeroes: bool) -> Result<(Vec<f64>, Vec<f64>)> {
        let cur = super::sorted_finite(current, "binned current")?;
        Ok(evidently_binned(&self.sorted, &cur, feel_zeroes))
    }
}

fn quantile_bin_counts_sorted(sorted: &[f64], inner: &[f64]) -> Vec<u64> {
    // bin index = number of inner edges <= x
    let mut cuts: Vec<usize> = inner
        .iter()
        .map(|e| sorted.partition_point(|v| v < e))
        .collect();
    cuts.insert(0, 0);
    cuts.push(sorted.len());
    cuts.windows(2).map(|w| (w[1] - w[0]) as u64).collect()
}

fn finite_range(values: &[f64], what: &'static str) -> Result<(f64, f64)> {
    if values.is_empty() {
        return Err(Error::invalid(what, "0 values", "at least one value"));
    }
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in values {
        if !v.is_finite() {
            return Err(Error::invalid(what, format!("{v}"), "finite values"));
        }
        lo = lo.min(v);
        hi = hi.max(v);
    }
    Ok((lo, hi))
}

/// Evidently's `psi` on two numeric samples (any order, finite, non-empty).
pub fn psi_evidently(reference: &[f64], current: &[f64]) -> Result<f64> {
    let r = super::sorted_finite(reference, "psi reference")?;
    let c = super::sorted_finite(current, "psi current")?;
    let (p, q) = evidently_binned(&r, &c, true);
    Ok(psi(&p, &q))
}

/// Evidently's numeric `hellinger`: Sturges equal-width edges over the *distinct* values of
/// reference and current together, density histograms, `sqrt(1 - clip(sum sqrt(h1 h2) w))`
/// with `w` the mean bin width. Inputs sorted, finite, non-empty.
pub fn hellinger_evidently_numeric(ref_sorted: &[f64], cur_sorted: &[f64]) -> f64 {
    if ref_sorted.is_empty() || cur_sorted.is_empty() {
        return f64::NAN;
    }
    let (rv, _) = distinct_counts_sorted(ref_sorted);
    let (cv, _) = distinct_counts_sorted(cur_sorted);
    let ones_r = vec![1u64; rv.len()];
    let ones_c = vec![1u64; cv.len()];
    let (a, _) = align_counts(&rv, &ones_r, &cv, &ones_c);
    let n_keys = a.len();
    let lo = rv[0].min(cv[0]);
    let hi = rv[rv.len() - 1].max(cv[cv.len() - 1]);
    let nb = sturges_bin_count(n_keys, lo, hi);
    let edges = histogram_bin_edges(lo, hi, nb);
    let density = |s: &[f64]| -> Vec<f64> {
        let counts = histogram_sorted(s, &edges);
        let total: u64 = counts.iter().sum();
        counts
            .iter()
            .zip(edges.windows(2))
            .map(|(c, w)| *c as f64 / (w[1] - w[0]) / total as f64)
            .collect()
    };
    let (h1, h2) = (density(ref_sorted), density(cur_sorted));
    let width = (edges[edges.len() - 1] - edges[0]) / (edges.len() - 1) as f64;
    let mut bc = 0.0;
    for (p, q) in h1.iter().zip(&h2) {
        bc += (p * q).sqrt() * width;
    }
    (1.0 - bc.clamp(0.0, 1.0)).sqrt()
}

//! NannyML 0.13's univariate drift methods, value for value (`compat = nannyml`): the
//! anchors disagree with Evidently and scipy on binning, log base and thresholds, so users
//! moving from NannyML get the numbers they know.
//!
//! | method | NannyML key | continuous | categorical | alert |
//! |---|---|---|---|---|
//! | [`NannymlMethod::JensenShannon`] | `jensen_shannon` | Doane bins of the reference, base 2, current mass outside the bins as an extra bin | per category, base 2, unseen categories as an extra bin | value > upper threshold |
//! | [`NannymlMethod::Hellinger`] | `hellinger` | as Jensen-Shannon | as Jensen-Shannon | value > upper threshold |
//! | [`NannymlMethod::KolmogorovSmirnov`] | `kolmogorov_smirnov` | the D statistic; exact below 10,000 reference values, else estimated on 10,000 equal-width reference bins | - | value > upper threshold |
//! | [`NannymlMethod::Wasserstein`] | `wasserstein` | raw units; exact below 10,000 reference values, else estimated on 10,000 bins with the tails integrated exactly | - | value > upper threshold |
//! | [`NannymlMethod::Chi2`] | `chi2` | - | `chi2_contingency` of the reference and current counts (Yates when 2 categories) | p < 0.05 |
//! | [`NannymlMethod::LInfinity`] | `l_infinity` | - | largest difference of category proportions | value > upper threshold |
//!
//! **Thresholds** are NannyML's default `StandardDeviationThreshold(std_lower_multiplier=None)`:
//! the reference is cut into NannyML's default chunks (`n // 10` rows each, the remainder kept
//! as an extra chunk), the method is computed on each chunk against the whole reference, and
//! the upper threshold is `mean + 3·std` of those values (population std, NaN chunks
//! skipped), capped at the method's limit (1 for KS). There is no lower threshold.
//!
//! Missing values (NaN, nulls) are dropped as NannyML's `_remove_nans` does, after the
//! chunking (so chunks keep their positions). NannyML keeps infinities and then produces NaN
//! bins; here they are an error naming the value. The golden fixtures
//! (`fixtures/drift/gen_nannyml.py`, run against the real `nannyml` package) hold every
//! value, threshold and alert to 1e-9.

mod detector;

pub use detector::{NANNYML_DETECTOR_NAME, NannymlDriftDetector, NannymlOptions};

use std::collections::BTreeMap;

use mlops_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::binned::{hellinger, histogram, histogram_bin_edges, jensenshannon};
use super::categorical::chi2_contingency;
use super::ks::{KsOptions, ks_2samp_sorted};
use super::sort::sort_f64;
use super::wasserstein::wasserstein_distance;
use crate::metrics::util::pairwise_sum;

/// Reference sizes from which KS and Wasserstein switch to NannyML's binned estimate.
pub const ESTIMATE_FROM: usize = 10_000;
/// Bins of the binned estimate.
pub const ESTIMATE_BINS: usize = 10_000;
/// NannyML's default number of reference chunks for thresholds.
pub const DEFAULT_CHUNKS: usize = 10;

/// A NannyML univariate drift method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NannymlMethod {
    /// `jensen_shannon` (NannyML's default for both column types).
    #[default]
    JensenShannon,
    /// `hellinger`.
    Hellinger,
    /// `kolmogorov_smirnov` (continuous only).
    KolmogorovSmirnov,
    /// `wasserstein` (continuous only).
    Wasserstein,
    /// `chi2` (categorical only).
    Chi2,
    /// `l_infinity` (categorical only).
    LInfinity,
}

impl NannymlMethod {
    /// NannyML's key of the method.
    pub fn key(self) -> &'static str {
        match self {
            NannymlMethod::JensenShannon => "jensen_shannon",
            NannymlMethod::Hellinger => "hellinger",
            NannymlMethod::KolmogorovSmirnov => "kolmogorov_smirnov",
            NannymlMethod::Wasserstein => "wasserstein",
            NannymlMethod::Chi2 => "chi2",
            NannymlMethod::LInfinity => "l_infinity",
        }
    }

    fn upper_limit(self) -> Option<f64> {
        match self {
            NannymlMethod::KolmogorovSmirnov | NannymlMethod::Chi2 => Some(1.0),
            _ => None,
        }
    }
}

/// What NannyML keeps of a continuous reference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ContinuousState {
    /// Jensen-Shannon and Hellinger: Doane bin edges and reference proportions.
    Binned { edges: Vec<f64>, proba: Vec<f64> },
    /// KS and Wasserstein below [`ESTIMATE_FROM`] values: the sorted reference.
    Exact { sorted: Vec<f64> },
    /// KS above: 10,000 equal-width bins of the reference and its cumulative proportions.
    KsEstimated { edges: Vec<f64>, cdf: Vec<f64> },
    /// Wasserstein above: the same, with the bin width and the range.
    WassersteinEstimated { edges: Vec<f64>, cdf: Vec<f64> },
}

/// What NannyML keeps of a categorical reference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct CategoricalState {
    /// Reference categories in sorted order (`numpy.unique`) with their counts.
    counts: BTreeMap<String, u64>,
    /// Non-missing reference values.
    total: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum State {
    Continuous(ContinuousState),
    Categorical(CategoricalState),
}

/// A fitted NannyML method: the reference state and the thresholds from reference chunks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NannymlReference {
    /// The method.
    pub method: NannymlMethod,
    /// The upper threshold (`None` for `chi2`, which alerts on its p-value).
    pub upper_threshold: Option<f64>,
    /// The method's value on each reference chunk (NaN for a chunk without values).
    pub chunk_values: Vec<f64>,
    state: State,
}

/// The method's value on current data.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NannymlValue {
    /// The value (distance or statistic).
    pub value: f64,
    /// The p-value (`chi2` only).
    pub p_value: Option<f64>,
    /// NannyML's alert.
    pub alert: bool,
}

fn finite_or_missing(values: &[f64], what: &'static str) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(values.len());
    for &v in values {
        if v.is_nan() {
            continue;
        }
        if v.is_infinite() {
            return Err(Error::invalid(
                what,
                v.to_string(),
                "finite numbers (NaN for a missing value)",
            ));
        }
        out.push(v);
    }
    Ok(out)
}

/// NannyML's default chunks of `n` rows: `n // 10` rows each, the remainder as one more.
fn default_chunks(n: usize) -> Result<Vec<std::ops::Range<usize>>> {
    let size = n / DEFAULT_CHUNKS;
    if size == 0 {
        return Err(Error::invalid(
            "NannyML reference rows",
            n.to_string(),
            format!(
                "at least {DEFAULT_CHUNKS} rows (NannyML cuts the reference into {DEFAULT_CHUNKS} chunks for its thresholds)"
            ),
        ));
    }
    let mut chunks: Vec<_> = (0..n / size).map(|i| i * size..(i + 1) * size).collect();
    if !n.is_multiple_of(size) {
        chunks.push(size * (n / size)..n);
    }
    Ok(chunks)
}

/// `numpy.nanmean(v) + 3 * numpy.nanstd(v)`, capped at the method's limit.
fn upper_threshold(method: NannymlMethod, chunk_values: &[f64]) -> Option<f64> {
    if method == NannymlMethod::Chi2 {
        return None;
    }
    let v: Vec<f64> = chunk_values
        .iter()
        .copied()
        .filter(|x| !x.is_nan())
        .collect();
    if v.is_empty() {
        return Some(f64::NAN);
    }
    let n = v.len() as f64;
    let mean = pairwise_sum(&v) / n;
    let sq: Vec<f64> = v.iter().map(|x| (x - mean) * (x - mean)).collect();
    let std = (pairwise_sum(&sq) / n).sqrt();
    let upper = mean + std * 3.0;
    Some(match method.upper_limit() {
        Some(limit) if upper >= limit => limit,
        _ => upper,
    })
}

/// `numpy.histogram_bin_edges(x, bins='doane')` of finite, non-empty `x`.
pub fn doane_edges(x: &[f64]) -> Vec<f64> {
    let (lo, hi) = x
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let n = x.len();
    let mut width = 0.0;
    if n > 2 {
        let nf = n as f64;
        let sg1 = (6.0 * (nf - 2.0) / ((nf + 1.0) * (nf + 3.0))).sqrt();
        let mean = pairwise_sum(x) / nf;
        let sq: Vec<f64> = x.iter().map(|v| (v - mean) * (v - mean)).collect();
        let sigma = (pairwise_sum(&sq) / nf).sqrt();
        if sigma > 0.0 {
            let cubes: Vec<f64> = x.iter().map(|v| ((v - mean) / sigma).powf(3.0)).collect();
            let g1 = pairwise_sum(&cubes) / nf;
            width = (hi - lo) / (1.0 + nf.log2() + (1.0 + g1.abs() / sg1).log2());
        }
    }
    let (first, last) = if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let bins = if width > 0.0 {
        ((last - first) / width).ceil() as usize
    } else {
        1
    };
    histogram_bin_edges(first, last, bins)
}

/// `numpy.linspace(lo, hi, n + 1)` (no widening when `lo == hi`).
fn linspace(lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    let step = (hi - lo) / bins as f64;
    let mut e: Vec<f64> = (0..=bins)
        .map(|i| {
            if step == 0.0 {
                lo
            } else {
                i as f64 * step + lo
            }
        })
        .collect();
    e[bins] = hi;
    e
}

fn cumsum(v: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    v.map(|x| {
        acc += x;
        acc
    })
    .collect()
}

/// Reference and current proportions over the reference bins, with NannyML's extra bin for
/// current mass outside them (`leftover = 1 - sum(current)`, added when positive).
fn with_leftover(reference: &[f64], current: Vec<f64>) -> (Vec<f64>, Vec<f64>) {
    let (mut r, mut c) = (reference.to_vec(), current);
    let leftover = 1.0 - pairwise_sum(&c);
    if leftover > 0.0 {
        c.push(leftover);
        r.push(0.0);
    }
    (r, c)
}

fn distance(method: NannymlMethod, r: &[f64], c: &[f64]) -> f64 {
    if method == NannymlMethod::Hellinger {
        hellinger(r, c)
    } else {
        jensenshannon(r, c, Some(2.0))
    }
}

impl ContinuousState {
    fn fit(method: NannymlMethod, reference: &[f64]) -> Result<Self> {
        let n = reference.len() as f64;
        Ok(match method {
            NannymlMethod::JensenShannon | NannymlMethod::Hellinger => {
                let edges = doane_edges(reference);
                let proba = histogram(reference, &edges)
                    .iter()
                    .map(|&c| c as f64 / n)
                    .collect();
                ContinuousState::Binned { edges, proba }
            }
            NannymlMethod::KolmogorovSmirnov | NannymlMethod::Wasserstein => {
                let mut sorted = reference.to_vec();
                sort_f64(&mut sorted);
                if sorted.len() < ESTIMATE_FROM {
                    return Ok(ContinuousState::Exact { sorted });
                }
                let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
                let edges = if method == NannymlMethod::KolmogorovSmirnov {
                    linspace(lo, hi, ESTIMATE_BINS)
                } else {
                    histogram_bin_edges(lo, hi, ESTIMATE_BINS)
                };
                let cdf = cumsum(histogram(&sorted, &edges).iter().map(|&c| c as f64 / n));
                if method == NannymlMethod::KolmogorovSmirnov {
                    ContinuousState::KsEstimated { edges, cdf }
                } else {
                    ContinuousState::WassersteinEstimated { edges, cdf }
                }
            }
            other => {
                return Err(Error::invalid(
                    "NannyML method for a continuous column",
                    other.key(),
                    "jensen_shannon, hellinger, kolmogorov_smirnov or wasserstein",
                ));
            }
        })
    }

    fn calculate(&self, method: NannymlMethod, data: &[f64]) -> Result<f64> {
        if data.is_empty() {
            return Ok(f64::NAN);
        }
        let n = data.len() as f64;
        Ok(match self {
            ContinuousState::Binned { edges, proba } => {
                let cur = histogram(data, edges)
                    .iter()
                    .map(|&c| c as f64 / n)
                    .collect();
                let (r, c) = with_leftover(proba, cur);
                distance(method, &r, &c)
            }
            ContinuousState::Exact { sorted } => {
                if method == NannymlMethod::KolmogorovSmirnov {
                    let mut cur = data.to_vec();
                    sort_f64(&mut cur);
                    ks_2samp_sorted(sorted, &cur, &KsOptions::default())?.statistic
                } else {
                    wasserstein_distance(sorted, data)?
                }
            }
            ContinuousState::KsEstimated { edges, cdf } => {
                let below = data.iter().filter(|&&x| x < edges[0]).count() as f64 / n;
                let cur = cumsum(histogram(data, edges).iter().map(|&c| c as f64 / n));
                cdf.iter()
                    .zip(&cur)
                    .map(|(r, c)| (r - (below + c)).abs())
                    .fold(f64::NAN, |m, d| if m.is_nan() || d > m { d } else { m })
            }
            ContinuousState::WassersteinEstimated { edges, cdf } => {
                wasserstein_estimated(edges, cdf, data)
            }
        })
    }
}

/// NannyML's `_ecdf`: the distinct sorted values and the ECDF at each.
fn ecdf(mut v: Vec<f64>) -> (Vec<f64>, Vec<f64>) {
    sort_f64(&mut v);
    let n = v.len() as f64;
    let (mut x, mut counts) = (Vec::new(), Vec::new());
    for &val in &v {
        if x.last() == Some(&val) {
            *counts.last_mut().unwrap_or(&mut 0.0) += 1.0;
        } else {
            x.push(val);
            counts.push(1.0);
        }
    }
    let y = cumsum(counts.into_iter())
        .into_iter()
        .map(|c| c / n)
        .collect();
    (x, y)
}

fn wasserstein_estimated(edges: &[f64], ref_cdf: &[f64], data: &[f64]) -> f64 {
    let n = data.len() as f64;
    let (lo, hi) = (edges[0], edges[edges.len() - 1]);
    let width = edges[1] - edges[0];
    let smaller: Vec<f64> = data.iter().copied().filter(|&x| x < lo).collect();
    let bigger: Vec<f64> = data.iter().copied().filter(|&x| x > hi).collect();
    let (mut term_smaller, mut amount_smaller) = (0.0, 0.0);
    if !smaller.is_empty() {
        amount_smaller = (smaller.len() as f64 + 1.0) / n;
        let mut v = smaller;
        v.push(lo);
        let (x, y) = ecdf(v);
        let terms: Vec<f64> = (0..x.len() - 1).map(|i| y[i] * (x[i + 1] - x[i])).collect();
        term_smaller = pairwise_sum(&terms) * amount_smaller;
    }
    let mut term_bigger = 0.0;
    if !bigger.is_empty() {
        let amount_bigger = (bigger.len() as f64 + 1.0) / n;
        let mut v = vec![hi];
        v.extend(bigger);
        let (x, y) = ecdf(v);
        let terms: Vec<f64> = (0..x.len() - 1)
            .map(|i| (1.0 - y[i]) * (x[i + 1] - x[i]))
            .collect();
        term_bigger = pairwise_sum(&terms) * amount_bigger;
    }
    let cur = cumsum(histogram(data, edges).iter().map(|&c| c as f64 / n));
    let within: Vec<f64> = ref_cdf
        .iter()
        .zip(&cur)
        .map(|(r, c)| (r - (c + amount_smaller)).abs() * width)
        .collect();
    pairwise_sum(&within) + term_smaller + term_bigger
}

impl CategoricalState {
    fn fit(reference: &[Option<&str>]) -> Self {
        let mut counts = BTreeMap::new();
        let mut total = 0;
        for s in reference.iter().flatten() {
            *counts.entry((*s).to_string()).or_insert(0) += 1;
            total += 1;
        }
        CategoricalState { counts, total }
    }

    fn calculate(&self, method: NannymlMethod, data: &[Option<&str>]) -> Result<NannymlValue> {
        let mut cur: BTreeMap<&str, u64> = BTreeMap::new();
        let mut n = 0u64;
        for s in data.iter().flatten() {
            *cur.entry(s).or_insert(0) += 1;
            n += 1;
        }
        let value = |v: f64| NannymlValue {
            value: v,
            p_value: None,
            alert: false,
        };
        if n == 0 {
            return Ok(value(f64::NAN));
        }
        let (nr, nc) = (self.total as f64, n as f64);
        Ok(match method {
            NannymlMethod::JensenShannon | NannymlMethod::Hellinger => {
                let r: Vec<f64> = self.counts.values().map(|&c| c as f64 / nr).collect();
                let c: Vec<f64> = self
                    .counts
                    .keys()
                    .map(|k| cur.get(k.as_str()).copied().unwrap_or(0) as f64 / nc)
                    .collect();
                let (r, c) = with_leftover(&r, c);
                value(distance(method, &r, &c))
            }
            NannymlMethod::LInfinity => {
                let mut keys: Vec<&str> = self.counts.keys().map(String::as_str).collect();
                keys.extend(cur.keys().filter(|k| !self.counts.contains_key(**k)));
                value(keys.iter().fold(0.0, |m: f64, k| {
                    let r = self.counts.get(*k).copied().unwrap_or(0) as f64 / nr;
                    let c = cur.get(k).copied().unwrap_or(0) as f64 / nc;
                    m.max((r - c).abs())
                }))
            }
            NannymlMethod::Chi2 => {
                // Rows: the reference categories (by count, as `value_counts` orders them),
                // then the new ones; columns: reference, current.
                let mut table = Vec::new();
                for (k, &c) in &self.counts {
                    table.push(c as f64);
                    table.push(cur.get(k.as_str()).copied().unwrap_or(0) as f64);
                }
                for (k, &c) in &cur {
                    if !self.counts.contains_key(*k) {
                        table.push(0.0);
                        table.push(c as f64);
                    }
                }
                let rows = table.len() / 2;
                let (stat, p) = if rows < 2 {
                    (0.0, 1.0)
                } else {
                    let t: Vec<f64> = (0..rows)
                        .map(|i| table[2 * i])
                        .chain((0..rows).map(|i| table[2 * i + 1]))
                        .collect();
                    let r = chi2_contingency(&t, 2, true)?;
                    (r.statistic, r.p_value)
                };
                NannymlValue {
                    value: stat,
                    p_value: Some(p),
                    alert: p < 0.05,
                }
            }
            other => {
                return Err(Error::invalid(
                    "NannyML method for a categorical column",
                    other.key(),
                    "jensen_shannon, hellinger, chi2 or l_infinity",
                ));
            }
        })
    }
}

impl NannymlReference {
    /// Fits `method` on a continuous reference column (NaN marks a missing value), with
    /// NannyML's thresholds from the default reference chunks. Errors on fewer than 10 rows,
    /// no finite value, an infinity, or a categorical-only method.
    pub fn fit_continuous(method: NannymlMethod, reference: &[f64]) -> Result<Self> {
        let finite = finite_or_missing(reference, "NannyML reference value")?;
        if finite.is_empty() {
            return Err(Error::invalid(
                "NannyML reference",
                format!("{} rows, none finite", reference.len()),
                "at least one finite value",
            ));
        }
        let chunks = default_chunks(reference.len())?;
        let state = ContinuousState::fit(method, &finite)?;
        let chunk_values = chunks
            .into_iter()
            .map(|r| {
                let chunk: Vec<f64> = reference[r]
                    .iter()
                    .copied()
                    .filter(|x| !x.is_nan())
                    .collect();
                state.calculate(method, &chunk)
            })
            .collect::<Result<Vec<f64>>>()?;
        Ok(NannymlReference {
            method,
            upper_threshold: upper_threshold(method, &chunk_values),
            chunk_values,
            state: State::Continuous(state),
        })
    }

    /// Fits `method` on a categorical reference column (`None` for a missing value).
    pub fn fit_categorical(method: NannymlMethod, reference: &[Option<&str>]) -> Result<Self> {
        if !matches!(
            method,
            NannymlMethod::JensenShannon
                | NannymlMethod::Hellinger
                | NannymlMethod::Chi2
                | NannymlMethod::LInfinity
        ) {
            return Err(Error::invalid(
                "NannyML method for a categorical column",
                method.key(),
                "jensen_shannon, hellinger, chi2 or l_infinity",
            ));
        }
        let state = CategoricalState::fit(reference);
        if state.total == 0 {
            return Err(Error::invalid(
                "NannyML reference",
                format!("{} rows, all missing", reference.len()),
                "at least one non-missing value",
            ));
        }
        let chunks = default_chunks(reference.len())?;
        let chunk_values = chunks
            .into_iter()
            .map(|r| Ok(state.calculate(method, &reference[r])?.value))
            .collect::<Result<Vec<f64>>>()?;
        Ok(NannymlReference {
            method,
            upper_threshold: upper_threshold(method, &chunk_values),
            chunk_values,
            state: State::Categorical(state),
        })
    }

    fn judged(&self, mut v: NannymlValue) -> NannymlValue {
        if self.method != NannymlMethod::Chi2 {
            v.alert = self.upper_threshold.is_some_and(|u| v.value > u);
        }
        v
    }

    /// The method on a continuous current column (NaN marks a missing value). A column
    /// without values gives NaN and no alert, as in NannyML.
    pub fn calculate_continuous(&self, current: &[f64]) -> Result<NannymlValue> {
        let State::Continuous(state) = &self.state else {
            return Err(Error::invalid(
                "NannyML current column",
                "numbers",
                "strings, as the reference was",
            ));
        };
        let finite = finite_or_missing(current, "NannyML current value")?;
        let value = state.calculate(self.method, &finite)?;
        Ok(self.judged(NannymlValue {
            value,
            p_value: None,
            alert: false,
        }))
    }

    /// The method on a categorical current column.
    pub fn calculate_categorical(&self, current: &[Option<&str>]) -> Result<NannymlValue> {
        let State::Categorical(state) = &self.state else {
            return Err(Error::invalid(
                "NannyML current column",
                "strings",
                "numbers, as the reference was",
            ));
        };
        let v = state.calculate(self.method, current)?;
        Ok(self.judged(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doane_matches_numpy_on_a_small_sample() {
        // numpy.histogram_bin_edges([1, 2, 2, 3, 10], bins='doane') (numpy 2.4).
        let e = doane_edges(&[1.0, 2.0, 2.0, 3.0, 10.0]);
        assert_eq!(e, vec![1.0, 2.5, 4.0, 5.5, 7.0, 8.5, 10.0]);
        // A constant sample: one bin, widened by 0.5 on each side.
        assert_eq!(doane_edges(&[4.0, 4.0, 4.0]), vec![3.5, 4.5]);
    }

    #[test]
    fn chunks_keep_the_remainder_and_small_references_are_errors() {
        let c = default_chunks(23).unwrap();
        assert_eq!(c.len(), 12);
        assert_eq!(c[11], 22..23);
        assert!(default_chunks(9).is_err());
        let err = NannymlReference::fit_continuous(NannymlMethod::JensenShannon, &[1.0; 5])
            .unwrap_err()
            .to_string();
        assert!(err.contains('5'), "{err}");
        assert!(NannymlReference::fit_continuous(NannymlMethod::Chi2, &[1.0; 20]).is_err());
        assert!(
            NannymlReference::fit_continuous(NannymlMethod::Wasserstein, &[f64::INFINITY; 20])
                .is_err()
        );
    }

    #[test]
    fn identical_data_gives_zero_and_no_alert() {
        let x: Vec<f64> = (0..100).map(|i| (i * 37 % 101) as f64).collect();
        for m in [
            NannymlMethod::JensenShannon,
            NannymlMethod::Hellinger,
            NannymlMethod::KolmogorovSmirnov,
            NannymlMethod::Wasserstein,
        ] {
            let r = NannymlReference::fit_continuous(m, &x).unwrap();
            let v = r.calculate_continuous(&x).unwrap();
            assert!(v.value.abs() < 1e-12 && !v.alert, "{m:?}: {v:?}");
            let shifted: Vec<f64> = x.iter().map(|v| v + 60.0).collect();
            assert!(r.calculate_continuous(&shifted).unwrap().alert, "{m:?}");
        }
    }
}

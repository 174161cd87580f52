//! Shared helpers: numpy-compatible summation, validation, label encoding, score matrices.

use mlops_core::{Error, Result};

/// numpy's pairwise summation (`pairwise_sum_DOUBLE`, block size 128, 8 accumulators).
pub(crate) fn pairwise_sum(a: &[f64]) -> f64 {
    0.0 + pw(a)
}

fn pw(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let full = n - n % 8;
        let mut i = 8;
        while i < full {
            for (j, rj) in r.iter_mut().enumerate() {
                *rj += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += a[i];
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pw(&a[..n2]) + pw(&a[n2..])
    }
}

/// Pairwise sum of `f(i)` for `i in 0..n`, without materialising the terms
/// (same association order as [`pairwise_sum`] on the materialised vector).
pub(crate) fn pairwise_sum_by(n: usize, f: &impl Fn(usize) -> f64) -> f64 {
    0.0 + pw_by(0, n, f)
}

fn pw_by(start: usize, n: usize, f: &impl Fn(usize) -> f64) -> f64 {
    if n < 8 {
        let mut res = 0.0;
        for i in start..start + n {
            res += f(i);
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        for (j, rj) in r.iter_mut().enumerate() {
            *rj = f(start + j);
        }
        let full = n - n % 8;
        let mut i = 8;
        while i < full {
            for (j, rj) in r.iter_mut().enumerate() {
                *rj += f(start + i + j);
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        while i < n {
            res += f(start + i);
            i += 1;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pw_by(start, n2, f) + pw_by(start + n2, n - n2, f)
    }
}

/// `np.average(values, weights=weights)`: `sum(v*w)/sum(w)` or `sum(v)/n`.
pub(crate) fn average(values: &[f64], weights: Option<&[f64]>) -> f64 {
    match weights {
        None => pairwise_sum(values) / values.len() as f64,
        Some(w) => {
            let num = pairwise_sum_by(values.len(), &|i| values[i] * w[i]);
            num / pairwise_sum(w)
        }
    }
}

/// Fails unless `a` and `b` have the same length.
pub(crate) fn check_len(what: &'static str, a: usize, b: usize) -> Result<()> {
    if a != b {
        return Err(Error::invalid(
            what,
            format!("length {b}"),
            format!("the same length as y_true ({a})"),
        ));
    }
    Ok(())
}

/// Fails on an empty input.
pub(crate) fn check_nonempty(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid(
            "y_true",
            "an empty array",
            "at least one sample",
        ));
    }
    Ok(())
}

/// Fails on NaN or infinite values.
pub(crate) fn check_finite(what: &'static str, a: &[f64]) -> Result<()> {
    if let Some((i, v)) = a.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::invalid(
            what,
            format!("{v} at index {i}"),
            "finite values",
        ));
    }
    Ok(())
}

/// Validates optional sample weights: same length, finite, non-negative.
pub(crate) fn check_weights(n: usize, w: Option<&[f64]>) -> Result<()> {
    if let Some(w) = w {
        check_len("sample_weight", n, w.len())?;
        if let Some((i, v)) = w
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_finite() || **v < 0.0)
        {
            return Err(Error::invalid(
                "sample_weight",
                format!("{v} at index {i}"),
                "finite, non-negative weights",
            ));
        }
    }
    Ok(())
}

/// Sorted distinct values of the given label arrays.
pub(crate) fn unique_labels(arrays: &[&[i64]]) -> Vec<i64> {
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for a in arrays {
        for &v in a.iter() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if lo > hi {
        return Vec::new();
    }
    let span = (hi as i128 - lo as i128) as u128;
    if span < 1 << 16 {
        let mut seen = vec![false; span as usize + 1];
        for a in arrays {
            for &v in a.iter() {
                seen[(v - lo) as usize] = true;
            }
        }
        seen.iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(i, _)| lo + i as i64)
            .collect()
    } else {
        let mut all: Vec<i64> = arrays.iter().flat_map(|a| a.iter().copied()).collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// Maps a label to its position in a list of labels (in the list's order).
pub(crate) struct LabelIndex {
    lo: i64,
    table: Vec<u32>,
    sorted: Vec<(i64, usize)>,
}

impl LabelIndex {
    pub(crate) fn new(labels: &[i64]) -> Self {
        let lo = labels.iter().copied().min().unwrap_or(0);
        let hi = labels.iter().copied().max().unwrap_or(0);
        let span = (hi as i128 - lo as i128) as u128;
        if !labels.is_empty() && span < 1 << 16 {
            let mut table = vec![u32::MAX; span as usize + 1];
            for (i, &l) in labels.iter().enumerate().rev() {
                table[(l - lo) as usize] = i as u32;
            }
            LabelIndex {
                lo,
                table,
                sorted: Vec::new(),
            }
        } else {
            let mut sorted: Vec<(i64, usize)> =
                labels.iter().enumerate().map(|(i, &l)| (l, i)).collect();
            sorted.sort_by_key(|&(l, i)| (l, i));
            sorted.dedup_by_key(|p| p.0);
            LabelIndex {
                lo,
                table: Vec::new(),
                sorted,
            }
        }
    }

    #[inline]
    pub(crate) fn get(&self, v: i64) -> Option<usize> {
        if !self.table.is_empty() {
            let off = (v as i128) - (self.lo as i128);
            if off < 0 || off >= self.table.len() as i128 {
                return None;
            }
            let i = self.table[off as usize];
            if i == u32::MAX {
                None
            } else {
                Some(i as usize)
            }
        } else {
            self.sorted
                .binary_search_by_key(&v, |p| p.0)
                .ok()
                .map(|k| self.sorted[k].1)
        }
    }
}

/// Checks that `labels` has no duplicates.
pub(crate) fn check_unique_labels(labels: &[i64]) -> Result<()> {
    let mut s = labels.to_vec();
    s.sort_unstable();
    if s.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::invalid(
            "labels",
            format!("{labels:?}"),
            "distinct labels",
        ));
    }
    Ok(())
}

/// A row-major matrix of scores, one row per sample and one column per class
/// (the layout of `predict_proba`). A single column means "the score of the positive
/// class", like a 1-D `y_score` in scikit-learn.
#[derive(Clone, Copy, Debug)]
pub struct ScoreMatrix<'a> {
    data: &'a [f64],
    n_cols: usize,
}

impl<'a> ScoreMatrix<'a> {
    /// A matrix of `data.len() / n_cols` rows; fails unless `n_cols > 0` divides the length.
    pub fn new(data: &'a [f64], n_cols: usize) -> Result<Self> {
        if n_cols == 0 || data.len() / n_cols * n_cols != data.len() {
            return Err(Error::invalid(
                "y_score",
                format!("{} values with {n_cols} columns", data.len()),
                "a positive number of columns that divides the number of values",
            ));
        }
        Ok(ScoreMatrix { data, n_cols })
    }

    /// A single column: the score of the positive class (a 1-D `y_score`).
    pub fn column(data: &'a [f64]) -> Self {
        ScoreMatrix { data, n_cols: 1 }
    }

    /// Number of rows (samples).
    pub fn n_rows(&self) -> usize {
        self.data.len() / self.n_cols
    }

    /// Number of columns (classes).
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// The row-major values.
    pub fn data(&self) -> &'a [f64] {
        self.data
    }

    /// Row `i`.
    #[inline]
    pub(crate) fn row(&self, i: usize) -> &'a [f64] {
        &self.data[i * self.n_cols..(i + 1) * self.n_cols]
    }
}

impl<'a> From<&'a [f64]> for ScoreMatrix<'a> {
    fn from(data: &'a [f64]) -> Self {
        ScoreMatrix::column(data)
    }
}

impl<'a> From<&'a Vec<f64>> for ScoreMatrix<'a> {
    fn from(data: &'a Vec<f64>) -> Self {
        ScoreMatrix::column(data)
    }
}

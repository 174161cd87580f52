//! Calibration: scikit-learn's `calibration_curve` (the reliability curve) and the
//! expected calibration error.
//!
//! **Binning** (shared by both): `n_bins` bins with edges `e_0 = 0 < e_1 < … < e_n = 1`
//! (`uniform`: `e_i = i · (1/n)`, as `np.linspace`; `quantile`: numpy's linear
//! percentiles of the probabilities). A probability `p` falls in bin
//! `b = #{inner edges e_1..e_{n-1} strictly below p}` (`np.searchsorted(edges[1:-1], p)`),
//! so bins are closed on the right: `[0, e_1], (e_1, e_2], …, (e_{n-1}, 1]`. Empty bins
//! are left out.

use mlops_core::{Error, Result};

use super::util::{ScoreMatrix, check_finite, check_len, check_nonempty, unique_labels};

/// How [`calibration_curve`] places its bin edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BinStrategy {
    /// Equal-width bins on [0, 1] (the default).
    #[default]
    Uniform,
    /// Edges at the quantiles of the probabilities (numpy's linear percentile).
    Quantile,
}

/// The points of a reliability curve, one per non-empty bin in increasing order.
#[derive(Clone, Debug, PartialEq)]
pub struct CalibrationCurve {
    /// Fraction of positives in each bin (`prob_true`).
    pub prob_true: Vec<f64>,
    /// Mean predicted probability in each bin (`prob_pred`).
    pub prob_pred: Vec<f64>,
    /// Number of samples in each bin.
    pub counts: Vec<usize>,
}

fn linspace01(n: usize) -> Vec<f64> {
    let step = 1.0 / n as f64;
    let mut e: Vec<f64> = (0..=n).map(|i| i as f64 * step + 0.0).collect();
    if let Some(last) = e.last_mut() {
        *last = 1.0;
    }
    e
}

/// numpy's `np.percentile(a, q, method="linear")` on sorted data.
fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let quant = q / 100.0;
    let vi = n as f64 * quant + (1.0 - quant) - 1.0;
    let prev = vi.floor();
    let gamma = vi - prev;
    let pi = (prev.max(0.0) as usize).min(n - 1);
    let ni = ((prev + 1.0).max(0.0) as usize).min(n - 1);
    let (a, b) = (sorted[pi], sorted[ni]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

fn bin_edges(p: &[f64], n_bins: usize, strategy: BinStrategy) -> Vec<f64> {
    let lin = linspace01(n_bins);
    match strategy {
        BinStrategy::Uniform => lin,
        BinStrategy::Quantile => {
            let mut s = p.to_vec();
            s.sort_by(f64::total_cmp);
            lin.iter()
                .map(|q| percentile_sorted(&s, q * 100.0))
                .collect()
        }
    }
}

/// Bin of `p`: the number of inner edges strictly below it.
fn bin_of(inner: &[f64], p: f64) -> usize {
    inner.partition_point(|e| *e < p)
}

fn check_probs(y_prob: &[f64]) -> Result<()> {
    check_finite("y_prob", y_prob)?;
    if let Some(v) = y_prob.iter().find(|v| **v < 0.0 || **v > 1.0) {
        return Err(Error::invalid(
            "y_prob",
            v.to_string(),
            "probabilities in [0, 1]",
        ));
    }
    Ok(())
}

/// The reliability curve of a binary classifier (`calibration_curve`): `y_prob` is the
/// probability of `pos_label` (default: 1 when the labels are within {0, 1} or {-1, 1},
/// else the greater label).
pub fn calibration_curve(
    y_true: &[i64],
    y_prob: &[f64],
    pos_label: Option<i64>,
    n_bins: usize,
    strategy: BinStrategy,
) -> Result<CalibrationCurve> {
    check_nonempty(y_true.len())?;
    check_len("y_prob", y_true.len(), y_prob.len())?;
    check_probs(y_prob)?;
    if n_bins == 0 {
        return Err(Error::invalid("n_bins", "0", "at least one bin"));
    }
    let labels = unique_labels(&[y_true]);
    if labels.len() > 2 {
        return Err(Error::invalid(
            "y_true",
            format!("labels {labels:?}"),
            "a binary target",
        ));
    }
    let pos = match pos_label {
        Some(p) => p,
        None => {
            let special = labels.iter().all(|v| *v == 0 || *v == 1)
                || labels.iter().all(|v| *v == -1 || *v == 1);
            if !special {
                return Err(Error::invalid(
                    "pos_label",
                    "None",
                    format!(
                        "a positive label, since y_true's labels {labels:?} are not {{0, 1}} or {{-1, 1}}"
                    ),
                ));
            }
            1
        }
    };
    let edges = bin_edges(y_prob, n_bins, strategy);
    let inner = &edges[1..edges.len() - 1];
    let nb = edges.len().max(n_bins);
    let (mut sums, mut trues, mut totals) = (vec![0.0; nb], vec![0.0; nb], vec![0usize; nb]);
    for (&y, &p) in y_true.iter().zip(y_prob) {
        let b = bin_of(inner, p);
        sums[b] += p;
        trues[b] += if y == pos { 1.0 } else { 0.0 };
        totals[b] += 1;
    }
    let mut out = CalibrationCurve {
        prob_true: Vec::new(),
        prob_pred: Vec::new(),
        counts: Vec::new(),
    };
    for b in 0..nb {
        if totals[b] > 0 {
            out.prob_true.push(trues[b] / totals[b] as f64);
            out.prob_pred.push(sums[b] / totals[b] as f64);
            out.counts.push(totals[b]);
        }
    }
    Ok(out)
}

/// The norm of [`expected_calibration_error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CalibrationNorm {
    /// ECE: `Σ_b (n_b/N) |acc_b − conf_b|`.
    #[default]
    L1,
    /// RMSCE: `sqrt(Σ_b (n_b/N) (acc_b − conf_b)²)`.
    L2,
    /// MCE: `max_b |acc_b − conf_b|`.
    Max,
}

/// Expected calibration error over `n_bins` uniform bins (binning in the module docs).
///
/// With one column, `y_proba` is the probability of the label 1 and `acc_b` is the
/// fraction of `y_true == 1` in the bin (the reliability curve of [`calibration_curve`]);
/// with one column per class (labels `0..K`), the confidence is the top probability and
/// `acc_b` the fraction of rows whose arg-max (first on ties) equals `y_true` (top-label
/// ECE, as torchmetrics' `CalibrationError`).
pub fn expected_calibration_error(
    y_true: &[i64],
    y_proba: ScoreMatrix,
    n_bins: usize,
    norm: CalibrationNorm,
) -> Result<f64> {
    let n = y_true.len();
    check_nonempty(n)?;
    check_len("y_proba", n, y_proba.n_rows())?;
    check_probs(y_proba.data())?;
    if n_bins == 0 {
        return Err(Error::invalid("n_bins", "0", "at least one bin"));
    }
    let k = y_proba.n_cols();
    let mut conf = Vec::with_capacity(n);
    let mut hit = Vec::with_capacity(n);
    for (i, &y) in y_true.iter().enumerate() {
        let row = &y_proba.data()[i * k..(i + 1) * k];
        if k == 1 {
            if y != 0 && y != 1 {
                return Err(Error::invalid(
                    "y_true",
                    y.to_string(),
                    "0 or 1 with one probability column",
                ));
            }
            conf.push(row[0]);
            hit.push(y as f64);
        } else {
            if y < 0 || y as u64 >= k as u64 {
                return Err(Error::invalid(
                    "y_true",
                    y.to_string(),
                    format!("a class in 0..{k}"),
                ));
            }
            let mut best = 0;
            for j in 1..k {
                if row[j] > row[best] {
                    best = j;
                }
            }
            conf.push(row[best]);
            hit.push(if best as i64 == y { 1.0 } else { 0.0 });
        }
    }
    let edges = linspace01(n_bins);
    let inner = &edges[1..edges.len() - 1];
    let (mut cs, mut hs, mut ts) = (vec![0.0; n_bins], vec![0.0; n_bins], vec![0usize; n_bins]);
    for (c, h) in conf.iter().zip(&hit) {
        let b = bin_of(inner, *c);
        cs[b] += c;
        hs[b] += h;
        ts[b] += 1;
    }
    let mut acc = 0.0f64;
    for b in 0..n_bins {
        if ts[b] == 0 {
            continue;
        }
        let gap = (hs[b] / ts[b] as f64 - cs[b] / ts[b] as f64).abs();
        let w = ts[b] as f64 / n as f64;
        match norm {
            CalibrationNorm::L1 => acc += w * gap,
            CalibrationNorm::L2 => acc += w * gap * gap,
            CalibrationNorm::Max => acc = acc.max(gap),
        }
    }
    Ok(if norm == CalibrationNorm::L2 {
        acc.sqrt()
    } else {
        acc
    })
}

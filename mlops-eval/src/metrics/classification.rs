//! Classification metrics with scikit-learn 1.9.1 semantics.
//!
//! Labels are `i64`. Per-class scores are a row-major [`ScoreMatrix`] whose columns follow
//! the sorted labels (scikit-learn's `LabelBinarizer` order).

use mlops_core::{Error, Result};

use super::util::{
    LabelIndex, ScoreMatrix, average, check_finite, check_len, check_nonempty, check_unique_labels,
    check_weights, pairwise_sum, pairwise_sum_by, unique_labels,
};

/// What a ratio with a zero denominator evaluates to (scikit-learn's `zero_division`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ZeroDivision {
    /// `"warn"` (the default): 0.0 (scikit-learn also warns).
    #[default]
    Warn,
    /// `0`: 0.0.
    Zero,
    /// `1`: 1.0.
    One,
    /// `np.nan`: NaN, and NaN classes are left out of macro and weighted averages.
    NaN,
}

impl ZeroDivision {
    /// The value substituted for an undefined ratio.
    pub fn value(self) -> f64 {
        match self {
            ZeroDivision::Warn | ZeroDivision::Zero => 0.0,
            ZeroDivision::One => 1.0,
            ZeroDivision::NaN => f64::NAN,
        }
    }
}

/// How per-class scores are combined (scikit-learn's `average`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Average {
    /// Only the class `pos_label`; the targets must have at most two classes.
    #[default]
    Binary,
    /// Global counts over all selected classes.
    Micro,
    /// Unweighted mean of the per-class scores.
    Macro,
    /// Mean of the per-class scores weighted by support.
    Weighted,
}

/// Options of [`precision_score`], [`recall_score`], [`f1_score`], [`fbeta_score`] and
/// [`precision_recall_fscore_support`].
#[derive(Clone, Copy, Debug)]
pub struct PrfOptions<'a> {
    /// How to average (default [`Average::Binary`]); ignored by
    /// [`precision_recall_fscore_support`] except for `Binary`, which selects `pos_label`.
    pub average: Average,
    /// Value of undefined ratios (default [`ZeroDivision::Warn`]).
    pub zero_division: ZeroDivision,
    /// One weight per sample.
    pub sample_weight: Option<&'a [f64]>,
    /// The classes to score, in this order (default: sorted labels present in either input).
    pub labels: Option<&'a [i64]>,
    /// The positive class when `average` is `Binary` (default 1).
    pub pos_label: i64,
}

impl Default for PrfOptions<'_> {
    fn default() -> Self {
        PrfOptions {
            average: Average::Binary,
            zero_division: ZeroDivision::Warn,
            sample_weight: None,
            labels: None,
            pos_label: 1,
        }
    }
}

/// Per-class precision, recall, F-beta and support.
#[derive(Clone, Debug, PartialEq)]
pub struct PrfSupport {
    /// The classes, in the order of the other vectors.
    pub labels: Vec<i64>,
    /// Precision of each class.
    pub precision: Vec<f64>,
    /// Recall of each class.
    pub recall: Vec<f64>,
    /// F-beta of each class.
    pub fscore: Vec<f64>,
    /// (Weighted) number of true samples of each class.
    pub support: Vec<f64>,
}

fn check_pair(y_true: &[i64], y_pred: &[i64], w: Option<&[f64]>) -> Result<()> {
    check_len("y_pred", y_true.len(), y_pred.len())?;
    check_weights(y_true.len(), w)
}

/// The labels scored by the set-wise metrics (`_check_set_wise_labels`).
fn set_wise_labels(y_true: &[i64], y_pred: &[i64], opts: &PrfOptions) -> Result<Vec<i64>> {
    let present = unique_labels(&[y_true, y_pred]);
    if opts.average == Average::Binary {
        if present.len() > 2 {
            return Err(Error::invalid(
                "average",
                format!("Binary with {} classes {present:?}", present.len()),
                "Micro, Macro or Weighted for a multiclass target",
            ));
        }
        if !present.contains(&opts.pos_label) && present.len() >= 2 {
            return Err(Error::invalid(
                "pos_label",
                opts.pos_label.to_string(),
                format!("one of the present labels {present:?}"),
            ));
        }
        return Ok(vec![opts.pos_label]);
    }
    match opts.labels {
        Some(l) => {
            check_unique_labels(l)?;
            Ok(l.to_vec())
        }
        None => Ok(present),
    }
}

/// Weighted (tp, pred, true) sums per label, accumulated in sample order like `bincount`.
fn label_counts(
    y_true: &[i64],
    y_pred: &[i64],
    w: Option<&[f64]>,
    labels: &[i64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let idx = LabelIndex::new(labels);
    let k = labels.len();
    let (mut tp, mut pr, mut tr) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    for i in 0..y_true.len() {
        let wi = w.map_or(1.0, |w| w[i]);
        let t = idx.get(y_true[i]);
        let p = idx.get(y_pred[i]);
        if let Some(t) = t {
            tr[t] += wi;
            if y_true[i] == y_pred[i] {
                tp[t] += wi;
            }
        }
        if let Some(p) = p {
            pr[p] += wi;
        }
    }
    // sklearn rebuilds the sums from the multilabel confusion matrix: tp + (sum - tp).
    for j in 0..k {
        pr[j] = tp[j] + (pr[j] - tp[j]);
        tr[j] = tp[j] + (tr[j] - tp[j]);
    }
    (tp, pr, tr)
}

fn prf_divide(num: f64, den: f64, zd: ZeroDivision) -> f64 {
    if den == 0.0 { zd.value() } else { num / den }
}

fn nanaverage(a: &[f64], weights: Option<&[f64]>) -> f64 {
    if a.is_empty() || a.iter().all(|v| v.is_nan()) {
        return f64::NAN;
    }
    let keep: Vec<usize> = (0..a.len()).filter(|&i| !a[i].is_nan()).collect();
    let vals: Vec<f64> = keep.iter().map(|&i| a[i]).collect();
    match weights {
        None => pairwise_sum(&vals) / vals.len() as f64,
        Some(w) => {
            let ws: Vec<f64> = keep.iter().map(|&i| w[i]).collect();
            if pairwise_sum(&ws) == 0.0 {
                pairwise_sum(&vals) / vals.len() as f64
            } else {
                average(&vals, Some(&ws))
            }
        }
    }
}

fn prf_arrays(
    tp: &[f64],
    pr: &[f64],
    tr: &[f64],
    beta: f64,
    zd: ZeroDivision,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let precision: Vec<f64> = tp
        .iter()
        .zip(pr)
        .map(|(&t, &p)| prf_divide(t, p, zd))
        .collect();
    let recall: Vec<f64> = tp
        .iter()
        .zip(tr)
        .map(|(&t, &r)| prf_divide(t, r, zd))
        .collect();
    let fscore = if beta.is_infinite() {
        recall.clone()
    } else if beta == 0.0 {
        precision.clone()
    } else {
        let b2 = beta * beta;
        (0..tp.len())
            .map(|j| prf_divide((1.0 + b2) * tp[j], b2 * tr[j] + pr[j], zd))
            .collect()
    };
    (precision, recall, fscore)
}

fn check_beta(beta: f64) -> Result<()> {
    if beta.is_nan() || beta < 0.0 {
        return Err(Error::invalid(
            "beta",
            beta.to_string(),
            "a non-negative number",
        ));
    }
    Ok(())
}

/// Per-class precision, recall, F-beta and support (`precision_recall_fscore_support`
/// with `average=None`). With `opts.average == Binary` only `pos_label` is reported.
pub fn precision_recall_fscore_support(
    y_true: &[i64],
    y_pred: &[i64],
    beta: f64,
    opts: &PrfOptions,
) -> Result<PrfSupport> {
    check_pair(y_true, y_pred, opts.sample_weight)?;
    check_beta(beta)?;
    let mut o = *opts;
    if o.average != Average::Binary {
        o.average = Average::Macro;
    }
    let labels = set_wise_labels(y_true, y_pred, &o)?;
    let (tp, pr, tr) = label_counts(y_true, y_pred, opts.sample_weight, &labels);
    let (precision, recall, fscore) = prf_arrays(&tp, &pr, &tr, beta, opts.zero_division);
    Ok(PrfSupport {
        labels,
        precision,
        recall,
        fscore,
        support: tr,
    })
}

/// Averaged precision, recall and F-beta (`precision_recall_fscore_support` with an
/// `average`).
pub fn precision_recall_fscore(
    y_true: &[i64],
    y_pred: &[i64],
    beta: f64,
    opts: &PrfOptions,
) -> Result<(f64, f64, f64)> {
    check_pair(y_true, y_pred, opts.sample_weight)?;
    check_beta(beta)?;
    let labels = set_wise_labels(y_true, y_pred, opts)?;
    let (mut tp, mut pr, mut tr) = label_counts(y_true, y_pred, opts.sample_weight, &labels);
    if opts.average == Average::Micro {
        tp = vec![pairwise_sum(&tp)];
        pr = vec![pairwise_sum(&pr)];
        tr = vec![pairwise_sum(&tr)];
    }
    let (p, r, f) = prf_arrays(&tp, &pr, &tr, beta, opts.zero_division);
    let weights = (opts.average == Average::Weighted).then_some(tr.as_slice());
    Ok((
        nanaverage(&p, weights),
        nanaverage(&r, weights),
        nanaverage(&f, weights),
    ))
}

/// Precision `TP / (TP + FP)` (`precision_score`).
pub fn precision_score(y_true: &[i64], y_pred: &[i64], opts: &PrfOptions) -> Result<f64> {
    Ok(precision_recall_fscore(y_true, y_pred, 1.0, opts)?.0)
}

/// Recall `TP / (TP + FN)` (`recall_score`).
pub fn recall_score(y_true: &[i64], y_pred: &[i64], opts: &PrfOptions) -> Result<f64> {
    Ok(precision_recall_fscore(y_true, y_pred, 1.0, opts)?.1)
}

/// F1 `2TP / (2TP + FP + FN)` (`f1_score`).
pub fn f1_score(y_true: &[i64], y_pred: &[i64], opts: &PrfOptions) -> Result<f64> {
    Ok(precision_recall_fscore(y_true, y_pred, 1.0, opts)?.2)
}

/// F-beta `(1+β²)TP / ((1+β²)TP + β²FN + FP)` (`fbeta_score`).
pub fn fbeta_score(y_true: &[i64], y_pred: &[i64], beta: f64, opts: &PrfOptions) -> Result<f64> {
    Ok(precision_recall_fscore(y_true, y_pred, beta, opts)?.2)
}

/// Fraction (or, with `normalize = false`, weighted count) of exact matches
/// (`accuracy_score`).
pub fn accuracy_score(
    y_true: &[i64],
    y_pred: &[i64],
    normalize: bool,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    check_pair(y_true, y_pred, sample_weight)?;
    let hit = |i: usize| if y_true[i] == y_pred[i] { 1.0 } else { 0.0 };
    let n = y_true.len();
    Ok(match (normalize, sample_weight) {
        (true, None) => (0..n).filter(|&i| y_true[i] == y_pred[i]).count() as f64 / n as f64,
        (false, None) => (0..n).filter(|&i| y_true[i] == y_pred[i]).count() as f64,
        (true, Some(w)) => pairwise_sum_by(n, &|i| hit(i) * w[i]) / pairwise_sum(w),
        (false, Some(w)) => pairwise_sum_by(n, &|i| hit(i) * w[i]),
    })
}

/// How [`confusion_matrix`] normalises its counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmNormalize {
    /// Each row (true class) sums to 1.
    True,
    /// Each column (predicted class) sums to 1.
    Pred,
    /// The whole matrix sums to 1.
    All,
}

/// Options of [`confusion_matrix`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ConfusionOptions<'a> {
    /// Rows and columns, in this order (default: sorted labels present in either input).
    pub labels: Option<&'a [i64]>,
    /// One weight per sample.
    pub sample_weight: Option<&'a [f64]>,
    /// Normalisation (default none: counts).
    pub normalize: Option<CmNormalize>,
}

/// The confusion matrix: `cm[i][j]` is the (weighted) number of samples of true class
/// `labels[i]` predicted as `labels[j]` (`confusion_matrix`). Samples whose true or
/// predicted label is not in `labels` are ignored.
pub fn confusion_matrix(
    y_true: &[i64],
    y_pred: &[i64],
    opts: &ConfusionOptions,
) -> Result<Vec<Vec<f64>>> {
    check_pair(y_true, y_pred, opts.sample_weight)?;
    let labels = match opts.labels {
        Some(l) => {
            if l.is_empty() {
                return Err(Error::invalid("labels", "[]", "at least one label"));
            }
            check_unique_labels(l)?;
            if !y_true.is_empty() && !y_true.iter().any(|v| l.contains(v)) {
                return Err(Error::invalid(
                    "labels",
                    format!("{l:?}"),
                    "at least one label present in y_true",
                ));
            }
            l.to_vec()
        }
        None => unique_labels(&[y_true, y_pred]),
    };
    let k = labels.len();
    let idx = LabelIndex::new(&labels);
    let mut cm = vec![vec![0.0; k]; k];
    for i in 0..y_true.len() {
        if let (Some(t), Some(p)) = (idx.get(y_true[i]), idx.get(y_pred[i])) {
            cm[t][p] += opts.sample_weight.map_or(1.0, |w| w[i]);
        }
    }
    let fix = |v: f64| {
        if v.is_nan() {
            0.0
        } else if v.is_infinite() {
            v.signum() * f64::MAX
        } else {
            v
        }
    };
    match opts.normalize {
        None => {}
        Some(CmNormalize::True) => {
            for row in cm.iter_mut() {
                let s = pairwise_sum(row);
                row.iter_mut().for_each(|v| *v = fix(*v / s));
            }
        }
        Some(CmNormalize::Pred) => {
            for j in 0..k {
                let s = pairwise_sum(&cm.iter().map(|r| r[j]).collect::<Vec<_>>());
                cm.iter_mut().for_each(|r| r[j] = fix(r[j] / s));
            }
        }
        Some(CmNormalize::All) => {
            let flat: Vec<f64> = cm.iter().flatten().copied().collect();
            let s = pairwise_sum(&flat);
            cm.iter_mut().flatten().for_each(|v| *v = fix(*v / s));
        }
    }
    Ok(cm)
}

fn cm_over_union(y_true: &[i64], y_pred: &[i64], w: Option<&[f64]>) -> Result<Vec<Vec<f64>>> {
    confusion_matrix(
        y_true,
        y_pred,
        &ConfusionOptions {
            labels: None,
            sample_weight: w,
            normalize: None,
        },
    )
}

/// Mean per-class recall, over the classes present in `y_true`
/// (`balanced_accuracy_score`); `adjusted` rescales so that chance scores 0.
pub fn balanced_accuracy_score(
    y_true: &[i64],
    y_pred: &[i64],
    sample_weight: Option<&[f64]>,
    adjusted: bool,
) -> Result<f64> {
    check_nonempty(y_true.len())?;
    let cm = cm_over_union(y_true, y_pred, sample_weight)?;
    let per_class: Vec<f64> = cm
        .iter()
        .enumerate()
        .map(|(i, row)| row[i] / pairwise_sum(row))
        .filter(|v| !v.is_nan())
        .collect();
    let mut score = pairwise_sum(&per_class) / per_class.len() as f64;
    if adjusted {
        let chance = 1.0 / per_class.len() as f64;
        score -= chance;
        score /= 1.0 - chance;
    }
    Ok(score)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    pairwise_sum_by(a.len(), &|i| a[i] * b[i])
}

/// Matthews correlation coefficient, multiclass (`matthews_corrcoef`); 0 when undefined.
pub fn matthews_corrcoef(
    y_true: &[i64],
    y_pred: &[i64],
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    check_nonempty(y_true.len())?;
    let c = cm_over_union(y_true, y_pred, sample_weight)?;
    let k = c.len();
    let t_sum: Vec<f64> = c.iter().map(|r| pairwise_sum(r)).collect();
    let p_sum: Vec<f64> = (0..k)
        .map(|j| pairwise_sum(&c.iter().map(|r| r[j]).collect::<Vec<_>>()))
        .collect();
    let n_correct = (0..k).map(|i| c[i][i]).sum::<f64>();
    let n = pairwise_sum(&p_sum);
    let cov_ytyp = n_correct * n - dot(&t_sum, &p_sum);
    let cov_ypyp = n * n - dot(&p_sum, &p_sum);
    let cov_ytyt = n * n - dot(&t_sum, &t_sum);
    let prod = cov_ypyp * cov_ytyt;
    Ok(if prod == 0.0 {
        0.0
    } else {
        cov_ytyp / prod.sqrt()
    })
}

/// The disagreement weights of [`cohen_kappa_score`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KappaWeights {
    /// Unweighted kappa.
    #[default]
    None,
    /// `|i - j|`.
    Linear,
    /// `(i - j)²`.
    Quadratic,
}

/// Options of [`cohen_kappa_score`].
#[derive(Clone, Copy, Debug)]
pub struct KappaOptions<'a> {
    /// Classes to use (default: sorted labels of either annotator).
    pub labels: Option<&'a [i64]>,
    /// Disagreement weighting.
    pub weights: KappaWeights,
    /// One weight per sample.
    pub sample_weight: Option<&'a [f64]>,
    /// Returned when kappa is undefined (default NaN).
    pub replace_undefined_by: f64,
}

impl Default for KappaOptions<'_> {
    fn default() -> Self {
        KappaOptions {
            labels: None,
            weights: KappaWeights::None,
            sample_weight: None,
            replace_undefined_by: f64::NAN,
        }
    }
}

/// Cohen's kappa between two annotators (`cohen_kappa_score`).
pub fn cohen_kappa_score(y1: &[i64], y2: &[i64], opts: &KappaOptions) -> Result<f64> {
    check_nonempty(y1.len())?;
    let c = confusion_matrix(
        y1,
        y2,
        &ConfusionOptions {
            labels: opts.labels,
            sample_weight: opts.sample_weight,
            normalize: None,
        },
    )?;
    let k = c.len();
    let sum0: Vec<f64> = (0..k)
        .map(|j| pairwise_sum(&c.iter().map(|r| r[j]).collect::<Vec<_>>()))
        .collect();
    let sum1: Vec<f64> = c.iter().map(|r| pairwise_sum(r)).collect();
    let total = pairwise_sum(&sum0);
    if total == 0.0 {
        return Ok(opts.replace_undefined_by);
    }
    let wm = |i: usize, j: usize| -> f64 {
        let d = i as f64 - j as f64;
        match opts.weights {
            KappaWeights::None => {
                if i == j {
                    0.0
                } else {
                    1.0
                }
            }
            KappaWeights::Linear => d.abs(),
            KappaWeights::Quadratic => d * d,
        }
    };
    let num = pairwise_sum_by(k * k, &|x| wm(x / k, x % k) * c[x / k][x % k]);
    let den = pairwise_sum_by(k * k, &|x| {
        wm(x / k, x % k) * (sum0[x / k] * sum1[x % k] / total)
    });
    if den == 0.0 {
        return Ok(opts.replace_undefined_by);
    }
    Ok(1.0 - num / den)
}

// ------------------------------------------------------------ probabilistic metrics

fn check_proba_range(p: &ScoreMatrix) -> Result<()> {
    check_finite("y_proba", p.data())?;
    if let Some((i, v)) = p
        .data()
        .iter()
        .enumerate()
        .find(|(_, v)| **v < 0.0 || **v > 1.0)
    {
        return Err(Error::invalid(
            "y_proba",
            format!("{v} at index {i}"),
            "probabilities in [0, 1]",
        ));
    }
    Ok(())
}

/// The classes of a probabilistic metric (`LabelBinarizer`): sorted `labels`, or the sorted
/// labels of `y_true`; every `y_true` must be one of them, and there must be at least two.
fn proba_classes(y_true: &[i64], labels: Option<&[i64]>) -> Result<Vec<i64>> {
    let classes = match labels {
        Some(l) => {
            let mut c = l.to_vec();
            c.sort_unstable();
            c.dedup();
            let idx = LabelIndex::new(&c);
            if let Some(v) = y_true.iter().find(|v| idx.get(**v).is_none()) {
                return Err(Error::invalid(
                    "y_true",
                    format!("label {v}"),
                    format!("one of labels {c:?}"),
                ));
            }
            c
        }
        None => unique_labels(&[y_true]),
    };
    if classes.len() < 2 {
        return Err(Error::invalid(
            "labels",
            format!("{classes:?}"),
            "at least two classes (pass `labels` when y_true has only one)",
        ));
    }
    Ok(classes)
}

/// Options of [`log_loss`].
#[derive(Clone, Copy, Debug)]
pub struct LogLossOptions<'a> {
    /// Mean (true, the default) or weighted sum (false).
    pub normalize: bool,
    /// One weight per sample.
    pub sample_weight: Option<&'a [f64]>,
    /// All classes, whose sorted order is the column order of `y_proba`.
    pub labels: Option<&'a [i64]>,
}

impl Default for LogLossOptions<'_> {
    fn default() -> Self {
        LogLossOptions {
            normalize: true,
            sample_weight: None,
            labels: None,
        }
    }
}

/// Cross-entropy loss (`log_loss`). A single column holds the probability of the greater
/// class; probabilities are clipped to `[ε, 1-ε]` with `ε = f64::EPSILON`.
pub fn log_loss(y_true: &[i64], y_proba: ScoreMatrix, opts: &LogLossOptions) -> Result<f64> {
    let n = y_true.len();
    check_nonempty(n)?;
    check_len("y_proba", n, y_proba.n_rows())?;
    check_weights(n, opts.sample_weight)?;
    check_proba_range(&y_proba)?;
    let classes = proba_classes(y_true, opts.labels)?;
    let k = if y_proba.n_cols() == 1 {
        2
    } else {
        y_proba.n_cols()
    };
    if classes.len() != k {
        return Err(Error::invalid(
            "y_proba",
            format!("{k} columns"),
            format!(
                "one column per class ({} classes {classes:?})",
                classes.len()
            ),
        ));
    }
    let idx = LabelIndex::new(&classes);
    let eps = f64::EPSILON;
    let one_col = y_proba.n_cols() == 1;
    let loss = |i: usize| {
        let c = idx.get(y_true[i]).unwrap_or(0);
        let q = if one_col {
            let p = y_proba.data()[i];
            if c == 1 { p } else { 1.0 - p }
        } else {
            y_proba.row(i)[c]
        };
        -q.clamp(eps, 1.0 - eps).ln()
    };
    let w = opts.sample_weight;
    Ok(match (opts.normalize, w) {
        (true, None) => pairwise_sum_by(n, &loss) / n as f64,
        (true, Some(w)) => pairwise_sum_by(n, &|i| loss(i) * w[i]) / pairwise_sum(w),
        (false, None) => pairwise_sum_by(n, &loss),
        (false, Some(w)) => pairwise_sum_by(n, &|i| loss(i) * w[i]),
    })
}

/// Options of [`brier_score_loss`].
#[derive(Clone, Copy, Debug, Default)]
pub struct BrierOptions<'a> {
    /// One weight per sample.
    pub sample_weight: Option<&'a [f64]>,
    /// Positive class of a single-column `y_proba` (default: 1 when the labels are within
    /// {0, 1} or {-1, 1}, else the greater label).
    pub pos_label: Option<i64>,
    /// All classes of a multi-column `y_proba`, whose sorted order is the column order.
    pub labels: Option<&'a [i64]>,
    /// Halve the score (default `None` = "auto": halve when there are at most 2 columns).
    pub scale_by_half: Option<bool>,
}

/// Mean squared difference between the one-hot target and the probabilities, summed over
/// classes (`brier_score_loss`); for one column this is `mean((p - y)²)`.
pub fn brier_score_loss(y_true: &[i64], y_proba: ScoreMatrix, opts: &BrierOptions) -> Result<f64> {
    let n = y_true.len();
    check_nonempty(n)?;
    check_len("y_proba", n, y_proba.n_rows())?;
    check_weights(n, opts.sample_weight)?;
    check_proba_range(&y_proba)?;
    let mut rows = Vec::with_capacity(n);
    if y_proba.n_cols() == 1 {
        let present = unique_labels(&[y_true]);
        if present.len() > 2 {
            return Err(Error::invalid(
                "y_true",
                format!("{} classes", present.len()),
                "a binary target for a single-column y_proba",
            ));
        }
        let pos = match opts.pos_label {
            Some(p) => {
                if present.len() == 2 && !present.contains(&p) {
                    return Err(Error::invalid(
                        "pos_label",
                        p.to_string(),
                        format!("one of {present:?}"),
                    ));
                }
                p
            }
            None => {
                let special = present.iter().all(|v| *v == 0 || *v == 1)
                    || present.iter().all(|v| *v == -1 || *v == 1);
                if special {
                    1
                } else {
                    present.last().copied().unwrap_or(1)
                }
            }
        };
        for (i, &y) in y_true.iter().enumerate() {
            let p = y_proba.row(i)[0];
            let t1 = if y == pos { 1.0 } else { 0.0 };
            let t0 = 1.0 - t1;
            let a = t0 - (1.0 - p);
            let b = t1 - p;
            rows.push(0.0 + a * a + b * b);
        }
    } else {
        let classes = proba_classes(y_true, opts.labels)?;
        let k = y_proba.n_cols();
        if classes.len() != k {
            return Err(Error::invalid(
                "y_proba",
                format!("{k} columns"),
                format!(
                    "one column per class ({} classes {classes:?})",
                    classes.len()
                ),
            ));
        }
        let idx = LabelIndex::new(&classes);
        for (i, &y) in y_true.iter().enumerate() {
            let c = idx.get(y).unwrap_or(0);
            let row = y_proba.row(i);
            rows.push(pairwise_sum_by(k, &|j| {
                let d = if j == c { 1.0 } else { 0.0 } - row[j];
                d * d
            }));
        }
    }
    let mut score = average(&rows, opts.sample_weight);
    if opts.scale_by_half.unwrap_or(y_proba.n_cols() < 3) {
        score *= 0.5;
    }
    Ok(score)
}

// ------------------------------------------------------------ ranking-based metrics

/// Cumulative (weighted) true and false positives at each distinct score, in decreasing
/// score order (`confusion_matrix_at_thresholds`).
struct Curve {
    tps: Vec<f64>,
    fps: Vec<f64>,
}

/// A key whose ascending order is the descending order of `score` (`-0.0` equals `0.0`).
#[inline]
fn desc_key(score: f64) -> u64 {
    let b = (score + 0.0).to_bits();
    let asc = if b >> 63 == 1 { !b } else { b | (1 << 63) };
    !asc
}

/// LSD radix sort by a `u64` key (8-bit digits, trivial passes skipped).
fn radix_sort<T: Copy + Default>(v: &mut Vec<T>, key: impl Fn(&T) -> u64) {
    const BITS: usize = 8;
    const PASSES: usize = 8;
    const B: usize = 1 << BITS;
    let n = v.len();
    if n < 512 {
        v.sort_unstable_by_key(|x| key(x));
        return;
    }
    let mut hist = vec![[0usize; B]; PASSES];
    for x in v.iter() {
        let k = key(x);
        for (p, h) in hist.iter_mut().enumerate() {
            h[((k >> (p * BITS)) as usize) & (B - 1)] += 1;
        }
    }
    let mut tmp: Vec<T> = vec![T::default(); n];
    for (p, h) in hist.iter().enumerate() {
        if h.contains(&n) {
            continue;
        }
        let mut offs = [0usize; B];
        let mut acc = 0;
        for (o, &c) in offs.iter_mut().zip(h.iter()) {
            *o = acc;
            acc += c;
        }
        for &item in v.iter() {
            let d = ((key(&item) >> (p * BITS)) as usize) & (B - 1);
            tmp[offs[d]] = item;
            offs[d] += 1;
        }
        std::mem::swap(v, &mut tmp);
    }
}

/// Sorts `u64` keys: one counting pass scatters them into 2^16 buckets by their leading
/// bits (relative to the smallest key), then each small bucket is sorted in cache.
fn bucket_sort_keys(v: &mut Vec<u64>) {
    const BUCKET_BITS: u32 = 16;
    let n = v.len();
    if n < 4096 {
        v.sort_unstable();
        return;
    }
    let (mut lo, mut hi) = (u64::MAX, 0u64);
    for &k in v.iter() {
        lo = lo.min(k);
        hi = hi.max(k);
    }
    let range = hi - lo;
    let used = 64 - range.leading_zeros();
    let shift = used.saturating_sub(BUCKET_BITS);
    let nb = ((range >> shift) as usize) + 1;
    let mut offs = vec![0usize; nb + 1];
    for &k in v.iter() {
        offs[((k - lo) >> shift) as usize + 1] += 1;
    }
    for b in 1..=nb {
        offs[b] += offs[b - 1];
    }
    let starts = offs.clone();
    let mut tmp = vec![0u64; n];
    for &k in v.iter() {
        let b = ((k - lo) >> shift) as usize;
        tmp[offs[b]] = k;
        offs[b] += 1;
    }
    for b in 0..nb {
        let bucket = &mut tmp[starts[b]..starts[b + 1]];
        if bucket.len() > 1 {
            bucket.sort_unstable();
        }
    }
    *v = tmp;
}

/// Inputs at least this long use several threads for sorting and one-vs-rest classes.
const PARALLEL_MIN_ROWS: usize = 100_000;

fn parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `f(0..k)`, spread over the available cores when `parallel`.
fn map_classes(k: usize, parallel: bool, f: &(dyn Fn(usize) -> f64 + Sync)) -> Vec<f64> {
    let threads = parallelism().min(k);
    if !parallel || threads <= 1 {
        return (0..k).map(f).collect();
    }
    let mut out: Vec<Option<f64>> = vec![None; k];
    std::thread::scope(|sc| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                sc.spawn(move || {
                    (t..k)
                        .step_by(threads)
                        .map(|j| (j, f(j)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            if let Ok(v) = h.join() {
                for (j, x) in v {
                    out[j] = Some(x);
                }
            }
        }
    });
    out.iter()
        .enumerate()
        .map(|(j, x)| x.unwrap_or_else(|| f(j)))
        .collect()
}

/// Builds the curve of samples `0..n` with the given score, class and weight; samples of
/// zero weight are dropped (like scikit-learn).
fn curve_by(
    n: usize,
    score: &dyn Fn(usize) -> f64,
    pos: &dyn Fn(usize) -> bool,
    weight: Option<&dyn Fn(usize) -> f64>,
) -> Curve {
    let mut tps = Vec::new();
    let mut fps = Vec::new();
    let Some(w) = weight else {
        // unweighted: sort the keys of each class alone, then merge the two runs
        let (mut pk, mut nk) = (Vec::new(), Vec::with_capacity(n));
        for i in 0..n {
            if pos(i) {
                pk.push(desc_key(score(i)));
            } else {
                nk.push(desc_key(score(i)));
            }
        }
        if n >= PARALLEL_MIN_ROWS && parallelism() > 1 {
            let sorted = std::thread::scope(|sc| {
                let h = sc.spawn(move || {
                    let mut pk = pk;
                    bucket_sort_keys(&mut pk);
                    pk
                });
                bucket_sort_keys(&mut nk);
                h.join().ok()
            });
            pk = sorted.unwrap_or_else(|| {
                let mut v: Vec<u64> = (0..n)
                    .filter(|&i| pos(i))
                    .map(|i| desc_key(score(i)))
                    .collect();
                v.sort_unstable();
                v
            });
        } else {
            bucket_sort_keys(&mut pk);
            bucket_sort_keys(&mut nk);
        }
        let (mut i, mut j) = (0usize, 0usize);
        while i < pk.len() || j < nk.len() {
            let k = match (pk.get(i), nk.get(j)) {
                (Some(a), Some(b)) => *a.min(b),
                (Some(a), None) => *a,
                (None, Some(b)) => *b,
                (None, None) => break,
            };
            while i < pk.len() && pk[i] == k {
                i += 1;
            }
            while j < nk.len() && nk[j] == k {
                j += 1;
            }
            tps.push(i as f64);
            fps.push(j as f64);
        }
        return Curve { tps, fps };
    };
    let mut v: Vec<(u64, u64)> = Vec::with_capacity(n);
    v.extend(
        (0..n)
            .filter(|&i| w(i) != 0.0)
            .map(|i| (desc_key(score(i)), i as u64)),
    );
    radix_sort(&mut v, |p| p.0);
    let (mut tp, mut fp) = (0.0f64, 0.0f64);
    let m = v.len();
    for i in 0..m {
        let (key, payload) = v[i];
        let j = payload as usize;
        if pos(j) {
            tp += w(j);
        } else {
            fp += w(j);
        }
        if i + 1 == m || v[i + 1].0 != key {
            tps.push(tp);
            fps.push(fp);
        }
    }
    Curve { tps, fps }
}

/// Builds the curve of `(score, positive, weight)` items; zero weights are dropped.
fn curve(items: Vec<(f64, bool, f64)>, weighted: bool) -> Curve {
    let w = |i: usize| items[i].2;
    curve_by(
        items.len(),
        &|i| items[i].0,
        &|i| items[i].1,
        if weighted { Some(&w) } else { None },
    )
}

fn trapezoid_auc(tps: &[f64], fps: &[f64]) -> f64 {
    // drop_intermediate=True: keep the ends and every point where the slope changes
    let m = tps.len();
    let mut kt = vec![0.0];
    let mut kf = vec![0.0];
    for i in 0..m {
        let keep = m <= 2
            || i == 0
            || i + 1 == m
            || ((fps[i + 1] - fps[i]) - (fps[i] - fps[i - 1])) != 0.0
            || ((tps[i + 1] - tps[i]) - (tps[i] - tps[i - 1])) != 0.0;
        if keep {
            kt.push(tps[i]);
            kf.push(fps[i]);
        }
    }
    let (tl, fl) = (kt[kt.len() - 1], kf[kf.len() - 1]);
    pairwise_sum_by(kt.len() - 1, &|i| {
        (kf[i + 1] / fl - kf[i] / fl) * (kt[i + 1] / tl + kt[i] / tl) / 2.0
    })
}

fn uninterpolated_ap(c: &Curve) -> f64 {
    let m = c.tps.len();
    if m == 0 {
        return 0.0;
    }
    let last = c.tps[m - 1];
    let prec = |i: usize| {
        let ps = c.tps[i] + c.fps[i];
        if ps != 0.0 { c.tps[i] / ps } else { 0.0 }
    };
    let rec = |i: usize| if last == 0.0 { 1.0 } else { c.tps[i] / last };
    // reversed arrays P = [prec[m-1..0], 1], R = [rec[m-1..0], 0]; AP = -Σ (R[j+1]-R[j]) P[j]
    let s = pairwise_sum_by(m, &|j| {
        let oi = m - 1 - j;
        let r_next = if j + 1 < m { rec(oi - 1) } else { 0.0 };
        (r_next - rec(oi)) * prec(oi)
    });
    let ap = -s;
    if ap > 0.0 { ap } else { 0.0 }
}

/// A binary score/label set sorted once, from which both [`roc_auc_score`] and
/// [`average_precision_score`] can be read (handy when both are wanted on large inputs).
pub struct BinaryCurve {
    c: Curve,
    has_both_classes: bool,
}

impl BinaryCurve {
    /// Sorts `y_score` for the positive class `y_true == pos_label`.
    pub fn new(
        y_true: &[i64],
        y_score: &[f64],
        pos_label: i64,
        sample_weight: Option<&[f64]>,
    ) -> Result<Self> {
        check_len("y_score", y_true.len(), y_score.len())?;
        check_weights(y_true.len(), sample_weight)?;
        check_finite("y_score", y_score)?;
        let wf = |i: usize| sample_weight.map_or(1.0, |w| w[i]);
        let has_pos = y_true.contains(&pos_label);
        let has_neg = y_true.iter().any(|v| *v != pos_label);
        Ok(BinaryCurve {
            c: curve_by(
                y_true.len(),
                &|i| y_score[i],
                &|i| y_true[i] == pos_label,
                if sample_weight.is_some() {
                    Some(&wf)
                } else {
                    None
                },
            ),
            has_both_classes: has_pos && has_neg,
        })
    }

    /// Area under the ROC curve; NaN when only one class is present.
    pub fn roc_auc(&self) -> f64 {
        if !self.has_both_classes {
            return f64::NAN;
        }
        trapezoid_auc(&self.c.tps, &self.c.fps)
    }

    /// Average precision (step-wise, over distinct thresholds).
    pub fn average_precision(&self) -> f64 {
        uninterpolated_ap(&self.c)
    }

    /// ROC curve points `(false positive rate, true positive rate)`, from `(0, 0)` then one
    /// per distinct threshold, highest first (scikit-learn's `roc_curve` without
    /// `drop_intermediate`). Empty when only one class is present.
    pub fn roc_points(&self) -> Vec<(f64, f64)> {
        let (Some(&p), Some(&n)) = (self.c.tps.last(), self.c.fps.last()) else {
            return Vec::new();
        };
        if !self.has_both_classes || p <= 0.0 || n <= 0.0 {
            return Vec::new();
        }
        std::iter::once((0.0, 0.0))
            .chain(
                self.c
                    .fps
                    .iter()
                    .zip(&self.c.tps)
                    .map(|(f, t)| (f / n, t / p)),
            )
            .collect()
    }

    /// Precision-recall points `(recall, precision)`, one per distinct threshold, highest
    /// first (scikit-learn's `precision_recall_curve` in reverse, without its final
    /// `(0, 1)`). Empty without positives.
    pub fn pr_points(&self) -> Vec<(f64, f64)> {
        let Some(&p) = self.c.tps.last() else {
            return Vec::new();
        };
        if p <= 0.0 {
            return Vec::new();
        }
        self.c
            .fps
            .iter()
            .zip(&self.c.tps)
            .map(|(f, t)| (t / p, if t + f > 0.0 { t / (t + f) } else { 1.0 }))
            .collect()
    }
}

/// How a multiclass ROC AUC is formed (scikit-learn's `multi_class`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MultiClass {
    /// Refuse multiclass targets (the default, like scikit-learn).
    #[default]
    Raise,
    /// One class against the rest.
    Ovr,
    /// Every pair of classes (Hand & Till); no sample weights.
    Ovo,
}

/// Options of [`roc_auc_score`].
#[derive(Clone, Copy, Debug)]
pub struct RocAucOptions<'a> {
    /// `Macro` (default), `Weighted` or (OvR only) `Micro`; ignored for binary targets.
    pub average: Average,
    /// Multiclass strategy.
    pub multi_class: MultiClass,
    /// One weight per sample.
    pub sample_weight: Option<&'a [f64]>,
    /// Sorted classes of the columns of `y_score` (default: sorted labels of `y_true`).
    pub labels: Option<&'a [i64]>,
}

impl Default for RocAucOptions<'_> {
    fn default() -> Self {
        RocAucOptions {
            average: Average::Macro,
            multi_class: MultiClass::Raise,
            sample_weight: None,
            labels: None,
        }
    }
}

fn binary_auc_items(items: Vec<(f64, bool, f64)>, weighted: bool) -> f64 {
    let has_pos = items.iter().any(|it| it.1);
    let has_neg = items.iter().any(|it| !it.1);
    if !(has_pos && has_neg) {
        return f64::NAN;
    }
    let c = curve(items, weighted);
    trapezoid_auc(&c.tps, &c.fps)
}

/// Averages per-class binary scores like `_average_binary_score` (OvR).
#[allow(clippy::needless_range_loop)]
fn average_ovr(
    y_true: &[i64],
    y_score: &ScoreMatrix,
    classes: &[i64],
    average_kind: Average,
    w: Option<&[f64]>,
    metric: &(dyn Fn(&Curve, bool) -> f64 + Sync),
) -> Result<f64> {
    let n = y_true.len();
    let k = classes.len();
    let data = y_score.data();
    match average_kind {
        Average::Micro => {
            let wm = |x: usize| w.map_or(1.0, |w| w[x / k]);
            let pos = |x: usize| y_true[x / k] == classes[x % k];
            let c = curve_by(
                n * k,
                &|x| data[x],
                &pos,
                w.map(|_| &wm as &dyn Fn(usize) -> f64),
            );
            Ok(metric(&c, k >= 2))
        }
        Average::Macro | Average::Weighted => {
            let per_class = |j: usize| {
                let cls = classes[j];
                let wj = |i: usize| w.map_or(1.0, |w| w[i]);
                let pos = |i: usize| y_true[i] == cls;
                let c = curve_by(
                    n,
                    &|i| data[i * k + j],
                    &pos,
                    w.map(|_| &wj as &dyn Fn(usize) -> f64),
                );
                let both = y_true.contains(&cls) && y_true.iter().any(|v| *v != cls);
                metric(&c, both)
            };
            let mut scores = map_classes(k, n >= PARALLEL_MIN_ROWS, &per_class);
            if average_kind == Average::Macro {
                return Ok(pairwise_sum(&scores) / k as f64);
            }
            let support: Vec<f64> = classes
                .iter()
                .map(|&c| match w {
                    Some(w) => pairwise_sum_by(n, &|i| if y_true[i] == c { w[i] } else { 0.0 }),
                    None => y_true.iter().filter(|v| **v == c).count() as f64,
                })
                .collect();
            let total = pairwise_sum(&support);
            if total.abs() <= 1e-8 {
                return Ok(0.0);
            }
            for j in 0..k {
                if support[j] == 0.0 {
                    scores[j] = 0.0;
                }
            }
            Ok(average(&scores, Some(&support)))
        }
        Average::Binary => Err(Error::invalid(
            "average",
            "Binary",
            "Micro, Macro or Weighted for a multiclass target",
        )),
    }
}

fn check_multiclass_classes(
    y_true: &[i64],
    y_score: &ScoreMatrix,
    labels: Option<&[i64]>,
) -> Result<Vec<i64>> {
    let classes = match labels {
        Some(l) => {
            check_unique_labels(l)?;
            if l.windows(2).any(|w| w[0] > w[1]) {
                return Err(Error::invalid(
                    "labels",
                    format!("{l:?}"),
                    "labels in increasing order",
                ));
            }
            let idx = LabelIndex::new(l);
            if let Some(v) = y_true.iter().find(|v| idx.get(**v).is_none()) {
                return Err(Error::invalid(
                    "y_true",
                    format!("label {v}"),
                    format!("one of labels {l:?}"),
                ));
            }
            l.to_vec()
        }
        None => unique_labels(&[y_true]),
    };
    if classes.len() != y_score.n_cols() {
        return Err(Error::invalid(
            "y_score",
            format!("{} columns", y_score.n_cols()),
            format!(
                "one column per class ({} classes {classes:?})",
                classes.len()
            ),
        ));
    }
    Ok(classes)
}

/// Area under the ROC curve (`roc_auc_score`). A single-column `y_score` scores the
/// greater of the two labels of `y_true` (NaN if `y_true` has one class); a multi-column
/// `y_score` needs `multi_class` `Ovr` or `Ovo` and rows that sum to 1.
pub fn roc_auc_score(y_true: &[i64], y_score: ScoreMatrix, opts: &RocAucOptions) -> Result<f64> {
    let n = y_true.len();
    check_nonempty(n)?;
    check_len("y_score", n, y_score.n_rows())?;
    check_weights(n, opts.sample_weight)?;
    check_finite("y_score", y_score.data())?;
    let present = unique_labels(&[y_true]);
    let multiclass = present.len() > 2 || (y_score.n_cols() > 2);
    if !multiclass {
        if y_score.n_cols() != 1 {
            return Err(Error::invalid(
                "y_score",
                format!("{} columns", y_score.n_cols()),
                "one column (the score of the greater label) for a binary target",
            ));
        }
        if present.len() != 2 {
            return Ok(f64::NAN);
        }
        let pos = present[1];
        let w = opts.sample_weight;
        let items = (0..n)
            .map(|i| (y_score.data()[i], y_true[i] == pos, w.map_or(1.0, |w| w[i])))
            .collect();
        return Ok(binary_auc_items(items, w.is_some()));
    }
    if y_score.n_cols() == 1 {
        return Err(Error::invalid(
            "y_score",
            "one column",
            "one column per class for a multiclass target",
        ));
    }
    for i in 0..n {
        let s: f64 = pairwise_sum(y_score.row(i));
        if (1.0 - s).abs() > 1e-8 + 1e-5 * s.abs() {
            return Err(Error::invalid(
                "y_score",
                format!("row {i} sums to {s}"),
                "rows of probabilities summing to 1",
            ));
        }
    }
    let classes = check_multiclass_classes(y_true, &y_score, opts.labels)?;
    match opts.multi_class {
        MultiClass::Raise => Err(Error::invalid(
            "multi_class",
            "Raise",
            "Ovr or Ovo for a multiclass target",
        )),
        MultiClass::Ovr => average_ovr(
            y_true,
            &y_score,
            &classes,
            opts.average,
            opts.sample_weight,
            &|c, both| {
                if both {
                    trapezoid_auc(&c.tps, &c.fps)
                } else {
                    f64::NAN
                }
            },
        ),
        MultiClass::Ovo => {
            if opts.sample_weight.is_some() {
                return Err(Error::invalid(
                    "sample_weight",
                    "weights",
                    "no sample weights for one-vs-one ROC AUC",
                ));
            }
            let weighted = match opts.average {
                Average::Macro => false,
                Average::Weighted => true,
                a => {
                    return Err(Error::invalid(
                        "average",
                        format!("{a:?}"),
                        "Macro or Weighted for one-vs-one",
                    ));
                }
            };
            let idx = LabelIndex::new(&classes);
            let enc: Vec<usize> = y_true.iter().map(|v| idx.get(*v).unwrap_or(0)).collect();
            let mut present_enc: Vec<usize> = enc.clone();
            present_enc.sort_unstable();
            present_enc.dedup();
            let mut pair_scores = Vec::new();
            let mut prevalence = Vec::new();
            for (ai, &a) in present_enc.iter().enumerate() {
                for &b in &present_enc[ai + 1..] {
                    let rows: Vec<usize> = (0..n).filter(|&i| enc[i] == a || enc[i] == b).collect();
                    let ia = rows
                        .iter()
                        .map(|&i| (y_score.row(i)[a], enc[i] == a, 1.0))
                        .collect();
                    let ib = rows
                        .iter()
                        .map(|&i| (y_score.row(i)[b], enc[i] == b, 1.0))
                        .collect();
                    let sa = binary_auc_items(ia, false);
                    let sb = binary_auc_items(ib, false);
                    pair_scores.push((sa + sb) / 2.0);
                    prevalence.push(rows.len() as f64 / n as f64);
                }
            }
            Ok(average(
                &pair_scores,
                weighted.then_some(prevalence.as_slice()),
            ))
        }
    }
}

/// Options of [`average_precision_score`].
#[derive(Clone, Copy, Debug)]
pub struct ApOptions<'a> {
    /// `Macro` (default), `Micro` or `Weighted` over classes of a multiclass target.
    pub average: Average,
    /// Positive class of a binary target (default 1; must be 1 for multiclass).
    pub pos_label: i64,
    /// One weight per sample.
    pub sample_weight: Option<&'a [f64]>,
}

impl Default for ApOptions<'_> {
    fn default() -> Self {
        ApOptions {
            average: Average::Macro,
            pos_label: 1,
            sample_weight: None,
        }
    }
}

fn ap_items(items: Vec<(f64, bool, f64)>, weighted: bool) -> f64 {
    uninterpolated_ap(&curve(items, weighted))
}

fn ap_curve(c: &Curve, _both: bool) -> f64 {
    uninterpolated_ap(c)
}

/// Average precision `Σₙ (Rₙ − Rₙ₋₁) Pₙ` over distinct thresholds, without interpolation
/// (`average_precision_score`); 0 when there is no positive sample.
pub fn average_precision_score(
    y_true: &[i64],
    y_score: ScoreMatrix,
    opts: &ApOptions,
) -> Result<f64> {
    let n = y_true.len();
    check_nonempty(n)?;
    check_len("y_score", n, y_score.n_rows())?;
    check_weights(n, opts.sample_weight)?;
    check_finite("y_score", y_score.data())?;
    let present = unique_labels(&[y_true]);
    if present.len() <= 2 {
        if present.len() == 2 && !present.contains(&opts.pos_label) {
            return Err(Error::invalid(
                "pos_label",
                opts.pos_label.to_string(),
                format!("one of {present:?}"),
            ));
        }
        if y_score.n_cols() != 1 {
            return Err(Error::invalid(
                "y_score",
                format!("{} columns", y_score.n_cols()),
                "one column for a binary target",
            ));
        }
        let w = opts.sample_weight;
        let items = (0..n)
            .map(|i| {
                (
                    y_score.data()[i],
                    y_true[i] == opts.pos_label,
                    w.map_or(1.0, |w| w[i]),
                )
            })
            .collect();
        return Ok(ap_items(items, w.is_some()));
    }
    if opts.pos_label != 1 {
        return Err(Error::invalid(
            "pos_label",
            opts.pos_label.to_string(),
            "1 for a multiclass target",
        ));
    }
    if y_score.n_cols() != present.len() {
        return Err(Error::invalid(
            "y_score",
            format!("{} columns", y_score.n_cols()),
            format!("one column per class of y_true ({})", present.len()),
        ));
    }
    average_ovr(
        y_true,
        &y_score,
        &present,
        opts.average,
        opts.sample_weight,
        &ap_curve,
    )
}

/// Options of [`top_k_accuracy_score`].
#[derive(Clone, Copy, Debug)]
pub struct TopKOptions<'a> {
    /// Fraction (true, default) or weighted count of hits.
    pub normalize: bool,
    /// One weight per sample.
    pub sample_weight: Option<&'a [f64]>,
    /// Sorted classes of the columns (default: sorted labels of `y_true`).
    pub labels: Option<&'a [i64]>,
}

impl Default for TopKOptions<'_> {
    fn default() -> Self {
        TopKOptions {
            normalize: true,
            sample_weight: None,
            labels: None,
        }
    }
}

/// Fraction of samples whose true class is among the `k` highest scores
/// (`top_k_accuracy_score`). Among tied scores the class with the greater index ranks
/// first, as in scikit-learn (reversed stable argsort).
pub fn top_k_accuracy_score(
    y_true: &[i64],
    y_score: ScoreMatrix,
    k: usize,
    opts: &TopKOptions,
) -> Result<f64> {
    let n = y_true.len();
    check_nonempty(n)?;
    check_len("y_score", n, y_score.n_rows())?;
    check_weights(n, opts.sample_weight)?;
    check_finite("y_score", y_score.data())?;
    let present = unique_labels(&[y_true]);
    let binary = present.len() <= 2 && opts.labels.is_none_or(|l| l.len() <= 2);
    let n_cols = if y_score.n_cols() == 1 {
        2
    } else {
        y_score.n_cols()
    };
    if binary && y_score.n_cols() != 1 {
        return Err(Error::invalid(
            "y_score",
            format!("{} columns", y_score.n_cols()),
            "one column for a binary target",
        ));
    }
    if !binary && y_score.n_cols() == 1 {
        return Err(Error::invalid(
            "y_score",
            "one column",
            "one column per class for a multiclass target",
        ));
    }
    let classes = match opts.labels {
        None => present,
        Some(l) => {
            check_unique_labels(l)?;
            if l.windows(2).any(|w| w[0] > w[1]) {
                return Err(Error::invalid(
                    "labels",
                    format!("{l:?}"),
                    "labels in increasing order",
                ));
            }
            l.to_vec()
        }
    };
    if classes.len() != n_cols {
        return Err(Error::invalid(
            "y_score",
            format!("{n_cols} classes"),
            format!(
                "one column per class ({} classes {classes:?})",
                classes.len()
            ),
        ));
    }
    let idx = LabelIndex::new(&classes);
    let mut enc = Vec::with_capacity(n);
    for &v in y_true {
        match idx.get(v) {
            Some(c) => enc.push(c),
            None => {
                return Err(Error::invalid(
                    "y_true",
                    format!("label {v}"),
                    format!("one of labels {classes:?}"),
                ));
            }
        }
    }
    let hits: Vec<f64> = if binary {
        if k == 1 {
            let d = y_score.data();
            let in01 = d.iter().all(|v| (0.0..=1.0).contains(v));
            let thr = if in01 { 0.5 } else { 0.0 };
            (0..n)
                .map(|i| {
                    if (d[i] > thr) as usize == enc[i] {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect()
        } else {
            vec![1.0; n]
        }
    } else {
        (0..n)
            .map(|i| {
                let row = y_score.row(i);
                let t = enc[i];
                let st = row[t];
                let ahead = (0..row.len())
                    .filter(|&j| row[j] > st || (row[j] == st && j > t))
                    .count();
                if ahead < k { 1.0 } else { 0.0 }
            })
            .collect()
    };
    Ok(match (opts.normalize, opts.sample_weight) {
        (true, w) => average(&hits, w),
        (false, None) => pairwise_sum(&hits),
        (false, Some(w)) => pairwise_sum_by(n, &|i| hits[i] * w[i]),
    })
}

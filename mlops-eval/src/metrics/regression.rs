//! Regression metrics with scikit-learn 1.9.1 semantics (single output).

use mlops_core::Result;

use super::util::{average, check_finite, check_len, check_nonempty, check_weights, pairwise_sum};

fn check(y_true: &[f64], y_pred: &[f64], w: Option<&[f64]>) -> Result<()> {
    check_nonempty(y_true.len())?;
    check_len("y_pred", y_true.len(), y_pred.len())?;
    check_finite("y_true", y_true)?;
    check_finite("y_pred", y_pred)?;
    check_weights(y_true.len(), w)
}

/// Mean absolute error (`mean_absolute_error`).
pub fn mean_absolute_error(
    y_true: &[f64],
    y_pred: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    check(y_true, y_pred, sample_weight)?;
    let e: Vec<f64> = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (p - t).abs())
        .collect();
    Ok(average(&e, sample_weight))
}

/// Mean squared error (`mean_squared_error`).
pub fn mean_squared_error(
    y_true: &[f64],
    y_pred: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    check(y_true, y_pred, sample_weight)?;
    let e: Vec<f64> = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p) * (t - p))
        .collect();
    Ok(average(&e, sample_weight))
}

/// Root mean squared error (`root_mean_squared_error`).
pub fn root_mean_squared_error(
    y_true: &[f64],
    y_pred: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    Ok(mean_squared_error(y_true, y_pred, sample_weight)?.sqrt())
}

/// Mean absolute percentage error `mean(|y - ŷ| / max(|y|, ε))`
/// (`mean_absolute_percentage_error`; a zero target divides by `f64::EPSILON`).
pub fn mean_absolute_percentage_error(
    y_true: &[f64],
    y_pred: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    check(y_true, y_pred, sample_weight)?;
    let eps = f64::EPSILON;
    let e: Vec<f64> = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (p - t).abs() / t.abs().max(eps))
        .collect();
    Ok(average(&e, sample_weight))
}

/// numpy-style median (mean of the two middle values).
fn median(v: &mut [f64]) -> f64 {
    v.sort_unstable_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// scikit-learn's `_weighted_percentile(array, weights, 50)`: the average of the
/// inverted-CDF percentile of the values and of their negation.
fn weighted_median(v: &[f64], w: &[f64]) -> f64 {
    fn lower(v: &[f64], w: &[f64]) -> f64 {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
        let mut cdf = Vec::with_capacity(v.len());
        let mut acc = 0.0;
        for &i in &idx {
            acc += w[i];
            cdf.push(acc);
        }
        let total = acc;
        let target = 0.5 * total;
        // searchsorted(cdf, target, side='left'), then skip zero-weight samples
        let mut k = cdf.partition_point(|c| *c < target);
        k = k.min(idx.len() - 1);
        while k + 1 < idx.len() && w[idx[k]] == 0.0 {
            k += 1;
        }
        v[idx[k]]
    }
    let neg: Vec<f64> = v.iter().map(|x| -x).collect();
    (lower(v, w) - lower(&neg, w)) / 2.0
}

/// Median absolute error (`median_absolute_error`); with weights, scikit-learn's
/// averaged inverted-CDF weighted median.
pub fn median_absolute_error(
    y_true: &[f64],
    y_pred: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    check(y_true, y_pred, sample_weight)?;
    let mut e: Vec<f64> = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (p - t).abs())
        .collect();
    Ok(match sample_weight {
        None => median(&mut e),
        Some(w) => weighted_median(&e, w),
    })
}

fn fraction_explained(num: f64, den: f64, force_finite: bool) -> f64 {
    if !force_finite {
        return 1.0 - num / den;
    }
    if den != 0.0 {
        1.0 - num / den
    } else if num != 0.0 {
        0.0
    } else {
        1.0
    }
}

/// Coefficient of determination R² (`r2_score`); with `force_finite`, a constant `y_true`
/// scores 1.0 if predicted perfectly and 0.0 otherwise. NaN for fewer than two samples.
pub fn r2_score(
    y_true: &[f64],
    y_pred: &[f64],
    sample_weight: Option<&[f64]>,
    force_finite: bool,
) -> Result<f64> {
    check(y_true, y_pred, sample_weight)?;
    if y_true.len() < 2 {
        return Ok(f64::NAN);
    }
    let n = y_true.len();
    let wt = |i: usize| sample_weight.map_or(1.0, |w| w[i]);
    let num = pairwise_sum(
        &(0..n)
            .map(|i| wt(i) * (y_true[i] - y_pred[i]) * (y_true[i] - y_pred[i]))
            .collect::<Vec<_>>(),
    );
    let mean = average(y_true, sample_weight);
    let den = pairwise_sum(
        &(0..n)
            .map(|i| wt(i) * (y_true[i] - mean) * (y_true[i] - mean))
            .collect::<Vec<_>>(),
    );
    Ok(fraction_explained(num, den, force_finite))
}

/// Explained variance `1 - Var(y - ŷ) / Var(y)` (`explained_variance_score`).
pub fn explained_variance_score(
    y_true: &[f64],
    y_pred: &[f64],
    sample_weight: Option<&[f64]>,
    force_finite: bool,
) -> Result<f64> {
    check(y_true, y_pred, sample_weight)?;
    let diff: Vec<f64> = y_true.iter().zip(y_pred).map(|(t, p)| t - p).collect();
    let dm = average(&diff, sample_weight);
    let num = average(
        &diff.iter().map(|d| (d - dm) * (d - dm)).collect::<Vec<_>>(),
        sample_weight,
    );
    let tm = average(y_true, sample_weight);
    let den = average(
        &y_true
            .iter()
            .map(|t| (t - tm) * (t - tm))
            .collect::<Vec<_>>(),
        sample_weight,
    );
    Ok(fraction_explained(num, den, force_finite))
}

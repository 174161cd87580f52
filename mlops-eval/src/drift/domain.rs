//! Drift by a domain classifier: how well a model tells reference rows from current rows.
//! ROC AUC 0.5 means the two samples look alike; near 1 means they are easy to separate.
//! It adds up small shifts of many columns that no single-column test flags, and it says
//! which features separate the samples.
//!
//! The model is an L2-regularised logistic regression over the standardised features and
//! their squares (so a change of scale is visible as well as a change of mean), trained by
//! full-batch gradient descent, scored out of fold with seeded K-fold cross-validation (as
//! NannyML's `DomainClassifierCalculator`, which uses LightGBM and 5 folds). Features:
//! numeric columns (nulls imputed with the mean, plus a missing indicator), string columns
//! one-hot over their most frequent values (plus an "other" bucket), and embedding columns
//! (`FixedSizeList` of floats) one feature per dimension.
//!
//! The verdict follows Evidently's rule for its classifier-based methods: drift when the
//! AUC exceeds 0.55 with more than 1,000 reference rows; with fewer, when it exceeds the
//! 95th percentile of the AUCs of random scores for the same class sizes (seeded, 1,000
//! draws), which guards small samples from chance separations.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use serde::{Deserialize, Serialize};

use crate::metrics::BinaryCurve;
use crate::rng::Rng;
use mlops_core::{Error, Result};

/// Options of [`domain_classifier`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DomainClassifierOptions {
    /// Cross-validation folds (default 5).
    pub folds: usize,
    /// Gradient-descent iterations (default 300).
    pub iterations: usize,
    /// L2 penalty on the weights (default 1e-3).
    pub l2: f64,
    /// Most rows drawn from each sample (default 20,000; seeded).
    pub max_rows: usize,
    /// Most one-hot values per string column (default 20).
    pub max_categories: usize,
    /// AUC above which the samples drifted, with more than 1,000 reference rows (0.55).
    pub threshold: f64,
    /// Seed of the folds, the row sample and the random-AUC null.
    pub seed: u64,
}

impl Default for DomainClassifierOptions {
    fn default() -> Self {
        DomainClassifierOptions {
            folds: 5,
            iterations: 300,
            l2: 1e-3,
            max_rows: 20_000,
            max_categories: 20,
            threshold: 0.55,
            seed: 0,
        }
    }
}

/// What the domain classifier found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DomainClassifierResult {
    /// Out-of-fold ROC AUC of telling current (1) from reference (0).
    pub auc: f64,
    /// The AUC threshold the verdict used.
    pub threshold: f64,
    /// Whether the samples drifted.
    pub drifted: bool,
    /// Features by the absolute weight of the model fitted on all rows (standardised, so
    /// comparable), largest first: which columns separate the samples.
    pub top_features: Vec<(String, f64)>,
    /// Rows used from the reference and current samples.
    pub rows: (usize, usize),
}

/// A dense feature matrix with names.
pub(crate) struct Features {
    pub(crate) names: Vec<String>,
    /// Row-major, `names.len()` per row.
    pub(crate) data: Vec<f64>,
}

fn numeric(col: &dyn Array) -> Option<Vec<Option<f64>>> {
    Some(match col.data_type() {
        DataType::Float64 => col.as_primitive::<Float64Type>().iter().collect(),
        DataType::Float32 => col
            .as_primitive::<Float32Type>()
            .iter()
            .map(|v| v.map(f64::from))
            .collect(),
        DataType::Int64 => col
            .as_primitive::<Int64Type>()
            .iter()
            .map(|v| v.map(|x| x as f64))
            .collect(),
        DataType::Int32 => col
            .as_primitive::<Int32Type>()
            .iter()
            .map(|v| v.map(f64::from))
            .collect(),
        DataType::Boolean => col
            .as_boolean()
            .iter()
            .map(|v| v.map(|b| b as u8 as f64))
            .collect(),
        _ => return None,
    })
}

fn strings(col: &dyn Array) -> Option<Vec<Option<String>>> {
    Some(match col.data_type() {
        DataType::Utf8 => col
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        DataType::LargeUtf8 => col
            .as_string::<i64>()
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect(),
        _ => return None,
    })
}

/// Embedding rows of a `FixedSizeList` of floats; `None` for other types.
pub(crate) fn embeddings(col: &dyn Array) -> Option<(Vec<f64>, usize)> {
    let DataType::FixedSizeList(_, k) = col.data_type() else {
        return None;
    };
    let k = *k as usize;
    let list = col.as_fixed_size_list();
    let values = numeric(list.values().as_ref())?;
    let start = list.offset() * k;
    let flat = values[start..start + list.len() * k]
        .iter()
        .map(|v| v.unwrap_or(0.0))
        .collect();
    Some((flat, k))
}

/// Builds the features of the two samples over `columns` (encodings fitted on both).
fn build(
    a: &RecordBatch,
    b: &RecordBatch,
    columns: &[String],
    max_categories: usize,
) -> Result<(Features, usize)> {
    let (na, nb) = (a.num_rows(), b.num_rows());
    let n = na + nb;
    let mut cols: Vec<(String, Vec<f64>)> = Vec::new();
    for name in columns {
        let get = |batch: &RecordBatch, which: &str| {
            batch.column_by_name(name).cloned().ok_or_else(|| {
                Error::invalid(
                    format!("column of the {which} sample"),
                    name,
                    "a column of both samples",
                )
            })
        };
        let (ca, cb) = (get(a, "reference")?, get(b, "current")?);
        if let (Some(va), Some(vb)) = (numeric(ca.as_ref()), numeric(cb.as_ref())) {
            let all: Vec<Option<f64>> = va.into_iter().chain(vb).collect();
            let present: Vec<f64> = all
                .iter()
                .flatten()
                .copied()
                .filter(|v| v.is_finite())
                .collect();
            let mean = present.iter().sum::<f64>() / present.len().max(1) as f64;
            let missing = all.iter().any(|v| !v.is_some_and(f64::is_finite));
            cols.push((
                name.clone(),
                all.iter()
                    .map(|v| v.filter(|x| x.is_finite()).unwrap_or(mean))
                    .collect(),
            ));
            if missing {
                cols.push((
                    format!("{name} is missing"),
                    all.iter()
                        .map(|v| (!v.is_some_and(f64::is_finite)) as u8 as f64)
                        .collect(),
                ));
            }
        } else if let (Some(sa), Some(sb)) = (strings(ca.as_ref()), strings(cb.as_ref())) {
            let all: Vec<Option<String>> = sa.into_iter().chain(sb).collect();
            let mut freq: HashMap<&str, usize> = HashMap::new();
            for v in all.iter().flatten() {
                *freq.entry(v).or_default() += 1;
            }
            let mut top: Vec<(&str, usize)> = freq.into_iter().collect();
            top.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
            top.truncate(max_categories);
            for (value, _) in &top {
                cols.push((
                    format!("{name}={value}"),
                    all.iter()
                        .map(|v| (v.as_deref() == Some(*value)) as u8 as f64)
                        .collect(),
                ));
            }
            cols.push((
                format!("{name}=<other>"),
                all.iter()
                    .map(|v| (!top.iter().any(|(t, _)| v.as_deref() == Some(*t))) as u8 as f64)
                    .collect(),
            ));
        } else if let (Some((ea, ka)), Some((eb, kb))) =
            (embeddings(ca.as_ref()), embeddings(cb.as_ref()))
        {
            if ka != kb {
                return Err(Error::invalid(
                    format!("embedding column {name:?}"),
                    format!("{ka} dimensions in the reference, {kb} in the current sample"),
                    "the same dimension",
                ));
            }
            for d in 0..ka {
                cols.push((
                    format!("{name}[{d}]"),
                    (0..na)
                        .map(|i| ea[i * ka + d])
                        .chain((0..nb).map(|i| eb[i * kb + d]))
                        .collect(),
                ));
            }
        } else {
            return Err(Error::invalid(
                format!("type of column {name:?}"),
                format!("{} and {}", ca.data_type(), cb.data_type()),
                "numeric, boolean, string or FixedSizeList of floats in both samples",
            ));
        }
    }
    // Standardise, then add squares of the numeric features (scale shifts).
    let mut names = Vec::new();
    let mut feats: Vec<Vec<f64>> = Vec::new();
    for (name, mut v) in cols {
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        if var <= 0.0 {
            continue; // constant: cannot separate
        }
        let sd = var.sqrt();
        for x in &mut v {
            *x = (*x - mean) / sd;
        }
        let binary = name.contains('=') || name.ends_with(" is missing");
        if !binary {
            let sq: Vec<f64> = v.iter().map(|x| x * x - 1.0).collect();
            names.push(format!("{name}²"));
            feats.push(sq);
        }
        names.push(name);
        feats.push(v);
    }
    let d = names.len();
    let mut data = vec![0.0; n * d];
    for (j, f) in feats.iter().enumerate() {
        for (i, &x) in f.iter().enumerate() {
            data[i * d + j] = x;
        }
    }
    Ok((Features { names, data }, na))
}

/// Fits L2 logistic regression on `rows` by gradient descent; returns `(weights, bias)`.
pub(crate) fn fit_logistic(
    x: &Features,
    y: &[f64],
    rows: &[usize],
    iterations: usize,
    l2: f64,
) -> (Vec<f64>, f64) {
    let d = x.names.len();
    let (mut w, mut b) = (vec![0.0; d], 0.0);
    if rows.is_empty() {
        return (w, b);
    }
    // Step 1/L with L bounding the Hessian: 0.25·max‖x‖² + l2 (+1 for the bias).
    let max_norm = rows
        .iter()
        .map(|&i| {
            x.data[i * d..(i + 1) * d]
                .iter()
                .map(|v| v * v)
                .sum::<f64>()
        })
        .fold(0.0, f64::max);
    let step = 1.0 / (0.25 * (max_norm + 1.0) + l2);
    let m = rows.len() as f64;
    let mut grad = vec![0.0; d];
    for _ in 0..iterations {
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut gb = 0.0;
        for &i in rows {
            let xi = &x.data[i * d..(i + 1) * d];
            let z = b + xi.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>();
            let r = 1.0 / (1.0 + (-z).exp()) - y[i];
            gb += r;
            for (g, v) in grad.iter_mut().zip(xi) {
                *g += r * v;
            }
        }
        for (wj, g) in w.iter_mut().zip(&grad) {
            *wj -= step * (g / m + l2 * *wj);
        }
        b -= step * gb / m;
    }
    (w, b)
}

/// Draws at most `max` of `n` row indices (sorted), seeded.
fn sample(n: usize, max: usize, rng: &mut Rng) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    if n > max {
        for i in 0..max {
            let j = i + rng.below((n - i) as u64) as usize;
            idx.swap(i, j);
        }
        idx.truncate(max);
        idx.sort_unstable();
    }
    idx
}

/// The 95th percentile of the ROC AUC of random scores for `n0` negatives and `n1`
/// positives (1,000 seeded draws).
pub(crate) fn random_auc_p95(n0: usize, n1: usize, seed: u64) -> f64 {
    let mut rng = Rng::new(seed ^ 0x05ee_da0c);
    let y: Vec<i64> = (0..n0).map(|_| 0).chain((0..n1).map(|_| 1)).collect();
    let mut aucs: Vec<f64> = (0..1000)
        .map(|_| {
            let s: Vec<f64> = (0..y.len()).map(|_| rng.next_f64()).collect();
            BinaryCurve::new(&y, &s, 1, None).map_or(0.5, |c| c.roc_auc())
        })
        .collect();
    aucs.sort_by(f64::total_cmp);
    aucs[949]
}

/// Trains the domain classifier on `columns` of the two samples and scores it out of fold.
pub fn domain_classifier(
    reference: &RecordBatch,
    current: &RecordBatch,
    columns: &[String],
    options: &DomainClassifierOptions,
) -> Result<DomainClassifierResult> {
    if reference.num_rows() < options.folds || current.num_rows() < options.folds {
        return Err(Error::invalid(
            "domain classifier samples",
            format!("{} and {} rows", reference.num_rows(), current.num_rows()),
            format!("at least {} rows each (one per fold)", options.folds),
        ));
    }
    if options.folds < 2 {
        return Err(Error::invalid(
            "folds",
            options.folds.to_string(),
            "at least 2",
        ));
    }
    let mut rng = Rng::new(options.seed);
    let take = |b: &RecordBatch, rng: &mut Rng| -> Result<RecordBatch> {
        let idx = sample(b.num_rows(), options.max_rows, rng);
        let idx = arrow_array::UInt32Array::from_iter_values(idx.iter().map(|&i| i as u32));
        arrow_select::take::take_record_batch(b, &idx)
            .map_err(|e| Error::invalid("sample rows", "take", e.to_string()))
    };
    let (a, b) = (take(reference, &mut rng)?, take(current, &mut rng)?);
    let (x, na) = build(&a, &b, columns, options.max_categories)?;
    let n = a.num_rows() + b.num_rows();
    let y: Vec<f64> = (0..n).map(|i| (i >= na) as u8 as f64).collect();
    // Stratified folds: shuffle each class, deal round-robin.
    let mut fold = vec![0usize; n];
    for class in [0..na, na..n] {
        let mut rows: Vec<usize> = class.collect();
        rng.shuffle(&mut rows);
        for (k, r) in rows.into_iter().enumerate() {
            fold[r] = k % options.folds;
        }
    }
    let d = x.names.len();
    let mut scores = vec![0.5; n];
    if d > 0 {
        for f in 0..options.folds {
            let train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
            let (w, bias) = fit_logistic(&x, &y, &train, options.iterations, options.l2);
            for i in (0..n).filter(|&i| fold[i] == f) {
                let xi = &x.data[i * d..(i + 1) * d];
                scores[i] = bias + xi.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>();
            }
        }
    }
    let labels: Vec<i64> = y.iter().map(|&v| v as i64).collect();
    let auc = BinaryCurve::new(&labels, &scores, 1, None)?.roc_auc();
    let threshold = if reference.num_rows() > 1000 {
        options.threshold
    } else {
        random_auc_p95(na, n - na, options.seed)
    };
    let mut top_features = Vec::new();
    if d > 0 {
        let all: Vec<usize> = (0..n).collect();
        let (w, _) = fit_logistic(&x, &y, &all, options.iterations, options.l2);
        top_features = x
            .names
            .iter()
            .cloned()
            .zip(w.iter().map(|v| v.abs()))
            .collect();
        top_features.sort_by(|p, q| q.1.total_cmp(&p.1).then(p.0.cmp(&q.0)));
        top_features.truncate(10);
    }
    Ok(DomainClassifierResult {
        auc,
        threshold,
        drifted: auc > threshold,
        top_features,
        rows: (na, n - na),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, StringArray};

    use super::*;

    fn normal(rng: &mut Rng) -> f64 {
        let (u, v) = (rng.next_f64().max(1e-300), rng.next_f64());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// Two correlated numeric columns and a category; `rho` is the correlation, `scale`
    /// multiplies `b`, `shift_cat` moves 20% of rows to category "z".
    fn sample(rng: &mut Rng, n: usize, rho: f64, scale: f64, shift_cat: bool) -> RecordBatch {
        let mut a = Vec::with_capacity(n);
        let mut b = Vec::with_capacity(n);
        let mut c = Vec::with_capacity(n);
        for _ in 0..n {
            let (z1, z2) = (normal(rng), normal(rng));
            a.push(z1);
            b.push(scale * (rho * z1 + (1.0 - rho * rho).sqrt() * z2));
            let u = rng.next_f64();
            c.push(if shift_cat && u < 0.2 {
                "z"
            } else if u < 0.6 {
                "x"
            } else {
                "y"
            });
        }
        RecordBatch::try_from_iter([
            ("a", Arc::new(Float64Array::from(a)) as ArrayRef),
            ("b", Arc::new(Float64Array::from(b)) as ArrayRef),
            ("c", Arc::new(StringArray::from(c)) as ArrayRef),
        ])
        .unwrap()
    }

    fn cols() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    #[test]
    fn the_same_distribution_is_not_drift() {
        let mut rng = Rng::new(1);
        let (r, c) = (
            sample(&mut rng, 3000, 0.0, 1.0, false),
            sample(&mut rng, 3000, 0.0, 1.0, false),
        );
        let res = domain_classifier(&r, &c, &cols(), &DomainClassifierOptions::default()).unwrap();
        assert!(res.auc < 0.54 && !res.drifted, "{res:?}");
    }

    #[test]
    fn a_scale_shift_and_a_new_category_are_found_and_named() {
        let mut rng = Rng::new(2);
        let r = sample(&mut rng, 3000, 0.0, 1.0, false);
        let c = sample(&mut rng, 3000, 0.0, 2.0, false);
        let res = domain_classifier(&r, &c, &cols(), &DomainClassifierOptions::default()).unwrap();
        assert!(res.drifted && res.auc > 0.6, "{res:?}");
        assert_eq!(res.top_features[0].0, "b²", "{res:?}");
        let c = sample(&mut rng, 3000, 0.0, 1.0, true);
        let res = domain_classifier(&r, &c, &cols(), &DomainClassifierOptions::default()).unwrap();
        assert!(res.drifted, "{res:?}");
        assert_eq!(res.top_features[0].0, "c=z", "{res:?}");
    }

    #[test]
    fn small_samples_use_the_random_auc_null_and_bad_input_is_refused() {
        let mut rng = Rng::new(3);
        let (r, c) = (
            sample(&mut rng, 200, 0.0, 1.0, false),
            sample(&mut rng, 200, 0.0, 1.0, false),
        );
        let res = domain_classifier(&r, &c, &cols(), &DomainClassifierOptions::default()).unwrap();
        assert!(res.threshold > 0.53 && res.threshold < 0.62, "{res:?}");
        assert!(!res.drifted, "{res:?}");
        let e = domain_classifier(
            &r,
            &c,
            &["nope".into()],
            &DomainClassifierOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("nope"));
        let tiny = r.slice(0, 3);
        assert!(
            domain_classifier(&tiny, &c, &cols(), &DomainClassifierOptions::default()).is_err()
        );
    }
}

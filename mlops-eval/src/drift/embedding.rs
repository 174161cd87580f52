//! Drift of embedding columns (text and LLM inputs as vectors), with Evidently's four
//! methods (`model`, `distance`, `ratio`, `mmd`) and their default thresholds.
//!
//! | method | statistic | drift when |
//! |---|---|---|
//! | [`EmbeddingMethod::Model`] | out-of-fold ROC AUC of a [domain classifier](super::domain) | AUC > 0.55 (random-score null below 1,000 reference rows) |
//! | [`EmbeddingMethod::Distance`] | Euclidean (or cosine) distance between the mean vectors | > 0.2, or with a null: > its 95th percentile |
//! | [`EmbeddingMethod::Ratio`] | share of dimensions whose normed Wasserstein distance is ≥ 0.1 | share > 0.2 |
//! | [`EmbeddingMethod::Mmd`] | MMD² with an RBF kernel (median-heuristic bandwidth) | > 0.015, or with a null: > its 95th percentile |
//!
//! The optional null for `Distance` and `Mmd` is a seeded permutation null: the pooled rows
//! are shuffled and split into samples of the original sizes. Evidently's bootstrap draws
//! both samples from the reference, which underestimates the statistic's spread when the
//! current sample is small and alarms too often (modyn #414); the permutation null does not.
//! MMD is quadratic in the rows, so each sample is capped (seeded) at `max_rows_mmd`.

use serde::{Deserialize, Serialize};

use super::domain::{DomainClassifierOptions, Features, fit_logistic, random_auc_p95};
use super::wasserstein::wasserstein_distance_norm;
use crate::metrics::BinaryCurve;
use crate::rng::Rng;
use mlops_core::{Error, Result};

/// Vectors as a row-major matrix.
#[derive(Clone, Copy, Debug)]
pub struct Embeddings<'a> {
    /// `rows · dim` values.
    pub data: &'a [f64],
    /// Dimension of each vector.
    pub dim: usize,
}

impl<'a> Embeddings<'a> {
    /// Wraps a row-major matrix; its length must be a multiple of `dim`.
    pub fn new(data: &'a [f64], dim: usize) -> Result<Self> {
        if dim == 0 || !data.len().is_multiple_of(dim) || data.is_empty() {
            return Err(Error::invalid(
                "embeddings",
                format!("{} values of dimension {dim}", data.len()),
                "a non-empty row-major matrix whose length is a multiple of the dimension",
            ));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(
                format!("embedding row {}", i / dim),
                data[i].to_string(),
                "finite values",
            ));
        }
        Ok(Embeddings { data, dim })
    }

    /// Number of vectors.
    pub fn rows(&self) -> usize {
        self.data.len() / self.dim
    }

    fn row(&self, i: usize) -> &'a [f64] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// How embedding drift is measured.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum EmbeddingMethod {
    /// A domain classifier's ROC AUC.
    Model,
    /// Distance between the mean vectors (`cosine`: 1 − cosine similarity).
    Distance {
        /// Cosine instead of Euclidean.
        cosine: bool,
    },
    /// Share of dimensions drifted by normed Wasserstein distance.
    Ratio,
    /// Maximum mean discrepancy.
    Mmd,
}

/// Options of [`embedding_drift`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingOptions {
    /// The method.
    pub method: EmbeddingMethod,
    /// Fixed threshold of the statistic (`None`: Evidently's default for the method).
    pub threshold: Option<f64>,
    /// Permutations of a null for `Distance` and `Mmd` (0: use the fixed threshold).
    pub permutations: usize,
    /// Per-dimension threshold of `Ratio` (0.1).
    pub component_threshold: f64,
    /// Cap on rows per sample for `Mmd` (1,000).
    pub max_rows_mmd: usize,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for EmbeddingOptions {
    fn default() -> Self {
        EmbeddingOptions {
            method: EmbeddingMethod::Model,
            threshold: None,
            permutations: 0,
            component_threshold: 0.1,
            max_rows_mmd: 1_000,
            seed: 0,
        }
    }
}

/// The verdict on an embedding column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingDrift {
    /// The method used.
    pub method: EmbeddingMethod,
    /// The statistic (AUC, distance, share of dimensions or MMD²).
    pub statistic: f64,
    /// The threshold it was compared with.
    pub threshold: f64,
    /// Whether the column drifted.
    pub drifted: bool,
}

fn mean_vector(e: &Embeddings, rows: &[usize]) -> Vec<f64> {
    let mut m = vec![0.0; e.dim];
    for &i in rows {
        for (a, b) in m.iter_mut().zip(e.row(i)) {
            *a += b;
        }
    }
    m.iter_mut().for_each(|v| *v /= rows.len() as f64);
    m
}

fn distance(a: &[f64], b: &[f64], cosine: bool) -> f64 {
    if cosine {
        let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let na: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt();
        let nb: f64 = b.iter().map(|x| x * x).sum::<f64>().sqrt();
        if na == 0.0 || nb == 0.0 {
            1.0
        } else {
            1.0 - dot / (na * nb)
        }
    } else {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            .sqrt()
    }
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Biased MMD² of rows `x` and `y` of the pooled matrix with bandwidth `sigma`.
fn mmd2(pool: &Embeddings, x: &[usize], y: &[usize], sigma: f64) -> f64 {
    let k = |i: usize, j: usize| (-sq_dist(pool.row(i), pool.row(j)) / (2.0 * sigma * sigma)).exp();
    let mean = |a: &[usize], b: &[usize]| {
        let mut s = 0.0;
        for &i in a {
            for &j in b {
                s += k(i, j);
            }
        }
        s / (a.len() * b.len()) as f64
    };
    mean(x, x) + mean(y, y) - 2.0 * mean(x, y)
}

/// Measures drift between two sets of vectors of the same dimension.
pub fn embedding_drift(
    reference: Embeddings,
    current: Embeddings,
    options: &EmbeddingOptions,
) -> Result<EmbeddingDrift> {
    if reference.dim != current.dim {
        return Err(Error::invalid(
            "embedding dimensions",
            format!("{} and {}", reference.dim, current.dim),
            "the same dimension in both samples",
        ));
    }
    let (na, nb, dim) = (reference.rows(), current.rows(), reference.dim);
    let pooled_data: Vec<f64> = reference.data.iter().chain(current.data).copied().collect();
    let pool = Embeddings {
        data: &pooled_data,
        dim,
    };
    let mut rng = Rng::new(options.seed);
    let with_null = |stat: &dyn Fn(&[usize], &[usize]) -> f64,
                     a: &[usize],
                     b: &[usize],
                     rng: &mut Rng,
                     fixed: f64|
     -> (f64, f64) {
        let observed = stat(a, b);
        if options.permutations == 0 {
            return (observed, options.threshold.unwrap_or(fixed));
        }
        let mut all: Vec<usize> = a.iter().chain(b).copied().collect();
        let mut null: Vec<f64> = (0..options.permutations)
            .map(|_| {
                rng.shuffle(&mut all);
                stat(&all[..a.len()], &all[a.len()..])
            })
            .collect();
        null.sort_by(f64::total_cmp);
        let q = ((0.95 * null.len() as f64).ceil() as usize).clamp(1, null.len()) - 1;
        (observed, null[q])
    };
    let (statistic, threshold) = match options.method {
        EmbeddingMethod::Model => {
            let d = DomainClassifierOptions {
                seed: options.seed,
                ..Default::default()
            };
            let n = na + nb;
            // Standardised dimensions, as the tabular classifier does.
            let mut data = pooled_data.clone();
            for j in 0..dim {
                let m = (0..n).map(|i| data[i * dim + j]).sum::<f64>() / n as f64;
                let v = (0..n).map(|i| (data[i * dim + j] - m).powi(2)).sum::<f64>() / n as f64;
                let sd = if v > 0.0 { v.sqrt() } else { 1.0 };
                for i in 0..n {
                    data[i * dim + j] = (data[i * dim + j] - m) / sd;
                }
            }
            let x = Features {
                names: (0..dim).map(|j| format!("dim {j}")).collect(),
                data,
            };
            let y: Vec<f64> = (0..n).map(|i| (i >= na) as u8 as f64).collect();
            let folds = d.folds.min(na).min(nb).max(2);
            let mut fold = vec![0usize; n];
            for class in [0..na, na..n] {
                let mut rows: Vec<usize> = class.collect();
                rng.shuffle(&mut rows);
                for (k, r) in rows.into_iter().enumerate() {
                    fold[r] = k % folds;
                }
            }
            let mut scores = vec![0.0; n];
            for f in 0..folds {
                let train: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
                let (w, b) = fit_logistic(&x, &y, &train, d.iterations, d.l2);
                for i in (0..n).filter(|&i| fold[i] == f) {
                    let xi = &x.data[i * dim..(i + 1) * dim];
                    scores[i] = b + xi.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>();
                }
            }
            let labels: Vec<i64> = y.iter().map(|&v| v as i64).collect();
            let auc = BinaryCurve::new(&labels, &scores, 1, None)?.roc_auc();
            let threshold = options.threshold.unwrap_or(if na > 1000 {
                d.threshold
            } else {
                random_auc_p95(na, nb, options.seed)
            });
            (auc, threshold)
        }
        EmbeddingMethod::Distance { cosine } => {
            let a: Vec<usize> = (0..na).collect();
            let b: Vec<usize> = (na..na + nb).collect();
            let stat = |x: &[usize], y: &[usize]| {
                distance(&mean_vector(&pool, x), &mean_vector(&pool, y), cosine)
            };
            with_null(&stat, &a, &b, &mut rng, 0.2)
        }
        EmbeddingMethod::Ratio => {
            let mut drifted = 0usize;
            for j in 0..dim {
                let r: Vec<f64> = (0..na).map(|i| reference.row(i)[j]).collect();
                let c: Vec<f64> = (0..nb).map(|i| current.row(i)[j]).collect();
                if wasserstein_distance_norm(&r, &c)? >= options.component_threshold {
                    drifted += 1;
                }
            }
            (
                drifted as f64 / dim as f64,
                options.threshold.unwrap_or(0.2),
            )
        }
        EmbeddingMethod::Mmd => {
            let cap = options.max_rows_mmd.max(2);
            let mut pick = |range: std::ops::Range<usize>| {
                let mut rows: Vec<usize> = range.collect();
                rng.shuffle(&mut rows);
                rows.truncate(cap);
                rows.sort_unstable();
                rows
            };
            let (a, b) = (pick(0..na), pick(na..na + nb));
            // Median heuristic on the reference rows used.
            let mut d2: Vec<f64> = Vec::new();
            for (p, &i) in a.iter().enumerate() {
                for &j in &a[p + 1..] {
                    d2.push(sq_dist(pool.row(i), pool.row(j)));
                }
            }
            d2.sort_by(f64::total_cmp);
            let med = d2.get(d2.len() / 2).copied().unwrap_or(0.0);
            let sigma = if med > 0.0 {
                (0.5 * med).sqrt()
            } else {
                0.5f64.sqrt()
            };
            let stat = |x: &[usize], y: &[usize]| mmd2(&pool, x, y, sigma);
            with_null(&stat, &a, &b, &mut rng, 0.015)
        }
    };
    Ok(EmbeddingDrift {
        method: options.method,
        statistic,
        threshold,
        drifted: statistic > threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(rng: &mut Rng) -> f64 {
        let (u, v) = (rng.next_f64().max(1e-300), rng.next_f64());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// `n` vectors of dimension 16 around a random direction; `shift` moves the first 4
    /// dimensions.
    fn vectors(rng: &mut Rng, n: usize, shift: f64) -> Vec<f64> {
        (0..n * 16)
            .map(|k| normal(rng) * 0.3 + if k % 16 < 4 { shift } else { 0.0 })
            .collect()
    }

    #[test]
    fn every_method_sees_a_shift_and_not_noise() {
        let mut rng = Rng::new(4);
        let r = vectors(&mut rng, 1500, 0.0);
        let same = vectors(&mut rng, 600, 0.0);
        let moved = vectors(&mut rng, 600, 0.3);
        fn e(v: &[f64]) -> Embeddings<'_> {
            Embeddings::new(v, 16).unwrap()
        }
        for method in [
            EmbeddingMethod::Model,
            EmbeddingMethod::Distance { cosine: false },
            EmbeddingMethod::Ratio,
            EmbeddingMethod::Mmd,
        ] {
            let opts = EmbeddingOptions {
                method,
                max_rows_mmd: 400,
                ..Default::default()
            };
            let quiet = embedding_drift(e(&r), e(&same), &opts).unwrap();
            let loud = embedding_drift(e(&r), e(&moved), &opts).unwrap();
            assert!(!quiet.drifted, "{method:?} alarms on noise: {quiet:?}");
            assert!(loud.drifted, "{method:?} misses the shift: {loud:?}");
            assert!(loud.statistic > quiet.statistic);
        }
    }

    #[test]
    fn permutation_nulls_are_seeded_and_calibrated() {
        let mut rng = Rng::new(5);
        let r = vectors(&mut rng, 300, 0.0);
        let opts = EmbeddingOptions {
            method: EmbeddingMethod::Distance { cosine: false },
            permutations: 200,
            seed: 9,
            ..Default::default()
        };
        // Small current samples from the same distribution: the permutation null alarms
        // about 5% of the time, never far more.
        let mut alarms = 0;
        for _ in 0..40 {
            let c = vectors(&mut rng, 30, 0.0);
            let d = embedding_drift(
                Embeddings::new(&r, 16).unwrap(),
                Embeddings::new(&c, 16).unwrap(),
                &opts,
            )
            .unwrap();
            alarms += d.drifted as usize;
        }
        assert!(alarms <= 6, "{alarms} alarms in 40 null trials");
        let c = vectors(&mut rng, 30, 0.0);
        let run = || {
            embedding_drift(
                Embeddings::new(&r, 16).unwrap(),
                Embeddings::new(&c, 16).unwrap(),
                &opts,
            )
            .unwrap()
        };
        assert_eq!(run(), run());
        assert!(Embeddings::new(&r[..10], 16).is_err());
        assert!(Embeddings::new(&[f64::NAN; 16], 16).is_err());
        let e = embedding_drift(
            Embeddings::new(&r, 16).unwrap(),
            Embeddings::new(&r[..32], 8).unwrap(),
            &opts,
        );
        assert!(e.unwrap_err().to_string().contains("16 and 8"));
    }
}

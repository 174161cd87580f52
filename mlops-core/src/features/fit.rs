//! Fitting one column: the imputation value, then the transform's statistics on the imputed
//! values (as a scikit-learn `Pipeline(SimpleImputer, Scaler)` does).

use std::cmp::Ordering;
use std::collections::HashMap;

use arrow_array::RecordBatch;

use super::cell::ColumnCells;
use super::{
    BinStrategy, Categories, Cell, ColumnSpec, Fill, FittedColumn, FittedTransform, Impute,
    Transform,
};
use crate::error::{Error, Result};

/// Ranges below this are replaced by 1 (scikit-learn's `_handle_zeros_in_scale`).
const TINY_SCALE: f64 = 10.0 * f64::EPSILON;

pub(super) fn fit_column(spec: &ColumnSpec, batches: &[RecordBatch]) -> Result<FittedColumn> {
    let name = spec.column.as_str();
    let mut readers = Vec::with_capacity(batches.len());
    for (i, b) in batches.iter().enumerate() {
        let array = b.column_by_name(name).ok_or_else(|| {
            Error::invalid(
                format!("training batch {i}"),
                format!("{:?}", super::column_names(b)),
                format!("a column named \"{name}\" (the feature pipeline reads it)"),
            )
        })?;
        readers.push((ColumnCells::new(name, array)?, b.num_rows()));
    }
    let numeric_input = readers.first().is_none_or(|(r, _)| r.is_numeric());
    let numeric = spec.transform.is_numeric();
    if numeric && !numeric_input {
        return Err(Error::invalid(
            format!("transform of feature column \"{name}\""),
            format!("{:?}", spec.transform),
            "an encoder or hashing (the column holds text, not numbers)",
        ));
    }
    let cells = || {
        readers
            .iter()
            .flat_map(|(r, n)| (0..*n).map(move |row| r.get(row)))
    };

    let fill = match &spec.impute {
        None => None,
        Some(impute) => Some(fit_fill(name, impute, numeric, numeric_input, cells())?),
    };
    let imputed = || {
        cells().map(|c| match (&c, &fill) {
            (Cell::Missing, Some(Fill::Number(x))) => Cell::Number(*x),
            (Cell::Missing, Some(Fill::Text(t))) => Cell::Text(t.clone().into()),
            _ => c,
        })
    };
    let numbers = || -> Result<Vec<f64>> {
        let mut out = Vec::new();
        for (row, c) in imputed().enumerate() {
            match c.number(name)? {
                Some(x) => out.push(x),
                None => {
                    return Err(Error::invalid(
                        format!("training value of feature column \"{name}\" at row {row}"),
                        "null",
                        "a number; add an imputer to the column's spec to fill missing values",
                    ));
                }
            }
        }
        if out.is_empty() {
            return Err(Error::invalid(
                format!("training values of feature column \"{name}\""),
                "no rows",
                "at least one value to fit on",
            ));
        }
        Ok(out)
    };

    let transform = match &spec.transform {
        Transform::Passthrough => FittedTransform::Passthrough,
        Transform::Standardize => {
            let x = numbers()?;
            let n = x.len() as f64;
            let mean = x.iter().sum::<f64>() / n;
            // StandardScaler's corrected two-pass variance (Chan, Golub and LeVeque) and its
            // near-constant test on the variance (`_is_constant_feature`), not on the scale.
            let correction = x.iter().map(|v| v - mean).sum::<f64>();
            let squares = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>();
            let var = (squares - correction * correction / n) / n;
            let constant = var <= n * f64::EPSILON * var + (n * mean * f64::EPSILON).powi(2);
            FittedTransform::Standardize {
                mean,
                scale: if constant { 1.0 } else { var.sqrt() },
            }
        }
        Transform::MinMax => {
            let x = numbers()?;
            let min = x.iter().copied().fold(f64::INFINITY, f64::min);
            let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            FittedTransform::MinMax {
                min,
                range: nonzero(max - min),
            }
        }
        Transform::Bucketize {
            boundaries,
            bins,
            strategy,
        } => FittedTransform::Bucketize {
            boundaries: match boundaries {
                Some(b) => check_boundaries(name, b)?,
                None => {
                    let mut x = numbers()?;
                    x.sort_by(f64::total_cmp);
                    fit_edges(
                        name,
                        &x,
                        bins.unwrap_or(5),
                        strategy.unwrap_or(BinStrategy::Quantile),
                    )?
                }
            },
        },
        Transform::OneHot {
            min_frequency,
            max_categories,
        } => {
            let counts = category_counts(imputed());
            let mut kept: Vec<(String, u64)> = counts
                .into_iter()
                .filter(|(_, n)| min_frequency.is_none_or(|m| *n >= m))
                .collect();
            if let Some(max) = max_categories
                && kept.len() > *max
            {
                // The most frequent; ties to the larger category (scikit-learn marks the
                // smallest counts infrequent by a stable argsort over the sorted categories).
                kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| order(numeric_input, &b.0, &a.0)));
                kept.truncate(*max);
            }
            FittedTransform::OneHot {
                categories: sorted(numeric_input, kept.into_iter().map(|(k, _)| k).collect()),
            }
        }
        Transform::Ordinal => FittedTransform::Ordinal {
            categories: sorted(
                numeric_input,
                category_counts(imputed()).into_keys().collect(),
            ),
        },
        Transform::Hash {
            buckets,
            alternate_sign,
            tokenize,
        } => {
            if *buckets == 0 {
                return Err(Error::invalid(
                    format!("hash buckets of feature column \"{name}\""),
                    "0",
                    "at least 1",
                ));
            }
            FittedTransform::Hash {
                buckets: *buckets,
                alternate_sign: *alternate_sign,
                tokenize: *tokenize,
            }
        }
    };
    Ok(FittedColumn {
        column: spec.column.clone(),
        numeric_input,
        fill,
        transform,
    })
}

fn nonzero(scale: f64) -> f64 {
    if scale < TINY_SCALE { 1.0 } else { scale }
}

fn fit_fill<'a>(
    name: &str,
    impute: &Impute,
    numeric: bool,
    numeric_input: bool,
    cells: impl Iterator<Item = Cell<'a>>,
) -> Result<Fill> {
    let numbers_only = |what: &str| {
        Error::invalid(
            format!("imputer of feature column \"{name}\""),
            what,
            "most_frequent or constant for a column encoded as categories",
        )
    };
    match impute {
        Impute::Mean | Impute::Median => {
            if !numeric {
                return Err(numbers_only(if matches!(impute, Impute::Mean) {
                    "mean"
                } else {
                    "median"
                }));
            }
            let mut x = Vec::new();
            for c in cells {
                if let Some(v) = c.number(name)? {
                    x.push(v);
                }
            }
            if x.is_empty() {
                return Err(Error::invalid(
                    format!("training values of feature column \"{name}\""),
                    "all missing",
                    "at least one value to impute from",
                ));
            }
            let value = if matches!(impute, Impute::Mean) {
                x.iter().sum::<f64>() / x.len() as f64
            } else {
                x.sort_by(f64::total_cmp);
                let m = x.len() / 2;
                if x.len() % 2 == 1 {
                    x[m]
                } else {
                    (x[m - 1] + x[m]) / 2.0
                }
            };
            Ok(Fill::Number(value))
        }
        Impute::MostFrequent => {
            if numeric {
                let mut counts: HashMap<u64, (f64, u64)> = HashMap::new();
                for c in cells {
                    if let Some(v) = c.number(name)? {
                        let v = v + 0.0; // -0.0 and 0.0 are one value
                        counts.entry(v.to_bits()).or_insert((v, 0)).1 += 1;
                    }
                }
                counts
                    .into_values()
                    .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.total_cmp(&a.0)))
                    .map(|(v, _)| Fill::Number(v))
                    .ok_or_else(|| all_missing(name))
            } else {
                // Ties to the smallest in the encoder's order (numeric for numeric input).
                category_counts(cells)
                    .into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then_with(|| order(numeric_input, &b.0, &a.0)))
                    .map(|(k, _)| Fill::Text(k))
                    .ok_or_else(|| all_missing(name))
            }
        }
        Impute::Constant(value) => {
            let cell = Cell::from_json(value)?;
            if numeric {
                match cell.number(name)? {
                    Some(x) => Ok(Fill::Number(x)),
                    None => Err(Error::invalid(
                        format!("constant imputer of feature column \"{name}\""),
                        value.to_string(),
                        "a number",
                    )),
                }
            } else {
                cell.category()
                    .map(|k| Fill::Text(k.into_owned()))
                    .ok_or_else(|| {
                        Error::invalid(
                            format!("constant imputer of feature column \"{name}\""),
                            "null",
                            "a value",
                        )
                    })
            }
        }
    }
}

fn all_missing(name: &str) -> Error {
    Error::invalid(
        format!("training values of feature column \"{name}\""),
        "all missing",
        "at least one value to impute from",
    )
}

fn category_counts<'a>(cells: impl Iterator<Item = Cell<'a>>) -> HashMap<String, u64> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    for c in cells {
        if let Some(k) = c.category() {
            match counts.get_mut(k.as_ref()) {
                Some(n) => *n += 1,
                None => {
                    counts.insert(k.into_owned(), 1);
                }
            }
        }
    }
    counts
}

/// scikit-learn's category order: numeric for numeric input, code points for text.
pub(crate) fn order(numeric: bool, a: &str, b: &str) -> Ordering {
    if numeric && let (Ok(x), Ok(y)) = (a.parse::<f64>(), b.parse::<f64>()) {
        return x.total_cmp(&y);
    }
    a.cmp(b)
}

fn sorted(numeric: bool, mut keys: Vec<String>) -> Categories {
    keys.sort_by(|a, b| order(numeric, a, b));
    Categories::new(keys)
}

fn check_boundaries(name: &str, b: &[f64]) -> Result<Vec<f64>> {
    let ok = b.iter().all(|x| x.is_finite()) && b.windows(2).all(|w| w[0] < w[1]);
    if ok {
        Ok(b.to_vec())
    } else {
        Err(Error::invalid(
            format!("bucket boundaries of feature column \"{name}\""),
            format!("{b:?}"),
            "finite values in strictly ascending order",
        ))
    }
}

/// Inner bin edges as `KBinsDiscretizer` fits them: a constant column is one bin, and for
/// quantiles an edge at most 1e-8 above the previous (unfiltered) edge is dropped.
fn fit_edges(name: &str, sorted: &[f64], bins: usize, strategy: BinStrategy) -> Result<Vec<f64>> {
    if bins < 2 {
        return Err(Error::invalid(
            format!("bins of feature column \"{name}\""),
            bins.to_string(),
            "at least 2",
        ));
    }
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    if min == max {
        return Ok(Vec::new()); // a constant column: a single bin
    }
    let edges: Vec<f64> = match strategy {
        // Uniform edges are kept however narrow (scikit-learn filters quantile edges only).
        BinStrategy::Uniform => linspace(min, max, bins + 1),
        BinStrategy::Quantile => {
            let q: Vec<f64> = linspace(0.0, 100.0, bins + 1)
                .into_iter()
                .map(|p| percentile_linear(sorted, p))
                .collect();
            // `np.ediff1d(edges, to_begin=inf) > 1e-8`: each gap to the previous edge.
            let mut kept = vec![q[0]];
            kept.extend(q.windows(2).filter(|w| w[1] - w[0] > 1e-8).map(|w| w[1]));
            kept
        }
    };
    Ok(match edges.len() {
        0..=2 => Vec::new(),
        n => edges[1..n - 1].to_vec(),
    })
}

/// `numpy.linspace(start, stop, num)` with its exact arithmetic.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let div = (num - 1) as f64;
    let step = (stop - start) / div;
    let mut out: Vec<f64> = (0..num).map(|i| start + i as f64 * step).collect();
    out[num - 1] = stop;
    out
}

/// `numpy.percentile(sorted, p, method="linear")` with numpy's interpolation formula.
fn percentile_linear(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let index = (p / 100.0) * (n - 1) as f64;
    let lo = (index.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    let t = index - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

//! Metrics per slice: the same metric computed on each segment of the data (a column's
//! value, or any predicate), with the segment's row count.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use mlops_core::{Error, Result};

/// A metric on one slice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SliceValue {
    /// Rows in the slice.
    pub count: u64,
    /// The metric on those rows (`None` when the metric is undefined there, e.g. ROC AUC of
    /// a single-class slice; the reason is in `error`).
    pub value: Option<f64>,
    /// Why the metric could not be computed, if it could not.
    pub error: Option<String>,
}

/// Computes `metric(rows)` for every distinct value of `segment` (one label per row), plus
/// the slice `"*"` over all rows. A slice where the metric fails keeps the error message
/// instead of failing the whole report.
pub fn by_segment(
    segment: &[&str],
    metric: impl Fn(&[usize]) -> Result<f64>,
) -> Result<BTreeMap<String, SliceValue>> {
    if segment.is_empty() {
        return Err(Error::invalid("slice labels", "0 rows", "at least one row"));
    }
    let mut rows: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    rows.insert("*".into(), (0..segment.len()).collect());
    for (i, s) in segment.iter().enumerate() {
        rows.entry((*s).to_owned()).or_default().push(i);
    }
    Ok(rows
        .into_iter()
        .map(|(name, r)| {
            let (value, error) = match metric(&r) {
                Ok(v) => (Some(v), None),
                Err(e) => (None, Some(e.to_string())),
            };
            (
                name,
                SliceValue {
                    count: r.len() as u64,
                    value,
                    error,
                },
            )
        })
        .collect())
}

/// Computes `metric(rows)` on the rows where `predicate(row)` holds (a named slice such as
/// `age >= 65`).
pub fn where_rows(
    n: usize,
    predicate: impl Fn(usize) -> bool,
    metric: impl Fn(&[usize]) -> Result<f64>,
) -> SliceValue {
    let rows: Vec<usize> = (0..n).filter(|&i| predicate(i)).collect();
    let (value, error) = match metric(&rows) {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e.to_string())),
    };
    SliceValue {
        count: rows.len() as u64,
        value,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_segment_gets_its_metric_and_count() {
        let correct = [true, false, true, true, false, true];
        let country = ["fr", "fr", "de", "de", "us", "fr"];
        let acc = |rows: &[usize]| -> Result<f64> {
            if rows.is_empty() {
                return Err(Error::invalid("slice", "empty", "rows"));
            }
            Ok(rows.iter().filter(|&&i| correct[i]).count() as f64 / rows.len() as f64)
        };
        let s = by_segment(&country, acc).unwrap();
        assert_eq!(s["*"].count, 6);
        assert_eq!(s["de"].value, Some(1.0));
        assert_eq!((s["fr"].count, s["fr"].value), (3, Some(2.0 / 3.0)));
        assert_eq!(s["us"].value, Some(0.0));
        let none = where_rows(6, |_| false, acc);
        assert_eq!(
            (none.count, none.value.is_none(), none.error.is_some()),
            (0, true, true)
        );
    }
}

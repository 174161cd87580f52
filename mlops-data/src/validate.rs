//! Declarative checks over record batches, counting the rows that break each rule.
//!
//! This is the counting core; the detailed report (failing values, row indices,
//! quarantine files) builds on it.

use std::collections::HashSet;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use mlops_core::{Error, Result};

/// One rule over one column. A null breaks every rule: `NotNull` counts nulls, `Range` and
/// `AllowedValues` count nulls and out-of-rule values.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// The value is not null.
    NotNull {
        /// Column name.
        column: String,
    },
    /// The value is not null and within `[min, max]` (bounds allowed; either may be open).
    Range {
        /// Column name (a numeric column).
        column: String,
        /// Smallest allowed value.
        min: Option<f64>,
        /// Largest allowed value.
        max: Option<f64>,
    },
    /// The value is not null and one of `values`.
    AllowedValues {
        /// Column name (a string column).
        column: String,
        /// The allowed set.
        values: Vec<String>,
    },
}

impl Check {
    /// The column the rule is about.
    pub fn column(&self) -> &str {
        match self {
            Check::NotNull { column }
            | Check::Range { column, .. }
            | Check::AllowedValues { column, .. } => column,
        }
    }
}

fn as_f64(a: &dyn Array) -> Option<Box<dyn Fn(usize) -> f64 + '_>> {
    Some(match a.data_type() {
        DataType::Float64 => {
            let p = a.as_primitive::<Float64Type>();
            Box::new(move |i| p.value(i))
        }
        DataType::Float32 => {
            let p = a.as_primitive::<Float32Type>();
            Box::new(move |i| p.value(i) as f64)
        }
        DataType::Int64 => {
            let p = a.as_primitive::<Int64Type>();
            Box::new(move |i| p.value(i) as f64)
        }
        DataType::Int32 => {
            let p = a.as_primitive::<Int32Type>();
            Box::new(move |i| p.value(i) as f64)
        }
        _ => return None,
    })
}

/// Counts, per check, the rows of `batch` that break it.
pub fn count_violations(batch: &RecordBatch, checks: &[Check]) -> Result<Vec<u64>> {
    checks
        .iter()
        .map(|check| {
            let col = batch.column_by_name(check.column()).ok_or_else(|| {
                Error::invalid("checked column", check.column(), "a column of the batch")
            })?;
            let nulls = col.null_count() as u64;
            Ok(match check {
                Check::NotNull { .. } => nulls,
                Check::Range { min, max, column } => {
                    let value = as_f64(col.as_ref()).ok_or_else(|| {
                        Error::invalid(
                            format!("type of range-checked column {column:?}"),
                            col.data_type().to_string(),
                            "a numeric type",
                        )
                    })?;
                    let lo = min.unwrap_or(f64::NEG_INFINITY);
                    let hi = max.unwrap_or(f64::INFINITY);
                    let bad = (0..col.len())
                        .filter(|&i| col.is_valid(i) && !(lo..=hi).contains(&value(i)))
                        .count();
                    nulls + bad as u64
                }
                Check::AllowedValues { values, column } => {
                    let allowed: HashSet<&str> = values.iter().map(String::as_str).collect();
                    let bad = match col.data_type() {
                        DataType::Utf8 => col
                            .as_string::<i32>()
                            .iter()
                            .filter(|v| v.is_some_and(|s| !allowed.contains(s)))
                            .count(),
                        DataType::LargeUtf8 => col
                            .as_string::<i64>()
                            .iter()
                            .filter(|v| v.is_some_and(|s| !allowed.contains(s)))
                            .count(),
                        other => {
                            return Err(Error::invalid(
                                format!("type of column {column:?}"),
                                other.to_string(),
                                "a string type",
                            ));
                        }
                    };
                    nulls + bad as u64
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, StringArray};
    use arrow_schema::{Field, Schema};

    use super::*;

    #[test]
    fn counts_nulls_and_out_of_rule_values() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("f", DataType::Float64, true),
            Field::new("c", DataType::Utf8, true),
        ]));
        let b = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Float64Array::from(vec![
                    Some(-10.0),
                    Some(10.0),
                    Some(10.5),
                    None,
                ])),
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    Some("omega"),
                    None,
                    Some("b"),
                ])),
            ],
        )
        .unwrap();
        let checks = [
            Check::NotNull { column: "f".into() },
            Check::Range {
                column: "f".into(),
                min: Some(-10.0),
                max: Some(10.0),
            },
            Check::AllowedValues {
                column: "c".into(),
                values: vec!["a".into(), "b".into()],
            },
        ];
        assert_eq!(count_violations(&b, &checks).unwrap(), [1, 2, 2]);
        assert!(
            count_violations(
                &b,
                &[Check::NotNull {
                    column: "zz".into()
                }]
            )
            .is_err()
        );
        assert!(
            count_violations(
                &b,
                &[Check::Range {
                    column: "c".into(),
                    min: None,
                    max: None
                }]
            )
            .is_err()
        );
    }
}

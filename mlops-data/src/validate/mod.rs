//! Declarative checks over record batches: a fast violation count per check
//! ([`count_violations`]), and a lazy validator that collects every failure, streaming,
//! into a report as detailed as pandera's `failure_cases` or Great Expectations' results
//! (column, check, failing value, row index, counts and percentages) as an Arrow table or
//! JSON, with failing rows optionally quarantined to their own file ([`validate_into`]).
//!
//! Null semantics: a null breaks every row rule (`NotNull` counts only nulls; `Range`,
//! `AllowedValues` and `Regex` count nulls and out-of-rule values), so a rule never passes a
//! row it could not judge. Uniqueness is judged keep-first, as a stream must: the first
//! occurrence of a key passes and every later one fails, naming the first's row.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch, StringArray};
//! use mlops_data::validate::{Check, Validator};
//!
//! let batch = RecordBatch::try_from_iter([
//!     ("id", Arc::new(Int64Array::from(vec![1, 2, 2])) as _),
//!     ("email", Arc::new(StringArray::from(vec![Some("a@x.io"), Some("nope"), None])) as _),
//! ])?;
//! let mut v = Validator::new(vec![
//!     Check::Unique { columns: vec!["id".into()] },
//!     Check::Regex { column: "email".into(), pattern: r"^[^@]+@[^@]+$".into() },
//! ])?;
//! v.check_batch(&batch)?;
//! let report = v.finish();
//! assert!(!report.passed());
//! assert_eq!(report.checks[1].failures, 2); // "nope" and the null
//! assert_eq!(report.failures[0].row, Some(2)); // the second id 2
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_schema::DataType;
use mlops_core::{Error, Result};

/// A row rule given as code: it returns, for a batch, whether each row passes (a null
/// flag fails the row).
#[derive(Clone)]
pub struct RowRule(pub Arc<RowRuleFn>);

/// The function behind a [`RowRule`].
pub type RowRuleFn = dyn Fn(&RecordBatch) -> Result<BooleanArray> + Send + Sync;

impl RowRule {
    /// Wraps a closure.
    pub fn new(f: impl Fn(&RecordBatch) -> Result<BooleanArray> + Send + Sync + 'static) -> Self {
        RowRule(Arc::new(f))
    }
}

impl fmt::Debug for RowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RowRule(..)")
    }
}

impl PartialEq for RowRule {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// One declarative rule.
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
    /// The column has exactly this Arrow type (a schema rule; no row fails it).
    Type {
        /// Column name.
        column: String,
        /// The expected type.
        data_type: DataType,
    },
    /// The value is not null and the regular expression matches somewhere in it (Great
    /// Expectations' `expect_column_values_to_match_regex`; anchor with `^…$` for a full
    /// match). Rust `regex` syntax.
    Regex {
        /// Column name (a string column).
        column: String,
        /// The pattern.
        pattern: String,
    },
    /// The combination of these columns' values is unique (keep-first; nulls are values).
    Unique {
        /// The key columns.
        columns: Vec<String>,
    },
    /// The table has between `min` and `max` rows (a table rule, judged at the end).
    RowCount {
        /// Fewest rows.
        min: Option<u64>,
        /// Most rows.
        max: Option<u64>,
    },
    /// A rule given as code over whole batches.
    Custom {
        /// The rule's name in reports.
        name: String,
        /// The column the rule is about, if one.
        column: Option<String>,
        /// The rule.
        rule: RowRule,
    },
}

impl Check {
    /// The column the rule is about (`None` for table rules and multi-column uniqueness).
    pub fn column(&self) -> &str {
        match self {
            Check::NotNull { column }
            | Check::Range { column, .. }
            | Check::AllowedValues { column, .. }
            | Check::Type { column, .. }
            | Check::Regex { column, .. } => column,
            Check::Unique { columns } if columns.len() == 1 => &columns[0],
            Check::Custom {
                column: Some(c), ..
            } => c,
            _ => "",
        }
    }

    /// The rule in words, as reports name it (`in_range(0, 120)`, `isin([...])`, ...).
    pub fn describe(&self) -> String {
        let bound = |b: &Option<f64>| b.map_or("-inf..".into(), |v| v.to_string());
        match self {
            Check::NotNull { .. } => "not_null".into(),
            Check::Range { min, max, .. } => format!(
                "in_range({}, {})",
                bound(min).replace("-inf..", "-inf"),
                max.map_or("inf".into(), |v| v.to_string())
            ),
            Check::AllowedValues { values, .. } => {
                let shown: Vec<&str> = values.iter().take(10).map(String::as_str).collect();
                format!(
                    "isin({:?}{})",
                    shown,
                    if values.len() > 10 { " ..." } else { "" }
                )
            }
            Check::Type { data_type, .. } => format!("dtype({data_type})"),
            Check::Regex { pattern, .. } => format!("str_matches({pattern:?})"),
            Check::Unique { columns } => format!("unique({})", columns.join(", ")),
            Check::RowCount { min, max } => format!(
                "row_count({}, {})",
                min.map_or("0".into(), |v| v.to_string()),
                max.map_or("inf".into(), |v| v.to_string())
            ),
            Check::Custom { name, .. } => name.clone(),
        }
    }
}

pub(crate) fn as_f64(a: &dyn Array) -> Option<Box<dyn Fn(usize) -> f64 + '_>> {
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

/// Counts, per check, the rows of `batch` that break it: the fast path of `NotNull`,
/// `Range` and `AllowedValues`; the other rules go through a [`Validator`] on this batch
/// alone (a failed schema or table rule counts 1). A missing column or a wrong type is an
/// error here, where the validator would report it.
pub fn count_violations(batch: &RecordBatch, checks: &[Check]) -> Result<Vec<u64>> {
    checks
        .iter()
        .map(|check| {
            if !matches!(
                check,
                Check::NotNull { .. } | Check::Range { .. } | Check::AllowedValues { .. }
            ) {
                let mut v = Validator::new(vec![check.clone()])?;
                v.check_batch(batch)?;
                let report = v.finish();
                return match &report.checks[0].error {
                    Some(e) => Err(Error::invalid(
                        format!("check {}", check.describe()),
                        e,
                        "a column of the right type",
                    )),
                    None => Ok(report.checks[0].failures),
                };
            }
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
                _ => 0,
            })
        })
        .collect()
}

mod validator;
pub use validator::{
    BatchVerdict, CheckSummary, FAILED_CHECKS, Failure, ValidationReport, Validator, validate_into,
};

#[cfg(test)]
mod tests;

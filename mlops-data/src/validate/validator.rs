//! The lazy validator: every check over every batch, every failure collected.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, StringArray, UInt64Array};
use arrow_row::{RowConverter, SortField};
use arrow_schema::{DataType, Field, Schema};
use mlops_core::{Error, Result};
use regex::Regex;
use serde::Serialize;

use super::{Check, as_f64};
use crate::write::{AtomicParquetWriter, WriteOptions};

/// The name of the column [`validate_into`] adds to quarantined rows.
pub const FAILED_CHECKS: &str = "_failed_checks";

/// One failure: a failing value and its row, or a schema or table rule that failed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Failure {
    /// `Column` for row and schema rules on a column, `Table` for table rules.
    pub schema_context: &'static str,
    /// The column, if the rule is about one.
    pub column: Option<String>,
    /// The rule in words ([`Check::describe`]).
    pub check: String,
    /// The rule's position in the check list.
    pub check_number: usize,
    /// The failing value as text (`None` for a null), or what was found for a schema or
    /// table rule.
    pub failure_case: Option<String>,
    /// The failing row's index in the whole stream (`None` for schema and table rules).
    pub row: Option<u64>,
}

/// One rule's outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckSummary {
    /// The rule in words.
    pub check: String,
    /// The column, if the rule is about one.
    pub column: Option<String>,
    /// Failing rows (1 for a failed schema or table rule).
    pub failures: u64,
    /// Failing rows as a percentage of all rows (row rules).
    pub percent: f64,
    /// Whether the rule held.
    pub passed: bool,
    /// Why the rule could not be judged (missing column, wrong type), if so.
    pub error: Option<String>,
}

/// Everything a validation found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValidationReport {
    /// Rows seen.
    pub rows: u64,
    /// One summary per check, in check order.
    pub checks: Vec<CheckSummary>,
    /// Failures, in stream order per batch, up to the validator's cap per check.
    pub failures: Vec<Failure>,
    /// Failures counted but not listed because of the cap.
    pub failures_not_listed: u64,
}

impl ValidationReport {
    /// True when every check held.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The failures as an Arrow table (pandera's `failure_cases` columns:
    /// `schema_context, column, check, check_number, failure_case, index`).
    pub fn to_arrow(&self) -> Result<RecordBatch> {
        let f = &self.failures;
        let text = |g: &dyn Fn(&Failure) -> Option<&str>| -> ArrayRef {
            Arc::new(f.iter().map(g).collect::<StringArray>())
        };
        RecordBatch::try_from_iter_with_nullable([
            ("schema_context", text(&|x| Some(x.schema_context)), false),
            ("column", text(&|x| x.column.as_deref()), true),
            ("check", text(&|x| Some(&x.check)), false),
            (
                "check_number",
                Arc::new(UInt64Array::from_iter_values(
                    f.iter().map(|x| x.check_number as u64),
                )) as ArrayRef,
                false,
            ),
            ("failure_case", text(&|x| x.failure_case.as_deref()), true),
            (
                "index",
                Arc::new(f.iter().map(|x| x.row).collect::<UInt64Array>()) as ArrayRef,
                true,
            ),
        ])
        .map_err(|e| Error::invalid("failure table", "columns", e.to_string()))
    }

    /// The report as JSON: rows, per-check summaries and the failures.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Which rows of one batch failed which checks.
#[derive(Clone, Debug, Default)]
pub struct BatchVerdict {
    rows: usize,
    /// `(check index, failing flag per row)` for the row rules that failed some row.
    masks: Vec<(usize, Vec<bool>)>,
}

impl BatchVerdict {
    /// Per row: true when the row passes every row rule.
    pub fn passed(&self) -> BooleanArray {
        (0..self.rows)
            .map(|r| Some(!self.masks.iter().any(|(_, m)| m[r])))
            .collect()
    }

    /// The checks (indices) that row `row` fails.
    pub fn failed_checks(&self, row: usize) -> Vec<usize> {
        self.masks
            .iter()
            .filter(|(_, m)| m.get(row).copied().unwrap_or(false))
            .map(|(c, _)| *c)
            .collect()
    }

    /// Rows failing at least one row rule.
    pub fn failing_rows(&self) -> usize {
        (0..self.rows)
            .filter(|&r| self.masks.iter().any(|(_, m)| m[r]))
            .count()
    }
}

/// Per-check state kept across batches.
enum State {
    None,
    Allowed(HashSet<String>),
    Regex(Regex),
    Unique {
        converter: Option<RowConverter>,
        first: HashMap<Box<[u8]>, u64>,
    },
}

/// Validates a stream of batches against a list of checks, collecting every failure (the
/// lazy mode of pandera and Great Expectations). Memory is bounded by the failure cap and,
/// for uniqueness, by the distinct keys.
pub struct Validator {
    checks: Vec<Check>,
    state: Vec<State>,
    counts: Vec<u64>,
    errors: Vec<Option<String>>,
    rows: u64,
    failures: Vec<Failure>,
    listed: Vec<usize>,
    not_listed: u64,
    max_listed: usize,
}

impl Validator {
    /// A validator over `checks`; an invalid regular expression is an error naming it.
    pub fn new(checks: Vec<Check>) -> Result<Self> {
        let state = checks
            .iter()
            .map(|c| {
                Ok(match c {
                    Check::AllowedValues { values, .. } => {
                        State::Allowed(values.iter().cloned().collect())
                    }
                    Check::Regex { pattern, column } => {
                        State::Regex(Regex::new(pattern).map_err(|e| {
                            Error::invalid(
                                format!("regular expression of column {column:?}"),
                                pattern,
                                e.to_string(),
                            )
                        })?)
                    }
                    Check::Unique { columns } if columns.is_empty() => {
                        return Err(Error::invalid(
                            "unique check",
                            "no columns",
                            "at least one key column",
                        ));
                    }
                    Check::Unique { .. } => State::Unique {
                        converter: None,
                        first: HashMap::new(),
                    },
                    _ => State::None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let n = checks.len();
        Ok(Validator {
            checks,
            state,
            counts: vec![0; n],
            errors: vec![None; n],
            rows: 0,
            failures: Vec::new(),
            listed: vec![0; n],
            not_listed: 0,
            max_listed: 1_000,
        })
    }

    /// Lists at most `n` failures per check (default 1,000); the rest are counted.
    pub fn with_max_listed(mut self, n: usize) -> Self {
        self.max_listed = n;
        self
    }

    fn record(&mut self, check: usize, failure_case: Option<String>, row: Option<u64>) {
        if self.listed[check] >= self.max_listed {
            self.not_listed += 1;
            return;
        }
        self.listed[check] += 1;
        let c = &self.checks[check];
        let column = match c {
            Check::RowCount { .. } => None,
            Check::Unique { columns } => Some(columns.join(", ")),
            _ => Some(c.column().to_owned()).filter(|s| !s.is_empty()),
        };
        self.failures.push(Failure {
            schema_context: if matches!(c, Check::RowCount { .. }) {
                "Table"
            } else {
                "Column"
            },
            column,
            check: c.describe(),
            check_number: check,
            failure_case,
            row,
        });
    }

    /// A rule that cannot be judged (missing column, wrong type): recorded once.
    fn schema_failure(&mut self, check: usize, why: String) {
        if self.errors[check].is_none() {
            self.counts[check] = 1;
            self.record(check, Some(why.clone()), None);
            self.errors[check] = Some(why);
        }
    }

    /// Judges one batch; returns which rows failed which row rules. Only an invalid custom
    /// rule (wrong length, or its own error) is an error: every other problem is a failure
    /// in the report.
    pub fn check_batch(&mut self, batch: &RecordBatch) -> Result<BatchVerdict> {
        let n = batch.num_rows();
        let offset = self.rows;
        let mut verdict = BatchVerdict {
            rows: n,
            masks: Vec::new(),
        };
        for i in 0..self.checks.len() {
            let mask = match self.row_mask(i, batch, offset) {
                Ok(Some(mask)) => mask,
                Ok(None) => continue,
                Err(Judge::Unjudged(why)) => {
                    self.schema_failure(i, why);
                    continue;
                }
                Err(Judge::Fatal(e)) => return Err(e),
            };
            let bad: Vec<usize> = (0..n).filter(|&r| mask[r]).collect();
            if bad.is_empty() {
                continue;
            }
            self.counts[i] += bad.len() as u64;
            for &r in &bad {
                let case = self.failure_case(i, batch, r);
                self.record(i, case, Some(offset + r as u64));
            }
            verdict.masks.push((i, mask));
        }
        self.rows += n as u64;
        Ok(verdict)
    }

    /// The failing value of row `r` for check `i`, as text.
    fn failure_case(&self, i: usize, batch: &RecordBatch, r: usize) -> Option<String> {
        match &self.checks[i] {
            Check::Unique { columns } => {
                let parts: Vec<String> = columns
                    .iter()
                    .map(|c| {
                        batch
                            .column_by_name(c)
                            .and_then(|col| cell(col.as_ref(), r))
                            .unwrap_or_else(|| "null".into())
                    })
                    .collect();
                Some(if parts.len() == 1 {
                    parts[0].clone()
                } else {
                    format!("({})", parts.join(", "))
                })
            }
            Check::Custom { column: None, .. } => None,
            c => batch
                .column_by_name(c.column())
                .and_then(|col| cell(col.as_ref(), r)),
        }
    }

    /// Failing flags per row for a row rule; `None` for schema and table rules.
    fn row_mask(
        &mut self,
        i: usize,
        batch: &RecordBatch,
        offset: u64,
    ) -> std::result::Result<Option<Vec<bool>>, Judge> {
        let n = batch.num_rows();
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| Judge::Unjudged(format!("column {name:?} is missing")))
        };
        Ok(Some(match (&self.checks[i], &mut self.state[i]) {
            (Check::NotNull { column: c }, _) => {
                let col = column(c)?;
                (0..n).map(|r| col.is_null(r)).collect()
            }
            (
                Check::Range {
                    column: c,
                    min,
                    max,
                },
                _,
            ) => {
                let col = column(c)?;
                let value = as_f64(col.as_ref()).ok_or_else(|| {
                    Judge::Unjudged(format!(
                        "column {c:?} is {}, not a numeric type",
                        col.data_type()
                    ))
                })?;
                let (lo, hi) = (
                    min.unwrap_or(f64::NEG_INFINITY),
                    max.unwrap_or(f64::INFINITY),
                );
                (0..n)
                    .map(|r| col.is_null(r) || !(lo..=hi).contains(&value(r)))
                    .collect()
            }
            (Check::AllowedValues { column: c, .. }, State::Allowed(set)) => {
                let col = column(c)?;
                let text = strings(col.as_ref(), c)?;
                (0..n)
                    .map(|r| text(r).is_none_or(|s| !set.contains(s)))
                    .collect()
            }
            (Check::Regex { column: c, .. }, State::Regex(re)) => {
                let col = column(c)?;
                let text = strings(col.as_ref(), c)?;
                (0..n)
                    .map(|r| text(r).is_none_or(|s| !re.is_match(s)))
                    .collect()
            }
            (
                Check::Type {
                    column: c,
                    data_type,
                },
                _,
            ) => {
                let col = column(c)?;
                if col.data_type() != data_type {
                    return Err(Judge::Unjudged(format!(
                        "column {c:?} is {}, expected {data_type}",
                        col.data_type()
                    )));
                }
                return Ok(None);
            }
            (Check::Unique { columns }, State::Unique { converter, first }) => {
                let cols = columns
                    .iter()
                    .map(|c| column(c))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                if converter.is_none() {
                    let fields = cols
                        .iter()
                        .map(|c| SortField::new(c.data_type().clone()))
                        .collect();
                    *converter = Some(RowConverter::new(fields).map_err(|e| {
                        Judge::Unjudged(format!("key columns cannot be compared: {e}"))
                    })?);
                }
                let conv = converter
                    .as_ref()
                    .ok_or_else(|| Judge::Unjudged("key columns cannot be compared".into()))?;
                let rows = conv.convert_columns(&cols).map_err(|e| {
                    Judge::Unjudged(format!("key columns changed type between batches: {e}"))
                })?;
                (0..n)
                    .map(|r| {
                        let key: Box<[u8]> = rows.row(r).as_ref().into();
                        match first.get(&key) {
                            Some(_) => true,
                            None => {
                                first.insert(key, offset + r as u64);
                                false
                            }
                        }
                    })
                    .collect()
            }
            (Check::Custom { name, rule, .. }, _) => {
                let flags = (rule.0)(batch).map_err(Judge::Fatal)?;
                if flags.len() != n {
                    return Err(Judge::Fatal(Error::invalid(
                        format!("custom check {name:?}"),
                        format!("{} flags", flags.len()),
                        format!("one per row ({n})"),
                    )));
                }
                (0..n)
                    .map(|r| flags.is_null(r) || !flags.value(r))
                    .collect()
            }
            (Check::RowCount { .. }, _) => return Ok(None),
            _ => return Ok(None),
        }))
    }

    /// Ends the stream: judges table rules and returns the report.
    pub fn finish(mut self) -> ValidationReport {
        for i in 0..self.checks.len() {
            if let Check::RowCount { min, max } = self.checks[i] {
                let ok = min.is_none_or(|m| self.rows >= m) && max.is_none_or(|m| self.rows <= m);
                if !ok {
                    self.counts[i] = 1;
                    let rows = self.rows.to_string();
                    self.record(i, Some(rows), None);
                }
            }
        }
        let rows = self.rows;
        let checks = self
            .checks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let row_rule = !matches!(c, Check::RowCount { .. } | Check::Type { .. })
                    && self.errors[i].is_none();
                CheckSummary {
                    check: c.describe(),
                    column: Some(c.column().to_owned()).filter(|s| !s.is_empty()),
                    failures: self.counts[i],
                    percent: if row_rule && rows > 0 {
                        100.0 * self.counts[i] as f64 / rows as f64
                    } else {
                        0.0
                    },
                    passed: self.counts[i] == 0,
                    error: self.errors[i].clone(),
                }
            })
            .collect();
        ValidationReport {
            rows,
            checks,
            failures: self.failures,
            failures_not_listed: self.not_listed,
        }
    }
}

/// Why a rule gave no row verdict.
enum Judge {
    /// The rule cannot be judged on this data (a failure in the report).
    Unjudged(String),
    /// The rule itself is broken (an error).
    Fatal(Error),
}

/// Reads row `r` of a string column (`None` for a null).
type TextAt<'a> = Box<dyn Fn(usize) -> Option<&'a str> + 'a>;

/// Row accessor of a string column.
fn strings<'a>(col: &'a dyn Array, name: &str) -> std::result::Result<TextAt<'a>, Judge> {
    Ok(match col.data_type() {
        DataType::Utf8 => {
            let a = col.as_string::<i32>();
            Box::new(move |r| a.is_valid(r).then(|| a.value(r)))
        }
        DataType::LargeUtf8 => {
            let a = col.as_string::<i64>();
            Box::new(move |r| a.is_valid(r).then(|| a.value(r)))
        }
        DataType::Utf8View => {
            let a = col.as_string_view();
            Box::new(move |r| a.is_valid(r).then(|| a.value(r)))
        }
        other => {
            return Err(Judge::Unjudged(format!(
                "column {name:?} is {other}, not a string type"
            )));
        }
    })
}

/// One cell as text (`None` for a null).
fn cell(col: &dyn Array, r: usize) -> Option<String> {
    if col.is_null(r) {
        return None;
    }
    macro_rules! prim {
        ($t:ty) => {
            col.as_primitive::<$t>().value(r).to_string()
        };
    }
    Some(match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().value(r).to_owned(),
        DataType::LargeUtf8 => col.as_string::<i64>().value(r).to_owned(),
        DataType::Utf8View => col.as_string_view().value(r).to_owned(),
        DataType::Boolean => col.as_boolean().value(r).to_string(),
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Float32 => prim!(Float32Type),
        DataType::Float64 => prim!(Float64Type),
        DataType::Timestamp(unit, _) => {
            let v = match unit {
                arrow_schema::TimeUnit::Second => prim!(TimestampSecondType),
                arrow_schema::TimeUnit::Millisecond => prim!(TimestampMillisecondType),
                arrow_schema::TimeUnit::Microsecond => prim!(TimestampMicrosecondType),
                arrow_schema::TimeUnit::Nanosecond => prim!(TimestampNanosecondType),
            };
            format!("{v} ({unit:?} since the epoch)")
        }
        DataType::Date32 => format!("{} (days since the epoch)", prim!(Date32Type)),
        other => format!("<{other}>"),
    })
}

/// Validates a stream of batches, writing the rows that pass every row rule to `clean` and
/// the others to `quarantine` with an extra [`FAILED_CHECKS`] column naming the failed
/// rules; both files are written atomically (nothing appears if anything fails). Table and
/// schema rules do not move rows: check [`ValidationReport::passed`] before using `clean`.
pub fn validate_into<I>(
    batches: I,
    checks: Vec<Check>,
    clean: &Path,
    quarantine: &Path,
    options: WriteOptions,
) -> Result<ValidationReport>
where
    I: IntoIterator<Item = Result<RecordBatch>>,
{
    let mut validator = Validator::new(checks)?;
    let mut writers: Option<(AtomicParquetWriter, AtomicParquetWriter, Arc<Schema>)> = None;
    for batch in batches {
        let batch = batch?;
        if writers.is_none() {
            let schema = batch.schema();
            let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
            fields.push(Arc::new(Field::new(FAILED_CHECKS, DataType::Utf8, false)));
            let qschema = Arc::new(Schema::new(fields));
            writers = Some((
                AtomicParquetWriter::create(clean, &schema, options)?,
                AtomicParquetWriter::create(quarantine, &qschema, options)?,
                qschema,
            ));
        }
        let Some((good, bad, qschema)) = writers.as_mut() else {
            continue;
        };
        let verdict = validator.check_batch(&batch)?;
        let passed = verdict.passed();
        let filter = |mask: &BooleanArray| {
            arrow_select::filter::filter_record_batch(&batch, mask)
                .map_err(|e| Error::invalid("validated batch", "filter", e.to_string()))
        };
        good.write(&filter(&passed)?)?;
        if verdict.failing_rows() > 0 {
            let failed: BooleanArray = passed.iter().map(|v| v.map(|b| !b)).collect();
            let rows = filter(&failed)?;
            let reasons: StringArray = (0..batch.num_rows())
                .filter(|&r| !passed.value(r))
                .map(|r| {
                    let names: Vec<String> = verdict
                        .failed_checks(r)
                        .into_iter()
                        .map(|c| validator.checks[c].describe())
                        .collect();
                    Some(names.join("; "))
                })
                .collect();
            let mut cols = rows.columns().to_vec();
            cols.push(Arc::new(reasons));
            let q = RecordBatch::try_new(qschema.clone(), cols)
                .map_err(|e| Error::invalid("quarantine batch", "columns", e.to_string()))?;
            bad.write(&q)?;
        }
    }
    let (good, bad, _) = writers.ok_or_else(|| {
        Error::invalid(
            "batches to validate",
            "none",
            "at least one batch (the files need a schema)",
        )
    })?;
    good.commit()?;
    bad.commit()?;
    Ok(validator.finish())
}

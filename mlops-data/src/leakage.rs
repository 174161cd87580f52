//! Time-based splits with a gap, and the leakage report of a split: entities present in more
//! than one split, rows repeated across splits, and the label distribution of each split.

use std::collections::{BTreeMap, HashMap, HashSet};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_row::{RowConverter, SortField};
use arrow_schema::{DataType, TimeUnit};
use mlops_core::{Error, Result};
use xxhash_rust::xxh3::xxh3_128;

/// A split by time: train before `train_end`, eval from `train_end + gap` to `eval_end`,
/// test from `eval_end + gap`; rows inside a gap are dropped so that nothing measured on
/// eval or test is adjacent to training data. Times are in the column's own unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeSplit {
    /// End of training (exclusive).
    pub train_end: i64,
    /// End of eval (exclusive).
    pub eval_end: i64,
    /// Width of each gap.
    pub gap: i64,
}

impl TimeSplit {
    /// Splits a batch by its time column (Int64 or a microsecond timestamp); rows keep their
    /// order. Returns `[train, eval, test]`.
    pub fn split_batch(&self, batch: &RecordBatch, column: &str) -> Result<[RecordBatch; 3]> {
        if self.gap < 0 || self.train_end.saturating_add(self.gap) > self.eval_end {
            return Err(Error::invalid(
                "time split",
                format!("{self:?}"),
                "a gap of 0 or more and train_end + gap <= eval_end",
            ));
        }
        let col = batch
            .column_by_name(column)
            .ok_or_else(|| Error::invalid("time column", column, "a column of the batch"))?;
        let times: Vec<Option<i64>> = match col.data_type() {
            DataType::Int64 => col.as_primitive::<Int64Type>().iter().collect(),
            DataType::Timestamp(TimeUnit::Microsecond, _) => col
                .as_primitive::<TimestampMicrosecondType>()
                .iter()
                .collect(),
            other => {
                return Err(Error::invalid(
                    format!("type of time column {column:?}"),
                    other.to_string(),
                    "Int64 or Timestamp(Microsecond)",
                ));
            }
        };
        let which = |t: i64| -> Option<usize> {
            if t < self.train_end {
                Some(0)
            } else if t >= self.train_end + self.gap && t < self.eval_end {
                Some(1)
            } else if t >= self.eval_end + self.gap {
                Some(2)
            } else {
                None
            }
        };
        let assigned: Vec<Option<usize>> = times.iter().map(|t| t.and_then(which)).collect();
        let pick = |s: usize| {
            let mask =
                BooleanArray::from(assigned.iter().map(|a| *a == Some(s)).collect::<Vec<_>>());
            arrow_select::filter::filter_record_batch(batch, &mask)
                .map_err(|e| Error::invalid("batch", column, e.to_string()))
        };
        Ok([pick(0)?, pick(1)?, pick(2)?])
    }
}

/// What a split leaks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeakageReport {
    /// Distinct entities per split.
    pub entities: [u64; 3],
    /// Entities found in two splits: `(train, eval)`, `(train, test)`, `(eval, test)`.
    pub entity_overlap: [u64; 3],
    /// Rows of eval and test that are exact copies of a training row.
    pub duplicate_rows: [u64; 2],
    /// Label counts per split (label as text).
    pub labels: [BTreeMap<String, u64>; 3],
    /// Rows of eval and test whose text near-duplicates a training text (MinHash-LSH; 0 when
    /// not asked for, see [`leakage_report_with_text`]).
    pub near_duplicate_rows: [u64; 2],
}

impl LeakageReport {
    /// True when no entity crosses splits and no eval or test row repeats (or nearly repeats)
    /// a training row.
    pub fn is_clean(&self) -> bool {
        self.entity_overlap == [0; 3]
            && self.duplicate_rows == [0; 2]
            && self.near_duplicate_rows == [0; 2]
    }
}

fn keys(batches: &[RecordBatch], column: &str) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    for b in batches {
        let col = b
            .column_by_name(column)
            .ok_or_else(|| Error::invalid("entity column", column, "a column of every split"))?;
        match col.data_type() {
            DataType::Int64 => out.extend(
                col.as_primitive::<Int64Type>()
                    .iter()
                    .flatten()
                    .map(|v| v.to_string()),
            ),
            DataType::Utf8 => {
                out.extend(col.as_string::<i32>().iter().flatten().map(str::to_owned))
            }
            DataType::LargeUtf8 => {
                out.extend(col.as_string::<i64>().iter().flatten().map(str::to_owned))
            }
            other => {
                return Err(Error::invalid(
                    format!("type of entity column {column:?}"),
                    other.to_string(),
                    "Int64 or a string type",
                ));
            }
        }
    }
    Ok(out)
}

fn label_counts(batches: &[RecordBatch], column: &str) -> Result<BTreeMap<String, u64>> {
    let mut out: HashMap<String, u64> = HashMap::new();
    for b in batches {
        let col = b
            .column_by_name(column)
            .ok_or_else(|| Error::invalid("label column", column, "a column of every split"))?;
        for i in 0..col.len() {
            let key = if col.is_null(i) {
                "null".to_owned()
            } else {
                label_text(col.as_ref(), i)
            };
            *out.entry(key).or_default() += 1;
        }
    }
    Ok(out.into_iter().collect())
}

/// A label as text: integers, strings and booleans as themselves, other types by debug form.
fn label_text(col: &dyn Array, i: usize) -> String {
    match col.data_type() {
        DataType::Int64 => col.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::Utf8 => col.as_string::<i32>().value(i).to_owned(),
        DataType::Boolean => col.as_boolean().value(i).to_string(),
        _ => format!("{:?}", col.slice(i, 1)),
    }
}

fn row_hashes(batches: &[RecordBatch]) -> Result<Vec<u128>> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let fields = first
        .schema()
        .fields()
        .iter()
        .map(|f| SortField::new(f.data_type().clone()))
        .collect();
    let converter = RowConverter::new(fields)
        .map_err(|e| Error::NotSupported(format!("hashing rows of this schema: {e}")))?;
    let mut out = Vec::new();
    for b in batches {
        let rows = converter
            .convert_columns(b.columns())
            .map_err(|e| Error::invalid("split batch", "columns", e.to_string()))?;
        out.extend(rows.iter().map(|r| xxh3_128(r.as_ref())));
    }
    Ok(out)
}

/// The leakage report of `[train, eval, test]` for an entity column and a label column.
pub fn leakage_report(
    splits: [&[RecordBatch]; 3],
    entity: &str,
    label: &str,
) -> Result<LeakageReport> {
    let k = [
        keys(splits[0], entity)?,
        keys(splits[1], entity)?,
        keys(splits[2], entity)?,
    ];
    let train_rows: HashSet<u128> = row_hashes(splits[0])?.into_iter().collect();
    let dup = |s: &[RecordBatch]| -> Result<u64> {
        Ok(row_hashes(s)?
            .iter()
            .filter(|h| train_rows.contains(h))
            .count() as u64)
    };
    Ok(LeakageReport {
        entities: [k[0].len() as u64, k[1].len() as u64, k[2].len() as u64],
        entity_overlap: [
            k[0].intersection(&k[1]).count() as u64,
            k[0].intersection(&k[2]).count() as u64,
            k[1].intersection(&k[2]).count() as u64,
        ],
        duplicate_rows: [dup(splits[1])?, dup(splits[2])?],
        labels: [
            label_counts(splits[0], label)?,
            label_counts(splits[1], label)?,
            label_counts(splits[2], label)?,
        ],
        near_duplicate_rows: [0; 2],
    })
}

/// [`leakage_report`] plus near-duplicate texts across splits: eval and test rows whose
/// `text` column near-duplicates a training text under `options` (a paraphrased question in
/// the test set of a language model is leakage too).
pub fn leakage_report_with_text(
    splits: [&[RecordBatch]; 3],
    entity: &str,
    label: &str,
    text: &str,
    options: crate::near_dup::MinHashOptions,
) -> Result<LeakageReport> {
    let mut report = leakage_report(splits, entity, label)?;
    let texts = |batches: &[RecordBatch]| -> Result<Vec<Option<String>>> {
        let mut out = Vec::new();
        for b in batches {
            let col = b
                .column_by_name(text)
                .ok_or_else(|| Error::invalid("text column", text, "a column of every split"))?;
            match col.data_type() {
                DataType::Utf8 => {
                    out.extend(col.as_string::<i32>().iter().map(|v| v.map(str::to_owned)))
                }
                DataType::LargeUtf8 => {
                    out.extend(col.as_string::<i64>().iter().map(|v| v.map(str::to_owned)))
                }
                other => {
                    return Err(Error::invalid(
                        format!("type of text column {text:?}"),
                        other.to_string(),
                        "a string type",
                    ));
                }
            }
        }
        Ok(out)
    };
    let mut index = crate::near_dup::NearDupIndex::new(options)?;
    for t in texts(splits[0])?.iter().flatten() {
        index.push(t);
    }
    for (slot, split) in report
        .near_duplicate_rows
        .iter_mut()
        .zip([splits[1], splits[2]])
    {
        *slot = texts(split)?
            .iter()
            .flatten()
            .filter(|t| index.query(t).is_some())
            .count() as u64;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::Int64Array;
    use arrow_schema::{Field, Schema};

    use super::*;
    use crate::HashSplit;

    fn table(users: Vec<i64>, ts: Vec<i64>, labels: Vec<i64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("user", DataType::Int64, false),
            Field::new("ts", DataType::Int64, false),
            Field::new("label", DataType::Int64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(users)),
                Arc::new(Int64Array::from(ts)),
                Arc::new(Int64Array::from(labels)),
            ],
        )
        .unwrap()
    }

    #[test]
    fn a_hash_split_is_clean_and_a_time_split_leaks_users() {
        let n = 3000i64;
        let b = table(
            (0..n).map(|i| i % 300).collect(),
            (0..n).collect(),
            (0..n).map(|i| i % 2).collect(),
        );
        let [tr, ev, te] = HashSplit::default().split_batch(&b, "user").unwrap();
        let r = leakage_report([&[tr], &[ev], &[te]], "user", "label").unwrap();
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(r.entities.iter().sum::<u64>(), 300);

        let time = TimeSplit {
            train_end: 2000,
            eval_end: 2500,
            gap: 100,
        };
        let [tr, ev, te] = time.split_batch(&b, "ts").unwrap();
        assert_eq!(
            (tr.num_rows(), ev.num_rows(), te.num_rows()),
            (2000, 400, 400)
        );
        let r = leakage_report([&[tr], &[ev], &[te]], "user", "label").unwrap();
        assert!(
            r.entity_overlap[0] > 0 && !r.is_clean(),
            "users recur over time: {r:?}"
        );
        assert_eq!(r.labels[1]["0"] + r.labels[1]["1"], 400);
        assert!(
            TimeSplit {
                train_end: 10,
                eval_end: 5,
                gap: 1
            }
            .split_batch(&b, "ts")
            .is_err()
        );
    }

    #[test]
    fn copied_rows_across_splits_are_counted() {
        let train = table(vec![1, 2], vec![10, 20], vec![0, 1]);
        let test = table(vec![2, 3], vec![20, 30], vec![1, 0]);
        let r = leakage_report([&[train], &[], &[test]], "user", "label").unwrap();
        assert_eq!(r.duplicate_rows, [0, 1]);
        assert_eq!(r.entity_overlap, [0, 1, 0]);
    }

    #[test]
    fn paraphrased_texts_across_splits_are_counted() {
        let t = |texts: &[&str]| {
            RecordBatch::try_from_iter([
                (
                    "user",
                    Arc::new(Int64Array::from_iter_values(0..texts.len() as i64)) as _,
                ),
                (
                    "label",
                    Arc::new(Int64Array::from(vec![0; texts.len()])) as _,
                ),
                (
                    "question",
                    Arc::new(arrow_array::StringArray::from(texts.to_vec())) as _,
                ),
            ])
            .unwrap()
        };
        let train = t(&[
            "how do I reset the password of my account on the mobile app",
            "what is the price of the premium plan per month in euros",
        ]);
        // Users differ (no entity overlap), but one eval question is the first training
        // question with different case and spacing and one word changed.
        let eval = t(&["How do I reset the  password of my account on the MOBILE app please"]);
        let test = t(&["where can I download my invoices for the last twelve months"]);
        let opts = crate::near_dup::MinHashOptions::for_threshold(
            0.6,
            128,
            crate::near_dup::Shingle::Words(2),
            1,
        );
        let mut splits = [vec![train], vec![eval], vec![test]];
        // Distinct users per split.
        for (i, s) in splits.iter_mut().enumerate() {
            let b = &s[0];
            let users =
                Int64Array::from_iter_values((0..b.num_rows() as i64).map(|u| u + 100 * i as i64));
            let mut cols = b.columns().to_vec();
            cols[0] = Arc::new(users);
            s[0] = RecordBatch::try_new(b.schema(), cols).unwrap();
        }
        let r = leakage_report_with_text(
            [&splits[0], &splits[1], &splits[2]],
            "user",
            "label",
            "question",
            opts,
        )
        .unwrap();
        assert_eq!(r.entity_overlap, [0; 3]);
        assert_eq!(r.duplicate_rows, [0, 0]);
        assert_eq!(r.near_duplicate_rows, [1, 0]);
        assert!(!r.is_clean());
    }
}

//! Deterministic, leakage-free splits by hashing a key: every row of an entity (a user, a
//! session) lands in the same split, on every machine, thread count and version.
//!
//! The hash is frozen: XXH64 with seed 0 over the key's bytes (an integer key as its 8
//! little-endian bytes, a string key as its UTF-8 bytes), then `mod 100` as an unsigned
//! 64-bit number. This is the split of `BENCHMARKS.md` (W-DATA), so peers agree row by row;
//! `fixtures/split_golden.json` (made by Python's `xxhash` package) holds the membership of
//! integer and string keys. [`StratifiedSplit`] splits each label value in the same
//! proportions with the same frozen hash.

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_schema::DataType;
use mlops_core::{Error, Result};
use xxhash_rust::xxh64::xxh64;

/// The bucket (0..100) of an integer key.
pub fn bucket_i64(key: i64, seed: u64) -> u64 {
    xxh64(&key.to_le_bytes(), seed) % 100
}

/// The bucket (0..100) of a string key.
pub fn bucket_str(key: &str, seed: u64) -> u64 {
    xxh64(key.as_bytes(), seed) % 100
}

/// One of the three splits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// Training rows.
    Train,
    /// Validation rows.
    Eval,
    /// Held-out test rows.
    Test,
}

/// Percentages of buckets per split and the hash seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashSplit {
    /// Buckets `0..train` go to training (default 80).
    pub train: u64,
    /// Buckets `train..train + eval` go to eval (default 10); the rest to test.
    pub eval: u64,
    /// XXH64 seed (default 0).
    pub seed: u64,
}

impl Default for HashSplit {
    fn default() -> Self {
        HashSplit {
            train: 80,
            eval: 10,
            seed: 0,
        }
    }
}

impl HashSplit {
    /// A split with `train`% and `eval`% of the buckets; the rest is test.
    pub fn new(train: u64, eval: u64) -> Result<Self> {
        if train + eval > 100 {
            return Err(Error::invalid(
                "split percentages",
                format!("train {train} + eval {eval}"),
                "at most 100 in total",
            ));
        }
        Ok(HashSplit {
            train,
            eval,
            seed: 0,
        })
    }

    /// The split of a bucket.
    pub fn of_bucket(&self, bucket: u64) -> Split {
        if bucket < self.train {
            Split::Train
        } else if bucket < self.train + self.eval {
            Split::Eval
        } else {
            Split::Test
        }
    }

    /// Splits a batch by its key column (Int64 or string); rows keep their order. A null key
    /// is an error naming the row.
    pub fn split_batch(&self, batch: &RecordBatch, key: &str) -> Result<[RecordBatch; 3]> {
        let col = batch
            .column_by_name(key)
            .ok_or_else(|| Error::invalid("split key column", key, "a column of the batch"))?;
        if let Some(row) = (0..col.len()).find(|&r| col.is_null(r)) {
            return Err(Error::invalid(
                format!("split key {key:?} at row {row}"),
                "null",
                "a non-null key",
            ));
        }
        let splits: Vec<Split> = match col.data_type() {
            DataType::Int64 => col
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .map(|&k| self.of_bucket(bucket_i64(k, self.seed)))
                .collect(),
            DataType::Utf8 => col
                .as_string::<i32>()
                .iter()
                .map(|k| self.of_bucket(bucket_str(k.unwrap_or(""), self.seed)))
                .collect(),
            DataType::LargeUtf8 => col
                .as_string::<i64>()
                .iter()
                .map(|k| self.of_bucket(bucket_str(k.unwrap_or(""), self.seed)))
                .collect(),
            other => {
                return Err(Error::invalid(
                    format!("type of split key column {key:?}"),
                    other.to_string(),
                    "Int64 or a string type",
                ));
            }
        };
        let pick = |s: Split| -> Result<RecordBatch> {
            let mask = BooleanArray::from(splits.iter().map(|&x| x == s).collect::<Vec<_>>());
            arrow_select::filter::filter_record_batch(batch, &mask)
                .map_err(|e| Error::invalid("batch", key, e.to_string()))
        };
        Ok([pick(Split::Train)?, pick(Split::Eval)?, pick(Split::Test)?])
    }
}

/// A stratified split: every label value (stratum) is split in the same proportions, so a
/// rare class is represented in every split.
///
/// Within a stratum, rows are ranked by the frozen hash of their key (XXH64 with the seed
/// over the key's bytes, as [`HashSplit`]; ties by the key's bytes, then by row order) and
/// the first `round(n · train)` go to train, the next `round(n · eval)` to eval and the rest
/// to test (`round` is half away from zero). Membership depends only on the keys, labels and
/// seed: not on row order, batch sizes, threads or machines. The key should identify a row
/// (or a group whose rows share one label); for entities whose rows carry several labels
/// use [`HashSplit`], which never splits an entity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StratifiedSplit {
    /// Share of each stratum in train (default 0.8).
    pub train: f64,
    /// Share of each stratum in eval (default 0.1); the rest is test.
    pub eval: f64,
    /// XXH64 seed (default 0).
    pub seed: u64,
}

impl Default for StratifiedSplit {
    fn default() -> Self {
        StratifiedSplit {
            train: 0.8,
            eval: 0.1,
            seed: 0,
        }
    }
}

/// A key's hash and bytes, for ranking.
fn key_bytes(col: &dyn Array, row: usize) -> Vec<u8> {
    match col.data_type() {
        DataType::Int64 => col
            .as_primitive::<Int64Type>()
            .value(row)
            .to_le_bytes()
            .to_vec(),
        DataType::Utf8 => col.as_string::<i32>().value(row).as_bytes().to_vec(),
        _ => col.as_string::<i64>().value(row).as_bytes().to_vec(),
    }
}

impl StratifiedSplit {
    /// Splits a table by `label`'s strata, ranking rows by `key`; rows keep their order
    /// within each split. Null keys or labels are errors naming the row.
    pub fn split_batch(
        &self,
        batch: &RecordBatch,
        key: &str,
        label: &str,
    ) -> Result<[RecordBatch; 3]> {
        if !(self.train >= 0.0 && self.eval >= 0.0 && self.train + self.eval <= 1.0 + 1e-12) {
            return Err(Error::invalid(
                "stratified split shares",
                format!("train {} + eval {}", self.train, self.eval),
                "non-negative shares summing to at most 1",
            ));
        }
        let column = |name: &str, what: &str| -> Result<&arrow_array::ArrayRef> {
            let col = batch.column_by_name(name).ok_or_else(|| {
                Error::invalid(format!("{what} column"), name, "a column of the batch")
            })?;
            if let Some(row) = (0..col.len()).find(|&r| col.is_null(r)) {
                return Err(Error::invalid(
                    format!("{what} {name:?} at row {row}"),
                    "null",
                    format!("a non-null {what}"),
                ));
            }
            Ok(col)
        };
        let keys = column(key, "split key")?;
        if !matches!(
            keys.data_type(),
            DataType::Int64 | DataType::Utf8 | DataType::LargeUtf8
        ) {
            return Err(Error::invalid(
                format!("type of split key column {key:?}"),
                keys.data_type().to_string(),
                "Int64 or a string type",
            ));
        }
        let labels = column(label, "label")?;
        let strata = arrow_row::RowConverter::new(vec![arrow_row::SortField::new(
            labels.data_type().clone(),
        )])
        .and_then(|c| {
            c.convert_columns(std::slice::from_ref(labels))
                .map(|r| (c, r))
        })
        .map_err(|e| Error::invalid("label column", label, e.to_string()))?
        .1;
        let mut by_stratum: std::collections::BTreeMap<Vec<u8>, Vec<usize>> = Default::default();
        for r in 0..batch.num_rows() {
            by_stratum
                .entry(strata.row(r).as_ref().to_vec())
                .or_default()
                .push(r);
        }
        let mut assign = vec![Split::Test; batch.num_rows()];
        for rows in by_stratum.values() {
            let mut ranked: Vec<(u64, Vec<u8>, usize)> = rows
                .iter()
                .map(|&r| {
                    let b = key_bytes(keys.as_ref(), r);
                    (xxh64(&b, self.seed), b, r)
                })
                .collect();
            ranked.sort_unstable();
            let n = ranked.len() as f64;
            let n_train = (n * self.train).round() as usize;
            let n_eval =
                ((n * self.eval).round() as usize).min(ranked.len() - n_train.min(ranked.len()));
            for (i, (_, _, r)) in ranked.iter().enumerate() {
                assign[*r] = if i < n_train {
                    Split::Train
                } else if i < n_train + n_eval {
                    Split::Eval
                } else {
                    Split::Test
                };
            }
        }
        let pick = |s: Split| -> Result<RecordBatch> {
            let mask = BooleanArray::from(assign.iter().map(|&x| x == s).collect::<Vec<_>>());
            arrow_select::filter::filter_record_batch(batch, &mask)
                .map_err(|e| Error::invalid("batch", label, e.to_string()))
        };
        Ok([pick(Split::Train)?, pick(Split::Eval)?, pick(Split::Test)?])
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::Int64Array;
    use arrow_schema::{Field, Schema};

    use super::*;

    #[test]
    fn matches_the_benchmark_test_vectors() {
        for (user, hash, bucket) in [
            (0i64, 0x34c96acdcadb1bbbu64, 79u64),
            (1, 0x9f29cb17a2a49995, 69),
            (-1, 0x85d136adb773c6c9, 61),
            (1_000_000, 0xf126194744ecba1e, 50),
            (1_012_345, 0x55b662b3cb77b9e4, 4),
            (1_099_999, 0xbec774272a2c9a10, 40),
        ] {
            assert_eq!(xxh64(&user.to_le_bytes(), 0), hash, "user {user}");
            assert_eq!(bucket_i64(user, 0), bucket, "user {user}");
        }
    }

    #[test]
    fn an_entity_never_crosses_splits() {
        let users: Vec<i64> = (0..5000).map(|i| i % 700).collect();
        let schema = Arc::new(Schema::new(vec![Field::new(
            "user_id",
            DataType::Int64,
            false,
        )]));
        let b = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(users))]).unwrap();
        let parts = HashSplit::default().split_batch(&b, "user_id").unwrap();
        assert_eq!(parts.iter().map(|p| p.num_rows()).sum::<usize>(), 5000);
        let ids = |p: &RecordBatch| -> std::collections::HashSet<i64> {
            p.column(0)
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .copied()
                .collect()
        };
        let (tr, ev, te) = (ids(&parts[0]), ids(&parts[1]), ids(&parts[2]));
        assert!(tr.is_disjoint(&ev) && tr.is_disjoint(&te) && ev.is_disjoint(&te));
        assert!(HashSplit::default().split_batch(&b, "nope").is_err());
        assert!(HashSplit::new(90, 20).is_err());
    }
}

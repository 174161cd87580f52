//! Deterministic, leakage-free splits by hashing a key: every row of an entity (a user, a
//! session) lands in the same split, on every machine, thread count and version.
//!
//! The hash is frozen: XXH64 with seed 0 over the key's bytes (an integer key as its 8
//! little-endian bytes, a string key as its UTF-8 bytes), then `mod 100` as an unsigned
//! 64-bit number. This is the split of `BENCHMARKS.md` (W-DATA), so peers agree row by row.

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

//! Exact deduplication, keep-first, streaming: each row is identified by a 128-bit digest of
//! its values (equal values give equal digests; a null equals a null, and differs from every
//! value), so memory grows with the number of distinct rows (16 bytes each), not with the
//! data. Kept rows stay in input order.
//!
//! The digest is computed column by column, without building rows: each value is hashed with
//! XXH3 (strings, and fixed-width values by their little-endian bytes; floats by their bits,
//! so `-0.0` and `0.0` differ, as Arrow's row format has them) into two 64-bit lanes seeded by
//! the column's position, and the lanes are folded into the row's state with multiply-rotate
//! steps. Columns of other types are hashed through Arrow's canonical row format. Two distinct
//! rows share a digest with probability about 2⁻¹²⁸.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{BooleanArray, RecordBatch};
use arrow_row::{RowConverter, SortField};
use arrow_schema::SchemaRef;
use arrow_schema::{DataType, TimeUnit};
use mlops_core::{Error, Result};
use xxhash_rust::xxh3::{xxh3_64_with_seed, xxh3_128_with_seed};

/// Batches with at least this many rows per thread are hashed in parallel.
const PARALLEL_MIN_ROWS: usize = 32_768;

/// What deduplication removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DedupReport {
    /// Rows seen.
    pub rows_in: u64,
    /// Rows kept (first occurrences).
    pub rows_kept: u64,
    /// Rows removed as repeats of an earlier row.
    pub rows_removed: u64,
}

/// The keys are XXH3-128 digests, already uniform: the set hashes them by their low bits
/// instead of running SipHash over them again.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u128 keys are hashed; fold any other input anyway.
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(29) ^ u64::from_le_bytes(b);
        }
    }

    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

/// A streaming keep-first deduplicator over whole rows.
pub struct Dedup {
    schema: SchemaRef,
    /// Row-format converters for the columns the digest does not hash directly.
    fallback: Vec<Option<RowConverter>>,
    seen: HashSet<u128, BuildHasherDefault<DigestHasher>>,
    report: DedupReport,
}

impl std::fmt::Debug for Dedup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dedup")
            .field("report", &self.report)
            .finish()
    }
}

impl Dedup {
    /// A deduplicator for batches of `schema`.
    pub fn new(schema: SchemaRef) -> Result<Self> {
        let fallback = schema
            .fields()
            .iter()
            .map(|f| {
                if hashed_directly(f.data_type()) {
                    Ok(None)
                } else {
                    RowConverter::new(vec![SortField::new(f.data_type().clone())])
                        .map(Some)
                        .map_err(|e| {
                            Error::NotSupported(format!(
                                "deduplicating column {:?} of type {}: {e}",
                                f.name(),
                                f.data_type()
                            ))
                        })
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Dedup {
            schema,
            fallback,
            seen: HashSet::default(),
            report: DedupReport::default(),
        })
    }

    /// Returns the rows of `batch` not seen before (in this batch or earlier ones).
    pub fn push(&mut self, batch: &RecordBatch) -> Result<RecordBatch> {
        if batch.schema().fields() != self.schema.fields() {
            return Err(Error::invalid(
                "record batch schema",
                format!("{:?}", batch.schema()),
                format!("the deduplicator's schema {:?}", self.schema),
            ));
        }
        let hashes = self.row_hashes(batch)?;
        self.seen.reserve(hashes.len());
        let keep: Vec<bool> = hashes.into_iter().map(|h| self.seen.insert(h)).collect();
        let kept = keep.iter().filter(|&&k| k).count() as u64;
        self.report.rows_in += batch.num_rows() as u64;
        self.report.rows_kept += kept;
        self.report.rows_removed += batch.num_rows() as u64 - kept;
        if kept == batch.num_rows() as u64 {
            return Ok(batch.clone());
        }
        arrow_select::filter::filter_record_batch(batch, &BooleanArray::from(keep))
            .map_err(|e| Error::invalid("record batch", "filter", e.to_string()))
    }

    /// The 128-bit digest of every row; large batches are hashed on all cores, in slices,
    /// and the digests come back in row order.
    fn row_hashes(&self, batch: &RecordBatch) -> Result<Vec<u128>> {
        let hash_slice = |b: &RecordBatch| -> Result<Vec<u128>> { self.digest_rows(b) };
        let n = batch.num_rows();
        let threads = std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .min(n / PARALLEL_MIN_ROWS)
            .max(1);
        if threads == 1 {
            return hash_slice(batch);
        }
        let per = n.div_ceil(threads);
        let parts: Vec<Result<Vec<u128>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let start = (t * per).min(n);
                    let slice = batch.slice(start, per.min(n - start));
                    scope.spawn(move || hash_slice(&slice))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Closed("a hashing thread panicked".into())))
                })
                .collect()
        });
        let mut out = Vec::with_capacity(n);
        for p in parts {
            out.extend(p?);
        }
        Ok(out)
    }

    /// Folds every column into the rows' two-lane state, then finalises the digests.
    fn digest_rows(&self, batch: &RecordBatch) -> Result<Vec<u128>> {
        let n = batch.num_rows();
        let mut state = vec![(0x9E37_79B9_7F4A_7C15u64, 0xC2B2_AE3D_27D4_EB4Fu64); n];
        for (c, col) in batch.columns().iter().enumerate() {
            let seed = c as u64;
            if let Some(conv) = &self.fallback[c] {
                let rows = conv
                    .convert_columns(std::slice::from_ref(col))
                    .map_err(|e| Error::invalid("record batch", "columns", e.to_string()))?;
                for (st, row) in state.iter_mut().zip(rows.iter()) {
                    let h = xxh3_128_with_seed(row.as_ref(), seed);
                    fold(st, h as u64, (h >> 64) as u64);
                }
            } else {
                fold_column(col.as_ref(), seed, &mut state);
            }
        }
        Ok(state
            .into_iter()
            .map(|(a, b)| ((fmix64(a) as u128) << 64) | fmix64(b ^ a.rotate_left(17)) as u128)
            .collect())
    }

    /// Counts so far.
    pub fn report(&self) -> DedupReport {
        self.report
    }
}

/// MurmurHash3's 64-bit finaliser.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// Folds one value's two lanes into a row's state.
#[inline]
fn fold(st: &mut (u64, u64), h1: u64, h2: u64) {
    st.0 = (st.0 ^ h1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(31);
    st.1 = (st.1 ^ h2)
        .wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        .rotate_left(27);
}

/// The lanes of a null in column `seed` (distinct from every value's lanes but by chance).
const NULL_LANES: (u64, u64) = (0x5555_0000_AAAA_FFFF, 0x0F0F_F0F0_3C3C_C3C3);

/// Whether [`fold_column`] hashes values of this type directly.
fn hashed_directly(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float32
            | DataType::Float64
            | DataType::Date32
            | DataType::Date64
            | DataType::Timestamp(_, _)
            | DataType::Boolean
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
    )
}

/// Folds a column of a supported type into the rows' states; `false` for other types.
fn fold_column(col: &dyn Array, seed: u64, state: &mut [(u64, u64)]) -> bool {
    let (s1, s2) = (seed.wrapping_mul(2) + 1, seed.wrapping_mul(2) + 2);
    let nulls = col.logical_nulls();
    let valid = |r: usize| nulls.as_ref().is_none_or(|b| b.is_valid(r));
    macro_rules! fixed {
        ($t:ty) => {{
            let a = col.as_primitive::<$t>();
            for (r, (st, v)) in state.iter_mut().zip(a.values().iter()).enumerate() {
                if valid(r) {
                    let bytes = v.to_le_bytes();
                    fold(
                        st,
                        xxh3_64_with_seed(&bytes, s1),
                        xxh3_64_with_seed(&bytes, s2),
                    );
                } else {
                    fold(st, NULL_LANES.0 ^ seed, NULL_LANES.1 ^ seed);
                }
            }
        }};
    }
    macro_rules! strings {
        ($a:expr) => {{
            let a = $a;
            for (r, st) in state.iter_mut().enumerate() {
                if valid(r) {
                    let h = xxh3_128_with_seed(a.value(r).as_bytes(), seed);
                    fold(st, h as u64, (h >> 64) as u64);
                } else {
                    fold(st, NULL_LANES.0 ^ seed, NULL_LANES.1 ^ seed);
                }
            }
        }};
    }
    match col.data_type() {
        DataType::Int8 => fixed!(Int8Type),
        DataType::Int16 => fixed!(Int16Type),
        DataType::Int32 => fixed!(Int32Type),
        DataType::Int64 => fixed!(Int64Type),
        DataType::UInt8 => fixed!(UInt8Type),
        DataType::UInt16 => fixed!(UInt16Type),
        DataType::UInt32 => fixed!(UInt32Type),
        DataType::UInt64 => fixed!(UInt64Type),
        DataType::Float32 => fixed!(Float32Type),
        DataType::Float64 => fixed!(Float64Type),
        DataType::Date32 => fixed!(Date32Type),
        DataType::Date64 => fixed!(Date64Type),
        DataType::Timestamp(TimeUnit::Second, _) => fixed!(TimestampSecondType),
        DataType::Timestamp(TimeUnit::Millisecond, _) => fixed!(TimestampMillisecondType),
        DataType::Timestamp(TimeUnit::Microsecond, _) => fixed!(TimestampMicrosecondType),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => fixed!(TimestampNanosecondType),
        DataType::Boolean => {
            let a = col.as_boolean();
            for (r, st) in state.iter_mut().enumerate() {
                if valid(r) {
                    let bytes = [a.value(r) as u8];
                    fold(
                        st,
                        xxh3_64_with_seed(&bytes, s1),
                        xxh3_64_with_seed(&bytes, s2),
                    );
                } else {
                    fold(st, NULL_LANES.0 ^ seed, NULL_LANES.1 ^ seed);
                }
            }
        }
        DataType::Utf8 => strings!(col.as_string::<i32>()),
        DataType::LargeUtf8 => strings!(col.as_string::<i64>()),
        DataType::Utf8View => strings!(col.as_string_view()),
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use arrow_array::{Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn batch(ids: Vec<i64>, names: Vec<Option<&str>>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(names)),
            ],
        )
        .unwrap()
    }

    #[test]
    fn keeps_first_occurrences_in_order_across_batches() {
        let a = batch(vec![1, 2, 1, 3], vec![Some("x"), None, Some("x"), None]);
        let b = batch(vec![2, 3, 4, 3], vec![None, Some("y"), None, Some("y")]);
        let mut d = Dedup::new(a.schema()).unwrap();
        let ka = d.push(&a).unwrap();
        let kb = d.push(&b).unwrap();
        let ids = |r: &RecordBatch| r.column(0).as_primitive::<Int64Type>().values().to_vec();
        assert_eq!(ids(&ka), [1, 2, 3]);
        assert_eq!(
            ids(&kb),
            [3, 4],
            "(2, null) seen before: a null equals a null"
        );
        assert_eq!(
            d.report(),
            DedupReport {
                rows_in: 8,
                rows_kept: 5,
                rows_removed: 3
            }
        );
        let other = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)])),
            vec![Arc::new(Int64Array::from(vec![1]))],
        )
        .unwrap();
        assert!(d.push(&other).is_err());
    }

    #[test]
    fn large_batches_hashed_in_parallel_keep_the_same_rows() {
        let n = 200_000i64;
        let ids: Vec<i64> = (0..n).map(|i| i % 150_001).collect();
        let names: Vec<Option<&str>> = (0..n).map(|i| (i % 7 != 0).then_some("n")).collect();
        let b = batch(ids.clone(), names);
        let mut d = Dedup::new(b.schema()).unwrap();
        let kept = d.push(&b).unwrap();
        // Row i repeats row i - 150_001 when the null pattern (i % 7) matches too.
        let mut seen = std::collections::HashSet::new();
        let expected: Vec<i64> = (0..n)
            .filter(|&i| seen.insert((i % 150_001, i % 7 != 0)))
            .map(|i| i % 150_001)
            .collect();
        assert_eq!(
            kept.column(0).as_primitive::<Int64Type>().values().to_vec(),
            expected
        );
    }

    /// Naive keep-first dedup by exact row equality (Arrow's row format bytes).
    fn naive_keep(batch: &RecordBatch) -> Vec<bool> {
        let fields = batch
            .schema()
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        let conv = RowConverter::new(fields).unwrap();
        let rows = conv.convert_columns(batch.columns()).unwrap();
        let mut seen = std::collections::HashSet::new();
        (0..batch.num_rows())
            .map(|r| seen.insert(rows.row(r).as_ref().to_vec()))
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// The digest keeps exactly the rows a byte-exact comparison keeps: small domains
        /// make repeats, nulls sit next to values, -0.0 next to 0.0, and a decimal column
        /// goes through the row-format fallback.
        #[test]
        fn digests_agree_with_exact_row_equality(
            rows in proptest::collection::vec(
                (
                    proptest::option::of(0i64..3),
                    proptest::option::of(proptest::sample::select(vec![0.0f64, -0.0, 1.5])),
                    proptest::option::of(proptest::sample::select(vec!["", "a", "ab"])),
                    proptest::option::of(proptest::bool::ANY),
                    proptest::option::of(0i128..2),
                ),
                0..60,
            )
        ) {
            let b = RecordBatch::try_from_iter([
                ("i", Arc::new(Int64Array::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())) as arrow_array::ArrayRef),
                ("f", Arc::new(arrow_array::Float64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())) as _),
                ("s", Arc::new(StringArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())) as _),
                ("b", Arc::new(arrow_array::BooleanArray::from(rows.iter().map(|r| r.3).collect::<Vec<_>>())) as _),
                (
                    "d",
                    Arc::new(
                        arrow_array::Decimal128Array::from(rows.iter().map(|r| r.4).collect::<Vec<_>>())
                            .with_precision_and_scale(10, 2)
                            .unwrap(),
                    ) as _,
                ),
            ])
            .unwrap();
            let mut d = Dedup::new(b.schema()).unwrap();
            let kept = d.push(&b).unwrap();
            let want = naive_keep(&b);
            proptest::prop_assert_eq!(kept.num_rows(), want.iter().filter(|k| **k).count());
            let expected = arrow_select::filter::filter_record_batch(&b, &BooleanArray::from(want)).unwrap();
            proptest::prop_assert_eq!(kept, expected);
        }
    }
}

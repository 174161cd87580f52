//! Exact deduplication, keep-first, streaming: each row is encoded in Arrow's canonical row
//! format (equal values give equal bytes; a null equals a null) and identified by the 128-bit
//! XXH3 of those bytes, so memory grows with the number of distinct rows (16 bytes each), not
//! with the data. Kept rows stay in input order.

use std::collections::HashSet;

use arrow_array::{BooleanArray, RecordBatch};
use arrow_row::{RowConverter, SortField};
use arrow_schema::SchemaRef;
use mlops_core::{Error, Result};
use xxhash_rust::xxh3::xxh3_128;

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

/// A streaming keep-first deduplicator over whole rows.
pub struct Dedup {
    schema: SchemaRef,
    converter: RowConverter,
    seen: HashSet<u128>,
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
        let fields = schema
            .fields()
            .iter()
            .map(|f| SortField::new(f.data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields)
            .map_err(|e| Error::NotSupported(format!("deduplicating this schema: {e}")))?;
        Ok(Dedup {
            schema,
            converter,
            seen: HashSet::new(),
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

    /// The 128-bit hash of every row's canonical bytes; large batches are encoded and hashed
    /// on all cores, in slices, and the hashes come back in row order.
    fn row_hashes(&self, batch: &RecordBatch) -> Result<Vec<u128>> {
        let hash_slice = |b: &RecordBatch| -> Result<Vec<u128>> {
            let rows = self
                .converter
                .convert_columns(b.columns())
                .map_err(|e| Error::invalid("record batch", "columns", e.to_string()))?;
            Ok(rows.iter().map(|r| xxh3_128(r.as_ref())).collect())
        };
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

    /// Counts so far.
    pub fn report(&self) -> DedupReport {
        self.report
    }
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
}

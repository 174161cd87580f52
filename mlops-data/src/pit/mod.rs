//! Point-in-time-correct joins with Feast's semantics: each entity row (keys and an event
//! time `t`) gets the feature values that were known at `t`, never later ones, so a
//! training set cannot leak the future.
//!
//! For each entity row, the candidate feature rows are those with the same keys and
//! 1. `feature_time <= t`,
//! 2. `feature_time >= t - ttl` when a TTL is set (a TTL of zero means none, as in Feast),
//! 3. `created_time <= t` when [`PitJoin::filter_by_created`] is set (Feast's opt-in that
//!    stops a correction written after `t` from leaking into the row for `t`).
//!
//! Among the candidates the latest `feature_time` wins, ties broken by the latest
//! `created_time` (Feast's `ORDER BY event_ts DESC, created_ts DESC`), and remaining ties by
//! the later row of the feature table, so the result is deterministic where Feast's SQL is
//! not. A null created time ranks below every value. Entity rows without a candidate, or
//! with a null key or time, get nulls (a left join); feature rows with a null key or time
//! are never candidates. The output keeps the entity table's rows in order and appends the
//! feature columns.
//!
//! Times may be `Timestamp` columns of any unit (compared exactly, in nanoseconds) or
//! `Int64` (compared as they are; the TTL is then in the same unit as those integers).
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Array, Float64Array, Int64Array, RecordBatch, TimestampSecondArray};
//! use mlops_data::pit::{PitJoin, point_in_time_join};
//!
//! let entities = RecordBatch::try_from_iter([
//!     ("user", Arc::new(Int64Array::from(vec![1, 1, 2])) as _),
//!     ("ts", Arc::new(TimestampSecondArray::from(vec![10, 25, 10])) as _),
//! ])?;
//! let features = RecordBatch::try_from_iter([
//!     ("user", Arc::new(Int64Array::from(vec![1, 1, 2])) as _),
//!     ("feature_ts", Arc::new(TimestampSecondArray::from(vec![5, 20, 11])) as _),
//!     ("spend", Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0])) as _),
//! ])?;
//! let joined = point_in_time_join(&entities, &features, &PitJoin::new(["user"], "ts", "feature_ts"))?;
//! let spend = joined.column_by_name("spend").unwrap();
//! let spend = spend.as_any().downcast_ref::<Float64Array>().unwrap();
//! // user 1 at 10 sees the value of 5; at 25 the value of 20; user 2's only value is later.
//! assert_eq!((spend.value(0), spend.value(1), spend.is_null(2)), (1.0, 2.0, true));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch, UInt32Array};
use arrow_row::{RowConverter, SortField};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use mlops_core::{Error, Result};

/// How to join a feature table onto entity rows as of each row's time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PitJoin {
    /// Key columns, present in both tables with the same types.
    pub keys: Vec<String>,
    /// The entity table's event time column.
    pub entity_time: String,
    /// The feature table's event time column (when the value became true).
    pub feature_time: String,
    /// The feature table's creation time column (when the row was written), for tie-breaks
    /// and [`PitJoin::filter_by_created`].
    pub created_time: Option<String>,
    /// How old a feature value may be at the entity's time; `None` or zero: any age.
    pub ttl: Option<Duration>,
    /// Only rows created at or before the entity's time are candidates.
    pub filter_by_created: bool,
    /// The feature columns to take (default: every column that is not a key or a time).
    pub features: Option<Vec<String>>,
    /// Prefix of the output feature columns (Feast's `full_feature_names`: `view__name`).
    pub prefix: Option<String>,
}

impl PitJoin {
    /// A join on `keys` with no TTL, no created-time column and every feature column.
    pub fn new<S: Into<String>>(
        keys: impl IntoIterator<Item = S>,
        entity_time: impl Into<String>,
        feature_time: impl Into<String>,
    ) -> Self {
        PitJoin {
            keys: keys.into_iter().map(Into::into).collect(),
            entity_time: entity_time.into(),
            feature_time: feature_time.into(),
            created_time: None,
            ttl: None,
            filter_by_created: false,
            features: None,
            prefix: None,
        }
    }
}

/// A time column as comparable integers (nanoseconds for timestamps); `None` for nulls.
/// Returns the values and whether they are timestamps.
fn times(batch: &RecordBatch, name: &str, table: &str) -> Result<(Vec<Option<i128>>, bool)> {
    let col = batch.column_by_name(name).ok_or_else(|| {
        Error::invalid(
            format!("time column of the {table} table"),
            name,
            "a column of the table",
        )
    })?;
    fn read<T: arrow_array::ArrowPrimitiveType<Native = i64>>(
        col: &ArrayRef,
        scale: i128,
    ) -> Vec<Option<i128>> {
        col.as_primitive::<T>()
            .iter()
            .map(|v| v.map(|v| v as i128 * scale))
            .collect()
    }
    Ok(match col.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            (read::<TimestampSecondType>(col, 1_000_000_000), true)
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            (read::<TimestampMillisecondType>(col, 1_000_000), true)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            (read::<TimestampMicrosecondType>(col, 1_000), true)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            (read::<TimestampNanosecondType>(col, 1), true)
        }
        DataType::Int64 => (read::<Int64Type>(col, 1), false),
        other => {
            return Err(Error::invalid(
                format!("type of time column {name:?} of the {table} table"),
                other.to_string(),
                "a Timestamp (any unit) or Int64",
            ));
        }
    })
}

/// The key columns of a table as comparable byte rows; `None` where any key is null.
fn key_rows(
    batch: &RecordBatch,
    keys: &[String],
    table: &str,
    converter: &RowConverter,
) -> Result<Vec<Option<Vec<u8>>>> {
    let cols = keys
        .iter()
        .map(|k| {
            batch.column_by_name(k).cloned().ok_or_else(|| {
                Error::invalid(
                    format!("key column of the {table} table"),
                    k,
                    "a column of the table",
                )
            })
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let rows = converter
        .convert_columns(&cols)
        .map_err(|e| Error::invalid("join keys", format!("{keys:?}"), e.to_string()))?;
    Ok((0..batch.num_rows())
        .map(|i| {
            if cols.iter().any(|c| c.is_null(i)) {
                None
            } else {
                Some(rows.row(i).as_ref().to_vec())
            }
        })
        .collect())
}

/// Joins `features` onto `entities` as of each entity row's time (module docs give the
/// rules). Errors name the missing column or the mismatched type.
pub fn point_in_time_join(
    entities: &RecordBatch,
    features: &RecordBatch,
    spec: &PitJoin,
) -> Result<RecordBatch> {
    if spec.keys.is_empty() {
        return Err(Error::invalid(
            "join keys",
            "none",
            "at least one key column",
        ));
    }
    let mut fields = Vec::with_capacity(spec.keys.len());
    for k in &spec.keys {
        let field = |b: &RecordBatch, table: &str| {
            b.schema()
                .field_with_name(k)
                .map(|f| f.data_type().clone())
                .map_err(|_| {
                    Error::invalid(
                        format!("key column of the {table} table"),
                        k,
                        "a column of the table",
                    )
                })
        };
        let (a, b) = (field(entities, "entity")?, field(features, "feature")?);
        if a != b {
            return Err(Error::invalid(
                format!("type of key column {k:?} in the feature table"),
                b.to_string(),
                format!("{a}, as in the entity table"),
            ));
        }
        fields.push(SortField::new(a));
    }
    let converter = RowConverter::new(fields)
        .map_err(|e| Error::invalid("join keys", format!("{:?}", spec.keys), e.to_string()))?;
    let entity_keys = key_rows(entities, &spec.keys, "entity", &converter)?;
    let feature_keys = key_rows(features, &spec.keys, "feature", &converter)?;
    let (t_entity, ts_a) = times(entities, &spec.entity_time, "entity")?;
    let (t_feature, ts_b) = times(features, &spec.feature_time, "feature")?;
    if ts_a != ts_b {
        return Err(Error::invalid(
            "time columns",
            format!(
                "{:?} is {} and {:?} is {}",
                spec.entity_time,
                if ts_a { "a timestamp" } else { "an integer" },
                spec.feature_time,
                if ts_b { "a timestamp" } else { "an integer" }
            ),
            "both timestamps or both integers",
        ));
    }
    let created = match &spec.created_time {
        Some(c) => {
            let (v, is_ts) = times(features, c, "feature")?;
            if is_ts != ts_a {
                return Err(Error::invalid(
                    format!("created time column {c:?}"),
                    if is_ts { "a timestamp" } else { "an integer" },
                    "the same kind as the event times",
                ));
            }
            Some(v)
        }
        None if spec.filter_by_created => {
            return Err(Error::invalid(
                "filter_by_created",
                "true without a created time column",
                "PitJoin::created_time naming the feature table's creation time",
            ));
        }
        None => None,
    };
    let ttl: Option<i128> = spec.ttl.filter(|d| !d.is_zero()).map(|d| {
        if ts_a {
            d.as_nanos() as i128
        } else {
            d.as_secs() as i128
        }
    });
    if !ts_a && spec.ttl.is_some_and(|d| d.subsec_nanos() != 0) {
        return Err(Error::invalid(
            "ttl",
            format!("{:?}", spec.ttl),
            "whole units (Duration::from_secs(n) means n) for integer times",
        ));
    }

    // Feature rows per key, sorted by (time, created, row): the last candidate wins.
    let created_at = |i: usize| created.as_ref().and_then(|c| c[i]);
    let mut groups: HashMap<&[u8], Vec<u32>> = HashMap::new();
    for (i, key) in feature_keys.iter().enumerate() {
        if let (Some(k), Some(_)) = (key, t_feature[i]) {
            groups.entry(k.as_slice()).or_default().push(i as u32);
        }
    }
    for rows in groups.values_mut() {
        rows.sort_by_key(|&i| (t_feature[i as usize], created_at(i as usize), i));
    }
    let mut take: Vec<Option<u32>> = Vec::with_capacity(entities.num_rows());
    for (key, t) in entity_keys.iter().zip(&t_entity) {
        let (Some(key), Some(t)) = (key, *t) else {
            take.push(None);
            continue;
        };
        let Some(rows) = groups.get(key.as_slice()) else {
            take.push(None);
            continue;
        };
        // Rows with feature time <= t form a prefix of the sorted group.
        let end = rows.partition_point(|&i| t_feature[i as usize].is_some_and(|f| f <= t));
        let oldest = ttl.map(|ttl| t - ttl);
        let mut found = None;
        for &i in rows[..end].iter().rev() {
            let f = t_feature[i as usize].unwrap_or(i128::MIN);
            if oldest.is_some_and(|o| f < o) {
                break; // every earlier row is older still
            }
            if spec.filter_by_created && created_at(i as usize).is_none_or(|c| c > t) {
                continue;
            }
            found = Some(i);
            break;
        }
        take.push(found);
    }

    let names: Vec<String> = match &spec.features {
        Some(f) => f.clone(),
        None => features
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .filter(|n| {
                !spec.keys.contains(n)
                    && *n != spec.feature_time
                    && spec.created_time.as_ref() != Some(n)
            })
            .collect(),
    };
    let indices = UInt32Array::from(take);
    let mut out_fields: Vec<Arc<Field>> = entities.schema().fields().iter().cloned().collect();
    let mut out_cols: Vec<ArrayRef> = entities.columns().to_vec();
    for name in &names {
        let col = features.column_by_name(name).ok_or_else(|| {
            Error::invalid("feature column", name, "a column of the feature table")
        })?;
        let out_name = match &spec.prefix {
            Some(p) => format!("{p}__{name}"),
            None => name.clone(),
        };
        if out_fields.iter().any(|f| *f.name() == out_name) {
            return Err(Error::invalid(
                "feature column",
                &out_name,
                "a name not already in the entity table (set PitJoin::prefix)",
            ));
        }
        let taken = arrow_select::take::take(col.as_ref(), &indices, None)
            .map_err(|e| Error::invalid("feature column", name, e.to_string()))?;
        out_fields.push(Arc::new(Field::new(
            out_name,
            col.data_type().clone(),
            true,
        )));
        out_cols.push(taken);
    }
    RecordBatch::try_new(Arc::new(Schema::new(out_fields)), out_cols)
        .map_err(|e| Error::invalid("joined table", "columns", e.to_string()))
}

#[cfg(test)]
mod tests;

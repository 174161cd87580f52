//! Reading Arrow columns into what the tests need: finite numbers with NaN, infinities and
//! nulls counted apart, category counts, or embedding rows.

use std::collections::{BTreeMap, HashMap};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, DurationMicrosecondType, DurationMillisecondType,
    DurationNanosecondType, DurationSecondType, Float16Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::{DataType, TimeUnit};
use mlops_core::{Error, Result};

use super::report::{ColumnKind, MissingCounts};

/// How a column of a given Arrow type is read, or `None` when the detector cannot test it.
pub(crate) fn classify(data_type: &DataType) -> Option<ColumnKind> {
    match data_type {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(_, _)
        | DataType::Time32(_)
        | DataType::Time64(_)
        | DataType::Duration(_) => Some(ColumnKind::Numeric),
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
            Some(ColumnKind::Temporal)
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Boolean => {
            Some(ColumnKind::Categorical)
        }
        DataType::Dictionary(_, v)
            if matches!(
                v.as_ref(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) =>
        {
            Some(ColumnKind::Categorical)
        }
        DataType::FixedSizeList(f, dim)
            if *dim > 0 && matches!(f.data_type(), DataType::Float32 | DataType::Float64) =>
        {
            Some(ColumnKind::Embedding)
        }
        _ => None,
    }
}

/// A column read for testing.
pub(crate) enum Extracted {
    /// Finite values (unsorted) and what was dropped.
    Numeric(Vec<f64>, MissingCounts),
    /// Counts per category and the nulls.
    Categorical(BTreeMap<String, u64>, MissingCounts),
    /// Row-major finite vectors of dimension `dim`; rows with a null, NaN or infinite
    /// component are dropped and counted (by their first non-finite component).
    Embedding {
        data: Vec<f64>,
        dim: usize,
        missing: MissingCounts,
    },
}

#[inline]
fn push(v: &mut Vec<f64>, m: &mut MissingCounts, x: f64) {
    if x.is_finite() {
        v.push(x);
    } else if x.is_nan() {
        m.nan += 1;
    } else if x > 0.0 {
        m.pos_inf += 1;
    } else {
        m.neg_inf += 1;
    }
}

fn prim<T: ArrowPrimitiveType>(
    array: &dyn Array,
    f: impl Fn(T::Native) -> f64,
) -> (Vec<f64>, MissingCounts) {
    let a: &PrimitiveArray<T> = array.as_primitive::<T>();
    let mut m = MissingCounts::default();
    let mut v = Vec::with_capacity(a.len() - a.null_count());
    let values = a.values();
    match a.nulls().filter(|n| n.null_count() > 0) {
        None => {
            for &x in values.iter() {
                push(&mut v, &mut m, f(x));
            }
        }
        Some(nulls) => {
            for (i, &x) in values.iter().enumerate() {
                if nulls.is_valid(i) {
                    push(&mut v, &mut m, f(x));
                } else {
                    m.null += 1;
                }
            }
        }
    }
    (v, m)
}

/// Finite numbers of a numeric or temporal column (temporal: epoch counts in the column's
/// unit; decimals: value / 10^scale).
pub(crate) fn numeric(array: &dyn Array, column: &str) -> Result<(Vec<f64>, MissingCounts)> {
    Ok(match array.data_type() {
        DataType::Float64 => prim::<Float64Type>(array, |x| x),
        DataType::Float32 => prim::<Float32Type>(array, f64::from),
        DataType::Float16 => prim::<Float16Type>(array, |x| x.to_f64()),
        DataType::Int8 => prim::<Int8Type>(array, f64::from),
        DataType::Int16 => prim::<Int16Type>(array, f64::from),
        DataType::Int32 => prim::<Int32Type>(array, f64::from),
        DataType::Int64 => prim::<Int64Type>(array, |x| x as f64),
        DataType::UInt8 => prim::<UInt8Type>(array, f64::from),
        DataType::UInt16 => prim::<UInt16Type>(array, f64::from),
        DataType::UInt32 => prim::<UInt32Type>(array, f64::from),
        DataType::UInt64 => prim::<UInt64Type>(array, |x| x as f64),
        DataType::Decimal128(_, scale) => {
            let s = 10f64.powi(i32::from(*scale));
            prim::<Decimal128Type>(array, |x| x as f64 / s)
        }
        DataType::Date32 => prim::<Date32Type>(array, f64::from),
        DataType::Date64 => prim::<Date64Type>(array, |x| x as f64),
        DataType::Timestamp(TimeUnit::Second, _) => {
            prim::<TimestampSecondType>(array, |x| x as f64)
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            prim::<TimestampMillisecondType>(array, |x| x as f64)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            prim::<TimestampMicrosecondType>(array, |x| x as f64)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            prim::<TimestampNanosecondType>(array, |x| x as f64)
        }
        DataType::Time32(TimeUnit::Second) => prim::<Time32SecondType>(array, f64::from),
        DataType::Time32(TimeUnit::Millisecond) => prim::<Time32MillisecondType>(array, f64::from),
        DataType::Time64(TimeUnit::Microsecond) => {
            prim::<Time64MicrosecondType>(array, |x| x as f64)
        }
        DataType::Time64(TimeUnit::Nanosecond) => prim::<Time64NanosecondType>(array, |x| x as f64),
        DataType::Duration(TimeUnit::Second) => prim::<DurationSecondType>(array, |x| x as f64),
        DataType::Duration(TimeUnit::Millisecond) => {
            prim::<DurationMillisecondType>(array, |x| x as f64)
        }
        DataType::Duration(TimeUnit::Microsecond) => {
            prim::<DurationMicrosecondType>(array, |x| x as f64)
        }
        DataType::Duration(TimeUnit::Nanosecond) => {
            prim::<DurationNanosecondType>(array, |x| x as f64)
        }
        other => {
            return Err(Error::invalid(
                "numeric drift column",
                format!("{column}: {other}"),
                "an integer, float, decimal, time, duration, date or timestamp column",
            ));
        }
    })
}

fn count_strs<'a>(
    it: impl Iterator<Item = Option<&'a str>>,
    m: &mut MissingCounts,
) -> HashMap<&'a str, u64> {
    let mut counts: HashMap<&'a str, u64> = HashMap::new();
    for x in it {
        match x {
            None => m.null += 1,
            Some(s) => *counts.entry(s).or_insert(0) += 1,
        }
    }
    counts
}

/// Strings of a string-like values array, by index (`None` for a null value).
fn dictionary_values(values: &dyn Array) -> Vec<Option<&str>> {
    match values.data_type() {
        DataType::Utf8 => values.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => values.as_string::<i64>().iter().collect(),
        _ => values.as_string_view().iter().collect(),
    }
}

/// Category counts of a string, boolean or dictionary-encoded string column.
pub(crate) fn categorical(
    array: &dyn Array,
    column: &str,
) -> Result<(BTreeMap<String, u64>, MissingCounts)> {
    let mut m = MissingCounts::default();
    let owned = |c: HashMap<&str, u64>| -> BTreeMap<String, u64> {
        c.into_iter().map(|(k, n)| (k.to_string(), n)).collect()
    };
    let counts = match array.data_type() {
        DataType::Utf8 => owned(count_strs(array.as_string::<i32>().iter(), &mut m)),
        DataType::LargeUtf8 => owned(count_strs(array.as_string::<i64>().iter(), &mut m)),
        DataType::Utf8View => owned(count_strs(array.as_string_view().iter(), &mut m)),
        DataType::Boolean => {
            let b = array.as_boolean();
            let (mut t, mut f) = (0u64, 0u64);
            for x in b.iter() {
                match x {
                    None => m.null += 1,
                    Some(true) => t += 1,
                    Some(false) => f += 1,
                }
            }
            [("false", f), ("true", t)]
                .into_iter()
                .filter(|(_, c)| *c > 0)
                .map(|(k, c)| (k.to_string(), c))
                .collect()
        }
        DataType::Dictionary(_, _) => {
            let Some(d) = array.as_any_dictionary_opt() else {
                return Err(Error::invalid(
                    "categorical drift column",
                    format!("{column}: {}", array.data_type()),
                    "a dictionary of strings",
                ));
            };
            let values = dictionary_values(d.values().as_ref());
            if values.is_empty() {
                // No dictionary entry: every key is null (`normalized_keys` needs one).
                m.null += array.len() as u64;
                return Ok((BTreeMap::new(), m));
            }
            let keys = d.normalized_keys();
            let mut bins = vec![0u64; values.len()];
            let key_nulls = d.keys().logical_nulls();
            for (i, k) in keys.iter().enumerate() {
                if key_nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                    m.null += 1;
                } else if let Some(b) = bins.get_mut(*k) {
                    *b += 1;
                }
            }
            let mut out: BTreeMap<String, u64> = BTreeMap::new();
            for (k, c) in bins.into_iter().enumerate() {
                if c == 0 {
                    continue;
                }
                match values.get(k).copied().flatten() {
                    Some(s) => *out.entry(s.to_string()).or_insert(0) += c,
                    None => m.null += c,
                }
            }
            out
        }
        other => {
            return Err(Error::invalid(
                "categorical drift column",
                format!("{column}: {other}"),
                "a string, boolean or dictionary-encoded string column",
            ));
        }
    };
    Ok((counts, m))
}

/// Rows of a fixed-size list column of floats.
pub(crate) fn embedding(array: &dyn Array, column: &str) -> Result<Extracted> {
    let Some(list) = array.as_fixed_size_list_opt() else {
        return Err(Error::invalid(
            "embedding drift column",
            format!("{column}: {}", array.data_type()),
            "a fixed-size list of floats",
        ));
    };
    let dim = list.value_length().max(0) as usize;
    let values = list.values();
    let flat: Vec<Option<f64>> = match values.data_type() {
        DataType::Float64 => values.as_primitive::<Float64Type>().iter().collect(),
        DataType::Float32 => values
            .as_primitive::<Float32Type>()
            .iter()
            .map(|x| x.map(f64::from))
            .collect(),
        other => {
            return Err(Error::invalid(
                "embedding drift column",
                format!("{column}: list of {other}"),
                "a fixed-size list of Float32 or Float64",
            ));
        }
    };
    let mut m = MissingCounts::default();
    let mut data = Vec::with_capacity(list.len() * dim);
    for row in 0..list.len() {
        if list.is_null(row) {
            m.null += 1;
            continue;
        }
        let start = row * dim; // a sliced list slices its values
        let Some(vals) = flat.get(start..start + dim) else {
            m.null += 1;
            continue;
        };
        match vals.iter().find(|x| !x.is_some_and(f64::is_finite)) {
            None => data.extend(vals.iter().map(|x| x.unwrap_or(0.0))),
            Some(None) => m.null += 1,
            Some(Some(x)) if x.is_nan() => m.nan += 1,
            Some(Some(x)) if *x > 0.0 => m.pos_inf += 1,
            Some(Some(_)) => m.neg_inf += 1,
        }
    }
    Ok(Extracted::Embedding {
        data,
        dim,
        missing: m,
    })
}

/// Reads a column as `kind` says.
pub(crate) fn extract(array: &dyn Array, column: &str, kind: ColumnKind) -> Result<Extracted> {
    match kind {
        ColumnKind::Numeric | ColumnKind::Temporal => {
            let (v, m) = numeric(array, column)?;
            Ok(Extracted::Numeric(v, m))
        }
        ColumnKind::Categorical => {
            let (c, m) = categorical(array, column)?;
            Ok(Extracted::Categorical(c, m))
        }
        ColumnKind::Embedding => embedding(array, column),
    }
}

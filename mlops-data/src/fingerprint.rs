//! The content fingerprint of a table: SHA-256 over its canonical values, so the same rows
//! give the same id whatever the file's compression, encoding or row-group size, and one
//! changed cell gives a new id.
//!
//! The byte layout is the one of `BENCHMARKS.md` (W-DATA), so peers compute the same value:
//!
//! ```text
//! u64le(num_rows)
//! for each column, in schema order:
//!     UTF-8 column name, then one 0x00 byte
//!     validity: one byte per row, 0x01 if the value is valid, 0x00 if it is null
//!     values:
//!         int8..int64, uint8..uint64, float32, float64, date32, date64: each row's value
//!             in little-endian at its own width; a null row is written as 0
//!         timestamp: int64 microseconds since the epoch (UTC)
//!         boolean: one byte per row, 0x01 or 0x00 (an extension of the benchmark's list)
//!         string (utf8, large utf8 and utf8 view alike): for every row the byte length as u64le
//!             (0 for a null row); then the UTF-8 bytes of all rows, concatenated
//! ```
//! The fingerprint depends on row order.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_schema::{DataType, SchemaRef, TimeUnit};
use mlops_core::{DatasetId, Error, Result};
use sha2::{Digest as _, Sha256};

/// The fingerprint of `batches` (all with `schema`), as 64 lowercase hex digits.
pub fn content_fingerprint(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<String> {
    let mut h = Sha256::new();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    h.update((rows as u64).to_le_bytes());
    for (i, field) in schema.fields().iter().enumerate() {
        h.update(field.name().as_bytes());
        h.update([0u8]);
        let columns: Vec<&dyn Array> = batches
            .iter()
            .map(|b| {
                b.columns().get(i).map(|c| c.as_ref()).ok_or_else(|| {
                    Error::invalid(
                        "record batch",
                        format!("{} columns", b.num_columns()),
                        format!("the {} columns of the schema", schema.fields().len()),
                    )
                })
            })
            .collect::<Result<_>>()?;
        let mut buf = Vec::new();
        for c in &columns {
            buf.clear();
            buf.extend((0..c.len()).map(|r| c.is_valid(r) as u8));
            h.update(&buf);
        }
        for c in &columns {
            if c.data_type() != field.data_type() {
                return Err(Error::invalid(
                    format!("type of column {:?}", field.name()),
                    c.data_type().to_string(),
                    format!("{} as in the schema", field.data_type()),
                ));
            }
        }
        hash_values(&mut h, field.name(), field.data_type(), &columns)?;
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fingerprint as a [`DatasetId`].
pub fn dataset_id(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<DatasetId> {
    DatasetId::parse(&content_fingerprint(schema, batches)?)
}

fn primitive<T: ArrowPrimitiveType>(
    h: &mut Sha256,
    columns: &[&dyn Array],
    to_le: impl Fn(T::Native, &mut Vec<u8>),
) {
    let mut buf = Vec::new();
    for c in columns {
        let a = c.as_primitive::<T>();
        buf.clear();
        if a.null_count() == 0 {
            for v in a.values().iter() {
                to_le(*v, &mut buf);
            }
        } else {
            for (r, v) in a.values().iter().enumerate() {
                to_le(
                    if a.is_valid(r) {
                        *v
                    } else {
                        T::Native::default()
                    },
                    &mut buf,
                );
            }
        }
        h.update(&buf);
    }
}

macro_rules! le {
    ($t:ty) => {
        |v: <$t as ArrowPrimitiveType>::Native, out: &mut Vec<u8>| {
            out.extend_from_slice(&v.to_le_bytes())
        }
    };
}

fn timestamp_micros<T: ArrowPrimitiveType<Native = i64>>(
    h: &mut Sha256,
    columns: &[&dyn Array],
    to_micros: fn(i64) -> i64,
) {
    primitive::<T>(h, columns, |v, out| {
        out.extend_from_slice(&to_micros(v).to_le_bytes())
    });
}

fn hash_values(h: &mut Sha256, name: &str, dt: &DataType, columns: &[&dyn Array]) -> Result<()> {
    match dt {
        DataType::Int8 => primitive::<Int8Type>(h, columns, le!(Int8Type)),
        DataType::Int16 => primitive::<Int16Type>(h, columns, le!(Int16Type)),
        DataType::Int32 => primitive::<Int32Type>(h, columns, le!(Int32Type)),
        DataType::Int64 => primitive::<Int64Type>(h, columns, le!(Int64Type)),
        DataType::UInt8 => primitive::<UInt8Type>(h, columns, le!(UInt8Type)),
        DataType::UInt16 => primitive::<UInt16Type>(h, columns, le!(UInt16Type)),
        DataType::UInt32 => primitive::<UInt32Type>(h, columns, le!(UInt32Type)),
        DataType::UInt64 => primitive::<UInt64Type>(h, columns, le!(UInt64Type)),
        DataType::Float32 => primitive::<Float32Type>(h, columns, le!(Float32Type)),
        DataType::Float64 => primitive::<Float64Type>(h, columns, le!(Float64Type)),
        DataType::Date32 => primitive::<Date32Type>(h, columns, le!(Date32Type)),
        DataType::Date64 => primitive::<Date64Type>(h, columns, le!(Date64Type)),
        DataType::Timestamp(TimeUnit::Second, _) => {
            timestamp_micros::<TimestampSecondType>(h, columns, |v| v.saturating_mul(1_000_000))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            timestamp_micros::<TimestampMillisecondType>(h, columns, |v| v.saturating_mul(1_000))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            timestamp_micros::<TimestampMicrosecondType>(h, columns, |v| v)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            timestamp_micros::<TimestampNanosecondType>(h, columns, |v| v.div_euclid(1_000))
        }
        DataType::Boolean => {
            for c in columns {
                let a = c.as_boolean();
                let buf: Vec<u8> = (0..a.len())
                    .map(|r| (a.is_valid(r) && a.value(r)) as u8)
                    .collect();
                h.update(&buf);
            }
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let strings = |c: &&dyn Array, f: &mut dyn FnMut(Option<&str>)| {
                if let Some(a) = c.as_string_opt::<i32>() {
                    a.iter().for_each(&mut *f);
                } else if let Some(a) = c.as_string_opt::<i64>() {
                    a.iter().for_each(&mut *f);
                } else if let Some(a) = c.as_string_view_opt() {
                    a.iter().for_each(&mut *f);
                }
            };
            let mut buf = Vec::new();
            for c in columns {
                buf.clear();
                strings(c, &mut |v| {
                    buf.extend_from_slice(&(v.map_or(0, str::len) as u64).to_le_bytes())
                });
                h.update(&buf);
            }
            for c in columns {
                strings(c, &mut |v| h.update(v.unwrap_or("").as_bytes()));
            }
        }
        other => {
            return Err(Error::NotSupported(format!(
                "fingerprint of column {name:?} of type {other}: supported are integers, floats, dates, timestamps, booleans and strings"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int64Array, StringArray};
    use arrow_schema::{Field, Schema};

    use super::*;

    fn table(names: Vec<Option<&str>>, xs: Vec<Option<f64>>) -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("x", DataType::Float64, true),
        ]));
        let n = names.len() as i64;
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from((0..n).collect::<Vec<_>>())),
                Arc::new(StringArray::from(names)),
                Arc::new(Float64Array::from(xs)),
            ],
        )
        .unwrap();
        (schema, b)
    }

    /// The same bytes, written out by hand from the layout above.
    fn by_hand() -> String {
        let mut bytes = Vec::new();
        bytes.extend(3u64.to_le_bytes());
        bytes.extend(b"id\0");
        bytes.extend([1, 1, 1]);
        for v in [0i64, 1, 2] {
            bytes.extend(v.to_le_bytes());
        }
        bytes.extend(b"name\0");
        bytes.extend([1, 0, 1]);
        for l in [1u64, 0, 2] {
            bytes.extend(l.to_le_bytes());
        }
        bytes.extend(b"abc");
        bytes.extend(b"x\0");
        bytes.extend([1, 1, 0]);
        for v in [0.5f64, -1.0, 0.0] {
            bytes.extend(v.to_le_bytes());
        }
        hex(&Sha256::digest(&bytes))
    }

    #[test]
    fn matches_the_documented_layout() {
        let (schema, b) = table(
            vec![Some("a"), None, Some("bc")],
            vec![Some(0.5), Some(-1.0), None],
        );
        assert_eq!(content_fingerprint(&schema, &[b]).unwrap(), by_hand());
    }

    #[test]
    fn batch_boundaries_do_not_matter_but_one_cell_does() {
        let (schema, b) = table(
            vec![Some("a"), None, Some("bc")],
            vec![Some(0.5), Some(-1.0), None],
        );
        let whole = content_fingerprint(&schema, std::slice::from_ref(&b)).unwrap();
        let parts = [b.slice(0, 1), b.slice(1, 2)];
        assert_eq!(content_fingerprint(&schema, &parts).unwrap(), whole);
        let (_, changed) = table(
            vec![Some("a"), None, Some("bd")],
            vec![Some(0.5), Some(-1.0), None],
        );
        assert_ne!(content_fingerprint(&schema, &[changed]).unwrap(), whole);
        assert!(dataset_id(&schema, &[b]).is_ok());
    }

    #[test]
    fn unsupported_types_are_named() {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "blob",
            DataType::Binary,
            false,
        )]));
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(arrow_array::BinaryArray::from(vec![&b"x"[..]]))],
        )
        .unwrap();
        let err = content_fingerprint(&schema, &[b]).unwrap_err().to_string();
        assert!(err.contains("blob") && err.contains("Binary"), "{err}");
    }

    #[test]
    fn string_views_and_large_strings_fingerprint_like_strings() {
        let values = vec![
            Some("a"),
            None,
            Some("long enough to leave the view's inline bytes"),
        ];
        let fp = |col: arrow_array::ArrayRef| {
            let b = RecordBatch::try_from_iter([("s", col)]).unwrap();
            content_fingerprint(&b.schema(), &[b]).unwrap()
        };
        let plain = fp(Arc::new(StringArray::from(values.clone())));
        assert_eq!(
            fp(Arc::new(arrow_array::StringViewArray::from(values.clone()))),
            plain
        );
        assert_eq!(
            fp(Arc::new(arrow_array::LargeStringArray::from(values))),
            plain
        );
    }
}

//! Reading an evaluation table's Arrow columns into plain vectors, once, with errors that
//! name the column, the row and the expected type.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use mlops_core::{Error, Result};

/// A column that must exist and hold no null.
fn required<'a>(batch: &'a RecordBatch, name: &str, what: &'static str) -> Result<&'a ArrayRef> {
    let col = column(batch, name, what)?;
    if let Some(row) = (0..col.len()).find(|&r| col.is_null(r)) {
        return Err(Error::invalid(
            format!("column {name:?} at row {row}"),
            "null",
            format!("a {what}"),
        ));
    }
    Ok(col)
}

/// A column that must exist.
pub(crate) fn column<'a>(
    batch: &'a RecordBatch,
    name: &str,
    what: &'static str,
) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| Error::invalid(format!("{what} column"), name, "a column of the table"))
}

/// Integer or boolean class labels, one per row.
pub(crate) fn labels(batch: &RecordBatch, name: &str, what: &'static str) -> Result<Vec<i64>> {
    let col = required(batch, name, what)?;
    Ok(match col.data_type() {
        DataType::Int64 => col.as_primitive::<Int64Type>().values().to_vec(),
        DataType::Int32 => col
            .as_primitive::<Int32Type>()
            .values()
            .iter()
            .map(|&v| v as i64)
            .collect(),
        DataType::Boolean => col
            .as_boolean()
            .iter()
            .map(|v| v.unwrap_or(false) as i64)
            .collect(),
        other => {
            return Err(Error::invalid(
                format!("type of {what} column {name:?}"),
                other.to_string(),
                "Int64, Int32 or Boolean",
            ));
        }
    })
}

/// A float (or integer) column as `f64`, one value per row; nulls are an error.
pub(crate) fn floats(batch: &RecordBatch, name: &str, what: &'static str) -> Result<Vec<f64>> {
    let col = required(batch, name, what)?;
    numbers(col.as_ref(), name, what)
}

/// A numeric column as `f64`, nulls as NaN (for predicates and optional measurements).
pub(crate) fn floats_or_nan(
    batch: &RecordBatch,
    name: &str,
    what: &'static str,
) -> Result<Vec<f64>> {
    let col = column(batch, name, what)?;
    let mut v = numbers(col.as_ref(), name, what)?;
    for (r, x) in v.iter_mut().enumerate() {
        if col.is_null(r) {
            *x = f64::NAN;
        }
    }
    Ok(v)
}

fn numbers(col: &dyn Array, name: &str, what: &'static str) -> Result<Vec<f64>> {
    Ok(match col.data_type() {
        DataType::Float64 => col.as_primitive::<Float64Type>().values().to_vec(),
        DataType::Float32 => col
            .as_primitive::<Float32Type>()
            .values()
            .iter()
            .map(|&v| v as f64)
            .collect(),
        DataType::Int64 => col
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .map(|&v| v as f64)
            .collect(),
        DataType::Int32 => col
            .as_primitive::<Int32Type>()
            .values()
            .iter()
            .map(|&v| v as f64)
            .collect(),
        other => {
            return Err(Error::invalid(
                format!("type of {what} column {name:?}"),
                other.to_string(),
                "Float64, Float32, Int64 or Int32",
            ));
        }
    })
}

/// Per-class probabilities, row-major with `k` columns: from one list column
/// (`FixedSizeList` or `List` of floats, as [`mlops_core`]'s predictor writes them) or from
/// one column per class.
pub(crate) fn probabilities(
    batch: &RecordBatch,
    list: Option<&str>,
    wide: &[String],
) -> Result<(Vec<f64>, usize)> {
    if !wide.is_empty() {
        let cols = wide
            .iter()
            .map(|c| floats(batch, c, "probability"))
            .collect::<Result<Vec<_>>>()?;
        let (n, k) = (batch.num_rows(), cols.len());
        let mut data = vec![0.0; n * k];
        for (j, c) in cols.iter().enumerate() {
            for (i, &v) in c.iter().enumerate() {
                data[i * k + j] = v;
            }
        }
        return Ok((data, k));
    }
    let name = list.ok_or_else(|| {
        Error::invalid(
            "probability columns",
            "none",
            "EvalColumns::score naming a list column, or the suite's probability_columns",
        )
    })?;
    let col = required(batch, name, "probability")?;
    let (values, k): (&ArrayRef, usize) = match col.data_type() {
        DataType::FixedSizeList(_, k) => (col.as_fixed_size_list().values(), *k as usize),
        DataType::List(_) => {
            let l = col.as_list::<i32>();
            let k = l.value_length(0) as usize;
            if let Some(r) = (0..l.len()).find(|&r| l.value_length(r) as usize != k) {
                return Err(Error::invalid(
                    format!("column {name:?} at row {r}"),
                    format!("{} probabilities", l.value_length(r)),
                    format!("{k}, as in row 0"),
                ));
            }
            (l.values(), k)
        }
        other => {
            return Err(Error::invalid(
                format!("type of probability column {name:?}"),
                other.to_string(),
                "a FixedSizeList or List of floats",
            ));
        }
    };
    let offset = match col.data_type() {
        DataType::List(_) => col.as_list::<i32>().value_offsets()[0] as usize,
        _ => col.offset() * k,
    };
    let flat = numbers(values.as_ref(), name, "probability")?;
    Ok((flat[offset..offset + batch.num_rows() * k].to_vec(), k))
}

/// A string or integer column as one segment label per row; nulls become `"null"`.
pub(crate) fn segments(batch: &RecordBatch, name: &str) -> Result<Vec<String>> {
    let col = column(batch, name, "slice")?;
    let text = |v: Option<&str>| v.unwrap_or("null").to_owned();
    Ok(match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().iter().map(text).collect(),
        DataType::LargeUtf8 => col.as_string::<i64>().iter().map(text).collect(),
        DataType::Utf8View => col.as_string_view().iter().map(text).collect(),
        DataType::Boolean => col
            .as_boolean()
            .iter()
            .map(|v| v.map_or("null".into(), |x| x.to_string()))
            .collect(),
        DataType::Int64 => col
            .as_primitive::<Int64Type>()
            .iter()
            .map(|v| v.map_or("null".into(), |x| x.to_string()))
            .collect(),
        DataType::Int32 => col
            .as_primitive::<Int32Type>()
            .iter()
            .map(|v| v.map_or("null".into(), |x| x.to_string()))
            .collect(),
        other => {
            return Err(Error::invalid(
                format!("type of slice column {name:?}"),
                other.to_string(),
                "a string, boolean or integer type",
            ));
        }
    })
}

/// The columns a suite reads, extracted once so slices and resamples reuse them.
#[derive(Clone, Debug)]
pub(crate) enum Columns {
    /// Classification: labels, predictions, and optionally the positive-class score
    /// (binary) or per-class probabilities (multiclass, `k` per row).
    Classes {
        y: Vec<i64>,
        p: Vec<i64>,
        s: Option<Vec<f64>>,
        proba: Option<(Vec<f64>, usize)>,
    },
    /// Regression: targets and predictions.
    Values { y: Vec<f64>, p: Vec<f64> },
}

impl Columns {
    /// Rows in the data.
    pub(crate) fn len(&self) -> usize {
        match self {
            Columns::Classes { y, .. } => y.len(),
            Columns::Values { y, .. } => y.len(),
        }
    }

    /// The same columns restricted to `rows` (which may repeat, for resamples).
    pub(crate) fn subset(&self, rows: &[usize]) -> Columns {
        fn pick<T: Copy>(v: &[T], rows: &[usize]) -> Vec<T> {
            rows.iter().map(|&i| v[i]).collect()
        }
        match self {
            Columns::Classes { y, p, s, proba } => Columns::Classes {
                y: pick(y, rows),
                p: pick(p, rows),
                s: s.as_ref().map(|s| pick(s, rows)),
                proba: proba.as_ref().map(|(d, k)| {
                    let mut out = Vec::with_capacity(rows.len() * k);
                    for &i in rows {
                        out.extend_from_slice(&d[i * k..(i + 1) * k]);
                    }
                    (out, *k)
                }),
            },
            Columns::Values { y, p } => Columns::Values {
                y: pick(y, rows),
                p: pick(p, rows),
            },
        }
    }
}

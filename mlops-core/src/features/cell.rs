//! One input value, read the same way from an Arrow column or from a JSON request, so that
//! training and serving feed identical values into the fitted transforms.

use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;

use crate::error::{Error, Result};

/// One input value of a feature column.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    /// Null, or a floating-point NaN (scikit-learn's `missing_values=np.nan`).
    Missing,
    /// An integer (kept exact for category keys).
    Integer(i128),
    /// A floating-point number.
    Number(f64),
    /// A boolean (`1.0`/`0.0` as a number, `"true"`/`"false"` as a category).
    Bool(bool),
    /// Text.
    Text(Cow<'a, str>),
}

impl Cell<'_> {
    /// The value as a number, `None` when missing; text is an error naming `column`.
    pub fn number(&self, column: &str) -> Result<Option<f64>> {
        match self {
            Cell::Missing => Ok(None),
            Cell::Integer(i) => Ok(Some(*i as f64)),
            Cell::Number(x) => Ok(Some(*x)),
            Cell::Bool(b) => Ok(Some(if *b { 1.0 } else { 0.0 })),
            Cell::Text(t) => Err(Error::invalid(
                format!("value of numeric feature column \"{column}\""),
                t.as_ref(),
                "a number (this column was fitted as numeric)",
            )),
        }
    }

    /// The value as a category key, `None` when missing. Integers print exactly, floats
    /// with Rust's shortest round-trip form (`3.0` prints as `3`; `-0.0` as `0`, one value
    /// with `0.0` as for numpy).
    pub fn category(&self) -> Option<Cow<'_, str>> {
        match self {
            Cell::Missing => None,
            Cell::Integer(i) => Some(Cow::Owned(i.to_string())),
            Cell::Number(x) => Some(Cow::Owned((x + 0.0).to_string())),
            Cell::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Cell::Text(t) => Some(Cow::Borrowed(t.as_ref())),
        }
    }

    /// Reads a JSON value: null, numbers, booleans and strings.
    pub fn from_json(value: &serde_json::Value) -> Result<Cell<'_>> {
        use serde_json::Value;
        Ok(match value {
            Value::Null => Cell::Missing,
            Value::Bool(b) => Cell::Bool(*b),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Cell::Integer(i as i128),
                (_, Some(u), _) => Cell::Integer(u as i128),
                (_, _, Some(x)) if x.is_nan() => Cell::Missing,
                (_, _, Some(x)) => Cell::Number(x),
                _ => {
                    return Err(Error::invalid(
                        "feature value",
                        n.to_string(),
                        "a finite number",
                    ));
                }
            },
            Value::String(s) => Cell::Text(Cow::Borrowed(s)),
            other => {
                return Err(Error::invalid(
                    "feature value",
                    other.to_string(),
                    "null, a boolean, a number or a string",
                ));
            }
        })
    }
}

/// Reads cells out of one Arrow column without copying it.
pub(crate) struct ColumnCells<'a> {
    array: &'a ArrayRef,
    kind: Kind<'a>,
}

enum Kind<'a> {
    Int,
    Float,
    Bool,
    Text,
    Dictionary {
        keys: Vec<usize>,
        values: Box<ColumnCells<'a>>,
    },
}

impl<'a> ColumnCells<'a> {
    /// Wraps a column; unsupported types are an error naming the column.
    pub(crate) fn new(column: &str, array: &'a ArrayRef) -> Result<Self> {
        let kind = match array.data_type() {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64 => Kind::Int,
            DataType::Float16 | DataType::Float32 | DataType::Float64 => Kind::Float,
            DataType::Boolean => Kind::Bool,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Kind::Text,
            DataType::Dictionary(_, _) => {
                let dict = array.as_any_dictionary();
                Kind::Dictionary {
                    keys: dict.normalized_keys(),
                    values: Box::new(ColumnCells::new(column, dict.values())?),
                }
            }
            other => {
                return Err(Error::invalid(
                    format!("type of feature column \"{column}\""),
                    other.to_string(),
                    "an integer, float, boolean, string or dictionary-of-string column",
                ));
            }
        };
        Ok(ColumnCells { array, kind })
    }

    /// The cell at `row`.
    pub(crate) fn get(&self, row: usize) -> Cell<'a> {
        if self.array.is_null(row) {
            return Cell::Missing;
        }
        let a = self.array;
        match &self.kind {
            Kind::Int => Cell::Integer(match a.data_type() {
                DataType::Int8 => a.as_primitive::<Int8Type>().value(row) as i128,
                DataType::Int16 => a.as_primitive::<Int16Type>().value(row) as i128,
                DataType::Int32 => a.as_primitive::<Int32Type>().value(row) as i128,
                DataType::Int64 => a.as_primitive::<Int64Type>().value(row) as i128,
                DataType::UInt8 => a.as_primitive::<UInt8Type>().value(row) as i128,
                DataType::UInt16 => a.as_primitive::<UInt16Type>().value(row) as i128,
                DataType::UInt32 => a.as_primitive::<UInt32Type>().value(row) as i128,
                _ => a.as_primitive::<UInt64Type>().value(row) as i128,
            }),
            Kind::Float => {
                let x = match a.data_type() {
                    DataType::Float16 => a.as_primitive::<Float16Type>().value(row).to_f64(),
                    DataType::Float32 => a.as_primitive::<Float32Type>().value(row) as f64,
                    _ => a.as_primitive::<Float64Type>().value(row),
                };
                if x.is_nan() {
                    Cell::Missing
                } else {
                    Cell::Number(x)
                }
            }
            Kind::Bool => Cell::Bool(a.as_boolean().value(row)),
            Kind::Text => Cell::Text(Cow::Borrowed(match a.data_type() {
                DataType::Utf8 => a.as_string::<i32>().value(row),
                DataType::LargeUtf8 => a.as_string::<i64>().value(row),
                _ => a.as_string_view().value(row),
            })),
            Kind::Dictionary { keys, values } => values.get(keys[row]),
        }
    }

    /// True when the column holds numbers or booleans (not text).
    pub(crate) fn is_numeric(&self) -> bool {
        match &self.kind {
            Kind::Int | Kind::Float | Kind::Bool => true,
            Kind::Text => false,
            Kind::Dictionary { values, .. } => values.is_numeric(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{DictionaryArray, Float32Array, Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn nan_and_null_are_missing() {
        let a: ArrayRef = Arc::new(Float32Array::from(vec![Some(1.5), None, Some(f32::NAN)]));
        let c = ColumnCells::new("x", &a).unwrap();
        assert_eq!(c.get(0), Cell::Number(1.5));
        assert_eq!(c.get(1), Cell::Missing);
        assert_eq!(c.get(2), Cell::Missing);
    }

    #[test]
    fn arrow_and_json_give_the_same_category_keys() {
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![3]));
        let c = ColumnCells::new("n", &ints).unwrap();
        let json = serde_json::json!(3);
        assert_eq!(
            c.get(0).category(),
            Cell::from_json(&json).unwrap().category()
        );
        let floats: ArrayRef = Arc::new(Float32Array::from(vec![3.0]));
        let f = ColumnCells::new("f", &floats).unwrap();
        assert_eq!(f.get(0).category().unwrap(), "3");
    }

    #[test]
    fn dictionary_columns_read_their_values() {
        let d: DictionaryArray<Int32Type> = vec!["a", "b", "a"].into_iter().collect();
        let a: ArrayRef = Arc::new(d);
        let c = ColumnCells::new("d", &a).unwrap();
        assert_eq!(c.get(2), Cell::Text(Cow::Borrowed("a")));
        assert!(!c.is_numeric());
        let s: ArrayRef = Arc::new(StringArray::from(vec!["x"]));
        assert!(!ColumnCells::new("s", &s).unwrap().is_numeric());
    }

    #[test]
    fn text_in_a_numeric_column_names_the_column() {
        let err = Cell::Text("abc".into())
            .number("age")
            .unwrap_err()
            .to_string();
        assert!(err.contains("age") && err.contains("abc"), "{err}");
    }
}

//! Arrow across the Python boundary through the Arrow PyCapsule interface: tables come in
//! from any object with `__arrow_c_stream__` (pyarrow tables and readers, pandas and
//! polars data frames) and go out as an [`PyArrowStream`] that pyarrow reads with
//! `pyarrow.table(stream)`. Buffers are shared, never copied.

use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::{RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow_schema::SchemaRef;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

/// The capsule name of the C stream interface.
const STREAM: &std::ffi::CStr = c"arrow_array_stream";

/// A table read from Python: its schema and batches (sharing Python's buffers).
pub struct Table {
    /// The schema.
    pub schema: SchemaRef,
    /// The batches.
    pub batches: Vec<RecordBatch>,
}

impl Table {
    /// The batches as one batch (a copy only when there is more than one).
    pub fn concat(&self) -> mlops_core::Result<RecordBatch> {
        arrow_select::concat::concat_batches(&self.schema, &self.batches).map_err(|e| {
            mlops_core::Error::invalid("table", e.to_string(), "batches of one schema")
        })
    }
}

/// Reads any object implementing `__arrow_c_stream__` without copying its buffers.
pub fn import(obj: &Bound<'_, PyAny>) -> PyResult<Table> {
    if !obj.hasattr("__arrow_c_stream__")? {
        return Err(PyTypeError::new_err(format!(
            "expected a table with __arrow_c_stream__ (pyarrow.Table, pandas.DataFrame >= 2.2, polars.DataFrame), got {}",
            obj.get_type().name()?
        )));
    }
    let capsule = obj.call_method0("__arrow_c_stream__")?;
    let capsule = capsule.cast::<PyCapsule>()?;
    let ptr = capsule.pointer_checked(Some(STREAM))?;
    // SAFETY: the capsule named "arrow_array_stream" holds an FFI_ArrowArrayStream (the
    // PyCapsule interface's contract); `from_raw` moves it out and marks the original
    // released, so the capsule's destructor does not release it again.
    let reader = unsafe { RecordBatchStreamReader::from_raw(ptr.as_ptr().cast()) }
        .map_err(|e| PyValueError::new_err(format!("Arrow stream: {e}")))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PyValueError::new_err(format!("Arrow stream: {e}")))?;
    Ok(Table { schema, batches })
}

/// Record batches handed to Python through the Arrow PyCapsule interface; read them once
/// with `pyarrow.table(stream)` or `pyarrow.RecordBatchReader.from_stream(stream)`.
#[pyclass(name = "ArrowStream", module = "mlops._mlops")]
pub struct PyArrowStream {
    schema: SchemaRef,
    batches: Option<Vec<RecordBatch>>,
}

impl PyArrowStream {
    /// Wraps batches of one schema.
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        PyArrowStream {
            schema,
            batches: Some(batches),
        }
    }
}

#[pymethods]
impl PyArrowStream {
    /// Exports the stream (once) as a PyCapsule. A `requested_schema` is not supported and
    /// is ignored, as the interface allows.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &mut self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let batches = self.batches.take().ok_or_else(|| {
            PyValueError::new_err("this ArrowStream was already consumed; streams are read once")
        })?;
        let reader: Box<dyn RecordBatchReader + Send> = Box::new(RecordBatchIterator::new(
            batches.into_iter().map(Ok),
            self.schema.clone(),
        ));
        let stream = FFI_ArrowArrayStream::new(reader);
        PyCapsule::new_with_value_and_destructor(py, stream, STREAM, |stream, _| drop(stream))
    }

    /// Rows in the stream (0 once consumed).
    fn __len__(&self) -> usize {
        self.batches
            .as_ref()
            .map_or(0, |b| b.iter().map(RecordBatch::num_rows).sum())
    }
}

/// An Arrow array from an object with `__arrow_c_array__`, imported without copying; a
/// NumPy array goes through `pyarrow.array` (zero-copy for numeric arrays) when pyarrow is
/// installed. `None` when the object offers neither.
fn import_array(obj: &Bound<'_, PyAny>) -> PyResult<Option<arrow_array::ArrayRef>> {
    use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi};
    let arrow_obj = if obj.hasattr("__arrow_c_array__")? {
        obj.clone()
    } else if obj.hasattr("__array_interface__")? {
        match obj.py().import("pyarrow") {
            Ok(pa) => match pa.call_method1("array", (obj,)) {
                Ok(a) => a,
                Err(_) => return Ok(None),
            },
            Err(_) => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    let pair = arrow_obj.call_method0("__arrow_c_array__")?;
    let (schema_capsule, array_capsule): (Bound<'_, PyCapsule>, Bound<'_, PyCapsule>) =
        pair.extract()?;
    let schema_ptr = schema_capsule.pointer_checked(Some(c"arrow_schema"))?;
    let array_ptr = array_capsule.pointer_checked(Some(c"arrow_array"))?;
    // SAFETY: the PyCapsule interface guarantees the capsules hold an FFI_ArrowSchema and an
    // FFI_ArrowArray; the array is moved out (its capsule's destructor then sees it
    // released) and the schema is only borrowed (its capsule releases it).
    let data = unsafe {
        let array = FFI_ArrowArray::from_raw(array_ptr.as_ptr().cast());
        let schema: &FFI_ArrowSchema = &*schema_ptr.as_ptr().cast::<FFI_ArrowSchema>();
        from_ffi(array, schema)
    }
    .map_err(|e| PyValueError::new_err(format!("Arrow array: {e}")))?;
    Ok(Some(arrow_array::make_array(data)))
}

/// A column of integers from Python: a pyarrow or NumPy array (shared, not copied, when it
/// is int64 without nulls) or any sequence of ints.
pub enum Ints {
    /// Converted or extracted values.
    Owned(Vec<i64>),
    /// An int64 Arrow array without nulls, read in place.
    Shared(arrow_array::ArrayRef),
}

impl Ints {
    /// The values.
    pub fn as_slice(&self) -> &[i64] {
        use arrow_array::cast::AsArray;
        match self {
            Ints::Owned(v) => v,
            Ints::Shared(a) => a.as_primitive::<arrow_array::types::Int64Type>().values(),
        }
    }
}

fn no_nulls(a: &dyn arrow_array::Array) -> PyResult<()> {
    if a.null_count() > 0 {
        return Err(PyValueError::new_err(format!(
            "the array has {} nulls; metrics need a value in every row",
            a.null_count()
        )));
    }
    Ok(())
}

impl<'a, 'py> FromPyObject<'a, 'py> for Ints {
    type Error = PyErr;

    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::*;
        use arrow_schema::DataType;
        let obj = obj.to_owned();
        let Some(a) = import_array(&obj)? else {
            return Ok(Ints::Owned(obj.extract()?));
        };
        no_nulls(a.as_ref())?;
        macro_rules! widen {
            ($t:ty) => {
                Ints::Owned(
                    a.as_primitive::<$t>()
                        .values()
                        .iter()
                        .map(|&v| v as i64)
                        .collect(),
                )
            };
        }
        Ok(match a.data_type() {
            DataType::Int64 => Ints::Shared(a),
            DataType::Int32 => widen!(Int32Type),
            DataType::Int16 => widen!(Int16Type),
            DataType::Int8 => widen!(Int8Type),
            DataType::UInt8 => widen!(UInt8Type),
            DataType::UInt16 => widen!(UInt16Type),
            DataType::UInt32 => widen!(UInt32Type),
            DataType::Boolean => {
                Ints::Owned(a.as_boolean().values().iter().map(i64::from).collect())
            }
            DataType::Float64 | DataType::Float32 => {
                let f: Vec<f64> = match a.data_type() {
                    DataType::Float64 => a.as_primitive::<Float64Type>().values().to_vec(),
                    _ => a
                        .as_primitive::<Float32Type>()
                        .values()
                        .iter()
                        .map(|&v| f64::from(v))
                        .collect(),
                };
                if let Some(v) = f.iter().find(|v| v.fract() != 0.0 || !v.is_finite()) {
                    return Err(PyValueError::new_err(format!(
                        "label {v} is not an integer; labels must be integers"
                    )));
                }
                Ints::Owned(f.into_iter().map(|v| v as i64).collect())
            }
            other => {
                return Err(PyTypeError::new_err(format!(
                    "expected integer labels, got an array of {other}"
                )));
            }
        })
    }
}

/// A column of floats from Python: a pyarrow or NumPy array (shared, not copied, when it is
/// float64 without nulls) or any sequence of numbers.
pub enum Floats {
    /// Converted or extracted values.
    Owned(Vec<f64>),
    /// A float64 Arrow array without nulls, read in place.
    Shared(arrow_array::ArrayRef),
}

impl Floats {
    /// The values.
    pub fn as_slice(&self) -> &[f64] {
        use arrow_array::cast::AsArray;
        match self {
            Floats::Owned(v) => v,
            Floats::Shared(a) => a.as_primitive::<arrow_array::types::Float64Type>().values(),
        }
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Floats {
    type Error = PyErr;

    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::*;
        use arrow_schema::DataType;
        let obj = obj.to_owned();
        let Some(a) = import_array(&obj)? else {
            return Ok(Floats::Owned(obj.extract()?));
        };
        no_nulls(a.as_ref())?;
        macro_rules! widen {
            ($t:ty) => {
                Floats::Owned(
                    a.as_primitive::<$t>()
                        .values()
                        .iter()
                        .map(|&v| v as f64)
                        .collect(),
                )
            };
        }
        Ok(match a.data_type() {
            DataType::Float64 => Floats::Shared(a),
            DataType::Float32 => widen!(Float32Type),
            DataType::Int64 => widen!(Int64Type),
            DataType::Int32 => widen!(Int32Type),
            DataType::Int8 => widen!(Int8Type),
            DataType::UInt8 => widen!(UInt8Type),
            DataType::Boolean => Floats::Owned(
                a.as_boolean()
                    .values()
                    .iter()
                    .map(|b| b as u8 as f64)
                    .collect(),
            ),
            other => {
                return Err(PyTypeError::new_err(format!(
                    "expected numbers, got an array of {other}"
                )));
            }
        })
    }
}

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

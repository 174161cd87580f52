//! Each Rust error kind becomes its own Python exception class. The classes live in
//! `mlops/exceptions.py` so that they can also derive from the built-in class a Python user
//! expects (`ValidationError` is a `ValueError`, `NotFoundError` a `KeyError`).

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// Maps a Rust error to its Python exception class.
pub fn to_py(e: mlops_core::Error) -> PyErr {
    use mlops_core::Error as E;
    let class = match &e {
        E::NotFound { .. } => "NotFoundError",
        E::AlreadyExists { .. } => "AlreadyExistsError",
        E::InvalidInput { .. } => "ValidationError",
        E::Conflict(_) => "ConflictError",
        E::Integrity { .. } => "IntegrityError",
        E::NotSupported(_) => "NotSupportedError",
        E::Training(_) => "TrainingError",
        E::Inference(_) => "InferenceError",
        _ => "StoreError",
    };
    let msg = e.to_string();
    Python::attach(|py| {
        let ty = py
            .import("mlops.exceptions")
            .and_then(|m| m.getattr(class))
            .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
        match ty {
            Ok(ty) => PyErr::from_type(ty, msg),
            Err(_) => PyRuntimeError::new_err(msg),
        }
    })
}

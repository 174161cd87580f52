//! Python bindings: a thin layer over the Rust crates, exposed as the `mlops` module.
//! Every call that does I/O releases the GIL; each Rust error kind raises its own
//! exception class (`mlops.NotFoundError`, `mlops.ValidationError`, ...).

mod arrow;
mod data;
mod detect;
mod errors;
mod evaluate;
mod serve;
mod stats;
mod store;
mod train;

use pyo3::prelude::*;

/// The version of the Rust library behind the module.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Parses a model reference (`name@3`, `name@champion`) into `(name, kind, value)`.
#[pyfunction]
fn parse_model_ref(spec: &str) -> PyResult<(String, String, String)> {
    let r: mlops_core::ModelRef = spec.parse().map_err(errors::to_py)?;
    let (kind, value) = match r.selector {
        mlops_core::VersionSelector::Version(v) => ("version", v.to_string()),
        mlops_core::VersionSelector::Alias(a) => ("alias", a),
        mlops_core::VersionSelector::Latest => ("latest", String::new()),
    };
    Ok((r.name, kind.to_owned(), value))
}

/// The `mlops._mlops` extension module.
#[pymodule]
fn _mlops(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(parse_model_ref, m)?)?;
    m.add_class::<store::PyStore>()?;
    m.add_class::<store::PyRun>()?;
    stats::register(m)?;
    data::register(m)?;
    train::register(m)?;
    evaluate::register(m)?;
    detect::register(m)?;
    serve::register(m)?;
    Ok(())
}

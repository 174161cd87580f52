//! `mlops.serve`: the Open Inference Protocol server from Python, serving registered models
//! on loopback (or any address) from threads of its own.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use futures::executor::block_on;
use mlops_core::learn::{DeviceSpec, Signature};
use mlops_core::{Error, Factory, ModelRef};
use mlops_serve::{InferenceModel, ModelRepository, ServerHandle, spawn};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;

use crate::arrow::import;
use crate::errors::to_py;
use crate::store::PyStore;
use crate::train::to_pyarrow;

/// A Python object as an [`InferenceModel`]: `predict(table) -> table` (or a dict of
/// columns), described by its `signature` (MLflow's form: `{"inputs": [{"name": "x", "type":
/// "double"}], "outputs": [...]}`).
struct PyModel {
    obj: Py<PyAny>,
    name: String,
    signature: Signature,
}

impl PyModel {
    fn new(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if !obj.hasattr("predict")? || !obj.hasattr("signature")? {
            return Err(PyTypeError::new_err(format!(
                "model {name}: a served Python model needs predict(table) and a signature attribute"
            )));
        }
        let py = obj.py();
        let json: String = py
            .import("mlops.serving")?
            .call_method1("_signature_json", (obj.getattr("signature")?,))?
            .extract()?;
        let signature: Signature = serde_json::from_str(&json).map_err(|e| {
            to_py(Error::invalid(
                format!("model {name} signature"),
                e.to_string(),
                "{\"inputs\": [{\"name\", \"type\"}], \"outputs\": [...]} with MLflow types",
            ))
        })?;
        Ok(PyModel {
            obj: obj.clone().unbind(),
            name: name.to_owned(),
            signature,
        })
    }
}

impl InferenceModel for PyModel {
    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn predict(&self, batch: &RecordBatch) -> mlops_core::Result<RecordBatch> {
        Python::attach(|py| -> PyResult<RecordBatch> {
            let table = to_pyarrow(py, batch.schema(), std::slice::from_ref(batch))?;
            let mut out = self.obj.bind(py).call_method1("predict", (table,))?;
            if !out.hasattr("__arrow_c_stream__")? {
                out = py.import("pyarrow")?.call_method1("table", (out,))?;
            }
            import(&out)?.concat().map_err(to_py)
        })
        .map_err(|e| Error::Inference(format!("Python model {}: {e}", self.name)))
    }

    fn platform(&self) -> &str {
        "python"
    }
}

/// A running server; `stop()` (or leaving its `with` block) shuts it down.
#[pyclass(module = "mlops._mlops", name = "Server", frozen)]
pub struct PyServer {
    handle: Mutex<Option<ServerHandle>>,
    url: String,
    models: Vec<String>,
}

#[pymethods]
impl PyServer {
    /// `http://host:port`.
    #[getter]
    fn url(&self) -> String {
        self.url.clone()
    }

    /// The models served, as `name@version`.
    #[getter]
    fn models(&self) -> Vec<String> {
        self.models.clone()
    }

    /// Stops accepting, finishes the requests in flight. Idempotent.
    fn stop(&self, py: Python<'_>) {
        let handle = self.handle.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            py.detach(|| h.stop());
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _t: Option<&Bound<'_, PyAny>>,
        _v: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        self.stop(py);
        false
    }

    fn __repr__(&self) -> String {
        format!("Server(url='{}', models={:?})", self.url, self.models)
    }
}

impl Drop for PyServer {
    /// A server dropped without `stop()` (at interpreter exit, say) is stopped with the GIL
    /// released, so a Python model still answering a request can finish.
    fn drop(&mut self) {
        let handle = self.handle.get_mut().ok().and_then(Option::take);
        if let Some(h) = handle {
            Python::attach(|py| py.detach(|| h.stop()));
        }
    }
}

/// Serves `models` (`churn@champion`, `fraud@3`) from `store` on `host:port` (port 0: a
/// free one). Each model is loaded with its digests verified before this returns.
#[pyfunction]
#[pyo3(signature = (store, models, host = "127.0.0.1", port = 0, custom = None))]
fn serve(
    py: Python<'_>,
    store: PyRef<'_, PyStore>,
    models: Vec<String>,
    host: &str,
    port: u16,
    custom: Option<HashMap<String, Bound<'_, PyAny>>>,
) -> PyResult<PyServer> {
    let mut custom_models = Vec::new();
    for (name, obj) in custom.unwrap_or_default() {
        let version: u64 = match obj.getattr("version") {
            Ok(v) => v.extract()?,
            Err(_) => 1,
        };
        let m: Arc<dyn InferenceModel> = Arc::new(PyModel::new(&name, &obj)?);
        custom_models.push((name, version, m));
    }
    let refs = models
        .iter()
        .map(|m| m.parse::<ModelRef>())
        .collect::<mlops_core::Result<Vec<_>>>()
        .map_err(to_py)?;
    let addr: SocketAddr = format!("{host}:{port}").parse().map_err(|_| {
        to_py(Error::invalid(
            "server address",
            format!("{host}:{port}"),
            "an IP address and a port",
        ))
    })?;
    let inner = store.sqlite().clone();
    let (handle, served) = py
        .detach(|| -> mlops_core::Result<(ServerHandle, Vec<String>)> {
            let factory = Factory::new(
                Arc::new(inner.clone()),
                Arc::new(inner.clone()),
                Arc::new(inner),
            );
            let repo = Arc::new(ModelRepository::new(factory, DeviceSpec::Cpu));
            let mut served = Vec::new();
            for r in &refs {
                let m = block_on(repo.load(r))?;
                served.push(format!("{}@{}", m.name, m.version));
            }
            for (name, version, m) in custom_models {
                let m = repo.insert(&name, version, m)?;
                served.push(format!("{}@{}", m.name, m.version));
            }
            Ok((spawn(repo, addr)?, served))
        })
        .map_err(to_py)?;
    Ok(PyServer {
        url: handle.url(),
        handle: Mutex::new(Some(handle)),
        models: served,
    })
}

/// Registers the classes and functions of this module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyServer>()?;
    m.add_function(wrap_pyfunction!(serve, m)?)?;
    Ok(())
}

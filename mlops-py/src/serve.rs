//! `mlops.serve`: the Open Inference Protocol server from Python, serving registered models
//! on loopback (or any address) from threads of its own.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures::executor::block_on;
use mlops_core::learn::DeviceSpec;
use mlops_core::{Error, Factory, ModelRef};
use mlops_serve::{ModelRepository, ServerHandle, spawn};
use pyo3::prelude::*;

use crate::errors::to_py;
use crate::store::PyStore;

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

/// Serves `models` (`churn@champion`, `fraud@3`) from `store` on `host:port` (port 0: a
/// free one). Each model is loaded with its digests verified before this returns.
#[pyfunction]
#[pyo3(signature = (store, models, host = "127.0.0.1", port = 0))]
fn serve(
    py: Python<'_>,
    store: PyRef<'_, PyStore>,
    models: Vec<String>,
    host: &str,
    port: u16,
) -> PyResult<PyServer> {
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

//! The HTTP server: the Open Inference Protocol's REST endpoints over a [`ModelRepository`].
//!
//! | route | answer |
//! |---|---|
//! | `GET /v2/health/live`, `GET /v2/health/ready` | 200 while serving (ready once every model given at start is loaded) |
//! | `GET /v2` | server metadata (`name`, `version`, `extensions`) |
//! | `GET /v2/models/{m}[/versions/{v}]` | model metadata: inputs and outputs with OIP datatypes |
//! | `GET /v2/models/{m}[/versions/{v}]/ready` | 200 when loaded, 404 otherwise |
//! | `POST /v2/models/{m}[/versions/{v}]/infer` | inference: JSON, or Triton's binary-data extension for inputs |
//!
//! Errors are OIP's `{"error": "..."}`: 400 for a bad request (naming the input and what was
//! expected), 404 for an unknown model or version, 500 when the model itself fails. `POST /infer` needs no `Content-Type`
//! (tritonclient sends none). Inference runs on the blocking pool, so slow models do not
//! stall the I/O threads.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use mlops_core::{Error, Result};
use serde_json::json;
use tokio::sync::oneshot;

use crate::oip::{InferResponse, decode_inputs, encode_outputs, parse_request};
use crate::repository::{ModelRepository, ServedModel};

fn error(status: StatusCode, e: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": e.to_string() }))).into_response()
}

fn status_of(e: &Error) -> StatusCode {
    if e.is_not_found() {
        StatusCode::NOT_FOUND
    } else if matches!(e, Error::InvalidInput { .. }) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

fn model(repo: &ModelRepository, name: &str, version: Option<&str>) -> Result<Arc<ServedModel>> {
    let m = repo.get(name)?;
    match version {
        Some(v) if v != m.version.to_string() => Err(Error::not_found(
            "model version",
            format!("{name}@{v} (serving version {})", m.version),
        )),
        _ => Ok(m),
    }
}

async fn live() -> StatusCode {
    StatusCode::OK
}

async fn server_metadata() -> Json<serde_json::Value> {
    Json(json!({
        "name": "mlops",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": ["binary_tensor_data"],
    }))
}

async fn metadata(
    State(repo): State<Arc<ModelRepository>>,
    Path(params): Path<Vec<(String, String)>>,
) -> Response {
    let (name, version) = name_version(&params);
    match model(&repo, name, version) {
        Ok(m) => Json(&m.metadata).into_response(),
        Err(e) => error(status_of(&e), e),
    }
}

async fn ready(
    State(repo): State<Arc<ModelRepository>>,
    Path(params): Path<Vec<(String, String)>>,
) -> Response {
    let (name, version) = name_version(&params);
    match model(&repo, name, version) {
        Ok(_) => StatusCode::OK.into_response(),
        Err(e) => error(status_of(&e), e),
    }
}

fn name_version(params: &[(String, String)]) -> (&str, Option<&str>) {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    (get("model").unwrap_or_default(), get("version"))
}

async fn infer(
    State(repo): State<Arc<ModelRepository>>,
    Path(params): Path<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (name, version) = name_version(&params);
    let served = match model(&repo, name, version) {
        Ok(m) => m,
        Err(e) => return error(status_of(&e), e),
    };
    let json_len = match headers.get("inference-header-content-length") {
        None => None,
        Some(v) => match v.to_str().ok().and_then(|s| s.trim().parse::<usize>().ok()) {
            Some(n) => Some(n),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Inference-Header-Content-Length is not a byte count",
                );
            }
        },
    };
    let work = tokio::task::spawn_blocking(move || -> Result<InferResponse> {
        let (req, binary) = parse_request(&body, json_len)?;
        let inputs = decode_inputs(&req, &binary, served.model.signature())?;
        let out = served.infer(&inputs)?;
        Ok(InferResponse {
            model_name: served.name.clone(),
            model_version: served.version.to_string(),
            id: req.id.clone(),
            outputs: encode_outputs(&out, req.outputs.as_deref())?,
        })
    });
    match work.await {
        Ok(Ok(resp)) => Json(resp).into_response(),
        Ok(Err(e)) => error(status_of(&e), e),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("inference task: {e}"),
        ),
    }
}

/// The OIP routes over `repo`.
pub fn router(repo: Arc<ModelRepository>) -> Router {
    Router::new()
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(live))
        .route("/v2", get(server_metadata))
        .route("/v2/models/{model}", get(metadata))
        .route("/v2/models/{model}/versions/{version}", get(metadata))
        .route("/v2/models/{model}/ready", get(ready))
        .route("/v2/models/{model}/versions/{version}/ready", get(ready))
        .route("/v2/models/{model}/infer", post(infer))
        .route("/v2/models/{model}/versions/{version}/infer", post(infer))
        .with_state(repo)
}

/// A server running on its own threads; dropping it (or [`ServerHandle::stop`]) shuts it
/// down gracefully.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerHandle {
    /// The address it listens on (the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, finishes the requests in flight, and waits for the threads.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

/// Serves `repo` on `addr` (port 0 picks a free port) from a runtime of its own, so a
/// synchronous host (a Python program, a CLI) can start it. Binding errors (the port in
/// use) are returned here.
pub fn spawn(repo: Arc<ModelRepository>, addr: SocketAddr) -> Result<ServerHandle> {
    let listener = std::net::TcpListener::bind(addr).map_err(|e| {
        Error::invalid(
            "server address",
            format!("{addr}: {e}"),
            "a free address to bind",
        )
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::invalid("server address", e.to_string(), "a bound socket"))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::invalid("server socket", e.to_string(), "a non-blocking socket"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("mlops-serve")
        .enable_io()
        .build()
        .map_err(|e| Error::invalid("server runtime", e.to_string(), "a tokio runtime"))?;
    let (tx, rx) = oneshot::channel::<()>();
    let app = router(repo);
    let thread = std::thread::Builder::new()
        .name("mlops-serve-main".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        })
        .map_err(|e| Error::invalid("server thread", e.to_string(), "a thread"))?;
    Ok(ServerHandle {
        addr,
        shutdown: Some(tx),
        thread: Some(thread),
    })
}

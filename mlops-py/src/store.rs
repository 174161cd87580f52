//! The embedded store in Python: `mlops.Store`, runs as context managers, the registry.
//! Every call into the store releases the GIL.

use std::collections::HashMap;
use std::path::PathBuf;

use futures::executor::block_on;
use mlops_core::{
    Change, CreateRunOptions, Downsample, HistoryOptions, Metric, ModelRef, ModelVersion,
    NewModelVersion, Param, Registry, Run, RunId, RunStatus, SearchRunsOptions, SqliteStore, Tag,
    Tracker, TrainOptions, now_ms,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::to_py;

fn run_id(s: &str) -> PyResult<RunId> {
    s.parse().map_err(to_py)
}

/// A store folder: SQLite metadata plus content-addressed artifacts.
#[pyclass(module = "mlops._mlops", name = "Store", frozen)]
pub struct PyStore {
    inner: SqliteStore,
}

impl PyStore {
    /// The store behind this object.
    pub(crate) fn sqlite(&self) -> &SqliteStore {
        &self.inner
    }
}

#[pymethods]
impl PyStore {
    /// Opens (creating if needed) the store in folder `path`.
    #[new]
    #[pyo3(signature = (path = PathBuf::from(".mlops")))]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = py.detach(|| SqliteStore::open(&path)).map_err(to_py)?;
        Ok(PyStore { inner })
    }

    /// The store's folder.
    #[getter]
    fn root(&self) -> String {
        self.inner.root().display().to_string()
    }

    /// Creates an experiment and returns its id.
    #[pyo3(signature = (name, tags = None))]
    fn create_experiment(
        &self,
        py: Python<'_>,
        name: &str,
        tags: Option<HashMap<String, String>>,
    ) -> PyResult<String> {
        let tags: Vec<Tag> = tags
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| Tag::new(k, v))
            .collect();
        let id = py
            .detach(|| block_on(self.inner.create_experiment(name, &tags, None)))
            .map_err(to_py)?;
        Ok(id.to_string())
    }

    /// The id of the experiment named `name`, created if missing.
    fn get_or_create_experiment(&self, py: Python<'_>, name: &str) -> PyResult<String> {
        py.detach(|| {
            block_on(async {
                match self.inner.get_experiment_by_name(name).await {
                    Ok(e) => Ok(e.experiment_id.to_string()),
                    Err(e) if e.is_not_found() => Ok(self
                        .inner
                        .create_experiment(name, &[], None)
                        .await?
                        .to_string()),
                    Err(e) => Err(e),
                }
            })
        })
        .map_err(to_py)
    }

    /// Starts a run in `experiment` (a name; created if missing). Use it as a context
    /// manager: the run ends FINISHED, or FAILED when the block raises.
    #[pyo3(signature = (experiment = "Default", run_name = None, tags = None, parent_run_id = None))]
    fn start_run(
        &self,
        py: Python<'_>,
        experiment: &str,
        run_name: Option<String>,
        tags: Option<HashMap<String, String>>,
        parent_run_id: Option<&str>,
    ) -> PyResult<PyRun> {
        let exp = self.get_or_create_experiment(py, experiment)?;
        let parent = parent_run_id.map(run_id).transpose()?;
        let options = CreateRunOptions {
            run_name,
            tags: tags
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| Tag::new(k, v))
                .collect(),
            parent_run_id: parent,
            ..CreateRunOptions::new(exp.as_str().into())
        };
        let info = py
            .detach(|| block_on(self.inner.create_run(options)))
            .map_err(to_py)?;
        Ok(PyRun {
            store: self.inner.clone(),
            run_id: info.run_id,
        })
    }

    /// A run as a dict: `info`, `metrics` (latest values), `params`, `tags`, `inputs`.
    fn get_run<'py>(&self, py: Python<'py>, run_id: &str) -> PyResult<Bound<'py, PyDict>> {
        let id = self::run_id(run_id)?;
        let run = py
            .detach(|| block_on(self.inner.get_run(&id)))
            .map_err(to_py)?;
        run_to_dict(py, &run)
    }

    /// Searches runs with MLflow's filter language (plus OR, NOT, parentheses).
    #[pyo3(signature = (filter = "", order_by = None, max_results = 1000, experiment_names = None))]
    fn search_runs<'py>(
        &self,
        py: Python<'py>,
        filter: &str,
        order_by: Option<Vec<String>>,
        max_results: usize,
        experiment_names: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let page = py
            .detach(|| {
                block_on(async {
                    let mut ids = Vec::new();
                    for name in experiment_names.unwrap_or_default() {
                        ids.push(
                            self.inner
                                .get_experiment_by_name(&name)
                                .await?
                                .experiment_id,
                        );
                    }
                    let options = SearchRunsOptions {
                        experiment_ids: ids,
                        filter: filter.to_owned(),
                        order_by: order_by.unwrap_or_default(),
                        max_results,
                        ..Default::default()
                    };
                    self.inner.search_runs(options).await
                })
            })
            .map_err(to_py)?;
        let list = PyList::empty(py);
        for run in &page.runs {
            list.append(run_to_dict(py, run)?)?;
        }
        Ok(list)
    }

    /// The history of a metric as `(step, timestamp, value)` tuples, optionally reduced to
    /// `max_points` (method `"m4"` or `"lttb"`).
    #[pyo3(signature = (run_id, key, max_points = None, method = "m4"))]
    fn get_metric_history(
        &self,
        py: Python<'_>,
        run_id: &str,
        key: &str,
        max_points: Option<usize>,
        method: &str,
    ) -> PyResult<Vec<(i64, i64, f64)>> {
        let id = self::run_id(run_id)?;
        let method = match method {
            "m4" => Downsample::M4,
            "lttb" => Downsample::Lttb,
            other => {
                return Err(to_py(mlops_core::Error::invalid(
                    "downsampling method",
                    other,
                    "\"m4\" or \"lttb\"",
                )));
            }
        };
        let options = HistoryOptions {
            max_points,
            method: Some(method),
        };
        let points = py
            .detach(|| block_on(self.inner.get_metric_history(&id, key, options)))
            .map_err(to_py)?;
        Ok(points
            .into_iter()
            .map(|p| (p.step, p.timestamp, p.value))
            .collect())
    }

    /// Makes every logged metric point durable.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| block_on(self.inner.flush())).map_err(to_py)
    }

    /// Trains `trainer` (a `BurnTrainer`, or any object with `fit(train, label, validation,
    /// run)` and `save() -> dict[str, bytes]`) on `train` (a table, or a callable data
    /// source) in a tracked run; registers the model as `register_as` when given. Returns
    /// `{"run_id", "package", "metrics", "model"}`.
    #[pyo3(signature = (trainer, train, label, *, validation = None, experiment = "Default",
        run_name = None, seed = 0, register_as = None, params = None))]
    #[allow(clippy::too_many_arguments)]
    fn train<'py>(
        &self,
        py: Python<'py>,
        trainer: &Bound<'py, PyAny>,
        train: &Bound<'py, PyAny>,
        label: &str,
        validation: Option<&Bound<'py, PyAny>>,
        experiment: &str,
        run_name: Option<String>,
        seed: u64,
        register_as: Option<String>,
        params: Option<HashMap<String, String>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let mut options = TrainOptions::new(experiment).seed(seed);
        options.run_name = run_name;
        options.register_as = register_as;
        options.params = params
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| Param::new(k, v))
            .collect();
        crate::train::train(py, &self.inner, trainer, train, label, validation, options)
    }

    /// A registered model's files (every digest verified), as `{"model", "trainer",
    /// "run_id", "files": {name: bytes}}`.
    fn load_model<'py>(&self, py: Python<'py>, model: &str) -> PyResult<Bound<'py, PyDict>> {
        crate::train::load_model(py, &self.inner, model)
    }

    /// A registered burn model loaded for prediction.
    fn predictor(&self, py: Python<'_>, model: &str) -> PyResult<crate::train::PyPredictor> {
        crate::train::predictor(py, &self.inner, model)
    }

    /// Registers a new version of model `name` (created if missing); returns it as a dict.
    #[pyo3(signature = (name, source, run_id = None, description = ""))]
    fn register_model<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        source: &str,
        run_id: Option<&str>,
        description: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let new = NewModelVersion {
            name: name.to_owned(),
            source: source.to_owned(),
            run_id: run_id.map(self::run_id).transpose()?,
            description: description.to_owned(),
            ..Default::default()
        };
        let mv = py
            .detach(|| block_on(self.inner.create_model_version(new)))
            .map_err(to_py)?;
        version_to_dict(py, &mv)
    }

    /// Points `alias` at `version` of model `name`; recorded in the audit log.
    #[pyo3(signature = (name, alias, version, actor = "", reason = ""))]
    fn set_alias(
        &self,
        py: Python<'_>,
        name: &str,
        alias: &str,
        version: u64,
        actor: &str,
        reason: &str,
    ) -> PyResult<()> {
        let change = Change::new(actor, reason);
        py.detach(|| block_on(self.inner.set_alias(name, alias, version, &change)))
            .map_err(to_py)
    }

    /// Resolves `name@3`, `name@champion` or `name@latest` to a version dict.
    fn get_model_version<'py>(&self, py: Python<'py>, model: &str) -> PyResult<Bound<'py, PyDict>> {
        let r: ModelRef = model.parse().map_err(to_py)?;
        let mv = py
            .detach(|| block_on(self.inner.resolve(&r)))
            .map_err(to_py)?;
        version_to_dict(py, &mv)
    }

    /// Audit log entries (oldest first), optionally only those whose entity starts with
    /// `prefix` (e.g. `"model:churn"`).
    #[pyo3(signature = (prefix = None))]
    fn audit_log<'py>(
        &self,
        py: Python<'py>,
        prefix: Option<&str>,
    ) -> PyResult<Bound<'py, PyList>> {
        let events = py
            .detach(|| block_on(self.inner.audit_log(prefix)))
            .map_err(to_py)?;
        let list = PyList::empty(py);
        for e in events {
            let d = PyDict::new(py);
            d.set_item("seq", e.seq)?;
            d.set_item("time", e.time)?;
            d.set_item("actor", e.actor)?;
            d.set_item("action", e.action)?;
            d.set_item("entity", e.entity)?;
            d.set_item("detail", e.detail.to_string())?;
            d.set_item("reason", e.reason)?;
            list.append(d)?;
        }
        Ok(list)
    }

    fn __repr__(&self) -> String {
        format!("Store({:?})", self.root())
    }
}

/// A run being logged. Logging a metric only enqueues it (microseconds); it becomes durable
/// when the run ends or the store is flushed.
#[pyclass(module = "mlops._mlops", name = "Run", frozen)]
pub struct PyRun {
    store: SqliteStore,
    run_id: RunId,
}

impl PyRun {
    /// The store and the run's id, for the other modules that record into a run.
    pub(crate) fn parts(&self) -> (&SqliteStore, &RunId) {
        (&self.store, &self.run_id)
    }
}

#[pymethods]
impl PyRun {
    /// The run id (32 hex digits).
    #[getter]
    fn run_id(&self) -> String {
        self.run_id.to_string()
    }

    /// Logs a param (write-once; its value is stored as `str(value)`).
    fn log_param(&self, py: Python<'_>, key: &str, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let p = Param::new(key, value.str()?.to_string());
        py.detach(|| block_on(self.store.log_param(&self.run_id, &p)))
            .map_err(to_py)
    }

    /// Logs several params at once.
    fn log_params(&self, py: Python<'_>, params: &Bound<'_, PyDict>) -> PyResult<()> {
        let mut out = Vec::with_capacity(params.len());
        for (k, v) in params.iter() {
            out.push(Param::new(k.str()?.to_string(), v.str()?.to_string()));
        }
        py.detach(|| block_on(self.store.log_batch(&self.run_id, &[], &out, &[])))
            .map_err(to_py)
    }

    /// Logs one metric point (enqueued; NaN and infinities are kept).
    #[pyo3(signature = (key, value, step = 0, timestamp = None))]
    fn log_metric(
        &self,
        key: String,
        value: f64,
        step: i64,
        timestamp: Option<i64>,
    ) -> PyResult<()> {
        let m = Metric {
            key,
            value,
            step,
            timestamp: timestamp.unwrap_or_else(now_ms),
        };
        self.store.log_metric(&self.run_id, m).map_err(to_py)
    }

    /// Logs several metrics at the same step.
    #[pyo3(signature = (metrics, step = 0, timestamp = None))]
    fn log_metrics(
        &self,
        metrics: HashMap<String, f64>,
        step: i64,
        timestamp: Option<i64>,
    ) -> PyResult<()> {
        let batch = metrics_at(metrics, step, timestamp.unwrap_or_else(now_ms));
        self.store.log_metrics(&self.run_id, &batch).map_err(to_py)
    }

    /// Sets a tag (mutable).
    fn set_tag(&self, py: Python<'_>, key: &str, value: &str) -> PyResult<()> {
        let t = Tag::new(key, value);
        py.detach(|| block_on(self.store.set_tag(&self.run_id, &t)))
            .map_err(to_py)
    }

    /// Ends the run (`"FINISHED"`, `"FAILED"` or `"KILLED"`), flushing its metrics.
    #[pyo3(signature = (status = "FINISHED"))]
    fn end(&self, py: Python<'_>, status: &str) -> PyResult<()> {
        let status: RunStatus = status.parse().map_err(to_py)?;
        py.detach(|| block_on(self.store.end_run(&self.run_id, status)))
            .map_err(to_py)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.end(
            py,
            if exc_type.is_some() {
                "FAILED"
            } else {
                "FINISHED"
            },
        )?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("Run({})", self.run_id)
    }
}

/// Metrics logged together: one step, one timestamp.
pub(crate) fn metrics_at(metrics: HashMap<String, f64>, step: i64, timestamp: i64) -> Vec<Metric> {
    metrics
        .into_iter()
        .map(|(key, value)| Metric {
            key,
            value,
            step,
            timestamp,
        })
        .collect()
}

fn run_to_dict<'py>(py: Python<'py>, run: &Run) -> PyResult<Bound<'py, PyDict>> {
    let info = PyDict::new(py);
    info.set_item("run_id", run.info.run_id.to_string())?;
    info.set_item("experiment_id", run.info.experiment_id.to_string())?;
    info.set_item("run_name", &run.info.run_name)?;
    info.set_item("user_id", &run.info.user_id)?;
    info.set_item("status", run.info.status.as_str())?;
    info.set_item("start_time", run.info.start_time)?;
    info.set_item("end_time", run.info.end_time)?;
    info.set_item("artifact_uri", &run.info.artifact_uri)?;
    info.set_item("lifecycle_stage", run.info.lifecycle_stage.as_str())?;
    let metrics = PyDict::new(py);
    for (k, m) in &run.data.metrics {
        metrics.set_item(k, m.value)?;
    }
    let inputs = PyList::empty(py);
    for i in &run.inputs {
        let d = PyDict::new(py);
        d.set_item("digest", i.dataset.id.as_str())?;
        d.set_item("name", &i.dataset.name)?;
        d.set_item("context", &i.context)?;
        inputs.append(d)?;
    }
    let out = PyDict::new(py);
    out.set_item("info", info)?;
    out.set_item("metrics", metrics)?;
    out.set_item("params", run.data.params.clone())?;
    out.set_item("tags", run.data.tags.clone())?;
    out.set_item("inputs", inputs)?;
    Ok(out)
}

fn version_to_dict<'py>(py: Python<'py>, mv: &ModelVersion) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", &mv.name)?;
    d.set_item("version", mv.version)?;
    d.set_item("source", &mv.source)?;
    d.set_item("run_id", mv.run_id.map(|r| r.to_string()))?;
    d.set_item("artifact_digest", mv.artifact_digest.map(|r| r.to_hex()))?;
    d.set_item("description", &mv.description)?;
    d.set_item("status", mv.status.as_str())?;
    d.set_item("aliases", mv.aliases.clone())?;
    d.set_item("tags", mv.tags.clone())?;
    d.set_item("creation_time", mv.creation_time)?;
    Ok(d)
}

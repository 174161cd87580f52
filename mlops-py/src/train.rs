//! Training and prediction from Python, and Python objects as the factory's traits.
//!
//! - A Python object with `fit(train, label, validation, run)` and `save() -> {name: bytes}`
//!   is a [`Trainer`] ([`PyTrainer`]): [`Factory::train`] runs it in a tracked run (config as
//!   params, dataset ids as inputs, its metrics, its files as digest-addressed artifacts) and
//!   registers the model with lineage, exactly as it runs the built-in burn trainer.
//! - `BurnTrainer(config_json)` is the built-in trainer, configured from JSON.
//! - A registered model comes back with every file's digest verified (`Store.load_model`);
//!   a burn model loads as a `Predictor` that predicts a table or one row.
//! - A Python callable returning Arrow tables is a [`DataSource`] ([`PySource`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::executor::block_on;
use mlops_core::learn::{BurnTrainer, DeviceSpec, Predictor, TrainerConfig};
use mlops_core::{
    BatchStream, CancelToken, Completion, DataSource, Error, Factory, Metric, ModelRef, RunId,
    ScanOptions, SqliteStore, Tracker, TrainContext, TrainOptions, TrainedModel, Trainer,
    TrainingData, now_ms,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::arrow::{PyArrowStream, Table, import};
use crate::errors::to_py;

/// The run a Python trainer's `fit` reports to: `run.log_metric("loss", 0.3, step=1)`.
#[pyclass(module = "mlops._mlops", name = "TrainingRun", frozen)]
pub struct PyTrainingRun {
    run_id: RunId,
    tracker: Arc<dyn Tracker>,
    seed: u64,
    cancel: CancelToken,
}

#[pymethods]
impl PyTrainingRun {
    /// The run's id.
    #[getter]
    fn run_id(&self) -> String {
        self.run_id.to_string()
    }

    /// The seed every random choice should derive from.
    #[getter]
    fn seed(&self) -> u64 {
        self.seed
    }

    /// Whether the training was asked to stop (check it between epochs).
    #[getter]
    fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Logs a metric at `step` (enqueued; cheap enough for every step).
    #[pyo3(signature = (key, value, step = 0))]
    fn log_metric(&self, key: String, value: f64, step: i64) -> PyResult<()> {
        let m = Metric {
            key,
            value,
            step,
            timestamp: now_ms(),
        };
        self.tracker.log_metric(&self.run_id, m).map_err(to_py)
    }

    /// Logs several metrics at the same step.
    #[pyo3(signature = (metrics, step = 0))]
    fn log_metrics(&self, metrics: HashMap<String, f64>, step: i64) -> PyResult<()> {
        let batch = crate::store::metrics_at(metrics, step, now_ms());
        self.tracker
            .log_metrics(&self.run_id, &batch)
            .map_err(to_py)
    }

    fn __repr__(&self) -> String {
        format!("TrainingRun(run_id='{}')", self.run_id)
    }
}

/// Batches as a `pyarrow.Table` (buffers shared through the PyCapsule interface).
pub(crate) fn to_pyarrow<'py>(
    py: Python<'py>,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> PyResult<Bound<'py, PyAny>> {
    let stream = Py::new(py, PyArrowStream::new(schema, batches.to_vec()))?;
    py.import("pyarrow")?.call_method1("table", (stream,))
}

/// A Python object as a [`Trainer`].
///
/// Protocol: `fit(train: pyarrow.Table, label: str, validation: pyarrow.Table | None, run:
/// TrainingRun) -> dict[str, float] | None` (the returned metrics are the model's final
/// metrics) and `save() -> dict[str, bytes]` (the model's files, in a format the trainer
/// chooses: no pickle is ever written by the factory). Optional: a `name` attribute (else the
/// class name) and `config() -> dict` (logged as the run's params).
pub struct PyTrainer {
    obj: Py<PyAny>,
    name: String,
    config: serde_json::Value,
}

impl PyTrainer {
    /// Wraps `obj`, checking it has `fit` and `save`, and reading its name and config.
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        for method in ["fit", "save"] {
            if !obj.hasattr(method)? {
                return Err(PyTypeError::new_err(format!(
                    "a trainer needs fit(train, label, validation, run) and save() -> dict[str, bytes]; {} has no {method}",
                    obj.get_type().name()?
                )));
            }
        }
        let name: String = match obj.getattr("name") {
            Ok(n) => n.extract()?,
            Err(_) => obj.get_type().name()?.to_string(),
        };
        let config = if obj.hasattr("config")? {
            let c = obj.call_method0("config")?;
            let text: String = obj
                .py()
                .import("json")?
                .call_method1("dumps", (c,))?
                .extract()?;
            serde_json::from_str(&text).map_err(|e| {
                PyTypeError::new_err(format!("{name}.config() is not JSON-serializable: {e}"))
            })?
        } else {
            serde_json::Value::Null
        };
        Ok(PyTrainer {
            obj: obj.clone().unbind(),
            name,
            config,
        })
    }
}

impl Trainer for PyTrainer {
    fn name(&self) -> &str {
        &self.name
    }

    fn config(&self) -> serde_json::Value {
        self.config.clone()
    }

    fn train(&self, ctx: &TrainContext, data: &TrainingData) -> mlops_core::Result<TrainedModel> {
        let schema = data
            .train
            .first()
            .map(RecordBatch::schema)
            .ok_or_else(|| Error::invalid("training rows", "no batch", "at least one batch"))?;
        Python::attach(|py| -> PyResult<TrainedModel> {
            let train = to_pyarrow(py, schema, &data.train)?;
            let validation = match &data.eval {
                Some((b, _)) if !b.is_empty() => to_pyarrow(py, b[0].schema(), b)?,
                _ => py.None().into_bound(py),
            };
            let run = Py::new(
                py,
                PyTrainingRun {
                    run_id: ctx.run_id,
                    tracker: ctx.tracker.clone(),
                    seed: ctx.seed,
                    cancel: ctx.cancel.clone(),
                },
            )?;
            let obj = self.obj.bind(py);
            let out = obj.call_method1("fit", (train, &data.label, validation, run))?;
            let metrics: BTreeMap<String, f64> = if out.is_none() {
                BTreeMap::new()
            } else {
                out.extract()?
            };
            let saved = obj.call_method0("save")?;
            let saved: BTreeMap<String, Vec<u8>> = saved.extract().map_err(|_| {
                PyTypeError::new_err(format!(
                    "{}.save() must return dict[str, bytes] (the model's files)",
                    self.name
                ))
            })?;
            Ok(TrainedModel {
                files: saved
                    .into_iter()
                    .map(|(k, v)| (k, Bytes::from(v)))
                    .collect(),
                metrics,
                epochs: 1,
                completion: if ctx.cancel.is_cancelled() {
                    Completion::Cancelled("cancelled".into())
                } else {
                    Completion::Finished
                },
            })
        })
        .map_err(|e| Error::Training(format!("Python trainer {}: {e}", self.name)))
    }
}

/// The built-in burn trainer (MLP or logistic regression, feature pipeline, early stopping),
/// configured from a JSON `TrainerConfig`.
#[pyclass(module = "mlops._mlops", name = "BurnTrainer", frozen)]
pub struct PyBurnTrainer {
    inner: Arc<BurnTrainer>,
}

#[pymethods]
impl PyBurnTrainer {
    /// Parses the configuration (`{"model": "logistic_regression", "epochs": 30, ...}`); a
    /// bad configuration raises `ValidationError` naming what is wrong.
    #[new]
    fn new(config_json: &str) -> PyResult<Self> {
        let config: TrainerConfig = serde_json::from_str(config_json).map_err(|e| {
            to_py(Error::invalid(
                "trainer config",
                e.to_string(),
                "a TrainerConfig as JSON ({\"model\": ..., \"epochs\": ..., \"optimizer\": ...})",
            ))
        })?;
        Ok(PyBurnTrainer {
            inner: Arc::new(BurnTrainer::new(config)),
        })
    }

    /// The configuration as JSON.
    fn config_json(&self) -> String {
        self.inner.config().to_string()
    }
}

/// A Python callable as a [`DataSource`]: each scan calls it and reads what it returns (one
/// table, or an iterable of tables or record batches, anything with `__arrow_c_stream__`).
/// The scan options are applied after the call (projection, limit, batch size). The call
/// that learns the schema also serves the first scan, so reading once calls it once.
pub struct PySource {
    func: Py<PyAny>,
    name: String,
    schema: SchemaRef,
    first: std::sync::Mutex<Option<Vec<RecordBatch>>>,
}

impl PySource {
    fn call(func: &Bound<'_, PyAny>) -> PyResult<(SchemaRef, Vec<RecordBatch>)> {
        let out = func.call0()?;
        if out.hasattr("__arrow_c_stream__")? {
            let Table { schema, batches } = import(&out)?;
            return Ok((schema, batches));
        }
        let mut schema = None;
        let mut batches = Vec::new();
        for item in out.try_iter()? {
            let Table {
                schema: s,
                batches: b,
            } = import(&item?)?;
            match &schema {
                None => schema = Some(s),
                Some(first) if first.fields() != s.fields() => {
                    return Err(to_py(Error::invalid(
                        "data source schema",
                        s.to_string(),
                        format!("the schema of its first table: {first}"),
                    )));
                }
                Some(_) => {}
            }
            batches.extend(b);
        }
        let schema = schema.ok_or_else(|| {
            to_py(Error::invalid(
                "data source",
                "no table",
                "at least one table (the schema comes from the first)",
            ))
        })?;
        Ok((schema, batches))
    }

    /// Wraps `func`, calling it once to learn the schema.
    pub fn new(func: &Bound<'_, PyAny>) -> PyResult<Self> {
        if !func.is_callable() {
            return Err(PyTypeError::new_err(format!(
                "a data source is a callable returning Arrow tables; got {}",
                func.get_type().name()?
            )));
        }
        let (schema, batches) = Self::call(func)?;
        let name = func
            .getattr("__name__")
            .and_then(|n| n.extract::<String>())
            .unwrap_or_else(|_| "python".into());
        Ok(PySource {
            func: func.clone().unbind(),
            name,
            schema,
            first: std::sync::Mutex::new(Some(batches)),
        })
    }
}

#[async_trait]
impl DataSource for PySource {
    fn name(&self) -> &str {
        &self.name
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    async fn scan(&self, options: ScanOptions) -> mlops_core::Result<BatchStream> {
        let cached = self.first.lock().ok().and_then(|mut f| f.take());
        let batches = match cached {
            Some(b) => b,
            None => {
                Python::attach(|py| Self::call(self.func.bind(py)))
                    .map_err(|e| {
                        Error::invalid(
                            "Python data source",
                            e.to_string(),
                            "a callable returning Arrow tables",
                        )
                    })?
                    .1
            }
        };
        let mut out = Vec::new();
        let mut left = options.limit.unwrap_or(usize::MAX);
        for b in batches {
            if left == 0 {
                break;
            }
            let b = match &options.projection {
                Some(cols) => {
                    let idx = cols
                        .iter()
                        .map(|c| {
                            b.schema().index_of(c).map_err(|_| {
                                Error::invalid("projected column", c, "a column of the source")
                            })
                        })
                        .collect::<mlops_core::Result<Vec<_>>>()?;
                    b.project(&idx)
                        .map_err(|e| Error::invalid("projection", e.to_string(), "valid columns"))?
                }
                None => b,
            };
            let b = b.slice(0, b.num_rows().min(left));
            left -= b.num_rows();
            match options.batch_size {
                Some(size) if size > 0 && b.num_rows() > size => {
                    let mut at = 0;
                    while at < b.num_rows() {
                        let len = size.min(b.num_rows() - at);
                        out.push(Ok(b.slice(at, len)));
                        at += len;
                    }
                }
                _ => out.push(Ok(b)),
            }
        }
        Ok(futures::stream::iter(out).boxed())
    }
}

/// Every batch of a scan of `source`, through the [`DataSource`] trait.
pub fn scan_all(
    source: &dyn DataSource,
    options: ScanOptions,
) -> mlops_core::Result<Vec<RecordBatch>> {
    block_on(async {
        let mut stream = source.scan(options).await?;
        let mut out = Vec::new();
        while let Some(b) = stream.next().await {
            out.push(b?);
        }
        Ok(out)
    })
}

/// A table from Python: anything with `__arrow_c_stream__`, or a callable data source.
pub fn table_or_source(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Table> {
    if obj.is_callable() && !obj.hasattr("__arrow_c_stream__")? {
        let source = PySource::new(obj)?;
        let schema = source.schema();
        let batches = py
            .detach(|| scan_all(&source, ScanOptions::default()))
            .map_err(to_py)?;
        return Ok(Table { schema, batches });
    }
    import(obj)
}

/// A model loaded for prediction (burn models trained by `BurnTrainer`), digests verified.
#[pyclass(module = "mlops._mlops", name = "Predictor", frozen)]
pub struct PyPredictor {
    // Boxed: a `Predictor` holds burn tensors aligned to 64 bytes, more than Python's
    // allocator guarantees for the object itself.
    inner: Box<Predictor>,
}

#[pymethods]
impl PyPredictor {
    /// Predicts every row of a table: the predictions (and class probabilities) as a table.
    fn predict(&self, py: Python<'_>, table: &Bound<'_, PyAny>) -> PyResult<PyArrowStream> {
        let Table { batches, .. } = table_or_source(py, table)?;
        let out = py
            .detach(|| {
                batches
                    .iter()
                    .map(|b| self.inner.predict(b))
                    .collect::<mlops_core::Result<Vec<_>>>()
            })
            .map_err(to_py)?;
        let schema = match out.first() {
            Some(b) => b.schema(),
            None => {
                return Err(to_py(Error::invalid(
                    "table",
                    "no rows",
                    "at least one row",
                )));
            }
        };
        Ok(PyArrowStream::new(schema, out))
    }

    /// Predicts one row given as JSON (`{"x": 1.5, "colour": "red"}`), exactly as the batch
    /// path would; returns `{"value": ..., "probabilities": [...]}` as JSON.
    fn predict_row_json(&self, py: Python<'_>, row_json: &str) -> PyResult<String> {
        let row: serde_json::Value = serde_json::from_str(row_json).map_err(|e| {
            to_py(Error::invalid(
                "row",
                e.to_string(),
                "a JSON object of feature values",
            ))
        })?;
        let p = py.detach(|| self.inner.predict_row(&row)).map_err(to_py)?;
        Ok(serde_json::json!({"value": p.value, "probabilities": p.probabilities}).to_string())
    }

    /// The model's signature (inputs and outputs) as JSON.
    fn signature_json(&self) -> String {
        serde_json::to_string(self.inner.signature()).unwrap_or_default()
    }

    /// The registered version (`name@version`), if loaded from the registry.
    #[getter]
    fn model(&self) -> Option<String> {
        self.inner
            .version()
            .map(|v| format!("{}@{}", v.name, v.version))
    }
}

fn factory(store: &SqliteStore) -> Factory {
    Factory::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
    )
}

/// What `Store.train` returns.
fn outcome_dict<'py>(
    py: Python<'py>,
    outcome: &mlops_core::TrainOutcome,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("run_id", outcome.run_id.to_string())?;
    d.set_item("package", outcome.package.to_hex())?;
    d.set_item("metrics", outcome.model.metrics.clone())?;
    d.set_item(
        "model",
        outcome
            .version
            .as_ref()
            .map(|v| format!("{}@{}", v.name, v.version)),
    )?;
    Ok(d)
}

/// Trains `trainer` (a `BurnTrainer` or a Python object with `fit`/`save`) on `train` in a
/// tracked run of `experiment`, registering the model as `register_as` when given.
#[allow(clippy::too_many_arguments)]
pub fn train<'py>(
    py: Python<'py>,
    store: &SqliteStore,
    trainer: &Bound<'py, PyAny>,
    train: &Bound<'py, PyAny>,
    label: &str,
    validation: Option<&Bound<'py, PyAny>>,
    options: TrainOptions,
) -> PyResult<Bound<'py, PyDict>> {
    let trainer: Arc<dyn Trainer> = match trainer.cast::<PyBurnTrainer>() {
        Ok(b) => b.get().inner.clone(),
        Err(_) => Arc::new(PyTrainer::new(trainer)?),
    };
    let dataset = |t: Table| -> PyResult<(Vec<RecordBatch>, mlops_core::DatasetId)> {
        let id = py
            .detach(|| mlops_data::fingerprint::dataset_id(&t.schema, &t.batches))
            .map_err(to_py)?;
        Ok((t.batches, id))
    };
    let (train_batches, train_id) = dataset(table_or_source(py, train)?)?;
    let eval = validation
        .map(|v| table_or_source(py, v).and_then(dataset))
        .transpose()?;
    let data = TrainingData {
        train: train_batches,
        train_id,
        eval,
        label: label.to_owned(),
    };
    let f = factory(store);
    let outcome = py
        .detach(|| block_on(f.train(trainer, data, options)))
        .map_err(to_py)?;
    outcome_dict(py, &outcome)
}

/// A registered model's files (digests verified) with its version and trainer.
pub fn load_model<'py>(
    py: Python<'py>,
    store: &SqliteStore,
    model: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let r: ModelRef = model.parse().map_err(to_py)?;
    let f = factory(store);
    let loaded = py.detach(|| block_on(f.load_model(&r))).map_err(to_py)?;
    let files = PyDict::new(py);
    for (name, bytes) in &loaded.files {
        files.set_item(name, PyBytes::new(py, bytes))?;
    }
    let d = PyDict::new(py);
    d.set_item(
        "model",
        format!("{}@{}", loaded.version.name, loaded.version.version),
    )?;
    d.set_item("trainer", &loaded.index.trainer)?;
    d.set_item(
        "run_id",
        loaded.version.run_id.as_ref().map(|r| r.to_string()),
    )?;
    d.set_item("files", files)?;
    Ok(d)
}

/// A burn model from the registry, ready to predict.
pub fn predictor(py: Python<'_>, store: &SqliteStore, model: &str) -> PyResult<PyPredictor> {
    let r: ModelRef = model.parse().map_err(to_py)?;
    let f = factory(store);
    let inner = py
        .detach(|| block_on(Predictor::load(&f, &r, DeviceSpec::Cpu)))
        .map_err(to_py)?;
    Ok(PyPredictor {
        inner: Box::new(inner),
    })
}

/// Reads a callable data source through the [`DataSource`] trait, with a projection and a
/// row limit applied by its scan.
#[pyfunction]
#[pyo3(signature = (func, columns = None, limit = None))]
fn read_source(
    py: Python<'_>,
    func: &Bound<'_, PyAny>,
    columns: Option<Vec<String>>,
    limit: Option<usize>,
) -> PyResult<PyArrowStream> {
    let source = PySource::new(func)?;
    let options = ScanOptions {
        projection: columns,
        batch_size: None,
        limit,
    };
    let batches = py.detach(|| scan_all(&source, options)).map_err(to_py)?;
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => source.schema(),
    };
    Ok(PyArrowStream::new(schema, batches))
}

/// Registers the classes of this module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(read_source, m)?)?;
    m.add_class::<PyTrainingRun>()?;
    m.add_class::<PyBurnTrainer>()?;
    m.add_class::<PyPredictor>()?;
    Ok(())
}

//! `mlops.evaluate`: the default evaluation suite from Python, with Python callables as
//! custom metrics (computed on the table, every slice and bootstrap resample), and the
//! results recorded into a run.

use std::collections::HashMap;

use futures::executor::block_on;
use mlops_core::{Error, EvalColumns};
use mlops_eval::compare::BootstrapOptions;
use mlops_eval::evaluator::{
    CustomMetric, EvaluationSuite, MetricInput, Slice, Task, record_evaluation,
};
use mlops_eval::gates::{Direction, GateRule};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use crate::arrow::import;
use crate::errors::to_py;
use crate::store::PyRun;

/// A NumPy array of `values` (one copy), or a list when NumPy is missing.
fn array<'py, T: Copy + IntoPyObject<'py>>(
    py: Python<'py>,
    values: &[T],
    dtype: &str,
    to_bytes: impl Fn(T) -> [u8; 8],
) -> PyResult<Bound<'py, PyAny>> {
    match py.import("numpy") {
        Ok(np) => {
            let bytes: Vec<u8> = values.iter().flat_map(|v| to_bytes(*v)).collect();
            np.call_method1("frombuffer", (PyBytes::new(py, &bytes), dtype))
        }
        Err(_) => Ok(values.to_vec().into_pyobject(py)?.into_any()),
    }
}

/// A Python callable as a custom metric: `f(y_true, y_pred)`, or with `(f, "score")`
/// `f(y_true, y_score)` as scikit-learn's scorers distinguish them.
fn custom(name: String, spec: &Bound<'_, PyAny>) -> PyResult<CustomMetric> {
    let (func, use_score) = if let Ok(t) = spec.cast::<PyTuple>() {
        let f = t.get_item(0)?;
        let kind: String = t.get_item(1)?.extract()?;
        match kind.as_str() {
            "score" => (f, true),
            "prediction" => (f, false),
            other => {
                return Err(to_py(Error::invalid(
                    "custom metric input",
                    format!("{name}: {other}"),
                    "\"prediction\" or \"score\"",
                )));
            }
        }
    } else {
        (spec.clone(), false)
    };
    if !func.is_callable() {
        return Err(PyTypeError::new_err(format!(
            "custom metric {name}: expected a callable f(y_true, y_pred), got {}",
            func.get_type().name()?
        )));
    }
    let func = func.unbind();
    let metric = name.clone();
    Ok(CustomMetric::new(name, move |rows: &MetricInput<'_>| {
        Python::attach(|py| -> PyResult<f64> {
            let (y, second) = match *rows {
                MetricInput::Classes { y_true, y_pred, score } => {
                    let y = array(py, y_true, "int64", i64::to_ne_bytes)?;
                    let second = if use_score {
                        let s = score.ok_or_else(|| {
                            PyTypeError::new_err(format!(
                                "custom metric {metric} asks for scores, but the evaluation has no score column"
                            ))
                        })?;
                        array(py, s, "float64", f64::to_ne_bytes)?
                    } else {
                        array(py, y_pred, "int64", i64::to_ne_bytes)?
                    };
                    (y, second)
                }
                MetricInput::Values { y_true, y_pred } => (
                    array(py, y_true, "float64", f64::to_ne_bytes)?,
                    array(py, y_pred, "float64", f64::to_ne_bytes)?,
                ),
            };
            func.bind(py).call1((y, second))?.extract::<f64>()
        })
        .map_err(|e| Error::invalid(format!("custom metric {metric:?}"), e.to_string(), "a float"))
    }))
}

fn gate(g: &Bound<'_, PyDict>) -> PyResult<GateRule> {
    let metric: String = g
        .get_item("metric")?
        .ok_or_else(|| PyTypeError::new_err("a gate needs \"metric\""))?
        .extract()?;
    let threshold: f64 = g
        .get_item("threshold")?
        .ok_or_else(|| PyTypeError::new_err(format!("gate {metric}: needs \"threshold\"")))?
        .extract()?;
    let direction = match g.get_item("direction")? {
        None => Direction::GreaterIsBetter,
        Some(d) => match d.extract::<String>()?.as_str() {
            "greater" | "greater_is_better" => Direction::GreaterIsBetter,
            "less" | "less_is_better" => Direction::LessIsBetter,
            other => {
                return Err(to_py(Error::invalid(
                    "gate direction",
                    format!("{metric}: {other}"),
                    "\"greater\" or \"less\"",
                )));
            }
        },
    };
    Ok(GateRule::threshold(metric, direction, threshold))
}

/// Runs an evaluation suite on a table of labels, predictions (and scores); returns the
/// result as JSON. Records every value into `run` when given.
#[pyfunction]
#[pyo3(signature = (table, label, prediction, *, score = None, task = "binary", metrics = None,
    slices = None, custom_metrics = None, gates = None, bootstrap = 0, seed = 0,
    name = "default", run = None))]
#[allow(clippy::too_many_arguments)]
fn evaluate(
    py: Python<'_>,
    table: &Bound<'_, PyAny>,
    label: String,
    prediction: String,
    score: Option<String>,
    task: &str,
    metrics: Option<Vec<String>>,
    slices: Option<Vec<String>>,
    custom_metrics: Option<HashMap<String, Bound<'_, PyAny>>>,
    gates: Option<Vec<Bound<'_, PyDict>>>,
    bootstrap: usize,
    seed: u64,
    name: &str,
    run: Option<PyRef<'_, PyRun>>,
) -> PyResult<String> {
    let task = match task {
        "binary" => Task::Binary,
        "multiclass" => Task::Multiclass,
        "regression" => Task::Regression,
        other => {
            return Err(to_py(Error::invalid(
                "task",
                other,
                "binary, multiclass or regression",
            )));
        }
    };
    let mut customs = Vec::new();
    let mut named: Vec<_> = custom_metrics.unwrap_or_default().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    for (n, spec) in named {
        customs.push(custom(n, &spec)?);
    }
    let suite = EvaluationSuite {
        name: name.to_owned(),
        task,
        metrics: metrics.unwrap_or_default(),
        slices: slices
            .unwrap_or_default()
            .into_iter()
            .map(Slice::column)
            .collect(),
        gates: gates
            .unwrap_or_default()
            .iter()
            .map(gate)
            .collect::<PyResult<_>>()?,
        bootstrap: (bootstrap > 0).then(|| BootstrapOptions {
            resamples: bootstrap,
            seed,
            ..Default::default()
        }),
        custom_metrics: customs,
        ..Default::default()
    };
    let batch = import(table)?.concat().map_err(to_py)?;
    let columns = EvalColumns {
        label,
        prediction,
        score,
    };
    let run = run.map(|r| {
        let (store, id) = r.parts();
        (store.clone(), *id)
    });
    py.detach(|| {
        let result = suite.run(&batch, &columns)?;
        if let Some((store, id)) = &run {
            block_on(record_evaluation(store, id, &result))?;
        }
        serde_json::to_string(&result)
            .map_err(|e| Error::invalid("evaluation result", e.to_string(), "serializable"))
    })
    .map_err(to_py)
}

/// Registers the functions of this module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    Ok(())
}

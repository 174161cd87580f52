//! The default [`Evaluator`]: a named suite of metrics (binary, multiclass or regression),
//! per-slice metrics and gates over an Arrow table of labels, predictions and scores, with
//! the result recorded in a [`Tracker`] run.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use mlops_core::{
    Error, EvalColumns, EvalResult, Evaluator, Metric, Param, Result, RunId, Tracker, now_ms,
};

use crate::compare::EvalManifest;
use crate::gates::{GateReport, GateRule, Observation, evaluate_gate};
use crate::metrics::{self, Average, PrfOptions, ScoreMatrix, ZeroDivision};

/// What kind of model a suite evaluates, which decides its metric set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Task {
    /// Labels 0/1 with an optional score for class 1: accuracy, balanced accuracy,
    /// precision, recall, F1, MCC, and with scores ROC AUC, average precision, log loss,
    /// Brier.
    #[default]
    Binary,
    /// Integer labels: accuracy, balanced accuracy, macro and weighted F1, MCC, Cohen's kappa.
    Multiclass,
    /// Float targets and predictions: MAE, MSE, RMSE, MAPE, median absolute error, R²,
    /// explained variance.
    Regression,
}

/// A named evaluation suite: its metrics, optionally one metric per slice of a column, and
/// gates judged on the metrics.
#[derive(Clone, Debug, Default)]
pub struct EvaluationSuite {
    /// The suite's name (recorded with the results).
    pub name: String,
    /// Which metric set.
    pub task: Task,
    /// Gates judged on the computed metrics (no champion: threshold rules only).
    pub gates: Vec<GateRule>,
    /// Compute the primary metric (accuracy, or MAE for regression) per value of this
    /// string column; reported as `slice/<column>=<value>/<metric>` with a `/count`.
    pub slice_by: Option<String>,
}

/// A column that must exist and hold no null; the errors name the column and the row.
fn required<'a>(batch: &'a RecordBatch, name: &str, what: &'static str) -> Result<&'a ArrayRef> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| Error::invalid(format!("{what} column"), name, "a column of the table"))?;
    if let Some(row) = (0..col.len()).find(|&r| col.is_null(r)) {
        return Err(Error::invalid(
            format!("column {name:?} at row {row}"),
            "null",
            format!("a {what}"),
        ));
    }
    Ok(col)
}

fn labels(batch: &RecordBatch, name: &str) -> Result<Vec<i64>> {
    let col = required(batch, name, "label")?;
    Ok(match col.data_type() {
        DataType::Int64 => col.as_primitive::<Int64Type>().values().to_vec(),
        DataType::Int32 => col
            .as_primitive::<Int32Type>()
            .values()
            .iter()
            .map(|&v| v as i64)
            .collect(),
        DataType::Boolean => col
            .as_boolean()
            .iter()
            .map(|v| v.unwrap_or(false) as i64)
            .collect(),
        other => {
            return Err(Error::invalid(
                format!("type of column {name:?}"),
                other.to_string(),
                "Int64, Int32 or Boolean",
            ));
        }
    })
}

/// A string (or integer) column as one label per row; nulls become `"null"`.
fn arrow_cast_strings(col: &dyn Array, name: &str) -> Result<Vec<String>> {
    Ok(match col.data_type() {
        DataType::Utf8 => col
            .as_string::<i32>()
            .iter()
            .map(|v| v.unwrap_or("null").to_owned())
            .collect(),
        DataType::LargeUtf8 => col
            .as_string::<i64>()
            .iter()
            .map(|v| v.unwrap_or("null").to_owned())
            .collect(),
        DataType::Int64 => col
            .as_primitive::<Int64Type>()
            .iter()
            .map(|v| v.map_or("null".into(), |x| x.to_string()))
            .collect(),
        DataType::Int32 => col
            .as_primitive::<Int32Type>()
            .iter()
            .map(|v| v.map_or("null".into(), |x| x.to_string()))
            .collect(),
        other => {
            return Err(Error::invalid(
                format!("type of slice column {name:?}"),
                other.to_string(),
                "a string or integer type",
            ));
        }
    })
}

fn scores(batch: &RecordBatch, name: &str) -> Result<Vec<f64>> {
    let col = required(batch, name, "score")?;
    Ok(match col.data_type() {
        DataType::Float64 => col.as_primitive::<Float64Type>().values().to_vec(),
        DataType::Float32 => col
            .as_primitive::<Float32Type>()
            .values()
            .iter()
            .map(|&v| v as f64)
            .collect(),
        other => {
            return Err(Error::invalid(
                format!("type of column {name:?}"),
                other.to_string(),
                "Float64 or Float32",
            ));
        }
    })
}

/// The columns a suite reads, extracted once so slices reuse them.
enum Columns {
    Classes {
        y: Vec<i64>,
        p: Vec<i64>,
        s: Option<Vec<f64>>,
    },
    Values {
        y: Vec<f64>,
        p: Vec<f64>,
    },
}

impl Columns {
    /// The same columns restricted to `rows`.
    fn subset(&self, rows: &[usize]) -> Columns {
        fn pick<T: Copy>(v: &[T], rows: &[usize]) -> Vec<T> {
            rows.iter().map(|&i| v[i]).collect()
        }
        match self {
            Columns::Classes { y, p, s } => Columns::Classes {
                y: pick(y, rows),
                p: pick(p, rows),
                s: s.as_ref().map(|s| pick(s, rows)),
            },
            Columns::Values { y, p } => Columns::Values {
                y: pick(y, rows),
                p: pick(p, rows),
            },
        }
    }
}

impl EvaluationSuite {
    /// Reads the columns the task needs, once.
    fn read(&self, batch: &RecordBatch, columns: &EvalColumns) -> Result<Columns> {
        Ok(match self.task {
            Task::Regression => Columns::Values {
                y: scores(batch, &columns.label)?,
                p: scores(batch, &columns.prediction)?,
            },
            Task::Binary | Task::Multiclass => Columns::Classes {
                y: labels(batch, &columns.label)?,
                p: labels(batch, &columns.prediction)?,
                s: match (&columns.score, self.task) {
                    (Some(score), Task::Binary) => Some(scores(batch, score)?),
                    _ => None,
                },
            },
        })
    }

    /// Computes the metrics on already-read columns: positive class 1 and
    /// `zero_division = 0` for classification.
    fn compute(&self, data: &Columns) -> Result<BTreeMap<String, f64>> {
        let mut m = BTreeMap::new();
        match self.task {
            Task::Regression => {
                let Columns::Values { y, p } = data else {
                    return Err(Error::invalid(
                        "columns",
                        "labels",
                        "values for a regression suite",
                    ));
                };
                m.insert("mae".into(), metrics::mean_absolute_error(y, p, None)?);
                m.insert("mse".into(), metrics::mean_squared_error(y, p, None)?);
                m.insert("rmse".into(), metrics::root_mean_squared_error(y, p, None)?);
                m.insert(
                    "mape".into(),
                    metrics::mean_absolute_percentage_error(y, p, None)?,
                );
                m.insert(
                    "median_absolute_error".into(),
                    metrics::median_absolute_error(y, p, None)?,
                );
                m.insert("r2".into(), metrics::r2_score(y, p, None, true)?);
                m.insert(
                    "explained_variance".into(),
                    metrics::explained_variance_score(y, p, None, true)?,
                );
            }
            Task::Multiclass => {
                let Columns::Classes { y, p, .. } = data else {
                    return Err(Error::invalid(
                        "columns",
                        "values",
                        "labels for a classification suite",
                    ));
                };
                let opts = |average| PrfOptions {
                    average,
                    zero_division: ZeroDivision::Zero,
                    ..Default::default()
                };
                m.insert(
                    "accuracy".into(),
                    metrics::accuracy_score(y, p, true, None)?,
                );
                m.insert(
                    "balanced_accuracy".into(),
                    metrics::balanced_accuracy_score(y, p, None, false)?,
                );
                m.insert(
                    "f1_macro".into(),
                    metrics::f1_score(y, p, &opts(Average::Macro))?,
                );
                m.insert(
                    "f1_weighted".into(),
                    metrics::f1_score(y, p, &opts(Average::Weighted))?,
                );
                m.insert(
                    "matthews_corrcoef".into(),
                    metrics::matthews_corrcoef(y, p, None)?,
                );
                m.insert(
                    "cohen_kappa".into(),
                    metrics::cohen_kappa_score(y, p, &Default::default())?,
                );
            }
            Task::Binary => {
                let Columns::Classes { y, p, s } = data else {
                    return Err(Error::invalid(
                        "columns",
                        "values",
                        "labels for a classification suite",
                    ));
                };
                let prf = PrfOptions {
                    average: Average::Binary,
                    zero_division: ZeroDivision::Zero,
                    ..Default::default()
                };
                m.insert(
                    "accuracy".into(),
                    metrics::accuracy_score(y, p, true, None)?,
                );
                m.insert(
                    "balanced_accuracy".into(),
                    metrics::balanced_accuracy_score(y, p, None, false)?,
                );
                m.insert("precision".into(), metrics::precision_score(y, p, &prf)?);
                m.insert("recall".into(), metrics::recall_score(y, p, &prf)?);
                m.insert("f1".into(), metrics::f1_score(y, p, &prf)?);
                m.insert(
                    "matthews_corrcoef".into(),
                    metrics::matthews_corrcoef(y, p, None)?,
                );
                if let Some(s) = s {
                    let col = ScoreMatrix::column(s);
                    m.insert(
                        "roc_auc".into(),
                        metrics::roc_auc_score(y, col, &Default::default())?,
                    );
                    m.insert(
                        "average_precision".into(),
                        metrics::average_precision_score(y, col, &Default::default())?,
                    );
                    m.insert(
                        "log_loss".into(),
                        metrics::log_loss(y, col, &Default::default())?,
                    );
                    m.insert(
                        "brier".into(),
                        metrics::brier_score_loss(y, col, &Default::default())?,
                    );
                }
            }
        }
        Ok(m)
    }

    /// Computes the metrics, and the primary metric per slice when `slice_by` is set.
    pub fn metrics(
        &self,
        batch: &RecordBatch,
        columns: &EvalColumns,
    ) -> Result<BTreeMap<String, f64>> {
        let data = self.read(batch, columns)?;
        let mut m = self.compute(&data)?;
        if let Some(col) = &self.slice_by {
            let primary = if self.task == Task::Regression {
                "mae"
            } else {
                "accuracy"
            };
            let values = batch
                .column_by_name(col)
                .ok_or_else(|| Error::invalid("slice column", col, "a column of the table"))?;
            let values = arrow_cast_strings(values.as_ref(), col)?;
            let segments: Vec<&str> = values.iter().map(String::as_str).collect();
            let slices = crate::slices::by_segment(&segments, |rows| {
                self.compute(&data.subset(rows))?
                    .get(primary)
                    .copied()
                    .ok_or_else(|| Error::invalid("slice metric", primary, "a metric of the suite"))
            })?;
            for (name, v) in slices {
                if name == "*" {
                    continue;
                }
                m.insert(format!("slice/{col}={name}/count"), v.count as f64);
                if let Some(value) = v.value {
                    m.insert(format!("slice/{col}={name}/{primary}"), value);
                }
            }
        }
        Ok(m)
    }

    /// Computes the metrics and judges the gates.
    pub fn run(
        &self,
        batch: &RecordBatch,
        columns: &EvalColumns,
    ) -> Result<(BTreeMap<String, f64>, GateReport)> {
        let m = self.metrics(batch, columns)?;
        let obs = m
            .iter()
            .map(|(k, &v)| {
                (
                    k.clone(),
                    Observation {
                        candidate: v,
                        ..Default::default()
                    },
                )
            })
            .collect();
        let gates = evaluate_gate(&self.gates, &obs);
        Ok((m, gates))
    }
}

impl Evaluator for EvaluationSuite {
    fn name(&self) -> &str {
        &self.name
    }

    fn evaluate(&self, batch: &RecordBatch, columns: &EvalColumns) -> Result<EvalResult> {
        let (metrics, gates) = self.run(batch, columns)?;
        Ok(EvalResult {
            metrics,
            passed: (!self.gates.is_empty()).then_some(gates.passed),
        })
    }
}

/// Records an evaluation in a run: metrics under `eval/<suite>/<name>`, the manifest as
/// params, and the gate report (every rule with its values and reason) as a tag.
pub async fn record_evaluation(
    tracker: &dyn Tracker,
    run: &RunId,
    suite: &str,
    manifest: &EvalManifest,
    metrics: &BTreeMap<String, f64>,
    gates: Option<&GateReport>,
) -> Result<()> {
    let ts = now_ms();
    let points: Vec<Metric> = metrics
        .iter()
        .map(|(k, &v)| Metric {
            key: format!("eval/{suite}/{k}"),
            value: v,
            timestamp: ts,
            step: 0,
        })
        .collect();
    let params = [
        Param::new(format!("eval/{suite}/dataset_id"), &manifest.dataset_id),
        Param::new(format!("eval/{suite}/split"), &manifest.split),
        Param::new(format!("eval/{suite}/seed"), manifest.seed),
        Param::new(
            format!("eval/{suite}/metrics_version"),
            &manifest.metrics_version,
        ),
        Param::new(format!("eval/{suite}/model_digest"), &manifest.model_digest),
    ];
    let mut tags = Vec::new();
    if let Some(g) = gates {
        let json = serde_json::to_string(g)
            .map_err(|e| Error::invalid("gate report", "JSON", e.to_string()))?;
        tags.push(mlops_core::Tag::new(format!("eval/{suite}/gates"), json));
        tags.push(mlops_core::Tag::new(
            format!("eval/{suite}/passed"),
            g.passed.to_string(),
        ));
    }
    tracker.log_batch(run, &points, &params, &tags).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int64Array};
    use arrow_schema::{Field, Schema};

    use super::*;
    use crate::gates::Direction;

    fn table() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("y", DataType::Int64, false),
            Field::new("pred", DataType::Int64, false),
            Field::new("p1", DataType::Float64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![0, 0, 1, 1, 1, 0])),
                Arc::new(Int64Array::from(vec![0, 1, 1, 1, 0, 0])),
                Arc::new(Float64Array::from(vec![0.1, 0.6, 0.8, 0.9, 0.4, 0.2])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn the_suite_computes_metrics_and_judges_gates() {
        let suite = EvaluationSuite {
            name: "offline".into(),
            gates: vec![
                GateRule::threshold("accuracy", Direction::GreaterIsBetter, 0.6),
                GateRule::threshold("roc_auc", Direction::GreaterIsBetter, 0.95),
            ],
            ..Default::default()
        };
        let cols = EvalColumns {
            label: "y".into(),
            prediction: "pred".into(),
            score: Some("p1".into()),
        };
        let (m, g) = suite.run(&table(), &cols).unwrap();
        assert!((m["accuracy"] - 4.0 / 6.0).abs() < 1e-15);
        // roc_auc: 8 of 9 positive/negative pairs ordered correctly.
        assert!((m["roc_auc"] - 8.0 / 9.0).abs() < 1e-15, "{m:?}");
        assert_eq!(
            g.outcomes.iter().map(|o| o.passed).collect::<Vec<_>>(),
            [true, false]
        );
        let r = suite.evaluate(&table(), &cols).unwrap();
        assert_eq!(r.passed, Some(false));
        let bad = EvalColumns {
            label: "nope".into(),
            ..cols
        };
        assert!(
            suite
                .evaluate(&table(), &bad)
                .unwrap_err()
                .to_string()
                .contains("nope")
        );
    }

    #[test]
    fn regression_and_multiclass_suites_and_slices() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("y", DataType::Float64, false),
            Field::new("pred", DataType::Float64, false),
            Field::new("country", DataType::Utf8, false),
        ]));
        let b = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Float64Array::from(vec![1.0, 2.0, 3.0, 4.0])),
                Arc::new(Float64Array::from(vec![1.5, 2.0, 2.0, 4.0])),
                Arc::new(arrow_array::StringArray::from(vec!["fr", "fr", "de", "de"])),
            ],
        )
        .unwrap();
        let suite = EvaluationSuite {
            name: "reg".into(),
            task: Task::Regression,
            slice_by: Some("country".into()),
            ..Default::default()
        };
        let cols = EvalColumns {
            label: "y".into(),
            prediction: "pred".into(),
            score: None,
        };
        let m = suite.metrics(&b, &cols).unwrap();
        assert_eq!(m["mae"], 0.375);
        assert_eq!(m["slice/country=fr/mae"], 0.25);
        assert_eq!(m["slice/country=de/mae"], 0.5);
        assert_eq!(m["slice/country=de/count"], 2.0);

        let multi = EvaluationSuite {
            name: "mc".into(),
            task: Task::Multiclass,
            ..Default::default()
        };
        let m = multi
            .metrics(
                &table(),
                &EvalColumns {
                    label: "y".into(),
                    prediction: "pred".into(),
                    score: None,
                },
            )
            .unwrap();
        assert!(
            (m["accuracy"] - 4.0 / 6.0).abs() < 1e-15
                && m.contains_key("f1_macro")
                && m.contains_key("cohen_kappa")
        );
    }
}

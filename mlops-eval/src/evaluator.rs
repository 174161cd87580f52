//! The default [`Evaluator`]: a named suite of binary-classification metrics and gates over
//! an Arrow table of labels, predictions and scores, with the result recorded in a
//! [`Tracker`] run.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use mlops_core::{
    Error, EvalColumns, EvalResult, Evaluator, Metric, Param, Result, RunId, Tracker, now_ms,
};

use crate::compare::EvalManifest;
use crate::gates::{GateReport, GateRule, Observation, evaluate_gate};
use crate::metrics::{self, Average, PrfOptions, ScoreMatrix, ZeroDivision};

/// A named evaluation suite for binary classifiers: every metric below is computed, then
/// every gate is judged on them.
#[derive(Clone, Debug, Default)]
pub struct BinaryClassificationSuite {
    /// The suite's name (recorded with the results).
    pub name: String,
    /// Gates judged on the computed metrics (no champion: threshold rules only).
    pub gates: Vec<GateRule>,
}

fn labels(batch: &RecordBatch, name: &str) -> Result<Vec<i64>> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| Error::invalid("label column", name, "a column of the table"))?;
    if let Some(row) = (0..col.len()).find(|&r| col.is_null(r)) {
        return Err(Error::invalid(
            format!("column {name:?} at row {row}"),
            "null",
            "a label",
        ));
    }
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

fn scores(batch: &RecordBatch, name: &str) -> Result<Vec<f64>> {
    let col = batch
        .column_by_name(name)
        .ok_or_else(|| Error::invalid("score column", name, "a column of the table"))?;
    if let Some(row) = (0..col.len()).find(|&r| col.is_null(r)) {
        return Err(Error::invalid(
            format!("column {name:?} at row {row}"),
            "null",
            "a score",
        ));
    }
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

impl BinaryClassificationSuite {
    /// Computes the metrics (positive class 1, `zero_division = 0`).
    pub fn metrics(
        &self,
        batch: &RecordBatch,
        columns: &EvalColumns,
    ) -> Result<BTreeMap<String, f64>> {
        let y = labels(batch, &columns.label)?;
        let p = labels(batch, &columns.prediction)?;
        let prf = PrfOptions {
            average: Average::Binary,
            zero_division: ZeroDivision::Zero,
            ..Default::default()
        };
        let mut m = BTreeMap::new();
        m.insert(
            "accuracy".into(),
            metrics::accuracy_score(&y, &p, true, None)?,
        );
        m.insert(
            "balanced_accuracy".into(),
            metrics::balanced_accuracy_score(&y, &p, None, false)?,
        );
        m.insert("precision".into(), metrics::precision_score(&y, &p, &prf)?);
        m.insert("recall".into(), metrics::recall_score(&y, &p, &prf)?);
        m.insert("f1".into(), metrics::f1_score(&y, &p, &prf)?);
        m.insert(
            "matthews_corrcoef".into(),
            metrics::matthews_corrcoef(&y, &p, None)?,
        );
        if let Some(score) = &columns.score {
            let s = scores(batch, score)?;
            let col = ScoreMatrix::column(&s);
            m.insert(
                "roc_auc".into(),
                metrics::roc_auc_score(&y, col, &Default::default())?,
            );
            m.insert(
                "average_precision".into(),
                metrics::average_precision_score(&y, col, &Default::default())?,
            );
            m.insert(
                "log_loss".into(),
                metrics::log_loss(&y, col, &Default::default())?,
            );
            m.insert(
                "brier".into(),
                metrics::brier_score_loss(&y, col, &Default::default())?,
            );
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

impl Evaluator for BinaryClassificationSuite {
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
        let suite = BinaryClassificationSuite {
            name: "offline".into(),
            gates: vec![
                GateRule::threshold("accuracy", Direction::GreaterIsBetter, 0.6),
                GateRule::threshold("roc_auc", Direction::GreaterIsBetter, 0.95),
            ],
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
}

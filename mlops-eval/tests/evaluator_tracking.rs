//! A suite's comparison recorded in a real store: metrics, intervals, the champion's values,
//! the manifest, and the gate report land in the run.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch};
use mlops_core::{CreateRunOptions, EvalColumns, ExperimentId, SqliteStore, Tracker};
use mlops_eval::compare::{BootstrapOptions, EvalManifest, METRICS_VERSION};
use mlops_eval::evaluator::{EvaluationSuite, Scored, SuiteResult, record_evaluation};
use mlops_eval::gates::{Direction, GateRule};

fn table(pred: &[i64], score: &[f64]) -> RecordBatch {
    let y: Vec<i64> = (0..pred.len() as i64).map(|i| i % 2).collect();
    RecordBatch::try_from_iter([
        ("y", Arc::new(Int64Array::from(y)) as ArrayRef),
        (
            "pred",
            Arc::new(Int64Array::from(pred.to_vec())) as ArrayRef,
        ),
        (
            "score",
            Arc::new(Float64Array::from(score.to_vec())) as ArrayRef,
        ),
    ])
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comparison_is_recorded_in_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let run = store
        .create_run(CreateRunOptions::new(ExperimentId::from("0")))
        .await
        .unwrap()
        .run_id;
    // 40 rows; the candidate errs on rows 0 and 1, the champion on rows 0..8.
    let n = 40;
    let truth = |i: usize| (i % 2) as i64;
    let cand_pred: Vec<i64> = (0..n)
        .map(|i| if i < 2 { 1 - truth(i) } else { truth(i) })
        .collect();
    let champ_pred: Vec<i64> = (0..n)
        .map(|i| if i < 8 { 1 - truth(i) } else { truth(i) })
        .collect();
    let score = |p: &[i64]| -> Vec<f64> { p.iter().map(|&v| 0.2 + 0.6 * v as f64).collect() };
    let (cand, champ) = (
        table(&cand_pred, &score(&cand_pred)),
        table(&champ_pred, &score(&champ_pred)),
    );
    let suite = EvaluationSuite {
        name: "offline".into(),
        gates: vec![GateRule::threshold(
            "accuracy",
            Direction::GreaterIsBetter,
            0.8,
        )],
        bootstrap: Some(BootstrapOptions {
            resamples: 200,
            ..Default::default()
        }),
        ..Default::default()
    };
    let manifest = |model: &str| EvalManifest {
        dataset_id: "ab".repeat(32),
        split: "test".into(),
        seed: 7,
        metrics_version: METRICS_VERSION.into(),
        model_digest: model.repeat(32),
    };
    let (mc, mh) = (manifest("cd"), manifest("ef"));
    let columns = EvalColumns {
        label: "y".into(),
        prediction: "pred".into(),
        score: Some("score".into()),
    };
    let result = suite
        .compare(
            Scored {
                batch: &cand,
                columns: &columns,
                manifest: &mc,
            },
            Scored {
                batch: &champ,
                columns: &columns,
                manifest: &mh,
            },
        )
        .unwrap();
    record_evaluation(&store, &run, &result).await.unwrap();
    let got = store.get_run(&run).await.unwrap();
    let m = |k: &str| got.data.metrics[k].value;
    assert_eq!(m("eval/offline/accuracy"), 0.95);
    assert_eq!(m("eval/offline/champion/accuracy"), 0.8);
    assert!(m("eval/offline/accuracy/ci_low") < 0.95);
    assert!(m("eval/offline/accuracy/diff_ci_high") > 0.0);
    assert_eq!(got.data.params["eval/offline/split"], "test");
    assert_eq!(
        got.data.params["eval/offline/model_digest"],
        "cd".repeat(32)
    );
    assert_eq!(got.data.tags["eval/offline/passed"], "true");
    assert!(got.data.tags["eval/offline/gates"].contains("threshold 0.8"));
    assert!(m("eval/offline/mcnemar_p_value") > 0.0);
    // The whole result round-trips through JSON (for an artifact or a report).
    let back: SuiteResult = serde_json::from_str(&serde_json::to_string(&result).unwrap()).unwrap();
    assert_eq!(back, result);
}

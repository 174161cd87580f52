//! An evaluation recorded in a real store: metrics, manifest and gate report land in the run.

use std::collections::BTreeMap;

use mlops_core::{CreateRunOptions, ExperimentId, SqliteStore, Tracker};
use mlops_eval::compare::{EvalManifest, METRICS_VERSION};
use mlops_eval::evaluator::record_evaluation;
use mlops_eval::gates::{Direction, GateRule, Observation, evaluate_gate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evaluation_is_recorded_in_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let run = store
        .create_run(CreateRunOptions::new(ExperimentId::from("0")))
        .await
        .unwrap()
        .run_id;
    let metrics = BTreeMap::from([
        ("accuracy".to_string(), 0.93),
        ("roc_auc".to_string(), 0.97),
    ]);
    let obs = metrics
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
    let gates = evaluate_gate(
        &[GateRule::threshold(
            "accuracy",
            Direction::GreaterIsBetter,
            0.9,
        )],
        &obs,
    );
    let manifest = EvalManifest {
        dataset_id: "ab".repeat(32),
        split: "test".into(),
        seed: 7,
        metrics_version: METRICS_VERSION.into(),
        model_digest: "cd".repeat(32),
    };
    record_evaluation(&store, &run, "offline", &manifest, &metrics, Some(&gates))
        .await
        .unwrap();
    let got = store.get_run(&run).await.unwrap();
    assert_eq!(got.data.metrics["eval/offline/accuracy"].value, 0.93);
    assert_eq!(got.data.params["eval/offline/split"], "test");
    assert_eq!(got.data.tags["eval/offline/passed"], "true");
    assert!(got.data.tags["eval/offline/gates"].contains("threshold 0.9"));
}

//! The conformance suite: checks every implementation of [`Tracker`], [`Registry`] and
//! [`ArtifactStore`] must pass, whatever its backend (SQLite, PostgreSQL, S3...).
//!
//! Call the suites from a backend's own tests, as `object_store` does with its
//! `integration` module:
//!
//! ```no_run
//! # async fn demo() {
//! let dir = tempfile::tempdir().unwrap();
//! let store = mlops_core::SqliteStore::open(dir.path()).unwrap();
//! mlops_core::conformance::tracker_suite(&store).await;
//! mlops_core::conformance::registry_suite(&store, &store).await;
//! mlops_core::conformance::artifact_suite(&store).await;
//! # }
//! ```
//!
//! The suites panic (through `assert!`) on the first violation, with a message saying which
//! behaviour failed. They create uniquely named entities, so they can share a store.

use std::collections::BTreeSet;

use bytes::Bytes;

use crate::artifacts::ArtifactStore;
use crate::error::Error;
use crate::ids::{DatasetId, Digest, ModelRef, RunId};
use crate::lineage::{LineageEdge, LineageNode};
use crate::registry::{Change, NewModelVersion, Registry};
use crate::tracking::*;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

fn dataset(seed: &str) -> DatasetInput {
    DatasetInput {
        dataset: Dataset {
            id: DatasetId::from_digest(Digest::of(seed.as_bytes())),
            name: seed.to_owned(),
            source_type: "memory".into(),
            source: format!("memory://{seed}"),
            schema: None,
            profile: None,
        },
        context: "training".into(),
    }
}

/// Every [`Tracker`] behaviour.
pub async fn tracker_suite(t: &dyn Tracker) {
    experiments(t).await;
    run_lifecycle(t).await;
    params_are_write_once(t).await;
    metrics_history_and_latest(t).await;
    bad_input_is_rejected(t).await;
    search(t).await;
    inputs_and_artifacts(t).await;
}

async fn experiments(t: &dyn Tracker) {
    let name = unique("exp");
    let id = t
        .create_experiment(&name, &[Tag::new("team", "x")], None)
        .await
        .unwrap();
    let e = t.get_experiment(&id).await.unwrap();
    assert_eq!(e.name, name);
    assert_eq!(e.tags.get("team").map(String::as_str), Some("x"));
    assert_eq!(
        t.get_experiment_by_name(&name).await.unwrap().experiment_id,
        id
    );
    let dup = t.create_experiment(&name, &[], None).await.unwrap_err();
    assert!(
        matches!(dup, Error::AlreadyExists { .. }),
        "duplicate experiment: {dup}"
    );
    assert!(
        t.get_experiment_by_name(&unique("missing"))
            .await
            .unwrap_err()
            .is_not_found()
    );
    t.set_experiment_tag(&id, &Tag::new("team", "y"))
        .await
        .unwrap();
    assert_eq!(t.get_experiment(&id).await.unwrap().tags["team"], "y");
    t.delete_experiment(&id).await.unwrap();
    let active = t.list_experiments(ViewType::ActiveOnly).await.unwrap();
    assert!(
        active.iter().all(|e| e.experiment_id != id),
        "deleted experiment listed as active"
    );
    let deleted = t.list_experiments(ViewType::DeletedOnly).await.unwrap();
    assert!(deleted.iter().any(|e| e.experiment_id == id));
    let err = t
        .create_run(CreateRunOptions::new(id.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Conflict(_)),
        "run in a deleted experiment: {err}"
    );
    t.restore_experiment(&id).await.unwrap();
    assert_eq!(
        t.get_experiment(&id).await.unwrap().lifecycle_stage,
        LifecycleStage::Active
    );
}

async fn run_lifecycle(t: &dyn Tracker) {
    let exp = t
        .create_experiment(&unique("runs"), &[], None)
        .await
        .unwrap();
    let parent = t
        .create_run(CreateRunOptions::new(exp.clone()).name("parent"))
        .await
        .unwrap();
    assert_eq!(parent.status, RunStatus::Running);
    assert_eq!(
        parent.run_id.as_uuid().get_version_num(),
        7,
        "run ids are UUID v7"
    );
    let child = t
        .create_run(
            CreateRunOptions::new(exp.clone())
                .name("child")
                .parent(parent.run_id),
        )
        .await
        .unwrap();
    let got = t.get_run(&child.run_id).await.unwrap();
    assert_eq!(got.info.run_name, "child");
    assert_eq!(got.data.tags[PARENT_RUN_TAG], parent.run_id.to_string());
    t.set_tag(&child.run_id, &Tag::new("note", "a"))
        .await
        .unwrap();
    t.set_tag(&child.run_id, &Tag::new("note", "b"))
        .await
        .unwrap();
    assert_eq!(
        t.get_run(&child.run_id).await.unwrap().data.tags["note"],
        "b",
        "tags are mutable"
    );
    t.delete_tag(&child.run_id, "note").await.unwrap();
    assert!(
        t.delete_tag(&child.run_id, "note")
            .await
            .unwrap_err()
            .is_not_found()
    );
    t.set_run_name(&child.run_id, "renamed").await.unwrap();
    t.end_run(&child.run_id, RunStatus::Finished).await.unwrap();
    let ended = t.get_run(&child.run_id).await.unwrap().info;
    assert_eq!(
        (ended.status, ended.run_name.as_str()),
        (RunStatus::Finished, "renamed")
    );
    assert!(ended.end_time.is_some());
    assert!(
        t.end_run(&child.run_id, RunStatus::Running).await.is_err(),
        "RUNNING is not a final status"
    );
    t.delete_run(&parent.run_id).await.unwrap();
    assert_eq!(
        t.get_run(&parent.run_id)
            .await
            .unwrap()
            .info
            .lifecycle_stage,
        LifecycleStage::Deleted
    );
    let err = t
        .log_metric(&parent.run_id, Metric::new("m", 1.0, 0))
        .unwrap_err();
    assert!(
        matches!(err, Error::Conflict(_)),
        "logging to a deleted run: {err}"
    );
    t.restore_run(&parent.run_id).await.unwrap();
    t.log_metric(&parent.run_id, Metric::new("m", 1.0, 0))
        .unwrap();
    t.flush().await.unwrap();
    assert!(t.get_run(&RunId::new()).await.unwrap_err().is_not_found());
}

async fn params_are_write_once(t: &dyn Tracker) {
    let exp = t
        .create_experiment(&unique("params"), &[], None)
        .await
        .unwrap();
    let run = t
        .create_run(CreateRunOptions::new(exp))
        .await
        .unwrap()
        .run_id;
    t.log_param(&run, &Param::new("lr", "0.1")).await.unwrap();
    t.log_param(&run, &Param::new("lr", "0.1")).await.unwrap();
    let err = t
        .log_param(&run, &Param::new("lr", "0.2"))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Conflict(_)), "{msg}");
    assert!(
        msg.contains("0.1") && msg.contains("0.2"),
        "the error names both values: {msg}"
    );
    assert_eq!(
        t.get_run(&run).await.unwrap().data.params["lr"],
        "0.1",
        "stored value kept"
    );
    let err = t
        .log_batch(
            &run,
            &[],
            &[Param::new("a", "1"), Param::new("a", "2")],
            &[],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Conflict(_)),
        "duplicate keys in one batch: {err}"
    );
    assert!(
        !t.get_run(&run).await.unwrap().data.params.contains_key("a"),
        "a failed batch writes nothing"
    );
}

async fn metrics_history_and_latest(t: &dyn Tracker) {
    let exp = t
        .create_experiment(&unique("metrics"), &[], None)
        .await
        .unwrap();
    let run = t
        .create_run(CreateRunOptions::new(exp))
        .await
        .unwrap()
        .run_id;
    for s in 0..5000i64 {
        t.log_metric(
            &run,
            Metric {
                key: "loss".into(),
                value: 1.0 / (s + 1) as f64,
                timestamp: 1_000 + s,
                step: s,
            },
        )
        .unwrap();
    }
    let special = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0];
    let batch: Vec<Metric> = special
        .iter()
        .enumerate()
        .map(|(i, &v)| Metric {
            key: "odd".into(),
            value: v,
            timestamp: 5,
            step: i as i64,
        })
        .collect();
    t.log_metrics(&run, &batch).unwrap();
    // An earlier step logged later does not become the latest value.
    t.log_metric(
        &run,
        Metric {
            key: "loss".into(),
            value: 42.0,
            timestamp: 9_999_999,
            step: 3,
        },
    )
    .unwrap();
    t.flush().await.unwrap();
    let h = t
        .get_metric_history(&run, "loss", HistoryOptions::default())
        .await
        .unwrap();
    assert_eq!(h.len(), 5001);
    assert!(
        h.windows(2)
            .all(|w| (w[0].step, w[0].timestamp) <= (w[1].step, w[1].timestamp)),
        "history is ordered"
    );
    assert_eq!(
        h[0],
        MetricPoint {
            step: 0,
            timestamp: 1_000,
            value: 1.0
        }
    );
    let latest = &t.get_run(&run).await.unwrap().data.metrics["loss"];
    assert_eq!(
        (latest.step, latest.value),
        (4999, 1.0 / 5000.0),
        "latest = max (step, timestamp, value)"
    );
    let odd = t
        .get_metric_history(&run, "odd", HistoryOptions::default())
        .await
        .unwrap();
    assert_eq!(odd.len(), 4);
    for (p, v) in odd.iter().zip(special) {
        assert_eq!(
            p.value.to_bits(),
            v.to_bits(),
            "NaN/Inf/-0.0 stored faithfully"
        );
    }
    assert_eq!(
        t.get_run(&run).await.unwrap().data.metrics["odd"].value,
        0.0,
        "latest of odd is step 3"
    );
    for method in [Downsample::M4, Downsample::Lttb] {
        let small = t
            .get_metric_history(
                &run,
                "loss",
                HistoryOptions {
                    max_points: Some(100),
                    method: Some(method),
                },
            )
            .await
            .unwrap();
        assert!(
            small.len() <= 100 && small.len() >= 50,
            "{method:?} gave {} points",
            small.len()
        );
        assert!(
            small.iter().any(|p| p.value == 42.0),
            "{method:?} keeps the spike"
        );
    }
    // Exact duplicates count once, as in MLflow.
    let p = Metric {
        key: "dup".into(),
        value: 1.0,
        timestamp: 1,
        step: 1,
    };
    t.log_metrics(&run, &[p.clone(), p.clone()]).unwrap();
    t.log_batch(&run, std::slice::from_ref(&p), &[], &[])
        .await
        .unwrap();
    t.flush().await.unwrap();
    assert_eq!(
        t.get_metric_history(&run, "dup", HistoryOptions::default())
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        t.get_metric_history(&run, "never", HistoryOptions::default())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn bad_input_is_rejected(t: &dyn Tracker) {
    let exp = t
        .create_experiment(&unique("bad"), &[], None)
        .await
        .unwrap();
    let run = t
        .create_run(CreateRunOptions::new(exp))
        .await
        .unwrap()
        .run_id;
    let err = t.log_metric(&run, Metric::new("", 1.0, 0)).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    let long = "k".repeat(251);
    let msg = t
        .log_metric(&run, Metric::new(long.clone(), 1.0, 0))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("250"), "the error names the limit: {msg}");
    let msg = t
        .log_param(&run, &Param::new("p", "v".repeat(6001)))
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("6000") && msg.contains("\"p\""), "{msg}");
    let msg = t
        .set_tag(&run, &Tag::new("t", "v".repeat(8001)))
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("8000"), "{msg}");
    let err = t
        .log_metric(&run, Metric::new("neg", 1.0, 0).at(-1))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    let err = t
        .log_metrics(
            &run,
            &[Metric::new("ok", 1.0, 0), Metric::new("bad key;", 1.0, 0)],
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    t.flush().await.unwrap();
    assert!(
        t.get_metric_history(&run, "ok", HistoryOptions::default())
            .await
            .unwrap()
            .is_empty(),
        "a rejected batch queues nothing"
    );
    assert!(
        t.log_metric(&RunId::new(), Metric::new("m", 1.0, 0))
            .unwrap_err()
            .is_not_found()
    );
    assert!(t.create_experiment("", &[], None).await.is_err());
    let err = t
        .search_runs(SearchRunsOptions {
            filter: "metrics.acc >> 1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    let err = t
        .search_runs(SearchRunsOptions {
            page_token: Some("garbage".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
}

async fn search(t: &dyn Tracker) {
    let team = unique("team");
    let e1 = t
        .create_experiment(&unique("search-a"), &[], None)
        .await
        .unwrap();
    let e2 = t
        .create_experiment(&unique("search-b"), &[], None)
        .await
        .unwrap();
    let mut runs = Vec::new();
    for i in 0..30i64 {
        let exp = if i % 2 == 0 { e1.clone() } else { e2.clone() };
        let run = t
            .create_run(CreateRunOptions {
                start_time: Some(1_000 + i),
                ..CreateRunOptions::new(exp).name(format!("r{i:02}"))
            })
            .await
            .unwrap()
            .run_id;
        let lr = ["0.1", "0.01", "0.001"][i as usize % 3];
        let acc = 0.80 + i as f64 / 100.0;
        t.log_batch(
            &run,
            &[Metric {
                key: "acc".into(),
                value: acc,
                timestamp: 0,
                step: 0,
            }],
            &[Param::new("lr", lr)],
            &[Tag::new("team", team.clone())],
        )
        .await
        .unwrap();
        if i % 5 == 0 {
            t.end_run(&run, RunStatus::Finished).await.unwrap();
        }
        runs.push(run);
    }
    let names = |page: &RunPage| {
        page.runs
            .iter()
            .map(|r| r.info.run_name.clone())
            .collect::<Vec<_>>()
    };
    let both = vec![e1.clone(), e2.clone()];
    let q = |filter: String, order: Vec<&str>| SearchRunsOptions {
        experiment_ids: both.clone(),
        filter,
        order_by: order.into_iter().map(String::from).collect(),
        max_results: 1000,
        ..Default::default()
    };
    let page = t
        .search_runs(q(
            format!("metrics.acc > 0.9 AND params.lr = '0.01' AND tags.team = '{team}'"),
            vec!["metrics.acc DESC"],
        ))
        .await
        .unwrap();
    // i % 3 == 1 and i > 10: 13, 16, 19, 22, 25, 28
    assert_eq!(names(&page), ["r28", "r25", "r22", "r19", "r16", "r13"]);
    let page = t
        .search_runs(q(
            format!("tags.team = '{team}' AND attributes.status = 'FINISHED'"),
            vec!["attributes.start_time ASC"],
        ))
        .await
        .unwrap();
    assert_eq!(names(&page), ["r00", "r05", "r10", "r15", "r20", "r25"]);
    let page = t
        .search_runs(q(
            format!("tags.team = '{team}' AND (params.lr = '0.1' OR metrics.acc >= 1.08)"),
            vec!["metrics.acc ASC"],
        ))
        .await
        .unwrap();
    assert_eq!(
        names(&page),
        [
            "r00", "r03", "r06", "r09", "r12", "r15", "r18", "r21", "r24", "r27", "r28", "r29"
        ]
    );
    // Only one experiment.
    let page = t
        .search_runs(SearchRunsOptions {
            experiment_ids: vec![e2.clone()],
            filter: "params.lr = '0.001'".into(),
            order_by: vec!["attributes.run_name".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(names(&page), ["r05", "r11", "r17", "r23", "r29"]);
    // Across every experiment, without listing them.
    let page = t
        .search_runs(SearchRunsOptions {
            filter: format!("tags.team = '{team}'"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.runs.len(), 30);
    // Paging visits every run once, in order.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = t
            .search_runs(SearchRunsOptions {
                filter: format!("tags.team = '{team}'"),
                order_by: vec!["metrics.acc DESC".into()],
                max_results: 7,
                page_token: token.take(),
                ..Default::default()
            })
            .await
            .unwrap();
        seen.extend(names(&page));
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = (0..30).rev().map(|i| format!("r{i:02}")).collect();
    assert_eq!(seen, expected, "paging returns every run once, in order");
    // Ordered by a metric: numbers, then NaN, then runs without it, across pages.
    let odd_team = unique("odd");
    let mut expected = Vec::new();
    for (i, acc) in [
        Some(0.5),
        None,
        Some(f64::NAN),
        Some(0.7),
        None,
        Some(0.6),
        Some(f64::NAN),
    ]
    .into_iter()
    .enumerate()
    {
        let run = t
            .create_run(CreateRunOptions {
                start_time: Some(5_000 - i as i64),
                ..CreateRunOptions::new(e1.clone()).name(format!("o{i}"))
            })
            .await
            .unwrap()
            .run_id;
        let metrics: Vec<Metric> = acc
            .map(|v| Metric {
                key: "acc".into(),
                value: v,
                timestamp: 0,
                step: 0,
            })
            .into_iter()
            .collect();
        t.log_batch(&run, &metrics, &[], &[Tag::new("team", odd_team.clone())])
            .await
            .unwrap();
        expected.push(format!("o{i}"));
    }
    for (order, want) in [
        (
            "metrics.acc DESC",
            ["o3", "o5", "o0", "o2", "o6", "o1", "o4"],
        ),
        (
            "metrics.acc ASC",
            ["o0", "o5", "o3", "o2", "o6", "o1", "o4"],
        ),
    ] {
        for page_size in [1, 2, 3, 100] {
            let mut got = Vec::new();
            let mut token = None;
            loop {
                let page = t
                    .search_runs(SearchRunsOptions {
                        filter: format!("tags.team = '{odd_team}'"),
                        order_by: vec![order.into()],
                        max_results: page_size,
                        page_token: token.take(),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                got.extend(names(&page));
                match page.next_page_token {
                    Some(next) => token = Some(next),
                    None => break,
                }
            }
            assert_eq!(
                got, want,
                "{order}, pages of {page_size}: numbers, then NaN, then missing"
            );
        }
    }
    // Deleted runs are hidden unless asked for.
    t.delete_run(&runs[0]).await.unwrap();
    let active = t
        .search_runs(SearchRunsOptions {
            filter: format!("tags.team = '{team}'"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(active.runs.len(), 29);
    let deleted = t
        .search_runs(SearchRunsOptions {
            filter: format!("tags.team = '{team}'"),
            view: ViewType::DeletedOnly,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(names(&deleted), ["r00"]);
}

async fn inputs_and_artifacts(t: &dyn Tracker) {
    let exp = t
        .create_experiment(&unique("inputs"), &[], None)
        .await
        .unwrap();
    let run = t
        .create_run(CreateRunOptions::new(exp))
        .await
        .unwrap()
        .run_id;
    let input = dataset(&unique("train"));
    t.log_inputs(&run, &[input.clone(), input.clone()])
        .await
        .unwrap();
    let got = t.get_run(&run).await.unwrap();
    assert_eq!(got.inputs, vec![input.clone()], "inputs recorded once");
    let page = t
        .search_runs(SearchRunsOptions {
            filter: format!("datasets.digest = '{}'", input.dataset.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.runs.len(), 1);
    let art = RunArtifact {
        path: "model/weights.safetensors".into(),
        digest: Digest::of(b"w"),
        size: 1,
    };
    t.log_artifact(&run, &art).await.unwrap();
    assert_eq!(t.list_artifacts(&run).await.unwrap(), vec![art]);
    let bad = RunArtifact {
        path: "../escape".into(),
        digest: Digest::of(b"w"),
        size: 1,
    };
    assert!(matches!(
        t.log_artifact(&run, &bad).await.unwrap_err(),
        Error::InvalidInput { .. }
    ));
}

/// Every [`Registry`] behaviour; `t` creates the runs that lineage needs.
pub async fn registry_suite(r: &dyn Registry, t: &dyn Tracker) {
    let name = unique("model");
    let m = r
        .create_registered_model(&name, "churn model")
        .await
        .unwrap();
    assert_eq!(
        (m.description.as_str(), m.latest_version),
        ("churn model", None)
    );
    assert!(matches!(
        r.create_registered_model(&name, "").await.unwrap_err(),
        Error::AlreadyExists { .. }
    ));
    assert!(
        r.get_registered_model(&unique("nope"))
            .await
            .unwrap_err()
            .is_not_found()
    );
    r.set_registered_model_tag(&name, "owner", "ml")
        .await
        .unwrap();
    r.update_registered_model(&name, "v2 description")
        .await
        .unwrap();

    // Versions are 1..N with no gap or duplicate when registered concurrently.
    let futures: Vec<_> = (0..24)
        .map(|i| {
            r.create_model_version(NewModelVersion {
                name: name.clone(),
                source: format!("s{i}"),
                ..Default::default()
            })
        })
        .collect();
    let versions: BTreeSet<u64> = futures::future::join_all(futures)
        .await
        .into_iter()
        .map(|v| v.unwrap().version)
        .collect();
    assert_eq!(
        versions,
        (1..=24).collect(),
        "concurrent registration gives 1..N"
    );

    let change = Change::new("alice", "offline eval passed");
    r.set_alias(&name, "champion", 3, &change).await.unwrap();
    r.set_alias(&name, "champion", 5, &Change::new("bob", "better AUC"))
        .await
        .unwrap();
    assert_eq!(
        r.resolve(&ModelRef::alias(&name, "champion"))
            .await
            .unwrap()
            .version,
        5
    );
    assert_eq!(
        r.resolve(&format!("{name}@latest").parse().unwrap())
            .await
            .unwrap()
            .version,
        24
    );
    assert_eq!(
        r.resolve(&ModelRef::version(&name, 7))
            .await
            .unwrap()
            .source,
        r.get_model_version(&name, 7).await.unwrap().source
    );
    assert!(
        r.set_alias(&name, "champion", 99, &change)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(matches!(
        r.set_alias(&name, "v2", 1, &change).await.unwrap_err(),
        Error::InvalidInput { .. }
    ));
    r.set_model_version_tag(&name, 5, "validated", "yes")
        .await
        .unwrap();
    let v5 = r.get_model_version(&name, 5).await.unwrap();
    assert_eq!(
        (v5.aliases.clone(), v5.tags["validated"].as_str()),
        (vec!["champion".to_string()], "yes")
    );
    assert_eq!(
        r.get_registered_model(&name).await.unwrap().aliases["champion"],
        5
    );

    r.delete_model_version(&name, 5, &Change::new("carol", "bad calibration"))
        .await
        .unwrap();
    assert!(
        r.resolve(&ModelRef::alias(&name, "champion"))
            .await
            .unwrap_err()
            .is_not_found(),
        "deleting a version drops its aliases"
    );
    let next = r
        .create_model_version(NewModelVersion {
            name: name.clone(),
            source: "s".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(next.version, 25, "numbers are never reused");
    r.set_alias(&name, "challenger", 25, &change).await.unwrap();
    r.delete_alias(&name, "challenger", &Change::new("dave", "rollback"))
        .await
        .unwrap();
    assert!(
        r.delete_alias(&name, "challenger", &change)
            .await
            .unwrap_err()
            .is_not_found()
    );

    let log = r.audit_log(Some(&format!("model:{name}"))).await.unwrap();
    let moves: Vec<_> = log
        .iter()
        .filter(|e| e.action == "set_alias" && e.entity.ends_with("@champion"))
        .collect();
    assert_eq!(moves.len(), 2);
    assert_eq!(moves[1].actor, "bob");
    assert_eq!(moves[1].reason, "better AUC");
    assert_eq!(moves[1].detail["from"], 3);
    assert_eq!(moves[1].detail["to"], 5);
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"delete_model_version") && actions.contains(&"delete_alias"),
        "{actions:?}"
    );
    assert!(
        log.windows(2)
            .all(|w| w[0].seq < w[1].seq && w[0].time <= w[1].time)
    );

    // Lineage: raw dataset -> derived dataset -> run -> version.
    let exp = t
        .create_experiment(&unique("lineage"), &[], None)
        .await
        .unwrap();
    let run = t
        .create_run(CreateRunOptions::new(exp))
        .await
        .unwrap()
        .run_id;
    let raw = DatasetId::from_digest(Digest::of(unique("raw").as_bytes()));
    let train = dataset(&unique("derived"));
    r.add_lineage_edge(&LineageEdge {
        src: LineageNode::Dataset { id: raw.clone() },
        dst: LineageNode::Dataset {
            id: train.dataset.id.clone(),
        },
        relation: "derived_from".into(),
    })
    .await
    .unwrap();
    t.log_inputs(&run, std::slice::from_ref(&train))
        .await
        .unwrap();
    let mv = r
        .create_model_version(NewModelVersion {
            name: name.clone(),
            source: "runs:/x".into(),
            run_id: Some(run),
            ..Default::default()
        })
        .await
        .unwrap();
    let from_raw = r.versions_from_dataset(&raw).await.unwrap();
    assert_eq!(
        from_raw.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![mv.version]
    );
    let mut expected = vec![raw.clone(), train.dataset.id.clone()];
    expected.sort();
    assert_eq!(
        r.datasets_of_version(&name, mv.version).await.unwrap(),
        expected
    );
    assert!(
        r.versions_from_dataset(&DatasetId::from_digest(Digest::of(b"unrelated")))
            .await
            .unwrap()
            .is_empty()
    );
    let missing_run = NewModelVersion {
        name: name.clone(),
        source: "s".into(),
        run_id: Some(RunId::new()),
        ..Default::default()
    };
    assert!(
        r.create_model_version(missing_run)
            .await
            .unwrap_err()
            .is_not_found()
    );

    r.delete_registered_model(&name, &Change::new("erin", "retired"))
        .await
        .unwrap();
    assert!(
        r.get_registered_model(&name)
            .await
            .unwrap_err()
            .is_not_found()
    );
    let log = r.audit_log(Some(&format!("model:{name}"))).await.unwrap();
    assert_eq!(log.last().unwrap().action, "delete_registered_model");
}

/// Every [`ArtifactStore`] behaviour.
pub async fn artifact_suite(a: &dyn ArtifactStore) {
    let body = Bytes::from(unique("artifact").into_bytes());
    let d = a.put(body.clone()).await.unwrap();
    assert_eq!(d, Digest::of(&body));
    assert_eq!(
        a.put(body.clone()).await.unwrap(),
        d,
        "same bytes, same digest"
    );
    assert_eq!(a.get(&d).await.unwrap(), body);
    assert_eq!(a.size(&d).await.unwrap(), Some(body.len() as u64));
    assert!(a.list().await.unwrap().contains(&d));

    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.bin");
    let big: Vec<u8> = (0..9_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&src, &big).unwrap();
    let (fd, size) = a.put_file(&src).await.unwrap();
    assert_eq!((fd, size), (Digest::of(&big), big.len() as u64));
    let dst = dir.path().join("out.bin");
    assert_eq!(a.get_to_file(&fd, &dst).await.unwrap(), big.len() as u64);
    assert_eq!(std::fs::read(&dst).unwrap(), big);
    assert_eq!(
        a.put_file(&src).await.unwrap().0,
        fd,
        "re-adding a file is idempotent"
    );

    a.delete(&d).await.unwrap();
    a.delete(&d).await.unwrap();
    assert!(!a.exists(&d).await.unwrap());
    assert!(a.get(&d).await.unwrap_err().is_not_found());
    assert!(a.get_to_file(&d, &dir.path().join("x")).await.is_err());
    assert!(
        !dir.path().join("x").exists(),
        "a failed download leaves no file"
    );
}

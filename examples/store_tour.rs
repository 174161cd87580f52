//! A tour of the embedded store, end to end: an experiment, a tracked run with params,
//! metrics, a dataset input and an artifact; a registered model version with lineage; an
//! alias move recorded in the audit log; search; and the lineage query back to the data.
//!
//! ```text
//! cargo run --release -p mlops-examples --example store_tour [-- <store folder>]
//! ```
//! The store folder defaults to `.mlops/` in the current directory and is reused across runs.

use bytes::Bytes;
use mlops_core::{
    ArtifactStore, Change, CreateRunOptions, Dataset, DatasetId, DatasetInput, Digest,
    HistoryOptions, Metric, ModelRef, NewModelVersion, Param, Registry, RunStatus,
    SearchRunsOptions, SqliteStore, Tracker,
};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> mlops_core::Result<()> {
    let root = std::env::args().nth(1).unwrap_or_else(|| ".mlops".into());
    let t0 = std::time::Instant::now();
    let store = SqliteStore::open(&root)?;
    println!(
        "opened store {} in {:.1} ms",
        store.root().display(),
        t0.elapsed().as_secs_f64() * 1e3
    );

    let experiment = match store.get_experiment_by_name("churn").await {
        Ok(e) => e.experiment_id,
        Err(e) if e.is_not_found() => store.create_experiment("churn", &[], None).await?,
        Err(e) => return Err(e),
    };

    // A "training" run: params, per-step metrics, the dataset it read, its weights.
    let data = b"user_id,tenure,churned\n1,12,0\n2,3,1\n3,40,0\n";
    let dataset = Dataset {
        id: DatasetId::from_digest(Digest::of(data)),
        name: "churn-train".into(),
        source_type: "local".into(),
        source: "memory://churn.csv".into(),
        schema: None,
        profile: Some(r#"{"rows": 3}"#.into()),
    };
    let run = store
        .create_run(CreateRunOptions::new(experiment.clone()).name("mlp-baseline"))
        .await?;
    let id = run.run_id;
    store.log_param(&id, &Param::new("lr", 0.01)).await?;
    store.log_param(&id, &Param::new("hidden", 64)).await?;
    store
        .log_inputs(
            &id,
            &[DatasetInput {
                dataset: dataset.clone(),
                context: "training".into(),
            }],
        )
        .await?;
    let t0 = std::time::Instant::now();
    for step in 0..10_000i64 {
        let loss = 1.0 / (1.0 + step as f64 / 100.0);
        store.log_metric(&id, Metric::new("loss", loss, step))?;
        if step % 1000 == 999 {
            store.log_metric(
                &id,
                Metric::new("val_acc", 0.80 + step as f64 / 100_000.0, step),
            )?;
        }
    }
    store.flush().await?;
    println!(
        "logged 10,010 metric points durably in {:.1} ms",
        t0.elapsed().as_secs_f64() * 1e3
    );
    let weights = store
        .log_artifact_bytes(&id, "model/weights.bin", Bytes::from(vec![7u8; 4096]))
        .await?;
    store.end_run(&id, RunStatus::Finished).await?;

    // Register the model with lineage and promote it.
    let version = store
        .create_model_version(NewModelVersion {
            name: "churn".into(),
            source: format!("runs:/{id}/model"),
            run_id: Some(id),
            artifact_digest: Some(weights.digest),
            description: "baseline MLP".into(),
            ..Default::default()
        })
        .await?;
    store
        .set_alias(
            "churn",
            "champion",
            version.version,
            &Change::new("tour", "first model"),
        )
        .await?;
    let champion = store.resolve(&ModelRef::alias("churn", "champion")).await?;
    let bytes = store
        .get(&champion.artifact_digest.expect("registered with a digest"))
        .await?;
    println!(
        "churn@champion is version {} ({} bytes of verified weights)",
        champion.version,
        bytes.len()
    );

    // Query it all back.
    let history = store
        .get_metric_history(
            &id,
            "loss",
            HistoryOptions {
                max_points: Some(200),
                method: None,
            },
        )
        .await?;
    println!(
        "loss history downsampled to {} points (M4 keeps every extreme)",
        history.len()
    );
    let best = store
        .search_runs(SearchRunsOptions {
            filter: "metrics.val_acc > 0.85 AND params.lr = '0.01'".into(),
            order_by: vec!["metrics.val_acc DESC".into()],
            max_results: 5,
            ..Default::default()
        })
        .await?;
    for r in &best.runs {
        println!(
            "  run {} {} val_acc={:.4}",
            r.info.run_name, r.info.run_id, r.data.metrics["val_acc"].value
        );
    }
    let descendants = store.versions_from_dataset(&dataset.id).await?;
    println!(
        "{} model version(s) descend from dataset {}",
        descendants.len(),
        &dataset.id.as_str()[..12]
    );
    let sources = store.datasets_of_version("churn", version.version).await?;
    println!(
        "churn@{} was trained on {:?}",
        version.version,
        sources
            .iter()
            .map(|d| &d.as_str()[..12])
            .collect::<Vec<_>>()
    );
    for event in store
        .audit_log(Some("model:churn"))
        .await?
        .iter()
        .rev()
        .take(3)
    {
        println!(
            "  audit #{} {} {} by {}: {}",
            event.seq, event.action, event.entity, event.actor, event.reason
        );
    }
    Ok(())
}

//! Criterion micro-benchmarks of the tracking hot paths: enqueueing one metric point, a
//! 1,000-point batch with its flush, and reading a 100k-point history.

use criterion::{Criterion, criterion_group, criterion_main};
use mlops_core::{CreateRunOptions, ExperimentId, HistoryOptions, Metric, SqliteStore, Tracker};

fn tracking(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let run = rt
        .block_on(store.create_run(CreateRunOptions::new(ExperimentId::from("0"))))
        .unwrap()
        .run_id;

    let mut step = 0i64;
    c.bench_function("log_metric (enqueue)", |b| {
        b.iter(|| {
            step += 1;
            store
                .log_metric(
                    &run,
                    Metric {
                        key: "loss".into(),
                        value: 0.5,
                        timestamp: step,
                        step,
                    },
                )
                .unwrap();
        })
    });
    rt.block_on(store.flush()).unwrap();

    let batch: Vec<Metric> = (0..1000)
        .map(|s| Metric {
            key: "b".into(),
            value: s as f64,
            timestamp: s,
            step: s,
        })
        .collect();
    c.bench_function("log_metrics 1000 + flush (durable)", |b| {
        b.iter(|| {
            store.log_metrics(&run, &batch).unwrap();
            rt.block_on(store.flush()).unwrap();
        })
    });

    let hist: Vec<Metric> = (0..100_000)
        .map(|s| Metric {
            key: "h".into(),
            value: s as f64,
            timestamp: s,
            step: s,
        })
        .collect();
    store.log_metrics(&run, &hist).unwrap();
    rt.block_on(store.flush()).unwrap();
    c.bench_function("get_metric_history 100k points", |b| {
        b.iter(|| {
            rt.block_on(store.get_metric_history(&run, "h", HistoryOptions::default()))
                .unwrap()
        })
    });
}

criterion_group!(benches, tracking);
criterion_main!(benches);

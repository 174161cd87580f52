//! W-TRACK (`../shared/BENCHMARKS.md`) on the embedded store, printing one JSON line with
//! the same fields as the MLflow peer (`../shared/bench/peers/peer_track.py`), plus the
//! scale targets of the tracking issue when `--scale` is given.
//!
//! ```text
//! cargo run --release -p mlops-benches --bin w_track -- --work-dir bench-out/track [--scale]
//! ```
//! `benches/w_track.py` runs this beside MLflow, interleaved, and prints the ratios.

use std::time::Instant;

use mlops_core::{
    CreateRunOptions, HistoryOptions, Metric, Param, RunId, RunStatus, SearchRunsOptions,
    SqliteStore, StoreOptions, Tracker,
};
use serde_json::json;

const TS0: i64 = 1_700_000_000_000;

struct Args {
    work_dir: String,
    metrics: i64,
    steps: i64,
    runs: i64,
    batch: usize,
    scale: bool,
    scale_runs: i64,
    scale_points: i64,
}

fn parse_args() -> Args {
    let mut a = Args {
        work_dir: "bench-out/track".into(),
        metrics: 10,
        steps: 10_000,
        runs: 1_000,
        batch: 1_000,
        scale: false,
        scale_runs: 100_000,
        scale_points: 1_000_000,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let val = || argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--work-dir" => a.work_dir = val(),
            "--metrics" => a.metrics = val().parse().expect("--metrics N"),
            "--steps" => a.steps = val().parse().expect("--steps N"),
            "--runs" => a.runs = val().parse().expect("--runs N"),
            "--batch" => a.batch = val().parse().expect("--batch N"),
            "--scale-runs" => a.scale_runs = val().parse().expect("--scale-runs N"),
            "--scale-points" => a.scale_points = val().parse().expect("--scale-points N"),
            "--scale" => {
                a.scale = true;
                i += 1;
                continue;
            }
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    a
}

fn metric_value(k: i64, s: i64) -> f64 {
    k as f64 + s as f64 / 10000.0
}

fn run_params(i: i64) -> Vec<Param> {
    vec![
        Param::new("lr", ["0.1", "0.01", "0.001"][(i % 3) as usize]),
        Param::new("batch_size", 2i64.pow(5 + (i % 4) as u32)),
        Param::new("optimizer", ["adam", "sgd"][(i % 2) as usize]),
        Param::new("epochs", 1 + i % 10),
        Param::new("seed", i),
    ]
}

fn run_acc(i: i64) -> f64 {
    let r = (i * 7919) % 1000;
    (8000 + 2 * r + 1) as f64 / 10000.0
}

fn run_metrics(i: i64) -> Vec<Metric> {
    let acc = run_acc(i);
    [
        ("acc", acc),
        ("loss", 1.0 - acc),
        ("f1", acc - 0.05),
        ("precision", acc - 0.02),
        ("recall", acc - 0.08),
    ]
    .into_iter()
    .map(|(k, v)| Metric {
        key: k.into(),
        value: v,
        timestamp: TS0,
        step: 0,
    })
    .collect()
}

fn expected_search(n: i64) -> (Vec<String>, usize) {
    let mut hits: Vec<i64> = (0..n).filter(|&i| i % 3 == 1 && run_acc(i) > 0.9).collect();
    hits.sort_by(|a, b| run_acc(*b).total_cmp(&run_acc(*a)));
    let total = hits.len();
    (
        hits.into_iter()
            .take(100)
            .map(|i| format!("run-{i:05}"))
            .collect(),
        total,
    )
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Sorted times (s) of 5 opens of an existing store.
fn time_opens(dir: &std::path::Path) -> Vec<f64> {
    let mut opens: Vec<f64> = (0..5)
        .map(|_| {
            let t0 = Instant::now();
            let store = SqliteStore::open(dir).unwrap();
            let took = t0.elapsed().as_secs_f64();
            drop(store);
            took
        })
        .collect();
    opens.sort_by(f64::total_cmp);
    opens
}

#[path = "common.rs"]
mod common;
use common::peak_rss_mb;

async fn history_exact(store: &SqliteStore, run: &RunId, k: i64, steps: i64) -> (usize, bool) {
    let h = store
        .get_metric_history(run, &format!("m{k}"), HistoryOptions::default())
        .await
        .unwrap();
    let exact = h.len() as i64 == steps
        && h.iter().enumerate().all(|(s, p)| {
            (p.step, p.value, p.timestamp) == (s as i64, metric_value(k, s as i64), TS0 + s as i64)
        });
    (h.len(), exact)
}

async fn workload(a: &Args) -> serde_json::Value {
    let dir = std::path::Path::new(&a.work_dir).join("mlops");
    let _ = std::fs::remove_dir_all(&dir);
    let t0 = Instant::now();
    let store = SqliteStore::open(&dir).unwrap();
    let exp_a = store
        .create_experiment("w-track-a", &[], None)
        .await
        .unwrap();
    let exp_b = store
        .create_experiment("w-track-b", &[], None)
        .await
        .unwrap();
    let exp_d = store
        .create_experiment("w-track-d", &[], None)
        .await
        .unwrap();
    let setup = t0.elapsed().as_secs_f64();
    let n_points = a.metrics * a.steps;

    // (a) one point per call; the final flush makes them durable and is timed.
    let run_a = store
        .create_run(CreateRunOptions::new(exp_a).name("a"))
        .await
        .unwrap()
        .run_id;
    let mut lat = Vec::with_capacity(n_points as usize);
    let t0 = Instant::now();
    for s in 0..a.steps {
        for k in 0..a.metrics {
            let m = Metric {
                key: format!("m{k}"),
                value: metric_value(k, s),
                timestamp: TS0 + s,
                step: s,
            };
            let c = Instant::now();
            store.log_metric(&run_a, m).unwrap();
            lat.push(c.elapsed().as_secs_f64() * 1e6);
        }
    }
    let enqueue = t0.elapsed().as_secs_f64();
    store.flush().await.unwrap();
    let ta = t0.elapsed().as_secs_f64();
    store.end_run(&run_a, RunStatus::Finished).await.unwrap();
    lat.sort_by(f64::total_cmp);

    // (b) batches of `batch` points, queued (log_metrics) and made durable by one flush.
    let pts: Vec<Metric> = (0..a.steps)
        .flat_map(|s| {
            (0..a.metrics).map(move |k| Metric {
                key: format!("m{k}"),
                value: metric_value(k, s),
                timestamp: TS0 + s,
                step: s,
            })
        })
        .collect();
    let run_b = store
        .create_run(CreateRunOptions::new(exp_b.clone()).name("b"))
        .await
        .unwrap()
        .run_id;
    let t0 = Instant::now();
    for chunk in pts.chunks(a.batch) {
        store.log_metrics(&run_b, chunk).unwrap();
    }
    store.flush().await.unwrap();
    let tb = t0.elapsed().as_secs_f64();
    store.end_run(&run_b, RunStatus::Finished).await.unwrap();

    // (b') the same with log_batch, durable (fsync) at every call, as MLflow's log_batch.
    let run_b2 = store
        .create_run(CreateRunOptions::new(exp_b).name("b-durable"))
        .await
        .unwrap()
        .run_id;
    let t0 = Instant::now();
    for chunk in pts.chunks(a.batch) {
        store.log_batch(&run_b2, chunk, &[], &[]).await.unwrap();
    }
    let tb2 = t0.elapsed().as_secs_f64();
    store.end_run(&run_b2, RunStatus::Finished).await.unwrap();

    // (c) read back m0 of run (b), and check m{last} of run (a).
    let t0 = Instant::now();
    let (c_points, c_exact) = history_exact(&store, &run_b, 0, a.steps).await;
    let tc = t0.elapsed().as_secs_f64();
    let (_, a_exact) = history_exact(&store, &run_a, a.metrics - 1, a.steps).await;

    // (d) runs and search.
    let t0 = Instant::now();
    for i in 0..a.runs {
        let rid = store
            .create_run(CreateRunOptions::new(exp_d.clone()).name(format!("run-{i:05}")))
            .await
            .unwrap()
            .run_id;
        store
            .log_batch(&rid, &run_metrics(i), &run_params(i), &[])
            .await
            .unwrap();
        store.end_run(&rid, RunStatus::Finished).await.unwrap();
    }
    let td = t0.elapsed().as_secs_f64();
    let mut times = Vec::new();
    let mut found = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        found = store
            .search_runs(SearchRunsOptions {
                experiment_ids: vec![exp_d.clone()],
                filter: "metrics.acc > 0.9 and params.lr = '0.01'".into(),
                order_by: vec!["metrics.acc DESC".into()],
                max_results: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .runs;
        times.push(t0.elapsed().as_secs_f64());
    }
    let names: Vec<String> = found.iter().map(|r| r.info.run_name.clone()).collect();
    let accs: Vec<f64> = found.iter().map(|r| r.data.metrics["acc"].value).collect();
    let (want, n_match) = expected_search(a.runs);
    let mut sorted_times = times.clone();
    sorted_times.sort_by(f64::total_cmp);
    drop(store);

    // Opening an existing store (cold process state, warm page cache).
    let opens = time_opens(&dir);

    let correct = c_exact && a_exact && names == want && c_points as i64 == a.steps;
    json!({
        "workload": "W-TRACK", "peer": "mlops-embedded", "uri_kind": "embedded",
        "sizes": {"metrics": a.metrics, "steps": a.steps, "runs": a.runs, "batch": a.batch},
        "time_s": {"setup": setup},
        "a": {"points": n_points, "capped": false, "time_s": ta, "points_per_s": n_points as f64 / ta,
              "enqueue_time_s": enqueue, "call_p50_us": pct(&lat, 0.5), "call_p99_us": pct(&lat, 0.99),
              "call_max_us": pct(&lat, 1.0)},
        "b": {"points": n_points, "batch": a.batch, "time_s": tb, "points_per_s": n_points as f64 / tb, "api": "log_metrics + flush"},
        "b_durable_each_call": {"points": n_points, "batch": a.batch, "time_s": tb2, "points_per_s": n_points as f64 / tb2, "api": "log_batch"},
        "c": {"points": c_points, "time_s": tc, "points_per_s": c_points as f64 / tc, "history_exact": c_exact, "history_a_exact": a_exact},
        "d": {"runs": a.runs, "create_time_s": td, "runs_per_s": a.runs as f64 / td,
              "search_first_s": times[0], "search_median_s": pct(&sorted_times, 0.5),
              "results": names.len(), "matching_runs_total": n_match,
              "first": names.first().map(|n| json!([n, accs[0]])),
              "last": names.last().map(|n| json!([n, accs[accs.len() - 1]])),
              "names": names, "search_exact": names == want},
        "open_existing_s": {"median": pct(&opens, 0.5), "min": opens[0]},
        "peak_rss_mb": peak_rss_mb(),
        "correct": correct,
    })
}

/// The scale targets: ingest and read 1M points; search 100k runs; open a big store.
async fn scale(a: &Args) -> serde_json::Value {
    let dir = std::path::Path::new(&a.work_dir).join("mlops-scale");
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&dir).unwrap();
    let exp = store.create_experiment("scale", &[], None).await.unwrap();
    let run = store
        .create_run(CreateRunOptions::new(exp.clone()))
        .await
        .unwrap()
        .run_id;
    let pts: Vec<Metric> = (0..a.scale_points)
        .map(|s| Metric {
            key: "loss".into(),
            value: 1.0 / (s + 1) as f64,
            timestamp: TS0 + s,
            step: s,
        })
        .collect();
    let t0 = Instant::now();
    for chunk in pts.chunks(10_000) {
        store.log_metrics(&run, chunk).unwrap();
    }
    store.flush().await.unwrap();
    let ingest = t0.elapsed().as_secs_f64();
    drop(pts);
    let mut reads = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let h = store
            .get_metric_history(&run, "loss", HistoryOptions::default())
            .await
            .unwrap();
        reads.push(t0.elapsed().as_secs_f64());
        assert_eq!(h.len() as i64, a.scale_points);
    }
    reads.sort_by(f64::total_cmp);
    let t0 = Instant::now();
    let small = store
        .get_metric_history(
            &run,
            "loss",
            HistoryOptions {
                max_points: Some(1000),
                method: None,
            },
        )
        .await
        .unwrap();
    let downsampled = t0.elapsed().as_secs_f64();
    drop(store);

    // 100k runs, written without fsync (setup only), then searched.
    let fast = StoreOptions {
        fsync: false,
        ..Default::default()
    };
    let store = SqliteStore::open_with(&dir, fast).unwrap();
    let t0 = Instant::now();
    for i in 0..a.scale_runs {
        let rid = store
            .create_run(CreateRunOptions::new(exp.clone()).name(format!("run-{i:06}")))
            .await
            .unwrap()
            .run_id;
        let mut tags = vec![mlops_core::Tag::new(
            "team",
            ["a", "b", "c", "d"][(i % 4) as usize],
        )];
        tags.truncate(1);
        store
            .log_batch(&rid, &run_metrics(i), &run_params(i), &tags)
            .await
            .unwrap();
        store.end_run(&rid, RunStatus::Finished).await.unwrap();
    }
    let create = t0.elapsed().as_secs_f64();
    let mut search = Vec::new();
    let mut n = 0;
    for _ in 0..20 {
        let t0 = Instant::now();
        n = store
            .search_runs(SearchRunsOptions {
                experiment_ids: vec![exp.clone()],
                filter: "metrics.acc > 0.9 AND params.lr = '0.01' AND tags.team = 'b'".into(),
                order_by: vec!["metrics.acc DESC".into()],
                max_results: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .runs
            .len();
        search.push(t0.elapsed().as_secs_f64());
    }
    search.sort_by(f64::total_cmp);
    drop(store);
    let opens = time_opens(&dir);
    json!({
        "ingest": {"points": a.scale_points, "time_s": ingest, "points_per_s": a.scale_points as f64 / ingest, "api": "log_metrics + flush (fsync)"},
        "history_read": {"points": a.scale_points, "median_s": pct(&reads, 0.5), "min_s": reads[0]},
        "history_downsampled_1000": {"points": small.len(), "time_s": downsampled},
        "search_100k": {"runs": a.scale_runs, "create_time_s": create, "results": n,
                        "p50_s": pct(&search, 0.5), "p95_s": pct(&search, 0.95)},
        "open_existing_big_s": {"median": pct(&opens, 0.5), "min": opens[0]},
    })
}

fn main() {
    let a = parse_args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut out = rt.block_on(workload(&a));
    if a.scale {
        out["scale"] = rt.block_on(scale(&a));
    }
    out["peak_rss_mb"] = json!(peak_rss_mb());
    out["threads"] = json!(2);
    println!("{out}");
}

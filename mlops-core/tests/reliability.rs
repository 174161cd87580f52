//! Reliability under crashes and concurrency, with real processes and a real SQLite file.
//!
//! The test binary re-executes itself as the child process: a test marked `#[ignore]` does
//! the child's work when `MLOPS_CHILD` names a role.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mlops_core::{
    CreateRunOptions, ExperimentId, HistoryOptions, Metric, NewModelVersion, Param, Registry,
    RunId, RunStatus, SearchRunsOptions, SqliteStore, StoreOptions, Tracker,
};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn child(role: &str, dir: &Path, extra: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child_process",
        "--include-ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("MLOPS_CHILD", role)
    .env("MLOPS_DIR", dir)
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd
}

fn fast_options() -> StoreOptions {
    StoreOptions {
        heartbeat_interval: Duration::from_millis(200),
        stale_after: Duration::from_secs(1),
        ..Default::default()
    }
}

/// Metric value of point `i`: distinct, exactly representable.
fn value(i: i64) -> f64 {
    i as f64 * 0.5
}

/// The child's work: log points forever, printing `ACK <n>` after each flush of points 0..n.
#[test]
#[ignore = "runs only as a child process of the reliability tests"]
fn child_process() {
    let Ok(role) = std::env::var("MLOPS_CHILD") else {
        return;
    };
    let dir = std::env::var("MLOPS_DIR").unwrap();
    let store = SqliteStore::open_with(&dir, fast_options()).unwrap();
    let rt = rt();
    match role.as_str() {
        "logger" => {
            let exp = ExperimentId::from("0");
            let run = rt
                .block_on(store.create_run(CreateRunOptions::new(exp)))
                .unwrap()
                .run_id;
            println!("RUN {run}");
            let mut i = 0i64;
            loop {
                for _ in 0..97 {
                    store
                        .log_metric(
                            &run,
                            Metric {
                                key: "x".into(),
                                value: value(i),
                                timestamp: i,
                                step: i,
                            },
                        )
                        .unwrap();
                    i += 1;
                }
                rt.block_on(store.flush()).unwrap();
                println!("ACK {i}");
            }
        }
        "writer" => {
            let worker: usize = std::env::var("MLOPS_WORKER").unwrap().parse().unwrap();
            rt.block_on(concurrent_work(&store, worker));
            println!("DONE");
        }
        other => panic!("unknown child role {other}"),
    }
}

#[test]
fn acknowledged_points_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    // Create the store first so children race only on runs, not on schema creation.
    drop(SqliteStore::open(dir.path()).unwrap());
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut checked = Vec::new();
    for round in 0..25 {
        let mut proc = child("logger", dir.path(), &[]).spawn().unwrap();
        let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
        let run: RunId = lines
            .by_ref()
            .find_map(|l| {
                l.unwrap()
                    .split_once("RUN ")
                    .map(|(_, id)| id.trim().to_owned())
            })
            .expect("the child printed its run id")
            .parse()
            .unwrap();
        // Kill at a pseudo-random moment between 20 and 400 ms after the first ack.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let wait = Duration::from_millis(20 + seed % 380);
        let mut acked = 0i64;
        let start = Instant::now();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("ACK ") {
                acked = n.parse().unwrap();
                if start.elapsed() >= wait {
                    break;
                }
            }
        }
        proc.kill().unwrap();
        proc.wait().unwrap();
        assert!(acked > 0, "round {round}: the child acknowledged nothing");
        checked.push((run, acked));
    }
    // The store opens clean and holds every acknowledged point, exactly.
    std::thread::sleep(Duration::from_millis(1200));
    let store = SqliteStore::open_with(dir.path(), fast_options()).unwrap();
    let rt = rt();
    for (run, acked) in checked {
        let h = rt
            .block_on(store.get_metric_history(&run, "x", HistoryOptions::default()))
            .unwrap();
        assert!(
            h.len() as i64 >= acked,
            "run {run}: {} points stored, {acked} acknowledged",
            h.len()
        );
        for (i, p) in h.iter().enumerate() {
            assert_eq!(
                (p.step, p.value),
                (i as i64, value(i as i64)),
                "run {run} point {i}"
            );
        }
        let info = rt.block_on(store.get_run(&run)).unwrap().info;
        assert_eq!(
            info.status,
            RunStatus::Failed,
            "a killed run is marked FAILED once its heartbeat is stale"
        );
    }
    let check: String = rusqlite_integrity(dir.path());
    assert_eq!(check, "ok");
}

fn rusqlite_integrity(dir: &Path) -> String {
    // Opened through a second store handle's pool would hide errors; ask SQLite directly.
    let out = Command::new("sqlite3")
        .arg(dir.join("mlops.db"))
        .arg("PRAGMA integrity_check;")
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        // No sqlite3 shell on this machine: opening the store above already ran queries on
        // every table involved.
        _ => "ok".to_owned(),
    }
}

const MODEL: &str = "shared-model";
const RUNS_PER_WORKER: usize = 5;
const POINTS_PER_RUN: i64 = 2_000;
const VERSIONS_PER_WORKER: usize = 5;

/// One writer's share of the concurrency test.
async fn concurrent_work(store: &SqliteStore, worker: usize) {
    let exp = ExperimentId::from("0");
    for r in 0..RUNS_PER_WORKER {
        let run = store
            .create_run(CreateRunOptions::new(exp.clone()).name(format!("w{worker}-r{r}")))
            .await
            .unwrap()
            .run_id;
        store
            .log_param(&run, &Param::new("worker", worker))
            .await
            .unwrap();
        let batch: Vec<Metric> = (0..POINTS_PER_RUN / 2)
            .map(|s| Metric {
                key: "b".into(),
                value: s as f64,
                timestamp: s,
                step: s,
            })
            .collect();
        store.log_batch(&run, &batch, &[], &[]).await.unwrap();
        for s in 0..POINTS_PER_RUN {
            store
                .log_metric(
                    &run,
                    Metric {
                        key: "q".into(),
                        value: s as f64,
                        timestamp: s,
                        step: s,
                    },
                )
                .unwrap();
        }
        store.end_run(&run, RunStatus::Finished).await.unwrap();
    }
    for _ in 0..VERSIONS_PER_WORKER {
        store
            .create_model_version(NewModelVersion {
                name: MODEL.into(),
                source: format!("w{worker}"),
                ..Default::default()
            })
            .await
            .unwrap();
    }
}

#[test]
fn sixteen_threads_and_four_processes_share_one_store() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let procs: Vec<_> = (0..4)
        .map(|w| {
            child(
                "writer",
                dir.path(),
                &[("MLOPS_WORKER", (100 + w).to_string())],
            )
            .spawn()
            .unwrap()
        })
        .collect();
    let threads: Vec<_> = (0..16)
        .map(|w| {
            let path = dir.path().to_path_buf();
            std::thread::spawn(move || {
                // Each thread opens its own handle: 16 independent writers on one file.
                let store = SqliteStore::open(&path).unwrap();
                rt().block_on(concurrent_work(&store, w));
            })
        })
        .collect();
    for t in threads {
        t.join()
            .expect("a writer thread failed (an error reached the user)");
    }
    for mut p in procs {
        let mut out = String::new();
        std::io::Read::read_to_string(p.stdout.as_mut().unwrap(), &mut out).unwrap();
        assert!(
            p.wait().unwrap().success() && out.contains("DONE"),
            "a writer process failed"
        );
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    let rt = rt();
    let page = rt
        .block_on(store.search_runs(SearchRunsOptions {
            filter: "attributes.status = 'FINISHED'".into(),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(page.runs.len(), 20 * RUNS_PER_WORKER, "every run is there");
    for run in &page.runs {
        for key in ["q", "b"] {
            let h = rt
                .block_on(store.get_metric_history(
                    &run.info.run_id,
                    key,
                    HistoryOptions::default(),
                ))
                .unwrap();
            let want = if key == "q" {
                POINTS_PER_RUN
            } else {
                POINTS_PER_RUN / 2
            };
            assert_eq!(
                h.len() as i64,
                want,
                "run {} metric {key}",
                run.info.run_name
            );
        }
    }
    let versions: Vec<u64> = rt
        .block_on(store.list_model_versions(MODEL))
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(
        versions,
        (1..=(20 * VERSIONS_PER_WORKER) as u64).collect::<Vec<_>>(),
        "versions 1..N, no gap or duplicate"
    );
}

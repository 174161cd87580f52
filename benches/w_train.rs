//! W-TRAIN (`../shared/BENCHMARKS.md`): the MLP 32 → 256 → 256 → 2 trained with the default
//! [`BurnTrainer`] on `train.parquet`, printing one JSON line with the fields of the PyTorch
//! peer (`../shared/bench/peers/peer_train.py`), plus inference latency.
//!
//! ```text
//! cargo run --release -p mlops-benches --bin w_train -- --input bench-data/train.parquet
//! cargo run --release -p mlops-benches --bin w_train -- --input ... --latency   # 1 and 64 rows
//! ```
//! `benches/w_train.py` runs it beside PyTorch, interleaved, and prints the ratios.
//!
//! The training goes through the whole product path: a real run in an embedded store
//! (step and epoch metrics enqueued to SQLite), the feature pipeline (pass-through here, as
//! the peer feeds raw features), burn's learner, and the model package. Rows [0, 0.9 N) train
//! and [0.9 N, N) are held out, in file order; the held-out rows are scored by the
//! [`Predictor`] after training, outside the timed training.

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow_array::RecordBatch;
use mlops_core::features::{ColumnSpec, FeatureMatrix, PipelineSpec, Transform};
use mlops_core::learn::{
    BurnTrainer, DeviceSpec, ModelPackage, ModelSpec, Optimizer, Predictor, TrainerConfig,
};
use mlops_core::{
    CreateRunOptions, DatasetId, Digest, EpochDecision, SqliteStore, Tracker, TrainContext,
    TrainObserver, Trainer, TrainingData,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;

#[path = "common.rs"]
mod common;
use common::peak_rss_mb;

/// Records when each epoch ends and its mean training loss.
#[derive(Default)]
struct EpochClock {
    start: Mutex<Option<Instant>>,
    ends: Mutex<Vec<(f64, f64)>>,
}

impl TrainObserver for EpochClock {
    fn on_start(&self, _plan: &mlops_core::TrainPlan) {
        *self.start.lock().unwrap() = Some(Instant::now());
    }
    fn on_epoch_end(&self, _epoch: usize, metrics: &BTreeMap<String, f64>) -> EpochDecision {
        let t = self.start.lock().unwrap().unwrap().elapsed().as_secs_f64();
        let loss = metrics.get("train_loss").copied().unwrap_or(f64::NAN);
        self.ends.lock().unwrap().push((t, loss));
        EpochDecision::Continue
    }
}

struct Args {
    input: String,
    epochs: usize,
    batch: usize,
    lr: f64,
    latency: bool,
    calls: usize,
}

fn args() -> Args {
    let mut a = Args {
        input: String::new(),
        epochs: 3,
        batch: 512,
        lr: 1e-3,
        latency: false,
        calls: 10_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--input" => a.input = v(),
            "--epochs" => a.epochs = v().parse().expect("--epochs N"),
            "--batch" => a.batch = v().parse().expect("--batch N"),
            "--lr" => a.lr = v().parse().expect("--lr X"),
            "--calls" => a.calls = v().parse().expect("--calls N"),
            "--latency" => a.latency = true,
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!a.input.is_empty(), "--input train.parquet is required");
    a
}

fn read(path: &str) -> Vec<RecordBatch> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("parquet")
        .with_batch_size(65_536)
        .build()
        .expect("reader")
        .collect::<Result<Vec<_>, _>>()
        .expect("batches")
}

/// Rows `[start, end)` of the concatenated batches.
fn rows(batches: &[RecordBatch], start: usize, end: usize) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    let mut offset = 0;
    for b in batches {
        let (lo, hi) = (offset, offset + b.num_rows());
        let (s, e) = (start.max(lo), end.min(hi));
        if s < e {
            out.push(b.slice(s - lo, e - s));
        }
        offset = hi;
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let a = args();
    let t0 = Instant::now();
    let batches = read(&a.input);
    let n: usize = batches.iter().map(|b| b.num_rows()).sum();
    let n_train = n * 9 / 10;
    let schema = batches[0].schema();
    let features: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|c| c.starts_with('x'))
        .collect();
    let train = rows(&batches, 0, n_train);
    let heldout = rows(&batches, n_train, n);
    drop(batches);
    let load_s = t0.elapsed().as_secs_f64();

    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(SqliteStore::open(dir.path()).expect("store"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let exp = rt
        .block_on(store.create_experiment("w-train", &[], None))
        .expect("experiment");
    let run = rt
        .block_on(store.create_run(CreateRunOptions::new(exp)))
        .expect("run")
        .run_id;
    let clock = Arc::new(EpochClock::default());
    let ctx = TrainContext::new(run, store.clone())
        .seed(0)
        .observe(clock.clone());
    let config = TrainerConfig::new(ModelSpec::mlp_classifier(&[256, 256]))
        .epochs(a.epochs)
        .batch_size(a.batch)
        .optimizer(Optimizer::adam(a.lr))
        .features(PipelineSpec::new(
            features
                .iter()
                .map(|c| ColumnSpec::new(c.clone(), Transform::Passthrough))
                .collect(),
        ))
        .device(DeviceSpec::Cpu);
    let data = TrainingData {
        train,
        train_id: DatasetId::from_digest(Digest::of(a.input.as_bytes())),
        eval: None,
        label: "label".into(),
    };
    let t_fit = Instant::now();
    let model = BurnTrainer::new(config)
        .train(&ctx, &data)
        .expect("training");
    let fit_s = t_fit.elapsed().as_secs_f64();
    let ends = clock.ends.lock().unwrap().clone();
    // Training time: from the learner's start to the last epoch's end (feature pipeline and
    // packaging excluded, as the peer excludes loading and evaluation).
    let train_s = ends.last().map_or(fit_s, |e| e.0);
    let mut per_epoch = Vec::new();
    let mut prev = 0.0;
    for (i, (t, loss)) in ends.iter().enumerate() {
        per_epoch.push(
            json!({"epoch": i + 1, "time_s": t - prev, "mean_loss": loss,
                              "samples_per_s": n_train as f64 / (t - prev)}),
        );
        prev = *t;
    }
    rt.block_on(store.flush()).expect("flush");

    let t_eval = Instant::now();
    if std::env::var("W_TRAIN_DEBUG").is_ok() {
        eprintln!("{:?}", model.metrics);
    }
    let package = ModelPackage::from_files(&model.files).expect("package");
    let predictor = Predictor::from_package(&package, DeviceSpec::Cpu).expect("predictor");
    let (accuracy, _) = heldout_accuracy(&predictor, &heldout);
    let eval_s = t_eval.elapsed().as_secs_f64();
    // The same model with int8 weights, scored by the evaluator's accuracy.
    let int8 = predictor.quantized_package().expect("int8 package");
    let int8_bytes = int8.weights.len();
    let int8 = Predictor::from_package(&int8, DeviceSpec::Cpu).expect("int8 predictor");
    let (int8_accuracy, _) = heldout_accuracy(&int8, &heldout);
    let heldout_rows = n - n_train;

    let mut out = json!({
        "workload": "W-TRAIN", "impl": "mlops-burn-flex",
        "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "rayon_threads": std::env::var("RAYON_NUM_THREADS").ok(),
        "rows": n, "train_rows": n_train, "heldout_rows": heldout_rows,
        "features": features.len(), "epochs": a.epochs, "batch": a.batch, "lr": a.lr,
        "per_epoch": per_epoch,
        "samples_per_s": (a.epochs * n_train) as f64 / train_s,
        "heldout_accuracy": accuracy,
        "int8": {"heldout_accuracy": int8_accuracy, "accuracy_change": int8_accuracy - accuracy,
                 "weights_bytes": int8_bytes, "f32_weights_bytes": package.weights.len()},
        "time_s": {"load": load_s, "train": train_s, "fit_total": fit_s, "eval": eval_s,
                   "total": t0.elapsed().as_secs_f64()},
        "tracked_train_loss_steps": rt.block_on(store.get_metric_history(
            &ctx.run_id, "train_loss_step", Default::default())).map(|h| h.len()).unwrap_or(0),
        "peak_rss_mb": peak_rss_mb(),
    });
    if a.latency {
        out["latency_us"] = latency(&predictor, &heldout, features.len(), a.calls);
    }
    println!("{out}");
}

/// Held-out accuracy with `mlops_eval::metrics::accuracy_score` (scikit-learn's definition).
fn heldout_accuracy(p: &Predictor, heldout: &[RecordBatch]) -> (f64, usize) {
    let (mut y, mut pred) = (Vec::new(), Vec::new());
    for b in heldout {
        let out = p.predict(b).expect("predict");
        let col = out
            .column(0)
            .as_any()
            .downcast_ref::<arrow_array::Int64Array>()
            .unwrap();
        pred.extend_from_slice(col.values());
        y.extend(arrow_select_label(b.column_by_name("label").unwrap()));
    }
    let acc = mlops_eval::metrics::accuracy_score(&y, &pred, true, None).expect("accuracy");
    (acc, y.len())
}

fn arrow_select_label(col: &arrow_array::ArrayRef) -> Vec<i64> {
    use arrow_array::{Int32Array, Int64Array};
    if let Some(a) = col.as_any().downcast_ref::<Int32Array>() {
        a.values().iter().map(|v| *v as i64).collect()
    } else {
        col.as_any()
            .downcast_ref::<Int64Array>()
            .expect("int label")
            .values()
            .to_vec()
    }
}

/// Median latency of `calls` predictions of 1 and 64 rows: the network alone on ready
/// features (as the peer's `model(x)`), and the whole request path from a JSON row.
fn latency(
    p: &Predictor,
    heldout: &[RecordBatch],
    width: usize,
    calls: usize,
) -> serde_json::Value {
    let m = p.pipeline().transform(&heldout[0]).expect("features");
    let sample = |rows: usize, i: usize| -> FeatureMatrix {
        let start = (i * 7919) % (m.rows - rows);
        FeatureMatrix {
            rows,
            width,
            values: m.values[start * width..(start + rows) * width].to_vec(),
        }
    };
    let time = |rows: usize| -> f64 {
        let mut t = Vec::with_capacity(calls);
        for i in 0..calls {
            let x = sample(rows, i);
            let s = Instant::now();
            std::hint::black_box(p.forward(&x).expect("forward"));
            t.push(s.elapsed().as_secs_f64() * 1e6);
        }
        median(t)
    };
    let cols: Vec<String> = (0..width).map(|i| format!("x{i}")).collect();
    let json_rows: Vec<serde_json::Value> = (0..100)
        .map(|r| {
            let row = m.row(r);
            serde_json::Value::Object(
                cols.iter()
                    .zip(row)
                    .map(|(c, v)| (c.clone(), json!(*v)))
                    .collect(),
            )
        })
        .collect();
    let mut t = Vec::with_capacity(calls);
    for i in 0..calls {
        let s = Instant::now();
        std::hint::black_box(p.predict_row(&json_rows[i % 100]).expect("predict_row"));
        t.push(s.elapsed().as_secs_f64() * 1e6);
    }
    let _ = time(1); // warm-up
    json!({"forward_1_row": time(1), "forward_64_rows": time(64), "predict_row_json": median(t),
           "calls": calls})
}

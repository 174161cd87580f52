//! The burn trainer end to end, on a real SQLite store: tracking, registration and lineage,
//! reproducibility, early stopping, cancellation, checkpoint and resume after a kill,
//! inference and int8 weights, and typed errors for bad input.
//!
//! The test binary re-executes itself as the child that gets killed: the `#[ignore]` test
//! `child_process` trains when `MLOPS_TRAIN_CHILD` is set.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_array::{
    Array, ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use mlops_core::learn::{
    BurnTrainer, DeviceSpec, ModelPackage, ModelSpec, Optimizer, Predictor, TrainerConfig,
};
use mlops_core::rng::Rng;
use mlops_core::{
    CancelToken, Completion, DatasetId, Digest, EpochDecision, Factory, HistoryOptions, ModelRef,
    RunStatus, SqliteStore, Tracker, TrainContext, TrainObserver, TrainOptions, TrainPlan, Trainer,
    TrainingData,
};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A seeded table: 6 numeric features, a categorical `plan`, and a label from a noisy
/// linear teacher (binary `label`, and a regression `target`).
fn table(rows: usize, seed: u64) -> RecordBatch {
    let mut rng = Rng::new(seed);
    let mut normal = || (0..12).map(|_| rng.next_f64()).sum::<f64>() - 6.0;
    let w = [1.5, -2.0, 1.0, 0.5, -0.5, 0.0];
    let mut cols: Vec<Vec<f32>> = (0..6).map(|_| Vec::with_capacity(rows)).collect();
    let (mut plan, mut label, mut target) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..rows {
        let x: Vec<f64> = (0..6).map(|_| normal()).collect();
        let p = ["free", "pro", "team"][r % 3];
        let effect = match p {
            "free" => -0.5,
            "pro" => 0.5,
            _ => 0.0,
        };
        let z: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + effect;
        let noise = normal() * 0.3;
        for (c, v) in cols.iter_mut().zip(&x) {
            c.push(*v as f32);
        }
        plan.push(p);
        label.push(i64::from(z + noise > 0.0));
        target.push(3.0 * x[0] - 2.0 * x[1] + 1.0 + noise * 0.1);
    }
    let mut fields: Vec<Field> = (0..6)
        .map(|i| Field::new(format!("x{i}"), DataType::Float32, false))
        .collect();
    fields.push(Field::new("plan", DataType::Utf8, false));
    fields.push(Field::new("label", DataType::Int64, false));
    fields.push(Field::new("target", DataType::Float64, false));
    let mut arrays: Vec<ArrayRef> = cols
        .into_iter()
        .map(|c| Arc::new(Float32Array::from(c)) as ArrayRef)
        .collect();
    arrays.push(Arc::new(StringArray::from(plan)));
    arrays.push(Arc::new(Int64Array::from(label)));
    arrays.push(Arc::new(Float64Array::from(target)));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

fn id(n: u8) -> DatasetId {
    DatasetId::from_digest(Digest::of(&[n]))
}

/// Training data for `label` (the regression target column is dropped for classifiers and
/// vice versa, so the model cannot read the answer).
fn data(label: &str, train_rows: usize, eval_rows: usize) -> TrainingData {
    let drop = if label == "label" { "target" } else { "label" };
    let keep = |b: RecordBatch| {
        let i = b.schema().index_of(drop).unwrap();
        let mut b = b;
        b.remove_column(i);
        b
    };
    TrainingData {
        train: vec![keep(table(train_rows, 1))],
        train_id: id(1),
        eval: Some((vec![keep(table(eval_rows, 2))], id(2))),
        label: label.into(),
    }
}

fn mlp(epochs: usize) -> TrainerConfig {
    TrainerConfig::new(ModelSpec::mlp_classifier(&[16]))
        .epochs(epochs)
        .batch_size(64)
        .optimizer(Optimizer::adam(0.01))
}

fn store(dir: &Path) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(dir).unwrap())
}

fn ctx(store: &Arc<SqliteStore>, seed: u64) -> TrainContext {
    let rt = rt();
    let exp = rt
        .block_on(store.create_experiment("t", &[], None))
        .or_else(|_| {
            rt.block_on(store.get_experiment_by_name("t"))
                .map(|e| e.experiment_id)
        });
    let run = rt
        .block_on(store.create_run(mlops_core::CreateRunOptions::new(exp.unwrap())))
        .unwrap();
    TrainContext::new(run.run_id, store.clone()).seed(seed)
}

fn weights(m: &mlops_core::TrainedModel) -> Vec<u8> {
    m.files["model.safetensors"].to_vec()
}

#[test]
fn trains_tracks_and_registers_a_classifier_that_the_predictor_serves() {
    let dir = tempfile::tempdir().unwrap();
    let factory = Factory::open(dir.path()).unwrap();
    let rt = rt();
    let d = data("label", 2000, 500);
    let eval = d.eval.clone().unwrap().0.remove(0);
    let trainer = Arc::new(BurnTrainer::new(mlp(4)));
    let out = rt
        .block_on(
            factory.train(
                trainer,
                d,
                TrainOptions::new("churn")
                    .run_name("mlp")
                    .seed(3)
                    .register_as("churn"),
            ),
        )
        .unwrap();
    assert_eq!(out.model.completion, Completion::Finished);
    assert_eq!(out.model.epochs, 4);
    let acc = out.model.metrics["val_accuracy"];
    assert!(acc > 0.85, "val accuracy {acc}");

    let tracker = factory.tracker();
    let run = rt.block_on(tracker.get_run(&out.run_id)).unwrap();
    assert_eq!(run.info.status, RunStatus::Finished);
    assert_eq!(run.data.params["model.kind"], "mlp_classifier");
    assert_eq!(run.data.params["model.hidden"], "[16]");
    assert_eq!(run.data.params["optimizer.lr"], "0.01");
    assert_eq!(run.data.params["seed"], "3");
    let contexts: BTreeMap<_, _> = run
        .inputs
        .iter()
        .map(|i| (i.context.clone(), i.dataset.id.clone()))
        .collect();
    assert_eq!(contexts["training"], id(1));
    assert_eq!(contexts["eval"], id(2));
    for key in [
        "train_loss",
        "val_loss",
        "val_accuracy",
        "train_accuracy",
        "train_seconds",
    ] {
        assert!(run.data.metrics.contains_key(key), "{key} missing");
    }
    let steps = rt
        .block_on(tracker.get_metric_history(
            &out.run_id,
            "train_loss_step",
            HistoryOptions::default(),
        ))
        .unwrap();
    assert_eq!(steps.len(), 4 * 2000usize.div_ceil(64));
    assert_eq!(
        steps.last().unwrap().step,
        (4 * 2000usize.div_ceil(64)) as i64
    );
    let epochs = rt
        .block_on(tracker.get_metric_history(&out.run_id, "val_loss", HistoryOptions::default()))
        .unwrap();
    assert_eq!(
        epochs.iter().map(|p| p.step).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let artifacts: Vec<String> = rt
        .block_on(tracker.list_artifacts(&out.run_id))
        .unwrap()
        .into_iter()
        .map(|a| a.path)
        .collect();
    for f in [
        "model.safetensors",
        "pipeline.json",
        "signature.json",
        "model.json",
        "package.json",
    ] {
        assert!(
            artifacts.contains(&format!("model/{f}")),
            "{f} not in {artifacts:?}"
        );
    }

    // Registered with lineage dataset -> run -> version.
    let version = out.version.unwrap();
    assert_eq!(version.version, 1);
    assert_eq!(version.artifact_digest, Some(out.package));
    let registry = factory.registry();
    let from_data = rt.block_on(registry.versions_from_dataset(&id(1))).unwrap();
    assert_eq!(from_data.len(), 1);
    assert_eq!(
        rt.block_on(registry.datasets_of_version("churn", 1))
            .unwrap()
            .len(),
        2
    );

    // The predictor loads the registered version and agrees with the training's metric.
    let model: ModelRef = "churn@latest".parse().unwrap();
    let predictor = rt
        .block_on(Predictor::load(&factory, &model, DeviceSpec::Cpu))
        .unwrap();
    let pred = predictor.predict(&eval).unwrap();
    let p = pred
        .column_by_name("prediction")
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    let y = eval
        .column_by_name("label")
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    let correct = (0..y.len()).filter(|&i| p.value(i) == y.value(i)).count();
    let served = correct as f64 / y.len() as f64;
    assert!(
        (served - acc).abs() < 1e-9,
        "served {served} vs tracked {acc}"
    );
    assert!(pred.column_by_name("score").is_some());

    // One JSON row gives the same probabilities, bit for bit, as the batch.
    let row = serde_json::json!({"x0": 0.5, "x1": -1.0, "x2": 0.25, "x3": 0.0, "x4": 1.0,
                                 "x5": -0.5, "plan": "pro"});
    let one = predictor.predict_row(&row).unwrap();
    let batch = RecordBatch::try_new(
        eval.schema(),
        eval.schema()
            .fields()
            .iter()
            .map(|f| -> ArrayRef {
                match f.name().as_str() {
                    "plan" => Arc::new(StringArray::from(vec!["pro"])),
                    "label" => Arc::new(Int64Array::from(vec![0])),
                    n => {
                        let v = row[n].as_f64().unwrap() as f32;
                        Arc::new(Float32Array::from(vec![v]))
                    }
                }
            })
            .collect(),
    )
    .unwrap();
    let many = predictor.predict(&batch).unwrap();
    let score = many
        .column_by_name("score")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap()
        .value(0);
    assert_eq!(score, one.probabilities[1] as f64);
}

#[test]
fn the_same_seed_gives_bit_identical_weights_even_when_trainings_run_concurrently() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let cfg = TrainerConfig::new(ModelSpec::MlpClassifier {
        hidden: vec![16, 8],
        activation: mlops_core::learn::Activation::Relu,
        dropout: 0.2,
    })
    .epochs(2)
    .batch_size(32);
    let trainer = BurnTrainer::new(cfg);
    let d = data("label", 600, 200);
    let first = trainer.train(&ctx(&store, 7), &d).unwrap();
    let again = trainer.train(&ctx(&store, 7), &d).unwrap();
    assert_eq!(weights(&first), weights(&again));
    let other = trainer.train(&ctx(&store, 8), &d).unwrap();
    assert_ne!(weights(&first), weights(&other));

    // Two trainings at once in one process (a sweep's trials) give the same bits again.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| trainer.train(&ctx(&store, 7), &d).unwrap());
        let b = s.spawn(|| trainer.train(&ctx(&store, 8), &d).unwrap());
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(weights(&a), weights(&first));
    assert_eq!(weights(&b), weights(&other));
}

#[test]
fn early_stopping_keeps_the_weights_of_the_best_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    // A wide network on few rows with a large step overfits quickly.
    let cfg = TrainerConfig::new(ModelSpec::mlp_regressor(&[64, 64]))
        .epochs(40)
        .batch_size(8)
        .optimizer(Optimizer::adam(0.05))
        .early_stopping(2);
    let mut d = data("target", 60, 200);
    // Pure-noise targets: nothing generalises, so the validation loss turns up.
    let mut rng = Rng::new(9);
    let noise: Vec<f64> = (0..60).map(|_| rng.next_f64()).collect();
    let b = &d.train[0];
    let i = b.schema().index_of("target").unwrap();
    let mut cols = b.columns().to_vec();
    cols[i] = Arc::new(Float64Array::from(noise));
    d.train = vec![RecordBatch::try_new(b.schema(), cols).unwrap()];
    let out = BurnTrainer::new(cfg).train(&ctx(&store, 1), &d).unwrap();
    assert_eq!(out.completion, Completion::EarlyStopped);
    assert!(out.epochs < 40, "ran {} epochs", out.epochs);
    let manifest: serde_json::Value = serde_json::from_slice(&out.files["model.json"]).unwrap();
    let best = manifest["weights_epoch"].as_u64().unwrap() as usize;
    assert_eq!(out.epochs - best, 2, "stopped two epochs after the best");
    assert_eq!(out.metrics["weights_epoch"], best as f64);
}

/// Cancels the token after a number of steps, or stops at an epoch.
struct Stopper {
    cancel: CancelToken,
    after_steps: u64,
    stop_epoch: usize,
    seen: AtomicU64,
    plan: Mutex<Option<TrainPlan>>,
}

impl TrainObserver for Stopper {
    fn on_start(&self, plan: &TrainPlan) {
        *self.plan.lock().unwrap() = Some(plan.clone());
    }
    fn on_step(&self, _epoch: usize, step: u64, _loss: f64) {
        self.seen.fetch_add(1, Ordering::SeqCst);
        if step == self.after_steps {
            self.cancel.cancel("user pressed stop");
        }
    }
    fn on_epoch_end(&self, epoch: usize, metrics: &BTreeMap<String, f64>) -> EpochDecision {
        assert!(metrics.contains_key("train_loss"));
        if epoch == self.stop_epoch {
            EpochDecision::Stop("pruned by the scheduler".into())
        } else {
            EpochDecision::Continue
        }
    }
}

#[test]
fn cancellation_ends_the_run_killed_and_registers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let factory = Factory::open(dir.path()).unwrap();
    let cancel = CancelToken::new();
    let stopper = Arc::new(Stopper {
        cancel: cancel.clone(),
        after_steps: 5,
        stop_epoch: usize::MAX,
        seen: AtomicU64::new(0),
        plan: Mutex::new(None),
    });
    let rt = rt();
    let out = rt
        .block_on(
            factory.train(
                Arc::new(BurnTrainer::new(mlp(50))),
                data("label", 2000, 100),
                TrainOptions::new("c")
                    .register_as("never")
                    .observe(stopper.clone())
                    .cancel_with(cancel),
            ),
        )
        .unwrap();
    assert_eq!(
        out.model.completion,
        Completion::Cancelled("user pressed stop".into())
    );
    assert!(out.model.epochs < 50);
    assert!(out.version.is_none());
    let run = rt.block_on(factory.tracker().get_run(&out.run_id)).unwrap();
    assert_eq!(run.info.status, RunStatus::Killed);
    assert!(
        rt.block_on(factory.registry().get_registered_model("never"))
            .is_err()
    );
    let plan = stopper.plan.lock().unwrap().clone().unwrap();
    assert_eq!(
        (plan.epochs, plan.first_epoch, plan.steps_per_epoch),
        (50, 1, 32)
    );
}

#[test]
fn an_observer_stops_training_after_an_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let stopper = Arc::new(Stopper {
        cancel: CancelToken::new(),
        after_steps: u64::MAX,
        stop_epoch: 2,
        seen: AtomicU64::new(0),
        plan: Mutex::new(None),
    });
    let out = BurnTrainer::new(mlp(10))
        .train(
            &ctx(&store, 1).observe(stopper.clone()),
            &data("label", 320, 64),
        )
        .unwrap();
    assert_eq!(
        out.completion,
        Completion::Stopped("pruned by the scheduler".into())
    );
    assert_eq!(out.epochs, 2);
    assert_eq!(stopper.seen.load(Ordering::SeqCst), 2 * 5);
}

/// The child's work: train with checkpoints, slowly, until killed.
#[test]
#[ignore = "runs only as a child process of the resume test"]
fn child_process() {
    let Ok(dir) = std::env::var("MLOPS_TRAIN_CHILD") else {
        return;
    };
    struct Slow;
    impl TrainObserver for Slow {
        fn on_epoch_end(&self, _: usize, _: &BTreeMap<String, f64>) -> EpochDecision {
            std::thread::sleep(Duration::from_millis(400));
            EpochDecision::Continue
        }
    }
    let dir = Path::new(&dir);
    let store = store(&dir.join("store"));
    let ctx = ctx(&store, 5)
        .checkpoints(dir.join("ckpt"))
        .observe(Arc::new(Slow));
    BurnTrainer::new(mlp(8))
        .train(&ctx, &data("label", 640, 128))
        .unwrap();
}

#[test]
fn a_training_killed_midway_resumes_and_ends_with_the_same_weights() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MLOPS_TRAIN_CHILD", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ckpt = dir.path().join("ckpt");
    let deadline = Instant::now() + Duration::from_secs(300);
    while !ckpt.join("scheduler-3.bpk").exists() {
        assert!(Instant::now() < deadline, "the child never reached epoch 3");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child ended before epoch 3"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!ckpt.join("model-8.bpk").exists());

    // Resume in this process, on the same folder.
    let store = store(&dir.path().join("store"));
    let resumed = BurnTrainer::new(mlp(8))
        .train(&ctx(&store, 5).checkpoints(&ckpt), &data("label", 640, 128))
        .unwrap();
    assert_eq!(resumed.epochs, 8);
    assert_eq!(resumed.completion, Completion::Finished);
    // The same as a training that never stopped: the epoch order depends on (seed, epoch).
    let straight = BurnTrainer::new(mlp(8))
        .train(&ctx(&store, 5), &data("label", 640, 128))
        .unwrap();
    assert_eq!(weights(&resumed), weights(&straight));

    // Another config on the same folder is refused instead of mixed.
    let other = BurnTrainer::new(mlp(8).batch_size(32))
        .train(&ctx(&store, 5).checkpoints(&ckpt), &data("label", 640, 128))
        .unwrap_err();
    assert!(other.to_string().contains("another training"), "{other}");
}

#[test]
fn linear_regression_recovers_the_teacher() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let cfg = TrainerConfig::new(ModelSpec::LinearRegression)
        .epochs(30)
        .batch_size(32)
        .optimizer(Optimizer::adam(0.05));
    let out = BurnTrainer::new(cfg)
        .train(&ctx(&store, 2), &data("target", 1000, 200))
        .unwrap();
    // Targets have variance about 13; the noise variance is about 0.001.
    assert!(out.metrics["val_loss"] < 0.05, "{:?}", out.metrics);
    let package = ModelPackage::from_files(&out.files).unwrap();
    let p = Predictor::from_package(&package, DeviceSpec::Cpu).unwrap();
    let row = serde_json::json!({"x0": 1.0, "x1": 1.0, "x2": 0.0, "x3": 0.0, "x4": 0.0,
                                 "x5": 0.0, "plan": "free"});
    let y = p.predict_row(&row).unwrap().value.as_f64().unwrap();
    assert!((y - 2.0).abs() < 0.3, "3 - 2 + 1 = 2, got {y}");
}

#[test]
fn int8_weights_are_a_quarter_of_the_size_and_predict_almost_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let cfg = TrainerConfig::new(ModelSpec::mlp_classifier(&[128]))
        .epochs(3)
        .batch_size(64)
        .optimizer(Optimizer::adam(0.01));
    let d = data("label", 2000, 1000);
    let eval = d.eval.clone().unwrap().0.remove(0);
    let out = BurnTrainer::new(cfg).train(&ctx(&store, 4), &d).unwrap();
    let package = ModelPackage::from_files(&out.files).unwrap();
    let full = Predictor::from_package(&package, DeviceSpec::Cpu).unwrap();
    let small = full.quantized_package().unwrap();
    assert!(
        small.weights.len() * 2 < package.weights.len(),
        "{} vs {} bytes",
        small.weights.len(),
        package.weights.len()
    );
    let q = Predictor::from_package(&small, DeviceSpec::Cpu).unwrap();
    let labels = |p: &Predictor| -> Vec<i64> {
        let b = p.predict(&eval).unwrap();
        let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        a.values().to_vec()
    };
    let (a, b) = (labels(&full), labels(&q));
    let agree = a.iter().zip(&b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64;
    assert!(agree > 0.98, "int8 agrees with f32 on {agree}");
}

#[test]
fn bad_input_gets_a_typed_error_that_names_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let train = |cfg: TrainerConfig, d: &TrainingData| -> String {
        BurnTrainer::new(cfg)
            .train(&ctx(&store, 0), d)
            .unwrap_err()
            .to_string()
    };
    let mut d = data("label", 100, 20);
    d.label = "churned".into();
    let e = train(mlp(1), &d);
    assert!(e.contains("churned") && e.contains("x0"), "{e}");

    let d = data("label", 100, 20);
    let leaky = mlp(1).features(mlops_core::features::PipelineSpec::new(vec![
        mlops_core::features::ColumnSpec::new(
            "label",
            mlops_core::features::Transform::Standardize,
        ),
    ]));
    assert!(train(leaky, &d).contains("must not read its own target"));

    let e = train(
        mlp(1).early_stopping(2),
        &TrainingData {
            eval: None,
            ..d.clone()
        },
    );
    assert!(e.contains("early stopping"), "{e}");

    let e = train(
        TrainerConfig::new(ModelSpec::LinearRegression).epochs(1),
        &TrainingData {
            label: "plan".into(),
            eval: None,
            ..data("label", 100, 20)
        },
    );
    assert!(e.contains("numeric column for regression"), "{e}");

    // A single class, and an evaluation class never seen in training.
    let one_class = {
        let mut d = data("label", 50, 20);
        let b = &d.train[0];
        let i = b.schema().index_of("label").unwrap();
        let mut cols = b.columns().to_vec();
        cols[i] = Arc::new(Int64Array::from(vec![1; 50]));
        d.train = vec![RecordBatch::try_new(b.schema(), cols).unwrap()];
        d
    };
    assert!(train(mlp(1), &one_class).contains("at least two classes"));
    let unseen = {
        let mut d = data("label", 50, 20);
        let (mut eval, eid) = d.eval.take().unwrap();
        let b = &eval[0];
        let i = b.schema().index_of("label").unwrap();
        let mut cols = b.columns().to_vec();
        cols[i] = Arc::new(Int64Array::from(vec![7; 20]));
        eval[0] = RecordBatch::try_new(b.schema(), cols).unwrap();
        d.eval = Some((eval, eid));
        d
    };
    let e = train(mlp(1), &unseen);
    assert!(e.contains("evaluation label") && e.contains('7'), "{e}");

    let e = train(mlp(1).device(DeviceSpec::Cuda(0)), &data("label", 50, 20));
    if cfg!(not(feature = "cuda")) {
        assert!(e.contains("`cuda` feature"), "{e}");
    }
    let e = train(mlp(0), &data("label", 50, 20));
    assert!(e.contains("epochs"), "{e}");
}

fn sweep_builder(epochs: usize) -> mlops_core::sweep::TrainerBuilder {
    Arc::new(move |p: &mlops_core::sweep::TrialParams| {
        let width = p["width"].as_u64().unwrap_or(8) as usize;
        let lr = p["lr"].as_f64().unwrap_or(0.01);
        let cfg = TrainerConfig::new(ModelSpec::mlp_classifier(&[width]))
            .epochs(epochs)
            .batch_size(64)
            .optimizer(Optimizer::adam(lr));
        Ok(Arc::new(BurnTrainer::new(cfg)) as Arc<dyn Trainer>)
    })
}

#[test]
fn a_grid_sweep_runs_trials_as_child_runs_and_registers_the_best() {
    use mlops_core::sweep::{Domain, Objective, SearchSpace, SweepOptions, run_sweep};
    let dir = tempfile::tempdir().unwrap();
    let factory = Factory::open(dir.path()).unwrap();
    let space = SearchSpace::new()
        .param("lr", Domain::choice([0.0005, 0.02]))
        .param("width", Domain::choice([4, 16]));
    let options = SweepOptions::new("sweep", Objective::minimize("val_loss"))
        .max_concurrent(2)
        .register_best_as("swept");
    let rt = rt();
    let report = rt
        .block_on(run_sweep(
            &factory,
            &space,
            sweep_builder(2),
            &data("label", 600, 200),
            options,
        ))
        .unwrap();
    assert_eq!(report.trials.len(), 4);
    let best = report.best().unwrap();
    let min = report
        .trials
        .iter()
        .map(|t| t.objective.unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(best.objective, Some(min));
    let tracker = factory.tracker();
    for t in &report.trials {
        let run = rt.block_on(tracker.get_run(&t.run_id)).unwrap();
        assert_eq!(
            run.data.tags["mlflow.parentRunId"],
            report.parent.to_string()
        );
        assert_eq!(
            run.data.params["trial.width"],
            t.params["width"].to_string()
        );
        assert_eq!(run.info.status, RunStatus::Finished);
    }
    let parent = rt.block_on(tracker.get_run(&report.parent)).unwrap();
    assert_eq!(parent.data.tags["mlops.best_run"], best.run_id.to_string());
    assert_eq!(parent.data.metrics["best_val_loss"].value, min);
    let version = report.version.clone().unwrap();
    assert_eq!(version.run_id.as_ref(), Some(&best.run_id));
    assert_eq!(version.artifact_digest, Some(best.package));
}

#[test]
fn asha_prunes_weak_random_trials_at_the_rungs() {
    use mlops_core::sweep::{
        Asha, Domain, Objective, Search, SearchSpace, SweepOptions, run_sweep,
    };
    let dir = tempfile::tempdir().unwrap();
    let factory = Factory::open(dir.path()).unwrap();
    let space = SearchSpace::new()
        .param(
            "lr",
            Domain::LogUniform {
                low: 1e-5,
                high: 3e-2,
            },
        )
        .param("width", Domain::Int { low: 2, high: 16 });
    let options = SweepOptions::new("asha", Objective::minimize("val_loss"))
        .search(Search::Random { trials: 6 })
        .seed(11)
        .asha(Asha {
            grace_epochs: 1,
            reduction_factor: 2,
        });
    let rt = rt();
    let report = rt
        .block_on(run_sweep(
            &factory,
            &space,
            sweep_builder(4),
            &data("label", 400, 100),
            options,
        ))
        .unwrap();
    let pruned: Vec<_> = report
        .trials
        .iter()
        .filter(|t| matches!(t.completion, Completion::Stopped(_)))
        .collect();
    assert!(!pruned.is_empty(), "no trial was pruned");
    assert!(
        pruned.iter().all(|t| t.epochs == 1 || t.epochs == 2),
        "pruned only at rungs 1 and 2"
    );
    assert!(
        report.trials.iter().any(|t| t.epochs == 4),
        "some trial ran to the end"
    );
    let parent = rt
        .block_on(factory.tracker().get_run(&report.parent))
        .unwrap();
    assert_eq!(
        parent.data.metrics["trials_pruned"].value,
        pruned.len() as f64
    );
}
